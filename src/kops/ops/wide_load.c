/* wide_load.c - Kops operation "wide_load": dst = the 2, 4 or 8 bytes at
 * a + off as one little- or big-endian number, the pattern clang -O2
 * emits for packet parsers that read a field of unknown alignment byte
 * by byte (b0 | b1 << 8 | b2 << 16 | b3 << 24, or the big-endian order).
 * Its proof sequence is such byte loads recomposed with shifts and ors:
 * the kernel verifier judges the same one-byte accesses it judged in the
 * original program, and every byte it proved in bounds is one of the
 * native load's. Native: one mov/movzx (little-endian), movbe or mov +
 * bswap (big-endian) on x86-64; ldr(h) [+ rev] on AArch64.
 */
#include <errno.h>
#include <stdio.h>

#include "jit/arm64/kops_arm64.h"
#include "jit/x86_64/kops_x86.h"
#include "kops/kopsInt.h"
#include "kops/ops/ops.h"

static int nbytes(const struct sbpf_kops_payload *p)
{
	return 2 << (p->variant & KOPS_WIDE_SIZE);
}

/* Shift of memory byte @i (at a + off + i) in the value. */
static int shift_of(const struct sbpf_kops_payload *p, int i)
{
	return 8 * (p->variant & KOPS_WIDE_BE ? nbytes(p) - 1 - i : i);
}

/* When dst is the base a, the value is built in b and the middle bytes
 * go through c (the base must survive until the last load). */
static int uses_c(const struct sbpf_kops_payload *p)
{
	return p->dst == p->a && nbytes(p) > 2;
}

static int check(const struct sbpf_kops_payload *p, char *why, size_t whysz)
{
	if ((p->variant & ~(KOPS_WIDE_SIZE | KOPS_WIDE_BE)) || (p->variant & KOPS_WIDE_SIZE) > KOPS_WIDE_64)
		return snprintf(why, whysz, "wide_load: variant 0x%x (bits 0-1 size 0=16, 1=32, 2=64; bit 2 big-endian)",
				p->variant), -EINVAL;
	if (p->imm < INT16_MIN || (int64_t)p->imm + nbytes(p) - 1 > INT16_MAX)
		return snprintf(why, whysz, "wide_load: offsets %d..%lld do not fit 16 bits", p->imm,
				(long long)p->imm + nbytes(p) - 1), -EINVAL;
	if (kops_check_reg("dst", p->dst, true, why, whysz) || kops_check_reg("base a", p->a, false, why, whysz) ||
	    kops_check_reg("scratch b", p->b, true, why, whysz))
		return -EINVAL;
	if (p->b == p->dst || p->b == p->a)
		return snprintf(why, whysz, "wide_load: scratch b must differ from dst and the base"), -EINVAL;
	if (!uses_c(p))
		return 0;
	if (kops_check_reg("scratch c", p->c, true, why, whysz))
		return -EINVAL;
	uint8_t regs[] = { p->dst, p->b, p->c };
	return kops_check_distinct(regs, 3, why, whysz);
}

/* Byte i of the value's bytes, in memory order, shifted into place:
 *   dst != a:  dst = *(u8 *)(a + off);     dst <<= s0
 *              b = *(u8 *)(a + off + i);   b <<= si;  dst |= b   (i = 1..n-1)
 *   dst == a:  b = *(u8 *)(a + off);       b <<= s0
 *              c = *(u8 *)(a + off + i);   c <<= si;  b |= c     (i = 1..n-2)
 *              dst = *(u8 *)(a + off + n-1); dst <<= s; dst |= b
 * (shifts by 0 left out). Every byte load is its own instruction, at the
 * slot kops_wide_load_slot() names. */
static int instantiate(const struct sbpf_kops_payload *p, struct sbpf_builder *b)
{
	int n = nbytes(p), rc = 0;
	int acc = p->dst == p->a ? p->b : p->dst, tmp = p->dst == p->a ? p->c : p->b;
	for (int i = 0; i < n; i++) {
		int r = i == 0 ? acc : i == n - 1 && p->dst == p->a ? p->dst : tmp;
		sbpf_builder__emit(b, SBPF_LDX_MEM(SBPF_B, r, p->a, (int16_t)(p->imm + i)));
		if (shift_of(p, i))
			rc = sbpf_builder__emit(b, SBPF_ALU64_IMM(SBPF_LSH, r, shift_of(p, i)));
		if (i == n - 1 && p->dst == p->a)
			rc = sbpf_builder__emit(b, SBPF_ALU64_REG(SBPF_OR, p->dst, acc));
		else if (i)
			rc = sbpf_builder__emit(b, SBPF_ALU64_REG(SBPF_OR, acc, r));
	}
	return rc;
}

static void spec(const struct sbpf_kops_payload *p, uint64_t r[SBPF_NREGS])
{
	const uint8_t *src = (const uint8_t *)(uintptr_t)(r[p->a] + (uint64_t)(int64_t)p->imm);
	uint64_t v = 0;
	for (int i = 0; i < nbytes(p); i++)
		v |= (uint64_t)src[i] << shift_of(p, i);
	r[p->dst] = v;
}

static uint16_t clobbers(const struct sbpf_kops_payload *p)
{
	return (uint16_t)(1u << p->b | (uses_c(p) ? 1u << p->c : 0));
}

/* Slot of the load of byte @i in the proof sequence (from its start). */
static size_t load_slot(const struct sbpf_kops_payload *p, int i)
{
	size_t s = 0;
	for (int k = 0; k < i; k++)
		s += 1 + (shift_of(p, k) != 0) + (k != 0);
	return s;
}

/* In checked mode the JIT's bounds check of every byte load comes first,
 * in the proof sequence's order, so that an access out of bounds stops
 * the program at the very byte (and slot) where the interpreter stops it;
 * once all passed, the whole width is in bounds. Returns the base register
 * and the displacement of byte 0. */
static int x86_checks(const struct sbpf_kops_payload *p, struct kops_x86 *x, int32_t *disp)
{
	int base = kops_x86_reg(x, p->a);
	*disp = p->imm;
	if (!x->checked)
		return base;
	for (int i = 0; i < nbytes(p); i++) {
		int32_t d;
		int r = x->mem_check(x, x->pc + load_slot(p, i), &d);
		if (i == 0) {
			base = r;
			*disp = d;
		}
	}
	return base;
}

/* x86-64: little-endian mov (16 bits: movzx); big-endian as bswap_load
 * (movbe [+ movzx for 16 bits], or mov + bswap / rol 8). */
static int emit_x86_64(const struct sbpf_kops_payload *p, struct kops_x86 *x)
{
	struct jit_buf *b = x->b;
	int size = nbytes(p), d = kops_x86_reg(x, p->dst);
	int32_t disp;
	int base = x86_checks(p, x, &disp);
	if (!(p->variant & KOPS_WIDE_BE)) {
		emit_load(b, size, d, base, disp);                         /* mov(zx) dst, [a+off] */
		return 0;
	}
	if (x->features & KOPS_X86_F_MOVBE) {
		emit_movbe_load(b, size, d, base, disp);                   /* movbe dst, [a+off] */
		if (size == 2 && x->mutant != KOPS_MUT_WIDE_16_NOZX)
			emit_movzx_rr16(b, d, d);                          /* movzx dst32, dst16 */
		return 0;
	}
	emit_load(b, size, d, base, disp);                                 /* mov(zx) dst, [a+off] */
	if (size == 2)
		emit_rol16_8(b, d);                                        /* rol dst16, 8 */
	else
		emit_bswap(b, size == 8, d);                               /* bswap dst */
	return 0;
}

/* AArch64: ldrh/ldr (unaligned loads are allowed on normal memory), then
 * rev16/rev for big-endian. Checked mode: every byte's check first, in
 * the proof sequence's order, as on x86-64. */
static int emit_arm64(const struct sbpf_kops_payload *p, struct kops_arm64 *x)
{
	struct jit_buf *b = x->b;
	int size = nbytes(p), d = kops_a64_reg(x, p->dst);
	int32_t disp = p->imm;
	int base = kops_a64_reg(x, p->a);
	if (x->checked) {
		/* mem_check leaves the checked address in a scratch register
		 * the next check overwrites: the last byte's check comes last,
		 * and the load reads from its address - (n - 1) */
		for (int i = 1; i < size; i++) {
			int32_t dd;
			(void)x->mem_check(x, x->pc + load_slot(p, i - 1), &dd);
		}
		base = x->mem_check(x, x->pc + load_slot(p, size - 1), &disp);
		disp -= size - 1;
	}
	x->ldst(x, size, A64_LDR, d, base, disp);                              /* ldr(h) dst, [a, #off] */
	if (!(p->variant & KOPS_WIDE_BE))
		return 0;
	if (size == 2)
		emit_a64_dp1(b, 0, A64_REV16, d, d);                                /* rev16 wdst, wdst */
	else
		emit_a64_rev(b, size == 8 || x->mutant == KOPS_MUT_A64_WIDE_REV, d, d); /* rev dst, dst */
	return 0;
}

const struct kops_op kops_op_wide_load = {
	.id = SBPF_KOPS_WIDE_LOAD,
	.name = "wide_load",
	.summary = "dst = the 2/4/8 bytes at a + off, little- or big-endian, read byte by byte",
	.payload_doc = "dst; a = base; imm = offset (16-bit); b = scratch; c = second scratch when dst == a "
		       "(32/64 bits); variant = size (0=16, 1=32, 2=64) | 4 for big-endian",
	.max_proof_len = 22,
	.writes_dst = true,
	.check = check,
	.instantiate = instantiate,
	.spec = spec,
	.clobbers = clobbers,
	.example = { .op = SBPF_KOPS_WIDE_LOAD, .variant = KOPS_WIDE_32, .dst = 0, .a = 1, .b = 2, .imm = 12 },
	.emit_x86_64 = emit_x86_64,
	.native_max_x86_64 = 16 + 8 * 48,
	/* r9-r11: the checked-mode bounds checks and their stubs */
	.x86_scratch = KOPS_X86_SCRATCH_GPR(X64_R9) | KOPS_X86_SCRATCH_GPR(X64_R10) |
		       KOPS_X86_SCRATCH_GPR(X64_R11),
	.emit_arm64 = emit_arm64,
	.native_max_arm64 = 8 + 8 * 48,
	.arm64_scratch = KOPS_A64_SCRATCH(A64_X9) | KOPS_A64_SCRATCH(A64_X10) | KOPS_A64_SCRATCH(A64_X11),
};
