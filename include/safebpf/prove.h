/* safebpf/prove.h - proving every Kops native emit equivalent to its proof
 * sequence (and the proof sequence to the operation's specification) with
 * Z3, for every register assignment, on the bytes the JIT really emits.
 * See docs/kops.md ("What is proven").
 * Pointer arguments may not be NULL unless their comment says so; every
 * __free / __close function accepts NULL (and does nothing).
 */
#ifndef SAFEBPF_PROVE_H
#define SAFEBPF_PROVE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct sbpf_prove_opts {
	size_t sz;          /* sizeof(struct sbpf_prove_opts) */
	const char *op;     /* operation name ("rotate"); NULL: every EInsn operation */
	const char *arch;   /* JIT target ("x86_64", "arm64"); NULL: x86_64 */
	int jobs;           /* threads; 0: one per online CPU */
	const char *group;  /* only groups whose label contains this text; NULL: all */
};

/* One obligation group (an operation's variants for a set of immediates,
 * crossed with every register assignment and feature set). */
struct sbpf_prove_row {
	const char *op;              /* "rotate" */
	const char *group;           /* "64-bit left by imm 1..w-1" */
	unsigned long obligations;   /* obligations in the group */
	unsigned long solved;        /* proven by Z3 directly */
	unsigned long renamed;       /* proven as a register renaming of a Z3-proven one */
	unsigned long failed;        /* refuted, undecided, or not modelled */
	double seconds;              /* time spent on it, summed over threads */
	const char *report;          /* first counterexample or error (NULL when all proven) */
};

/* Totals of a run. */
struct sbpf_prove_total {
	unsigned long obligations, solved, renamed, failed; /* sums over the groups */
	unsigned int groups;         /* groups run */
	unsigned int failed_groups;  /* groups with a failure */
	double seconds;              /* wall time */
};

/* Called once per group, in order, as soon as it is done; a non-zero
 * return stops the run (sbpf_prove returns it). */
typedef int (*sbpf_prove_row_fn)(const struct sbpf_prove_row *row, void *arg);

/* Proves the native emits of @opts->op (all when NULL) on @opts->arch.
 * Returns 0 when the run completed (totals in @total: failures are
 * total->failed, not an error), -ENOENT for an unknown operation,
 * -ENOTSUP for a target without native emits, -ENOMEM, or @fn's value. */
int sbpf_prove(const struct sbpf_prove_opts *opts, sbpf_prove_row_fn fn, void *arg,
	       struct sbpf_prove_total *total);

/* Version of the Z3 library doing the proofs ("4.8.12"). */
const char *sbpf_prove_z3_version(void);

#ifdef __cplusplus
}
#endif
#endif /* SAFEBPF_PROVE_H */
