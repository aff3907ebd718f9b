/* prefetch.c - Kops operation "prefetch": a cache hint for the line at
 * a + off. It has no effect on registers or memory, so its proof sequence
 * is empty. Native: PREFETCHT0 (never faults, whatever the address).
 */
#include <errno.h>
#include <stdio.h>

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
};
