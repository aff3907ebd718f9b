/* kops_cli.c - Kops for the commands that compile or run programs (run,
 * jit, test-data through the engines): a program with sites is lowered to
 * its proof sequences; with --kops the lowered program must first pass the
 * running kernel's verifier, and only then does the JIT get the sites. A
 * program without sites goes, with --kops, through the whole EInsn
 * pipeline: the recognizer finds its idioms, the kernel verifier judges the
 * rewrite (what it refuses is left out and reported per site), and the JIT
 * gets the sites the verifier accepted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_kops_has_sites(const struct sbpf_insn *insns, size_t n)
{
	for (size_t pc = 0; pc + 1 < n; pc++)
		if (sbpf_kops_is_site(insns, n, pc))
			return 1;
	return 0;
}

/* One site the recognizer wrote (policy on_site), for --verbose. */
struct site_note {
	size_t start, end;     /* input slots [start, end) it replaces */
	uint32_t op;           /* the operation */
};

/* Collects the recognizer's sites, in output order. */
struct site_notes {
	struct site_note *v;   /* the sites */
	size_t n, cap;         /* used, allocated */
};

static void note_site(void *arg, size_t out_pc, size_t start, size_t end, uint32_t op)
{
	(void)out_pc;
	struct site_notes *s = arg;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 16;
		struct site_note *nv = realloc(s->v, cap * sizeof(*nv));
		if (!nv)
			return;
		s->v = nv;
		s->cap = cap;
	}
	s->v[s->n++] = (struct site_note){ .start = start, .end = end, .op = op };
}

/* Prints, when @p asks for it, the sites of @l (for --verbose) and every
 * rewrite of @v the verifier refused (always: a refusal is news). */
static void report(const struct cli_kops_prep *p, const struct sbpf_kops_lowered *l,
		   const struct site_notes *notes, const struct sbpf_kops_drop *drops, size_t ndrops)
{
	const char *f = p->file ? p->file : "program";
	for (size_t i = 0; i < ndrops; i++)
		fprintf(stderr, "safebpf: %s: kops: %s at input slots %zu..%zu refused by the kernel verifier, "
			"left out (%s; found by %s)\n", f, sbpf_kops_info(drops[i].op)->name, drops[i].start,
			drops[i].end - 1, drops[i].why, drops[i].bisected ? "bisection" : "its log");
	if (!p->verbose || !l)
		return;
	for (size_t k = 0; k < l->nsites; k++) {
		char d[128];
		const struct sbpf_kops_site *s = &l->sites[k];
		cli_kops_describe(&s->p, d, sizeof(d));
		if (notes && notes->n == l->nsites)
			fprintf(stderr, "safebpf: %s: kops: site %s at input slots %zu..%zu, lowered slot %zu: %s\n", f,
				d, notes->v[k].start, notes->v[k].end - 1, s->lowered_start,
				p->verified ? "accepted by the kernel verifier" : "not checked by the kernel");
		else
			fprintf(stderr, "safebpf: %s: kops: site %s at lowered slot %zu: %s\n", f, d, s->lowered_start,
				p->verified ? "accepted by the kernel verifier" : "not checked by the kernel");
	}
}

/* The recognizer's part: @insns has no sites. Returns 1 with @l filled, or
 * a negative errno with @why. */
static int recognize(const struct sbpf_insn *insns, size_t n, struct cli_kops_prep *p,
		     struct sbpf_kops_lowered *l, char *why, size_t whysz)
{
	struct site_notes notes = { 0 };
	struct sbpf_kops_policy pol;
	sbpf_kops_policy__init(&pol);
	pol.on_site = note_site;
	pol.arg = &notes;
	int rc;
	if (p->mode == CLI_KOPS_ON) {
		struct sbpf_kops_verify_opts vo = { .sz = sizeof(vo), .rodata = p->rodata,
						    .rodata_len = p->rodata_len };
		struct sbpf_kops_verified v;
		char reason[400];
		rc = sbpf_kops_rewrite_verified(insns, n, &pol, &vo, &v, reason, sizeof(reason));
		if (!rc) {
			*l = v.lowered;
			memset(&v.lowered, 0, sizeof(v.lowered));
			p->verified = 1;
			p->recognized = 1;
			report(p, l, &notes, v.drops, v.ndrops);
		} else if (rc == -EPERM) {
			snprintf(why, whysz, "native operations refused: %s", reason);
		} else if (rc == -ENOEXEC) {
			/* the program itself is refused: nothing native, it runs as it is */
			static const char too[] = "the program without sites is refused too: ";
			fprintf(stderr, "safebpf: %s: note: no native operations: the kernel verifier refuses the "
				"program itself (%s)\n", p->file ? p->file : "program",
				reason + (strncmp(reason, too, sizeof(too) - 1) ? 0 : sizeof(too) - 1));
			rc = 0;
			sbpf_kops_verified__free(&v);
			free(notes.v);
			return 0;
		} else {
			snprintf(why, whysz, "cannot find the Kops sites: %s", reason);
		}
		sbpf_kops_verified__free(&v);
	} else {
		struct sbpf_insn *out = NULL;
		size_t out_n = 0;
		struct sbpf_validate_error err = { 0 };
		rc = sbpf_kops_recognize(insns, n, &pol, &out, &out_n, NULL, &err);
		if (!rc)
			rc = sbpf_kops_lower(out, out_n, l, &err);
		if (rc)
			snprintf(why, whysz, "cannot find the Kops sites: instruction %zu: %s", err.index, err.rule);
		else {
			p->recognized = 1;
			report(p, l, &notes, NULL, 0);
		}
		free(out);
	}
	free(notes.v);
	return rc ? rc : 1;
}

int cli_kops_prepare_opts(const struct sbpf_insn *insns, size_t n, struct cli_kops_prep *p,
			  struct sbpf_kops_lowered *l, char *why, size_t whysz)
{
	memset(l, 0, sizeof(*l));
	p->verified = 0;
	p->recognized = 0;
	if (!cli_kops_has_sites(insns, n))
		return p->mode != CLI_KOPS_OFF && p->recognize ? recognize(insns, n, p, l, why, whysz) : 0;
	struct sbpf_validate_error err = { 0 };
	int rc = sbpf_kops_lower(insns, n, l, &err);
	if (rc) {
		if (rc == -EINVAL)
			snprintf(why, whysz, "invalid program: instruction %zu: %s", err.index, err.rule);
		else
			snprintf(why, whysz, "cannot lower the Kops sites: %s", strerror(-rc));
		return rc;
	}
	if (p->mode == CLI_KOPS_ON) {
		char reason[400];
		struct sbpf_kops_verify_opts vo = { .sz = sizeof(vo), .rodata = p->rodata, .rodata_len = p->rodata_len };
		rc = sbpf_kops_verify_kernel_opts(l, &vo, reason, sizeof(reason));
		if (rc) {
			snprintf(why, whysz, "native operations refused: %s", reason);
			sbpf_kops_lowered__free(l);
			return rc;
		}
		p->verified = 1;
	}
	if (p->mode != CLI_KOPS_OFF)
		report(p, l, NULL, NULL, 0);
	return 1;
}

int cli_kops_prepare(const struct sbpf_insn *insns, size_t n, int mode, const void *rodata, size_t rodata_len,
		     struct sbpf_kops_lowered *l, char *why, size_t whysz)
{
	struct cli_kops_prep p = { .mode = mode, .rodata = rodata, .rodata_len = rodata_len };
	return cli_kops_prepare_opts(insns, n, &p, l, why, whysz);
}

void cli_kops_describe(const struct sbpf_kops_payload *p, char *buf, size_t bufsz)
{
	const struct sbpf_kops_info *info = sbpf_kops_info(p->op);
	snprintf(buf, bufsz, "%s dst=r%d a=r%d b=r%d c=r%d imm=%d variant=0x%x", info ? info->name : "?",
		 p->dst, p->a, p->b, p->c, p->imm, p->variant);
}
