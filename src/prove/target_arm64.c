/* target_arm64.c - the AArch64 target of the prover: the register map and
 * the reserved registers come from the JIT backend (src/jit/arm64), the
 * native code from the JIT's own Kops emits (struct kops_op emit_arm64)
 * called exactly as the backend calls them - with the backend's own
 * add_imm, compare and ldst helpers - in unchecked mode (what runs on
 * verified programs). The emits use no CPU feature, so there is one
 * feature set. Also the instruction set as the driver sees it
 * (a64_decode.c, a64_sem.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jit/arm64/kops_arm64.h"
#include "jit/jitInt.h"
#include "prove/proveInt.h"

/* kops_arm64.mem_check: called only in checked mode, which the prover does
 * not prove: a call is an emitter bug and makes the emit fail. */
static int no_check(struct kops_arm64 *x, size_t slot, int32_t *disp)
{
	(void)slot;
	*disp = 0;
	jit_buf_fail(x->b, -EPROTO);
	return 0;
}

static int jit_emit(const struct prove_target *t, const struct sbpf_kops_payload *p, unsigned int features,
		    uint8_t *out, size_t cap, size_t *len)
{
	const struct kops_op *op = kops_op(p->op);
	*len = 0;
	if (!op || !op->emit_arm64)
		return -ENOTSUP;
	uint8_t reg[SBPF_NREGS];
	for (int r = 0; r < SBPF_NREGS; r++)
		reg[r] = (uint8_t)a64_bpf_reg(r);
	struct jit_buf b = { 0 };
	struct kops_arm64 x = {
		.b = &b, .reg = reg, .features = features, .checked = false, .mutant = t->mutant,
		.pc = 0, .mem_check = no_check,
	};
	a64_kops_helpers(&x);
	int rc = op->emit_arm64(p, &x);
	if (!rc && b.err)
		rc = b.err;
	if (!rc && b.len > cap)
		rc = -E2BIG;
	if (!rc) {
		if (b.len)
			memcpy(out, b.p, b.len);
		*len = b.len;
	} else if (rc == -EOPNOTSUPP && b.len) {
		rc = -EFAULT; /* declining after emitting breaks the contract */
	}
	free(b.p);
	return rc;
}

static uint32_t jit_scratch(const struct sbpf_kops_payload *p)
{
	const struct kops_op *op = kops_op(p->op);
	return op ? op->arm64_scratch : 0;
}

static size_t jit_max_len(const struct sbpf_kops_payload *p)
{
	const struct kops_op *op = kops_op(p->op);
	return op && op->native_max_arm64 > 0 ? (size_t)op->native_max_arm64 : 0;
}

/* ---- the instruction set, as the driver and the obligation see it ---- */

static int isa_decode(const uint8_t *code, size_t len, void **out, size_t *n, char *why, size_t whysz)
{
	struct prove_a64_insn *v = NULL;
	int rc = prove_a64_decode(code, len, &v, n, why, whysz);
	*out = v;
	return rc;
}

static int isa_run(struct prove_z3 *z, const void *insns, size_t n, struct prove_state *st, char *why,
		   size_t whysz)
{
	return prove_a64_run(z, insns, n, st, why, whysz);
}

static bool isa_renamed(const void *a, const void *b, size_t n, const uint8_t perm[PROVE_NREGS])
{
	return prove_a64_renamed(a, b, n, perm);
}

static const char *isa_text(const void *insns, size_t i, unsigned int *offset)
{
	const struct prove_a64_insn *in = (const struct prove_a64_insn *)insns + i;
	*offset = in->offset;
	return in->text;
}

static const char *const flag_names[] = { "n", "z", "c", "v" };

const struct prove_isa prove_isa_arm64 = {
	.name = "arm64", .nregs = 32, .nflags = 4, .flag_names = flag_names, .xmm = false,
	.insn_size = sizeof(struct prove_a64_insn), .decode = isa_decode, .run = isa_run,
	.renamed = isa_renamed, .text = isa_text, .reg_name = prove_a64_reg_name,
	.release = prove_a64_decode_release,
};

void prove_target_arm64(struct prove_target *t)
{
	memset(t, 0, sizeof(*t));
	t->name = "arm64";
	t->isa = &prove_isa_arm64;
	for (int r = 0; r < SBPF_NREGS; r++)
		t->map[r] = (uint8_t)a64_bpf_reg(r);
	t->reserved = a64_reserved_regs();
	t->nfeatures = 1;
	t->features[0] = 0;
	snprintf(t->feature_names[0], sizeof(t->feature_names[0]), "baseline");
	t->emit = jit_emit;
	t->scratch = jit_scratch;
	t->max_len = jit_max_len;
}
