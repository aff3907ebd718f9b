/* prefetch.c - Kops operation "prefetch": a cache hint for the line at
 * a + off. It has no effect on registers or memory, so its proof sequence
 * is empty. Native: PREFETCHT0 (never faults, whatever the address).
 */
#include <errno.h>
#include <stdio.h>

#include "jit/arm64/kops_arm64.h"
#include "jit/x86_64/kops_x86.h"
#include "kops/kopsInt.h"
#include "kops/ops/ops.h"

static int check(const struct sbpf_kops_payload *p, char *why, size_t whysz)
{
	if (p->variant || p->dst || p->b || p->c)
		return snprintf(why, whysz, "prefetch: only a (base) and imm (offset) may be set"), -EINVAL;
	return kops_check_reg("base a", p->a, false, why, whysz);
}

static int instantiate(const struct sbpf_kops_payload *p, struct sbpf_builder *b)
{
	(void)p;
	(void)b;
	return 0; /* nothing to verify: a hint changes no state */
}

static void spec(const struct sbpf_kops_payload *p, uint64_t r[SBPF_NREGS])
{
	(void)p;
	(void)r;
}

static uint16_t clobbers(const struct sbpf_kops_payload *p)
{
	(void)p;
	return 0;
}

/* x86-64: prefetcht0 [a+off]. A prefetch never faults and changes no
 * register, flag or memory byte, so checked mode needs no bounds check. */
static int emit_x86_64(const struct sbpf_kops_payload *p, struct kops_x86 *x)
{
	emit_prefetcht0(x->b, kops_x86_reg(x, p->a), p->imm);              /* prefetcht0 [a+off] */
	return 0;
}

/* AArch64: prfm pldl1keep, [a, #off] (prfum for small negative or
 * unaligned offsets; other offsets through x9). Never faults. */
static int emit_arm64(const struct sbpf_kops_payload *p, struct kops_arm64 *x)
{
	int a = kops_a64_reg(x, p->a);
	if (p->imm >= 0 && p->imm % 8 == 0 && p->imm < 32768) {
		emit_a64_prfm(x->b, a, (uint32_t)p->imm);                           /* prfm pldl1keep, [a, #off] */
	} else if (p->imm >= -256 && p->imm < 256) {
		emit_a64_prfum(x->b, a, p->imm);                                    /* prfum pldl1keep, [a, #off] */
	} else {
		x->add_imm(x, A64_X9, a, p->imm);                              /* add x9, a, #off */
		emit_a64_prfm(x->b, A64_X9, 0);                                     /* prfm pldl1keep, [x9] */
	}
	return 0;
}

const struct kops_op kops_op_prefetch = {
	.id = SBPF_KOPS_PREFETCH,
	.name = "prefetch",
	.summary = "hint: bring the cache line at a + off closer (no architectural effect)",
	.payload_doc = "a = base; imm = offset; everything else zero",
	.max_proof_len = 0,
	.writes_dst = false,
	.check = check,
	.instantiate = instantiate,
	.spec = spec,
	.clobbers = clobbers,
	.example = { .op = SBPF_KOPS_PREFETCH, .a = 1, .imm = 64 },
	.emit_x86_64 = emit_x86_64,
	.native_max_x86_64 = 10,
	.x86_scratch = 0,
	.emit_arm64 = emit_arm64,
	.native_max_arm64 = 24,
	.arm64_scratch = KOPS_A64_SCRATCH(A64_X9),
};
