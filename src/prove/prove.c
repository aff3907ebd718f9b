/* prove.c - the driver: crosses each obligation group with every register
 * assignment the payload rules accept (aliasing included) and every
 * feature set of the target, emits the native code for each, and proves
 * each obligation - by Z3 directly, or, when the decoded native code, the
 * proof sequence and the clobbers of an assignment are exactly those of an
 * already-decided assignment with the registers renamed, by that renaming.
 *
 * Why renaming is sound: an obligation is a formula over the initial
 * values of the registers and memory, built only from the decoded native
 * instructions, the proof-sequence instructions, the clobber set and the
 * specification. Registers enter it only as indexes into the register
 * files (the x86 model reads every register an instruction uses from the
 * decoded operands; an instruction with implicit general-register operands
 * is not modelled; the specifications read registers only through the
 * payload's fields). If assignment B's inputs are assignment A's with the
 * eBPF registers permuted by rho (and the hardware registers by the
 * induced pi, which fixes every register outside the eBPF map), B's
 * formula is A's with its variables renamed, so both are valid or both
 * have counterexamples. The comparison is exact (same instruction ids,
 * operand kinds, sizes, immediates, displacements, jump targets); anything
 * else is proven by Z3.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kops/kopsInt.h"
#include "prove/proveInt.h"
#include "safebpf/prove.h"

#define MAX_CODE 4096        /* bytes one emit may produce */
#define MAX_REPS 64          /* decided assignments kept per aliasing pattern */

/* An assignment already decided, to rename from. */
struct rep {
	struct sbpf_kops_payload p;    /* its payload */
	uint32_t key;                  /* aliasing pattern of its used fields */
	unsigned int fields;           /* PF_* it uses */
	struct sbpf_insn *proof;       /* proof sequence (malloc'ed) */
	size_t nproof;
	uint16_t clob;                 /* clobbers */
	struct prove_x86_insn *insns;  /* decoded native code (malloc'ed) */
	size_t ninsns;
	bool ok;                       /* proven (else refuted) */
};

/* Work shared by one (variant, immediate) of a group. */
struct run {
	struct prove_z3 z;             /* context and solver */
	const struct prove_target *t;  /* target */
	struct prove_group_result *res; /* totals */
	struct rep *reps;              /* decided assignments */
	size_t nreps;
	uint8_t code[MAX_CODE];        /* scratch for emits */
	uint8_t code2[MAX_CODE];
};

static const uint8_t *field_ptr(const struct sbpf_kops_payload *p, int f)
{
	return f == 0 ? &p->dst : f == 1 ? &p->a : f == 2 ? &p->b : &p->c;
}

/* Aliasing pattern: for each used field (dst, a, b, c), the first used
 * field holding the same register. */
static uint32_t alias_key(const struct sbpf_kops_payload *p, unsigned int fields)
{
	uint32_t key = fields;
	for (int i = 0; i < 4; i++) {
		if (!(fields & (1u << i)))
			continue;
		int j = 0;
		while (!(fields & (1u << j)) || *field_ptr(p, j) != *field_ptr(p, i))
			j++;
		key |= (uint32_t)j << (4 + 2 * i);
	}
	return key;
}

static void note_failure(struct run *r, char *report)
{
	r->res->failed++;
	if (!r->res->report)
		r->res->report = report;
	else
		free(report);
}

static void __attribute__((format(printf, 3, 4))) fail_text(struct run *r, const struct sbpf_kops_payload *p,
							     const char *fmt, ...)
{
	char pl[128], msg[256], *out;
	prove_payload_str(p, pl, sizeof(pl));
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (asprintf(&out, "%s: %s\n", pl, msg) < 0)
		out = NULL;
	note_failure(r, out);
}

/* True when eBPF instruction @b is @a with registers renamed by @rho. */
static bool insn_renamed(const struct sbpf_insn *a, const struct sbpf_insn *b, const uint8_t rho[16])
{
	if (a->code != b->code || a->off != b->off || a->imm != b->imm)
		return false;
	const struct sbpf_op_info *info = sbpf_op_info(sbpf_decode(a));
	bool src_is_reg = false;
	if (info)
		switch (info->fmt) {
		case SBPF_FMT_ALU_X: case SBPF_FMT_MOVSX: case SBPF_FMT_LDX: case SBPF_FMT_STX:
		case SBPF_FMT_ATOMIC: case SBPF_FMT_JCOND_X:
			src_is_reg = true;
			break;
		default:
			break;
		}
	bool dst_is_reg = info && info->fmt != SBPF_FMT_JA && info->fmt != SBPF_FMT_JA32 &&
			  info->fmt != SBPF_FMT_CALL && info->fmt != SBPF_FMT_CALL_LOCAL &&
			  info->fmt != SBPF_FMT_EXIT;
	if ((dst_is_reg ? rho[a->dst_reg] : a->dst_reg) != b->dst_reg)
		return false;
	return (src_is_reg ? rho[a->src_reg] : a->src_reg) == b->src_reg;
}

/* Builds the renaming from @from's registers to @to's (a bijection on
 * r0..r10 sending each used field to the same field) and checks that
 * @to's proof sequence, clobbers and native code are @from's renamed. */
static bool renames(const struct prove_target *t, const struct rep *from, const struct sbpf_kops_payload *to,
		    const struct sbpf_insn *proof, size_t nproof, uint16_t clob,
		    const struct prove_x86_insn *insns, size_t ninsns)
{
	if (from->nproof != nproof || from->ninsns != ninsns)
		return false;
	uint8_t rho[16];
	uint16_t dom = 0, img = 0;
	for (int i = 0; i < 16; i++)
		rho[i] = (uint8_t)i;
	for (int f = 0; f < 4; f++) {
		if (!(from->fields & (1u << f)))
			continue;
		uint8_t x = *field_ptr(&from->p, f), y = *field_ptr(to, f);
		if (x > 10 || y > 10)
			return false;
		if ((dom & (1u << x)) ? rho[x] != y : (img & (1u << y)) != 0)
			return false; /* not a bijection on the fields */
		rho[x] = y;
		dom |= (uint16_t)(1u << x);
		img |= (uint16_t)(1u << y);
	}
	/* the other registers, in order, onto the other registers */
	int y = 0;
	for (int x = 0; x < SBPF_NREGS; x++) {
		if (dom & (1u << x))
			continue;
		while (img & (1u << y))
			y++;
		rho[x] = (uint8_t)y;
		img |= (uint16_t)(1u << y);
	}
	uint16_t rc = 0;
	for (int x = 0; x < SBPF_NREGS; x++)
		if (from->clob & (1u << x))
			rc |= (uint16_t)(1u << rho[x]);
	if (rc != clob)
		return false;
	for (size_t i = 0; i < nproof; i++)
		if (!insn_renamed(&from->proof[i], &proof[i], rho))
			return false;
	uint8_t pi[16];
	for (int hw = 0; hw < 16; hw++)
		pi[hw] = (uint8_t)hw;
	for (int x = 0; x < SBPF_NREGS; x++)
		pi[t->map[x]] = t->map[rho[x]];
	return prove_x86_renamed(from->insns, insns, ninsns, pi);
}

static void free_reps(struct run *r)
{
	for (size_t i = 0; i < r->nreps; i++) {
		free(r->reps[i].proof);
		free(r->reps[i].insns);
	}
	r->nreps = 0;
}

/* Emits @p with feature set @fs into @buf. */
static int emit(const struct prove_target *t, const struct sbpf_kops_payload *p, unsigned int fs,
		uint8_t *buf, size_t *len)
{
	*len = 0;
	return t->emit(t, p, fs, buf, MAX_CODE, len);
}

/* The native bytes must not depend on fields the variant does not use:
 * every other value 1..15 of each unused field (that the payload rules
 * accept) gives the same bytes and the same proof sequence. */
static bool unused_fields_ignored(struct run *r, const struct sbpf_kops_payload *p, unsigned int fields,
				  unsigned int fs, const uint8_t *code, size_t len)
{
	for (int f = 0; f < 4; f++) {
		if (fields & (1u << f))
			continue;
		for (int v = 1; v < 16; v++) {
			struct sbpf_kops_payload q = *p;
			*(uint8_t *)field_ptr(&q, f) = (uint8_t)v;
			char why[128];
			if (sbpf_kops_check_payload(&q, why, sizeof(why)))
				continue; /* the lowering never hands the JIT this payload */
			size_t len2;
			if (emit(r->t, &q, fs, r->code2, &len2) || len2 != len || memcmp(code, r->code2, len)) {
				fail_text(r, p, "the native code changes when the unused field %s is %d",
					  f == 0 ? "dst" : f == 1 ? "a" : f == 2 ? "b" : "c", v);
				return false;
			}
		}
	}
	return true;
}

/* Everything for one assignment @p (all feature sets). */
static int one(struct run *r, const struct sbpf_kops_payload *p, unsigned int fields)
{
	const struct prove_target *t = r->t;
	struct sbpf_insn *proof = NULL;
	size_t nproof = 0;
	int rc = prove_proof_sequence(p, &proof, &nproof);
	if (rc) {
		fail_text(r, p, "no proof sequence (%d)", rc);
		return 0;
	}
	uint16_t clob = sbpf_kops_clobbers(p);
	uint32_t key = alias_key(p, fields);
	uint8_t prev[8][MAX_CODE / 8]; /* earlier feature sets' code, to skip repeats */
	size_t prevlen[8];
	for (unsigned int k = 0; k < t->nfeatures && !rc; k++) {
		size_t len;
		unsigned int fs = t->features[k];
		r->res->obligations++;
		if ((rc = emit(t, p, fs, r->code, &len))) {
			if (rc == -EOPNOTSUPP && !len) { /* declined: the JIT runs the proof sequence */
				r->res->obligations--;
				r->res->declined++;
			} else {
				fail_text(r, p, "the emitter failed (%d) with features %s", rc, t->feature_names[k]);
			}
			rc = 0;
			continue;
		}
		size_t max = t->max_len ? t->max_len(p) : 0;
		if (max && len > max) {
			fail_text(r, p, "%zu bytes of native code, more than the declared bound %zu", len, max);
			continue;
		}
		bool repeat = false;
		for (unsigned int j = 0; j < k && !repeat; j++)
			repeat = prevlen[j] == len && !memcmp(prev[j], r->code, len);
		if (k < 8 && len <= sizeof(prev[k])) {
			memcpy(prev[k], r->code, len);
			prevlen[k] = len;
		} else if (k < 8) {
			prevlen[k] = (size_t)-1;
		}
		if (repeat) { /* the same bytes: the same obligation, proven above */
			r->res->obligations--;
			continue;
		}
		if (!unused_fields_ignored(r, p, fields, fs, r->code, len))
			continue;
		struct prove_x86_insn *insns = NULL;
		size_t ninsns = 0;
		char why[256];
		if ((rc = prove_x86_decode(r->code, len, &insns, &ninsns, why, sizeof(why)))) {
			if (rc == -ENOMEM)
				break;
			fail_text(r, p, "native code not decodable: %s", why);
			rc = 0;
			continue;
		}
		bool decided = false;
		for (size_t i = 0; i < r->nreps && !decided; i++) {
			const struct rep *q = &r->reps[i];
			if (q->key != key || !renames(t, q, p, proof, nproof, clob, insns, ninsns))
				continue;
			decided = true;
			if (q->ok) {
				r->res->renamed++;
			} else {
				char pl[128], pq[128], *out;
				prove_payload_str(p, pl, sizeof(pl));
				prove_payload_str(&q->p, pq, sizeof(pq));
				if (asprintf(&out, "%s: refuted, as %s (same code, registers renamed)\n", pl, pq) < 0)
					out = NULL;
				note_failure(r, out);
			}
		}
		if (decided) {
			free(insns);
			continue;
		}
		struct prove_result pr;
		if ((rc = prove_obligation(&r->z, t, p, r->code, len, insns, ninsns, &pr))) {
			free(insns);
			break;
		}
		if (pr.verdict == PROVE_PROVED)
			r->res->solved++;
		else
			note_failure(r, pr.report);
		size_t same_key = 0;
		for (size_t i = 0; i < r->nreps; i++)
			same_key += r->reps[i].key == key;
		struct rep *q = NULL;
		if ((pr.verdict == PROVE_PROVED || pr.verdict == PROVE_FAILED) && same_key < MAX_REPS) {
			struct rep *v = realloc(r->reps, (r->nreps + 1) * sizeof(*v));
			struct sbpf_insn *pc = malloc((nproof ? nproof : 1) * sizeof(*pc));
			if (v)
				r->reps = v;
			if (v && pc) {
				memcpy(pc, proof, nproof * sizeof(*pc));
				q = &r->reps[r->nreps++];
				*q = (struct rep){ *p, key, fields, pc, nproof, clob, insns, ninsns,
						   pr.verdict == PROVE_PROVED };
			} else {
				free(pc);
			}
		}
		if (!q)
			free(insns);
	}
	free(proof);
	return rc;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int prove_run_group(const struct prove_target *t, const struct prove_group *g,
		    struct prove_group_result *res)
{
	memset(res, 0, sizeof(*res));
	struct run *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->t = t;
	r->res = res;
	double t0 = now();
	int rc = prove_z3_init(&r->z);
	for (size_t vi = 0; vi < g->nvariants && !rc; vi++)
		for (size_t ii = 0; ii < g->nimms && !rc; ii++) {
			for (int dst = 0; dst <= 10 && !rc; dst++)
				for (int a = 0; a <= 10 && !rc; a++)
					for (int b = 0; b <= 10 && !rc; b++)
						for (int c = 0; c <= 10 && !rc; c++) {
							struct sbpf_kops_payload p = {
								.op = g->op, .variant = g->variants[vi],
								.dst = (uint8_t)dst, .a = (uint8_t)a, .b = (uint8_t)b,
								.c = (uint8_t)c, .imm = g->imms[ii],
							};
							unsigned int f = g->fields(&p);
							if ((!(f & PF_DST) && dst) || (!(f & PF_A) && a) ||
							    (!(f & PF_B) && b) || (!(f & PF_C) && c))
								continue; /* unused fields are 0 (others checked) */
							char why[128];
							if (sbpf_kops_check_payload(&p, why, sizeof(why)))
								continue;
							rc = one(r, &p, f);
						}
			free_reps(r);
		}
	free(r->reps);
	prove_z3_fini(&r->z);
	free(r);
	res->seconds = now() - t0;
	return rc;
}

/* ---- public API ------------------------------------------------------------ */

#define OPT(o, f, def) \
	((o) && (o)->sz >= offsetof(struct sbpf_prove_opts, f) + sizeof((o)->f) ? (o)->f : (def))

int prove_run(const struct prove_target *t, uint32_t op, sbpf_prove_row_fn fn, void *arg,
	      struct sbpf_prove_total *total)
{
	memset(total, 0, sizeof(*total));
	struct prove_group *g;
	size_t n;
	int rc = prove_groups(op, &g, &n);
	if (rc)
		return rc;
	double t0 = now();
	for (size_t i = 0; i < n && !rc; i++) {
		struct prove_group_result r;
		if ((rc = prove_run_group(t, &g[i], &r)))
			break;
		struct sbpf_prove_row row = {
			.op = sbpf_kops_info(g[i].op)->name, .group = g[i].label,
			.obligations = r.obligations, .solved = r.solved, .renamed = r.renamed,
			.failed = r.failed, .seconds = r.seconds, .report = r.report,
		};
		total->obligations += r.obligations;
		total->solved += r.solved;
		total->renamed += r.renamed;
		total->failed += r.failed;
		total->groups++;
		total->failed_groups += r.failed > 0;
		if (fn)
			rc = fn(&row, arg);
		free(r.report);
	}
	total->seconds = now() - t0;
	prove_groups_free(g, n);
	return rc;
}

int sbpf_prove(const struct sbpf_prove_opts *opts, sbpf_prove_row_fn fn, void *arg,
	       struct sbpf_prove_total *total)
{
	const char *name = OPT(opts, op, NULL), *arch = OPT(opts, arch, NULL);
	uint32_t op = 0;
	if (name) {
		int id = sbpf_kops_by_name(name);
		if (id < 0)
			return -ENOENT;
		op = (uint32_t)id;
	}
	if (arch && strcmp(arch, "x86_64"))
		return -ENOTSUP;
	struct prove_target t;
	prove_target_x86_64(&t);
	return prove_run(&t, op, fn, arg, total);
}

const char *sbpf_prove_z3_version(void)
{
	static char v[32];
	unsigned major, minor, build, rev;
	Z3_get_version(&major, &minor, &build, &rev);
	snprintf(v, sizeof(v), "%u.%u.%u", major, minor, build);
	return v;
}
