/* popcount.c - Kops operation "popcount": dst = the number of bits set in
 * a (64-bit, or the low 32 bits of a). Its proof sequence is the SWAR
 * count clang -O2 emits for __builtin_popcount(ll) on BPF (shifts, ands
 * with 0x55.., 0x33.., 0x0f.., a multiply by 0x01..01 and a shift right),
 * in each of clang's three shapes. Native: POPCNT (x86-64, when the CPU
 * has it; else the proof sequence runs), and a shorter SWAR count with
 * AArch64 logical immediates.
 */
#include <errno.h>
#include <stdio.h>

#include "jit/arm64/kops_arm64.h"
#include "jit/x86_64/kops_x86.h"
#include "kops/kopsInt.h"
#include "kops/ops/ops.h"

#define K5  0x5555555555555555ull
#define K3  0x3333333333333333ull
#define K0F 0x0f0f0f0f0f0f0f0full
#define K01 0x0101010101010101ull

/* The proof sequence writes c (a 64-bit constant holder) except in the
 * ALU32 shape. */
static int uses_c(const struct sbpf_kops_payload *p)
{
	return !(p->variant & KOPS_POP_ALU32);
}

static int check(const struct sbpf_kops_payload *p, char *why, size_t whysz)
{
	if (p->variant & ~(KOPS_POP_32 | KOPS_POP_ALU32))
		return snprintf(why, whysz, "popcount: unknown variant bits 0x%x", p->variant), -EINVAL;
	if (p->variant == KOPS_POP_ALU32)
		return snprintf(why, whysz, "popcount: the ALU32 shape is 32-bit (variant 0x3)"), -EINVAL;
	if (kops_check_reg("dst", p->dst, true, why, whysz) || kops_check_reg("source a", p->a, false, why, whysz) ||
	    kops_check_reg("scratch b", p->b, true, why, whysz))
		return -EINVAL;
	if (!uses_c(p)) {
		uint8_t regs[] = { p->dst, p->b };
		return kops_check_distinct(regs, 2, why, whysz);
	}
	if (kops_check_reg("scratch c", p->c, true, why, whysz))
		return -EINVAL;
	uint8_t regs[] = { p->dst, p->b, p->c };
	return kops_check_distinct(regs, 3, why, whysz);
}

static void lddw(struct sbpf_builder *b, int reg, uint64_t v)
{
	sbpf_builder__emit(b, SBPF_LD_IMM64_LO(reg, 0, v));
	sbpf_builder__emit(b, SBPF_LD_IMM64_HI(v));
}

/* clang's SWAR count, with dst as the value and b as the temporary:
 *   64-bit (variant 0)       32-bit, default CPU (1)     32-bit, ALU32 (3)
 *   dst = a                  dst = a                     w dst = w a
 *   b = dst >> 1 & K5 (c)    b = dst >> 1 & 0x55555555   (all ALU32)
 *   dst -= b                 dst -= b
 *   b = dst & K3 (c)         b = dst & 0x33333333
 *   dst = dst >> 2 & K3      dst = dst >> 2 & 0x33333333
 *   dst += b                 dst += b
 *   dst += dst >> 4 (via b)  dst += dst >> 4 (via b)
 *   dst &= K0F (c)           dst &= 0x0f0f0f0f
 *   dst *= K01 (c)           dst *= 0x01010101
 *   dst >>= 56               dst &= 0xff000000 (c); dst >>= 24   w dst >>= 24
 * The default-CPU 32-bit shape works on the whole register: garbage in
 * a's upper half never reaches the low 32 bits it keeps. */
static int instantiate(const struct sbpf_kops_payload *p, struct sbpf_builder *b)
{
	int d = p->dst, t = p->b, c = p->c;
	if (!(p->variant & KOPS_POP_32)) {
		if (d != p->a)
			sbpf_builder__emit(b, SBPF_MOV64_REG(d, p->a));
		sbpf_builder__emit(b, SBPF_MOV64_REG(t, d));
		sbpf_builder__emit(b, SBPF_ALU64_IMM(SBPF_RSH, t, 1));
		lddw(b, c, K5);
		sbpf_builder__emit(b, SBPF_ALU64_REG(SBPF_AND, t, c));
		sbpf_builder__emit(b, SBPF_ALU64_REG(SBPF_SUB, d, t));
		lddw(b, c, K3);
		sbpf_builder__emit(b, SBPF_MOV64_REG(t, d));
		sbpf_builder__emit(b, SBPF_ALU64_REG(SBPF_AND, t, c));
		sbpf_builder__emit(b, SBPF_ALU64_IMM(SBPF_RSH, d, 2));
		sbpf_builder__emit(b, SBPF_ALU64_REG(SBPF_AND, d, c));
		sbpf_builder__emit(b, SBPF_ALU64_REG(SBPF_ADD, d, t));
		sbpf_builder__emit(b, SBPF_MOV64_REG(t, d));
		sbpf_builder__emit(b, SBPF_ALU64_IMM(SBPF_RSH, t, 4));
		sbpf_builder__emit(b, SBPF_ALU64_REG(SBPF_ADD, d, t));
		lddw(b, c, K0F);
		sbpf_builder__emit(b, SBPF_ALU64_REG(SBPF_AND, d, c));
		lddw(b, c, K01);
		sbpf_builder__emit(b, SBPF_ALU64_REG(SBPF_MUL, d, c));
		return sbpf_builder__emit(b, SBPF_ALU64_IMM(SBPF_RSH, d, 56));
	}
	int a32 = p->variant & KOPS_POP_ALU32;
#define ALU_I(op, r, i) (a32 ? SBPF_ALU32_IMM(op, r, i) : SBPF_ALU64_IMM(op, r, i))
#define ALU_R(op, r, s) (a32 ? SBPF_ALU32_REG(op, r, s) : SBPF_ALU64_REG(op, r, s))
	if (d != p->a)
		sbpf_builder__emit(b, ALU_R(SBPF_MOV, d, p->a));
	sbpf_builder__emit(b, ALU_R(SBPF_MOV, t, d));
	sbpf_builder__emit(b, ALU_I(SBPF_RSH, t, 1));
	sbpf_builder__emit(b, ALU_I(SBPF_AND, t, 0x55555555));
	sbpf_builder__emit(b, ALU_R(SBPF_SUB, d, t));
	sbpf_builder__emit(b, ALU_R(SBPF_MOV, t, d));
	sbpf_builder__emit(b, ALU_I(SBPF_AND, t, 0x33333333));
	sbpf_builder__emit(b, ALU_I(SBPF_RSH, d, 2));
	sbpf_builder__emit(b, ALU_I(SBPF_AND, d, 0x33333333));
	sbpf_builder__emit(b, ALU_R(SBPF_ADD, d, t));
	sbpf_builder__emit(b, ALU_R(SBPF_MOV, t, d));
	sbpf_builder__emit(b, ALU_I(SBPF_RSH, t, 4));
	sbpf_builder__emit(b, ALU_R(SBPF_ADD, d, t));
	sbpf_builder__emit(b, ALU_I(SBPF_AND, d, 0x0f0f0f0f));
	sbpf_builder__emit(b, ALU_I(SBPF_MUL, d, 0x01010101));
	if (!a32) {
		lddw(b, c, 0xff000000ull);
		sbpf_builder__emit(b, SBPF_ALU64_REG(SBPF_AND, d, c));
	}
	return sbpf_builder__emit(b, ALU_I(SBPF_RSH, d, 24));
#undef ALU_I
#undef ALU_R
}

static void spec(const struct sbpf_kops_payload *p, uint64_t r[SBPF_NREGS])
{
	uint64_t x = p->variant & KOPS_POP_32 ? (uint32_t)r[p->a] : r[p->a];
	r[p->dst] = (uint64_t)__builtin_popcountll(x);
}

static uint16_t clobbers(const struct sbpf_kops_payload *p)
{
	return (uint16_t)(1u << p->b | (uses_c(p) ? 1u << p->c : 0));
}

/* x86-64: popcnt dst, a (popcnt dst32, a32 for the 32-bit shapes: a 32-bit
 * write zero-extends). POPCNT reads a before writing dst, so any aliasing
 * is one instruction. Without POPCNT (CPUID.1:ECX bit 23) the emit
 * declines and the proof sequence runs. */
static int emit_x86_64(const struct sbpf_kops_payload *p, struct kops_x86 *x)
{
	if (!(x->features & KOPS_X86_F_POPCNT))
		return -EOPNOTSUPP;
	int w = !(p->variant & KOPS_POP_32);
	if (x->mutant == KOPS_MUT_POP_WIDTH)
		w = 1;
	emit_popcnt(x->b, w, kops_x86_reg(x, p->dst), kops_x86_reg(x, p->a)); /* popcnt dst, a */
	return 0;
}

/* AArch64 has no scalar popcount before FEAT_CSSC (CNT works on vector
 * registers only, which the prover does not model), so the emit is a SWAR
 * count of 12 W-form instructions whose masks are logical immediates and
 * whose byte sum is two adds with a shifted operand (no constant loads, no
 * multiply; the JIT's code for the proof sequence is about twice as
 * long). x9 holds the temporaries. The 64-bit count declines (its proof
 * sequence runs): its add-chain byte sum differs from the multiply of the
 * proof sequence in a way Z3 does not decide within the prover's limit;
 * a multiply (madd) in the prover's AArch64 decoder would let it end as
 * the proof sequence does. */
static int emit_arm64(const struct sbpf_kops_payload *p, struct kops_arm64 *x)
{
	struct jit_buf *b = x->b;
	int w = !(p->variant & KOPS_POP_32);
	if (w)
		return -EOPNOTSUPP;
	int d = kops_a64_reg(x, p->dst), a = kops_a64_reg(x, p->a), t = A64_X9;
	emit_a64_lsr_imm(b, w, t, a, 1);                                            /* lsr x9, a, #1 */
	emit_a64_logic_imm_op(b, w, A64_ANDI, t, t, a64_logic_imm(K5, w));         /* and x9, x9, #0x5555.. */
	emit_a64_alu_rrr(b, w, A64_SUB, d, a, t, A64_LSL, 0);                       /* sub dst, a, x9 */
	emit_a64_logic_imm_op(b, w, A64_ANDI, t, d, a64_logic_imm(K3, w));         /* and x9, dst, #0x3333.. */
	emit_a64_lsr_imm(b, w, d, d, 2);                                            /* lsr dst, dst, #2 */
	emit_a64_logic_imm_op(b, w, A64_ANDI, d, d, a64_logic_imm(K3, w));         /* and dst, dst, #0x3333.. */
	emit_a64_alu_rrr(b, w, A64_ADD, d, d, t, A64_LSL, 0);                       /* add dst, dst, x9 */
	emit_a64_alu_rrr(b, w, A64_ADD, d, d, d, A64_LSR, 4);                       /* add dst, dst, dst, lsr #4 */
	emit_a64_logic_imm_op(b, w, A64_ANDI, d, d, a64_logic_imm(K0F, w));        /* and dst, dst, #0x0f0f.. */
	emit_a64_alu_rrr(b, w, A64_ADD, d, d, d, A64_LSR, 8);                       /* add dst, dst, dst, lsr #8 */
	emit_a64_alu_rrr(b, w, A64_ADD, d, d, d, A64_LSR, 16);                      /* add dst, dst, dst, lsr #16 */
	if (w)
		emit_a64_alu_rrr(b, w, A64_ADD, d, d, d, A64_LSR, 32);              /* add dst, dst, dst, lsr #32 */
	emit_a64_logic_imm_op(b, w, A64_ANDI, d, d,
			      a64_logic_imm(x->mutant == KOPS_MUT_A64_POP_MASK ? 0x1f : 0x3f, w));  /* and dst, dst, #0x3f */
	return 0;
}

const struct kops_op kops_op_popcount = {
	.id = SBPF_KOPS_POPCOUNT,
	.name = "popcount",
	.summary = "dst = number of bits set in a (64-bit, or its low 32 bits)",
	.payload_doc = "dst; a = source; b, c scratch (c unused by variant 0x3); variant 0 = 64-bit, "
		       "0x1 = 32-bit with 64-bit ops (clang's default CPU), 0x3 = 32-bit with ALU32 ops",
	.max_proof_len = 24,
	.writes_dst = true,
	.check = check,
	.instantiate = instantiate,
	.spec = spec,
	.clobbers = clobbers,
	.example = { .op = SBPF_KOPS_POPCOUNT, .dst = 0, .a = 1, .b = 2, .c = 3 },
	.emit_x86_64 = emit_x86_64,
	.native_max_x86_64 = 8,
	.x86_scratch = 0,
	.emit_arm64 = emit_arm64,
	.native_max_arm64 = 12 * 4,
	.arm64_scratch = KOPS_A64_SCRATCH(A64_X9),
};
