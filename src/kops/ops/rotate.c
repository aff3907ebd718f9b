/* rotate.c - Kops operation "rotate": dst = dst rotated left or right, by an
 * immediate or a register, 64- or 32-bit. Native: ROL/ROR.
 */
#include <errno.h>
#include <stdio.h>

#include "jit/arm64/kops_arm64.h"
#include "jit/x86_64/kops_x86.h"
#include "kops/kopsInt.h"
#include "kops/ops/ops.h"

static int check(const struct sbpf_kops_payload *p, char *why, size_t whysz)
{
	int width = p->variant & KOPS_ROT_32 ? 32 : 64;
	if (p->variant & ~(KOPS_ROT_32 | KOPS_ROT_REG | KOPS_ROT_RIGHT))
		return snprintf(why, whysz, "rotate: unknown variant bits 0x%x", p->variant), -EINVAL;
	if (kops_check_reg("dst", p->dst, true, why, whysz) || kops_check_reg("scratch c", p->c, true, why, whysz))
		return -EINVAL;
	if (p->variant & KOPS_ROT_REG) {
		if (kops_check_reg("amount a", p->a, false, why, whysz) ||
		    kops_check_reg("scratch b", p->b, true, why, whysz))
			return -EINVAL;
		uint8_t regs[] = { p->dst, p->b, p->c }, regs2[] = { p->a, p->b, p->c };
		return kops_check_distinct(regs, 3, why, whysz) ? -EINVAL : kops_check_distinct(regs2, 3, why, whysz);
	}
	if (p->imm < 1 || p->imm >= width)
		return snprintf(why, whysz, "rotate: amount %d outside 1..%d", p->imm, width - 1), -EINVAL;
	uint8_t regs[] = { p->dst, p->c };
	return kops_check_distinct(regs, 2, why, whysz);
}

/* Imm:  c = dst; dst <<= k; c >>= w-k; dst |= c          (shifts swap for right)
 * Reg:  b = dst; c = a; dst <<= c; c = -c; b >>= c; dst |= b
 * 32-bit variants use the ALU32 forms, which zero-extend every result. */
static int instantiate(const struct sbpf_kops_payload *p, struct sbpf_builder *b)
{
	int is32 = p->variant & KOPS_ROT_32, right = p->variant & KOPS_ROT_RIGHT;
	int width = is32 ? 32 : 64;
	uint8_t first = right ? SBPF_RSH : SBPF_LSH, second = right ? SBPF_LSH : SBPF_RSH;
#define ALU_I(op, d, i) (is32 ? SBPF_ALU32_IMM(op, d, i) : SBPF_ALU64_IMM(op, d, i))
#define ALU_R(op, d, s) (is32 ? SBPF_ALU32_REG(op, d, s) : SBPF_ALU64_REG(op, d, s))
	if (!(p->variant & KOPS_ROT_REG)) {
		sbpf_builder__emit(b, ALU_R(SBPF_MOV, p->c, p->dst));
		sbpf_builder__emit(b, ALU_I(first, p->dst, p->imm));
		sbpf_builder__emit(b, ALU_I(second, p->c, width - p->imm));
		return sbpf_builder__emit(b, ALU_R(SBPF_OR, p->dst, p->c));
	}
	sbpf_builder__emit(b, ALU_R(SBPF_MOV, p->b, p->dst));
	sbpf_builder__emit(b, ALU_R(SBPF_MOV, p->c, p->a));
	sbpf_builder__emit(b, ALU_R(first, p->dst, p->c));
	sbpf_builder__emit(b, is32 ? SBPF_INSN(SBPF_ALU | SBPF_NEG, p->c, 0, 0, 0)
				   : SBPF_INSN(SBPF_ALU64 | SBPF_NEG, p->c, 0, 0, 0));
	sbpf_builder__emit(b, ALU_R(second, p->b, p->c));
	return sbpf_builder__emit(b, ALU_R(SBPF_OR, p->dst, p->b));
#undef ALU_I
#undef ALU_R
}

static void spec(const struct sbpf_kops_payload *p, uint64_t r[SBPF_NREGS])
{
	int is32 = p->variant & KOPS_ROT_32, right = p->variant & KOPS_ROT_RIGHT;
	unsigned width = is32 ? 32 : 64;
	unsigned k = (unsigned)((p->variant & KOPS_ROT_REG) ? r[p->a] : (uint64_t)p->imm) & (width - 1);
	if (right)
		k = (width - k) & (width - 1);
	if (is32) {
		uint32_t x = (uint32_t)r[p->dst];
		r[p->dst] = k ? (uint32_t)(x << k | x >> (32 - k)) : x;
	} else {
		uint64_t x = r[p->dst];
		r[p->dst] = k ? x << k | x >> (64 - k) : x;
	}
}

static uint16_t clobbers(const struct sbpf_kops_payload *p)
{
	return (uint16_t)(1u << p->c | ((p->variant & KOPS_ROT_REG) ? 1u << p->b : 0));
}

/* x86-64: rol/ror dst, k; by register through cl. rcx is eBPF r4, so it
 * is borrowed only when it already holds the amount, or r4 is a declared
 * scratch; otherwise it is saved in r11 and restored (when r4 is dst, the
 * rotate happens in r11). The count is masked by the CPU as by the proof
 * sequence's shifts (mod 64, mod 32), and a 32-bit rotate writes a
 * zero-extended result even for a count of 0. */
static int emit_x86_64(const struct sbpf_kops_payload *p, struct kops_x86 *x)
{
	struct jit_buf *b = x->b;
	int w = !(p->variant & KOPS_ROT_32);
	int ext = p->variant & KOPS_ROT_RIGHT ? X64_SH_ROR : X64_SH_ROL;
	int d = kops_x86_reg(x, p->dst);
	if (!(p->variant & KOPS_ROT_REG)) {
		if (x->mutant == KOPS_MUT_SCRATCH) {
			int t = kops_x86_reg(x, p->dst != 0 && p->c != 0 ? 0 : p->dst != 1 && p->c != 1 ? 1 : 2);
			emit_mov_rr(b, 1, t, d);                          /* mov tmp, dst  (undeclared!) */
			emit_shift_ri(b, w, ext, t, (uint8_t)p->imm);     /* rol/ror tmp, k */
			emit_mov_rr(b, 1, d, t);                          /* mov dst, tmp */
			return 0;
		}
		emit_shift_ri(b, w, ext, d, (uint8_t)p->imm);             /* rol/ror dst, k */
		return 0;
	}
	int a = kops_x86_reg(x, p->a);
	if (a == X64_RCX) {
		emit_shift_cl(b, w, ext, d);                              /* rol/ror dst, cl */
	} else if (d == X64_RCX) {
		emit_mov_rr(b, 1, X64_R11, X64_RCX);                      /* mov r11, rcx */
		emit_mov_rr(b, 0, X64_RCX, a);                            /* mov ecx, amount */
		emit_shift_cl(b, w, ext, X64_R11);                        /* rol/ror r11, cl */
		emit_mov_rr(b, 1, X64_RCX, X64_R11);                      /* mov rcx, r11 */
	} else if (kops_x86_reg(x, p->b) == X64_RCX || kops_x86_reg(x, p->c) == X64_RCX) {
		emit_mov_rr(b, 0, X64_RCX, a);                            /* mov ecx, amount (rcx is a scratch) */
		emit_shift_cl(b, w, ext, d);                              /* rol/ror dst, cl */
	} else {
		emit_mov_rr(b, 1, X64_R11, X64_RCX);                      /* mov r11, rcx */
		emit_mov_rr(b, 0, X64_RCX, a);                            /* mov ecx, amount */
		emit_shift_cl(b, w, ext, d);                              /* rol/ror dst, cl */
		if (x->mutant != KOPS_MUT_ROT_CL)
			emit_mov_rr(b, 1, X64_RCX, X64_R11);              /* mov rcx, r11 */
	}
	return 0;
}

/* AArch64: ror by an immediate is extr dst, dst, dst, #k (a left rotate
 * by k is a right rotate by w-k); by a register rorv, whose amount is taken
 * mod 64 / mod 32 like the proof sequence's shifts, with the amount negated
 * into x9 for a left rotate. W forms zero-extend, a count of 0 included. */
static int emit_arm64(const struct sbpf_kops_payload *p, struct kops_arm64 *x)
{
	struct jit_buf *b = x->b;
	int w = !(p->variant & KOPS_ROT_32), width = w ? 64 : 32;
	int right = p->variant & KOPS_ROT_RIGHT;
	int d = kops_a64_reg(x, p->dst);
	if (!(p->variant & KOPS_ROT_REG)) {
		emit_a64_extr(b, w, d, d, d, right ? p->imm : width - p->imm);      /* ror dst, dst, #k */
		return 0;
	}
	int a = kops_a64_reg(x, p->a);
	if (right || x->mutant == KOPS_MUT_A64_ROT_LEFT) {
		emit_a64_dp2(b, w, A64_RORV, d, d, a);                              /* ror dst, dst, amount */
	} else {
		emit_a64_neg(b, w, A64_X9, a);                                      /* neg x9, amount */
		emit_a64_dp2(b, w, A64_RORV, d, d, A64_X9);                         /* ror dst, dst, x9 */
	}
	return 0;
}

const struct kops_op kops_op_rotate = {
	.id = SBPF_KOPS_ROTATE,
	.name = "rotate",
	.summary = "dst = rotate(dst, amount), left or right, 64 or 32 bit",
	.payload_doc = "dst; imm = amount (1..w-1) or a = amount register; b, c scratch; "
		       "variant bit0 = 32-bit, bit1 = by register, bit2 = right",
	.max_proof_len = 6,
	.writes_dst = true,
	.check = check,
	.instantiate = instantiate,
	.spec = spec,
	.clobbers = clobbers,
	.example = { .op = SBPF_KOPS_ROTATE, .dst = 1, .c = 2, .imm = 8 },
	.emit_x86_64 = emit_x86_64,
	.native_max_x86_64 = 16,
	.x86_scratch = KOPS_X86_SCRATCH_GPR(X64_R11),
	.emit_arm64 = emit_arm64,
	.native_max_arm64 = 8,
	.arm64_scratch = KOPS_A64_SCRATCH(A64_X9),
};
