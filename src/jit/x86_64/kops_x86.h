/* kops_x86.h - the contract between the x86-64 JIT backend and the x86-64
 * native emits of Kops operations (the emit_x86_64 hook of struct kops_op,
 * one per src/kops/ops/<op>.c). The backend fills a struct kops_x86 for a
 * site and calls the hook in place of the site's proof sequence.
 *
 * Rules an emit follows (docs/kops.md, "What is trusted"):
 *   - it computes what the proof sequence computes: the same eBPF registers
 *     (dst and every register it does not declare clobbered) and the same
 *     memory, for every input and every register assignment, aliased ones
 *     included; a declared clobber may be left with any value;
 *   - it writes no other eBPF register (rcx is eBPF r4: borrowing cl for a
 *     rotate means saving and restoring rcx) and no host register but
 *     r9, r10, r11 and xmm registers listed in the op's x86_scratch; never
 *     r12 (the checked-mode run-time block), rbp (r10) or rsp;
 *   - it sets the flags it reads (flags never carry across instructions);
 *   - 32-bit results are zero-extended on every path;
 *   - in checked mode a memory access goes through mem_check() first (the
 *     JIT's own bounds check for the proof-sequence instruction making that
 *     access; r9-r11 do not survive it), or the emit declines with
 *     -EOPNOTSUPP so that the checked proof sequence runs instead;
 *   - it decides to decline before emitting anything, the same way on every
 *     pass.
 */
#ifndef SAFEBPF_KOPS_X86_H
#define SAFEBPF_KOPS_X86_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jit/x86_64/emit_x86.h"
#include "kops/kopsInt.h"

/* CPU features an emit may use (struct kops_x86 features); the same bits
 * as SBPF_JIT_NO_* so that jit options switch them off. */
#define KOPS_X86_F_BMI2  SBPF_JIT_NO_BMI2
#define KOPS_X86_F_BMI1  SBPF_JIT_NO_BMI1
#define KOPS_X86_F_MOVBE SBPF_JIT_NO_MOVBE
#define KOPS_X86_F_POPCNT SBPF_JIT_NO_POPCNT
/* Not a CPU feature but a cost: BEXTR is one 1-cycle µop (AMD Zen, probed
 * from the CPU vendor with BMI1), where Intel cores split it in two; set
 * only by the probe (and the prover); an emit uses BEXTR only with both
 * this and KOPS_X86_F_BMI1, so --no-bmi1 switches it off too. */
#define KOPS_X86_F_FAST_BEXTR (1u << 16)

/* Deliberately wrong emits, for tests that prove the equivalence checks
 * catch each soundness trap (struct kops_x86 mutant; 0 in real use). */
enum {
	KOPS_MUT_NONE = 0,
	KOPS_MUT_ROT_CL,        /* rotate by register: rcx (r4) not restored after borrowing cl */
	KOPS_MUT_SEL_NOCMP,     /* select: cmov on flags left by earlier code */
	KOPS_MUT_SEL_CMOV32,    /* select, 32-bit move: cmov r32 (writes dst when not taken) */
	KOPS_MUT_SEL_ALIAS,     /* select: writes dst before comparing (wrong when dst == a) */
	KOPS_MUT_EXT_NOZX,      /* extract without BMI1, 64-bit len 32: upper half kept */
	KOPS_MUT_BSL16_NOZX,    /* bswap_load 16: movbe r16 without zero extension */
	KOPS_MUT_COPY_OVERLAP,  /* bulk_copy: wide moves without the overlap check */
	KOPS_MUT_LEA32,         /* lea: 32-bit result */
	KOPS_MUT_SCRATCH,       /* rotate by imm: result built in an undeclared eBPF register */
	KOPS_MUT_POP_WIDTH,     /* popcount 32-bit: 64-bit popcnt (counts the upper half) */
	KOPS_MUT_WIDE_16_NOZX,  /* wide_load 16 big-endian with MOVBE: no zero extension */
	KOPS_MUT__COUNT,
};

/* What an emit gets from the backend. */
struct kops_x86 {
	struct jit_buf *b;          /* code buffer (first error sticks) */
	const uint8_t *reg;         /* x86 register of eBPF r0..r10 */
	unsigned int features;      /* KOPS_X86_F_* usable on this CPU with these options */
	bool checked;               /* checked mode: memory accesses need mem_check() */
	int mutant;                 /* KOPS_MUT_* (tests only) */
	size_t pc;                  /* first slot of the site's proof sequence (lowered program) */
	/* Checked mode: emits the JIT's bounds check for the access made by
	 * the proof-sequence instruction at lowered slot @slot (a load or
	 * store; out of bounds stops the program at that slot with the
	 * interpreter's message) and returns the x86 base register of the
	 * access, its displacement in *@disp. Unchecked: emits nothing. */
	int (*mem_check)(struct kops_x86 *x, size_t slot, int32_t *disp);
	void *backend;              /* the backend's compile context, for mem_check */
};

/* x86 register of eBPF register @r. */
static inline int kops_x86_reg(const struct kops_x86 *x, int r)
{
	return x->reg[r];
}

#endif /* SAFEBPF_KOPS_X86_H */
