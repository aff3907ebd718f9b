/* rows.c - typed rows for programs that embed the library (safebpf/row.h):
 * converts the executor's values and histograms into struct sbpf_value and
 * hands them to the caller's row callback, reports window ends to its
 * window callback, and describes output columns (kind; grouping key or
 * which aggregate). Also the machine formats shared by the text sinks:
 * RFC 3339 timestamps with nanoseconds and JSON integers that survive
 * parsers using IEEE doubles.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sql/sqlInt.h"

struct sql_rows {
	const struct sql_query *q;      /* columns */
	struct sql_rowcb cb;            /* where rows go */
	struct sbpf_value *vals;        /* one per column */
	struct sbpf_hist *hists;        /* one per column (histogram columns) */
	struct sbpf_hist_bucket *buckets; /* bucket storage of every histogram column */
	size_t nbuckets;                /* allocated entries of buckets */
};

const char *sbpf_value_kind_name(enum sbpf_value_kind k)
{
	static const char *const names[] = {
		[SBPF_VALUE_NULL] = "null", [SBPF_VALUE_U64] = "u64", [SBPF_VALUE_S64] = "s64",
		[SBPF_VALUE_DOUBLE] = "double", [SBPF_VALUE_BOOL] = "bool", [SBPF_VALUE_DURATION] = "duration",
		[SBPF_VALUE_TIME] = "time", [SBPF_VALUE_STR] = "string", [SBPF_VALUE_HIST] = "histogram",
	};
	return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

static enum sbpf_value_kind kind_of(enum sql_type t)
{
	switch (t) {
	case SQL_T_INT: return SBPF_VALUE_S64;
	case SQL_T_UINT: return SBPF_VALUE_U64;
	case SQL_T_TIME: return SBPF_VALUE_TIME;
	case SQL_T_DURATION: return SBPF_VALUE_DURATION;
	case SQL_T_BOOL: return SBPF_VALUE_BOOL;
	case SQL_T_STR: return SBPF_VALUE_STR;
	default: return SBPF_VALUE_NULL;
	}
}

struct sql_rows *sql_rows_new(const struct sql_query *q, const struct sql_rowcb *cb)
{
	struct sql_rows *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->q = q;
	r->cb = *cb;
	size_t n = q->ncols ? q->ncols : 1;
	if (!(r->vals = calloc(n, sizeof(*r->vals))) || !(r->hists = calloc(n, sizeof(*r->hists)))) {
		sql_rows_free(r);
		return NULL;
	}
	return r;
}

void sql_rows_free(struct sql_rows *r)
{
	if (!r)
		return;
	free(r->vals);
	free(r->hists);
	free(r->buckets);
	free(r);
}

/* Fills @out from @h (every bucket, empty ones included) with buckets taken
 * from @store. */
static void convert_hist(const struct sql_hist *h, struct sbpf_hist *out, struct sbpf_hist_bucket *store)
{
	memset(out, 0, sizeof(*out));
	out->linear = h->linear;
	out->duration = h->duration;
	out->nbuckets = h->nbuckets;
	out->buckets = store;
	out->count = h->total;
	out->has_sum = true; /* every plan keeps the sum (kagg.c too) */
	out->sum = (int64_t)h->sum;
	for (size_t i = 0; i < h->nbuckets; i++) {
		struct sbpf_hist_bucket *b = &store[i];
		sql_hist_bounds(h, i, &b->lo, &b->hi);
		b->lo_open = i == 0;
		b->hi_open = h->linear && i == h->nbuckets - 1;
		b->count = h->counts[i];
	}
}

int sql_rows_emit(struct sql_rows *r, const struct sql_value *vals, struct sql_hist *const *hists,
		  uint64_t window_start_ns, int64_t mono_to_real)
{
	const struct sql_query *q = r->q;
	size_t need = 0;
	for (size_t i = 0; i < q->ncols; i++)
		if (q->cols[i].hist && hists && hists[i])
			need += hists[i]->nbuckets;
	if (need > r->nbuckets) {
		struct sbpf_hist_bucket *nb = realloc(r->buckets, need * sizeof(*nb));
		if (!nb)
			return -ENOMEM;
		r->buckets = nb;
		r->nbuckets = need;
	}
	size_t used = 0;
	for (size_t i = 0; i < q->ncols; i++) {
		struct sbpf_value *v = &r->vals[i];
		memset(v, 0, sizeof(*v));
		if (q->cols[i].hist) {
			const struct sql_hist *h = hists ? hists[i] : NULL;
			if (h) {
				convert_hist(h, &r->hists[i], r->buckets + used);
				used += h->nbuckets;
			} else {
				/* A group without values: an empty histogram. */
				memset(&r->hists[i], 0, sizeof(r->hists[i]));
				r->hists[i].linear = q->aggs[q->cols[i].hist - 1].kind == SQL_AGG_LHIST;
				r->hists[i].has_sum = true;
			}
			v->kind = SBPF_VALUE_HIST;
			v->hist = &r->hists[i];
			continue;
		}
		v->kind = kind_of(vals[i].type);
		switch (v->kind) {
		case SBPF_VALUE_STR:
			v->str.ptr = vals[i].s;
			v->str.len = strlen(vals[i].s);
			break;
		case SBPF_VALUE_U64:
			v->u64 = vals[i].u;
			break;
		case SBPF_VALUE_BOOL:
			v->u64 = vals[i].i != 0;
			break;
		case SBPF_VALUE_NULL:
			break;
		default:
			v->s64 = vals[i].i;
			break;
		}
	}
	struct sbpf_row row = {
		.ncols = q->ncols, .vals = r->vals, .window_start_ns = q->window_ns ? window_start_ns : 0,
		.wall_offset_ns = mono_to_real,
	};
	int rc = r->cb.row(r->cb.ctx, &row);
	return rc < 0 ? rc : 0;
}

int sql_rows_window(struct sql_rows *r, const struct sql_window_info *w)
{
	if (!r->cb.window)
		return 0;
	struct sbpf_window sw = {
		.start_ns = w->start_ns, .end_ns = w->end_ns, .rows = w->rows, .events = w->events,
		.lost = w->lost, .evicted = w->evicted, .last = w->last,
	};
	int rc = r->cb.window(r->cb.ctx, &sw);
	return rc < 0 ? rc : 0;
}

/* ---- column metadata ---- */

/* The aggregate a column is exactly (index + 1), or 0 when it is another
 * expression. */
static int plain_agg(const struct sql_outcol *c)
{
	if (c->hist)
		return c->hist;
	return c->e && c->e->kind == SQL_E_AGGREF ? c->e->idx + 1 : 0;
}

/* Whether @e reads an aggregate result. */
static bool uses_agg(const struct sql_expr *e)
{
	if (!e)
		return false;
	if (e->kind == SQL_E_AGGREF)
		return true;
	if (uses_agg(e->a) || uses_agg(e->b) || uses_agg(e->c))
		return true;
	for (size_t i = 0; i < e->nlist; i++)
		if (uses_agg(e->list[i]))
			return true;
	return false;
}

/* Fills @info for output column @i of @q. */
static void col_info(const struct sql_query *q, size_t i, struct sbpf_col_info *info)
{
	const struct sql_outcol *c = &q->cols[i];
	info->name = c->name;
	info->kind = c->hist ? SBPF_VALUE_HIST : kind_of(c->type);
	if (!q->aggregate) {
		info->role = SBPF_COL_VALUE;
		return;
	}
	int a = plain_agg(c);
	if (!a) {
		info->role = uses_agg(c->e) ? SBPF_COL_EXPR : SBPF_COL_KEY;
		return;
	}
	const struct sql_agg *g = &q->aggs[a - 1];
	static const enum sbpf_col_role roles[] = {
		[SQL_AGG_COUNT] = SBPF_COL_COUNT, [SQL_AGG_SUM] = SBPF_COL_SUM, [SQL_AGG_MIN] = SBPF_COL_MIN,
		[SQL_AGG_MAX] = SBPF_COL_MAX, [SQL_AGG_AVG] = SBPF_COL_AVG, [SQL_AGG_HIST] = SBPF_COL_HIST,
		[SQL_AGG_LHIST] = SBPF_COL_LHIST, [SQL_AGG_QUANTILE] = SBPF_COL_QUANTILE,
		[SQL_AGG_COUNT_DISTINCT] = SBPF_COL_COUNT_DISTINCT,
	};
	info->role = roles[g->kind];
	info->ppm = g->kind == SQL_AGG_QUANTILE ? g->ppm : 0;
	info->permille = (int)(info->ppm / 1000);
	info->unsigned_arg = g->arg && g->arg->type == SQL_T_UINT;
	info->arg_kind = g->arg ? kind_of(g->arg->type) : SBPF_VALUE_NULL;
}

/* A caller built against an older row.h passes a smaller sz: only that
 * much of *info is written (every field up to arg_kind is required). */
int sql_col_info(const struct sql_query *q, size_t i, struct sbpf_col_info *info)
{
	if (i >= q->ncols || !info || info->sz < offsetof(struct sbpf_col_info, arg_kind) + sizeof(info->arg_kind))
		return -EINVAL;
	struct sbpf_col_info full = { .sz = info->sz };
	col_info(q, i, &full);
	memcpy(info, &full, info->sz < sizeof(full) ? info->sz : sizeof(full));
	return 0;
}

/* ---- machine formats ---- */

void sql_fmt_rfc3339(uint64_t real_ns, char *buf, size_t sz)
{
	time_t sec = (time_t)(real_ns / 1000000000u);
	struct tm tm;
	gmtime_r(&sec, &tm);
	size_t n = strftime(buf, sz, "%Y-%m-%dT%H:%M:%S", &tm);
	if (n < sz)
		snprintf(buf + n, sz - n, ".%09" PRIu64 "Z", real_ns % 1000000000u);
}

#define JSON_EXACT (UINT64_C(1) << 53) /* largest magnitude every double holds exactly */

void sql_json_u64(uint64_t v, char *buf, size_t sz)
{
	snprintf(buf, sz, v > JSON_EXACT ? "\"%" PRIu64 "\"" : "%" PRIu64, v);
}

void sql_json_s64(int64_t v, char *buf, size_t sz)
{
	uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	snprintf(buf, sz, mag > JSON_EXACT ? "\"%" PRId64 "\"" : "%" PRId64, v);
}
