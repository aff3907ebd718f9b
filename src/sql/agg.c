/* agg.c - aggregate functions: per-group state, folding a value in, and the
 * final result. Owns the histograms: log2 (HIST), linear (LHIST), and the
 * log-linear histogram behind P50..P99, whose accuracy bound is:
 *
 *   values |v| < 64 are counted exactly; above, each power of two [2^e, 2^(e+1))
 *   is split into 64 equal buckets of width w = 2^(e-6). A quantile returns the
 *   middle of the bucket holding the exact value v of rank ceil(q*n), so the
 *   error is at most w/2 <= 2^(e-7) <= v/128: within 0.79% of v. The estimate
 *   is then clamped to the smallest and largest value seen, which can only
 *   bring it closer to v.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sql/sqlInt.h"

#define QSUB (1u << SQL_QSUB_BITS)                 /* buckets per block */
#define QBLOCKS (64 - SQL_QSUB_BITS + 1)           /* block 0 exact, then one per exponent */

/* ---- log-linear histogram ---- */

static void qindex(uint64_t a, unsigned *block, unsigned *sub)
{
	if (a < QSUB) {
		*block = 0;
		*sub = (unsigned)a;
		return;
	}
	unsigned e = 63u - (unsigned)__builtin_clzll(a);        /* e >= SQL_QSUB_BITS */
	*block = e - SQL_QSUB_BITS + 1;
	*sub = (unsigned)(a >> (e - SQL_QSUB_BITS)) - QSUB;
}

/* Middle of bucket (block, sub), as a magnitude. */
static uint64_t qvalue(unsigned block, unsigned sub)
{
	if (block == 0)
		return sub;
	unsigned shift = block - 1;                          /* e - SQL_QSUB_BITS */
	uint64_t lo = ((uint64_t)QSUB + sub) << shift;
	return lo + ((1ull << shift) >> 1);
}

int sql_qhist_add(struct sql_qhist *h, int64_t v)
{
	uint64_t a = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	unsigned block, sub;
	qindex(a, &block, &sub);
	uint64_t **blocks = v < 0 ? h->neg : h->pos;
	if (!blocks[block] && !(blocks[block] = calloc(QSUB, sizeof(uint64_t))))
		return -ENOMEM;
	blocks[block][sub]++;
	if (!h->n || v < h->min)
		h->min = v;
	if (!h->n || v > h->max)
		h->max = v;
	h->n++;
	return 0;
}

/* The true value lies in [min, max], so clamping only moves an estimate closer. */
static int64_t clamp(const struct sql_qhist *h, int64_t v)
{
	return v < h->min ? h->min : v > h->max ? h->max : v;
}

bool sql_qhist_quantile(const struct sql_qhist *h, uint32_t ppm, int64_t *out)
{
	if (!h->n)
		return false;
	/* rank = ceil(n * q), at least 1 */
	unsigned __int128 r = ((unsigned __int128)h->n * ppm + 999999) / 1000000;
	uint64_t rank = r ? (uint64_t)r : 1, seen = 0;
	/* Negative values first, largest magnitude first. */
	for (int b = QBLOCKS - 1; b >= 0; b--) {
		if (!h->neg[b])
			continue;
		for (int s = QSUB - 1; s >= 0; s--) {
			seen += h->neg[b][s];
			if (seen >= rank) {
				*out = clamp(h, (int64_t)(0 - qvalue((unsigned)b, (unsigned)s)));
				return true;
			}
		}
	}
	for (unsigned b = 0; b < QBLOCKS; b++) {
		if (!h->pos[b])
			continue;
		for (unsigned s = 0; s < QSUB; s++) {
			seen += h->pos[b][s];
			if (seen >= rank) {
				uint64_t v = qvalue(b, s);
				*out = clamp(h, v > INT64_MAX ? INT64_MAX : (int64_t)v);
				return true;
			}
		}
	}
	return false;
}

void sql_qhist_free(struct sql_qhist *h)
{
	for (unsigned b = 0; b < QBLOCKS; b++) {
		free(h->pos[b]);
		free(h->neg[b]);
	}
	memset(h, 0, sizeof(*h));
}

/* ---- log2 and linear histograms ---- */

static struct sql_hist *hist_new(const struct sql_agg *a)
{
	struct sql_hist *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->duration = a->arg && a->arg->type == SQL_T_DURATION;
	if (a->kind == SQL_AGG_LHIST) {
		h->linear = true;
		h->min = a->lmin;
		h->max = a->lmax;
		h->step = a->lstep;
		uint64_t span = (uint64_t)a->lmax - (uint64_t)a->lmin;
		h->nbuckets = (size_t)((span + (uint64_t)a->lstep - 1) / (uint64_t)a->lstep) + 2;
	} else {
		h->nbuckets = SQL_HIST_LOG2_BUCKETS;
	}
	if (!(h->counts = calloc(h->nbuckets, sizeof(*h->counts)))) {
		free(h);
		return NULL;
	}
	return h;
}

static size_t hist_index(const struct sql_hist *h, const struct sql_value *v)
{
	if (h->linear) {
		int64_t x = v->type == SQL_T_UINT && v->u > INT64_MAX ? INT64_MAX : v->i;
		if (x < h->min)
			return 0;
		if (x >= h->max)
			return h->nbuckets - 1;
		return 1 + (size_t)(((uint64_t)x - (uint64_t)h->min) / (uint64_t)h->step);
	}
	uint64_t u;
	if (v->type == SQL_T_UINT) {
		u = v->u;
	} else {
		if (v->i < 0)
			return 0;
		u = (uint64_t)v->i;
	}
	if (u == 0)
		return 1;
	return 2 + (size_t)(63 - __builtin_clzll(u));
}

void sql_hist_bounds(const struct sql_hist *h, size_t i, int64_t *lo, int64_t *hi)
{
	if (h->linear) {
		if (i == 0) {
			*lo = INT64_MIN;
			*hi = h->min;
		} else if (i == h->nbuckets - 1) {
			*lo = h->max;
			*hi = INT64_MAX;
		} else {
			*lo = h->min + (int64_t)(i - 1) * h->step;
			int64_t top = *lo + h->step;
			*hi = top > h->max ? h->max : top;
		}
		return;
	}
	if (i == 0) {
		*lo = INT64_MIN;
		*hi = 0;
	} else if (i == 1) {
		*lo = 0;
		*hi = 1;
	} else {
		*lo = (int64_t)(1ull << (i - 2));
		*hi = i - 1 >= 63 ? INT64_MAX : (int64_t)(1ull << (i - 1));
	}
}

/* ---- COUNT(DISTINCT x): an exact set of values --------------------------- */

/* Open addressing over (type, bits or string); strings are copied. A set
 * holds at most SQL_MAX_DISTINCT values: one more fails the step, which
 * ends the query with an error rather than a count that is silently low. */
struct sql_valset {
	struct sql_value *v;     /* slots; type SQL_T_NULL: empty */
	size_t n, cap;           /* values held, slots (a power of two) */
};

static uint64_t value_hash(const struct sql_value *v)
{
	uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)v->type;
	if (v->type == SQL_T_STR) {
		for (const unsigned char *s = (const unsigned char *)v->s; *s; s++)
			h = (h ^ *s) * 0x100000001b3ull;
	} else {
		h = (h ^ v->u) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 29;
	}
	return h;
}

static bool value_same(const struct sql_value *a, const struct sql_value *b)
{
	if (a->type != b->type)
		return false;
	return a->type == SQL_T_STR ? !strcmp(a->s, b->s) : a->u == b->u;
}

/* Slot of @v in @set: its own, or the empty one where it would go. */
static struct sql_value *valset_slot(const struct sql_valset *set, const struct sql_value *v)
{
	size_t i = (size_t)value_hash(v) & (set->cap - 1);
	while (set->v[i].type != SQL_T_NULL && !value_same(&set->v[i], v))
		i = (i + 1) & (set->cap - 1);
	return &set->v[i];
}

static int valset_grow(struct sql_valset *set)
{
	struct sql_valset bigger = { .cap = set->cap ? set->cap * 2 : 16 };
	if (!(bigger.v = calloc(bigger.cap, sizeof(*bigger.v))))
		return -ENOMEM;
	for (size_t i = 0; i < set->cap; i++)
		if (set->v[i].type != SQL_T_NULL)
			*valset_slot(&bigger, &set->v[i]) = set->v[i];
	free(set->v);
	set->v = bigger.v;
	set->cap = bigger.cap;
	return 0;
}

/* Adds @v (not NULL); returns 0 or -ENOMEM (out of memory, or the set full). */
static int valset_add(struct sql_valset *set, const struct sql_value *v)
{
	if ((set->n + 1) * 4 > set->cap * 3 && valset_grow(set))
		return -ENOMEM;
	struct sql_value *slot = valset_slot(set, v);
	if (slot->type != SQL_T_NULL)
		return 0;
	if (set->n >= SQL_MAX_DISTINCT)
		return -ENOMEM;
	*slot = *v;
	if (v->type == SQL_T_STR && !(slot->s = strdup(v->s))) {
		slot->type = SQL_T_NULL;
		return -ENOMEM;
	}
	set->n++;
	return 0;
}

static void valset_free(struct sql_valset *set)
{
	for (size_t i = 0; i < set->cap; i++)
		if (set->v[i].type == SQL_T_STR)
			free((char *)set->v[i].s);
	free(set->v);
	free(set);
}

/* ---- aggregates ---- */

static bool is_unsigned(const struct sql_agg *a)
{
	return a->type == SQL_T_UINT;
}

/* Adds @x (s64 when @sgn) to the 128-bit sum (hi:u) of an AVG, so that the
 * mean is exact whatever the sum: the carry out of the low half, and for a
 * negative s64 its sign extension into the high half. kagg.c emits the same
 * steps in eBPF. */
static void avg_add(struct sql_aggstate *s, uint64_t x, bool sgn)
{
	s->u += x;
	s->hi += (s->u < x) + (sgn && (int64_t)x < 0 ? UINT64_MAX : 0);
}

int sql_agg_step(const struct sql_agg *a, struct sql_aggstate *s, const struct sql_value *v)
{
	if (a->kind == SQL_AGG_COUNT && !a->arg) {
		s->n++;
		return 0;
	}
	if (!v || v->type == SQL_T_NULL)
		return 0;
	switch (a->kind) {
	case SQL_AGG_COUNT:
		break;
	case SQL_AGG_SUM:
		s->u += v->u; /* two's complement: the same bits for signed and unsigned */
		break;
	case SQL_AGG_AVG:
		avg_add(s, v->u, !is_unsigned(a));
		break;
	case SQL_AGG_MIN:
	case SQL_AGG_MAX: {
		bool take;
		if (!s->n)
			take = true;
		else if (is_unsigned(a))
			take = a->kind == SQL_AGG_MIN ? v->u < s->u : v->u > s->u;
		else
			take = a->kind == SQL_AGG_MIN ? v->i < (int64_t)s->u : v->i > (int64_t)s->u;
		if (take)
			s->u = v->u;
		break;
	}
	case SQL_AGG_HIST:
	case SQL_AGG_LHIST:
		if (!s->hist && !(s->hist = hist_new(a)))
			return -ENOMEM;
		s->hist->counts[hist_index(s->hist, v)]++;
		s->hist->total++;
		s->hist->sum += v->u;
		break;
	case SQL_AGG_QUANTILE:
		if (!s->q && !(s->q = calloc(1, sizeof(*s->q))))
			return -ENOMEM;
		if (sql_qhist_add(s->q, v->type == SQL_T_UINT && v->u > INT64_MAX ? INT64_MAX : v->i))
			return -ENOMEM;
		break;
	case SQL_AGG_COUNT_DISTINCT:
		if (!s->set && !(s->set = calloc(1, sizeof(*s->set))))
			return -ENOMEM;
		return valset_add(s->set, v); /* the count is the set's size */
	}
	s->n++;
	return 0;
}

struct sql_value sql_agg_result(const struct sql_agg *a, const struct sql_aggstate *s)
{
	struct sql_value r = { .type = SQL_T_NULL };
	switch (a->kind) {
	case SQL_AGG_COUNT:
		r.type = SQL_T_INT;
		r.i = (int64_t)s->n;
		break;
	case SQL_AGG_SUM:
	case SQL_AGG_MIN:
	case SQL_AGG_MAX:
		if (s->n) {
			r.type = a->type;
			r.u = s->u;
		}
		break;
	case SQL_AGG_AVG:
		if (s->n) {
			r.type = a->type;
			/* the mean of 64-bit values fits in 64 bits; the sum need not */
			unsigned __int128 sum = (unsigned __int128)s->hi << 64 | s->u;
			if (is_unsigned(a))
				r.u = (uint64_t)(sum / s->n);
			else
				r.i = (int64_t)((__int128)sum / (__int128)s->n); /* toward zero */
		}
		break;
	case SQL_AGG_HIST:
	case SQL_AGG_LHIST:
		break;
	case SQL_AGG_QUANTILE:
		if (s->q && sql_qhist_quantile(s->q, a->ppm, &r.i))
			r.type = a->type;
		break;
	case SQL_AGG_COUNT_DISTINCT:
		r.type = SQL_T_INT;
		r.i = s->set ? (int64_t)s->set->n : 0;
		break;
	}
	return r;
}

void sql_agg_free(struct sql_aggstate *s)
{
	if (s->hist) {
		free(s->hist->counts);
		free(s->hist);
	}
	if (s->q) {
		sql_qhist_free(s->q);
		free(s->q);
	}
	if (s->set)
		valset_free(s->set);
	memset(s, 0, sizeof(*s));
}

/* ---- merging partial states (kernel aggregation, optimize.c) ---- */

int sql_agg_merge(const struct sql_agg *a, struct sql_aggstate *dst, const struct sql_aggstate *src)
{
	if (a->kind == SQL_AGG_COUNT_DISTINCT) {
		if (!src->set)
			return 0;
		if (!dst->set && !(dst->set = calloc(1, sizeof(*dst->set))))
			return -ENOMEM;
		for (size_t i = 0; i < src->set->cap; i++) {
			int rc = src->set->v[i].type == SQL_T_NULL ? 0 : valset_add(dst->set, &src->set->v[i]);
			if (rc)
				return rc;
		}
		return 0;
	}
	if (!src->n)
		return 0;
	switch (a->kind) {
	case SQL_AGG_COUNT:
	case SQL_AGG_COUNT_DISTINCT: /* merged above */
		break;
	case SQL_AGG_SUM:
		dst->u += src->u;
		break;
	case SQL_AGG_AVG:
		dst->hi += src->hi;
		avg_add(dst, src->u, false); /* adds the low half with its carry */
		break;
	case SQL_AGG_MIN:
	case SQL_AGG_MAX: {
		bool take = !dst->n;
		if (!take && is_unsigned(a))
			take = a->kind == SQL_AGG_MIN ? src->u < dst->u : src->u > dst->u;
		else if (!take)
			take = a->kind == SQL_AGG_MIN ? (int64_t)src->u < (int64_t)dst->u
						      : (int64_t)src->u > (int64_t)dst->u;
		if (take)
			dst->u = src->u;
		break;
	}
	case SQL_AGG_HIST:
	case SQL_AGG_LHIST:
		if (!src->hist)
			break;
		if (!dst->hist && !(dst->hist = hist_new(a)))
			return -ENOMEM;
		if (dst->hist->nbuckets != src->hist->nbuckets)
			return -EINVAL;
		for (size_t i = 0; i < src->hist->nbuckets; i++)
			dst->hist->counts[i] += src->hist->counts[i];
		dst->hist->total += src->hist->total;
		dst->hist->sum += src->hist->sum;
		break;
	case SQL_AGG_QUANTILE:
		if (!src->q)
			break;
		if (!dst->q && !(dst->q = calloc(1, sizeof(*dst->q))))
			return -ENOMEM;
		for (unsigned b = 0; b < QBLOCKS; b++) {
			for (int sgn = 0; sgn < 2; sgn++) {
				uint64_t *const *from = sgn ? src->q->neg : src->q->pos;
				uint64_t **to = sgn ? dst->q->neg : dst->q->pos;
				if (!from[b])
					continue;
				if (!to[b] && !(to[b] = calloc(QSUB, sizeof(uint64_t))))
					return -ENOMEM;
				for (unsigned s = 0; s < QSUB; s++)
					to[b][s] += from[b][s];
			}
		}
		if (src->q->n && (!dst->q->n || src->q->min < dst->q->min))
			dst->q->min = src->q->min;
		if (src->q->n && (!dst->q->n || src->q->max > dst->q->max))
			dst->q->max = src->q->max;
		dst->q->n += src->q->n;
		break;
	}
	dst->n += src->n;
	return 0;
}
