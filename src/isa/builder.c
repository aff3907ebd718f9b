/* builder.c - code-generation API: append instructions, jump to labels,
 * resolve them at the end. Used by the SQL code generator, the Kops lowering
 * pass and the test program generators. The first error sticks.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safebpf/isa.h"

struct fixup {
	size_t at;            /* index of the jump or call slot */
	int label;            /* label it refers to */
};

struct sbpf_builder {
	struct sbpf_insn *insns;  /* program so far */
	size_t len, cap;          /* slots used / allocated */
	long *label_pos;          /* slot index per label, -1 while unbound */
	size_t nlabels, label_cap;
	struct fixup *fixups;     /* jumps waiting for label resolution */
	size_t nfixups, fixup_cap;
	int err;                  /* first error, sticky */
	char err_msg[128];        /* reason for err, for finish() */
};

static int set_err(struct sbpf_builder *b, int err, const char *msg)
{
	if (!b->err) {
		b->err = err;
		snprintf(b->err_msg, sizeof(b->err_msg), "%s", msg);
	}
	return b->err;
}

/* Grows *@p (element size @sz) to hold at least @need elements. */
static int grow(struct sbpf_builder *b, void **p, size_t *cap, size_t need, size_t sz)
{
	if (need <= *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 64;
	while (ncap < need)
		ncap *= 2;
	void *np = realloc(*p, ncap * sz);
	if (!np)
		return set_err(b, -ENOMEM, "out of memory");
	*p = np;
	*cap = ncap;
	return 0;
}

struct sbpf_builder *sbpf_builder__new(void)
{
	return calloc(1, sizeof(struct sbpf_builder));
}

void sbpf_builder__free(struct sbpf_builder *b)
{
	if (!b)
		return;
	free(b->insns);
	free(b->label_pos);
	free(b->fixups);
	free(b);
}

int sbpf_builder__emit(struct sbpf_builder *b, struct sbpf_insn insn)
{
	if (b->err)
		return b->err;
	if (b->len >= SBPF_MAX_INSNS)
		return set_err(b, -E2BIG, "program too large");
	if (grow(b, (void **)&b->insns, &b->cap, b->len + 1, sizeof(*b->insns)))
		return b->err;
	b->insns[b->len] = insn;
	return (int)b->len++;
}

int sbpf_builder__emit_lddw(struct sbpf_builder *b, int dst, int pseudo, uint64_t imm)
{
	int at = sbpf_builder__emit(b, SBPF_LD_IMM64_LO(dst, pseudo, imm));
	if (at < 0)
		return at;
	int rc = sbpf_builder__emit(b, SBPF_LD_IMM64_HI(imm));
	return rc < 0 ? rc : at;
}

int sbpf_builder__new_label(struct sbpf_builder *b)
{
	if (b->err)
		return b->err;
	if (grow(b, (void **)&b->label_pos, &b->label_cap, b->nlabels + 1, sizeof(long)))
		return b->err;
	b->label_pos[b->nlabels] = -1;
	return (int)b->nlabels++;
}

int sbpf_builder__bind(struct sbpf_builder *b, int label)
{
	if (b->err)
		return b->err;
	if (label < 0 || (size_t)label >= b->nlabels)
		return set_err(b, -EINVAL, "bind of an unknown label");
	if (b->label_pos[label] >= 0)
		return set_err(b, -EINVAL, "label bound twice");
	b->label_pos[label] = (long)b->len;
	return 0;
}

static int add_fixup(struct sbpf_builder *b, int at, int label)
{
	if (at < 0)
		return at;
	if (label < 0 || (size_t)label >= b->nlabels)
		return set_err(b, -EINVAL, "jump to an unknown label");
	if (grow(b, (void **)&b->fixups, &b->fixup_cap, b->nfixups + 1, sizeof(*b->fixups)))
		return b->err;
	b->fixups[b->nfixups++] = (struct fixup){ .at = (size_t)at, .label = label };
	return at;
}

int sbpf_builder__jump(struct sbpf_builder *b, struct sbpf_insn jmp, int label)
{
	uint8_t cls = SBPF_CLASS(jmp.code);
	if (!b->err && cls != SBPF_JMP && cls != SBPF_JMP32)
		return set_err(b, -EINVAL, "jump() needs a jump instruction");
	return add_fixup(b, sbpf_builder__emit(b, jmp), label);
}

int sbpf_builder__call_local(struct sbpf_builder *b, int label)
{
	struct sbpf_insn call = SBPF_INSN(SBPF_JMP | SBPF_CALL, 0, SBPF_PSEUDO_CALL, 0, 0);
	return add_fixup(b, sbpf_builder__emit(b, call), label);
}

size_t sbpf_builder__len(const struct sbpf_builder *b)
{
	return b->len;
}

int sbpf_builder__error(const struct sbpf_builder *b)
{
	return b->err;
}

/* Writes the distance to the label into the offset or immediate field. */
static int resolve(struct sbpf_builder *b, const struct fixup *fx)
{
	long pos = b->label_pos[fx->label];
	if (pos < 0)
		return set_err(b, -EINVAL, "jump to a label that was never bound");
	struct sbpf_insn *in = &b->insns[fx->at];
	long delta = pos - (long)fx->at - 1;
	int uses_imm = in->code == (SBPF_JMP | SBPF_CALL) || in->code == (SBPF_JMP32 | SBPF_JA);
	if (uses_imm) {
		in->imm = (int32_t)delta;
	} else {
		if (delta < INT16_MIN || delta > INT16_MAX)
			return set_err(b, -ERANGE, "jump distance does not fit in 16 bits (use ja32)");
		in->off = (int16_t)delta;
	}
	return 0;
}

int sbpf_builder__finish(struct sbpf_builder *b, struct sbpf_insn **out, size_t *n,
			 struct sbpf_validate_error *err)
{
	for (size_t i = 0; i < b->nfixups && !b->err; i++)
		resolve(b, &b->fixups[i]);
	if (b->err) {
		if (err) {
			err->index = b->len;
			snprintf(err->rule, sizeof(err->rule), "%s", b->err_msg);
		}
		return b->err;
	}
	int rc = sbpf_validate(b->insns, b->len, err);
	if (rc)
		return rc;
	*out = malloc(b->len * sizeof(**out));
	if (!*out)
		return -ENOMEM;
	memcpy(*out, b->insns, b->len * sizeof(**out));
	*n = b->len;
	return 0;
}
