/* optimize.c - DSL-guided iteration: from the MVSF-only plan, candidate
 * plans that move operators into eBPF (filters, projection, pairing of
 * opening and closing events, group-by aggregation, batched output), each
 * with an estimated cost (cost.c); the real kernel verifier judges their
 * programs, cheapest first, and the first one it accepts runs. A candidate
 * the verifier refuses is recorded (verdict cache, vcache.c) and the next
 * one tried, so operators fall back to user space one by one, down to the
 * MVSF-only plan, which always stays the last resort. A verifier rejection
 * never reaches the user.
 *
 * What may move, and why it keeps the executor's results:
 *   - WHERE conjuncts over one table (kexpr.c decides which compile exactly);
 *     on a paired table only when pairing is in the kernel too: a filtered
 *     opening event must still replace the older unmatched one of its key
 *     (the kernel deletes it), which user-space pairing of filtered streams
 *     could not see. JOIN queries keep their filters in user space: a left
 *     row that fails the filter still hides older left rows of its key.
 *     A join of two or three different tables has one kernel candidate
 *     (projection and batching in each table's program); a self-join has
 *     only the MVSF plan.
 *   - pairing, for tables that keep one opening event per key;
 *   - aggregation, when every conjunct and aggregate moved (quantiles stay in
 *     user space), reading groups at each window boundary (kagg.c);
 *   - projection follows: the kernel stages what its operators read and
 *     sends only what user space still needs.
 *
 * Developer knob: SAFEBPF_TEST_REJECT=filter,pair,agg,batch makes the
 * programs of candidates using those operators invalid, so that tests can
 * watch the fallback (the verifier refuses them).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsl/dsl.h"
#include "sql/sqlInt.h"

#define MAX_CONJ 64
#define MAX_CANDS 48
#define DEFAULT_BATCH 64

/* ---- expressions ---------------------------------------------------------- */

static void split_and(struct sql_expr *e, struct sql_expr **out, size_t *n)
{
	if (!e)
		return;
	if (e->kind == SQL_E_BINARY && e->op == SQL_OP_AND) {
		split_and(e->a, out, n);
		split_and(e->b, out, n);
	} else if (*n < MAX_CONJ) {
		out[(*n)++] = e;
	}
}

static void mark_cols(const struct sql_expr *e, int side, bool *cols)
{
	if (!e)
		return;
	if (e->kind == SQL_E_COLUMN && e->side == side && e->col >= 0)
		cols[e->col] = true;
	mark_cols(e->a, side, cols);
	mark_cols(e->b, side, cols);
	mark_cols(e->c, side, cols);
	for (size_t i = 0; i < e->nlist; i++)
		mark_cols(e->list[i], side, cols);
}

/* AND of @list (NULL when empty), built in @a. */
static struct sql_expr *and_of(struct sql_arena *a, struct sql_expr *const *list, size_t n)
{
	struct sql_expr *e = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!e) {
			e = list[i];
			continue;
		}
		struct sql_expr *x = sql_arena_alloc(a, sizeof(*x));
		if (!x)
			return NULL;
		*x = (struct sql_expr){ .kind = SQL_E_BINARY, .op = SQL_OP_AND, .a = e, .b = list[i],
					.type = SQL_T_BOOL, .off = e->off, .len = e->len };
		e = x;
	}
	return e;
}

/* ---- candidates ----------------------------------------------------------- */

struct gen {
	struct sql_plan *p;             /* plan being optimized */
	struct sql_arena *a;            /* allocations */
	struct sql_opt *o;              /* result */
	struct sql_expr *conj[MAX_CONJ];/* WHERE conjuncts */
	size_t nconj;
	bool ok[MAX_CONJ];              /* conjunct compiles for the kernel (side 0) */
	unsigned probes[MAX_CONJ];      /* probes it reads */
	bool pid_filter;                /* -p / -c */
	unsigned reject;                /* SAFEBPF_TEST_REJECT operators */
	int err;                        /* -ENOMEM */
};

enum { OP_FILTER = 1, OP_PAIR = 2, OP_AGG = 4, OP_BATCH = 8 };

static unsigned test_reject(void)
{
	const char *s = getenv("SAFEBPF_TEST_REJECT");
	unsigned m = 0;
	if (!s)
		return 0;
	if (strstr(s, "filter"))
		m |= OP_FILTER;
	if (strstr(s, "pair"))
		m |= OP_PAIR;
	if (strstr(s, "agg"))
		m |= OP_AGG;
	if (strstr(s, "batch"))
		m |= OP_BATCH;
	return m;
}

static bool *new_cols(struct gen *g, const struct sql_table *t)
{
	bool *c = sql_arena_alloc(g->a, t->ncols * sizeof(bool) + 1);
	if (!c)
		g->err = -ENOMEM;
	return c;
}

static struct sql_cand *new_cand(struct gen *g)
{
	if (g->o->ncands == MAX_CANDS)
		return NULL;
	struct sql_cand *c = &g->o->cands[g->o->ncands++];
	memset(c, 0, sizeof(*c));
	c->uq = *g->p->q;
	return c;
}

/* Columns user space reads on side @s when @res are the conjuncts it still
 * evaluates (NULL: the query's WHERE) and groups come from the kernel or not. */
static bool *user_cols(struct gen *g, int s, struct sql_expr *const *res, size_t nres, bool kagg)
{
	const struct sql_query *q = g->p->q;
	bool *c = new_cols(g, q->tables[s]);
	if (!c)
		return NULL;
	if (res)
		for (size_t i = 0; i < nres; i++)
			mark_cols(res[i], s, c);
	else
		mark_cols(q->where, s, c);
	/* A join matches rows by event time (exec.c): every plan sends ts. */
	int ts = q->ntables > 1 ? sql_table_column(q->tables[s], "ts") : -1;
	if (ts >= 0)
		c[ts] = true;
	for (int k = 1; k < q->ntables; k++)
		for (size_t i = 0; i < q->join[k - 1].nkeys; i++) {
			mark_cols(q->join[k - 1].lkeys[i], s, c);
			mark_cols(q->join[k - 1].rkeys[i], s, c);
		}
	if (!kagg) {
		for (size_t i = 0; i < q->nkeys; i++)
			mark_cols(q->keys[i], s, c);
		for (size_t i = 0; i < q->naggs; i++)
			mark_cols(q->aggs[i].arg, s, c);
	}
	for (size_t i = 0; i < q->ncols; i++)
		mark_cols(q->cols[i].e, s, c);
	for (size_t i = 0; i < q->norder; i++)
		mark_cols(q->order[i].e, s, c);
	mark_cols(q->having, s, c);
	return c;
}

/* Adds the kernel side @s to @c: the first @npush kernel-compilable
 * conjuncts (side 0 of a single-table query), pairing, aggregation. */
static void kernel_side(struct gen *g, struct sql_cand *c, int s, size_t npush, bool kpair, bool kagg)
{
	const struct sql_query *q = g->p->q;
	const struct sql_table *t = q->tables[s];
	struct sql_kspec *sp = &c->spec[s];
	c->kernel[s] = true;
	sp->side = s;
	sp->q = q;
	sp->kpair = kpair;
	sp->kagg = kagg;
	sp->batch = DEFAULT_BATCH;
	sp->pidset = g->pid_filter;
	struct sql_expr **pushed = sql_arena_alloc(g->a, (g->nconj + 1) * sizeof(*pushed) * 3);
	if (!pushed) {
		g->err = -ENOMEM;
		return;
	}
	struct sql_expr **pre = pushed + g->nconj + 1, **res = pre + g->nconj + 1;
	size_t npushed = 0, npre = 0, nres = 0, taken = 0;
	for (size_t i = 0; i < g->nconj; i++) {
		if (q->ntables == 1 && g->ok[i] && taken < npush) {
			taken++;
			if (kpair && g->probes[i] == 1u)
				pre[npre++] = g->conj[i];
			else
				pushed[npushed++] = g->conj[i];
		} else {
			res[nres++] = g->conj[i];
		}
	}
	sp->pre = pre;
	sp->npre = npre;
	sp->post = pushed;
	sp->npost = npushed;
	bool *u = q->ntables == 1 ? user_cols(g, s, res, nres, kagg) : user_cols(g, s, NULL, 0, false);
	bool *k = new_cols(g, t);
	bool *gk = kagg ? new_cols(g, t) : NULL;
	if (!u || !k || (kagg && !gk))
		return;
	for (size_t i = 0; i < t->ncols; i++)
		k[i] = u[i];
	for (size_t i = 0; i < npre; i++)
		mark_cols(pre[i], s, k);
	for (size_t i = 0; i < npushed; i++)
		mark_cols(pushed[i], s, k);
	if (kagg) {
		for (size_t i = 0; i < q->nkeys; i++) {
			/* (a key computed in the kernel needs its columns there, not in the map key) */
			if (sql_kagg_key_mode(t, s, q->keys[i]) != SQL_KKEY_VALUE)
				mark_cols(q->keys[i], s, gk);
			mark_cols(q->keys[i], s, k);
		}
		for (size_t i = 0; i < q->naggs; i++)
			mark_cols(q->aggs[i].arg, s, k);
	}
	sp->uneeded = u;
	sp->kneeded = k;
	sp->gneeded = gk;
	if (q->ntables == 1)
		c->uq.where = and_of(g->a, res, nres);
	unsigned ops = (npush ? OP_FILTER : 0) | (kpair ? OP_PAIR : 0) | (kagg ? OP_AGG : 0) | (kagg ? 0 : OP_BATCH);
	if (g->reject & ops)
		sp->fault = (1u << t->nprobes) - 1;
	/* Placement text. */
	char *pl = c->placement;
	size_t len = strlen(pl), cap = sizeof(c->placement);
	const char *sep = "";
#define ADD(...) do { if (len < cap) len += (size_t)snprintf(pl + len, cap - len, __VA_ARGS__); } while (0)
	if (len)
		ADD("; ");
	if (q->ntables > 1)
		ADD("%s: ", q->names[s]);
	if (sp->pidset) {
		ADD("%spid-set", sep);
		sep = ", ";
	}
	if (npre + npushed) {
		ADD("%sfilter %zu/%zu", sep, npre + npushed, g->nconj);
		sep = ", ";
	}
	if (kpair) {
		ADD("%spair", sep);
		sep = ", ";
	}
	if (kagg) {
		ADD("%saggregate", sep);
		sep = ", ";
	} else {
		ADD("%sproject+batch(%u)", sep, sp->batch);
		sep = ", ";
	}
	ADD(" @kernel");
	if (nres && q->ntables == 1)
		ADD(", filter %zu/%zu @user", nres, g->nconj);
#undef ADD
}

/* Whether @e reads a stack column (kstack, ustack): those are named in
 * user space, so nothing that reads them runs in the kernel. */
static bool reads_stack(const struct sql_query *q, const struct sql_expr *e)
{
	if (!e)
		return false;
	if (e->kind == SQL_E_COLUMN && e->side >= 0 && e->side < q->ntables && e->col >= 0 &&
	    (size_t)e->col < q->tables[e->side]->ncols)
		return sql_column_is_stack(&q->tables[e->side]->cols[e->col]);
	if (reads_stack(q, e->a) || reads_stack(q, e->b) || reads_stack(q, e->c))
		return true;
	for (size_t i = 0; i < e->nlist; i++)
		if (reads_stack(q, e->list[i]))
			return true;
	return false;
}

static bool aggregate_ok(struct gen *g, size_t nok)
{
	const struct sql_query *q = g->p->q;
	if (q->ntables != 1 || !q->aggregate || q->distinct_groups || q->naggs > SQL_KAGG_MAX || nok != g->nconj)
		return false;
	for (size_t i = 0; i < q->nkeys; i++)
		if (reads_stack(q, q->keys[i]))
			return false;
	for (size_t i = 0; i < q->naggs; i++)
		if (reads_stack(q, q->aggs[i].arg))
			return false;
	for (size_t i = 0; i < q->naggs; i++)
		if (!sql_kagg_supported(q, &q->aggs[i], 0))
			return false;
	for (size_t i = 0; i < q->nkeys; i++)
		if (sql_kagg_key_mode(q->tables[0], 0, q->keys[i]) == SQL_KKEY_NONE)
			return false; /* (its grouping stays in user space) */
	return true;
}

/* Whether @c runs every side's minimum verifier-safe functions only. */
static bool is_mvsf(const struct sql_cand *c)
{
	for (int s = 0; s < SQL_MAX_TABLES; s++)
		if (c->kernel[s])
			return false;
	return true;
}

/* "Kernel-ness" for --plan kernel-max: operators moved. */
static int kernel_score(const struct sql_cand *c)
{
	int s = 0;
	for (int i = 0; i < SQL_MAX_TABLES; i++) {
		if (!c->kernel[i])
			continue;
		s += 1 + 2 * (int)(c->spec[i].npre + c->spec[i].npost) + 8 * c->spec[i].kpair + 32 * c->spec[i].kagg;
	}
	return s;
}

static int cand_cmp(const void *pa, const void *pb, void *ctx)
{
	const struct sql_cand *a = pa, *b = pb;
	enum sql_strategy sort_strategy = *(const enum sql_strategy *)ctx;
	bool am = is_mvsf(a), bm = is_mvsf(b);
	if (am != bm)
		return am ? 1 : -1; /* the MVSF plan goes last */
	if (sort_strategy == SQL_STRATEGY_KERNEL_MAX && kernel_score(a) != kernel_score(b))
		return kernel_score(b) - kernel_score(a);
	return (a->cost.total > b->cost.total) - (a->cost.total < b->cost.total);
}

int sql_optimize(struct sql_plan *p, struct sql_arena *a, enum sql_strategy strategy, bool pid_filter)
{
	const struct sql_query *q = p->q;
	struct sql_opt *o = sql_arena_alloc(a, sizeof(*o));
	if (!o || !(o->cands = sql_arena_alloc(a, MAX_CANDS * sizeof(*o->cands))))
		return -ENOMEM;
	o->strategy = strategy;
	o->chosen = -1;
	o->pid_filter = pid_filter;
	struct gen g = { .p = p, .a = a, .o = o, .pid_filter = pid_filter, .reject = test_reject() };
	split_and(q->where, g.conj, &g.nconj);
	size_t nok = 0;
	for (size_t i = 0; i < g.nconj; i++) {
		g.ok[i] = q->ntables == 1 && sql_expr_sides(g.conj[i]) == 1u &&
			  sql_kx_ok(q->tables[0], 0, g.conj[i], true, &g.probes[i]);
		nok += g.ok[i];
	}
	/* Put the compilable conjuncts first, in WHERE order. */
	for (size_t i = 0, j = 0; i < g.nconj; i++) {
		if (!g.ok[i])
			continue;
		struct sql_expr *e = g.conj[i];
		unsigned pr = g.probes[i];
		memmove(&g.conj[j + 1], &g.conj[j], (i - j) * sizeof(g.conj[0]));
		memmove(&g.ok[j + 1], &g.ok[j], (i - j) * sizeof(g.ok[0]));
		memmove(&g.probes[j + 1], &g.probes[j], (i - j) * sizeof(g.probes[0]));
		g.conj[j] = e;
		g.ok[j] = true;
		g.probes[j] = pr;
		j++;
	}
	struct sql_cand *c;
	/* A self-join reads one stream for two sides: only the MVSF plan has
	 * that form (no kernel operator of it is verifier-checked yet). A
	 * join of different tables projects and batches in each table's
	 * program; matching stays in user space. */
	if (strategy != SQL_STRATEGY_MVSF && !q->self_join) {
		if (q->ntables > 1) {
			if ((c = new_cand(&g)))
				for (int s = 0; s < q->ntables; s++)
					kernel_side(&g, c, s, 0, false, false);
		} else {
			const struct sql_table *t = q->tables[0];
			bool can_pair = t->pair && t->pair->max_per_key == 1;
			bool agg = aggregate_ok(&g, nok);
			if (!t->pair || can_pair) {
				for (size_t k = nok + 1; k-- > 0;)
					if ((c = new_cand(&g)))
						kernel_side(&g, c, 0, k, can_pair, false);
				if (agg && (c = new_cand(&g)))
					kernel_side(&g, c, 0, nok, can_pair, true);
			}
			if (t->pair && (c = new_cand(&g)))
				kernel_side(&g, c, 0, 0, false, false); /* pairs in user space */
		}
	}
	if ((c = new_cand(&g)))
		snprintf(c->placement, sizeof(c->placement), "MVSF only: every operator @user");
	if (g.err)
		return g.err;
	struct sql_costk k;
	sql_costk_load(&k);
	for (size_t i = 0; i < o->ncands; i++)
		sql_cost_estimate(p, &o->cands[i], pid_filter, &k);
	qsort_r(o->cands, o->ncands, sizeof(*o->cands), cand_cmp, &strategy);
	snprintf(o->costk_source, sizeof(o->costk_source), "%s", k.source);
	p->opt = o;
	return 0;
}

/* ---- judging candidates ---------------------------------------------------- */

/* Source options of side @s of @c. */
static void source_opts(const struct sql_plan *p, const struct sql_cand *c, int s, const bool *needed,
			struct sql_source_opts *so)
{
	memset(so, 0, sizeof(*so));
	so->sz = sizeof(*so);
	so->needed = needed ? needed : p->needed[s];
	so->kspec = c->kernel[s] ? &c->spec[s] : NULL;
	so->pidset_fd = -1;
}

uint64_t sql_cand_fingerprint(const struct sql_plan *p, const struct sql_cand *c)
{
	uint64_t h = 0x9e3779b97f4a7c15ull;
	for (int src = 0; src < sql_query_nsources(p->q); src++) {
		int s = sql_source_side(p->q, src);
		struct sql_source_opts so;
		source_opts(p, c, s, NULL, &so);
		if (c->spec[s].pidset)
			so.pidset_fd = 1007; /* placeholder */
		uint64_t fp;
		char err[256];
		if (sql_source_fingerprint(p->q->tables[s], &so, &fp, err, sizeof(err)))
			return 0;
		h = (h ^ fp) * 0x100000001b3ull;
	}
	return h ? h : 1;
}

/* Records verdict @v of @c (and in the cache, for kernel candidates). */
static void set_verdict(struct sql_cand *c, enum sql_verdict v, const char *reason)
{
	c->verdict = v;
	snprintf(c->reason, sizeof(c->reason), "%s", reason ? reason : "");
	if (!is_mvsf(c))
		sql_vcache_put(c->fingerprint, v, reason);
}

/* The verdict of @c from the cache, when known. */
static bool cached_verdict(const struct sql_plan *p, struct sql_cand *c)
{
	if (is_mvsf(c))
		return false;
	if (!c->fingerprint)
		c->fingerprint = sql_cand_fingerprint(p, c);
	enum sql_verdict v;
	char why[256];
	if (!sql_vcache_get(c->fingerprint, &v, why, sizeof(why)))
		return false;
	c->verdict = v;
	c->cached = true;
	snprintf(c->reason, sizeof(c->reason), "%s", why);
	return true;
}

void sql_opt_verify_all(struct sql_plan *p)
{
	struct sql_opt *o = p->opt;
	if (!o)
		return;
	for (size_t i = 0; i < o->ncands; i++) {
		struct sql_cand *c = &o->cands[i];
		if (cached_verdict(p, c))
			continue;
		bool rejected = false;
		char why[256] = "", err[512] = "";
		enum sql_verdict v = SQL_VERDICT_ACCEPTED;
		for (int src = 0; src < sql_query_nsources(p->q) && v == SQL_VERDICT_ACCEPTED; src++) {
			int s = sql_source_side(p->q, src);
			struct sql_source_opts so;
			source_opts(p, c, s, NULL, &so);
			so.load_only = true;
			so.rejected = &rejected;
			so.reject_why = why;
			so.reject_whysz = sizeof(why);
			struct sql_source *src = sql_source_open(p->q->tables[s], &so, err, sizeof(err));
			if (src)
				sql_source_close(src);
			else
				v = rejected ? SQL_VERDICT_REJECTED : SQL_VERDICT_FAILED;
		}
		set_verdict(c, v, v == SQL_VERDICT_REJECTED ? why : v == SQL_VERDICT_FAILED ? err : NULL);
	}
	for (size_t i = 0; i < o->ncands; i++)
		if (o->cands[i].verdict == SQL_VERDICT_ACCEPTED) {
			sql_opt_choose(p, (int)i);
			return;
		}
}

void sql_opt_choose(struct sql_plan *p, int i)
{
	struct sql_opt *o = p->opt;
	o->chosen = i;
	const struct sql_cand *c = &o->cands[i];
	for (size_t n = 0; n < p->nnodes; n++) {
		struct sql_node *x = &p->nodes[n];
		x->place = SQL_PLACE_USER;
		if (x->kind == SQL_N_FILTER && c->kernel[0] && p->q->ntables == 1 && !c->uq.where)
			x->place = SQL_PLACE_KERNEL;
		if (x->kind == SQL_N_AGGREGATE && c->kernel[0] && c->spec[0].kagg)
			x->place = SQL_PLACE_KERNEL;
		if (x->kind == SQL_N_SCAN && c->kernel[x->side] && c->spec[x->side].kpair)
			x->place = SQL_PLACE_KERNEL;
	}
}

const struct sql_kspec *sql_plan_kspec(const struct sql_plan *p, int side)
{
	const struct sql_opt *o = p->opt;
	if (!o || o->chosen < 0)
		return NULL;
	const struct sql_cand *c = &o->cands[o->chosen];
	return c->kernel[side] ? &c->spec[side] : NULL;
}

static const char *verdict_name(enum sql_verdict v)
{
	switch (v) {
	case SQL_VERDICT_ACCEPTED: return "accepted";
	case SQL_VERDICT_REJECTED: return "rejected";
	case SQL_VERDICT_FAILED: return "not tried";
	default: return "not loaded";
	}
}

void sql_opt_print(const struct sql_plan *p, FILE *f)
{
	const struct sql_opt *o = p->opt;
	if (!o)
		return;
	static const char *const names[] = { "auto", "mvsf", "kernel-max" };
	fprintf(f, "optimizer (--plan %s): candidate plans, cheapest first; the verifier judges each\n",
		names[o->strategy]);
	fprintf(f, "  cost model: %s\n", o->costk_source);
	fprintf(f, "  %-3s %-10s %-8s %-8s %-8s %-9s %s\n", "#", "ns/event", "kernel", "bytes", "user", "verdict",
		"placement");
	for (size_t i = 0; i < o->ncands; i++) {
		const struct sql_cand *c = &o->cands[i];
		fprintf(f, "  %-3zu %-10.1f %-8.1f %-8.1f %-8.1f %-9s %s%s\n", i + 1, c->cost.total, c->cost.kernel,
			c->cost.bytes, c->cost.user, verdict_name(c->verdict), c->placement,
			(int)i == o->chosen ? "   <- chosen" : "");
		if (c->verdict == SQL_VERDICT_REJECTED || c->verdict == SQL_VERDICT_FAILED)
			fprintf(f, "      %s%s: %s\n", c->verdict == SQL_VERDICT_REJECTED ? "verifier" : "reason",
				c->cached ? " (cached)" : "", c->reason[0] ? c->reason : "?");
		else if (c->cached)
			fprintf(f, "      (verdict from the cache for kernel %s)\n", dsl_kernel_release());
	}
	if (o->chosen >= 0)
		fprintf(f, "  chosen: #%d, %s\n", o->chosen + 1, o->cands[o->chosen].placement);
	else
		fprintf(f, "  chosen: decided when the query runs (the cheapest plan the verifier accepts)\n");
}

/* ---- opening the sources of a run ------------------------------------------ */

void sql_opened_close(struct sql_opened *op)
{
	for (int s = 0; s < SQL_MAX_TABLES; s++) {
		if (op->src[s])
			sql_source_close(op->src[s]);
		op->src[s] = NULL;
	}
	sql_kpids_free(op->kpids);
	op->kpids = NULL;
}

int sql_plan_open(struct sql_plan *p, struct sql_arena *a, const struct sql_open_req *req, struct sql_opened *out,
		  char *err, size_t errsz)
{
	const struct sql_query *q = p->q;
	bool pidf = req->pid > 0;
	memset(out, 0, sizeof(*out));
	out->chosen = -1;
	if (!p->opt || p->opt->pid_filter != pidf) {
		int rc = sql_optimize(p, a, p->opt ? p->opt->strategy : SQL_STRATEGY_AUTO, pidf);
		if (rc) {
			snprintf(err, errsz, "out of memory");
			return rc;
		}
	}
	struct sql_opt *o = p->opt;
	/* MVSF with a process filter in user space: the pid and ts columns are read too. */
	bool *mneeded[SQL_MAX_TABLES] = { NULL };
	for (int s = 0; s < q->ntables; s++) {
		const struct sql_table *t = q->tables[s];
		if (!(mneeded[s] = sql_arena_alloc(a, t->ncols * sizeof(bool) + 1)))
			return -ENOMEM;
		memcpy(mneeded[s], p->needed[s], t->ncols * sizeof(bool));
		int pc = req->pidcol_name ? sql_table_column(t, req->pidcol_name) : -1;
		if (pidf && pc < 0) {
			snprintf(err, errsz, "table %s has no %s column: it cannot be filtered by process", t->name,
				 req->pidcol_name ? req->pidcol_name : "pid");
			return -EINVAL;
		}
		if (pidf)
			mneeded[s][pc] = true;
		/* and its time: a traced process's rows end when it exits (query.c) */
		int tc = sql_table_column(t, "ts");
		if (pidf && tc >= 0)
			mneeded[s][tc] = true;
	}
	char kpids_err[256] = "";
	for (size_t i = 0; i < o->ncands; i++) {
		struct sql_cand *c = &o->cands[i];
		bool mvsf = is_mvsf(c);
		if (!mvsf && cached_verdict(p, c) && c->verdict == SQL_VERDICT_REJECTED)
			continue;
		c->cached = false;
		if (!mvsf && pidf && !out->kpids && !kpids_err[0])
			out->kpids = sql_kpids_new(req->pid, req->follow, kpids_err, sizeof(kpids_err));
		if (!mvsf && pidf && !out->kpids) {
			set_verdict(c, SQL_VERDICT_FAILED, kpids_err);
			continue;
		}
		bool rejected = false;
		char why[256] = "";
		int rc = 0;
		out->tried++;
		/* one source reads what any of its sides needs */
		for (int s = 1; s < q->ntables; s++) {
			int first = sql_source_side(q, q->source[s]);
			for (size_t k = 0; first != s && k < q->tables[s]->ncols; k++)
				mneeded[first][k] |= mneeded[s][k];
		}
		for (int src = 0; src < sql_query_nsources(q) && !rc; src++) {
			int s = sql_source_side(q, src);
			struct sql_source_opts so;
			source_opts(p, c, s, mvsf ? mneeded[s] : NULL, &so);
			so.pidset_fd = sql_kpids_fd(out->kpids);
			so.sample_hz = req->sample_hz;
			so.rejected = &rejected;
			so.reject_why = why;
			so.reject_whysz = sizeof(why);
			if (!(out->src[src] = sql_source_open(q->tables[s], &so, err, errsz)))
				rc = errno ? -errno : -EINVAL;
		}
		if (!rc) {
			set_verdict(c, SQL_VERDICT_ACCEPTED, NULL);
			out->uq = &c->uq;
			out->kagg = c->kernel[0] && c->spec[0].kagg;
			out->chosen = (int)i;
			if (mvsf) {
				sql_kpids_free(out->kpids);
				out->kpids = NULL;
			}
			sql_opt_choose(p, (int)i);
			return 0;
		}
		for (int s = 0; s < SQL_MAX_TABLES; s++) {
			if (out->src[s])
				sql_source_close(out->src[s]);
			out->src[s] = NULL;
		}
		set_verdict(c, rejected ? SQL_VERDICT_REJECTED : SQL_VERDICT_FAILED, rejected ? why : err);
		if (mvsf) {
			sql_kpids_free(out->kpids);
			out->kpids = NULL;
			return rc; /* the last resort failed: err says why */
		}
	}
	snprintf(err, errsz, "no plan could be loaded");
	return -EINVAL;
}
