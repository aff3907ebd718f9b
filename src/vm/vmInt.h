/* vmInt.h - private interfaces of the interpreter module (src/vm/):
 * the decoded instruction, the per-run state with its memory regions, and
 * the program-type table (ctx.c) that sets a run up for each program type.
 */
#ifndef SAFEBPF_VM_INT_H
#define SAFEBPF_VM_INT_H

#include <stddef.h>
#include <stdint.h>

#include "safebpf/maps.h"
#include "safebpf/vm.h"

/* One instruction slot after decoding at load time. */
struct vm_insn {
	uint16_t op;   /* enum sbpf_op; SBPF_OP_INVALID for an lddw second slot */
	uint8_t dst;   /* destination register */
	uint8_t src;   /* source register (or pseudo kind for lddw/call) */
	int16_t off;   /* offset field */
	int32_t imm;   /* immediate field */
	uint64_t k;    /* imm sign-extended to 64 bits; lddw: the 64-bit value */
};

/* Access permissions of a region. */
enum { VM_R = 1, VM_W = 2 };

/* Maximum regions per run: the stack, what a program type adds, read-only
 * data and one value block per map. */
#define VM_MAX_REGIONS (6 + SBPF_MAX_MAPS)

/* A range of host memory the program may touch. */
struct vm_region {
	uint64_t start;     /* host address of the first byte */
	uint64_t len;       /* length in bytes */
	unsigned flags;     /* VM_R | VM_W */
	const char *name;   /* for messages: "mem", "stack", "ctx", "packet" */
	/* Virtual region: when set, loads call this with the offset into the
	 * region and the size (1, 2, 4, 8) instead of reading host memory, e.g.
	 * to turn 32-bit context fields into 64-bit pointers; stores and atomics
	 * to such a region are refused. */
	uint64_t (*load)(const struct vm_region *reg, uint64_t off, int size);
	void *opaque;       /* for load() */
};

/* State of one run. region[0] is always the stack of the active frames. */
struct vm_run {
	uint64_t reg[SBPF_NREGS];                /* r0..r10 */
	struct vm_region region[VM_MAX_REGIONS]; /* valid memory */
	int nregion;                             /* regions in use */
	uint64_t ctx[16];                        /* storage a program type may use for its context object */
};

/* A program type: how a run over a caller's buffer is set up. */
struct vm_prog_type {
	const char *name; /* "mem", "xdp" */
	/* Sets the argument registers (r1..r5) and adds the type's regions
	 * (vm_run_add_region) for a run over @mem/@len. Returns 0, or a
	 * negative errno with @err->reason filled. NULL: type not available. */
	int (*setup)(struct vm_run *run, void *mem, size_t len, struct sbpf_run_error *err);
};

/* Indexed by enum sbpf_prog_type (ctx.c). */
extern const struct vm_prog_type vm_prog_types[SBPF_PROG__COUNT];

/* Appends a region to @run. Returns 0, or -ENOSPC when full. */
int vm_run_add_region(struct vm_run *run, const struct vm_region *reg);

/* Registers the default helpers (see vm.h) on @vm (helpers.c). */
void vm_helpers_register_defaults(struct sbpf_vm *vm);
/* Registers the runtime helpers (maps, packet, time, redirect, ring
 * buffers...; docs/vm.md) on @vm, replacing the defaults where ids meet
 * (5 is ktime_get_ns there, not identity). */
void vm_helpers_register_runtime(struct sbpf_vm *vm);

/* maps.c, for the helpers: */
uint32_t vm_maps_prandom(struct sbpf_maps *m);      /* next get_prandom_u32 value */
unsigned vm_maps_cpu(const struct sbpf_maps *m);    /* the CPU runs count as */
int vm_map_is_redirect(uint32_t type);              /* devmap, cpumap, xskmap, devmap_hash */
int vm_maps_owns(const struct sbpf_maps *m, uint64_t ptr); /* @ptr is one of m's maps */
/* Reserves @size bytes in ring buffer @p: the record's data, or NULL. */
void *vm_ringbuf_reserve(struct sbpf_map *p, uint64_t size);
/* Submits (or discards) the reserved record whose data is at @data in any
 * ring of @m: 0, or -EINVAL when @data is no reserved record. */
int vm_ringbuf_commit(struct sbpf_maps *m, uint64_t data, int discard);
/* The environment of the run in progress on this thread, or NULL. */
struct sbpf_rt_env *vm_rt_current(void);

#endif /* SAFEBPF_VM_INT_H */
