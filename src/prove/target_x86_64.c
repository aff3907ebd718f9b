/* target_x86_64.c - the x86-64 target of the prover: the register map and
 * the reserved registers come from the JIT backend (src/jit/x86_64), the
 * native code from the JIT's own Kops emits (struct kops_op emit_x86_64)
 * called exactly as the backend calls them, in unchecked mode (what runs
 * on verified programs), for every subset of the CPU features they use.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jit/jitInt.h"
#include "jit/x86_64/kops_x86.h"
#include "prove/proveInt.h"

/* kops_x86.mem_check: the backend calls it only in checked mode, and the
 * prover proves the unchecked emits (what runs on verified programs), so a
 * call is an emitter bug: it makes the emit fail. */
static int no_check(struct kops_x86 *x, size_t slot, int32_t *disp)
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
	if (!op || !op->emit_x86_64)
		return -ENOTSUP;
	uint8_t reg[SBPF_NREGS];
	for (int r = 0; r < SBPF_NREGS; r++)
		reg[r] = (uint8_t)x64_bpf_reg(r);
	struct jit_buf b = { 0 };
	struct kops_x86 x = {
		.b = &b, .reg = reg, .features = features, .checked = false, .mutant = t->mutant,
		.pc = 0, .mem_check = no_check,
	};
	int rc = op->emit_x86_64(p, &x);
	if (!rc && b.err)
		rc = b.err;
	if (!rc && b.len > cap)
		rc = -E2BIG;
	*len = 0;
	if (!rc) {
		if (b.len) /* an emit may need no code at all (extract of a whole register onto itself) */
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
	return op ? op->x86_scratch : 0;
}

static size_t jit_max_len(const struct sbpf_kops_payload *p)
{
	const struct kops_op *op = kops_op(p->op);
	return op && op->native_max_x86_64 > 0 ? (size_t)op->native_max_x86_64 : 0;
}

/* ---- the instruction set, as the driver and the obligation see it ---- */

static int isa_decode(const uint8_t *code, size_t len, void **out, size_t *n, char *why, size_t whysz)
{
	struct prove_x86_insn *v = NULL;
	int rc = prove_x86_decode(code, len, &v, n, why, whysz);
	*out = v;
	return rc;
}

static int isa_run(struct prove_z3 *z, const void *insns, size_t n, struct prove_state *st, char *why,
		   size_t whysz)
{
	return prove_x86_run(z, insns, n, st, why, whysz);
}

static bool isa_renamed(const void *a, const void *b, size_t n, const uint8_t perm[PROVE_NREGS])
{
	return prove_x86_renamed(a, b, n, perm);
}

static const char *isa_text(const void *insns, size_t i, unsigned int *offset)
{
	const struct prove_x86_insn *in = (const struct prove_x86_insn *)insns + i;
	*offset = in->offset;
	return in->text;
}

static const char *const flag_names[PF__N] = { "cf", "pf", "zf", "sf", "of" };

const struct prove_isa prove_isa_x86_64 = {
	.name = "x86_64", .nregs = 16, .nflags = PF__N, .flag_names = flag_names, .xmm = true,
	.insn_size = sizeof(struct prove_x86_insn), .decode = isa_decode, .run = isa_run,
	.renamed = isa_renamed, .text = isa_text, .reg_name = prove_x86_reg_name,
	.release = prove_x86_decode_release,
};

void prove_target_x86_64(struct prove_target *t)
{
	memset(t, 0, sizeof(*t));
	t->name = "x86_64";
	t->isa = &prove_isa_x86_64;
	for (int r = 0; r < SBPF_NREGS; r++)
		t->map[r] = (uint8_t)x64_bpf_reg(r);
	t->reserved = x64_reserved_regs();
	/* every subset of the features the emits test (identical code for
	 * two sets is proven once) */
	static const struct { unsigned int bit; const char *name; } feats[] = {
		/* bmi1 with a fast BEXTR (AMD), the only case an emit uses BEXTR:
		 * BMI1 alone emits what no BMI1 does */
		{ KOPS_X86_F_BMI1 | KOPS_X86_F_FAST_BEXTR, "bmi1" }, { KOPS_X86_F_BMI2, "bmi2" },
		{ KOPS_X86_F_MOVBE, "movbe" }, { KOPS_X86_F_POPCNT, "popcnt" },
	};
	t->nfeatures = 16;
	for (unsigned int set = 0; set < 16; set++) {
		char *name = t->feature_names[set];
		name[0] = 0;
		for (int i = 0; i < 4; i++)
			if (set & (1u << i)) {
				t->features[set] |= feats[i].bit;
				snprintf(name + strlen(name), sizeof(t->feature_names[set]) - strlen(name), "%s%s",
					 name[0] ? "+" : "", feats[i].name);
			}
		if (!name[0])
			snprintf(name, sizeof(t->feature_names[set]), "baseline");
	}
	t->emit = jit_emit;
	t->scratch = jit_scratch;
	t->max_len = jit_max_len;
}
