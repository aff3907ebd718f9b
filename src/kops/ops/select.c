/* select.c - Kops operation "select": dst = (a COND rhs) ? c : dst, the
 * shape clang emits as a conditional jump over a mov. Native: CMP/TEST +
 * CMOVcc.
 */
#include <errno.h>
#include <stdio.h>

#include "jit/arm64/kops_arm64.h"
#include "jit/x86_64/kops_x86.h"
#include "kops/kopsInt.h"
#include "kops/ops/ops.h"

/* ops.h: the inverse of a jump condition (match.c reads if-goto-over-mov as a select with it) */
int kops_inverse_cond(int cond)
{
	switch (cond << 4) {
	case SBPF_JEQ:  return SBPF_JNE >> 4;
	case SBPF_JNE:  return SBPF_JEQ >> 4;
	case SBPF_JGT:  return SBPF_JLE >> 4;
	case SBPF_JLE:  return SBPF_JGT >> 4;
	case SBPF_JGE:  return SBPF_JLT >> 4;
	case SBPF_JLT:  return SBPF_JGE >> 4;
	case SBPF_JSGT: return SBPF_JSLE >> 4;
	case SBPF_JSLE: return SBPF_JSGT >> 4;
	case SBPF_JSGE: return SBPF_JSLT >> 4;
	case SBPF_JSLT: return SBPF_JSGE >> 4;
	default:        return -1; /* JSET */
	}
}

static int valid_cond(int cond)
{
	return kops_inverse_cond(cond) >= 0 || (cond << 4) == SBPF_JSET;
}

static int check(const struct sbpf_kops_payload *p, char *why, size_t whysz)
{
	if (p->variant & ~(KOPS_SEL_COND_MASK | KOPS_SEL_RHS_REG | KOPS_SEL_CMP32 | KOPS_SEL_MOV32))
		return snprintf(why, whysz, "select: unknown variant bits 0x%x", p->variant), -EINVAL;
	if (!valid_cond(p->variant & KOPS_SEL_COND_MASK))
		return snprintf(why, whysz, "select: condition %d is not a jump condition",
				p->variant & KOPS_SEL_COND_MASK), -EINVAL;
	if (kops_check_reg("dst", p->dst, true, why, whysz) ||
	    kops_check_reg("lhs a", p->a, false, why, whysz) ||
	    kops_check_reg("value c", p->c, false, why, whysz))
		return -EINVAL;
	if ((p->variant & KOPS_SEL_RHS_REG) && kops_check_reg("rhs b", p->b, false, why, whysz))
		return -EINVAL;
	return 0;
}

/* if !(a COND rhs) goto +1; dst = c      (inverse condition)
 * or, for jset:  if a & rhs goto +1; goto +1; dst = c */
static int instantiate(const struct sbpf_kops_payload *p, struct sbpf_builder *b)
{
	int cond = p->variant & KOPS_SEL_COND_MASK;
	int inv = kops_inverse_cond(cond);
	uint8_t cls = p->variant & KOPS_SEL_CMP32 ? SBPF_JMP32 : SBPF_JMP;
	uint8_t src = p->variant & KOPS_SEL_RHS_REG ? SBPF_X : SBPF_K;
	uint8_t rb = p->variant & KOPS_SEL_RHS_REG ? p->b : 0;
	int32_t imm = p->variant & KOPS_SEL_RHS_REG ? 0 : p->imm;
	if (inv >= 0) {
		sbpf_builder__emit(b, SBPF_INSN(cls | src | (uint8_t)(inv << 4), p->a, rb, 1, imm));
	} else {
		sbpf_builder__emit(b, SBPF_INSN(cls | src | SBPF_JSET, p->a, rb, 1, imm));
		sbpf_builder__emit(b, SBPF_JA(1));
	}
	return sbpf_builder__emit(b, p->variant & KOPS_SEL_MOV32 ? SBPF_MOV32_REG(p->dst, p->c)
							      : SBPF_MOV64_REG(p->dst, p->c));
}

/* The condition of a select (or any JMP/JMP32 condition) on concrete values. */
static int holds(int cond, int is32, uint64_t x, uint64_t y)
{
	if (is32) {
		x = (uint32_t)x;
		y = (uint32_t)y;
	}
	int64_t sx = is32 ? (int32_t)x : (int64_t)x, sy = is32 ? (int32_t)y : (int64_t)y;
	switch (cond << 4) {
	case SBPF_JEQ:  return x == y;
	case SBPF_JNE:  return x != y;
	case SBPF_JGT:  return x > y;
	case SBPF_JGE:  return x >= y;
	case SBPF_JLT:  return x < y;
	case SBPF_JLE:  return x <= y;
	case SBPF_JSET: return (x & y) != 0;
	case SBPF_JSGT: return sx > sy;
	case SBPF_JSGE: return sx >= sy;
	case SBPF_JSLT: return sx < sy;
	case SBPF_JSLE: return sx <= sy;
	default:        return 0;
	}
}

static void spec(const struct sbpf_kops_payload *p, uint64_t r[SBPF_NREGS])
{
	/* An immediate rhs is sign-extended to 64 bits, as in eBPF jumps. */
	uint64_t rhs = p->variant & KOPS_SEL_RHS_REG ? r[p->b] : (uint64_t)(int64_t)p->imm;
	if (holds(p->variant & KOPS_SEL_COND_MASK, !!(p->variant & KOPS_SEL_CMP32), r[p->a], rhs))
		r[p->dst] = p->variant & KOPS_SEL_MOV32 ? (uint32_t)r[p->c] : r[p->c];
}

static uint16_t clobbers(const struct sbpf_kops_payload *p)
{
	(void)p;
	return 0;
}

/* Sets the flags for "a COND rhs": cmp or test, 64 or 32 bits; an
 * immediate is sign-extended to 64 bits as in eBPF jumps. */
static void emit_compare(const struct sbpf_kops_payload *p, struct kops_x86 *x)
{
	struct jit_buf *b = x->b;
	int w = !(p->variant & KOPS_SEL_CMP32);
	int jset = (p->variant & KOPS_SEL_COND_MASK) << 4 == SBPF_JSET;
	int a = kops_x86_reg(x, p->a);
	if (p->variant & KOPS_SEL_RHS_REG)
		emit_alu_rr(b, w, jset ? X64_OP_TEST : X64_OP_CMP, a, kops_x86_reg(x, p->b)); /* cmp/test a, b */
	else if (jset && p->imm >= 0 && p->imm <= 0xff)
		emit_test_ri8(b, a, (uint8_t)p->imm);                       /* test a8, imm8 */
	else if (jset)
		emit_test_ri(b, w, a, p->imm);                              /* test a, imm */
	else if (p->imm == 0)
		emit_alu_rr(b, w, X64_OP_TEST, a, a);                       /* test a, a */
	else
		emit_alu_ri(b, w, X64_EXT_CMP, a, p->imm);                  /* cmp a, imm */
}

/* x86-64: cmp/test + cmov. The comparison reads a and b before anything
 * writes dst (dst may be a, b or c). A 32-bit move zero-extends c into r11
 * and then uses a 64-bit cmov: a 32-bit cmov would zero dst's upper half
 * even when the condition fails. */
static int emit_x86_64(const struct sbpf_kops_payload *p, struct kops_x86 *x)
{
	struct jit_buf *b = x->b;
	int cc = x64_cc_of_jump((p->variant & KOPS_SEL_COND_MASK) << 4);
	int d = kops_x86_reg(x, p->dst), c = kops_x86_reg(x, p->c);
	int mov32 = p->variant & KOPS_SEL_MOV32;
	if (x->mutant == KOPS_MUT_SEL_ALIAS) {
		emit_mov_rr(b, 1, X64_R11, d);                              /* mov r11, dst */
		emit_mov_rr(b, !mov32, d, c);                               /* mov dst, c  (too early) */
		emit_compare(p, x);                                         /* cmp a, rhs */
		emit_cmov(b, 1, cc ^ 1, d, X64_R11);                        /* cmov!cc dst, r11 */
		return 0;
	}
	if (x->mutant != KOPS_MUT_SEL_NOCMP)
		emit_compare(p, x);                                         /* cmp/test a, rhs */
	if (mov32 && x->mutant == KOPS_MUT_SEL_CMOV32) {
		emit_cmov(b, 0, cc, d, c);                                  /* cmovcc dst32, c32 */
	} else if (mov32) {
		emit_mov_rr(b, 0, X64_R11, c);                              /* mov r11d, c32 */
		emit_cmov(b, 1, cc, d, X64_R11);                            /* cmovcc dst, r11 */
	} else {
		emit_cmov(b, 1, cc, d, c);                                  /* cmovcc dst, c */
	}
	return 0;
}

/* AArch64: cmp/tst (as the JIT compiles the jump) + csel dst, c, dst. A
 * 32-bit move zero-extends c into x9 first: csel on W registers would zero
 * dst's upper half when the condition fails. */
static int emit_arm64(const struct sbpf_kops_payload *p, struct kops_arm64 *x)
{
	struct jit_buf *b = x->b;
	int cond = (p->variant & KOPS_SEL_COND_MASK) << 4;
	int d = kops_a64_reg(x, p->dst), c = kops_a64_reg(x, p->c);
	bool rhs_reg = p->variant & KOPS_SEL_RHS_REG;
	int rhs = rhs_reg ? kops_a64_reg(x, p->b) : 0; /* b is unused (any value) with an immediate */
	x->compare(x, !(p->variant & KOPS_SEL_CMP32), cond == SBPF_JSET, kops_a64_reg(x, p->a), rhs_reg, rhs,
		   p->imm);                                                           /* cmp/tst a, rhs */
	if ((p->variant & KOPS_SEL_MOV32) && x->mutant != KOPS_MUT_A64_SEL_MOV32) {
		emit_a64_mov(b, 0, A64_X9, c);                                      /* mov w9, wc */
		c = A64_X9;
	}
	int cc = a64_cond_of_jump(cond);
	if (x->mutant == KOPS_MUT_A64_SEL_COND)
		cc ^= 1;
	emit_a64_csel(b, 1, d, c, d, cc);                                          /* csel dst, c, dst, cond */
	return 0;
}

const struct kops_op kops_op_select = {
	.id = SBPF_KOPS_SELECT,
	.name = "select",
	.summary = "dst = (a COND rhs) ? c : dst  (conditional move)",
	.payload_doc = "dst; a = lhs; b = rhs register (variant bit4) or imm = rhs; c = value; "
		       "variant bits0-3 = jump condition, bit5 = 32-bit compare, bit6 = 32-bit move",
	.max_proof_len = 3,
	.writes_dst = true,
	.check = check,
	.instantiate = instantiate,
	.spec = spec,
	.clobbers = clobbers,
	.example = { .op = SBPF_KOPS_SELECT, .variant = (SBPF_JGT >> 4) | KOPS_SEL_RHS_REG,
		     .dst = 0, .a = 1, .b = 2, .c = 3 },
	.emit_x86_64 = emit_x86_64,
	.native_max_x86_64 = 24,
	.x86_scratch = KOPS_X86_SCRATCH_GPR(X64_R11),
	.emit_arm64 = emit_arm64,
	.native_max_arm64 = 24,
	.arm64_scratch = KOPS_A64_SCRATCH(A64_X9),
};
