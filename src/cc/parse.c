/* parse.c - the congestion-control DSL's parser and checks: declared state
 * with constant initial values, per-ACK fold blocks (assignments to state
 * only) and `when` rules with actions (set cwnd, set rate, report), in the
 * spirit of CCP's datapath language. Every error is a caret diagnostic with
 * a hint; names are checked against the state and the measurements
 * (meas.c), with "did you mean" suggestions.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cc/ccInt.h"

struct chunk {
	struct chunk *next;      /* older chunk */
	size_t used;             /* bytes handed out */
	_Alignas(16) unsigned char data[16384]; /* storage */
};

struct parser {
	const char *src, *file;  /* source and its name */
	struct sbpf_diags *d;    /* diagnostics */
	struct cc_token *t;      /* tokens */
	size_t n, i;             /* count / current */
	struct cc_prog *p;       /* result */
	int err;                 /* first error (sticky) */
	bool in_fold;            /* parsing a fold block */
	int depth;               /* expression nesting */
};

static void *alloc(struct parser *ps, size_t sz)
{
	struct chunk *c = ps->p->mem;
	sz = (sz + 15) & ~(size_t)15;
	if (!c || c->used + sz > sizeof(c->data)) {
		struct chunk *nc = calloc(1, sizeof(*nc));
		if (!nc) {
			ps->err = -ENOMEM;
			return NULL;
		}
		nc->next = c;
		ps->p->mem = c = nc;
	}
	void *r = c->data + c->used;
	c->used += sz;
	return r;
}

void cc_prog_free(struct cc_prog *p)
{
	if (!p)
		return;
	for (struct chunk *c = p->mem, *n; c; c = n) {
		n = c->next;
		free(c);
	}
	free(p->items);
	free(p);
}

static const struct cc_token *cur(struct parser *ps) { return &ps->t[ps->i]; }

static int error_at(struct parser *ps, size_t off, size_t len, const char *hint, const char *msg)
{
	if (!ps->err) {
		sbpf_diags__add(ps->d, ps->file, ps->src, off, len ? (int)len : 1, hint, "%s", msg);
		ps->err = -EINVAL;
	}
	return ps->err;
}

static bool is(struct parser *ps, const char *s)
{
	const struct cc_token *t = cur(ps);
	return (t->kind == CC_T_PUNCT || t->kind == CC_T_IDENT) && !strcmp(t->text, s);
}

static bool accept(struct parser *ps, const char *s)
{
	if (!is(ps, s))
		return false;
	ps->i++;
	return true;
}

static int expect(struct parser *ps, const char *s, const char *hint)
{
	if (accept(ps, s))
		return 0;
	char msg[96];
	const struct cc_token *t = cur(ps);
	snprintf(msg, sizeof(msg), "expected '%s' but found %s%s%s", s, t->kind == CC_T_EOF ? "the end" : "'",
		 t->kind == CC_T_EOF ? "" : t->text, t->kind == CC_T_EOF ? "" : "'");
	return error_at(ps, t->off, t->len, hint, msg);
}

static const char *const keywords[] = { "algorithm", "state", "fold", "when", "else", "set", "report",
					"min", "max", "cbrt", "cwnd", "rate" };

static bool is_keyword(const char *s)
{
	for (size_t k = 0; k < sizeof(keywords) / sizeof(keywords[0]); k++)
		if (!strcmp(s, keywords[k]))
			return true;
	return false;
}

static int find_state(const struct cc_prog *p, const char *s)
{
	for (int i = 0; i < p->nstate; i++)
		if (!strcmp(p->state_name[i], s))
			return i;
	return -1;
}

static struct cc_expr *node(struct parser *ps, enum cc_expr_kind k, size_t off)
{
	struct cc_expr *e = alloc(ps, sizeof(*e));
	if (e) {
		memset(e, 0, sizeof(*e));
		e->kind = k;
		e->off = off;
	}
	return e;
}

static struct cc_expr *expr(struct parser *ps);

/* Unknown name @t: an error with the closest state or measurement name. */
static void unknown_name(struct parser *ps, const struct cc_token *t)
{
	const char *cands[CC_MAX_STATE + CC_NMEAS];
	size_t nc = 0;
	for (int i = 0; i < ps->p->nstate; i++)
		cands[nc++] = ps->p->state_name[i];
	for (int m = 0; m < CC_NMEAS; m++)
		cands[nc++] = cc_meas_name(m);
	const char *s = sbpf_suggest(t->text, cands, nc);
	char hint[128], msg[96];
	if (s)
		snprintf(hint, sizeof(hint), "did you mean '%s'?", s);
	else
		snprintf(hint, sizeof(hint), "declare it with 'state %s = 0', or use a measurement (docs/cc.md)",
			 t->text);
	snprintf(msg, sizeof(msg), "unknown name '%s'", t->text);
	error_at(ps, t->off, t->len, hint, msg);
}

/* primary := NUMBER | NAME | ('min'|'max') '(' expr ',' expr ')'
 *          | 'cbrt' '(' expr ')' | '(' expr ')' | '!' primary */
static struct cc_expr *primary(struct parser *ps)
{
	const struct cc_token *t = cur(ps);
	if (ps->err)
		return NULL;
	if (++ps->depth > CC_MAX_DEPTH) {
		error_at(ps, t->off, t->len, "split it with a state variable",
			 "expression nested too deeply (the kernel plan keeps temporaries on a 512-byte stack)");
		return NULL;
	}
	struct cc_expr *e = NULL;
	if (t->kind == CC_T_NUM) {
		ps->i++;
		if ((e = node(ps, CC_E_NUM, t->off)))
			e->num = t->num;
	} else if (accept(ps, "(")) {
		e = expr(ps);
		expect(ps, ")", NULL);
	} else if (accept(ps, "!")) {
		if ((e = node(ps, CC_E_NOT, t->off)))
			e->a = primary(ps);
	} else if (t->kind == CC_T_IDENT && (!strcmp(t->text, "min") || !strcmp(t->text, "max") ||
					     !strcmp(t->text, "cbrt"))) {
		ps->i++;
		bool one = !strcmp(t->text, "cbrt");
		e = node(ps, one ? CC_E_CBRT : !strcmp(t->text, "min") ? CC_E_MIN : CC_E_MAX, t->off);
		expect(ps, "(", one ? "cbrt(x)" : "min(a, b) / max(a, b)");
		if (e)
			e->a = expr(ps);
		if (!one) {
			expect(ps, ",", "min and max take two arguments");
			if (e)
				e->b = expr(ps);
		}
		expect(ps, ")", NULL);
	} else if (t->kind == CC_T_IDENT) {
		int s = find_state(ps->p, t->text), m = cc_meas_find(t->text);
		ps->i++;
		if (s >= 0) {
			if ((e = node(ps, CC_E_STATE, t->off)))
				e->index = s;
		} else if (m >= 0) {
			if ((e = node(ps, CC_E_MEAS, t->off)))
				e->index = m;
		} else {
			unknown_name(ps, t);
		}
	} else {
		char msg[96];
		snprintf(msg, sizeof(msg), "expected a value but found %s%s%s", t->kind == CC_T_EOF ? "the end" : "'",
			 t->kind == CC_T_EOF ? "" : t->text, t->kind == CC_T_EOF ? "" : "'");
		error_at(ps, t->off, t->len, NULL, msg);
	}
	ps->depth--;
	return ps->err ? NULL : e;
}

/* Binary operator levels, loosest first. */
static const struct { const char *op; enum cc_binop code; int level; } binops[] = {
	{ "||", CC_OP_LOR, 0 }, { "&&", CC_OP_LAND, 1 }, { "|", CC_OP_OR, 2 }, { "&", CC_OP_AND, 3 },
	{ "==", CC_OP_EQ, 4 }, { "!=", CC_OP_NE, 4 }, { "<", CC_OP_LT, 5 }, { "<=", CC_OP_LE, 5 },
	{ ">", CC_OP_GT, 5 }, { ">=", CC_OP_GE, 5 }, { "<<", CC_OP_SHL, 6 }, { ">>", CC_OP_SHR, 6 },
	{ "+", CC_OP_ADD, 7 }, { "-", CC_OP_SUB, 7 }, { "*", CC_OP_MUL, 8 }, { "/", CC_OP_DIV, 8 },
	{ "%", CC_OP_MOD, 8 },
};

/* binary(level) := binary(level+1) (OP(level) binary(level+1))* */
static struct cc_expr *binary(struct parser *ps, int level)
{
	if (level > 8)
		return primary(ps);
	struct cc_expr *l = binary(ps, level + 1);
	for (;;) {
		const struct cc_token *t = cur(ps);
		size_t k, nb = sizeof(binops) / sizeof(binops[0]);
		if (ps->err || t->kind != CC_T_PUNCT)
			return l;
		for (k = 0; k < nb; k++)
			if (binops[k].level == level && !strcmp(t->text, binops[k].op))
				break;
		if (k == nb)
			return l;
		ps->i++;
		if (++ps->depth > CC_MAX_DEPTH) {
			error_at(ps, t->off, t->len, "split it with a state variable", "expression nested too deeply");
			return NULL;
		}
		struct cc_expr *e = node(ps, CC_E_BIN, t->off);
		struct cc_expr *r = binary(ps, level + 1);
		ps->depth--;
		if (!e || ps->err)
			return NULL;
		e->op = binops[k].code;
		e->a = l;
		e->b = r;
		l = e;
	}
}

/* expr := binary(0) */
static struct cc_expr *expr(struct parser *ps) { return binary(ps, 0); }

static struct cc_stmt *block(struct parser *ps);

static struct cc_stmt *stmt_node(struct parser *ps, enum cc_stmt_kind k, size_t off)
{
	struct cc_stmt *s = alloc(ps, sizeof(*s));
	if (s) {
		memset(s, 0, sizeof(*s));
		s->kind = k;
		s->off = off;
	}
	return s;
}

/* when := 'when' expr block ['else' (block | when)] */
static struct cc_stmt *when_stmt(struct parser *ps)
{
	const struct cc_token *t = &ps->t[ps->i - 1];
	struct cc_stmt *s = stmt_node(ps, CC_S_WHEN, t->off);
	struct cc_expr *c = expr(ps);
	struct cc_stmt *b = block(ps);
	struct cc_stmt *e = NULL;
	if (accept(ps, "else"))
		e = accept(ps, "when") ? when_stmt(ps) : block(ps);
	if (!s || ps->err)
		return NULL;
	s->e = c;
	s->body = b;
	s->els = e;
	return s;
}

/* stmt := NAME '=' expr | 'when' ... | 'set' ('cwnd'|'rate') '=' expr | 'report' ; [';'] */
static struct cc_stmt *stmt(struct parser *ps)
{
	const struct cc_token *t = cur(ps);
	struct cc_stmt *s = NULL;
	const char *fold_hint = "a fold only updates state; put actions and conditions in a 'when' rule";
	if (t->kind != CC_T_IDENT) {
		error_at(ps, t->off, t->len, "a statement is 'NAME = value', 'when', 'set cwnd = ...', "
			 "'set rate = ...' or 'report'", "expected a statement");
		return NULL;
	}
	if (accept(ps, "when")) {
		if (ps->in_fold)
			error_at(ps, t->off, t->len, fold_hint, "'when' inside a fold");
		s = when_stmt(ps);
	} else if (accept(ps, "set")) {
		const struct cc_token *w = cur(ps);
		if (ps->in_fold)
			error_at(ps, t->off, t->len, fold_hint, "action inside a fold");
		bool cw = is(ps, "cwnd"), rt = is(ps, "rate");
		if (!cw && !rt) {
			error_at(ps, w->off, w->len, "the actions are 'set cwnd = PACKETS' and 'set rate = BYTES_PER_SEC'",
				 "unknown control variable");
			return NULL;
		}
		ps->i++;
		expect(ps, "=", NULL);
		s = stmt_node(ps, cw ? CC_S_SET_CWND : CC_S_SET_RATE, t->off);
		struct cc_expr *e = expr(ps);
		if (s)
			s->e = e;
		if (rt)
			ps->p->uses_rate = true;
	} else if (accept(ps, "report")) {
		if (ps->in_fold)
			error_at(ps, t->off, t->len, fold_hint, "action inside a fold");
		s = stmt_node(ps, CC_S_REPORT, t->off);
		ps->p->uses_report = true;
	} else {
		int v = find_state(ps->p, t->text);
		if (v < 0) {
			if (cc_meas_find(t->text) >= 0) {
				char msg[96];
				snprintf(msg, sizeof(msg), "'%s' is a measurement and cannot be assigned", t->text);
				error_at(ps, t->off, t->len,
					 !strcmp(t->text, "cwnd") ? "to change the window use 'set cwnd = ...'"
								  : "declare a state variable and assign that",
					 msg);
			} else {
				unknown_name(ps, t);
			}
			return NULL;
		}
		ps->i++;
		expect(ps, "=", "an assignment is 'NAME = value'");
		s = stmt_node(ps, CC_S_ASSIGN, t->off);
		struct cc_expr *e = expr(ps);
		if (s) {
			s->index = v;
			s->e = e;
		}
	}
	accept(ps, ";");
	return ps->err ? NULL : s;
}

/* block := '{' stmt* '}' */
static struct cc_stmt *block(struct parser *ps)
{
	struct cc_stmt *head = NULL, **tail = &head;
	if (expect(ps, "{", NULL))
		return NULL;
	while (!ps->err && !is(ps, "}") && cur(ps)->kind != CC_T_EOF) {
		struct cc_stmt *s = stmt(ps);
		if (s) {
			*tail = s;
			tail = &s->next;
		}
	}
	expect(ps, "}", "blocks are closed with '}'");
	return head;
}

static int line_of(const char *src, size_t off)
{
	int line = 1;
	for (size_t i = 0; i < off && src[i]; i++)
		line += src[i] == '\n';
	return line;
}

static int add_item(struct parser *ps, bool fold, struct cc_stmt *s, size_t off)
{
	struct cc_prog *p = ps->p;
	struct cc_item *ni = realloc(p->items, (p->nitems + 1) * sizeof(*ni));
	if (!ni)
		return ps->err = -ENOMEM;
	p->items = ni;
	p->items[p->nitems++] = (struct cc_item){ .fold = fold, .stmts = s, .off = off,
						  .line = line_of(ps->src, off) };
	return 0;
}

/* Whether @e uses only constants. */
static bool constant(const struct cc_expr *e)
{
	if (!e)
		return true;
	if (e->kind == CC_E_STATE || e->kind == CC_E_MEAS)
		return false;
	return constant(e->a) && constant(e->b);
}

/* item := 'algorithm' NAME | 'state' NAME '=' expr | 'fold' block | 'when' ... */
static void item(struct parser *ps)
{
	const struct cc_token *t = cur(ps);
	struct cc_prog *p = ps->p;
	if (accept(ps, "algorithm")) {
		const struct cc_token *n = cur(ps);
		if (n->kind != CC_T_IDENT || n->len > 15) {
			error_at(ps, n->off, n->len, "a name of at most 15 letters, digits and '_'",
				 "expected the algorithm's name");
			return;
		}
		memcpy(p->name, n->text, n->len);
		p->name[n->len] = '\0';
		ps->i++;
	} else if (accept(ps, "state")) {
		const struct cc_token *n = cur(ps);
		if (n->kind != CC_T_IDENT || is_keyword(n->text) || cc_meas_find(n->text) >= 0) {
			error_at(ps, n->off, n->len,
				 n->kind == CC_T_IDENT ? "keywords and measurement names are taken" : NULL,
				 "expected a new state variable's name");
			return;
		}
		if (find_state(p, n->text) >= 0) {
			error_at(ps, n->off, n->len, NULL, "state variable declared twice");
			return;
		}
		if (p->nstate == CC_MAX_STATE) {
			error_at(ps, n->off, n->len, NULL, "too many state variables (at most 16)");
			return;
		}
		ps->i++;
		expect(ps, "=", "state NAME = INITIAL_VALUE");
		const struct cc_token *v = cur(ps);
		struct cc_expr *e = expr(ps);
		if (ps->err)
			return;
		if (!constant(e)) {
			error_at(ps, v->off, v->len, "initial values are constants; set it in a rule on the first ACK",
				 "initial value depends on state or measurements");
			return;
		}
		snprintf(p->state_name[p->nstate], sizeof(p->state_name[0]), "%s", n->text);
		p->state_init[p->nstate++] = cc_eval_expr(e, NULL, NULL);
	} else if (accept(ps, "fold")) {
		ps->in_fold = true;
		struct cc_stmt *s = block(ps);
		ps->in_fold = false;
		if (!ps->err)
			add_item(ps, true, s, t->off);
	} else if (accept(ps, "when")) {
		struct cc_stmt *s = when_stmt(ps);
		if (!ps->err)
			add_item(ps, false, s, t->off);
	} else {
		error_at(ps, t->off, t->len, "the top level holds 'algorithm', 'state', 'fold { ... }' and "
			 "'when COND { ... }'", "expected a declaration, a fold or a rule");
		return;
	}
	accept(ps, ";");
}

int cc_parse(const char *src, const char *file, struct sbpf_diags *d, struct cc_prog **out)
{
	struct parser ps = { .src = src, .file = file ? file : "<cc>", .d = d };
	int err = cc_lex(src, ps.file, d, &ps.t, &ps.n);
	if (err)
		return err;
	ps.p = calloc(1, sizeof(*ps.p));
	if (!ps.p) {
		free(ps.t);
		return -ENOMEM;
	}
	while (!ps.err && cur(&ps)->kind != CC_T_EOF)
		item(&ps);
	if (!ps.err && !ps.p->nitems)
		error_at(&ps, cur(&ps)->off, 1, "write at least one 'when' rule that sets cwnd or rate",
			 "the program has no folds or rules");
	free(ps.t);
	if (ps.err) {
		cc_prog_free(ps.p);
		return ps.err;
	}
	*out = ps.p;
	return 0;
}
