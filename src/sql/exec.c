/* exec.c - the row side of the executor: expression evaluation over rows
 * (NULL-aware, no undefined behaviour on any input), value comparison and
 * hashing, LIKE, the streaming JOIN of two or three event tables, and the WHERE
 * filter. Rows that pass go to the output stage of the window (window.c).
 *
 * JOIN meaning: rows of the FROM table ("left") are remembered; each row of
 * the JOIN table ("right") takes the latest unmatched left row with equal
 * keys that did not happen after it (by the ts column) and produces one
 * joined row, or nothing when there is none. Left rows are used at most
 * once. A third table joins the same way with the joined rows of the first
 * two (left-deep): a joined row's time is its right row's (for a LEFT
 * JOIN's unmatched row, the end of its wait), and it waits as a left row
 * for the third table's rows. At most SQL_MAX_JOIN unmatched left rows are
 * kept per step; older ones are evicted and counted (reported as
 * "evicted").
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

/* Decodes @ncols values at @p (@n bytes) into @row; returns the bytes read. */
static size_t get_row(const unsigned char *p, size_t n, struct sql_value *row, size_t ncols)
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
	return off;
}

/* ---- the executor ---- */

/* One JOIN step k (1 <= k < ntables): left rows are made of sides 0..k-1
 * (the FROM table's rows for k = 1, the joined rows of step k-1 after),
 * right rows are side k's. A left row is stored as its time (int64: the
 * time of the event that made it, -1 unknown) then the values of each
 * side, and taken at most once. */
struct jstep {
	struct sql_pair *pair;            /* unmatched left rows */
	bool same[SQL_MAX_TABLES];        /* sides before k reading side k's table: their
					     event must be strictly before the right row */
};

struct sql_exec {
	const struct sql_query *q;   /* bound query */
	struct sql_win *win;         /* output stage */
	struct sql_sink *sink;       /* where windows are reported */
	struct jstep step[SQL_MAX_TABLES]; /* JOIN steps, by right side (1, 2) */
	struct buf key, row;         /* JOIN: key and payload encodings */
	struct buf stash;            /* JOIN: left rows taken while looking for an older one */
	struct buf keep;             /* JOIN: the payload of the left row taken */
	int ts_col[SQL_MAX_TABLES];  /* JOIN: ts column per side (-1: none) */
	struct sql_value *lrow[SQL_MAX_TABLES]; /* JOIN: decoded left rows, per side */
	struct sql_value *nullrow[SQL_MAX_TABLES]; /* LEFT JOIN: a missing side's row (all NULL) */
	uint64_t seq;                /* JOIN: insertion order */
	int depth;                   /* nesting of sql_exec_row */
	struct sql_arena scratch;    /* strings made while evaluating one row */
	bool done;                   /* streaming LIMIT reached */
	uint64_t passed;             /* rows that passed WHERE (with a JOIN: rows entering it) */
	uint64_t rejected;           /* rows WHERE rejected (single table) */
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
	for (int s = 0; s < q->ntables && q->ntables > 1; s++) {
		x->ts_col[s] = sql_table_column(q->tables[s], "ts");
		if (!(x->lrow[s] = calloc(q->tables[s]->ncols, sizeof(*x->lrow[s]))) ||
		    !(x->nullrow[s] = calloc(q->tables[s]->ncols, sizeof(*x->nullrow[s]))))
			goto fail;
		if (!s)
			continue;
		struct sql_pair_opts po = { .sz = sizeof(po), .max_entries = SQL_MAX_JOIN };
		if (!(x->step[s].pair = sql_pair_new(&po)))
			goto fail;
		for (int j = 0; j < s; j++)
			x->step[s].same[j] = q->source[j] == q->source[s];
	}
	return x;
fail:
	sql_exec_free(x);
	return NULL;
}

/* Encodes the keys @keys (@n) over @c into @b. Returns 1 when a key is NULL
 * (it equals nothing), 0, or -ENOMEM. */
static int encode_key(struct buf *b, struct sql_expr **keys, size_t n, struct sql_evalctx *c)
{
	b->n = 0;
	int null = 0;
	for (size_t i = 0; i < n; i++) {
		struct sql_value v = sql_eval(c, keys[i]);
		null |= v.type == SQL_T_NULL;
		if (put_value(b, &v, true))
			return -ENOMEM;
	}
	return null;
}

/* Time of a row (the ts column), or -1 when the table has none or it is NULL. */
static int64_t row_ts(const struct sql_value *row, int col)
{
	return col >= 0 && row[col].type != SQL_T_NULL ? row[col].i : -1;
}

/* The time a left row of step @k is stored with: its time for a LEFT JOIN
 * (its wait ends by it, sql_exec_expire), else the order of storing. */
static uint64_t entry_ts(struct sql_exec *x, int k, int64_t lts)
{
	if (x->q->join[k - 1].left)
		return lts < 0 ? 0 : (uint64_t)lts;
	return x->seq++;
}

/* The time stored at the start of a left row's payload. */
static int64_t payload_time(const unsigned char *p)
{
	int64_t t;
	memcpy(&t, p, sizeof(t));
	return t;
}

/* Decodes the left row of step @k (sides 0..k-1) from @p into x->lrow. */
static void decode_left(struct sql_exec *x, int k, const unsigned char *p, size_t n)
{
	size_t off = sizeof(int64_t);
	for (int s = 0; s < k; s++) {
		size_t nc = x->q->tables[s]->ncols;
		memset(x->lrow[s], 0, nc * sizeof(*x->lrow[s]));
		off += get_row(p + off, off < n ? n - off : 0, x->lrow[s], nc);
	}
}

/* Puts back the left rows of step @k taken while looking for an older one,
 * oldest first so that the newest is again the latest. */
static int put_back(struct sql_exec *x, int k)
{
	size_t off = x->stash.n;
	int rc = 0;
	while (off > 0 && !rc) {
		size_t len;
		memcpy(&len, x->stash.p + off - sizeof(len), sizeof(len));
		off -= sizeof(len) + len;
		rc = sql_pair_put(x->step[k].pair, x->key.p, x->key.n, x->stash.p + off, len,
				  entry_ts(x, k, payload_time(x->stash.p + off)));
	}
	x->stash.n = 0;
	return rc == -E2BIG ? 0 : rc;
}

static int emit(struct sql_exec *x, struct sql_evalctx *c);

/* The joined row of sides 0..@k in @c, of time @t, goes on: to step k+1 as
 * a left row, or (the last side) through WHERE to the output. */
static int advance(struct sql_exec *x, int k, struct sql_evalctx *c, int64_t t)
{
	const struct sql_query *q = x->q;
	if (k + 1 >= q->ntables)
		return emit(x, c);
	const struct sql_jstep *j = &q->join[k];
	int rc = encode_key(&x->key, j->lkeys, j->nkeys, c);
	if (rc < 0)
		return rc;
	if (rc && !j->left)
		return 0; /* a NULL key equals nothing: it can never be taken */
	x->row.n = 0;
	if (buf_put(&x->row, &t, sizeof(t)))
		return -ENOMEM;
	for (int s = 0; s <= k; s++)
		for (size_t i = 0; i < q->tables[s]->ncols; i++)
			if (put_value(&x->row, &c->row[s][i], false))
				return -ENOMEM;
	rc = sql_pair_put(x->step[k + 1].pair, x->key.p, x->key.n, x->row.p, x->row.n, entry_ts(x, k + 1, t));
	return rc == -E2BIG ? 0 : rc;
}

/* LEFT JOIN step @k: emits the left rows whose wait ended before @before
 * (their time + WITHIN < before), oldest stored first, with NULL side-k
 * columns, at the time their wait ended. */
static void expire_row(void *ctx, const void *payload, size_t plen);
struct expire_ctx {
	struct sql_exec *x;   /* executor */
	int k;                /* step */
};

static int expire_step(struct sql_exec *x, int k, int64_t before)
{
	const struct sql_jstep *j = &x->q->join[k - 1];
	if (!j->left || before <= 0 || x->done)
		return x->err;
	uint64_t b = (uint64_t)before;
	if (b <= j->within_ns)
		return x->err;
	struct expire_ctx e = { .x = x, .k = k };
	sql_pair_drain(x->step[k].pair, b - j->within_ns, expire_row, &e);
	return x->err;
}

static void expire_row(void *ctx, const void *payload, size_t plen)
{
	struct expire_ctx *e = ctx;
	struct sql_exec *x = e->x;
	if (x->err || x->done)
		return;
	/* (the payload is freed after this call; strings point into a copy) */
	unsigned char *copy = malloc(plen);
	if (!copy) {
		x->err = -ENOMEM;
		return;
	}
	memcpy(copy, payload, plen);
	decode_left(x, e->k, copy, plen);
	struct sql_evalctx c = { .scratch = &x->scratch };
	for (int s = 0; s < e->k; s++)
		c.row[s] = x->lrow[s];
	c.row[e->k] = x->nullrow[e->k];
	int64_t t = payload_time(copy);
	if (t >= 0)
		t += (int64_t)x->q->join[e->k - 1].within_ns;
	int rc = advance(x, e->k, &c, t);
	free(copy);
	if (rc < 0)
		x->err = rc;
	else if (rc == 1 && !x->q->window_ns)
		x->done = true;
	if (x->depth == 0)
		sql_arena_reset(&x->scratch);
}

/* Right row @row of step @k: takes the latest unmatched left row with equal
 * keys that did not happen after it (strictly before, for the sides that
 * read its own table: an event never pairs with itself), and, for a LEFT
 * JOIN, at most WITHIN older. Returns 1 with c->row[0..k] set when there is
 * a joined row (its left part decoded from x->keep), 0, or an error. */
static int take(struct sql_exec *x, int k, const struct sql_value *row, struct sql_evalctx *c)
{
	const struct sql_query *q = x->q;
	const struct sql_jstep *j = &q->join[k - 1];
	c->row[k] = row;
	int rc = encode_key(&x->key, j->rkeys, j->nkeys, c);
	if (rc)
		return rc < 0 ? rc : 0; /* a NULL key equals nothing */
	int64_t rts = row_ts(row, x->ts_col[k]);
	x->stash.n = 0;
	for (;;) {
		size_t plen;
		const unsigned char *payload = sql_pair_take(x->step[k].pair, x->key.p, x->key.n, &plen);
		if (!payload)
			break;
		int64_t lts = payload_time(payload);
		bool ok = !(j->left && rts >= 0 && lts >= 0 && (uint64_t)(rts - lts) > j->within_ns);
		ok = ok && (rts < 0 || lts < 0 || lts <= rts);
		if (ok && rts >= 0) {
			/* a side reading this table: its event strictly before */
			decode_left(x, k, payload, plen);
			for (int s = 0; s < k && ok; s++) {
				int64_t sts = x->step[k].same[s] ? row_ts(x->lrow[s], x->ts_col[s]) : -1;
				ok = sts < 0 || sts < rts;
			}
		}
		if (ok) {
			/* Copy out: the payload dies at the next call on the pair. */
			x->keep.n = 0;
			if (buf_put(&x->keep, payload, plen))
				return -ENOMEM;
			decode_left(x, k, x->keep.p, plen);
			rc = put_back(x, k);
			if (rc)
				return rc;
			for (int s = 0; s < k; s++)
				c->row[s] = x->lrow[s];
			return 1;
		}
		/* It happened after the right row (or waited too long): keep it. */
		if (buf_put(&x->stash, payload, plen) || buf_put(&x->stash, &plen, sizeof(plen)))
			return -ENOMEM;
	}
	return put_back(x, k);
}

/* The joined row passes WHERE to the output stage. */
static int emit(struct sql_exec *x, struct sql_evalctx *c)
{
	const struct sql_query *q = x->q;
	bool join = q->ntables > 1;
	int rc = 0;
	if (!q->where || sql_eval_true(c, q->where)) {
		x->passed += !join;
		rc = sql_win_row(x->win, c);
	} else {
		x->rejected += !join;
	}
	if (rc == 1 && !q->window_ns)
		x->done = true;
	else if (rc == 1)
		rc = 0;
	return rc;
}

int sql_exec_row(struct sql_exec *x, int side, const struct sql_value *row)
{
	if (x->done)
		return 1;
	const struct sql_query *q = x->q;
	struct sql_evalctx c = { .scratch = &x->scratch };
	int rc = 0;
	x->depth++;
	if (q->ntables == 1) {
		c.row[0] = row;
		rc = emit(x, &c);
		goto out;
	}
	/* an event of a table joined with itself enters once, as its first side */
	x->passed += sql_source_side(q, q->source[side]) == side;
	if (side == 0) {
		c.row[0] = row;
		rc = advance(x, 0, &c, row_ts(row, x->ts_col[0]));
		goto out;
	}
	/* Every row of the sides before this one that happened up to its time
	 * has been handed (the runner's rounds): the left rows of the earlier
	 * LEFT steps whose wait ended by then are decided, and go on first. */
	int64_t rts = row_ts(row, x->ts_col[side]);
	for (int k = 1; k < side && rts >= 0 && !rc; k++)
		rc = expire_step(x, k, rts + 1);
	if (!rc && rts >= 0 && side == 1 && q->ntables > 2)
		rc = expire_step(x, 1, rts); /* keeps the joined rows of step 2 in time order */
	if (rc < 0)
		goto out;
	if ((rc = take(x, side, row, &c)) <= 0)
		goto out;
	rc = advance(x, side, &c, rts);
out:
	if (x->done && rc == 0)
		rc = 1;
	if (--x->depth == 0)
		sql_arena_reset(&x->scratch);
	return rc;
}

int sql_exec_expire(struct sql_exec *x, uint64_t tR)
{
	int64_t t = tR > INT64_MAX ? INT64_MAX : (int64_t)tR;
	for (int k = 1; k < x->q->ntables && !x->err; k++)
		if (tR == UINT64_MAX) {
			struct expire_ctx e = { .x = x, .k = k };
			if (x->q->join[k - 1].left && !x->done)
				sql_pair_drain(x->step[k].pair, UINT64_MAX, expire_row, &e);
		} else {
			expire_step(x, k, t);
		}
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
	uint64_t n = sql_win_evicted(x->win);
	for (int k = 1; k < SQL_MAX_TABLES; k++)
		n += x->step[k].pair ? sql_pair_evicted(x->step[k].pair) : 0;
	return n;
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
	for (int k = 0; k < SQL_MAX_TABLES; k++) {
		sql_pair_free(x->step[k].pair);
		free(x->lrow[k]);
		free(x->nullrow[k]);
	}
	free(x->key.p);
	free(x->row.p);
	free(x->stash.p);
	free(x->keep.p);
	sql_arena_reset(&x->scratch);
	free(x);
}

/* ---- kernel aggregation (optimize.c) ---- */

int sql_exec_merge(struct sql_exec *x, int side, const struct sql_value *row, const struct sql_value *keys,
		   const struct sql_aggstate *st)
{
	struct sql_evalctx c = { .scratch = &x->scratch };
	c.row[side] = row;
	int rc = sql_win_merge(x->win, &c, keys, st);
	sql_arena_reset(&x->scratch);
	return rc;
}
