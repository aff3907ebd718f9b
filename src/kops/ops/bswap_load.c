/* bswap_load.c - Kops operation "bswap_load": dst = bswapN(*(uN *)(a + off)),
 * a big-endian field read (clang: load + be, or byte loads with shifts and
 * ors). Native: MOVBE (or MOV + BSWAP).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "jit/arm64/kops_arm64.h"
#include "jit/x86_64/kops_x86.h"
#include "kops/kopsInt.h"
#include "kops/ops/ops.h"

static int check(const struct sbpf_kops_payload *p, char *why, size_t whysz)
{
	if (p->variant > KOPS_BSL_64)
		return snprintf(why, whysz, "bswap_load: size variant %d (0=16, 1=32, 2=64 bit)", p->variant), -EINVAL;
	if (p->imm < INT16_MIN || p->imm > INT16_MAX)
		return snprintf(why, whysz, "bswap_load: offset %d does not fit 16 bits", p->imm), -EINVAL;
	return kops_check_reg("dst", p->dst, true, why, whysz) ? -EINVAL
	       : kops_check_reg("base a", p->a, false, why, whysz);
}

/* dst = *(uN *)(a + off); dst = beN dst */
static int instantiate(const struct sbpf_kops_payload *p, struct sbpf_builder *b)
{
	static const uint8_t size[] = { SBPF_H, SBPF_W, SBPF_DW };
	static const int bits[] = { 16, 32, 64 };
	sbpf_builder__emit(b, SBPF_LDX_MEM(size[p->variant], p->dst, p->a, (int16_t)p->imm));
	return sbpf_builder__emit(b, SBPF_INSN(SBPF_ALU | SBPF_END | SBPF_TO_BE, p->dst, 0, 0, bits[p->variant]));
}

static void spec(const struct sbpf_kops_payload *p, uint64_t r[SBPF_NREGS])
{
	const uint8_t *src = (const uint8_t *)(uintptr_t)(r[p->a] + (uint64_t)(int64_t)p->imm);
	int nbytes = 2 << p->variant;
	uint64_t v = 0;
	for (int i = 0; i < nbytes; i++) /* big endian: first byte is most significant */
		v = v << 8 | src[i];
	r[p->dst] = v;
}

static uint16_t clobbers(const struct sbpf_kops_payload *p)
{
	(void)p;
	return 0;
}

/* x86-64: movbe for 32/64 bits, or without MOVBE a zero-extending mov +
 * bswap; 16 bits always movzx + rol by 8 of the zero-extended word (a
 * movbe r16 would write only the low word). In checked mode the JIT's bounds check of
 * the proof sequence's load comes first: a bad address stops the program
 * at that load with the interpreter's message. */
static int emit_x86_64(const struct sbpf_kops_payload *p, struct kops_x86 *x)
{
	struct jit_buf *b = x->b;
	int size = 2 << p->variant;
	int d = kops_x86_reg(x, p->dst);
	int32_t disp = p->imm;
	int base = x->checked ? x->mem_check(x, x->pc, &disp) : kops_x86_reg(x, p->a);
	/* 16 bits: movzx + rol even with MOVBE. `movbe r16` writes a partial
	 * register, which merges with (waits for) dst's previous value; the
	 * zero-extending load starts a fresh dependency chain. (The mutant,
	 * for tests only, is the movbe r16 without its zero extension.) */
	if ((x->features & KOPS_X86_F_MOVBE) && (size != 2 || x->mutant == KOPS_MUT_BSL16_NOZX)) {
		emit_movbe_load(b, size, d, base, disp);                   /* movbe dst, [a+off] */
		return 0;
	}
	emit_load(b, size, d, base, disp);                                 /* mov(zx) dst, [a+off] */
	if (size == 2)
		emit_rol16_8(b, d);                                        /* rol dst16, 8 */
	else
		emit_bswap(b, size == 8, d);                               /* bswap dst */
	return 0;
}

/* AArch64: ldrh/ldr + rev16/rev (the zero-extending ldrh leaves the upper
 * halfword 0, which rev16 keeps). In checked mode the JIT's bounds check of
 * the proof sequence's load comes first, and the load goes through the
 * checked address. */
static int emit_arm64(const struct sbpf_kops_payload *p, struct kops_arm64 *x)
{
	struct jit_buf *b = x->b;
	int size = 2 << p->variant;
	int d = kops_a64_reg(x, p->dst);
	int32_t disp = p->imm;
	int base = x->checked ? x->mem_check(x, x->pc, &disp) : kops_a64_reg(x, p->a);
	x->ldst(x, size, A64_LDR, d, base, disp);                              /* ldr(h) dst, [a, #off] */
	if (size == 2 && x->mutant != KOPS_MUT_A64_BSL16_REV)
		emit_a64_dp1(b, 0, A64_REV16, d, d);                                /* rev16 wdst, wdst */
	else
		emit_a64_rev(b, size == 8, d, d);                                   /* rev dst, dst */
	return 0;
}

const struct kops_op kops_op_bswap_load = {
	.id = SBPF_KOPS_BSWAP_LOAD,
	.name = "bswap_load",
	.summary = "dst = big-endian load of 16/32/64 bits at a + off",
	.payload_doc = "dst; a = base; imm = offset (16-bit); variant = size (0=16, 1=32, 2=64)",
	.max_proof_len = 2,
	.writes_dst = true,
	.check = check,
	.instantiate = instantiate,
	.spec = spec,
	.clobbers = clobbers,
	.example = { .op = SBPF_KOPS_BSWAP_LOAD, .variant = KOPS_BSL_32, .dst = 0, .a = 1, .imm = 12 },
	.emit_x86_64 = emit_x86_64,
	.native_max_x86_64 = 48,
	/* r9-r11: the checked-mode bounds check and its stub */
	.x86_scratch = KOPS_X86_SCRATCH_GPR(X64_R9) | KOPS_X86_SCRATCH_GPR(X64_R10) |
		       KOPS_X86_SCRATCH_GPR(X64_R11),
	.emit_arm64 = emit_arm64,
	.native_max_arm64 = 48,
	/* x9-x11: the checked-mode bounds check; x9 a large offset */
	.arm64_scratch = KOPS_A64_SCRATCH(A64_X9) | KOPS_A64_SCRATCH(A64_X10) | KOPS_A64_SCRATCH(A64_X11),
};
