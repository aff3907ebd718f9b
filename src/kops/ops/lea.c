/* lea.c - Kops operation "lea": dst = a + (b << s) + imm, the address
 * arithmetic clang emits as lsh; add; add. Native: one LEA.
 */
#include <errno.h>
#include <stdio.h>

#include "jit/arm64/kops_arm64.h"
#include "jit/x86_64/kops_x86.h"
#include "kops/kopsInt.h"
#include "kops/ops/ops.h"

/* When dst is also the base a, the scaled index is built in scratch c. */
static int uses_scratch(const struct sbpf_kops_payload *p)
{
	return p->dst == p->a;
}

static int check(const struct sbpf_kops_payload *p, char *why, size_t whysz)
{
	if (p->variant > 3)
		return snprintf(why, whysz, "lea: shift %d outside 0..3", p->variant), -EINVAL;
	if (kops_check_reg("dst", p->dst, true, why, whysz) ||
	    kops_check_reg("base a", p->a, false, why, whysz) ||
	    kops_check_reg("index b", p->b, false, why, whysz))
		return -EINVAL;
	if (uses_scratch(p)) {
		if (kops_check_reg("scratch c", p->c, true, why, whysz))
			return -EINVAL;
		if (p->c == p->dst)
			return snprintf(why, whysz, "lea: scratch c must differ from dst when dst is the base"), -EINVAL;
	}
	return 0;
}

/* dst != a:  dst = b; dst <<= s; dst += a; dst += imm
 * dst == a:  c = b;   c <<= s;   dst += c; dst += imm   (c may be b itself) */
static int instantiate(const struct sbpf_kops_payload *p, struct sbpf_builder *b)
{
	uint8_t t = uses_scratch(p) ? p->c : p->dst;
	int rc = 0;
	if (t != p->b)
		rc = sbpf_builder__emit(b, SBPF_MOV64_REG(t, p->b));
	if (p->variant)
		rc = sbpf_builder__emit(b, SBPF_ALU64_IMM(SBPF_LSH, t, p->variant));
	rc = sbpf_builder__emit(b, SBPF_ALU64_REG(SBPF_ADD, p->dst, uses_scratch(p) ? p->c : p->a));
	if (p->imm)
		rc = sbpf_builder__emit(b, SBPF_ALU64_IMM(SBPF_ADD, p->dst, p->imm));
	return rc;
}

static void spec(const struct sbpf_kops_payload *p, uint64_t r[SBPF_NREGS])
{
	uint64_t index = r[p->b] << p->variant;
	if (uses_scratch(p))
		r[p->c] = index;
	r[p->dst] = r[p->a] + index + (uint64_t)(int64_t)p->imm;
}

static uint16_t clobbers(const struct sbpf_kops_payload *p)
{
	return uses_scratch(p) ? (uint16_t)(1u << p->c) : 0;
}

/* x86-64: one lea dst, [a + b*2^s + imm] (64-bit; the displacement is
 * sign-extended like eBPF's add imm). It reads a and b before writing dst,
 * so any aliasing is fine, and it needs no scratch: c stays untouched. */
static int emit_x86_64(const struct sbpf_kops_payload *p, struct kops_x86 *x)
{
	emit_lea_sib(x->b, x->mutant != KOPS_MUT_LEA32, kops_x86_reg(x, p->dst), kops_x86_reg(x, p->a),
		     kops_x86_reg(x, p->b), p->variant, p->imm);           /* lea dst, [a + b*2^s + imm] */
	return 0;
}

/* AArch64: add dst, a, b, lsl #s, then the displacement (add/sub
 * immediates, or through x9). The first add reads a and b before writing
 * dst, so any aliasing is fine; c stays untouched. */
static int emit_arm64(const struct sbpf_kops_payload *p, struct kops_arm64 *x)
{
	int d = kops_a64_reg(x, p->dst);
	int s = p->variant + (x->mutant == KOPS_MUT_A64_LEA_SHIFT);
	emit_a64_alu_rrr(x->b, 1, A64_ADD, d, kops_a64_reg(x, p->a), kops_a64_reg(x, p->b), A64_LSL, s); /* add dst, a, b, lsl #s */
	if (p->imm)
		x->add_imm(x, d, d, p->imm);                                   /* add dst, dst, #imm */
	return 0;
}

const struct kops_op kops_op_lea = {
	.id = SBPF_KOPS_LEA,
	.name = "lea",
	.summary = "dst = a + (b << s) + imm  (address arithmetic)",
	.payload_doc = "dst; a = base; b = index; variant = shift (0..3); imm = displacement; "
		       "c = scratch when dst == a (may be b)",
	.max_proof_len = 4,
	.writes_dst = true,
	.check = check,
	.instantiate = instantiate,
	.spec = spec,
	.clobbers = clobbers,
	.example = { .op = SBPF_KOPS_LEA, .variant = 3, .dst = 0, .a = 1, .b = 2, .imm = 16 },
	.emit_x86_64 = emit_x86_64,
	.native_max_x86_64 = 8,
	.x86_scratch = 0,
	.emit_arm64 = emit_arm64,
	.native_max_arm64 = 24,
	.arm64_scratch = KOPS_A64_SCRATCH(A64_X9),
};
