/* exec.c - the row side of the executor: expression evaluation over rows
 * (NULL-aware, no undefined behaviour on any input), value comparison and
 * hashing, LIKE, the streaming JOIN of two event tables, and the WHERE
 * filter. Rows that pass go to the output stage of the window (window.c).
 *
 * JOIN meaning: rows of the FROM table ("left") are remembered; each row of
 * the JOIN table ("right") takes the latest unmatched left row with equal
 * keys that did not happen after it (by the ts column) and produces one
 * joined row, or nothing when there is none. Left rows are used at most
 * once. At most SQL_MAX_JOIN unmatched left rows are kept; older ones are
 * evicted and counted (reported as "evicted").
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sql/sqlInt.h"

/* ---- values ---- */

static bool is_numeric(enum sql_type t)
{
	return t != SQL_T_NULL && t != SQL_T_STR;
}

int sql_value_cmp(const struct sql_value *a, const struct sql_value *b)
{
	if (a->type == SQL_T_NULL || b->type == SQL_T_NULL)
		return (a->type != SQL_T_NULL) - (b->type != SQL_T_NULL);
	if (a->type == SQL_T_STR || b->type == SQL_T_STR) {
		if (a->type != b->type)
			return a->type == SQL_T_STR ? 1 : -1;
		int c = strcmp(a->s, b->s);
		return (c > 0) - (c < 0);
	}
	bool au = a->type == SQL_T_UINT, bu = b->type == SQL_T_UINT;
	if (au && bu)
		return (a->u > b->u) - (a->u < b->u);
	if (!au && !bu)
		return (a->i > b->i) - (a->i < b->i);
	/* One unsigned, one signed: a negative signed value is smaller. */
	if (au)
		return b->i < 0 ? 1 : (a->u > (uint64_t)b->i) - (a->u < (uint64_t)b->i);
	return a->i < 0 ? -1 : ((uint64_t)a->i > b->u) - ((uint64_t)a->i < b->u);
}

bool sql_value_eq(const struct sql_value *a, const struct sql_value *b)
{
	return sql_value_cmp(a, b) == 0;
}

uint64_t sql_value_hash(const struct sql_value *v, uint64_t h)
{
	const unsigned char *p;
	size_t n;
	uint64_t bits;
	if (v->type == SQL_T_STR) {
		p = (const unsigned char *)v->s;
		n = strlen(v->s);
		h ^= 0x5354;
	} else {
		bits = v->type == SQL_T_NULL ? 0x9e3779b97f4a7c15ull : v->u;
		p = (const unsigned char *)&bits;
		n = sizeof(bits);
	}
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

bool sql_like(const char *s, const char *pat)
{
	/* Iterative matching with one backtrack point for the last '%'. */
	const char *star = NULL, *resume = NULL;
	while (*s) {
		if (*pat == '%') {
			star = pat++;
			resume = s;
		} else if (*pat == '_' || *pat == *s) {
			pat++;
			s++;
		} else if (star) {
			pat = star + 1;
			s = ++resume;
		} else {
			return false;
		}
	}
	while (*pat == '%')
		pat++;
	return !*pat;
}

/* ---- evaluation ---- */

static struct sql_value null_value(void)
{
	return (struct sql_value){ .type = SQL_T_NULL };
}

static struct sql_value bool_value(bool b)
{
	return (struct sql_value){ .type = SQL_T_BOOL, .i = b };
}

static struct sql_value arith(enum sql_op op, enum sql_type rt, struct sql_value x, struct sql_value y)
{
	if (x.type == SQL_T_NULL || y.type == SQL_T_NULL || rt == SQL_T_NULL)
		return null_value();
	struct sql_value r = { .type = rt };
	bool unsig = rt == SQL_T_UINT;
	switch (op) {
	case SQL_OP_ADD: r.u = x.u + y.u; break;
	case SQL_OP_SUB: r.u = x.u - y.u; break;
	case SQL_OP_MUL: r.u = x.u * y.u; break;
	case SQL_OP_BITAND: r.u = x.u & y.u; break;
	case SQL_OP_BITOR: r.u = x.u | y.u; break;
	case SQL_OP_DIV:
	case SQL_OP_MOD:
		if (y.u == 0)
			return null_value();
		if (unsig) {
			r.u = op == SQL_OP_DIV ? x.u / y.u : x.u % y.u;
		} else if (x.i == INT64_MIN && y.i == -1) {
			r.u = op == SQL_OP_DIV ? (uint64_t)INT64_MIN : 0;
		} else {
			r.i = op == SQL_OP_DIV ? x.i / y.i : x.i % y.i;
		}
		break;
	default:
		return null_value();
	}
	return r;
}

/* An integer value given the integer type @t of the expression that made
 * it (a CASE branch's literal 5 in a u64 CASE): the same 64 bits. */
static struct sql_value retype(struct sql_value v, enum sql_type t)
{
	if ((v.type == SQL_T_INT || v.type == SQL_T_UINT) && (t == SQL_T_INT || t == SQL_T_UINT))
		v.type = t;
	return v;
}

bool sql_eval_true(struct sql_evalctx *c, const struct sql_expr *e)
{
	struct sql_value v = sql_eval(c, e);
	return v.type == SQL_T_BOOL && v.i;
}

struct sql_value sql_eval(struct sql_evalctx *c, const struct sql_expr *e)
{
	struct sql_value x, y, z;
	switch (e->kind) {
	case SQL_E_LIT:
		return e->v;
	case SQL_E_COLUMN:
		return c->row[e->side] ? c->row[e->side][e->col] : null_value();
	case SQL_E_GROUPKEY:
		return c->keys ? c->keys[e->idx] : null_value();
	case SQL_E_AGGREF:
		return c->aggs ? c->aggs[e->idx] : null_value();
	case SQL_E_STAR:
		return null_value();
	case SQL_E_UNARY:
		x = sql_eval(c, e->a);
		if (x.type == SQL_T_NULL)
			return x;
		if (e->op == SQL_OP_NOT)
			return bool_value(!x.i);
		x.u = 0 - x.u;
		x.type = e->type;
		return x;
	case SQL_E_BINARY:
		if (e->op == SQL_OP_AND || e->op == SQL_OP_OR) {
			bool is_and = e->op == SQL_OP_AND;
			x = sql_eval(c, e->a);
			if (x.type == SQL_T_BOOL && x.i != is_and)
				return bool_value(!is_and); /* short circuit */
			y = sql_eval(c, e->b);
			if (y.type == SQL_T_BOOL && y.i != is_and)
				return bool_value(!is_and);
			if (x.type == SQL_T_NULL || y.type == SQL_T_NULL)
				return null_value();
			return bool_value(is_and);
		}
		x = sql_eval(c, e->a);
		y = sql_eval(c, e->b);
		switch (e->op) {
		case SQL_OP_EQ: case SQL_OP_NE: case SQL_OP_LT:
		case SQL_OP_LE: case SQL_OP_GT: case SQL_OP_GE: {
			if (x.type == SQL_T_NULL || y.type == SQL_T_NULL)
				return null_value();
			int k = sql_value_cmp(&x, &y);
			switch (e->op) {
			case SQL_OP_EQ: return bool_value(k == 0);
			case SQL_OP_NE: return bool_value(k != 0);
			case SQL_OP_LT: return bool_value(k < 0);
			case SQL_OP_LE: return bool_value(k <= 0);
			case SQL_OP_GT: return bool_value(k > 0);
			default: return bool_value(k >= 0);
			}
		}
		default:
			return arith(e->op, e->type, x, y);
		}
	case SQL_E_IN: {
		x = sql_eval(c, e->a);
		if (x.type == SQL_T_NULL)
			return x;
		bool saw_null = false;
		for (size_t i = 0; i < e->nlist; i++) {
			y = sql_eval(c, e->list[i]);
			if (y.type == SQL_T_NULL)
				saw_null = true;
			else if (sql_value_eq(&x, &y))
				return bool_value(!e->negated);
		}
		return saw_null ? null_value() : bool_value(e->negated);
	}
	case SQL_E_BETWEEN:
		x = sql_eval(c, e->a);
		y = sql_eval(c, e->b);
		z = sql_eval(c, e->c);
		if (x.type == SQL_T_NULL || y.type == SQL_T_NULL || z.type == SQL_T_NULL)
			return null_value();
		return bool_value((sql_value_cmp(&x, &y) >= 0 && sql_value_cmp(&x, &z) <= 0) != e->negated);
	case SQL_E_LIKE:
		x = sql_eval(c, e->a);
		y = sql_eval(c, e->b);
		if (x.type != SQL_T_STR || y.type != SQL_T_STR)
			return null_value();
		return bool_value(sql_like(x.s, y.s) != e->negated);
	case SQL_E_ISNULL:
		x = sql_eval(c, e->a);
		return bool_value((x.type == SQL_T_NULL) != e->negated);
	case SQL_E_CASE:
		if (e->a)
			x = sql_eval(c, e->a);
		for (size_t i = 0; i + 1 < e->nlist; i += 2) {
			bool hit;
			if (e->a) {
				y = sql_eval(c, e->list[i]);
				hit = x.type != SQL_T_NULL && y.type != SQL_T_NULL && sql_value_eq(&x, &y);
			} else {
				hit = sql_eval_true(c, e->list[i]);
			}
			if (hit)
				return retype(sql_eval(c, e->list[i + 1]), e->type);
		}
		return e->c ? retype(sql_eval(c, e->c), e->type) : null_value();
	case SQL_E_CALL: {
		struct sql_value args[SQL_FUNC_MAX_ARGS];
		if (!e->fn || e->nlist > SQL_FUNC_MAX_ARGS)
			return null_value();
		for (size_t i = 0; i < e->nlist; i++)
			args[i] = sql_eval(c, e->list[i]);
		return e->fn->eval(c, args, e->nlist);
	}
	}
	return null_value();
}

/* ---- join ---- */

struct buf {
	unsigned char *p;   /* bytes */
	size_t n, cap;      /* used / allocated */
};

static int buf_put(struct buf *b, const void *data, size_t n)
{
	if (b->n + n > b->cap) {
		size_t ncap = b->cap ? b->cap : 256;
		while (ncap < b->n + n)
			ncap *= 2;
		unsigned char *np = realloc(b->p, ncap);
		if (!np)
			return -ENOMEM;
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->n, data, n);
	b->n += n;
	return 0;
}

/* Appends @v as: type byte, then 8 value bytes or a NUL-terminated string.
 * Numbers of every type share one encoding so that keys of equal value but
 * different integer types (INT 5, UINT 5) are equal. */
static int put_value(struct buf *b, const struct sql_value *v, bool key)
{
	unsigned char tag = (unsigned char)v->type;
	if (key && is_numeric(v->type))
		tag = 0xff;
	if (buf_put(b, &tag, 1))
		return -ENOMEM;
	if (v->type == SQL_T_NULL)
		return 0;
	if (v->type == SQL_T_STR)
		return buf_put(b, v->s, strlen(v->s) + 1);
	return buf_put(b, &v->u, sizeof(v->u));
}

static void get_row(const unsigned char *p, size_t n, struct sql_value *row, size_t ncols)
{
	size_t off = 0;
	for (size_t i = 0; i < ncols && off < n; i++) {
		struct sql_value *v = &row[i];
		v->type = (enum sql_type)p[off++];
		if (v->type == SQL_T_NULL)
			continue;
		if (v->type == SQL_T_STR) {
			v->s = (const char *)p + off;
			off += strlen(v->s) + 1;
		} else {
			memcpy(&v->u, p + off, sizeof(v->u));
			off += sizeof(v->u);
		}
	}
}

/* ---- the executor ---- */

struct sql_exec {
	const struct sql_query *q;   /* bound query */
	struct sql_win *win;         /* output stage */
	struct sql_sink *sink;       /* where windows are reported */
	struct sql_pair *pair;       /* JOIN: unmatched left rows */
	struct buf lkey, rkey, row;  /* JOIN: key and payload encodings */
	struct buf stash;            /* JOIN: left rows newer than the right row, to put back */
	int ts_col[2];               /* JOIN: ts column per side (-1: none) */
	struct sql_value *lrow;      /* JOIN: decoded left row */
	uint64_t seq;                /* JOIN: insertion order */
	void (*refill)(void *);      /* JOIN: deliver pending left rows */
	void *refill_ctx;            /* its argument */
	int depth;                   /* nesting of sql_exec_row (refill re-enters) */
	struct sql_arena scratch;    /* strings made while evaluating one row */
	bool done;                   /* streaming LIMIT reached */
	uint64_t passed;             /* rows that passed WHERE (with a JOIN: rows entering it) */
	uint64_t rejected;           /* rows WHERE rejected (single table) */
	struct sql_value *nullrow;   /* LEFT JOIN: the right row of an unmatched left row (all NULL) */
	int err;                     /* LEFT JOIN: first error while emitting unmatched rows */
};

bool sql_query_streaming(const struct sql_query *q)
{
	return !q->aggregate && !q->norder;
}

struct sql_exec *sql_exec_new(const struct sql_query *q, struct sql_sink *sink)
{
	struct sql_exec *x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	x->q = q;
	x->sink = sink;
	if (!(x->win = sql_win_new(q, sink)))
		goto fail;
	if (q->ntables == 2) {
		struct sql_pair_opts po = { .sz = sizeof(po), .max_entries = SQL_MAX_JOIN };
		if (!(x->pair = sql_pair_new(&po)) ||
		    !(x->lrow = calloc(q->tables[0]->ncols, sizeof(*x->lrow))) ||
		    !(x->nullrow = calloc(q->tables[1]->ncols, sizeof(*x->nullrow))))
			goto fail;
		for (int s = 0; s < 2; s++)
			x->ts_col[s] = sql_table_column(q->tables[s], "ts");
	}
	return x;
fail:
	sql_exec_free(x);
	return NULL;
}

void sql_exec_set_refill(struct sql_exec *x, void (*refill)(void *ctx), void *ctx)
{
	x->refill = refill;
	x->refill_ctx = ctx;
}

static int encode_key(struct sql_exec *x, struct buf *b, struct sql_expr **keys, struct sql_evalctx *c)
{
	b->n = 0;
	for (size_t i = 0; i < x->q->njkeys; i++) {
		struct sql_value v = sql_eval(c, keys[i]);
		if (put_value(b, &v, true))
			return -ENOMEM;
	}
	return 0;
}

/* Time of a row (the ts column), or -1 when the table has none or it is NULL. */
static int64_t row_ts(const struct sql_value *row, int col)
{
	return col >= 0 && row[col].type != SQL_T_NULL ? row[col].i : -1;
}

/* The time a left row is stored with: its event time for a LEFT JOIN (its
 * wait ends by it, sql_exec_expire), else the order of storing. */
static uint64_t entry_ts(struct sql_exec *x, int64_t lts)
{
	if (x->q->left_join)
		return lts < 0 ? 0 : (uint64_t)lts;
	return x->seq++;
}

/* Puts back left rows taken while looking for an older one, oldest first so
 * that the newest is again the latest. */
static int put_back(struct sql_exec *x)
{
	size_t off = x->stash.n;
	int rc = 0;
	while (off > 0 && !rc) {
		size_t len;
		uint64_t ts;
		memcpy(&len, x->stash.p + off - sizeof(len), sizeof(len));
		memcpy(&ts, x->stash.p + off - sizeof(len) - sizeof(ts), sizeof(ts));
		off -= sizeof(len) + sizeof(ts) + len;
		rc = sql_pair_put(x->pair, x->rkey.p, x->rkey.n, x->stash.p + off, len, entry_ts(x, ts));
	}
	x->stash.n = 0;
	return rc == -E2BIG ? 0 : rc;
}

/* Left row: remember it. Right row: take the latest unmatched left row with
 * equal keys that did not happen after it; the joined row goes on. Returns
 * 1 with c->row[0] set when there is a joined row. */
static int join_row(struct sql_exec *x, int side, const struct sql_value *row, struct sql_evalctx *c)
{
	const struct sql_query *q = x->q;
	size_t nl = q->tables[0]->ncols;
	if (side == 0) {
		c->row[0] = row;
		if (encode_key(x, &x->lkey, q->lkeys, c))
			return -ENOMEM;
		x->row.n = 0;
		for (size_t i = 0; i < nl; i++)
			if (put_value(&x->row, &row[i], false))
				return -ENOMEM;
		int rc = sql_pair_put(x->pair, x->lkey.p, x->lkey.n, x->row.p, x->row.n,
				      entry_ts(x, row_ts(row, x->ts_col[0])));
		return rc == -E2BIG ? 0 : rc;
	}
	c->row[1] = row;
	if (encode_key(x, &x->rkey, q->rkeys, c))
		return -ENOMEM;
	int64_t rts = row_ts(row, x->ts_col[1]);
	bool refilled = !x->refill || x->depth != 1;
	for (;;) {
		size_t plen;
		const unsigned char *payload = sql_pair_take(x->pair, x->rkey.p, x->rkey.n, &plen);
		if (!payload && !refilled) {
			/* Left rows already produced may still be in the kernel's buffer. */
			refilled = true;
			int rc = put_back(x);
			if (rc)
				return rc;
			x->refill(x->refill_ctx);
			continue;
		}
		if (!payload)
			break;
		memset(x->lrow, 0, nl * sizeof(*x->lrow));
		get_row(payload, plen, x->lrow, nl);
		int64_t lts = row_ts(x->lrow, x->ts_col[0]);
		/* A self-join's left copy of this very event (and of any
		 * event of the same time) is not "before" it. */
		/* A LEFT JOIN's right row takes only a left row within its wait. */
		bool waited = q->left_join && rts >= 0 && lts >= 0 && (uint64_t)(rts - lts) > q->within_ns;
		if (!waited && (rts < 0 || lts < 0 || lts < rts || (lts == rts && !q->self_join))) {
			/* Copy out: the payload dies at the next call on the pair. */
			x->row.n = 0;
			if (buf_put(&x->row, payload, plen))
				return -ENOMEM;
			get_row(x->row.p, plen, x->lrow, nl);
			int rc = put_back(x);
			if (rc)
				return rc;
			c->row[0] = x->lrow;
			return 1;
		}
		/* It happened after the right row (or waited too long): keep it. */
		uint64_t sts = (uint64_t)lts;
		if (buf_put(&x->stash, payload, plen) || buf_put(&x->stash, &sts, sizeof(sts)) ||
		    buf_put(&x->stash, &plen, sizeof(plen)))
			return -ENOMEM;
	}
	return put_back(x);
}

int sql_exec_row(struct sql_exec *x, int side, const struct sql_value *row)
{
	if (x->done)
		return 1;
	struct sql_evalctx c = { .scratch = &x->scratch };
	int rc = 0;
	x->depth++;
	if (x->pair) {
		x->passed += !(side == 1 && x->q->self_join); /* a self-join's event enters once, as both sides */
		rc = join_row(x, side, row, &c);
		if (rc <= 0)
			goto out;
	} else {
		c.row[0] = row;
	}
	rc = 0;
	if (!x->q->where || sql_eval_true(&c, x->q->where)) {
		x->passed += !x->pair;
		rc = sql_win_row(x->win, &c);
	} else {
		x->rejected += !x->pair;
	}
	if (rc == 1 && !x->q->window_ns)
		x->done = true;
	else if (rc == 1)
		rc = 0;
out:
	if (--x->depth == 0)
		sql_arena_reset(&x->scratch);
	return rc;
}

/* LEFT JOIN: one unmatched left row, emitted with NULL right columns. */
static void expire_row(void *ctx, const void *payload, size_t plen)
{
	struct sql_exec *x = ctx;
	const struct sql_query *q = x->q;
	if (x->err)
		return;
	size_t nl = q->tables[0]->ncols;
	memset(x->lrow, 0, nl * sizeof(*x->lrow));
	get_row(payload, plen, x->lrow, nl);
	struct sql_evalctx c = { .scratch = &x->scratch, .row = { x->lrow, x->nullrow } };
	int rc = 0;
	if (!q->where || sql_eval_true(&c, q->where))
		rc = sql_win_row(x->win, &c);
	if (rc < 0)
		x->err = rc;
	else if (rc == 1 && !q->window_ns)
		x->done = true;
	sql_arena_reset(&x->scratch);
}

int sql_exec_expire(struct sql_exec *x, uint64_t before)
{
	if (!x->pair || !x->q->left_join || x->done)
		return 0;
	x->err = 0;
	sql_pair_drain(x->pair, before, expire_row, x);
	return x->err;
}

int sql_exec_window(struct sql_exec *x, struct sql_window_info *w)
{
	int64_t n = sql_win_flush(x->win);
	if (n < 0)
		return (int)n;
	w->rows = (uint64_t)n;
	return sql_sink_window(x->sink, w);
}

uint64_t sql_exec_evicted(const struct sql_exec *x)
{
	return sql_win_evicted(x->win) + (x->pair ? sql_pair_evicted(x->pair) : 0);
}

void sql_exec_counts(const struct sql_exec *x, uint64_t *passed, uint64_t *rejected)
{
	*passed = x->passed;
	*rejected = x->rejected;
}

bool sql_exec_done(const struct sql_exec *x)
{
	return x->done;
}

void sql_exec_free(struct sql_exec *x)
{
	if (!x)
		return;
	if (x->win)
		sql_win_free(x->win);
	if (x->pair)
		sql_pair_free(x->pair);
	free(x->lkey.p);
	free(x->rkey.p);
	free(x->row.p);
	free(x->stash.p);
	free(x->lrow);
	free(x->nullrow);
	sql_arena_reset(&x->scratch);
	free(x);
}

/* ---- kernel aggregation (optimize.c) ---- */

int sql_exec_merge(struct sql_exec *x, int side, const struct sql_value *row, const struct sql_aggstate *st)
{
	struct sql_evalctx c = { .scratch = &x->scratch };
	c.row[side] = row;
	int rc = sql_win_merge(x->win, &c, st);
	sql_arena_reset(&x->scratch);
	return rc;
}
