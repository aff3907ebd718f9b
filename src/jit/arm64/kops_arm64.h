/* kops_arm64.h - the contract between the AArch64 JIT backend and the
 * AArch64 native emits of Kops operations (the emit_arm64 hook of struct
 * kops_op, one per src/kops/ops/<op>.c). The backend fills a struct
 * kops_arm64 for a site and calls the hook in place of the site's proof
 * sequence.
 *
 * Rules an emit follows (the same as on x86-64, docs/kops.md):
 *   - it computes what the proof sequence computes: the same eBPF registers
 *     (dst and every register it does not declare clobbered) and the same
 *     memory, for every input and register assignment, aliased ones
 *     included; a declared clobber may be left with any value;
 *   - it writes no other eBPF register and no host register but the
 *     scratch registers x9..x15 listed in the op's arm64_scratch; never
 *     x26 (the checked-mode run-time block), x25 (r10), x29, x30 or sp;
 *   - it sets the flags it reads;
 *   - 32-bit results are zero-extended on every path (W-register writes);
 *   - in checked mode a memory access goes through mem_check() first, or
 *     the emit declines with -EOPNOTSUPP so that the checked proof sequence
 *     runs instead; it decides to decline before emitting anything.
 */
#ifndef SAFEBPF_KOPS_ARM64_H
#define SAFEBPF_KOPS_ARM64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jit/arm64/emit_arm64.h"
#include "kops/kopsInt.h"

/* Deliberately wrong AArch64 emits, for tests that show the equivalence
 * checks catch each trap (struct kops_arm64 mutant; 0 in real use). The
 * values continue the x86-64 KOPS_MUT_* numbering. */
enum {
	KOPS_MUT_A64_ROT_LEFT = 32,   /* rotate left by register: rorv without negating the amount */
	KOPS_MUT_A64_SEL_MOV32,       /* select, 32-bit move: csel on the full 64-bit c */
	KOPS_MUT_A64_EXT_WIDE,        /* extract: field one bit wider */
	KOPS_MUT_A64_BSL16_REV,       /* bswap_load 16: rev (32-bit) instead of rev16 */
	KOPS_MUT_A64_COPY_OVERLAP,    /* bulk_copy: ldp/stp without the overlap check */
	KOPS_MUT_A64_LEA_SHIFT,       /* lea: index shifted one bit too far */
	KOPS_MUT_A64_SEL_COND,        /* select: csel on the inverted condition (dst and c swapped) */
	KOPS_MUT_A64_POP_MASK,        /* popcount 32-bit: final mask 0x1f (a count of 32 becomes 0) */
	KOPS_MUT_A64_WIDE_REV,        /* wide_load 32 big-endian: rev of the 64-bit register */
	KOPS_MUT_A64__END,            /* one past the last */
};

/* What an emit gets from the backend. */
struct kops_arm64 {
	struct jit_buf *b;          /* code buffer (first error sticks) */
	const uint8_t *reg;         /* AArch64 register of eBPF r0..r10 */
	unsigned int features;      /* backend feature bits (SBPF_JIT_NO_LSE...) usable here */
	bool checked;               /* checked mode: memory accesses need mem_check() */
	int mutant;                 /* KOPS_MUT_A64_* (tests only) */
	size_t pc;                  /* first slot of the site's proof sequence (lowered program) */
	/* Checked mode: emits the JIT's bounds check for the access made by
	 * the proof-sequence instruction at lowered slot @slot and returns the
	 * register holding the checked address (displacement 0 in *@disp).
	 * Unchecked: emits nothing, returns the base register and offset. */
	int (*mem_check)(struct kops_arm64 *x, size_t slot, int32_t *disp);
	/* Emits rd = rn + @imm (64-bit; any immediate, through x9 when it
	 * does not fit an add/sub immediate). */
	void (*add_imm)(struct kops_arm64 *x, int rd, int rn, int64_t imm);
	/* Sets the flags for an eBPF jump's comparison of @d with register @s
	 * (@is_x) or @imm (sign-extended): cmp, or tst for jset (@jset), 64-bit
	 * (@w) or 32-bit, exactly as the JIT compiles the jump (x9 scratch). */
	void (*compare)(struct kops_arm64 *x, int w, bool jset, int d, bool is_x, int s, int32_t imm);
	/* Emits a @size-byte load (@kind A64_LDR / A64_LDRS) or store
	 * (A64_STR) of rt at [rn + @off] in the shortest form (x9 holds a
	 * large offset; rt is never x9). */
	void (*ldst)(struct kops_arm64 *x, int size, int kind, int rt, int rn, int32_t off);
	void *backend;              /* the backend's compile context */
};

/* AArch64 register of eBPF register @r. */
static inline int kops_a64_reg(const struct kops_arm64 *x, int r)
{
	return x->reg[r];
}

/* Host scratch registers an AArch64 emit may write (struct kops_op
 * arm64_scratch): bit i = x<i>, only x9..x15 allowed. */
#define KOPS_A64_SCRATCH(r) (1u << (r))

#endif /* SAFEBPF_KOPS_ARM64_H */
