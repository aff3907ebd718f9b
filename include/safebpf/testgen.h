/* safebpf/testgen.h - random program generation for differential testing:
 * valid, terminating eBPF programs built with the builder, each in two
 * forms that share one body (a "mem" program over an input buffer and an
 * "xdp" program that reaches the same bytes as a packet through
 * data/data_end with the bounds check the kernel verifier needs), and a
 * delta-debugging minimizer for programs on which engines disagree.
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
			     * on the packet, no variable-offset packet access) */
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

/* 0 when every register read and every stack byte read on every path is
 * written first (r1, r2 and r10 count as written on entry; r1..r5 in a
 * callee), else -EINVAL with the first offending slot in *@pc. Engines may
 * disagree on uninitialised values; programs failing this are not compared. */
int sbpf_gen_check_init(const struct sbpf_insn *insns, size_t n, size_t *pc);

/* Decides whether a candidate program still shows the disagreement being
 * minimized: returns 1 when it does, 0 when not (or when it is not a fair
 * candidate). */
typedef int (*sbpf_gen_still_fails)(const struct sbpf_insn *insns, size_t n, void *arg);

/* Delta-debugging minimization: repeatedly drops chunks of slots (never the
 * first @keep_head slots) while the program stays valid, initialised
 * (sbpf_gen_check_init) and @fails says it still disagrees. Works in place
 * on @insns / *@n. Returns the number of candidates tried. */
unsigned sbpf_gen_minimize(struct sbpf_insn *insns, size_t *n, size_t keep_head,
			   sbpf_gen_still_fails fails, void *arg);

#ifdef __cplusplus
}
#endif
#endif /* SAFEBPF_TESTGEN_H */
