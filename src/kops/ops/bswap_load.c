/* bswap_load.c - Kops operation "bswap_load": dst = bswapN(*(uN *)(a + off)),
 * a big-endian field read (clang: load + be, or byte loads with shifts and
 * ors). Native: MOVBE (or MOV + BSWAP).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

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
};
