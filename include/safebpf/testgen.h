/* safebpf/testgen.h - random program generation for differential testing:
 * valid, terminating eBPF programs built with the builder, each in two
 * forms that share one body (a "mem" program over an input buffer and an
 * "xdp" program that reaches the same bytes as a packet through
 * data/data_end with the bounds check the kernel verifier needs), and a
 * delta-debugging minimizer for programs on which engines disagree.
 * Pointer arguments may not be NULL unless their comment says so; every
 * __free / __close function accepts NULL (and does nothing).
 */
#ifndef SAFEBPF_TESTGEN_H
#define SAFEBPF_TESTGEN_H

#include <stddef.h>
#include <stdint.h>

#include "safebpf/isa.h"
#include "safebpf/vm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes of input memory (packet) every generated program expects. */
#define SBPF_GEN_MEM_SIZE 128

struct sbpf_gen_opts {
	size_t sz;          /* sizeof(struct sbpf_gen_opts) */
	uint64_t seed;      /* the program is a pure function of the seed and options */
	unsigned body_len;  /* about how many body instructions (0: 48) */
	int kernel_safe;    /* 1: only what the kernel verifier accepts as XDP (no atomics
			     * on the packet, no variable-offset packet access) and
			     * no fetching atomics (see kernel_fetch) */
	int kernel_fetch;   /* with kernel_safe: still emit fetching atomics (fetch ops,
			     * xchg, cmpxchg) on the stack. Off by default: Linux 6.18's
			     * verifier does not carry precision from a fetched register
			     * back to its stack slot, prunes a live path and hard-wires a
			     * branch (tests/xdp/kernel-bugs/atomic-fetch-precision.s) */
};

/* One generated test case. */
struct sbpf_gen_prog {
	struct sbpf_insn *mem_insns;  /* type mem form: r1 = buffer, r2 = length */
	size_t mem_n;                 /* slots in mem_insns */
	struct sbpf_insn *xdp_insns;  /* type xdp form: the same body behind data/data_end */
	size_t xdp_n;                 /* slots in xdp_insns (== mem_n) */
	size_t prologue;              /* slots before the body: the only place the forms differ */
	uint8_t mem[SBPF_GEN_MEM_SIZE]; /* input bytes */
};

/* Generates the case for @opts->seed into @out. Returns 0, or a negative
 * errno (-ENOMEM; -EINVAL when the builder refused, a generator bug, with
 * the reason in @why when not NULL). Free with sbpf_gen_prog__free(). */
int sbpf_gen_program(const struct sbpf_gen_opts *opts, struct sbpf_gen_prog *out,
		     char *why, size_t whysz);
void sbpf_gen_prog__free(struct sbpf_gen_prog *p);

/* Converts a program of the xdp form into the mem form (or back) by
 * swapping the prologue, which has the same length in both: @insns (@n
 * slots, at least @prologue) is changed in place. */
void sbpf_gen_swap_prologue(struct sbpf_insn *insns, size_t n, size_t prologue,
			    enum sbpf_prog_type to);

/* Removes slots [@at, @at+@count) from @insns (length *@n) in place, fixing
 * the offsets of jumps and local calls that cross the gap (a jump into the
 * gap lands on the first slot after it). Returns 0, or -EINVAL when the
 * range splits an lddw. The result may be invalid (check sbpf_validate). */
int sbpf_gen_drop(struct sbpf_insn *insns, size_t *n, size_t at, size_t count);

/* Fairness of a program for comparing engines: 0 when, on every path,
 * every register and stack byte read was written first, and no host
 * pointer (r10, the input pointer, anything computed from them) is used
 * except as a memory base, moved, or offset by add/sub - so no address can
 * reach r0, memory or a branch. Engines may disagree on anything else, so
 * unfair programs are not compared. The check starts at slot @start: 0 for
 * a whole mem-form program (r1 = input pointer, r2 = length, r10 written);
 * a generated program's prologue length to check what follows it (r9 =
 * input pointer and r10 written). Returns -EINVAL with the first
 * offending slot in *@pc, or -ENOMEM. */
int sbpf_gen_check_fair(const struct sbpf_insn *insns, size_t n, size_t start, size_t *pc);

/* Decides whether a candidate program still shows the disagreement being
 * minimized: returns 1 when it does, 0 when not (or when it is not a fair
 * candidate). */
typedef int (*sbpf_gen_still_fails)(const struct sbpf_insn *insns, size_t n, void *arg);

/* Delta-debugging minimization: repeatedly drops chunks of slots (never the
 * first @keep_head slots, the prologue) while the program stays valid, fair
 * (sbpf_gen_check_fair from @keep_head) and @fails says it still disagrees. Works in place
 * on @insns / *@n. Returns the number of candidates tried. */
unsigned sbpf_gen_minimize(struct sbpf_insn *insns, size_t *n, size_t keep_head,
			   sbpf_gen_still_fails fails, void *arg);

#ifdef __cplusplus
}
#endif
#endif /* SAFEBPF_TESTGEN_H */
