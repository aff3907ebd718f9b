/* extract.c - Kops operation "extract": dst = (a >> shift) & (2^len - 1),
 * the bit-field extract clang emits as rsh; and. Native: the cheapest of
 * MOVZX/MOV r32 (aligned fields at bit 0), SHR (fields at the top), SHR +
 * AND (in place) and BEXTR (BMI1, from another register).
 */
#include <errno.h>
#include <stdio.h>

#include "jit/arm64/kops_arm64.h"
#include "jit/x86_64/kops_x86.h"
#include "kops/kopsInt.h"
#include "kops/ops/ops.h"

#define SHIFT(p) ((p)->imm & 0xff)
#define LEN(p)   (((p)->imm >> 8) & 0xff)

static int check(const struct sbpf_kops_payload *p, char *why, size_t whysz)
{
	int width = p->variant & KOPS_EXT_32 ? 32 : 64;
	if (p->variant & ~KOPS_EXT_32)
		return snprintf(why, whysz, "extract: unknown variant bits 0x%x", p->variant), -EINVAL;
	if (p->imm & ~0xffff)
		return snprintf(why, whysz, "extract: imm must be shift | len << 8"), -EINVAL;
	if (SHIFT(p) >= width || LEN(p) < 1 || SHIFT(p) + LEN(p) > width || LEN(p) > 32)
		return snprintf(why, whysz, "extract: field [%d, +%d) does not fit %d bits (len 1..32)",
				SHIFT(p), LEN(p), width), -EINVAL;
	return kops_check_reg("dst", p->dst, true, why, whysz) ? -EINVAL
	       : kops_check_reg("source a", p->a, false, why, whysz);
}

/* dst = a; dst >>= shift; dst &= mask. A 32-bit field of a 64-bit value
 * is cut with shifts, the way clang writes it: dst = a; dst <<= 32 - shift;
 * dst >>= 32 (the zero-extension `lsh 32; rsh 32` for shift 0; one `rsh
 * 32` for the top half). Not `mov32 dst, dst`: the kernel verifier links
 * the two registers of a mov32 whose source already fits in 32 bits (same
 * scalar id: bounds learned on one apply to the other, precision marks
 * spread to both), which the shifts do not, so in a loop the mov32 form
 * kept states apart that the original code let it prune and a program it
 * accepted hit the 1M-instruction limit (docs/kops.md, "The verifier's
 * view"). The shifts are the original instructions: the verifier judges
 * the site's region exactly as it judged the code it replaces. */
static int instantiate(const struct sbpf_kops_payload *p, struct sbpf_builder *b)
{
	int is32 = p->variant & KOPS_EXT_32;
	if (p->dst != p->a || is32)
		sbpf_builder__emit(b, is32 ? SBPF_MOV32_REG(p->dst, p->a) : SBPF_MOV64_REG(p->dst, p->a));
	if (LEN(p) == 32 && !is32) {
		if (SHIFT(p) < 32)
			sbpf_builder__emit(b, SBPF_ALU64_IMM(SBPF_LSH, p->dst, 32 - SHIFT(p)));
		return sbpf_builder__emit(b, SBPF_ALU64_IMM(SBPF_RSH, p->dst, 32));
	}
	if (SHIFT(p))
		sbpf_builder__emit(b, is32 ? SBPF_ALU32_IMM(SBPF_RSH, p->dst, SHIFT(p))
					   : SBPF_ALU64_IMM(SBPF_RSH, p->dst, SHIFT(p)));
	if (LEN(p) == 32)
		return 0; /* 32-bit variant: the mov32 (and rsh) zero-extended */
	int32_t mask = (int32_t)((1u << LEN(p)) - 1);
	return sbpf_builder__emit(b, is32 ? SBPF_ALU32_IMM(SBPF_AND, p->dst, mask)
					  : SBPF_ALU64_IMM(SBPF_AND, p->dst, mask));
}

static void spec(const struct sbpf_kops_payload *p, uint64_t r[SBPF_NREGS])
{
	uint64_t x = p->variant & KOPS_EXT_32 ? (uint32_t)r[p->a] : r[p->a];
	uint64_t mask = LEN(p) == 64 ? ~0ull : (1ull << LEN(p)) - 1;
	r[p->dst] = (x >> SHIFT(p)) & mask;
}

static uint16_t clobbers(const struct sbpf_kops_payload *p)
{
	(void)p;
	return 0;
}

/* x86-64, the shortest form for the field (docs/kops.md, "Cost table"):
 * never more than the JIT makes of the proof sequence.
 * - a field at bit 0 of 8, 16 or 32 bits is one movzx (mov r32 for 32
 *   bits: the zero-extension `lsh 32; rsh 32`, two instructions in the
 *   JIT, becomes `mov dst32, a32`);
 * - a field that ends at the top of the value needs no mask: shr (a mov
 *   first when dst != a; a 32-bit shr in place zero-extends by itself);
 * - otherwise, in place, shr + and (two 1-µop instructions; bextr would be
 *   two too, with its control in r11); from another register, on a CPU
 *   where BEXTR is one 1-cycle µop (AMD Zen: KOPS_X86_F_FAST_BEXTR),
 *   mov r11d, ctl; bextr dst, a, r11 (the control's mov has no input, so
 *   the field is ready a cycle earlier than through shr; and), elsewhere
 *   (Intel: BEXTR is 2 µops, 2 cycles) mov, shr, and - the proof
 *   sequence's own code, so the recognizer writes no such site.
 * A 32-bit field of a 64-bit value is cut with a 32-bit mov, which clears
 * the upper half; the 32-bit variant's shr and and are 32-bit operations,
 * which zero-extend by themselves. */
static int emit_x86_64(const struct sbpf_kops_payload *p, struct kops_x86 *x)
{
	struct jit_buf *b = x->b;
	int w = !(p->variant & KOPS_EXT_32), width = w ? 64 : 32;
	int d = kops_x86_reg(x, p->dst), a = kops_x86_reg(x, p->a);
	int shift = SHIFT(p), len = LEN(p);
	if (!shift && (len == 8 || len == 16 || len == 32)) {
		if (len == 8)
			emit_movzx_rr8(b, d, a);                           /* movzx dst32, a8 */
		else if (len == 16)
			emit_movzx_rr16(b, d, a);                          /* movzx dst32, a16 */
		else if (x->mutant != KOPS_MUT_EXT_NOZX || d != a)
			emit_mov_rr(b, 0, d, a);                           /* mov dst32, a32 */
		return 0;
	}
	if (shift + len == width) {
		if (d != a)
			emit_mov_rr(b, w, d, a);                           /* mov dst, a */
		emit_shift_ri(b, w, X64_SH_SHR, d, (uint8_t)shift);        /* shr dst, shift */
		return 0; /* the shift left only the field */
	}
	if ((x->features & KOPS_X86_F_BMI1) && (x->features & KOPS_X86_F_FAST_BEXTR) && d != a) {
		emit_mov_ri32(b, X64_R11, (uint32_t)(shift | len << 8));    /* mov r11d, shift | len << 8 */
		emit_bextr(b, w, d, a, X64_R11);                           /* bextr dst, a, r11 */
		return 0;
	}
	if (d != a)
		emit_mov_rr(b, w, d, a);                                   /* mov dst, a */
	if (shift)
		emit_shift_ri(b, w, X64_SH_SHR, d, (uint8_t)shift);        /* shr dst, shift */
	if (len == 32) {
		if (x->mutant != KOPS_MUT_EXT_NOZX)
			emit_mov_rr(b, 0, d, d);                           /* mov dst32, dst32 */
	} else {
		emit_alu_ri(b, w, X64_EXT_AND, d, (int32_t)((1u << len) - 1)); /* and dst, mask */
	}
	return 0;
}

/* AArch64: one ubfx dst, a, #shift, #len (W form for the 32-bit variant);
 * it reads a before writing dst and zero-extends the field. */
static int emit_arm64(const struct sbpf_kops_payload *p, struct kops_arm64 *x)
{
	int w = !(p->variant & KOPS_EXT_32);
	int len = LEN(p);
	if (x->mutant == KOPS_MUT_A64_EXT_WIDE && SHIFT(p) + len < (w ? 64 : 32))
		len++;
	emit_a64_ubfx(x->b, w, kops_a64_reg(x, p->dst), kops_a64_reg(x, p->a), SHIFT(p), len); /* ubfx dst, a, #shift, #len */
	return 0;
}

const struct kops_op kops_op_extract = {
	.id = SBPF_KOPS_EXTRACT,
	.name = "extract",
	.summary = "dst = (a >> shift) & (2^len - 1)  (bit-field extract)",
	.payload_doc = "dst; a = source; imm = shift | len << 8 (len 1..32); variant bit0 = 32-bit",
	.max_proof_len = 3,
	.writes_dst = true,
	.check = check,
	.instantiate = instantiate,
	.spec = spec,
	.clobbers = clobbers,
	.example = { .op = SBPF_KOPS_EXTRACT, .dst = 0, .a = 1, .imm = 4 | 8 << 8 },
	.emit_x86_64 = emit_x86_64,
	.native_max_x86_64 = 16,
	.x86_scratch = KOPS_X86_SCRATCH_GPR(X64_R11),
	.emit_arm64 = emit_arm64,
	.native_max_arm64 = 4,
	.arm64_scratch = 0,
};
