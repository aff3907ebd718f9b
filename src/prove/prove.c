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
 * is not modelled; the AArch64 model reads registers only from the
 * decoded register fields, 31 - sp or zr - never renamed; the
 * specifications read registers only through the payload's fields). If assignment B's inputs are assignment A's with the
 * eBPF registers permuted by rho (and the hardware registers by the
 * induced pi, which fixes every register outside the eBPF map), B's
 * formula is A's with its variables renamed, so both are valid or both
 * have counterexamples. The comparison is exact (same instruction ids,
 * operand kinds, sizes, immediates, displacements, jump targets); anything
 * else is proven by Z3.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
	void *insns;                   /* decoded native code (malloc'ed) */
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
	uint8_t prev[16][MAX_CODE];     /* one assignment's code per feature set, to skip repeats */
	size_t prevlen[16];   /* (16: struct prove_target features) */
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
		    const void *insns, size_t ninsns)
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
	uint8_t pi[PROVE_NREGS];
	for (int hw = 0; hw < PROVE_NREGS; hw++)
		pi[hw] = (uint8_t)hw;
	for (int x = 0; x < SBPF_NREGS; x++)
		pi[t->map[x]] = t->map[rho[x]];
	return t->isa->renamed(from->insns, insns, ninsns, pi);
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
	for (unsigned int k = 0; k < t->nfeatures && !rc; k++) {
		size_t len;
		unsigned int fs = t->features[k];
		r->prevlen[k] = (size_t)-1; /* nothing to compare with unless emitted below */
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
			repeat = r->prevlen[j] == len && !memcmp(r->prev[j], r->code, len);
		memcpy(r->prev[k], r->code, len);
		r->prevlen[k] = len;
		if (repeat) { /* the same bytes: the same obligation, proven above */
			r->res->obligations--;
			continue;
		}
		if (!unused_fields_ignored(r, p, fields, fs, r->code, len))
			continue;
		void *insns = NULL;
		size_t ninsns = 0;
		char why[256];
		if ((rc = t->isa->decode(r->code, len, &insns, &ninsns, why, sizeof(why)))) {
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

/* One (variant, immediate) of group @g with every register assignment
 * the payload rules accept, added to r->res. */
static int prove_unit(struct run *r, const struct prove_group *g, size_t vi, size_t ii)
{
	int rc = 0;
	if (r->t->stop_at_failure && r->res->failed)
		return 0;
	for (int dst = 0; dst <= 10 && !rc; dst++)
		for (int a = 0; a <= 10 && !rc; a++)
			for (int b = 0; b <= 10 && !rc; b++)
				for (int c = 0; c <= 10 && !rc; c++) {
					struct sbpf_kops_payload p = {
						.op = g->op, .variant = g->variants[vi], .dst = (uint8_t)dst,
						.a = (uint8_t)a, .b = (uint8_t)b, .c = (uint8_t)c, .imm = g->imms[ii],
					};
					unsigned int f = g->fields(&p);
					if ((!(f & PF_DST) && dst) || (!(f & PF_A) && a) || (!(f & PF_B) && b) ||
					    (!(f & PF_C) && c))
						continue; /* unused fields are 0 (others checked) */
					char why[128];
					if (sbpf_kops_check_payload(&p, why, sizeof(why)))
						continue;
					rc = one(r, &p, f);
					if (r->t->stop_at_failure && r->res->failed)
						goto out;
				}
out:
	free_reps(r);
	return rc;
}

static struct run *run_new(const struct prove_target *t)
{
	struct run *r = calloc(1, sizeof(*r));
	if (r && prove_z3_init(&r->z)) {
		free(r);
		r = NULL;
	}
	if (r)
		r->t = t;
	return r;
}

static void run_free(struct run *r)
{
	free(r->reps);
	prove_z3_fini(&r->z);
	free(r);
}

int prove_run_group(const struct prove_target *t, const struct prove_group *g,
		    struct prove_group_result *res)
{
	memset(res, 0, sizeof(*res));
	struct run *r = run_new(t);
	if (!r)
		return -ENOMEM;
	r->res = res;
	double t0 = now();
	int rc = 0;
	for (size_t vi = 0; vi < g->nvariants && !rc; vi++)
		for (size_t ii = 0; ii < g->nimms && !rc; ii++)
			rc = prove_unit(r, g, vi, ii);
	run_free(r);
	res->seconds = now() - t0;
	return rc;
}

/* ---- several threads --------------------------------------------------------
 * The work is cut into units, one (group, variant, immediate) each, that
 * worker threads take in order, each with its own Z3 context and capstone
 * handle. A group's row is reported once all its units are done and every
 * earlier row is reported, so rows come in the same order as with one thread. */

struct pool {
	pthread_mutex_t mu;               /* guards everything below */
	const struct prove_target *t;
	const struct prove_group *g;      /* the groups */
	size_t ng;
	size_t *first;                    /* first unit of each group; first[ng] = all units */
	size_t *left;                     /* units of each group not finished yet */
	struct prove_group_result *res;   /* per group */
	size_t next;                      /* next unit to hand out */
	size_t reported;                  /* groups reported so far */
	sbpf_prove_row_fn fn;             /* row callback */
	void *arg;
	struct sbpf_prove_total *total;
	int rc;                           /* first error (or callback stop) */
};

/* Reports finished groups in order (called with the lock held). */
static void report_ready(struct pool *P)
{
	while (P->reported < P->ng && !P->left[P->reported]) {
		const struct prove_group *g = &P->g[P->reported];
		struct prove_group_result *r = &P->res[P->reported++];
		struct sbpf_prove_total *T = P->total;
		T->obligations += r->obligations;
		T->solved += r->solved;
		T->renamed += r->renamed;
		T->failed += r->failed;
		T->groups++;
		T->failed_groups += r->failed > 0;
		struct sbpf_prove_row row = {
			.op = sbpf_kops_info(g->op)->name, .group = g->label, .obligations = r->obligations,
			.solved = r->solved, .renamed = r->renamed, .failed = r->failed,
			.seconds = r->seconds, .report = r->report,
		};
		if (P->fn && !P->rc)
			P->rc = P->fn(&row, P->arg);
	}
}

static void *worker(void *arg)
{
	struct pool *P = arg;
	struct run *r = run_new(P->t);
	pthread_mutex_lock(&P->mu);
	if (!r && !P->rc)
		P->rc = -ENOMEM;
	while (!P->rc && P->next < P->first[P->ng]) {
		size_t u = P->next++, gi = 0;
		while (P->first[gi + 1] <= u)
			gi++;
		pthread_mutex_unlock(&P->mu);
		const struct prove_group *g = &P->g[gi];
		size_t k = u - P->first[gi];
		struct prove_group_result part = { 0 };
		r->res = &part;
		double t0 = now();
		int rc = prove_unit(r, g, k / g->nimms, k % g->nimms);
		part.seconds = now() - t0;
		pthread_mutex_lock(&P->mu);
		struct prove_group_result *sum = &P->res[gi];
		sum->obligations += part.obligations;
		sum->solved += part.solved;
		sum->renamed += part.renamed;
		sum->failed += part.failed;
		sum->declined += part.declined;
		sum->seconds += part.seconds;
		if (!sum->report)
			sum->report = part.report;
		else
			free(part.report);
		P->left[gi]--;
		if (rc && !P->rc)
			P->rc = rc;
		report_ready(P);
	}
	pthread_mutex_unlock(&P->mu);
	if (r)
		run_free(r);
	P->t->isa->release();
	return NULL;
}

int prove_run(const struct prove_target *t, uint32_t op, const char *group, unsigned int jobs,
	      sbpf_prove_row_fn fn, void *arg, struct sbpf_prove_total *total)
{
	memset(total, 0, sizeof(*total));
	struct pool P = { .t = t, .fn = fn, .arg = arg, .total = total };
	struct prove_group *all;
	size_t nall, kept = 0;
	int rc = prove_groups(op, &all, &nall);
	if (rc)
		return rc;
	for (size_t i = 0; i < nall; i++) { /* keep the groups @group selects, in order */
		if (!group || strstr(all[i].label, group))
			all[kept++] = all[i];
		else
			free(all[i].variants), free(all[i].imms);
	}
	P.g = all;
	P.ng = kept;
	P.first = calloc(P.ng + 1, sizeof(*P.first));
	P.left = calloc(P.ng + 1, sizeof(*P.left));
	P.res = calloc(P.ng + 1, sizeof(*P.res));
	pthread_t *th = calloc(jobs ? jobs : 1, sizeof(*th));
	if (!P.first || !P.left || !P.res || !th)
		rc = -ENOMEM;
	for (size_t i = 0; i < P.ng && !rc; i++) {
		P.left[i] = P.g[i].nvariants * P.g[i].nimms;
		P.first[i + 1] = P.first[i] + P.left[i];
	}
	double t0 = now();
	if (!rc) {
		pthread_mutex_init(&P.mu, NULL);
		unsigned int started = 0;
		while (started + 1 < jobs && !pthread_create(&th[started], NULL, worker, &P))
			started++;
		worker(&P); /* the calling thread works too */
		for (unsigned int i = 0; i < started; i++)
			pthread_join(th[i], NULL);
		pthread_mutex_destroy(&P.mu);
		rc = P.rc;
	}
	total->seconds = now() - t0;
	for (size_t i = 0; P.res && i < P.ng; i++)
		free(P.res[i].report);
	free(th);
	free(P.first);
	free(P.left);
	free(P.res);
	prove_groups_free((struct prove_group *)P.g, P.ng);
	return rc;
}

/* ---- public API ------------------------------------------------------------ */

#define OPT(o, f, def) \
	((o) && (o)->sz >= offsetof(struct sbpf_prove_opts, f) + sizeof((o)->f) ? (o)->f : (def))

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
	bool arm64 = arch && (!strcmp(arch, "arm64") || !strcmp(arch, "aarch64"));
	if (arch && !arm64 && strcmp(arch, "x86_64"))
		return -ENOTSUP;
	long jobs = OPT(opts, jobs, 0);
	if (jobs <= 0)
		jobs = sysconf(_SC_NPROCESSORS_ONLN);
	struct prove_target t;
	if (arm64)
		prove_target_arm64(&t);
	else
		prove_target_x86_64(&t);
	/* test hook (tests/suites/80-prove.sh, 81-prove-arm64.sh): prove the
	 * JIT with one of its deliberate mistakes (KOPS_MUT_*, KOPS_MUT_A64_*)
	 * switched on, to see a refutation */
	const char *mutant = getenv("SAFEBPF_TEST_PROVE_MUTANT");
	if (mutant)
		t.mutant = atoi(mutant);
	return prove_run(&t, op, OPT(opts, group, NULL), (unsigned int)(jobs > 0 ? (jobs < 64 ? jobs : 64) : 1), fn,
			 arg, total);
}

const char *sbpf_prove_z3_version(void)
{
	static char v[32];
	unsigned major, minor, build, rev;
	Z3_get_version(&major, &minor, &build, &rev);
	snprintf(v, sizeof(v), "%u.%u.%u", major, minor, build);
	return v;
}
