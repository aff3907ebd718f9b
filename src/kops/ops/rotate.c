/* rotate.c - Kops operation "rotate": dst = dst rotated left or right, by an
 * immediate or a register, 64- or 32-bit. Native: ROL/ROR.
 */
#include <errno.h>
#include <stdio.h>

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
};
