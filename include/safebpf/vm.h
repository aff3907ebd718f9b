/* safebpf/vm.h - the reference interpreter: the semantics oracle for every
 * other engine (JIT, kernel). Programs run against a memory buffer (type
 * "mem") or a packet behind an xdp_md context (type "xdp").
 */
#ifndef SAFEBPF_VM_H
#define SAFEBPF_VM_H

#include <stddef.h>
#include <stdint.h>

#include "safebpf/isa.h"

#ifdef __cplusplus
extern "C" {
#endif

enum sbpf_prog_type {
	SBPF_PROG_MEM, /* r1 = input memory, r2 = its length */
	SBPF_PROG_XDP, /* r1 = struct xdp_md *, data/data_end point at the packet */
};

/* A helper function: five arguments in, one result out (SysV-compatible so
 * the JIT can call the same pointer). */
typedef uint64_t (*sbpf_helper_fn)(uint64_t r1, uint64_t r2, uint64_t r3,
				   uint64_t r4, uint64_t r5);

#define SBPF_MAX_HELPERS 256
#define SBPF_MAX_CALL_DEPTH 8

struct sbpf_vm_opts {
	size_t sz;                 /* sizeof(struct sbpf_vm_opts) */
	enum sbpf_prog_type type;  /* program type (default SBPF_PROG_MEM) */
	uint64_t insn_budget;      /* instructions executed before giving up (0: default 100M) */
};

struct sbpf_vm;

/* Validates and loads @insns (copied). Returns NULL with errno set on error;
 * when @err is not NULL it receives the validation failure. */
struct sbpf_vm *sbpf_vm__new(const struct sbpf_insn *insns, size_t n,
			     const struct sbpf_vm_opts *opts,
			     struct sbpf_validate_error *err);
void sbpf_vm__free(struct sbpf_vm *vm);

/* Registers helper @id (replacing any previous one). */
int sbpf_vm__set_helper(struct sbpf_vm *vm, uint32_t id, const char *name, sbpf_helper_fn fn);
/* The helper registered for @id, or NULL. */
sbpf_helper_fn sbpf_vm__helper(const struct sbpf_vm *vm, uint32_t id);

/* Why a run stopped early. */
struct sbpf_run_error {
	size_t pc;         /* instruction index where it happened */
	char reason[160];  /* e.g. "out-of-bounds load of 4 bytes at mem+62 (len 64)" */
};

/* Runs the program on @mem (@len bytes, read and written in place) and
 * stores r0 in *@r0. Returns 0, or -EFAULT (bad memory access), -E2BIG
 * (budget exhausted), -EINVAL (unknown helper, call depth) with @err filled.
 * Never crashes the host on any program that passed validation. */
int sbpf_vm__run(struct sbpf_vm *vm, void *mem, size_t len, uint64_t *r0,
		 struct sbpf_run_error *err);

/* Instructions executed by the last run. */
uint64_t sbpf_vm__insn_count(const struct sbpf_vm *vm);

#ifdef __cplusplus
}
#endif
#endif /* SAFEBPF_VM_H */
