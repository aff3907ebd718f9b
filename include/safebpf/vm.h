/* safebpf/vm.h - the reference interpreter: the semantics oracle for every
 * other engine (JIT, kernel). Programs run against a memory buffer (type
 * "mem") or a packet behind an xdp_md context (type "xdp").
 *
 * Semantics are those of RFC 9669, with these choices where it leaves room:
 *  - On entry r0 and r3..r9 are 0; r1/r2 depend on the program type (mem:
 *    r1 = the caller's buffer, r2 = its length); r10 points one past the top
 *    of a zeroed 512-byte stack frame. Every callee frame starts zeroed too.
 *  - Every load, store and atomic is bounds-checked. Valid targets are the
 *    regions of the program type (mem: the buffer) and the stack of the
 *    active frames: from the bottom of the current frame up to the top of
 *    the main frame, so a callee may use pointers into its callers' frames,
 *    but nothing below the current r10 - 512 is reachable. Accesses need no
 *    alignment. Atomics are read-modify-write steps that nothing interleaves
 *    (the interpreter runs one program at a time on one thread).
 *  - A local call saves r6..r9 and r10, gives the callee a fresh 512-byte
 *    frame (its own r10) and passes r1..r5 unchanged; exit restores them.
 *    At most SBPF_MAX_CALL_DEPTH calls may be nested.
 *  - Helper calls set r0 = fn(r1..r5) and leave r1..r5 unchanged (the kernel
 *    verifier forbids reading them afterwards, so other engines may differ).
 *  - lddw with a pseudo source (map fd, map value, BTF id, code address...)
 *    is a run-time error: user space has no maps to resolve it against.
 *    The one exception is the program's read-only data (opts.rodata, see
 *    sbpf_rodata_resolve): a read-only region "rodata".
 *    kfunc calls are run-time errors too.
 *  - An instruction budget stops runaway programs.
 * A run that breaks a rule stops with a negative errno and a reason; the
 * host never crashes on a program that passed sbpf_validate().
 * Pointer arguments may not be NULL unless their comment says so; every
 * __free / __close function accepts NULL (and does nothing).
 */
#ifndef SAFEBPF_VM_H
#define SAFEBPF_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "safebpf/isa.h"
#include "safebpf/maps.h"

#ifdef __cplusplus
extern "C" {
#endif

enum sbpf_prog_type {
	SBPF_PROG_MEM, /* r1 = input memory, r2 = its length */
	SBPF_PROG_XDP, /* r1 = struct xdp_md *, data/data_end point at the packet */
	SBPF_PROG__COUNT
};

/* "mem", "xdp"; NULL for an unknown type. */
const char *sbpf_prog_type__name(enum sbpf_prog_type type);
/* Looks up a type by name. Returns 0, or -ENOENT. */
int sbpf_prog_type__from_name(const char *name, enum sbpf_prog_type *type);

/* A helper function: five arguments in, one result out (SysV-compatible so
 * the JIT can call the same pointer). */
typedef uint64_t (*sbpf_helper_fn)(uint64_t r1, uint64_t r2, uint64_t r3,
				   uint64_t r4, uint64_t r5);

#define SBPF_MAX_HELPERS 256
#define SBPF_MAX_CALL_DEPTH 8            /* nested local calls (frames = 1 + this) */
#define SBPF_DEFAULT_BUDGET 100000000ull /* instructions per run when opts say 0 */

/* Helpers every new VM starts with (sbpf_vm__new registers them):
 *   5  "identity"              returns r1 (what bpf_conformance expects of id 5)
 *   8  "get_smp_processor_id"  the CPU the host thread runs on
 *   14 "get_current_pid_tgid"  tgid << 32 | tid of the host thread
 *   125 "ktime_get_boot_ns"    CLOCK_BOOTTIME in nanoseconds
 * Ids other than 5 follow the kernel's numbering. */
#define SBPF_HELPER_IDENTITY 5

struct sbpf_vm_opts {
	size_t sz;                 /* sizeof(struct sbpf_vm_opts) */
	enum sbpf_prog_type type;  /* program type (default SBPF_PROG_MEM) */
	uint64_t insn_budget;      /* instructions executed before giving up (0: SBPF_DEFAULT_BUDGET) */
	const void *rodata;        /* the program's read-only data (copied), or NULL */
	size_t rodata_len;         /* its bytes */
	/* The user-space runtime (safebpf/maps.h; not freed by the VM, must
	 * outlive it): the program's maps, whose references are resolved at
	 * load; the runtime helpers replace the defaults (docs/vm.md), and a
	 * call to a kernel helper the runtime does not provide is refused at
	 * load, naming it. NULL: no maps, default helpers. */
	struct sbpf_maps *maps;
	bool stack_escape;         /* the library's own comparison harness: stack addresses
				      may leave the program (SBPF_VALIDATE_STACK_ESCAPE) */
};

/* Read-only data. A program addresses byte OFF of its read-only block with
 *   lddw dst, src=SBPF_RODATA_PSEUDO imm=0, second slot imm = OFF
 * (BPF_PSEUDO_MAP_IDX_VALUE of map 0: what safebpf/elf.h makes of .rodata
 * references, and what the kernel resolves against fd_array[0]). */
#define SBPF_RODATA_PSEUDO 6
/* Rewrites every such lddw of @insns (@n slots) with OFF <= @len into a
 * plain lddw of the host address @base + OFF; others are left alone.
 * Returns the number rewritten. Engines call it on their own copy. */
int sbpf_rodata_resolve(struct sbpf_insn *insns, size_t n, const void *base, size_t len);

struct sbpf_vm;

/* Validates and loads @insns (copied), decoding every instruction once.
 * @opts may be NULL (defaults). Returns NULL with errno set on error
 * (EINVAL: invalid program, with the failure in @err when not NULL;
 * EOPNOTSUPP: program type not available; ENOMEM). */
struct sbpf_vm *sbpf_vm__new(const struct sbpf_insn *insns, size_t n,
			     const struct sbpf_vm_opts *opts,
			     struct sbpf_validate_error *err);
void sbpf_vm__free(struct sbpf_vm *vm);

/* The loaded program (the validated copy) and its length in slots. */
const struct sbpf_insn *sbpf_vm__insns(const struct sbpf_vm *vm, size_t *n);

/* Registers helper @id (replacing any previous one; @fn NULL removes it).
 * Returns 0, or -EINVAL when @id >= SBPF_MAX_HELPERS. */
int sbpf_vm__set_helper(struct sbpf_vm *vm, uint32_t id, const char *name, sbpf_helper_fn fn);
/* The helper registered for @id, or NULL. */
sbpf_helper_fn sbpf_vm__helper(const struct sbpf_vm *vm, uint32_t id);
/* Its name, or NULL. */
const char *sbpf_vm__helper_name(const struct sbpf_vm *vm, uint32_t id);

/* Why a run stopped early. */
struct sbpf_run_error {
	size_t pc;         /* instruction index where it happened */
	char reason[160];  /* e.g. "out-of-bounds 4-byte load at mem+62 (mem is 64 bytes)" */
};

/* Runs the program on @mem (@len bytes, read and written in place) and
 * stores r0 in *@r0. Returns 0, or with @err filled (when not NULL):
 *   -EFAULT  load/store/atomic outside every valid region
 *   -E2BIG   instruction budget exhausted
 *   -EINVAL  unknown helper, call depth exceeded, pseudo lddw, kfunc call
 *   -EOPNOTSUPP  program type not available
 * Never crashes the host on any program that passed validation. */
int sbpf_vm__run(struct sbpf_vm *vm, void *mem, size_t len, uint64_t *r0,
		 struct sbpf_run_error *err);

/* Instructions executed by the last run (including the failing one). */
uint64_t sbpf_vm__insn_count(const struct sbpf_vm *vm);

/* Per-slot profile: while @counts (one per slot, not freed by the VM) is
 * set, each run adds 1 to counts[pc] for every instruction it executes at
 * slot pc (an lddw counts at its first slot). NULL stops profiling. Costs
 * nothing when unset (runs take the same path as without). */
void sbpf_vm__set_profile(struct sbpf_vm *vm, uint64_t *counts);

#ifdef __cplusplus
}
#endif
#endif /* SAFEBPF_VM_H */
