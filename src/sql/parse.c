/* parse.c - recursive-descent parser: tokens -> struct sql_stmt (the AST).
 * Each parsing function opens with the grammar rule it implements. The first
 * syntax error stops parsing with one caret diagnostic; SQL the language does
 * not support (subqueries, outer joins, ...) is refused here with a hint.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "safebpf/diag.h"
#include "sql/sqlInt.h"

struct parser {
	const char *text;        /* query text */
	const char *file;        /* name in diagnostics */
	struct sql_arena *a;     /* AST storage */
	struct sbpf_diags *d;    /* diagnostics */
	struct sql_token *t;     /* tokens, ending with EOF */
	size_t n, pos;           /* count / current */
	size_t prev_end;         /* end offset of the last consumed token */
	int rc;                  /* first error (-EINVAL / -ENOMEM), sticky */
	const char *last_clause; /* name of the last clause parsed, for order errors */
	int depth;               /* nesting of parse_expr / unary minus / NOT (recursion) */
};

static const char clause_order_hint[] =
	"clauses go in this order: SELECT, FROM, JOIN, WHERE, GROUP BY, HAVING, WINDOW, ORDER BY, LIMIT";

static struct sql_token *peek(struct parser *p)
{
	return &p->t[p->pos];
}

static struct sql_token *peek2(struct parser *p)
{
	return p->pos + 1 < p->n ? &p->t[p->pos + 1] : &p->t[p->n - 1];
}

static struct sql_token *next(struct parser *p)
{
	struct sql_token *t = &p->t[p->pos];
	if (t->kind != SQL_TK_EOF) {
		p->pos++;
		p->prev_end = t->off + (size_t)t->len;
	}
	return t;
}

static bool is_kw(const struct sql_token *t, enum sql_kw kw)
{
	return t->kind == SQL_TK_KEYWORD && t->sub == (int)kw;
}

static bool is_p(const struct sql_token *t, enum sql_punct pu)
{
	return t->kind == SQL_TK_PUNCT && t->sub == (int)pu;
}

static bool is_word(const struct sql_token *t, const char *w)
{
	return t->kind == SQL_TK_IDENT && !strcasecmp(t->str, w);
}

/* Words that are not keywords of the language but must not be taken as
 * aliases, so that the SQL they start is refused with a clear message. */
static bool reserved_word(const struct sql_token *t)
{
	static const char *const words[] = { "left", "right", "full", "cross", "outer", "natural",
					     "union", "intersect", "except", "offset" };
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (is_word(t, words[i]))
			return true;
	return false;
}

static bool accept_kw(struct parser *p, enum sql_kw kw)
{
	if (!is_kw(peek(p), kw))
		return false;
	next(p);
	return true;
}

static bool accept_p(struct parser *p, enum sql_punct pu)
{
	if (!is_p(peek(p), pu))
		return false;
	next(p);
	return true;
}

/* "FROM", "'pid'", "','", "end of query": the token as people name it. */
static void describe(const struct parser *p, const struct sql_token *t, char *buf, size_t sz)
{
	switch (t->kind) {
	case SQL_TK_EOF:
		snprintf(buf, sz, "end of query");
		break;
	case SQL_TK_KEYWORD:
		snprintf(buf, sz, "%s", sql_kw_name((enum sql_kw)t->sub));
		break;
	case SQL_TK_STRING:
		snprintf(buf, sz, "string %.*s", t->len > 40 ? 40 : t->len, p->text + t->off);
		break;
	default:
		snprintf(buf, sz, "'%.*s'", t->len > 40 ? 40 : t->len, p->text + t->off);
		break;
	}
}

#define perr(p, off, len, hint, ...) \
	((p)->rc ? NULL : ((p)->rc = sql_error((p)->d, (p)->file, (p)->text, off, len, hint, __VA_ARGS__), NULL))

/* Error at the current token: "expected <what>, found <token>". */
static void *expected(struct parser *p, const char *what, const char *hint)
{
	char found[64];
	struct sql_token *t = peek(p);
	describe(p, t, found, sizeof(found));
	return perr(p, t->off, t->len, hint, "expected %s, found %s", what, found);
}

static void *nomem(struct parser *p)
{
	if (!p->rc)
		p->rc = -ENOMEM;
	return NULL;
}

static struct sql_expr *new_expr(struct parser *p, enum sql_expr_kind kind, size_t off)
{
	struct sql_expr *e = sql_arena_alloc(p->a, sizeof(*e));
	if (!e)
		return nomem(p);
	e->kind = kind;
	e->off = off;
	e->side = -1;
	e->col = -1;
	e->idx = -1;
	return e;
}

static void *too_deep(struct parser *p, size_t off, int len)
{
	return perr(p, off, len > 0 ? len : 1,
		    "split the expression into simpler ones; a long chain of OR is written x IN (a, b, ...)",
		    "expression nested too deeply (limit %d)", SQL_MAX_DEPTH);
}

/* Counts one level of parser recursion; false (with the error) beyond
 * SQL_MAX_DEPTH, so that no input can exhaust the stack. */
static bool enter(struct parser *p)
{
	if (++p->depth <= SQL_MAX_DEPTH)
		return true;
	struct sql_token *t = peek(p);
	too_deep(p, t->off, t->len);
	return false;
}

static int child_height(const struct sql_expr *c)
{
	return c ? c->height : 0;
}

/* Closes the span of @e at the last consumed token and computes its
 * height; refuses a tree higher than SQL_MAX_DEPTH (a chain of 2,000
 * additions recurses as deep as 2,000 parentheses in every later stage),
 * pointing at the operator that crossed the limit. */
static struct sql_expr *finish(struct parser *p, struct sql_expr *e)
{
	if (!e)
		return e;
	e->len = (int)(p->prev_end - e->off);
	int h = child_height(e->a);
	if (child_height(e->b) > h)
		h = child_height(e->b);
	if (child_height(e->c) > h)
		h = child_height(e->c);
	for (size_t i = 0; i < e->nlist; i++)
		if (child_height(e->list[i]) > h)
			h = child_height(e->list[i]);
	e->height = h + 1;
	if (e->height <= SQL_MAX_DEPTH)
		return e;
	size_t at = e->off;
	int len = 1;
	if (e->kind == SQL_E_BINARY && e->a) {
		/* the operator: first non-blank after the left operand */
		at = e->a->off + (size_t)e->a->len;
		while (p->text[at] == ' ' || p->text[at] == '\t' || p->text[at] == '\n' || p->text[at] == '\r')
			at++;
		len = e->op == SQL_OP_AND ? 3 : e->op == SQL_OP_OR ? 2 : 1;
	}
	return too_deep(p, at, len);
}

/* Growable array of pointers in the arena. */
static bool push_ptr(struct parser *p, void ***arr, size_t *n, size_t *cap, void *v)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 4;
		void **na = sql_arena_alloc(p->a, ncap * sizeof(*na));
		if (!na) {
			nomem(p);
			return false;
		}
		if (*n)
			memcpy(na, *arr, *n * sizeof(*na));
		*arr = na;
		*cap = ncap;
	}
	(*arr)[(*n)++] = v;
	return true;
}

static struct sql_expr *parse_expr(struct parser *p);
static struct sql_expr *parse_bit(struct parser *p);
static struct sql_expr *syntax_call(struct parser *p, const char *fn, size_t off, struct sql_expr *a,
				    struct sql_expr *b);

/* Refuses constructs outside the language at the current token. */
static void *unsupported(struct parser *p)
{
	struct sql_token *t = peek(p);
	if (is_kw(t, SQL_KW_SELECT))
		return perr(p, t->off, t->len, "compute it in a separate query, or use JOIN ... ON",
			    "subqueries are not supported");
	return NULL;
}

/* expr_list := expr { ',' expr } ')'   (after the opening parenthesis) */
static bool parse_list(struct parser *p, struct sql_expr ***list, size_t *n)
{
	size_t cap = 0;
	*list = NULL;
	*n = 0;
	do {
		struct sql_expr *e = parse_expr(p);
		if (!e || !push_ptr(p, (void ***)list, n, &cap, e))
			return false;
	} while (accept_p(p, SQL_P_COMMA));
	if (!accept_p(p, SQL_P_RPAREN)) {
		expected(p, "',' or ')'", NULL);
		return false;
	}
	return true;
}

/* case_expr := CASE [expr] WHEN expr THEN expr { WHEN expr THEN expr } [ELSE expr] END */
static struct sql_expr *parse_case(struct parser *p)
{
	struct sql_expr *e = new_expr(p, SQL_E_CASE, next(p)->off);
	if (!e)
		return NULL;
	if (!is_kw(peek(p), SQL_KW_WHEN) && !(e->a = parse_expr(p)))
		return NULL;
	size_t cap = 0;
	if (!is_kw(peek(p), SQL_KW_WHEN))
		return expected(p, "WHEN", "CASE WHEN condition THEN value [ELSE value] END");
	while (accept_kw(p, SQL_KW_WHEN)) {
		struct sql_expr *w = parse_expr(p);
		if (!w)
			return NULL;
		if (!accept_kw(p, SQL_KW_THEN))
			return expected(p, "THEN", "CASE WHEN condition THEN value [ELSE value] END");
		struct sql_expr *t = parse_expr(p);
		if (!t || !push_ptr(p, (void ***)&e->list, &e->nlist, &cap, w) ||
		    !push_ptr(p, (void ***)&e->list, &e->nlist, &cap, t))
			return NULL;
	}
	if (accept_kw(p, SQL_KW_ELSE) && !(e->c = parse_expr(p)))
		return NULL;
	if (!accept_kw(p, SQL_KW_END))
		return expected(p, "END to close CASE", "CASE WHEN condition THEN value [ELSE value] END");
	return finish(p, e);
}

/* call := name '(' [ '*' | expr { ',' expr } ] ')'   (at the '(') */
/* The rest of PERCENTILE(x, p) after '(': p is a number literal in
 * (0, 100] with up to 4 decimals, kept in e->v as parts per million; x is
 * the only argument. */
static struct sql_expr *parse_percentile(struct parser *p, struct sql_expr *e)
{
	struct sql_expr *x = parse_expr(p);
	if (!x)
		return NULL;
	if (!accept_p(p, SQL_P_COMMA))
		return expected(p, "',' and the percentile", "PERCENTILE(latency, 99.9)");
	struct sql_token *t = peek(p);
	if (t->kind != SQL_TK_INT && t->kind != SQL_TK_DECIMAL)
		return perr(p, t->off, t->len, "PERCENTILE(latency, 99.9)", "the percentile must be a number literal");
	uint64_t ppm = t->kind == SQL_TK_INT ? (t->num <= 100 ? t->num * 10000 : UINT64_MAX) : t->num;
	if (ppm == 0 || ppm > 1000000)
		return perr(p, t->off, t->len, "P50 is PERCENTILE(x, 50), P99.9 is PERCENTILE(x, 99.9)",
			    "the percentile must be above 0 and at most 100");
	next(p);
	if (!accept_p(p, SQL_P_RPAREN))
		return expected(p, "')'", NULL);
	e->list = sql_arena_alloc(p->a, sizeof(*e->list));
	if (!e->list)
		return nomem(p);
	e->list[0] = x;
	e->nlist = 1;
	e->v.type = SQL_T_UINT;
	e->v.u = ppm;
	return finish(p, e);
}

static struct sql_expr *parse_call(struct parser *p, struct sql_token *name)
{
	struct sql_expr *e = new_expr(p, SQL_E_CALL, name->off);
	if (!e)
		return NULL;
	e->name = name->str;
	next(p); /* ( */
	struct sql_token *t = peek(p);
	if (is_kw(t, SQL_KW_DISTINCT)) {
		if (strcasecmp(name->str, "count"))
			return perr(p, t->off, t->len, "only COUNT(DISTINCT x) takes DISTINCT",
				    "%s(DISTINCT ...) is not supported", name->str);
		next(p);
		if (is_p(peek(p), SQL_P_STAR))
			return perr(p, peek(p)->off, 1, "count rows with COUNT(*), distinct values with COUNT(DISTINCT x)",
				    "COUNT(DISTINCT *) is not supported");
		e->distinct = true;
		if (!parse_list(p, &e->list, &e->nlist))
			return NULL;
		if (e->nlist != 1)
			return perr(p, e->list[1]->off, e->list[1]->len, "count distinct pairs with COUNT(DISTINCT a || ',' || b)",
				    "COUNT(DISTINCT ...) takes one expression");
		return finish(p, e);
	}
	if (unsupported(p) || p->rc)
		return NULL;
	if (is_p(t, SQL_P_STAR) && is_p(peek2(p), SQL_P_RPAREN)) {
		struct sql_expr *star = new_expr(p, SQL_E_STAR, t->off);
		if (!star)
			return NULL;
		next(p);
		finish(p, star);
		next(p);
		e->list = sql_arena_alloc(p->a, sizeof(*e->list));
		if (!e->list)
			return nomem(p);
		e->list[0] = star;
		e->nlist = 1;
		return finish(p, e);
	}
	if (accept_p(p, SQL_P_RPAREN))
		return finish(p, e);
	if (!strcasecmp(name->str, "percentile"))
		return parse_percentile(p, e);
	if (!parse_list(p, &e->list, &e->nlist))
		return NULL;
	return finish(p, e);
}

/* The types CAST accepts, each with the function that converts. */
static const struct {
	const char *name;  /* as written (any case) */
	const char *fn;    /* function (func.c) */
} cast_types[] = {
	{ "int", "cast as int" }, { "integer", "cast as int" }, { "bigint", "cast as int" },
	{ "signed", "cast as int" }, { "s64", "cast as int" },
	{ "uint", "cast as uint" }, { "unsigned", "cast as uint" }, { "u64", "cast as uint" },
	{ "string", "cast as string" }, { "text", "cast as string" }, { "varchar", "cast as string" },
	{ "bool", "cast as bool" }, { "boolean", "cast as bool" },
};

/* cast := CAST '(' expr AS type ')' (a call of "cast as TYPE") */
static struct sql_expr *parse_cast(struct parser *p)
{
	size_t off = next(p)->off; /* CAST */
	next(p);                   /* ( */
	if (unsupported(p) || p->rc)
		return NULL;
	struct sql_expr *x = parse_expr(p);
	if (!x)
		return NULL;
	if (!accept_kw(p, SQL_KW_AS))
		return expected(p, "AS and a type", "CAST(x AS INT), CAST(x AS UINT), CAST(x AS STRING), CAST(x AS BOOL)");
	struct sql_token *t = peek(p);
	const char *fn = NULL;
	for (size_t i = 0; t->kind == SQL_TK_IDENT && i < sizeof(cast_types) / sizeof(cast_types[0]); i++)
		if (!strcasecmp(t->str, cast_types[i].name))
			fn = cast_types[i].fn;
	if (!fn)
		return perr(p, t->off, t->len, "the types are INT (or INTEGER, BIGINT, SIGNED), UINT (or UNSIGNED), "
			    "STRING (or TEXT, VARCHAR) and BOOL (or BOOLEAN)", "CAST to an unknown type");
	next(p);
	if (!accept_p(p, SQL_P_RPAREN))
		return expected(p, "')'", NULL);
	return syntax_call(p, fn, off, x, NULL);
}

/* primary := INT | DURATION | STRING | TRUE | FALSE | NULL | '(' expr ')'
 *          | case_expr | cast | call | name [ '.' name ] */
static struct sql_expr *parse_primary(struct parser *p)
{
	struct sql_token *t = peek(p);
	struct sql_expr *e;
	switch (t->kind) {
	case SQL_TK_INT:
	case SQL_TK_DURATION:
	case SQL_TK_STRING:
		if (!(e = new_expr(p, SQL_E_LIT, t->off)))
			return NULL;
		next(p);
		if (t->kind == SQL_TK_STRING) {
			e->v.type = SQL_T_STR;
			e->v.s = t->str;
		} else if (t->kind == SQL_TK_DURATION) {
			e->v.type = SQL_T_DURATION;
			e->v.i = (int64_t)t->num;
		} else if (t->num > INT64_MAX) {
			e->v.type = SQL_T_UINT;
			e->v.u = t->num;
		} else {
			e->v.type = SQL_T_INT;
			e->v.i = (int64_t)t->num;
		}
		return finish(p, e);
	case SQL_TK_DECIMAL:
		return perr(p, t->off, t->len,
			    "use an integer, a duration with a unit such as 1500us, or PERCENTILE(x, 99.9)",
			    "fractional number '%.*s' is not supported", t->len, p->text + t->off);
	case SQL_TK_KEYWORD:
		if (is_kw(t, SQL_KW_TRUE) || is_kw(t, SQL_KW_FALSE) || is_kw(t, SQL_KW_NULL)) {
			if (!(e = new_expr(p, SQL_E_LIT, t->off)))
				return NULL;
			next(p);
			e->v.type = is_kw(t, SQL_KW_NULL) ? SQL_T_NULL : SQL_T_BOOL;
			e->v.i = is_kw(t, SQL_KW_TRUE);
			return finish(p, e);
		}
		if (is_kw(t, SQL_KW_CASE))
			return parse_case(p);
		break;
	case SQL_TK_PUNCT:
		if (is_p(t, SQL_P_LPAREN)) {
			size_t off = next(p)->off;
			if (unsupported(p) || p->rc)
				return NULL;
			if (!(e = parse_expr(p)))
				return NULL;
			if (!accept_p(p, SQL_P_RPAREN))
				return expected(p, "')'", NULL);
			/* Keep the parentheses in the span (column headers). */
			e->off = off;
			return finish(p, e);
		}
		break;
	case SQL_TK_IDENT:
		if (is_p(peek2(p), SQL_P_LPAREN) && !strcasecmp(t->str, "cast"))
			return parse_cast(p);
		if (is_p(peek2(p), SQL_P_LPAREN)) {
			next(p);
			return parse_call(p, t);
		}
		if (!(e = new_expr(p, SQL_E_COLUMN, t->off)))
			return NULL;
		next(p);
		e->name = t->str;
		if (accept_p(p, SQL_P_DOT)) {
			struct sql_token *c = peek(p);
			if (c->kind != SQL_TK_IDENT) {
				if (is_p(c, SQL_P_STAR))
					return perr(p, c->off, c->len, "write it as its own select item: SELECT A.*",
						    "'%s.*' cannot be used in an expression", t->str);
				return expected(p, "a column name after '.'", NULL);
			}
			next(p);
			e->qual = t->str;
			e->name = c->str;
		}
		return finish(p, e);
	default:
		break;
	}
	return expected(p, "an expression", NULL);
}

/* unary := '-' unary | primary */
static struct sql_expr *parse_unary(struct parser *p)
{
	struct sql_token *t = peek(p);
	if (!is_p(t, SQL_P_MINUS))
		return parse_primary(p);
	next(p);
	struct sql_token *lit = peek(p);
	/* Fold -123 and -10ms into literals (also makes INT64_MIN writable). */
	if ((lit->kind == SQL_TK_INT && lit->num <= (uint64_t)INT64_MAX + 1) ||
	    lit->kind == SQL_TK_DURATION) {
		struct sql_expr *e = new_expr(p, SQL_E_LIT, t->off);
		if (!e)
			return NULL;
		next(p);
		e->v.type = lit->kind == SQL_TK_INT ? SQL_T_INT : SQL_T_DURATION;
		e->v.i = (int64_t)(0 - lit->num);
		return finish(p, e);
	}
	struct sql_expr *e = new_expr(p, SQL_E_UNARY, t->off);
	if (!e || !enter(p) || !(e->a = parse_unary(p)))
		return NULL;
	p->depth--;
	e->op = SQL_OP_NEG;
	return finish(p, e);
}

static struct sql_expr *binary(struct parser *p, enum sql_op op, struct sql_expr *l, struct sql_expr *r)
{
	struct sql_expr *e = new_expr(p, SQL_E_BINARY, l->off);
	if (!e)
		return NULL;
	e->op = op;
	e->a = l;
	e->b = r;
	return finish(p, e);
}

/* mul_expr := unary { ('*' | '/' | '%') unary } */
static struct sql_expr *parse_mul(struct parser *p)
{
	struct sql_expr *l = parse_unary(p);
	while (l) {
		enum sql_op op = accept_p(p, SQL_P_STAR) ? SQL_OP_MUL : accept_p(p, SQL_P_SLASH) ? SQL_OP_DIV :
				 accept_p(p, SQL_P_PERCENT) ? SQL_OP_MOD : SQL_OP_NONE;
		if (op == SQL_OP_NONE)
			break;
		struct sql_expr *r = parse_unary(p);
		l = r ? binary(p, op, l, r) : NULL;
	}
	return l;
}

/* add_expr := mul_expr { ('+' | '-') mul_expr } */
static struct sql_expr *parse_add(struct parser *p)
{
	struct sql_expr *l = parse_mul(p);
	while (l) {
		enum sql_op op = accept_p(p, SQL_P_PLUS) ? SQL_OP_ADD : accept_p(p, SQL_P_MINUS) ? SQL_OP_SUB :
				 SQL_OP_NONE;
		if (op == SQL_OP_NONE)
			break;
		struct sql_expr *r = parse_mul(p);
		l = r ? binary(p, op, l, r) : NULL;
	}
	return l;
}

/* bit_expr := add_expr { ('&' | '|') add_expr } */
static struct sql_expr *parse_bit(struct parser *p)
{
	struct sql_expr *l = parse_add(p);
	while (l) {
		enum sql_op op = accept_p(p, SQL_P_AMP) ? SQL_OP_BITAND : accept_p(p, SQL_P_PIPE) ? SQL_OP_BITOR :
				 SQL_OP_NONE;
		if (op == SQL_OP_NONE)
			break;
		struct sql_expr *r = parse_add(p);
		l = r ? binary(p, op, l, r) : NULL;
	}
	return l;
}

/* A call of the function reached through syntax (||, CAST) named @fn. */
static struct sql_expr *syntax_call(struct parser *p, const char *fn, size_t off, struct sql_expr *a,
				    struct sql_expr *b)
{
	struct sql_expr *e = new_expr(p, SQL_E_CALL, off);
	if (!e)
		return NULL;
	e->name = fn;
	e->nlist = b ? 2 : 1;
	e->list = sql_arena_alloc(p->a, e->nlist * sizeof(*e->list));
	if (!e->list)
		return nomem(p);
	e->list[0] = a;
	if (b)
		e->list[1] = b;
	return finish(p, e);
}

/* concat_expr := bit_expr { '||' bit_expr } (a call of "||") */
static struct sql_expr *parse_concat(struct parser *p)
{
	struct sql_expr *l = parse_bit(p);
	while (l && accept_p(p, SQL_P_CONCAT)) {
		struct sql_expr *r = parse_bit(p);
		l = r ? syntax_call(p, "||", l->off, l, r) : NULL;
	}
	return l;
}

static enum sql_op cmp_op(const struct sql_token *t)
{
	if (t->kind != SQL_TK_PUNCT)
		return SQL_OP_NONE;
	switch (t->sub) {
	case SQL_P_EQ: return SQL_OP_EQ;
	case SQL_P_NE: return SQL_OP_NE;
	case SQL_P_LT: return SQL_OP_LT;
	case SQL_P_LE: return SQL_OP_LE;
	case SQL_P_GT: return SQL_OP_GT;
	case SQL_P_GE: return SQL_OP_GE;
	default: return SQL_OP_NONE;
	}
}

/* predicate := bit_expr [ cmp_op bit_expr
 *                       | [NOT] IN '(' expr { ',' expr } ')'
 *                       | [NOT] BETWEEN bit_expr AND bit_expr
 *                       | [NOT] LIKE bit_expr
 *                       | IS [NOT] NULL ] */
static struct sql_expr *parse_predicate(struct parser *p)
{
	struct sql_expr *l = parse_concat(p), *e;
	if (!l)
		return NULL;
	struct sql_token *t = peek(p);
	enum sql_op op = cmp_op(t);
	if (op != SQL_OP_NONE) {
		next(p);
		struct sql_expr *r = parse_concat(p);
		if (!r || !(e = binary(p, op, l, r)))
			return NULL;
		struct sql_token *t2 = peek(p);
		if (cmp_op(t2) != SQL_OP_NONE)
			return perr(p, t2->off, t2->len, "write a < b AND b < c", "comparisons do not chain");
		return e;
	}
	bool neg = false;
	if (is_kw(t, SQL_KW_NOT) && (is_kw(peek2(p), SQL_KW_IN) || is_kw(peek2(p), SQL_KW_BETWEEN) ||
				     is_kw(peek2(p), SQL_KW_LIKE))) {
		next(p);
		neg = true;
		t = peek(p);
	}
	if (accept_kw(p, SQL_KW_IN)) {
		if (!(e = new_expr(p, SQL_E_IN, l->off)))
			return NULL;
		e->a = l;
		e->negated = neg;
		if (!accept_p(p, SQL_P_LPAREN))
			return expected(p, "'(' after IN", "x IN (1, 2, 3)");
		if (unsupported(p) || p->rc)
			return NULL;
		if (is_p(peek(p), SQL_P_RPAREN))
			return expected(p, "a value", "x IN (1, 2, 3)");
		if (!parse_list(p, &e->list, &e->nlist))
			return NULL;
		return finish(p, e);
	}
	if (accept_kw(p, SQL_KW_BETWEEN)) {
		if (!(e = new_expr(p, SQL_E_BETWEEN, l->off)))
			return NULL;
		e->a = l;
		e->negated = neg;
		if (!(e->b = parse_concat(p)))
			return NULL;
		if (!accept_kw(p, SQL_KW_AND))
			return expected(p, "AND", "x BETWEEN low AND high");
		if (!(e->c = parse_concat(p)))
			return NULL;
		return finish(p, e);
	}
	if (accept_kw(p, SQL_KW_LIKE)) {
		if (!(e = new_expr(p, SQL_E_LIKE, l->off)))
			return NULL;
		e->a = l;
		e->negated = neg;
		if (!(e->b = parse_concat(p)))
			return NULL;
		return finish(p, e);
	}
	if (accept_kw(p, SQL_KW_IS)) {
		if (!(e = new_expr(p, SQL_E_ISNULL, l->off)))
			return NULL;
		e->a = l;
		e->negated = accept_kw(p, SQL_KW_NOT);
		if (!accept_kw(p, SQL_KW_NULL))
			return expected(p, "NULL after IS", "x IS NULL, x IS NOT NULL");
		return finish(p, e);
	}
	return l;
}

/* not_expr := NOT not_expr | predicate */
static struct sql_expr *parse_not(struct parser *p)
{
	struct sql_token *t = peek(p);
	if (!is_kw(t, SQL_KW_NOT))
		return parse_predicate(p);
	next(p);
	struct sql_expr *e = new_expr(p, SQL_E_UNARY, t->off);
	if (!e || !enter(p) || !(e->a = parse_not(p)))
		return NULL;
	p->depth--;
	e->op = SQL_OP_NOT;
	return finish(p, e);
}

/* and_expr := not_expr { AND not_expr } */
static struct sql_expr *parse_and(struct parser *p)
{
	struct sql_expr *l = parse_not(p);
	while (l && accept_kw(p, SQL_KW_AND)) {
		struct sql_expr *r = parse_not(p);
		l = r ? binary(p, SQL_OP_AND, l, r) : NULL;
	}
	return l;
}

/* expr := and_expr { OR and_expr } */
static struct sql_expr *parse_expr(struct parser *p)
{
	if (!enter(p))
		return NULL;
	struct sql_expr *l = parse_and(p);
	while (l && accept_kw(p, SQL_KW_OR)) {
		struct sql_expr *r = parse_and(p);
		l = r ? binary(p, SQL_OP_OR, l, r) : NULL;
	}
	p->depth--;
	return l;
}

/* select_item := '*' | name '.' '*' | expr [ [AS] name | AS STRING ] */
static bool parse_select_item(struct parser *p, struct sql_select_item *it)
{
	struct sql_token *t = peek(p);
	it->off = t->off;
	if (is_p(t, SQL_P_STAR)) {
		next(p);
		it->len = t->len;
		return true;
	}
	if (t->kind == SQL_TK_IDENT && is_p(peek2(p), SQL_P_DOT) && is_p(&p->t[p->pos + 2], SQL_P_STAR)) {
		it->star_qual = t->str;
		next(p);
		next(p);
		next(p);
		it->len = (int)(p->prev_end - it->off);
		return true;
	}
	if (!(it->e = parse_expr(p)))
		return false;
	it->len = (int)(p->prev_end - it->off);
	struct sql_token *a = peek(p);
	if (accept_kw(p, SQL_KW_AS)) {
		a = peek(p);
		if (a->kind == SQL_TK_STRING && a->str[0]) {
			/* AS "any header": a quoted name */
			next(p);
			it->alias = a->str;
			it->alias_off = a->off;
			return true;
		}
		if (a->kind != SQL_TK_IDENT) {
			expected(p, "a name after AS", a->kind == SQL_TK_KEYWORD ?
				 "keywords cannot be names; quote them: AS \"select\"" : NULL);
			return false;
		}
	}
	if (a->kind == SQL_TK_IDENT && !reserved_word(a)) {
		next(p);
		it->alias = a->str;
		it->alias_off = a->off;
	}
	return true;
}

/* user_function := ('uprobe' | 'uretprobe' | 'ufunc' | 'usdt') '(' string ',' string ')'
 * after the name (already read into @r): a user-space function (or, for
 * usdt, a USDT probe: 'provider:name' or 'name') as a table, named
 * "KIND:PATH:FUNC" for the binder (utable.c). */
static bool parse_user_function(struct parser *p, struct sql_table_ref *r)
{
	static const char *const kinds[] = { "uprobe", "uretprobe", "ufunc", "usdt" };
	bool known = false;
	for (size_t i = 0; i < 4; i++)
		known |= !strcasecmp(r->name, kinds[i]);
	if (!known) {
		perr(p, r->off, r->len, "user functions: uprobe('/path/to/file', 'function'), uretprobe(...), ufunc(...); "
		     "USDT probes: usdt('/path/to/file', 'provider:name')", "'%s' is not a table function", r->name);
		return false;
	}
	bool usdt = !strcasecmp(r->name, "usdt");
	next(p); /* ( */
	const char *arg[2];
	for (int i = 0; i < 2; i++) {
		struct sql_token *a = peek(p);
		const char *colon = a->kind == SQL_TK_STRING ? strchr(a->str, ':') : NULL;
		bool ok = a->kind == SQL_TK_STRING && a->str[0] &&
			  (!colon || (usdt && i == 1 && colon != a->str && colon[1] && !strchr(colon + 1, ':')));
		if (!ok && usdt) {
			expected(p, i ? "the probe as a string" : "the file path as a string",
				 "usdt('/path/to/file', 'provider:name') or usdt('/path/to/file', 'name'): a path "
				 "without ':'");
			return false;
		}
		if (!ok) {
			expected(p, i ? "the function name as a string" : "the file path as a string",
				 "uprobe('/path/to/file', 'function'): two non-empty strings without ':'");
			return false;
		}
		arg[i] = next(p)->str;
		if (!is_p(peek(p), i ? SQL_P_RPAREN : SQL_P_COMMA)) {
			expected(p, i ? "')'" : "','", usdt ? "usdt('/path/to/file', 'provider:name')"
						    : "uprobe('/path/to/file', 'function')");
			return false;
		}
		struct sql_token *end = next(p);
		r->len = (int)(end->off + (size_t)end->len - r->off);
	}
	size_t n = strlen(r->name) + strlen(arg[0]) + strlen(arg[1]) + 3;
	char *name = sql_arena_alloc(p->a, n);
	if (!name) {
		nomem(p);
		return false;
	}
	snprintf(name, n, "%s:%s:%s", r->name, arg[0], arg[1]);
	for (char *c = name; *c != ':'; c++)
		*c = (char)tolower((unsigned char)*c);
	r->name = name;
	return true;
}

/* table_ref := name { '.' name } [ [AS] name ]   (dotted: a tracepoint,
 * tracepoint.SUBSYSTEM.EVENT or SUBSYSTEM.EVENT; a keyword may follow a dot) */
static bool parse_table_ref(struct parser *p, struct sql_table_ref *r, const char *after)
{
	struct sql_token *t = peek(p);
	if (is_p(t, SQL_P_LPAREN)) {
		perr(p, t->off, t->len, "read a table directly: FROM system_calls",
		     "subqueries are not supported");
		return false;
	}
	if (t->kind != SQL_TK_IDENT) {
		char what[64];
		snprintf(what, sizeof(what), "a table name after %s", after);
		expected(p, what, "run `safebpf tables` to list the tables");
		return false;
	}
	next(p);
	r->name = t->str;
	r->off = t->off;
	r->len = t->len;
	if (is_p(peek(p), SQL_P_LPAREN) && !parse_user_function(p, r))
		return false;
	while (is_p(peek(p), SQL_P_DOT)) {
		struct sql_token *d = next(p), *part = peek(p);
		if ((part->kind != SQL_TK_IDENT && part->kind != SQL_TK_KEYWORD) || d->off + 1 != part->off ||
		    d->off != r->off + (size_t)r->len) {
			expected(p, "a tracepoint name after '.' (no spaces)",
				 "a dotted table is a tracepoint: tracepoint.SUBSYSTEM.EVENT or SUBSYSTEM.EVENT");
			return false;
		}
		next(p);
		r->len = (int)(part->off + (size_t)part->len - r->off);
		if (!(r->name = sql_arena_strndup(p->a, p->text + r->off, (size_t)r->len))) {
			nomem(p);
			return false;
		}
	}
	struct sql_token *a = peek(p);
	if (accept_kw(p, SQL_KW_AS)) {
		a = peek(p);
		if (a->kind != SQL_TK_IDENT) {
			expected(p, "a name after AS", NULL);
			return false;
		}
	}
	if (a->kind == SQL_TK_IDENT && !reserved_word(a)) {
		next(p);
		r->alias = a->str;
		r->alias_off = a->off;
		r->alias_len = a->len;
	}
	return true;
}

/* The clause keyword at @t, if it starts a clause ("GROUP BY"). */
static const char *clause_name(struct parser *p, const struct sql_token *t)
{
	if (is_kw(t, SQL_KW_WHERE)) return "WHERE";
	if (is_kw(t, SQL_KW_GROUP)) return "GROUP BY";
	if (is_kw(t, SQL_KW_HAVING)) return "HAVING";
	if (is_kw(t, SQL_KW_WINDOW)) return "WINDOW";
	if (is_kw(t, SQL_KW_ORDER)) return "ORDER BY";
	if (is_kw(t, SQL_KW_LIMIT)) return "LIMIT";
	if (is_kw(t, SQL_KW_JOIN) || is_kw(t, SQL_KW_INNER)) return "JOIN";
	if (is_kw(t, SQL_KW_FROM)) return "FROM";
	(void)p;
	return NULL;
}

/* Starts clause @name at the current token: records it for order errors. */
static void clause(struct parser *p, const char *name)
{
	p->last_clause = name;
}

/* join_clause := [INNER] JOIN table_ref ON expr
 *              | LEFT [OUTER] JOIN table_ref ON expr [WITHIN duration]
 * One clause at the current token into @j; false at a token that starts no
 * JOIN (*@none set) or after a diagnostic. */
static bool parse_one_join(struct parser *p, struct sql_join_clause *j, bool *none)
{
	struct sql_token *t = peek(p);
	*none = false;
	/* LEFT [OUTER] JOIN */
	if (is_word(t, "left") && (is_kw(peek2(p), SQL_KW_JOIN) ||
				   (is_word(peek2(p), "outer") && is_kw(&p->t[p->pos + 2], SQL_KW_JOIN)))) {
		j->left = true;
		j->off = t->off;
		clause(p, "JOIN");
		next(p);
		if (is_word(peek(p), "outer"))
			next(p);
		j->len = (int)(peek(p)->off + (size_t)peek(p)->len - j->off);
		next(p); /* JOIN */
		if (!parse_table_ref(p, &j->t, "JOIN"))
			return false;
		if (!accept_kw(p, SQL_KW_ON)) {
			expected(p, "ON after the joined table", "LEFT JOIN u AS b ON a.pid = b.pid");
			return false;
		}
		if (!(j->on = parse_expr(p)))
			return false;
		/* [WITHIN duration]: how long a left row waits for its partner */
		j->within_ns = SQL_LEFT_JOIN_WITHIN;
		if (is_word(peek(p), "within")) {
			next(p);
			struct sql_token *d = peek(p);
			if (d->kind != SQL_TK_DURATION) {
				expected(p, "a duration after WITHIN", "LEFT JOIN u AS b ON a.k = b.k WITHIN 5s");
				return false;
			}
			next(p);
			if (!d->num) {
				perr(p, d->off, d->len, "a left row waits for at least 1ns", "WITHIN needs a positive duration");
				return false;
			}
			j->within_ns = d->num;
		}
		return true;
	}
	if (is_word(t, "left") || is_word(t, "right") || is_word(t, "full") || is_word(t, "cross") ||
	    is_word(t, "outer") || is_word(t, "natural")) {
		perr(p, t->off, t->len,
		     "JOIN and LEFT JOIN pair each right event with the latest unmatched left event of equal keys "
		     "(see docs/sql.md)",
		     "only inner JOIN and LEFT JOIN are supported");
		return false;
	}
	if (is_p(t, SQL_P_COMMA)) {
		perr(p, t->off, t->len, "combine two tables with JOIN ... ON a.key = b.key",
		     "a comma between tables is not supported");
		return false;
	}
	if (!is_kw(t, SQL_KW_JOIN) && !is_kw(t, SQL_KW_INNER)) {
		*none = true;
		return false;
	}
	j->off = t->off;
	clause(p, "JOIN");
	if (accept_kw(p, SQL_KW_INNER) && !accept_kw(p, SQL_KW_JOIN)) {
		expected(p, "JOIN after INNER", NULL);
		return false;
	}
	if (!is_kw(t, SQL_KW_INNER))
		next(p);
	j->len = (int)(p->t[p->pos - 1].off + (size_t)p->t[p->pos - 1].len - j->off);
	if (!parse_table_ref(p, &j->t, "JOIN"))
		return false;
	if (!accept_kw(p, SQL_KW_ON)) {
		expected(p, "ON after the joined table", "JOIN u AS b ON a.pid = b.pid");
		return false;
	}
	if (!(j->on = parse_expr(p)))
		return false;
	if (is_word(peek(p), "within")) {
		perr(p, peek(p)->off, peek(p)->len,
		     "an inner JOIN keeps left rows until they are taken or evicted; write LEFT JOIN ... WITHIN 5s",
		     "WITHIN bounds the wait of a LEFT JOIN");
		return false;
	}
	return true;
}

/* join_clause { join_clause }: left-deep, at most SQL_MAX_TABLES tables. */
static bool parse_join(struct parser *p, struct sql_stmt *st)
{
	for (;;) {
		struct sql_token *t = peek(p);
		if (st->njoins == SQL_MAX_TABLES - 1 &&
		    (is_kw(t, SQL_KW_JOIN) || is_kw(t, SQL_KW_INNER) ||
		     (is_word(t, "left") && (is_kw(peek2(p), SQL_KW_JOIN) || is_word(peek2(p), "outer"))))) {
			perr(p, t->off, t->len,
			     "join at most three tables per query: run a second query for the fourth table, or "
			     "keep its condition in WHERE of one of them",
			     "a query joins at most %d tables; this is table %d", SQL_MAX_TABLES, SQL_MAX_TABLES + 1);
			return false;
		}
		struct sql_join_clause j = { 0 };
		bool none;
		if (!parse_one_join(p, &j, &none))
			return none;
		st->joins[st->njoins++] = j;
	}
}

/* order_item := expr [ASC | DESC] */
static bool parse_order(struct parser *p, struct sql_stmt *st)
{
	size_t cap = 0;
	do {
		struct sql_order_item *it = sql_arena_alloc(p->a, sizeof(*it));
		if (!it) {
			nomem(p);
			return false;
		}
		if (!(it->e = parse_expr(p)))
			return false;
		if (accept_kw(p, SQL_KW_DESC))
			it->desc = true;
		else
			accept_kw(p, SQL_KW_ASC);
		/* Stored as an array of items: reuse the pointer helper then flatten. */
		if (!push_ptr(p, (void ***)&st->order, &st->norder, &cap, it))
			return false;
	} while (accept_p(p, SQL_P_COMMA));
	/* Flatten pointers to items into an item array. */
	struct sql_order_item **ptrs = (struct sql_order_item **)st->order;
	struct sql_order_item *items = sql_arena_alloc(p->a, st->norder * sizeof(*items));
	if (!items) {
		nomem(p);
		return false;
	}
	for (size_t i = 0; i < st->norder; i++)
		items[i] = *ptrs[i];
	st->order = items;
	return true;
}

/* query := SELECT [DISTINCT] select_item { ',' select_item }
 *          FROM table_ref { join_clause }   (at most SQL_MAX_TABLES tables)
 *          [WHERE expr] [GROUP BY expr { ',' expr }] [HAVING expr]
 *          [WINDOW DURATION] [ORDER BY order_item { ',' order_item }]
 *          [LIMIT INT] [';'] EOF */
static struct sql_stmt *parse_query(struct parser *p)
{
	struct sql_stmt *st = sql_arena_alloc(p->a, sizeof(*st));
	if (!st)
		return nomem(p);
	st->limit = -1;
	struct sql_token *t = peek(p);
	if (!accept_kw(p, SQL_KW_SELECT)) {
		if (t->kind == SQL_TK_IDENT && (is_word(t, "insert") || is_word(t, "update") || is_word(t, "delete") ||
						is_word(t, "create") || is_word(t, "drop") || is_word(t, "with")))
			return perr(p, t->off, t->len, "queries read kernel events: SELECT ... FROM system_calls",
				    "only SELECT queries are supported");
		return expected(p, "SELECT", "queries look like: SELECT pid, COUNT(*) FROM system_calls GROUP BY pid");
	}
	clause(p, "SELECT");
	st->distinct = accept_kw(p, SQL_KW_DISTINCT);
	size_t cap = 0;
	struct sql_select_item **items = NULL;
	do {
		struct sql_select_item *it = sql_arena_alloc(p->a, sizeof(*it));
		if (!it)
			return nomem(p);
		if (is_kw(peek(p), SQL_KW_FROM))
			return perr(p, peek(p)->off, peek(p)->len,
				    st->nitems ? "remove the trailing ',' before FROM" : "name the columns: SELECT pid, comm FROM ...",
				    "expected an expression, found FROM");
		if (!parse_select_item(p, it) || !push_ptr(p, (void ***)&items, &st->nitems, &cap, it))
			return NULL;
	} while (accept_p(p, SQL_P_COMMA));
	st->items = sql_arena_alloc(p->a, st->nitems * sizeof(*st->items));
	if (!st->items)
		return nomem(p);
	for (size_t i = 0; i < st->nitems; i++)
		st->items[i] = *items[i];

	if (!accept_kw(p, SQL_KW_FROM))
		return expected(p, "FROM after the select list", "every query reads a table: SELECT ... FROM system_calls");
	clause(p, "FROM");
	if (!parse_table_ref(p, &st->from, "FROM") || !parse_join(p, st))
		return NULL;
	if (accept_kw(p, SQL_KW_WHERE)) {
		clause(p, "WHERE");
		if (!(st->where = parse_expr(p)))
			return NULL;
	}
	t = peek(p);
	if (accept_kw(p, SQL_KW_GROUP)) {
		clause(p, "GROUP BY");
		st->group_off = t->off;
		if (!accept_kw(p, SQL_KW_BY))
			return expected(p, "BY after GROUP", NULL);
		size_t gcap = 0;
		do {
			struct sql_expr *e = parse_expr(p);
			if (!e || !push_ptr(p, (void ***)&st->group, &st->ngroup, &gcap, e))
				return NULL;
		} while (accept_p(p, SQL_P_COMMA));
	}
	t = peek(p);
	if (accept_kw(p, SQL_KW_HAVING)) {
		clause(p, "HAVING");
		st->having_off = t->off;
		if (!(st->having = parse_expr(p)))
			return NULL;
	}
	t = peek(p);
	if (accept_kw(p, SQL_KW_WINDOW)) {
		clause(p, "WINDOW");
		st->window_off = t->off;
		struct sql_token *w = peek(p);
		char hint[160];
		snprintf(hint, sizeof(hint), "write a duration such as WINDOW 1sec (units: %s)", sql_duration_units);
		if (w->kind == SQL_TK_INT) {
			if (peek2(p)->kind == SQL_TK_IDENT && peek2(p)->off == w->off + (size_t)w->len + 1)
				return perr(p, w->off, (int)(peek2(p)->off + (size_t)peek2(p)->len - w->off),
					    "write the unit right after the number: WINDOW 1sec",
					    "WINDOW needs a duration");
			return perr(p, w->off, w->len, hint, "WINDOW needs a duration with a unit");
		}
		if (w->kind != SQL_TK_DURATION)
			return expected(p, "a duration after WINDOW", hint);
		next(p);
		if (w->num < 1000000)
			return perr(p, w->off, w->len, "use a window of at least 1ms",
				    "window of %.*s is too short", w->len, p->text + w->off);
		st->window_ns = w->num;
		st->window_len = (int)(p->prev_end - st->window_off);
		/* [EVERY duration]: a sliding (hopping) window. EVERY is a word,
		 * not a keyword, so that columns and aliases may keep the name. */
		if (is_word(peek(p), "every")) {
			struct sql_token *ev = next(p);
			st->every_off = ev->off;
			struct sql_token *d = peek(p);
			if (d->kind != SQL_TK_DURATION)
				return expected(p, "a duration after EVERY", "write WINDOW 10s EVERY 1s: a result every second over the last 10 seconds");
			next(p);
			st->every_len = (int)(p->prev_end - ev->off);
			if (d->num < 1000000)
				return perr(p, d->off, d->len, "use a step of at least 1ms",
					    "EVERY %.*s is too short", d->len, p->text + d->off);
			if (d->num > w->num)
				return perr(p, d->off, d->len, "the step cannot be longer than the window: WINDOW 10s EVERY 1s",
					    "EVERY %.*s is longer than WINDOW %.*s", d->len, p->text + d->off, w->len,
					    p->text + w->off);
			if (w->num % d->num)
				return perr(p, d->off, d->len, "make the window a whole number of steps: WINDOW 10s EVERY 1s, or EVERY 500ms",
					    "WINDOW %.*s is not a multiple of EVERY %.*s", w->len, p->text + w->off,
					    d->len, p->text + d->off);
			if (w->num / d->num > SQL_MAX_STEPS)
				return perr(p, d->off, d->len, "a window spans at most 1000 steps: take a longer step",
					    "WINDOW %.*s EVERY %.*s spans %llu steps", w->len, p->text + w->off, d->len,
					    p->text + d->off, (unsigned long long)(w->num / d->num));
			st->every_ns = d->num == w->num ? 0 : d->num;
			st->window_len = (int)(p->prev_end - st->window_off);
		}
	}
	if (accept_kw(p, SQL_KW_ORDER)) {
		clause(p, "ORDER BY");
		if (!accept_kw(p, SQL_KW_BY))
			return expected(p, "BY after ORDER", NULL);
		if (!parse_order(p, st))
			return NULL;
	}
	t = peek(p);
	if (accept_kw(p, SQL_KW_LIMIT)) {
		clause(p, "LIMIT");
		st->limit_off = t->off;
		struct sql_token *n = peek(p);
		if (n->kind != SQL_TK_INT || n->num == 0 || n->num > INT64_MAX) {
			if (is_p(n, SQL_P_MINUS) || n->kind == SQL_TK_INT)
				return perr(p, n->off, n->len + (is_p(n, SQL_P_MINUS) ? peek2(p)->len : 0),
					    "LIMIT n keeps the first n rows (per window)",
					    "LIMIT needs a positive integer");
			return expected(p, "a number after LIMIT", "LIMIT n keeps the first n rows (per window)");
		}
		next(p);
		st->limit = (int64_t)n->num;
		t = peek(p);
		if (t->kind == SQL_TK_IDENT && is_word(t, "offset"))
			return perr(p, t->off, t->len, "results are a stream: there is nothing to skip",
				    "OFFSET is not supported");
	}
	accept_p(p, SQL_P_SEMI);
	t = peek(p);
	if (t->kind != SQL_TK_EOF) {
		const char *cl = clause_name(p, t);
		if (cl && !strcmp(cl, p->last_clause))
			return perr(p, t->off, t->len, "combine them into one clause", "%s appears twice", cl);
		if (cl)
			return perr(p, t->off, t->len, clause_order_hint, "%s must come before %s", cl,
				    p->last_clause);
		if (is_word(t, "union") || is_word(t, "intersect") || is_word(t, "except"))
			return perr(p, t->off, t->len, "run the queries separately", "%s is not supported", t->str);
		if (is_word(t, "offset"))
			return perr(p, t->off, t->len, "results are a stream: there is nothing to skip",
				    "OFFSET is not supported");
		char found[64];
		describe(p, t, found, sizeof(found));
		return perr(p, t->off, t->len, NULL, "unexpected %s after %s clause", found, p->last_clause);
	}
	return st;
}

int sql_parse(const char *text, const char *file, struct sql_arena *a, struct sql_stmt **out,
	      struct sbpf_diags *d)
{
	struct parser p = { .text = text, .file = file, .a = a, .d = d };
	int rc = sql_lex(text, file, a, &p.t, &p.n, d);
	if (rc)
		return rc;
	struct sql_stmt *st = parse_query(&p);
	if (!st)
		return p.rc ? p.rc : -EINVAL;
	*out = st;
	return 0;
}
