/* bind.c - the binder: resolves table, alias, column and function names of a
 * parsed statement against the catalog, checks types, collects aggregates and
 * grouping keys, validates JOIN keys and WINDOW, and produces the bound query
 * (struct sql_query). Everything the language refuses is refused here, with
 * a caret diagnostic and a hint; a bound query always runs.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "safebpf/diag.h"
#include "sql/sqlInt.h"

/* Where an expression appears: decides what it may contain. */
enum place {
	P_SELECT,   /* select list: aggregates allowed */
	P_WHERE,    /* row filter: no aggregates */
	P_ON,       /* JOIN keys: no aggregates */
	P_GROUP,    /* GROUP BY key: no aggregates */
	P_HAVING,   /* group filter: aggregates, select aliases */
	P_ORDER,    /* sort key: aggregates, select aliases */
	P_AGGARG,   /* aggregate argument: no nested aggregates */
};

static const char *const place_names[] = {
	[P_SELECT] = "SELECT", [P_WHERE] = "WHERE", [P_ON] = "JOIN ... ON", [P_GROUP] = "GROUP BY",
	[P_HAVING] = "HAVING", [P_ORDER] = "ORDER BY", [P_AGGARG] = "an aggregate",
};

struct binder {
	const char *text;            /* query text */
	const char *file;            /* name in diagnostics */
	struct sql_arena *a;         /* storage for the bound query */
	struct sbpf_diags *d;        /* diagnostics */
	struct sql_query *q;         /* result being built */
	int rc;                      /* first error, sticky */
	size_t aggcap, keycap;       /* capacities of q->aggs, q->keys */
	/* select list after * expansion, before output columns are final */
	struct sql_expr **sel;       /* expressions */
	const char **selname;        /* header names */
	const char **selalias;       /* AS names (NULL when none) */
	size_t nsel;                 /* entries in the three arrays */
	int nvisible;                /* tables names may refer to (fewer while binding an ON) */
};

#define berr(b, off, len, hint, ...) \
	((b)->rc ? -EINVAL : ((b)->rc = sql_error((b)->d, (b)->file, (b)->text, off, len, hint, __VA_ARGS__)))

static int nomem(struct binder *b)
{
	if (!b->rc)
		b->rc = -ENOMEM;
	return b->rc;
}

const char *sql_type_name(enum sql_type t)
{
	switch (t) {
	case SQL_T_NULL: return "null";
	case SQL_T_INT: return "number";
	case SQL_T_UINT: return "number";
	case SQL_T_TIME: return "time";
	case SQL_T_DURATION: return "duration";
	case SQL_T_BOOL: return "condition";
	case SQL_T_STR: return "string";
	}
	return "value";
}

static bool is_num(enum sql_type t)
{
	return t == SQL_T_INT || t == SQL_T_UINT;
}

/* ---- tables and columns ---- */

/* "pid, tid, comm, ..." for hints (at most ~120 characters). */
static void column_list(const struct sql_table *t, char *buf, size_t sz)
{
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < t->ncols; i++) {
		size_t need = strlen(t->cols[i].name) + 2;
		if (n + need > 110 && i + 1 < t->ncols) {
			snprintf(buf + n, sz - n, ", ... (%zu more; `safebpf tables %s`)", t->ncols - i, t->name);
			return;
		}
		n += (size_t)snprintf(buf + n, sz - n, "%s%s", i ? ", " : "", t->cols[i].name);
		if (n >= sz)
			return;
	}
}

static int suggest_column(const struct sql_table *t, const char *name, const char **best)
{
	const char **cands = malloc((t->ncols * 2 + 1) * sizeof(*cands));
	if (!cands)
		return -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < t->ncols; i++) {
		cands[n++] = t->cols[i].name;
		if (t->cols[i].alias)
			cands[n++] = t->cols[i].alias;
	}
	*best = sbpf_suggest(name, cands, n);
	free(cands);
	return 0;
}

static int select_alias_index(const struct binder *b, const char *name)
{
	for (size_t i = 0; i < b->nsel; i++)
		if (b->selalias[i] && !strcasecmp(b->selalias[i], name))
			return (int)i;
	return -1;
}

/* Unknown column @e->name: message with a suggestion, hint with the columns. */
static int unknown_column(struct binder *b, struct sql_expr *e, int side, enum place where)
{
	const struct sql_query *q = b->q;
	const char *best = NULL;
	char hint[256];
	char in[160];
	if (side >= 0) {
		if (suggest_column(q->tables[side], e->name, &best))
			return nomem(b);
		snprintf(in, sizeof(in), "%s", q->tables[side]->name);
		char cols[200];
		column_list(q->tables[side], cols, sizeof(cols));
		snprintf(hint, sizeof(hint), "columns of %s: %s", q->tables[side]->name, cols);
	} else {
		int n = b->nvisible;
		for (int s = 0; s < n && !best; s++)
			if (suggest_column(q->tables[s], e->name, &best))
				return nomem(b);
		size_t il = 0, hl = (size_t)snprintf(hint, sizeof(hint), "`safebpf tables NAME` lists the columns of ");
		for (int s = 0; s < n; s++) {
			const char *sep = !s ? "" : s == n - 1 ? " or " : ", ";
			if (il < sizeof(in))
				il += (size_t)snprintf(in + il, sizeof(in) - il, "%s%s", sep, q->tables[s]->name);
			if (hl < sizeof(hint))
				hl += (size_t)snprintf(hint + hl, sizeof(hint) - hl, "%s%s", sep, q->tables[s]->name);
		}
	}
	if (!e->qual && (where == P_WHERE || where == P_GROUP || where == P_ON) &&
	    select_alias_index(b, e->name) >= 0) {
		snprintf(hint, sizeof(hint),
			 "'%s' is a name from the SELECT list; %s is computed before SELECT, so repeat the expression",
			 e->name, place_names[where]);
		best = NULL;
	}
	if (best)
		return berr(b, e->off, e->len, hint, "unknown column '%s' in %s — did you mean '%s'?", e->name, in,
			    best);
	return berr(b, e->off, e->len, hint, "unknown column '%s' in %s", e->name, in);
}

/* The names of the first @n tables of @q: "a", "a and b", "a, b and c". */
static void table_names(const struct sql_query *q, int n, char *buf, size_t sz)
{
	size_t l = 0;
	buf[0] = 0;
	for (int s = 0; s < n && l < sz; s++)
		l += (size_t)snprintf(buf + l, sz - l, "%s%s", !s ? "" : s == n - 1 ? " and " : ", ", q->names[s]);
}

/* The table reference of side @s. */
static const struct sql_table_ref *side_ref(const struct sql_query *q, int s)
{
	if (!q->stmt)
		return NULL;
	return s == 0 ? &q->stmt->from : s - 1 < (int)q->stmt->njoins ? &q->stmt->joins[s - 1].t : NULL;
}

/* A name (of side @side) of a table joined after the ON being bound. */
static int later_table(struct binder *b, struct sql_expr *e, int side)
{
	const struct sql_query *q = b->q;
	char hint[200];
	snprintf(hint, sizeof(hint), "the ON of a JOIN reads the tables joined so far; move the condition to the ON "
		 "of %s's JOIN, or to WHERE", q->names[side]);
	if (e->qual)
		return berr(b, e->off, (int)strlen(e->qual), hint,
			    "table %s is joined after this ON: it cannot be read here", q->names[side]);
	return berr(b, e->off, e->len, hint, "column '%s' is %s's, which is joined after this ON", e->name,
		    q->names[side]);
}

static int resolve_column(struct binder *b, struct sql_expr *e, enum place where)
{
	struct sql_query *q = b->q;
	int side = -1, nv = b->nvisible;
	if (e->qual) {
		for (int s = 0; s < q->ntables; s++)
			if (!strcasecmp(e->qual, q->names[s]))
				side = s;
		if (side >= nv)
			return later_table(b, e, side);
		if (side < 0) {
			for (int s = 0; s < nv; s++) {
				const struct sql_table_ref *r = side_ref(q, s);
				if (r && r->alias &&
				    (!strcasecmp(e->qual, q->tables[s]->name) ||
				     (q->tables[s]->alias && !strcasecmp(e->qual, q->tables[s]->alias)))) {
					char hint[128];
					snprintf(hint, sizeof(hint), "write %s.%s", q->names[s], e->name);
					return berr(b, e->off, (int)strlen(e->qual), hint,
						    "table %s is called '%s' in this query", q->tables[s]->name,
						    q->names[s]);
				}
			}
			const char *best = sbpf_suggest(e->qual, q->names, (size_t)nv);
			char hint[160], names[120];
			table_names(q, nv, names, sizeof(names));
			if (nv > 1)
				snprintf(hint, sizeof(hint), "the tables of this query are %s", names);
			else
				snprintf(hint, sizeof(hint), "the table of this query is %s", names);
			if (best)
				return berr(b, e->off, (int)strlen(e->qual), hint,
					    "unknown table or alias '%s' — did you mean '%s'?", e->qual, best);
			return berr(b, e->off, (int)strlen(e->qual), hint, "unknown table or alias '%s'", e->qual);
		}
		int c = sql_table_column(q->tables[side], e->name);
		if (c < 0)
			return unknown_column(b, e, side, where);
		e->side = side;
		e->col = c;
	} else {
		int found = 0;
		for (int s = 0; s < nv; s++) {
			int c = sql_table_column(q->tables[s], e->name);
			if (c >= 0) {
				if (found) {
					char hint[200], msg[160];
					size_t hl = (size_t)snprintf(hint, sizeof(hint), "write ");
					size_t ml = 0;
					msg[0] = 0;
					int k = 0, nhave = 0;
					for (int t = 0; t < nv; t++)
						nhave += sql_table_column(q->tables[t], e->name) >= 0;
					for (int t = 0; t < nv; t++) {
						if (sql_table_column(q->tables[t], e->name) < 0)
							continue;
						const char *sep = !k ? "" : k == nhave - 1 ? " or " : ", ";
						const char *msep = !k ? "" : k == nhave - 1 ? " and " : ", ";
						k++;
						if (hl < sizeof(hint))
							hl += (size_t)snprintf(hint + hl, sizeof(hint) - hl, "%s%s.%s", sep,
									       q->names[t], e->name);
						if (ml < sizeof(msg))
							ml += (size_t)snprintf(msg + ml, sizeof(msg) - ml, "%s%s", msep,
									       q->names[t]);
					}
					return berr(b, e->off, e->len, hint, "column '%s' is ambiguous: %s%s have it",
						    e->name, nhave == 2 ? "both " : "", msg);
				}
				found = 1;
				e->side = s;
				e->col = c;
			}
		}
		if (!found) {
			for (int s = nv; s < q->ntables; s++)
				if (sql_table_column(q->tables[s], e->name) >= 0)
					return later_table(b, e, s);
			return unknown_column(b, e, q->ntables == 1 ? 0 : -1, where);
		}
	}
	const struct sql_column *col = &q->tables[e->side]->cols[e->col];
	if (col->unusable)
		return berr(b, e->off, e->len, "`safebpf tables --usdt FILE` lists each probe's argument operands",
			    "column '%s' of %s cannot be read: %s", e->name, q->names[e->side], col->unusable);
	e->type = col->type;
	return 0;
}

/* ---- structural equality and copies ---- */

static bool value_same(const struct sql_value *a, const struct sql_value *b)
{
	if (a->type != b->type)
		return false;
	if (a->type == SQL_T_STR)
		return !strcmp(a->s, b->s);
	if (a->type == SQL_T_NULL)
		return true;
	return a->u == b->u;
}

static bool expr_equal(const struct sql_expr *x, const struct sql_expr *y)
{
	if (!x || !y)
		return x == y;
	if (x->kind != y->kind || x->op != y->op || x->negated != y->negated || x->nlist != y->nlist)
		return false;
	switch (x->kind) {
	case SQL_E_LIT:
		return value_same(&x->v, &y->v);
	case SQL_E_COLUMN:
		return x->side == y->side && x->col == y->col;
	case SQL_E_GROUPKEY:
	case SQL_E_AGGREF:
		return x->idx == y->idx;
	case SQL_E_CALL:
		if (x->fn != y->fn || x->v.u != y->v.u || x->distinct != y->distinct) /* v: PERCENTILE's p */
			return false;
		break;
	default:
		break;
	}
	for (size_t i = 0; i < x->nlist; i++)
		if (!expr_equal(x->list[i], y->list[i]))
			return false;
	return expr_equal(x->a, y->a) && expr_equal(x->b, y->b) && expr_equal(x->c, y->c);
}

static struct sql_expr *clone(struct binder *b, const struct sql_expr *e)
{
	if (!e)
		return NULL;
	struct sql_expr *c = sql_arena_alloc(b->a, sizeof(*c));
	if (!c) {
		nomem(b);
		return NULL;
	}
	*c = *e;
	if ((e->a && !(c->a = clone(b, e->a))) || (e->b && !(c->b = clone(b, e->b))) ||
	    (e->c && !(c->c = clone(b, e->c))))
		return NULL;
	if (e->nlist) {
		if (!(c->list = sql_arena_alloc(b->a, e->nlist * sizeof(*c->list)))) {
			nomem(b);
			return NULL;
		}
		for (size_t i = 0; i < e->nlist; i++)
			if (!(c->list[i] = clone(b, e->list[i])))
				return NULL;
	}
	return c;
}

static bool contains_kind(const struct sql_expr *e, enum sql_expr_kind k)
{
	if (!e)
		return false;
	if (e->kind == k)
		return true;
	for (size_t i = 0; i < e->nlist; i++)
		if (contains_kind(e->list[i], k))
			return true;
	return contains_kind(e->a, k) || contains_kind(e->b, k) || contains_kind(e->c, k);
}

unsigned sql_expr_sides(const struct sql_expr *e)
{
	if (!e)
		return 0;
	unsigned s = e->kind == SQL_E_COLUMN ? 1u << e->side : 0;
	for (size_t i = 0; i < e->nlist; i++)
		s |= sql_expr_sides(e->list[i]);
	return s | sql_expr_sides(e->a) | sql_expr_sides(e->b) | sql_expr_sides(e->c);
}

/* ---- types ---- */

/* Common type of two values that may be compared or merged (CASE branches,
 * IN lists), or SQL_T_NULL when they cannot. @ok says whether they can. */
static enum sql_type unify(enum sql_type x, enum sql_type y, bool *ok)
{
	*ok = true;
	if (x == SQL_T_NULL)
		return y;
	if (y == SQL_T_NULL)
		return x;
	if (is_num(x) && is_num(y))
		return x == SQL_T_UINT && y == SQL_T_UINT ? SQL_T_UINT : SQL_T_INT;
	if (x == y)
		return x;
	*ok = false;
	return SQL_T_NULL;
}

/* Hint for two types that do not mix. */
static const char *mix_hint(enum sql_type x, enum sql_type y)
{
	if ((x == SQL_T_STR && is_num(y)) || (y == SQL_T_STR && is_num(x)))
		return "numbers are not strings; turn a number into a name with a function such as syscall_name(n)";
	if ((x == SQL_T_DURATION && is_num(y)) || (y == SQL_T_DURATION && is_num(x)))
		return "write a duration with a unit, such as 10ms, or convert the duration with usec(...)";
	if ((x == SQL_T_TIME && y == SQL_T_DURATION) || (y == SQL_T_TIME && x == SQL_T_DURATION))
		return "a time is an instant and a duration a length; subtract two times to get a duration";
	if ((x == SQL_T_TIME && is_num(y)) || (y == SQL_T_TIME && is_num(x)))
		return "times are nanoseconds since boot; compare them with other times, or convert with sec(...)";
	if (x == SQL_T_BOOL || y == SQL_T_BOOL)
		return "a condition is true or false; compare it with TRUE or FALSE only";
	return NULL;
}

static const char *op_text(enum sql_op op)
{
	switch (op) {
	case SQL_OP_ADD: return "+";
	case SQL_OP_SUB: return "-";
	case SQL_OP_MUL: return "*";
	case SQL_OP_DIV: return "/";
	case SQL_OP_MOD: return "%";
	case SQL_OP_BITAND: return "&";
	case SQL_OP_BITOR: return "|";
	case SQL_OP_EQ: return "=";
	case SQL_OP_NE: return "!=";
	case SQL_OP_LT: return "<";
	case SQL_OP_LE: return "<=";
	case SQL_OP_GT: return ">";
	case SQL_OP_GE: return ">=";
	case SQL_OP_AND: return "AND";
	case SQL_OP_OR: return "OR";
	case SQL_OP_NOT: return "NOT";
	case SQL_OP_NEG: return "-";
	default: return "?";
	}
}

/* Result type of arithmetic @x op @y, or SQL_T_NULL (with @ok false).
 * Integers (docs/sql.md "Integer types"): u64 op u64 is u64, anything
 * else with an s64 is s64 (the caller has already let a literal adopt the
 * type of the other operand, see adopts()). */
static enum sql_type arith_type(enum sql_op op, enum sql_type x, enum sql_type y, bool *ok)
{
	*ok = true;
	if (x == SQL_T_NULL && y == SQL_T_NULL)
		return SQL_T_NULL;
	/* NULL adopts the other operand's role. */
	if (x == SQL_T_NULL)
		x = y;
	if (y == SQL_T_NULL)
		y = x;
	enum sql_type num = x == SQL_T_UINT && y == SQL_T_UINT ? SQL_T_UINT : SQL_T_INT;
	enum sql_type D = SQL_T_DURATION, T = SQL_T_TIME;
	switch (op) {
	case SQL_OP_ADD:
		if (is_num(x) && is_num(y)) return num;
		if (x == D && y == D) return D;
		if ((x == T && y == D) || (x == D && y == T)) return T;
		break;
	case SQL_OP_SUB:
		if (is_num(x) && is_num(y)) return num;
		if (x == T && y == T) return D;
		if (x == T && y == D) return T;
		if (x == D && y == D) return D;
		break;
	case SQL_OP_MUL:
		if (is_num(x) && is_num(y)) return num;
		if ((x == D && is_num(y)) || (is_num(x) && y == D)) return D;
		break;
	case SQL_OP_DIV:
		if (is_num(x) && is_num(y)) return num;
		if (x == D && is_num(y)) return D;
		if (x == D && y == D) return SQL_T_INT;
		break;
	case SQL_OP_MOD:
		if (is_num(x) && is_num(y)) return num;
		if (x == D && y == D) return D;
		break;
	case SQL_OP_BITAND:
	case SQL_OP_BITOR:
		if (is_num(x) && is_num(y)) return num;
		break;
	default:
		break;
	}
	*ok = false;
	return SQL_T_NULL;
}

static const char *arith_hint(enum sql_op op, enum sql_type x, enum sql_type y)
{
	if (x == SQL_T_TIME && y == SQL_T_TIME && op == SQL_OP_ADD)
		return "subtract two times to get a duration: exit_ts - enter_ts";
	if ((x == SQL_T_STR) || (y == SQL_T_STR))
		return "strings support =, !=, <, >, LIKE and IN only";
	if (x == SQL_T_BOOL || y == SQL_T_BOOL)
		return "combine conditions with AND, OR and NOT";
	if ((x == SQL_T_DURATION && y == SQL_T_DURATION) && op == SQL_OP_MUL)
		return "multiply a duration by a number, e.g. 2 * latency";
	return mix_hint(x, y);
}

/* Whether @e is an integer literal that takes the type of the other operand
 * next to a u64 (a non-negative s64 literal: arg1 / 10 is u64 division). */
static bool adopts(const struct sql_expr *e)
{
	return e->kind == SQL_E_LIT && e->v.type == SQL_T_INT && e->v.i >= 0;
}

/* Integer types of operands @x and @y after literal adoption. */
static void adopt_types(const struct sql_expr *x, const struct sql_expr *y, enum sql_type *tx, enum sql_type *ty)
{
	*tx = x->type;
	*ty = y->type;
	if (*tx == SQL_T_UINT && adopts(y))
		*ty = SQL_T_UINT;
	if (*ty == SQL_T_UINT && adopts(x))
		*tx = SQL_T_UINT;
}

/* Whether the branches of CASE @e are all u64 or adopting literals (NULL
 * included), at least one u64: the CASE is then u64. */
static bool case_adopts_uint(const struct sql_expr *e)
{
	bool any = false;
	for (size_t i = 1; i <= e->nlist + 1; i += 2) {
		const struct sql_expr *t = i < e->nlist ? e->list[i] : e->c; /* THENs, then ELSE */
		if (!t)
			continue;
		if (t->type == SQL_T_UINT)
			any = true;
		else if (!adopts(t) && t->type != SQL_T_NULL)
			return false;
	}
	return any;
}

/* Constant folding: an arithmetic node over literals becomes the literal of
 * its value, computed by the executor itself (sql_eval), so a folded
 * constant is what every plan would compute; (5 + 5) then adopts a type as
 * the literal 10 does. A division by zero is not folded. */
static void fold(struct sql_expr *e)
{
	bool lits = e->a && e->a->kind == SQL_E_LIT && (!e->b || e->b->kind == SQL_E_LIT);
	if (!lits || (e->kind == SQL_E_UNARY && e->op != SQL_OP_NEG))
		return;
	if (e->type != SQL_T_INT && e->type != SQL_T_UINT && e->type != SQL_T_DURATION && e->type != SQL_T_TIME)
		return;
	struct sql_evalctx c = { 0 };
	struct sql_value v = sql_eval(&c, e);
	if (v.type == SQL_T_NULL)
		return; /* 1 / 0: stays an expression (NULL when evaluated), keeping its type */
	e->kind = SQL_E_LIT;
	e->v = v;
	e->a = e->b = NULL;
	e->op = SQL_OP_NONE;
}

/* ---- expressions ---- */

static int bind_expr(struct binder *b, struct sql_expr *e, enum place where);

static int want_condition(struct binder *b, struct sql_expr *e, const char *what)
{
	if (e->type == SQL_T_BOOL || e->type == SQL_T_NULL)
		return 0;
	return berr(b, e->off, e->len, "compare it with something, e.g. x > 0 or name = 'bash'",
		    "%s needs a condition, but this is a %s", what, sql_type_name(e->type));
}

/* For a number column compared with a string: the function that names it. */
static const char *naming_function(const struct binder *b, const struct sql_expr *e)
{
	if (e->kind != SQL_E_COLUMN || e->side < 0)
		return NULL;
	const char *n = b->q->tables[e->side]->cols[e->col].name;
	if (!strcmp(n, "syscall_number"))
		return "syscall_name";
	if (!strcmp(n, "sig"))
		return "signal_name";
	if (!strcmp(n, "ret") || !strcmp(n, "error"))
		return "errno_name";
	return NULL;
}

static int check_comparable(struct binder *b, struct sql_expr *at, const struct sql_expr *x,
			    const struct sql_expr *y, const char *what)
{
	bool ok;
	unify(x->type, y->type, &ok);
	if (ok)
		return 0;
	char hint[200];
	const struct sql_expr *num = is_num(x->type) ? x : y, *str = x->type == SQL_T_STR ? x : y;
	const char *fn = str->type == SQL_T_STR && is_num(num->type) ? naming_function(b, num) : NULL;
	if (fn)
		snprintf(hint, sizeof(hint), "compare names with names: %s(%s) = %.*s", fn, num->name, str->len,
			 b->text + str->off);
	else
		snprintf(hint, sizeof(hint), "%s", mix_hint(x->type, y->type) ? mix_hint(x->type, y->type) : "");
	return berr(b, at->off, at->len, hint[0] ? hint : NULL, "cannot %s a %s with a %s", what,
		    sql_type_name(x->type), sql_type_name(y->type));
}

/* Registers the aggregate call @e (arguments bound) and turns it into an
 * AGGREF node; an identical aggregate already registered is reused. */
static int add_aggregate(struct binder *b, struct sql_expr *e, const struct sql_aggdef *def)
{
	struct sql_query *q = b->q;
	struct sql_agg ag = { .kind = e->distinct ? SQL_AGG_COUNT_DISTINCT : def->kind,
			      .ppm = def->ppm ? def->ppm : (uint32_t)e->v.u, .call = e };
	const char *fname = def->name;
	size_t want = def->kind == SQL_AGG_LHIST ? 4 : 1;
	char upper[16];
	size_t k;
	for (k = 0; fname[k] && k + 1 < sizeof(upper); k++)
		upper[k] = (char)(fname[k] >= 'a' && fname[k] <= 'z' ? fname[k] - 32 : fname[k]);
	upper[k] = '\0';
	if (e->nlist != want)
		return berr(b, e->off, e->len, def->signature, "%s takes %zu argument%s", upper, want,
			    want > 1 ? "s" : "");
	struct sql_expr *x = e->list[0];
	if (x->kind == SQL_E_STAR) {
		if (def->kind != SQL_AGG_COUNT)
			return berr(b, x->off, x->len, def->signature, "only COUNT accepts *");
	} else {
		ag.arg = x;
	}
	enum sql_type t = ag.arg ? ag.arg->type : SQL_T_INT;
	switch (ag.kind) {
	case SQL_AGG_COUNT:
	case SQL_AGG_COUNT_DISTINCT:
		ag.type = SQL_T_INT;
		break;
	case SQL_AGG_SUM:
	case SQL_AGG_AVG:
		if (!is_num(t) && t != SQL_T_DURATION && t != SQL_T_NULL)
			return berr(b, x->off, x->len,
				    t == SQL_T_TIME ? "subtract two times to get a duration: SUM(exit_ts - enter_ts)" : NULL,
				    "%s needs a number or a duration, not a %s", upper, sql_type_name(t));
		ag.type = t == SQL_T_NULL ? SQL_T_INT : t;
		break;
	case SQL_AGG_MIN:
	case SQL_AGG_MAX:
		if (!is_num(t) && t != SQL_T_DURATION && t != SQL_T_TIME && t != SQL_T_NULL)
			return berr(b, x->off, x->len,
				    t == SQL_T_STR ? "group by the string instead: GROUP BY comm" : NULL,
				    "%s needs a number, duration or time, not a %s", upper, sql_type_name(t));
		ag.type = t == SQL_T_NULL ? SQL_T_INT : t;
		break;
	case SQL_AGG_HIST:
	case SQL_AGG_LHIST:
	case SQL_AGG_QUANTILE:
		if (!is_num(t) && t != SQL_T_DURATION && t != SQL_T_NULL)
			return berr(b, x->off, x->len,
				    t == SQL_T_TIME ? "subtract two times to get a duration: exit_ts - enter_ts" : NULL,
				    "%s needs a number or a duration, not a %s", upper, sql_type_name(t));
		ag.type = def->kind == SQL_AGG_QUANTILE ? (t == SQL_T_DURATION ? t : SQL_T_INT) : SQL_T_NULL;
		break;
	}
	if (def->kind == SQL_AGG_LHIST) {
		int64_t par[3];
		for (int i = 0; i < 3; i++) {
			struct sql_expr *p = e->list[i + 1];
			bool dur = t == SQL_T_DURATION;
			if (p->kind != SQL_E_LIT || (dur ? p->v.type != SQL_T_DURATION : p->v.type != SQL_T_INT))
				return berr(b, p->off, p->len, "LHIST(x, min, max, step) with constant bounds",
					    "LHIST %s must be a constant %s", i == 0 ? "min" : i == 1 ? "max" : "step",
					    dur ? "duration such as 10us (x is a duration)" : "integer");
			par[i] = p->v.i;
		}
		if (par[2] <= 0)
			return berr(b, e->list[3]->off, e->list[3]->len, NULL, "LHIST step must be positive");
		if (par[1] <= par[0])
			return berr(b, e->list[2]->off, e->list[2]->len, NULL, "LHIST max must be above min");
		if ((uint64_t)(par[1] - par[0]) / (uint64_t)par[2] > 1000)
			return berr(b, e->off, e->len, "use a larger step, or HIST(x) for a log2 histogram",
				    "LHIST would have more than 1000 buckets");
		ag.lmin = par[0];
		ag.lmax = par[1];
		ag.lstep = par[2];
	}
	/* Reuse an identical aggregate. */
	for (size_t i = 0; i < q->naggs; i++) {
		struct sql_agg *o = &q->aggs[i];
		if (o->kind == ag.kind && o->ppm == ag.ppm && expr_equal(o->arg, ag.arg) &&
		    o->lmin == ag.lmin && o->lmax == ag.lmax && o->lstep == ag.lstep) {
			e->kind = SQL_E_AGGREF;
			e->idx = (int)i;
			e->type = o->type;
			return 0;
		}
	}
	if (q->naggs == b->aggcap) {
		size_t ncap = b->aggcap ? b->aggcap * 2 : 8;
		struct sql_agg *na = sql_arena_alloc(b->a, ncap * sizeof(*na));
		if (!na)
			return nomem(b);
		if (q->naggs)
			memcpy(na, q->aggs, q->naggs * sizeof(*na));
		q->aggs = na;
		b->aggcap = ncap;
	}
	/* The call node becomes the reference; keep a copy for explain. */
	struct sql_expr *call = clone(b, e);
	if (!call)
		return b->rc;
	ag.call = call;
	q->aggs[q->naggs] = ag;
	e->kind = SQL_E_AGGREF;
	e->idx = (int)q->naggs++;
	e->type = ag.type;
	return 0;
}

/* str(ptr[, len]) / kstr(ptr[, len]): becomes a reference to a string
 * column derived from the pointer column for this query (strptr.c). */
static int bind_strptr(struct binder *b, struct sql_expr *e, bool user, enum place where)
{
	const char *sig = user ? "str(address_column, max_bytes) reads user memory: max_bytes 1 to 1024 "
				 "(str(arg0) alone on a user function's register: 64)"
			       : "kstr(address_column[, max_bytes]) reads kernel memory: max_bytes 1 to 1024, default 64";
	const char *fn = user ? "str" : "kstr";
	if (e->nlist < 1 || e->nlist > 2)
		return berr(b, e->off, e->len, sig, "%s() takes 1 to 2 arguments, not %zu", fn, e->nlist);
	struct sql_expr *p = e->list[0];
	if (p->kind == SQL_E_STAR)
		return berr(b, p->off, 1, sig, "only COUNT accepts *");
	if (p->kind != SQL_E_COLUMN)
		return berr(b, p->off, p->len, sig,
			    "%s() reads the string at the address in a column: its first argument must be a column "
			    "(arg0, retval, ...), not an expression", fn);
	if (bind_expr(b, p, where))
		return b->rc;
	const struct sql_column *c = &b->q->tables[p->side]->cols[p->col];
	char why[200];
	if (sql_strptr_refusal(b->q->tables[p->side], (size_t)p->col, why, sizeof(why)))
		return berr(b, p->off, p->len, sig, "%s() of %s column '%s': %s", fn, sql_type_name(c->type),
			    c->name, why);
	unsigned len = SQL_STR_DEFAULT;
	if (e->nlist == 2) {
		struct sql_expr *l = e->list[1];
		if (l->kind != SQL_E_LIT || (l->v.type != SQL_T_INT && l->v.type != SQL_T_UINT) ||
		    l->v.i < 1 || l->v.i > SQL_STR_MAX)
			return berr(b, l->off, l->len, sig,
				    "%s(): the length must be an integer from 1 to %d (the most bytes kept)", fn,
				    SQL_STR_MAX);
		len = (unsigned)l->v.i;
	}
	int col = sql_strptr_column(b->a, b->q, p->side, p->col, user, len);
	if (col < 0)
		return nomem(b);
	const struct sql_table *t = b->q->tables[p->side];
	e->kind = SQL_E_COLUMN;
	e->name = t->cols[col].name;
	e->qual = p->qual;
	e->side = p->side;
	e->col = col;
	e->type = SQL_T_STR;
	e->list = NULL;
	e->nlist = 0;
	return 0;
}

static int bind_call(struct binder *b, struct sql_expr *e, enum place where)
{
	bool user;
	if (sql_strptr_name(e->name, &user) && !e->distinct) {
		/* kstr(p[, n]) and str(p, n) always read memory; str(x) reads it
		 * when x is a 64-bit argument or return register of a user
		 * function or USDT probe (as in bpftrace), else it is the text of
		 * any value (func.c). */
		bool reads = !user || e->nlist == 2;
		if (!reads && e->nlist == 1 && e->list[0]->kind == SQL_E_COLUMN) {
			if (bind_expr(b, e->list[0], where))
				return b->rc;
			const struct sql_table *t = b->q->tables[e->list[0]->side];
			char why[200];
			reads = sql_utable_name(t->name) &&
				!sql_strptr_refusal(t, (size_t)e->list[0]->col, why, sizeof(why));
		}
		if (reads)
			return bind_strptr(b, e, user, where);
	}
	const struct sql_aggdef *def = sql_aggdef_find(e->name);
	if (def) {
		if (where == P_AGGARG)
			return berr(b, e->off, e->len, "compute the inner aggregate in a separate query",
				    "aggregates cannot be nested");
		if (where == P_WHERE)
			return berr(b, e->off, e->len, "filter groups with HAVING, which runs after aggregation",
				    "aggregate functions are not allowed in WHERE");
		if (where == P_GROUP)
			return berr(b, e->off, e->len, "group by columns or expressions over columns",
				    "cannot GROUP BY an aggregate");
		if (where == P_ON)
			return berr(b, e->off, e->len, NULL, "aggregate functions are not allowed in JOIN ... ON");
		for (size_t i = 0; i < e->nlist; i++)
			if (e->list[i]->kind != SQL_E_STAR && bind_expr(b, e->list[i], P_AGGARG))
				return b->rc;
		return add_aggregate(b, e, def);
	}
	const struct sql_func *fn = sql_func_find(e->name);
	if (!fn) {
		const char *names[64];
		size_t n = 0;
		for (size_t i = 0; i < sql_func_count() && n < 64; i++)
			if (!strpbrk(sql_func_get(i)->name, " |")) /* not the syntax-only ones */
				names[n++] = sql_func_get(i)->name;
		for (size_t i = 0; i < sql_aggdef_count() && n < 64; i++)
			names[n++] = sql_aggdef_get(i)->name;
		const char *best = sbpf_suggest(e->name, names, n);
		const char *hint = "functions are listed in docs/sql.md";
		if (best)
			return berr(b, e->off, (int)strlen(e->name), hint, "unknown function '%s' — did you mean '%s'?",
				    e->name, best);
		return berr(b, e->off, (int)strlen(e->name), hint, "unknown function '%s'", e->name);
	}
	int most = fn->max_args ? fn->max_args : fn->nargs;
	if (e->nlist < (size_t)fn->nargs || e->nlist > (size_t)most) {
		if (most == fn->nargs)
			return berr(b, e->off, e->len, fn->signature, "%s() takes %d argument%s, not %zu", fn->name,
				    fn->nargs, fn->nargs == 1 ? "" : "s", e->nlist);
		return berr(b, e->off, e->len, fn->signature, "%s() takes %d to %d arguments, not %zu", fn->name,
			    fn->nargs, most, e->nlist);
	}
	enum sql_type types[SQL_FUNC_MAX_ARGS] = { SQL_T_NULL };
	for (size_t i = 0; i < e->nlist; i++) {
		if (e->list[i]->kind == SQL_E_STAR)
			return berr(b, e->list[i]->off, 1, fn->signature, "only COUNT accepts *");
		if (bind_expr(b, e->list[i], where))
			return b->rc;
		types[i] = e->list[i]->type;
	}
	char why[160] = "";
	enum sql_type t = fn->check(types, e->nlist, why, sizeof(why));
	if (t == SQL_T_NULL)
		return berr(b, e->list[0]->off, e->list[0]->len, fn->signature,
			    strpbrk(fn->name, " |") ? "%s: %s" : "%s() %s", /* CAST, ||: the syntax */
			    strpbrk(fn->name, " |") ? fn->signature : fn->name, why);
	e->fn = fn;
	e->type = t;
	return 0;
}

/* Binds @e in place: resolves names, computes e->type, turns aggregate calls
 * into AGGREF nodes. Returns 0 or the (sticky) error. */
static int bind_expr(struct binder *b, struct sql_expr *e, enum place where)
{
	bool ok = true;
	switch (e->kind) {
	case SQL_E_LIT:
		e->type = e->v.type;
		return 0;
	case SQL_E_STAR:
		return berr(b, e->off, e->len, NULL, "* is only allowed in COUNT(*) and SELECT *");
	case SQL_E_COLUMN:
		return resolve_column(b, e, where);
	case SQL_E_CALL:
		return bind_call(b, e, where);
	case SQL_E_GROUPKEY:
	case SQL_E_AGGREF:
		return 0;
	case SQL_E_UNARY:
		if (bind_expr(b, e->a, where))
			return b->rc;
		if (e->op == SQL_OP_NOT) {
			if (e->a->type != SQL_T_BOOL && e->a->type != SQL_T_NULL)
				return berr(b, e->a->off, e->a->len, "NOT negates a condition, e.g. NOT (pid = 1)",
					    "NOT needs a condition, not a %s", sql_type_name(e->a->type));
			e->type = SQL_T_BOOL;
			return 0;
		}
		if (!is_num(e->a->type) && e->a->type != SQL_T_DURATION && e->a->type != SQL_T_NULL)
			return berr(b, e->off, e->len, NULL, "cannot negate a %s", sql_type_name(e->a->type));
		e->type = e->a->type == SQL_T_UINT ? SQL_T_INT : e->a->type;
		fold(e);
		return 0;
	case SQL_E_BINARY:
		if (bind_expr(b, e->a, where) || bind_expr(b, e->b, where))
			return b->rc;
		switch (e->op) {
		case SQL_OP_AND:
		case SQL_OP_OR:
			if (want_condition(b, e->a, e->op == SQL_OP_AND ? "AND" : "OR") ||
			    want_condition(b, e->b, e->op == SQL_OP_AND ? "AND" : "OR"))
				return b->rc;
			e->type = SQL_T_BOOL;
			return 0;
		case SQL_OP_EQ:
		case SQL_OP_NE:
		case SQL_OP_LT:
		case SQL_OP_LE:
		case SQL_OP_GT:
		case SQL_OP_GE:
			if (check_comparable(b, e, e->a, e->b, "compare"))
				return b->rc;
			if (e->op != SQL_OP_EQ && e->op != SQL_OP_NE &&
			    (e->a->type == SQL_T_BOOL || e->b->type == SQL_T_BOOL))
				return berr(b, e->off, e->len, "conditions can only be tested with = and !=",
					    "conditions have no order");
			e->type = SQL_T_BOOL;
			return 0;
		default: {
			enum sql_type tx, ty;
			adopt_types(e->a, e->b, &tx, &ty);
			e->type = arith_type(e->op, tx, ty, &ok);
			if (!ok)
				return berr(b, e->off, e->len, arith_hint(e->op, e->a->type, e->b->type),
					    "cannot compute %s %s %s", sql_type_name(e->a->type), op_text(e->op),
					    sql_type_name(e->b->type));
			fold(e);
			return 0;
		}
		}
	case SQL_E_IN:
		if (bind_expr(b, e->a, where))
			return b->rc;
		for (size_t i = 0; i < e->nlist; i++)
			if (bind_expr(b, e->list[i], where) || check_comparable(b, e->list[i], e->a, e->list[i], "compare"))
				return b->rc;
		e->type = SQL_T_BOOL;
		return 0;
	case SQL_E_BETWEEN:
		if (bind_expr(b, e->a, where) || bind_expr(b, e->b, where) || bind_expr(b, e->c, where) ||
		    check_comparable(b, e->b, e->a, e->b, "compare") || check_comparable(b, e->c, e->a, e->c, "compare"))
			return b->rc;
		if (e->a->type == SQL_T_BOOL)
			return berr(b, e->off, e->len, NULL, "conditions have no order");
		e->type = SQL_T_BOOL;
		return 0;
	case SQL_E_LIKE:
		if (bind_expr(b, e->a, where) || bind_expr(b, e->b, where))
			return b->rc;
		if (e->a->type != SQL_T_STR && e->a->type != SQL_T_NULL)
			return berr(b, e->a->off, e->a->len, "LIKE matches strings such as comm or a path",
				    "LIKE needs a string, not a %s", sql_type_name(e->a->type));
		if (e->b->type != SQL_T_STR && e->b->type != SQL_T_NULL)
			return berr(b, e->b->off, e->b->len, "patterns are strings: '%%.so' (%% any text, _ one character)",
				    "a LIKE pattern must be a string, not a %s", sql_type_name(e->b->type));
		e->type = SQL_T_BOOL;
		return 0;
	case SQL_E_ISNULL:
		if (bind_expr(b, e->a, where))
			return b->rc;
		e->type = SQL_T_BOOL;
		return 0;
	case SQL_E_CASE: {
		if (e->a && bind_expr(b, e->a, where))
			return b->rc;
		enum sql_type rt = SQL_T_NULL;
		for (size_t i = 0; i + 1 < e->nlist; i += 2) {
			struct sql_expr *w = e->list[i], *t = e->list[i + 1];
			if (bind_expr(b, w, where) || bind_expr(b, t, where))
				return b->rc;
			if (e->a ? check_comparable(b, w, e->a, w, "compare") : want_condition(b, w, "WHEN"))
				return b->rc;
			enum sql_type nt = unify(rt, t->type, &ok);
			if (!ok)
				return berr(b, t->off, t->len, "every THEN and ELSE must give the same type",
					    "CASE branches mix a %s and a %s", sql_type_name(rt), sql_type_name(t->type));
			rt = nt;
		}
		if (e->c) {
			if (bind_expr(b, e->c, where))
				return b->rc;
			enum sql_type nt = unify(rt, e->c->type, &ok);
			if (!ok)
				return berr(b, e->c->off, e->c->len, "every THEN and ELSE must give the same type",
					    "CASE branches mix a %s and a %s", sql_type_name(rt), sql_type_name(e->c->type));
			rt = nt;
		}
		if (rt == SQL_T_INT && case_adopts_uint(e))
			rt = SQL_T_UINT;
		e->type = rt;
		return 0;
	}
	}
	return 0;
}

/* ---- clauses ---- */

/* The error for a dotted table name that names no tracepoint of this
 * kernel, with the closest tracepoint as a hint. */
static int bind_tracepoint_error(struct binder *b, const struct sql_table_ref *r)
{
	char err[300], tp[128], hint[300] = "";
	const char *t = sql_tptable_find(r->name, err, sizeof(err)) ? NULL : err;
	if (!sql_tptable_path(r->name, tp, sizeof(tp))) {
		char **all;
		size_t n;
		if (!sql_tptable_list(&all, &n)) {
			const char *best = sbpf_suggest(tp, (const char *const *)all, n);
			if (best) {
				const char *sl = strchr(best, '/');
				snprintf(hint, sizeof(hint), "did you mean %.*s.%s? (`safebpf tables --all` lists them)",
					 (int)(sl - best), best, sl + 1);
			}
			sql_tptable_list_free(all, n);
		}
	}
	if (!hint[0])
		snprintf(hint, sizeof(hint), "`safebpf tables --all` lists the tracepoints of this kernel");
	return berr(b, r->off, r->len, hint, "unknown table '%s': %s", r->name, t ? t : "not a table");
}

static int bind_tables(struct binder *b, struct sql_stmt *st)
{
	struct sql_query *q = b->q;
	q->ntables = 1 + (int)st->njoins;
	for (int s = 0; s < q->ntables; s++) {
		const struct sql_table_ref *r = side_ref(q, s);
		const struct sql_table *t = sql_catalog_find(r->name);
		if (!t && sql_utable_name(r->name)) {
			char err[600];
			sql_utable_find(r->name, err, sizeof(err));
			if (!strncmp(r->name, "usdt:", 5))
				return berr(b, r->off, r->len,
					    errno == ENODATA && strstr(err, "stapsdt")
						    ? "USDT probes come from <sys/sdt.h> (DTRACE_PROBE, STAP_PROBE) in the program"
					    : errno == ENOENT && strstr(err, "no USDT probe")
						    ? "`safebpf tables --usdt FILE` lists its probes"
					    : errno == EINVAL && strstr(err, "ambiguous") ? "write usdt('FILE', 'provider:name')"
					    : NULL, "%s", err);
			return berr(b, r->off, r->len,
				    errno == ENODATA ? "a stripped binary has no symbols: probe an unstripped build"
				    : errno == ENOENT && strstr(err, "no function") ? "`nm -D FILE` or `nm FILE` lists its functions"
				    : NULL, "%s", err);
		}
		if (!t && strchr(r->name, '.'))
			return bind_tracepoint_error(b, r);
		if (!t) {
			size_t n = sql_catalog_count();
			const char **names = malloc((2 * n + 1) * sizeof(*names));
			if (!names)
				return nomem(b);
			size_t k = 0;
			for (size_t i = 0; i < n; i++) {
				names[k++] = sql_catalog_get(i)->name;
				if (sql_catalog_get(i)->alias)
					names[k++] = sql_catalog_get(i)->alias;
			}
			const char *best = sbpf_suggest(r->name, names, k);
			char hint[384];
			size_t hn = (size_t)snprintf(hint, sizeof(hint), "tables:");
			for (size_t i = 0; i < n && hn < sizeof(hint); i++)
				hn += (size_t)snprintf(hint + hn, sizeof(hint) - hn, "%s %s", i ? "," : "",
						       sql_catalog_get(i)->name);
			if (hn >= sizeof(hint) - 1)
				snprintf(hint, sizeof(hint), "run `safebpf tables` to list them");
			int rc = best ? berr(b, r->off, r->len, hint, "unknown table '%s' — did you mean '%s'?", r->name,
					      best)
				      : berr(b, r->off, r->len, hint, "unknown table '%s'", r->name);
			free(names);
			return rc;
		}
		q->tables[s] = t;
		/* A dotted (tracepoint) table is called by its event name. */
		q->names[s] = r->alias ? r->alias
			    : sql_utable_name(r->name) ? strrchr(r->name, ':') + 1 /* a function by its name */
			    : strrchr(r->name, '.') ? strrchr(r->name, '.') + 1 : r->name;
	}
	/* One event source per distinct table: a table joined with itself
	 * reads one stream that feeds each of its sides. */
	for (int s = 0; s < q->ntables; s++) {
		q->source[s] = q->nsources;
		for (int e = 0; e < s; e++)
			if (q->tables[e] == q->tables[s]) {
				q->source[s] = q->source[e];
				q->self_join = true;
				break;
			}
		if (q->source[s] == q->nsources)
			q->nsources++;
		for (int e = 0; e < s; e++)
			if (!strcasecmp(q->names[e], q->names[s])) {
				const struct sql_table_ref *r = side_ref(q, s);
				return berr(b, r->alias ? r->alias_off : r->off, r->alias ? r->alias_len : r->len,
					    "give each table its own alias", "two tables are called '%s'", q->names[s]);
			}
	}
	return 0;
}

/* JOIN ... ON a = b [AND c = d ...] of side @k's JOIN: each conjunct an
 * equality between an expression over the tables joined before (sides < k)
 * and one over side k's table. */
static int collect_join_keys(struct binder *b, struct sql_expr *e, int k)
{
	struct sql_query *q = b->q;
	struct sql_jstep *j = &q->join[k - 1];
	if (e->kind == SQL_E_BINARY && e->op == SQL_OP_AND)
		return collect_join_keys(b, e->a, k) || collect_join_keys(b, e->b, k) ? b->rc : 0;
	static const char hint[] = "JOIN ... ON takes equalities such as a.pid = b.pid joined by AND; "
				   "put other conditions in WHERE";
	if (e->kind != SQL_E_BINARY || e->op != SQL_OP_EQ)
		return berr(b, e->off, e->len, hint, "JOIN ... ON only takes equalities between %s tables",
			    k == 1 ? "the two" : "the");
	b->nvisible = k + 1;
	int rc = bind_expr(b, e, P_ON);
	b->nvisible = q->ntables;
	if (rc)
		return b->rc;
	unsigned sa = sql_expr_sides(e->a), sb = sql_expr_sides(e->b);
	unsigned right = 1u << k, before = right - 1;
	struct sql_expr *l, *r;
	if (sa && !(sa & ~before) && sb == right) {
		l = e->a;
		r = e->b;
	} else if (sb && !(sb & ~before) && sa == right) {
		l = e->b;
		r = e->a;
	} else if (k == 1) {
		return berr(b, e->off, e->len, hint,
			    "each side of a JOIN equality must read exactly one of the two tables");
	} else {
		char names[120], h[200];
		table_names(q, k, names, sizeof(names));
		snprintf(h, sizeof(h), "the ON of %s's JOIN takes equalities such as %s.pid = %s.pid joined by AND; "
			 "put other conditions in WHERE", q->names[k], q->names[k - 1], q->names[k]);
		return berr(b, e->off, e->len, h,
			    "each JOIN equality compares an expression over %s (joined before) with one over %s only",
			    names, q->names[k]);
	}
	struct sql_expr **nl = sql_arena_alloc(b->a, (j->nkeys + 1) * sizeof(*nl));
	struct sql_expr **nr = sql_arena_alloc(b->a, (j->nkeys + 1) * sizeof(*nr));
	if (!nl || !nr)
		return nomem(b);
	if (j->nkeys) {
		memcpy(nl, j->lkeys, j->nkeys * sizeof(*nl));
		memcpy(nr, j->rkeys, j->nkeys * sizeof(*nr));
	}
	nl[j->nkeys] = l;
	nr[j->nkeys] = r;
	j->lkeys = nl;
	j->rkeys = nr;
	j->nkeys++;
	return 0;
}

/* Select list with * expanded: fills b->sel / selname / selalias. */
static int expand_select(struct binder *b, struct sql_stmt *st)
{
	struct sql_query *q = b->q;
	size_t cap = 0;
	for (size_t i = 0; i < st->nitems; i++) {
		struct sql_select_item *it = &st->items[i];
		for (int t = 0; t < q->ntables; t++)
			cap += it->e ? t == 0 : q->tables[t]->ncols;
	}
	b->sel = sql_arena_alloc(b->a, cap * sizeof(*b->sel));
	b->selname = sql_arena_alloc(b->a, cap * sizeof(*b->selname));
	b->selalias = sql_arena_alloc(b->a, cap * sizeof(*b->selalias));
	if (!b->sel || !b->selname || !b->selalias)
		return nomem(b);
	for (size_t i = 0; i < st->nitems; i++) {
		struct sql_select_item *it = &st->items[i];
		if (it->e) {
			b->sel[b->nsel] = it->e;
			b->selalias[b->nsel] = it->alias;
			if (it->alias)
				b->selname[b->nsel] = it->alias;
			else if (it->e->kind == SQL_E_COLUMN)
				b->selname[b->nsel] = it->e->name;
			else if (!(b->selname[b->nsel] = sql_arena_strndup(b->a, b->text + it->off, (size_t)it->len)))
				return nomem(b);
			b->nsel++;
			continue;
		}
		int only = -1;
		if (it->star_qual) {
			for (int s = 0; s < q->ntables; s++)
				if (!strcasecmp(it->star_qual, q->names[s]))
					only = s;
			if (only < 0)
				return berr(b, it->off, (int)strlen(it->star_qual), NULL, "unknown table or alias '%s'",
					    it->star_qual);
		}
		for (int s = 0; s < q->ntables; s++) {
			if (only >= 0 && s != only)
				continue;
			const struct sql_table *t = q->tables[s];
			for (size_t c = 0; c < t->ncols; c++) {
				if (sql_column_is_stack(&t->cols[c]) || sql_column_is_derived(&t->cols[c]) || t->cols[c].unusable)
					continue; /* stacks are asked for by name */
				struct sql_expr *e = sql_arena_alloc(b->a, sizeof(*e));
				if (!e)
					return nomem(b);
				e->kind = SQL_E_COLUMN;
				e->off = it->off;
				e->len = it->len;
				e->name = t->cols[c].name;
				e->qual = q->names[s];
				e->side = s;
				e->col = (int)c;
				e->idx = -1;
				b->sel[b->nsel] = e;
				if (q->ntables > 1) {
					size_t n = strlen(q->names[s]) + strlen(t->cols[c].name) + 2;
					char *nm = sql_arena_alloc(b->a, n);
					if (!nm)
						return nomem(b);
					snprintf(nm, n, "%s.%s", q->names[s], t->cols[c].name);
					b->selname[b->nsel] = nm;
				} else {
					b->selname[b->nsel] = t->cols[c].name;
				}
				b->nsel++;
			}
		}
	}
	return 0;
}

static bool is_ordinal(const struct sql_expr *e)
{
	return e->kind == SQL_E_LIT && e->v.type == SQL_T_INT;
}

static int ordinal(struct binder *b, const struct sql_expr *e, const char *clause)
{
	if (e->v.i < 1 || (size_t)e->v.i > b->nsel)
		return berr(b, e->off, e->len, "a number here names a column of the select list, counting from 1",
			    "%s position %" PRId64 " is not in the select list (1..%zu)", clause, e->v.i, b->nsel),
		       -1;
	return (int)(e->v.i - 1);
}

static int add_key(struct binder *b, struct sql_expr *e)
{
	struct sql_query *q = b->q;
	if (q->nkeys == b->keycap) {
		size_t ncap = b->keycap ? b->keycap * 2 : 8;
		struct sql_expr **nk = sql_arena_alloc(b->a, ncap * sizeof(*nk));
		if (!nk)
			return nomem(b);
		if (q->nkeys)
			memcpy(nk, q->keys, q->nkeys * sizeof(*nk));
		q->keys = nk;
		b->keycap = ncap;
	}
	q->keys[q->nkeys++] = e;
	return 0;
}

static int bind_group(struct binder *b, struct sql_stmt *st)
{
	for (size_t i = 0; i < st->ngroup; i++) {
		struct sql_expr *e = st->group[i];
		if (is_ordinal(e)) {
			int k = ordinal(b, e, "GROUP BY");
			if (k < 0)
				return b->rc;
			if (contains_kind(b->sel[k], SQL_E_AGGREF))
				return berr(b, e->off, e->len, "group by columns or expressions over columns",
					    "cannot GROUP BY an aggregate");
			if (!(e = clone(b, b->sel[k])))
				return b->rc;
		} else if (e->kind == SQL_E_COLUMN && !e->qual && select_alias_index(b, e->name) >= 0) {
			/* An input column wins over a select alias of the same name. */
			bool is_column = false;
			for (int s = 0; s < b->q->ntables; s++)
				is_column |= sql_table_column(b->q->tables[s], e->name) >= 0;
			if (!is_column) {
				struct sql_expr *src = b->sel[select_alias_index(b, e->name)];
				if (contains_kind(src, SQL_E_AGGREF))
					return berr(b, e->off, e->len, "group by columns or expressions over columns",
						    "cannot GROUP BY an aggregate ('%s' is %.*s)", e->name, src->len,
						    b->text + src->off);
				if (!(e = clone(b, src)))
					return b->rc;
			} else if (bind_expr(b, e, P_GROUP)) {
				return b->rc;
			}
		} else if (bind_expr(b, e, P_GROUP)) {
			return b->rc;
		}
		bool dup = false;
		for (size_t k = 0; k < b->q->nkeys; k++)
			dup |= expr_equal(b->q->keys[k], e);
		if (!dup && add_key(b, e))
			return b->rc;
	}
	return 0;
}

/* In an aggregate query, rewrites @e (bound over rows) to read group keys
 * and aggregate results only. */
static int rewrite_grouped(struct binder *b, struct sql_expr *e, const char *where)
{
	struct sql_query *q = b->q;
	if (!e || e->kind == SQL_E_AGGREF || e->kind == SQL_E_GROUPKEY || e->kind == SQL_E_LIT)
		return 0;
	for (size_t i = 0; i < q->nkeys; i++)
		if (expr_equal(e, q->keys[i])) {
			e->kind = SQL_E_GROUPKEY;
			e->idx = (int)i;
			e->a = e->b = e->c = NULL;
			e->nlist = 0;
			return 0;
		}
	if (e->kind == SQL_E_COLUMN) {
		char hint[200];
		if (q->nkeys)
			snprintf(hint, sizeof(hint), "add %s to GROUP BY, or use it inside an aggregate such as COUNT(%s)",
				 e->name, e->name);
		else
			snprintf(hint, sizeof(hint), "add GROUP BY %s, or use it inside an aggregate such as MAX(%s)",
				 e->name, e->name);
		return berr(b, e->off, e->len, hint, "column '%s' in %s is neither grouped nor aggregated", e->name,
			    where);
	}
	if ((e->a && rewrite_grouped(b, e->a, where)) || (e->b && rewrite_grouped(b, e->b, where)) ||
	    (e->c && rewrite_grouped(b, e->c, where)))
		return b->rc;
	for (size_t i = 0; i < e->nlist; i++)
		if (rewrite_grouped(b, e->list[i], where))
			return b->rc;
	return 0;
}

/* HIST/LHIST may only stand alone as a select item. */
static int check_hist_use(struct binder *b, const struct sql_expr *e, bool top)
{
	if (!e)
		return 0;
	if (e->kind == SQL_E_AGGREF) {
		enum sql_agg_kind k = b->q->aggs[e->idx].kind;
		if ((k == SQL_AGG_HIST || k == SQL_AGG_LHIST) && !top)
			return berr(b, e->off, e->len, "select it as its own column: SELECT pid, HIST(latency) ...",
				    "a histogram can only be selected, not used in an expression");
		return 0;
	}
	if (check_hist_use(b, e->a, false) || check_hist_use(b, e->b, false) || check_hist_use(b, e->c, false))
		return b->rc;
	for (size_t i = 0; i < e->nlist; i++)
		if (check_hist_use(b, e->list[i], false))
			return b->rc;
	return 0;
}

/* Replaces, inside @e, unqualified names that are not input columns but
 * select aliases by (a copy of) the aliased expression: HAVING latency > 1ms. */
static int subst_aliases(struct binder *b, struct sql_expr *e)
{
	if (!e)
		return 0;
	if (e->kind == SQL_E_COLUMN && !e->qual && select_alias_index(b, e->name) >= 0) {
		for (int s = 0; s < b->q->ntables; s++)
			if (sql_table_column(b->q->tables[s], e->name) >= 0)
				return 0;
		size_t off = e->off;
		int len = e->len;
		struct sql_expr *c = clone(b, b->sel[select_alias_index(b, e->name)]);
		if (!c)
			return b->rc;
		*e = *c;
		e->off = off;
		e->len = len;
		return 0;
	}
	if (e->kind == SQL_E_AGGREF)
		return 0;
	if (subst_aliases(b, e->a) || subst_aliases(b, e->b) || subst_aliases(b, e->c))
		return b->rc;
	for (size_t i = 0; i < e->nlist; i++)
		if (subst_aliases(b, e->list[i]))
			return b->rc;
	return 0;
}

/* ORDER BY item -> sort key over output columns (ordinal, alias or equal
 * expression) or over the grouped/row context. */
static int bind_order(struct binder *b, struct sql_stmt *st)
{
	struct sql_query *q = b->q;
	if (!st->norder)
		return 0;
	q->order = sql_arena_alloc(b->a, st->norder * sizeof(*q->order));
	if (!q->order)
		return nomem(b);
	for (size_t i = 0; i < st->norder; i++) {
		struct sql_expr *e = st->order[i].e;
		q->order[i].desc = st->order[i].desc;
		int col = -1;
		if (is_ordinal(e)) {
			if ((col = ordinal(b, e, "ORDER BY")) < 0)
				return b->rc;
		} else if (e->kind == SQL_E_COLUMN && !e->qual && select_alias_index(b, e->name) >= 0) {
			col = select_alias_index(b, e->name);
		} else {
			if (subst_aliases(b, e) || bind_expr(b, e, P_ORDER))
				return b->rc;
			for (size_t c = 0; c < b->nsel && col < 0; c++)
				if (expr_equal(e, b->sel[c]))
					col = (int)c;
		}
		if (col >= 0) {
			if (!(e = clone(b, b->sel[col])))
				return b->rc;
		} else if (q->distinct && !q->aggregate) {
			return berr(b, e->off, e->len, "add it to the select list",
				    "with SELECT DISTINCT, ORDER BY can only use selected columns");
		}
		if (check_hist_use(b, e, false))
			return b->rc;
		q->order[i].e = e;
	}
	q->norder = st->norder;
	return 0;
}

static int finish_columns(struct binder *b)
{
	struct sql_query *q = b->q;
	q->cols = sql_arena_alloc(b->a, b->nsel * sizeof(*q->cols));
	if (!q->cols)
		return nomem(b);
	for (size_t i = 0; i < b->nsel; i++) {
		struct sql_outcol *c = &q->cols[i];
		c->name = b->selname[i];
		c->e = b->sel[i];
		c->type = c->e->type;
		if (c->e->kind == SQL_E_AGGREF) {
			enum sql_agg_kind k = q->aggs[c->e->idx].kind;
			if (k == SQL_AGG_HIST || k == SQL_AGG_LHIST)
				c->hist = c->e->idx + 1;
		}
	}
	q->ncols = b->nsel;
	return 0;
}

int sql_bind(struct sql_stmt *st, const char *text, const char *file, struct sql_arena *a,
	     struct sql_query *q, struct sbpf_diags *d)
{
	struct binder b = { .text = text, .file = file, .a = a, .d = d, .q = q };
	memset(q, 0, sizeof(*q));
	q->text = text;
	q->file = file;
	q->stmt = st;
	q->limit = st->limit;
	q->window_ns = st->window_ns;
	q->every_ns = st->every_ns;
	q->distinct = st->distinct;
	for (size_t k = 0; k < st->njoins; k++) {
		q->join[k].left = st->joins[k].left;
		q->join[k].within_ns = st->joins[k].within_ns;
	}
	if (bind_tables(&b, st))
		return b.rc;
	b.nvisible = q->ntables;
	for (size_t k = 0; k < st->njoins; k++)
		if (collect_join_keys(&b, st->joins[k].on, (int)k + 1))
			return b.rc;
	if (expand_select(&b, st))
		return b.rc;
	if (st->where) {
		if (bind_expr(&b, st->where, P_WHERE) || want_condition(&b, st->where, "WHERE"))
			return b.rc;
		q->where = st->where;
	}
	for (size_t i = 0; i < b.nsel; i++)
		if (bind_expr(&b, b.sel[i], P_SELECT) || check_hist_use(&b, b.sel[i], true))
			return b.rc;
	if (bind_group(&b, st))
		return b.rc;
	q->aggregate = st->ngroup > 0 || q->naggs > 0;
	if (st->having) {
		struct sql_expr *h = st->having;
		if (subst_aliases(&b, h) || bind_expr(&b, h, P_HAVING) || want_condition(&b, h, "HAVING") ||
		    check_hist_use(&b, h, false))
			return b.rc;
		if (!q->aggregate && !q->naggs)
			return berr(&b, st->having_off, 6, "filter rows with WHERE",
				    "HAVING needs GROUP BY or an aggregate");
		q->aggregate = true;
		q->having = h;
	}
	if (bind_order(&b, st))
		return b.rc;
	q->aggregate = q->aggregate || q->naggs > 0;
	if (q->aggregate) {
		for (size_t i = 0; i < b.nsel; i++)
			if (rewrite_grouped(&b, b.sel[i], "SELECT"))
				return b.rc;
		if (q->having && rewrite_grouped(&b, q->having, "HAVING"))
			return b.rc;
		for (size_t i = 0; i < q->norder; i++)
			if (rewrite_grouped(&b, q->order[i].e, "ORDER BY"))
				return b.rc;
	} else if (q->distinct) {
		/* DISTINCT rows: group by every selected expression. */
		q->distinct_groups = true;
		for (size_t i = 0; i < b.nsel; i++) {
			struct sql_expr *k = clone(&b, b.sel[i]);
			if (!k || add_key(&b, k))
				return b.rc;
		}
		for (size_t i = 0; i < b.nsel; i++)
			if (rewrite_grouped(&b, b.sel[i], "SELECT"))
				return b.rc;
		for (size_t i = 0; i < q->norder; i++)
			if (rewrite_grouped(&b, q->order[i].e, "ORDER BY"))
				return b.rc;
		q->distinct = false;
	}
	if (st->window_ns && !q->aggregate && !q->distinct_groups && !q->norder && q->limit < 0)
		return berr(&b, st->window_off, st->window_len,
			    "rows already stream as they happen; add an aggregate such as COUNT(*), or remove WINDOW",
			    "WINDOW needs an aggregate, ORDER BY, LIMIT or DISTINCT");
	/* A sliding window combines the states of its steps when it closes;
	 * rows that stream (LIMIT or DISTINCT alone) are gone by then. */
	if (st->every_ns && sql_query_streaming(q))
		return berr(&b, st->every_off, st->every_len,
			    "a sliding window needs an aggregate or ORDER BY: add COUNT(*), or use a tumbling WINDOW",
			    "EVERY needs an aggregate or ORDER BY (rows of this query stream as they happen)");
	return finish_columns(&b);
}

/* ---- printing ---- */

static void print_value(const struct sql_value *v, FILE *f)
{
	char buf[64];
	switch (v->type) {
	case SQL_T_NULL: fputs("NULL", f); break;
	case SQL_T_UINT: fprintf(f, "%" PRIu64, v->u); break;
	case SQL_T_BOOL: fputs(v->i ? "TRUE" : "FALSE", f); break;
	case SQL_T_DURATION:
		sql_fmt_duration(v->i, buf, sizeof(buf));
		fputs(buf, f);
		break;
	case SQL_T_STR:
		fputc('\'', f);
		for (const char *s = v->s; *s; s++) {
			if (*s == '\'')
				fputc('\'', f);
			fputc(*s, f);
		}
		fputc('\'', f);
		break;
	default: fprintf(f, "%" PRId64, v->i); break;
	}
}

/* Binding strength of @e's operator: parentheses are printed only around
 * an operand that binds less tightly than its context requires. */
static int prec(const struct sql_expr *e)
{
	switch (e->kind) {
	case SQL_E_BINARY:
		switch (e->op) {
		case SQL_OP_OR: return 1;
		case SQL_OP_AND: return 2;
		case SQL_OP_EQ: case SQL_OP_NE: case SQL_OP_LT: case SQL_OP_LE: case SQL_OP_GT: case SQL_OP_GE:
			return 4;
		case SQL_OP_BITAND: case SQL_OP_BITOR: return 5;
		case SQL_OP_ADD: case SQL_OP_SUB: return 6;
		default: return 7;
		}
	case SQL_E_UNARY:
		return e->op == SQL_OP_NOT ? 3 : 8;
	case SQL_E_IN: case SQL_E_BETWEEN: case SQL_E_LIKE: case SQL_E_ISNULL:
		return 4;
	default:
		return 9;
	}
}

static void print_prec(const struct sql_query *q, const struct sql_expr *e, int need, FILE *f);

/* The list operands of @e (call arguments, IN values), comma-separated. */
static void print_list(const struct sql_query *q, const struct sql_expr *e, FILE *f)
{
	for (size_t i = 0; i < e->nlist; i++) {
		if (i)
			fputs(", ", f);
		sql_expr_print(q, e->list[i], f);
	}
}

void sql_expr_print(const struct sql_query *q, const struct sql_expr *e, FILE *f)
{
	print_prec(q, e, 0, f);
}

static void print_prec(const struct sql_query *q, const struct sql_expr *e, int need, FILE *f)
{
	bool paren = prec(e) < need;
	if (paren)
		fputc('(', f);
	switch (e->kind) {
	case SQL_E_LIT:
		print_value(&e->v, f);
		break;
	case SQL_E_COLUMN:
		if (q && e->side >= 0 && sql_column_is_derived(&q->tables[e->side]->cols[e->col])) {
			/* "str(retval, 8)" -> str(name.retval, 8) */
			const char *n = q->tables[e->side]->cols[e->col].name, *open = strchr(n, '(');
			fprintf(f, "%.*s%s.%s", open ? (int)(open - n + 1) : 0, n, q->names[e->side], open ? open + 1 : n);
		} else if (q && e->side >= 0)
			fprintf(f, "%s.%s", q->names[e->side], q->tables[e->side]->cols[e->col].name);
		else
			fprintf(f, "%s%s%s", e->qual ? e->qual : "", e->qual ? "." : "", e->name);
		break;
	case SQL_E_STAR:
		fputc('*', f);
		break;
	case SQL_E_GROUPKEY:
		if (q && e->idx >= 0 && (size_t)e->idx < q->nkeys)
			sql_expr_print(q, q->keys[e->idx], f);
		else
			fprintf(f, "key%d", e->idx);
		break;
	case SQL_E_AGGREF:
		if (q && e->idx >= 0 && (size_t)e->idx < q->naggs && q->aggs[e->idx].call != e) {
			sql_expr_print(q, q->aggs[e->idx].call, f);
			break;
		}
		/* FALLTHROUGH: an aggregate's own call node prints as a call */
		__attribute__((fallthrough));
	case SQL_E_CALL: {
		const struct sql_aggdef *def = sql_aggdef_find(e->name);
		if (!strcmp(e->name, "||") && e->nlist == 2) {
			fputc('(', f);
			sql_expr_print(q, e->list[0], f);
			fputs(" || ", f);
			sql_expr_print(q, e->list[1], f);
			fputc(')', f);
			break;
		}
		if (!strncmp(e->name, "cast as ", 8) && e->nlist == 1) {
			fputs("CAST(", f);
			sql_expr_print(q, e->list[0], f);
			fputs(" AS ", f);
			for (const char *s = e->name + 8; *s; s++)
				fputc(*s >= 'a' && *s <= 'z' ? *s - 32 : *s, f);
			fputc(')', f);
			break;
		}
		if (def) {
			for (const char *s = e->name; *s; s++)
				fputc(*s >= 'a' && *s <= 'z' ? *s - 32 : *s, f);
		} else {
			fputs(e->name, f);
		}
		fputs(e->distinct ? "(DISTINCT " : "(", f);
		print_list(q, e, f);
		if (def && def->kind == SQL_AGG_QUANTILE && !def->ppm) {
			char frac[8];
			snprintf(frac, sizeof(frac), ".%04u", (unsigned)(e->v.u % 10000));
			for (size_t k = strlen(frac); k > 0 && (frac[k - 1] == '0' || frac[k - 1] == '.'); k--)
				frac[k - 1] = '\0';
			fprintf(f, ", %u%s", (unsigned)(e->v.u / 10000), frac);
		}
		fputc(')', f);
		break;
	}
	case SQL_E_UNARY:
		fputs(e->op == SQL_OP_NOT ? "NOT " : "-", f);
		print_prec(q, e->a, prec(e), f);
		break;
	case SQL_E_BINARY:
		print_prec(q, e->a, prec(e), f);
		fprintf(f, " %s ", op_text(e->op));
		print_prec(q, e->b, prec(e) + 1, f);
		break;
	case SQL_E_IN:
		print_prec(q, e->a, 5, f);
		fputs(e->negated ? " NOT IN (" : " IN (", f);
		print_list(q, e, f);
		fputc(')', f);
		break;
	case SQL_E_BETWEEN:
		print_prec(q, e->a, 5, f);
		fputs(e->negated ? " NOT BETWEEN " : " BETWEEN ", f);
		print_prec(q, e->b, 5, f);
		fputs(" AND ", f);
		print_prec(q, e->c, 5, f);
		break;
	case SQL_E_LIKE:
		print_prec(q, e->a, 5, f);
		fputs(e->negated ? " NOT LIKE " : " LIKE ", f);
		print_prec(q, e->b, 5, f);
		break;
	case SQL_E_ISNULL:
		print_prec(q, e->a, 5, f);
		fputs(e->negated ? " IS NOT NULL" : " IS NULL", f);
		break;
	case SQL_E_CASE:
		fputs("CASE", f);
		if (e->a) {
			fputc(' ', f);
			sql_expr_print(q, e->a, f);
		}
		for (size_t i = 0; i + 1 < e->nlist; i += 2) {
			fputs(" WHEN ", f);
			sql_expr_print(q, e->list[i], f);
			fputs(" THEN ", f);
			sql_expr_print(q, e->list[i + 1], f);
		}
		if (e->c) {
			fputs(" ELSE ", f);
			sql_expr_print(q, e->c, f);
		}
		fputs(" END", f);
		break;
	}
if (paren)
		fputc(')', f);
}
