/* window.c - the output stage of the executor, per tumbling window (or per
 * run without WINDOW): the group table (hash table of GROUP BY keys with
 * their aggregate states), HAVING, DISTINCT, ORDER BY and LIMIT, and the
 * hand-over of finished rows to the sink. Three modes:
 *   stream  - rows leave at once (no aggregate, no ORDER BY); LIMIT counts
 *             per window; SELECT DISTINCT emits each new row when first seen;
 *   buffer  - ORDER BY without aggregates: projected rows are kept, sorted
 *             and cut to LIMIT when the window closes;
 *   group   - aggregates: groups are kept and emitted when the window closes.
 * All state is bounded (SQL_MAX_GROUPS, SQL_MAX_BUFFERED); rows refused by a
 * full table are counted as evicted.
 *
 * A sliding window (WINDOW 10s EVERY 1s) is a shell around tumbling
 * windows of one step each: rows go into the current step; when a step
 * closes it joins a ring of the last WINDOW/EVERY steps (a buffered step
 * is first cut to its ORDER BY ... LIMIT), and the result is made by
 * merging the ring's groups (sql_agg_merge: every aggregate state merges,
 * quantile histograms and COUNT(DISTINCT) sets included) or copying its
 * rows, oldest step first, into an output window that is then flushed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sql/sqlInt.h"

struct group {
	uint64_t hash;              /* hash of the keys */
	uint32_t next;              /* next group in the bucket chain (index + 1), 0: end */
	struct sql_value *keys;     /* key values (strings in the window arena) */
	struct sql_aggstate *st;    /* one state per aggregate */
};

/* A finished output row waiting for ORDER BY / LIMIT. */
struct rec {
	struct sql_value *vals;     /* output columns */
	struct sql_value *sort;     /* sort keys */
	struct sql_hist **hists;    /* per column histogram (NULL without HIST columns) */
	uint64_t seq;               /* arrival order (stable sort) */
};

struct sql_win {
	const struct sql_query *q;  /* bound query */
	struct sql_sink *sink;      /* output */
	struct sql_arena arena;     /* strings and records of this window */
	bool streaming;             /* rows leave at once */
	bool grouped;               /* group table in use */
	bool hists;                 /* some column is a histogram */
	/* group table */
	struct group *groups;       /* in insertion order */
	size_t ngroups, gcap;       /* groups used / allocated */
	uint32_t *buckets;          /* group index + 1 per bucket, 0: empty */
	size_t nbuckets;            /* power of two */
	struct sql_value *tmpkeys;  /* keys of the row being grouped */
	/* buffered rows */
	struct rec *recs;           /* finished rows of this window */
	size_t nrecs, rcap;         /* used / allocated */
	uint64_t seq;               /* records made this window */
	uint64_t emitted;           /* rows emitted this window */
	uint64_t evicted;           /* rows refused by full tables, since start */
	/* sliding window (q->every_ns): this window is a shell */
	struct sql_win *cur;        /* the step rows go to now (NULL: tumbling) */
	struct sql_win **steps;     /* ring of the last closed steps (NULL: not yet) */
	size_t nsteps, pos;         /* ring size (WINDOW / EVERY), oldest slot */
	struct sql_win *out;        /* merged result of the ring, emitted */
};

static struct sql_win *win_new(const struct sql_query *q, struct sql_sink *sink);

static bool has_hists(const struct sql_query *q)
{
	for (size_t i = 0; i < q->ncols; i++)
		if (q->cols[i].hist)
			return true;
	return false;
}

struct sql_win *sql_win_new(const struct sql_query *q, struct sql_sink *sink)
{
	if (!q->every_ns || !q->window_ns)
		return win_new(q, sink);
	struct sql_win *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->q = q;
	w->sink = sink;
	w->nsteps = (size_t)(q->window_ns / q->every_ns);
	if (!(w->steps = calloc(w->nsteps, sizeof(*w->steps))) || !(w->cur = win_new(q, sink)) ||
	    !(w->out = win_new(q, sink))) {
		sql_win_free(w);
		return NULL;
	}
	return w;
}

/* A tumbling window (or one step of a sliding window). */
static struct sql_win *win_new(const struct sql_query *q, struct sql_sink *sink)
{
	struct sql_win *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->q = q;
	w->sink = sink;
	w->streaming = sql_query_streaming(q);
	w->grouped = q->aggregate || q->distinct_groups;
	w->hists = has_hists(q);
	if (q->nkeys && !(w->tmpkeys = calloc(q->nkeys, sizeof(*w->tmpkeys)))) {
		free(w);
		return NULL;
	}
	return w;
}

/* Copy of @v whose string (if any) lives in the window arena. */
static int keep(struct sql_win *w, struct sql_value *dst, const struct sql_value *v)
{
	*dst = *v;
	if (v->type == SQL_T_STR && !(dst->s = sql_arena_strndup(&w->arena, v->s, strlen(v->s))))
		return -ENOMEM;
	return 0;
}

/* ---- group table ---- */

static int grow_buckets(struct sql_win *w)
{
	size_t n = w->nbuckets ? w->nbuckets * 2 : 64;
	uint32_t *b = calloc(n, sizeof(*b));
	if (!b)
		return -ENOMEM;
	free(w->buckets);
	w->buckets = b;
	w->nbuckets = n;
	for (size_t i = 0; i < w->ngroups; i++) {
		struct group *g = &w->groups[i];
		size_t h = g->hash & (n - 1);
		g->next = b[h];
		b[h] = (uint32_t)(i + 1);
	}
	return 0;
}

/* The group of @keys, created when new (@created set). NULL with *rc = 0 when
 * the table is full (counted), or with *rc < 0 on allocation failure. */
static struct group *find_group(struct sql_win *w, const struct sql_value *keys, bool *created, int *rc)
{
	const struct sql_query *q = w->q;
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < q->nkeys; i++)
		h = sql_value_hash(&keys[i], h);
	*created = false;
	*rc = 0;
	if (w->nbuckets) {
		for (uint32_t gi = w->buckets[h & (w->nbuckets - 1)]; gi; gi = w->groups[gi - 1].next) {
			struct group *g = &w->groups[gi - 1];
			if (g->hash != h)
				continue;
			size_t i;
			for (i = 0; i < q->nkeys; i++)
				if (!sql_value_eq(&keys[i], &g->keys[i]))
					break;
			if (i == q->nkeys)
				return g;
		}
	}
	if (w->ngroups >= SQL_MAX_GROUPS) {
		w->evicted++;
		return NULL;
	}
	if (w->ngroups == w->gcap) {
		size_t ncap = w->gcap ? w->gcap * 2 : 64;
		struct group *ng = realloc(w->groups, ncap * sizeof(*ng));
		if (!ng)
			goto nomem;
		w->groups = ng;
		w->gcap = ncap;
	}
	if (w->ngroups + 1 > w->nbuckets / 2 && grow_buckets(w))
		goto nomem;
	struct group *g = &w->groups[w->ngroups];
	memset(g, 0, sizeof(*g));
	g->hash = h;
	if ((q->nkeys && !(g->keys = sql_arena_alloc(&w->arena, q->nkeys * sizeof(*g->keys)))) ||
	    (q->naggs && !(g->st = calloc(q->naggs, sizeof(*g->st)))))
		goto nomem;
	for (size_t i = 0; i < q->nkeys; i++)
		if (keep(w, &g->keys[i], &keys[i]))
			goto nomem_g;
	size_t b = h & (w->nbuckets - 1);
	g->next = w->buckets[b];
	w->buckets[b] = (uint32_t)(++w->ngroups);
	*created = true;
	return g;
nomem_g:
	free(g->st);
nomem:
	*rc = -ENOMEM;
	return NULL;
}

/* Aggregate results of @g into @out (q->naggs values). */
static void results(const struct sql_query *q, const struct group *g, struct sql_value *out)
{
	static const struct sql_aggstate empty;
	for (size_t i = 0; i < q->naggs; i++)
		out[i] = sql_agg_result(&q->aggs[i], g->st ? &g->st[i] : &empty);
}

/* ---- records ---- */

/* Makes the record of the current context: output columns and sort keys
 * (strings copied into the window arena). NULL when out of memory. */
static struct rec *make_rec(struct sql_win *w, struct sql_evalctx *c, const struct group *g)
{
	const struct sql_query *q = w->q;
	if (w->nrecs == w->rcap) {
		size_t ncap = w->rcap ? w->rcap * 2 : 64;
		struct rec *nr = realloc(w->recs, ncap * sizeof(*nr));
		if (!nr)
			return NULL;
		w->recs = nr;
		w->rcap = ncap;
	}
	struct rec *r = &w->recs[w->nrecs];
	memset(r, 0, sizeof(*r));
	r->seq = w->seq++;
	if (!(r->vals = sql_arena_alloc(&w->arena, (q->ncols + q->norder) * sizeof(*r->vals))))
		return NULL;
	r->sort = r->vals + q->ncols;
	for (size_t i = 0; i < q->ncols; i++) {
		struct sql_value v = q->cols[i].hist ? (struct sql_value){ .type = SQL_T_NULL } : sql_eval(c, q->cols[i].e);
		if (keep(w, &r->vals[i], &v))
			return NULL;
	}
	for (size_t i = 0; i < q->norder; i++) {
		struct sql_value v = sql_eval(c, q->order[i].e);
		if (keep(w, &r->sort[i], &v))
			return NULL;
	}
	if (w->hists && g) {
		if (!(r->hists = sql_arena_alloc(&w->arena, q->ncols * sizeof(*r->hists))))
			return NULL;
		for (size_t i = 0; i < q->ncols; i++)
			if (q->cols[i].hist && g->st)
				r->hists[i] = g->st[q->cols[i].hist - 1].hist;
	}
	w->nrecs++;
	return r;
}

static int rec_cmp(const void *pa, const void *pb, void *ctx)
{
	const struct sql_query *q = ctx;
	const struct rec *a = pa, *b = pb;
	for (size_t i = 0; i < q->norder; i++) {
		int c = sql_value_cmp(&a->sort[i], &b->sort[i]);
		if (c)
			return q->order[i].desc ? -c : c;
	}
	return (a->seq > b->seq) - (a->seq < b->seq);
}

static int rec_vals_cmp(const void *pa, const void *pb, void *ctx)
{
	const struct sql_query *q = ctx;
	const struct rec *a = pa, *b = pb;
	for (size_t i = 0; i < q->ncols; i++) {
		int c = sql_value_cmp(&a->vals[i], &b->vals[i]);
		if (c)
			return c;
	}
	return (a->seq > b->seq) - (a->seq < b->seq);
}

/* DISTINCT over finished rows (aggregate queries): keeps the first of equal
 * rows, in arrival order. */
static void dedupe(struct sql_win *w)
{
	const struct sql_query *q = w->q;
	if (w->nrecs < 2)
		return;
	qsort_r(w->recs, w->nrecs, sizeof(*w->recs), rec_vals_cmp, (void *)q);
	size_t k = 1;
	for (size_t i = 1; i < w->nrecs; i++) {
		struct rec *prev = &w->recs[k - 1];
		size_t c;
		for (c = 0; c < q->ncols; c++)
			if (sql_value_cmp(&prev->vals[c], &w->recs[i].vals[c]))
				break;
		if (c < q->ncols)
			w->recs[k++] = w->recs[i];
	}
	w->nrecs = k;
	/* Back to arrival order for the unsorted case. */
	qsort_r(w->recs, w->nrecs, sizeof(*w->recs), rec_cmp, (void *)q);
}

/* Sorts and keeps the first LIMIT records. */
static void sort_and_cut(struct sql_win *w)
{
	const struct sql_query *q = w->q;
	if (q->norder && w->nrecs > 1)
		qsort_r(w->recs, w->nrecs, sizeof(*w->recs), rec_cmp, (void *)q);
	if (q->limit >= 0 && w->nrecs > (uint64_t)q->limit)
		w->nrecs = (size_t)q->limit;
}

static int emit(struct sql_win *w, const struct sql_value *vals, struct sql_hist *const *hists)
{
	w->emitted++;
	return sql_sink_row(w->sink, vals, hists);
}

/* Streaming: project and emit at once. Returns 1 when LIMIT is reached. */
static int stream_row(struct sql_win *w, struct sql_evalctx *c)
{
	const struct sql_query *q = w->q;
	if (q->limit >= 0 && w->emitted >= (uint64_t)q->limit)
		return 1;
	struct sql_value vals[q->ncols ? q->ncols : 1];
	for (size_t i = 0; i < q->ncols; i++)
		vals[i] = sql_eval(c, q->cols[i].e);
	int rc = emit(w, vals, NULL);
	if (rc)
		return rc;
	return q->limit >= 0 && w->emitted >= (uint64_t)q->limit;
}

int sql_win_row(struct sql_win *w, struct sql_evalctx *c)
{
	if (w->cur)
		w = w->cur;
	const struct sql_query *q = w->q;
	if (!w->grouped) {
		if (w->streaming)
			return stream_row(w, c);
		if (w->nrecs >= SQL_MAX_BUFFERED) {
			w->evicted++;
			return 0;
		}
		if (!make_rec(w, c, NULL))
			return -ENOMEM;
		/* With LIMIT, keep the buffer near the limit. */
		if (q->limit >= 0 && w->nrecs >= 2 * (size_t)q->limit + 1024)
			sort_and_cut(w);
		return 0;
	}
	if (w->streaming && q->limit >= 0 && w->emitted >= (uint64_t)q->limit)
		return 1;
	for (size_t i = 0; i < q->nkeys; i++)
		w->tmpkeys[i] = sql_eval(c, q->keys[i]);
	bool created;
	int rc;
	struct group *g = find_group(w, w->tmpkeys, &created, &rc);
	if (!g)
		return rc;
	for (size_t i = 0; i < q->naggs; i++) {
		const struct sql_agg *a = &q->aggs[i];
		struct sql_value v = a->arg ? sql_eval(c, a->arg) : (struct sql_value){ .type = SQL_T_NULL };
		if (sql_agg_step(a, &g->st[i], &v))
			return -ENOMEM;
	}
	if (w->streaming && created) {
		/* SELECT DISTINCT: a new row. */
		struct sql_evalctx gc = { .keys = g->keys, .scratch = c->scratch };
		struct sql_value vals[q->ncols ? q->ncols : 1];
		for (size_t i = 0; i < q->ncols; i++)
			vals[i] = sql_eval(&gc, q->cols[i].e);
		if ((rc = emit(w, vals, NULL)))
			return rc;
		return q->limit >= 0 && w->emitted >= (uint64_t)q->limit;
	}
	return 0;
}

static void reset(struct sql_win *w)
{
	for (size_t i = 0; i < w->ngroups; i++) {
		for (size_t a = 0; w->groups[i].st && a < w->q->naggs; a++)
			sql_agg_free(&w->groups[i].st[a]);
		free(w->groups[i].st);
	}
	w->ngroups = 0;
	if (w->buckets)
		memset(w->buckets, 0, w->nbuckets * sizeof(*w->buckets));
	w->nrecs = 0;
	w->seq = 0;
	w->emitted = 0;
	sql_arena_reset(&w->arena);
}

/* Adds the closed step @s to the output window @o: its groups merge into
 * @o's (created as needed, strings copied), its buffered rows are copied.
 * 0 or -ENOMEM; what a full @o refuses is counted as evicted there. */
static int absorb(struct sql_win *o, const struct sql_win *s)
{
	const struct sql_query *q = o->q;
	int rc = 0;
	if (o->grouped) {
		for (size_t i = 0; i < s->ngroups; i++) {
			const struct group *g = &s->groups[i];
			bool created;
			struct group *d = find_group(o, g->keys, &created, &rc);
			if (!d) {
				if (rc)
					return rc;
				continue;
			}
			for (size_t a = 0; g->st && a < q->naggs; a++)
				if ((rc = sql_agg_merge(&q->aggs[a], &d->st[a], &g->st[a])))
					return rc;
		}
		return 0;
	}
	for (size_t i = 0; i < s->nrecs; i++) {
		if (o->nrecs >= SQL_MAX_BUFFERED) {
			o->evicted++;
			continue;
		}
		if (o->nrecs == o->rcap) {
			size_t ncap = o->rcap ? o->rcap * 2 : 64;
			struct rec *nr = realloc(o->recs, ncap * sizeof(*nr));
			if (!nr)
				return -ENOMEM;
			o->recs = nr;
			o->rcap = ncap;
		}
		const struct rec *from = &s->recs[i];
		struct rec *r = &o->recs[o->nrecs];
		memset(r, 0, sizeof(*r));
		r->seq = o->seq++;
		if (!(r->vals = sql_arena_alloc(&o->arena, (q->ncols + q->norder) * sizeof(*r->vals))))
			return -ENOMEM;
		r->sort = r->vals + q->ncols;
		for (size_t k = 0; k < q->ncols + q->norder; k++)
			if (keep(o, &r->vals[k], &from->vals[k]))
				return -ENOMEM;
		o->nrecs++;
	}
	return 0;
}

static int64_t flush(struct sql_win *w);

/* Sliding window: the current step joins the ring (replacing the oldest,
 * which becomes the next current step), and the ring's merge is emitted. */
static int64_t slide(struct sql_win *w)
{
	struct sql_win *step = w->cur;
	if (!step->grouped)
		sort_and_cut(step); /* the union's first LIMIT rows are among the steps' */
	struct sql_win *old = w->steps[w->pos];
	if (old)
		reset(old);
	else if (!(old = win_new(w->q, w->sink)))
		return -ENOMEM;
	w->steps[w->pos] = step;
	w->cur = old;
	w->pos = (w->pos + 1) % w->nsteps;
	int rc = 0;
	for (size_t k = 0; k < w->nsteps && !rc; k++) {
		const struct sql_win *s = w->steps[(w->pos + k) % w->nsteps];
		if (s)
			rc = absorb(w->out, s);
	}
	if (rc) {
		reset(w->out);
		return rc;
	}
	return flush(w->out);
}

int64_t sql_win_flush(struct sql_win *w)
{
	return w->cur ? slide(w) : flush(w);
}

static int64_t flush(struct sql_win *w)
{
	const struct sql_query *q = w->q;
	int rc = 0;
	if (w->grouped && !w->streaming) {
		/* An aggregate without GROUP BY yields one row even for no input. */
		if (!q->nkeys && !w->ngroups) {
			bool created;
			if (!find_group(w, NULL, &created, &rc))
				goto out;
		}
		struct sql_value *aggs = calloc(q->naggs ? q->naggs : 1, sizeof(*aggs));
		if (!aggs) {
			rc = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < w->ngroups; i++) {
			struct group *g = &w->groups[i];
			results(q, g, aggs);
			struct sql_evalctx gc = { .keys = g->keys, .aggs = aggs, .scratch = &w->arena };
			if (q->having && !sql_eval_true(&gc, q->having))
				continue;
			if (!make_rec(w, &gc, g)) {
				rc = -ENOMEM;
				break;
			}
		}
		free(aggs);
		if (rc)
			goto out;
		if (q->distinct)
			dedupe(w);
	}
	sort_and_cut(w);
	for (size_t i = 0; i < w->nrecs && !rc; i++)
		rc = emit(w, w->recs[i].vals, w->recs[i].hists);
out:;
	int64_t n = (int64_t)w->emitted;
	reset(w);
	return rc ? rc : n;
}

uint64_t sql_win_evicted(const struct sql_win *w)
{
	uint64_t n = w->evicted;
	if (w->cur)
		n += sql_win_evicted(w->cur) + sql_win_evicted(w->out);
	for (size_t i = 0; w->steps && i < w->nsteps; i++)
		if (w->steps[i])
			n += sql_win_evicted(w->steps[i]);
	return n;
}

void sql_win_free(struct sql_win *w)
{
	if (!w)
		return;
	for (size_t i = 0; w->steps && i < w->nsteps; i++)
		sql_win_free(w->steps[i]);
	free(w->steps);
	sql_win_free(w->cur);
	sql_win_free(w->out);
	reset(w);
	free(w->groups);
	free(w->buckets);
	free(w->recs);
	free(w->tmpkeys);
	free(w);
}

/* ---- kernel aggregation (optimize.c) ---- */

int sql_win_merge(struct sql_win *w, struct sql_evalctx *c, const struct sql_aggstate *st)
{
	if (w->cur)
		w = w->cur;
	const struct sql_query *q = w->q;
	if (!w->grouped || w->streaming)
		return -EINVAL;
	for (size_t i = 0; i < q->nkeys; i++)
		w->tmpkeys[i] = sql_eval(c, q->keys[i]);
	bool created;
	int rc;
	struct group *g = find_group(w, w->tmpkeys, &created, &rc);
	if (!g)
		return rc;
	for (size_t i = 0; i < q->naggs; i++)
		if ((rc = sql_agg_merge(&q->aggs[i], &g->st[i], &st[i])))
			return rc;
	return 0;
}
