/* merge.c - the reorder buffer of a JOIN's right side: right rows are
 * copied here as they are read and handed to the executor in event-time
 * order (ts, then arrival), only once the time they carry is known to be
 * complete (sql_merge_release with a watermark: every event of either
 * table that happened before it has been read). See query.c for how the
 * watermark is obtained (sql_source_quiesce) and docs/sql.md for the
 * meaning of a JOIN.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sql/sqlInt.h"

struct held {
	uint64_t ts;    /* event time (ns since boot) */
	uint64_t seq;   /* arrival order, for equal times */
	size_t off;     /* encoded row in bytes */
	size_t len;     /* its length */
};

struct sql_merge {
	size_t ncols;              /* columns per row */
	int ts_col;                /* the ts column (-1: none, rows go in arrival order) */
	struct held *h;            /* rows held */
	size_t n, cap;             /* used / allocated */
	unsigned char *bytes;      /* encoded rows */
	size_t nbytes, bcap;       /* used / allocated */
	uint64_t seq;              /* next arrival number */
	struct sql_value *row;     /* one decoded row */
};

struct sql_merge *sql_merge_new(size_t ncols, int ts_col)
{
	struct sql_merge *m = calloc(1, sizeof(*m));
	if (!m || !(m->row = calloc(ncols ? ncols : 1, sizeof(*m->row)))) {
		free(m);
		return NULL;
	}
	m->ncols = ncols;
	m->ts_col = ts_col;
	return m;
}

void sql_merge_free(struct sql_merge *m)
{
	if (!m)
		return;
	free(m->h);
	free(m->bytes);
	free(m->row);
	free(m);
}

static int put(struct sql_merge *m, const void *p, size_t n)
{
	if (m->nbytes + n > m->bcap) {
		size_t cap = m->bcap ? m->bcap : 4096;
		while (cap < m->nbytes + n)
			cap *= 2;
		unsigned char *b = realloc(m->bytes, cap);
		if (!b)
			return -ENOMEM;
		m->bytes = b;
		m->bcap = cap;
	}
	memcpy(m->bytes + m->nbytes, p, n);
	m->nbytes += n;
	return 0;
}

int sql_merge_put(struct sql_merge *m, const struct sql_value *row)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 256;
		struct held *h = realloc(m->h, cap * sizeof(*h));
		if (!h)
			return -ENOMEM;
		m->h = h;
		m->cap = cap;
	}
	size_t off = m->nbytes;
	for (size_t i = 0; i < m->ncols; i++) {
		unsigned char tag = (unsigned char)row[i].type;
		int rc = put(m, &tag, 1);
		if (!rc && row[i].type == SQL_T_STR)
			rc = put(m, row[i].s, strlen(row[i].s) + 1);
		else if (!rc && row[i].type != SQL_T_NULL)
			rc = put(m, &row[i].u, sizeof(row[i].u));
		if (rc) {
			m->nbytes = off;
			return rc;
		}
	}
	uint64_t ts = m->ts_col >= 0 && row[m->ts_col].type != SQL_T_NULL ? row[m->ts_col].u : 0;
	m->h[m->n++] = (struct held){ .ts = ts, .seq = m->seq++, .off = off, .len = m->nbytes - off };
	return 0;
}

size_t sql_merge_count(const struct sql_merge *m)
{
	return m->n;
}

static int cmp_held(const void *pa, const void *pb)
{
	const struct held *a = pa, *b = pb;
	if (a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	return (a->seq > b->seq) - (a->seq < b->seq);
}

static void decode(struct sql_merge *m, const struct held *h)
{
	const unsigned char *p = m->bytes + h->off;
	size_t at = 0;
	for (size_t i = 0; i < m->ncols; i++) {
		struct sql_value *v = &m->row[i];
		v->type = (enum sql_type)p[at++];
		if (v->type == SQL_T_STR) {
			v->s = (const char *)p + at;
			at += strlen(v->s) + 1;
		} else if (v->type != SQL_T_NULL) {
			memcpy(&v->u, p + at, sizeof(v->u));
			at += sizeof(v->u);
		}
	}
}

int sql_merge_release(struct sql_merge *m, uint64_t before, sql_row_fn fn, void *ctx)
{
	if (!m->n)
		return 0;
	qsort(m->h, m->n, sizeof(*m->h), cmp_held);
	size_t k = 0;
	int stop = 0;
	while (k < m->n && m->h[k].ts < before && !stop) {
		decode(m, &m->h[k]);
		stop = fn(ctx, m->row);
		k++;
	}
	if (stop)
		k = m->n; /* the query is done: the rest is dropped with it */
	/* Keep the rows not released, their bytes copied into a new buffer
	 * (sorted rows are not in byte order). */
	size_t nb = 0;
	for (size_t i = k; i < m->n; i++)
		nb += m->h[i].len;
	unsigned char *b = nb ? malloc(nb) : NULL;
	if (nb && !b)
		return -ENOMEM; /* (released rows would be delivered again: give up the query) */
	nb = 0;
	for (size_t i = k; i < m->n; i++) {
		memcpy(b + nb, m->bytes + m->h[i].off, m->h[i].len);
		m->h[i].off = nb;
		nb += m->h[i].len;
		m->h[i - k] = m->h[i];
	}
	free(m->bytes);
	m->bytes = b;
	m->bcap = nb;
	m->n -= k;
	m->nbytes = nb;
	return stop ? 1 : 0;
}
