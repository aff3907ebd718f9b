/* parse.c - the socket-scheduling language's front end: tokens and a
 * recursive-descent parser that builds and checks a policy
 * (docs/sched.md). Every error is one diagnostic with line:column, a caret
 * and, where one helps, a hint.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sched/schedInt.h"

enum tok { T_EOF, T_IDENT, T_INT, T_PUNCT, T_BAD };

struct parser {
	const char *text;             /* whole source */
	const char *file;             /* name in diagnostics */
	size_t pos;                   /* scan position */
	enum tok t;                   /* current token */
	size_t tpos, tlen;            /* its offset and length */
	uint64_t ival;                /* T_INT value */
	struct sbpf_diags *diags;     /* where errors go (may be NULL) */
	int err;                      /* first error */
};

static const char *const fields[] = { "src_ip", "dst_ip", "src_port", "dst_port", "proto", "cpu", "payload" };
static const char *const actions[] = { "round_robin", "hash", "least_loaded", "sticky", "executor" };
static const char *const stmts[] = { "executors", "key", "map", "counter", "select" };

static int error(struct parser *ps, size_t off, size_t len, const char *hint, const char *msg)
{
	if (!ps->err) {
		ps->err = -EINVAL;
		if (ps->diags && sbpf_diags__add(ps->diags, ps->file, ps->text, off, (int)(len ? len : 1), hint,
						 "%s", msg))
			ps->err = -ENOMEM;
	}
	return ps->err;
}

/* Scans the next token into ps->t. */
static void next(struct parser *ps)
{
	const char *s = ps->text;
	for (;;) {
		while (isspace((unsigned char)s[ps->pos]))
			ps->pos++;
		if (s[ps->pos] != '#')
			break;
		while (s[ps->pos] && s[ps->pos] != '\n')
			ps->pos++;
	}
	ps->tpos = ps->pos;
	char c = s[ps->pos];
	if (!c) {
		ps->t = T_EOF;
		ps->tlen = 0;
	} else if (isalpha((unsigned char)c) || c == '_') {
		while (isalnum((unsigned char)s[ps->pos]) || s[ps->pos] == '_')
			ps->pos++;
		ps->t = T_IDENT;
	} else if (isdigit((unsigned char)c)) {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(s + ps->pos, &end, 0);
		ps->pos = (size_t)(end - s);
		while (isalnum((unsigned char)s[ps->pos]))
			ps->pos++;
		ps->t = errno || (size_t)(end - s) != ps->pos ? T_BAD : T_INT;
		ps->ival = v;
	} else if (strchr("()[]:,-", c)) {
		ps->pos++;
		ps->t = T_PUNCT;
	} else {
		ps->pos++;
		ps->t = T_BAD;
	}
	ps->tlen = ps->pos - ps->tpos;
}

static bool is(const struct parser *ps, const char *word)
{
	return (ps->t == T_IDENT || ps->t == T_PUNCT) && ps->tlen == strlen(word) &&
	       !strncmp(ps->text + ps->tpos, word, ps->tlen);
}

static void tokstr(const struct parser *ps, char *buf, size_t sz)
{
	if (ps->t == T_EOF)
		snprintf(buf, sz, "end of input");
	else
		snprintf(buf, sz, "'%.*s'", (int)(ps->tlen > 40 ? 40 : ps->tlen), ps->text + ps->tpos);
}

/* Consumes punctuation @p or reports what was found instead. */
static int expect(struct parser *ps, const char *p)
{
	if (is(ps, p)) {
		next(ps);
		return 0;
	}
	char got[64], msg[128];
	tokstr(ps, got, sizeof(got));
	snprintf(msg, sizeof(msg), "expected '%s', found %s", p, got);
	return error(ps, ps->tpos, ps->tlen, NULL, msg);
}

/* Reports an unknown word among @cands, with a did-you-mean hint. */
static int unknown(struct parser *ps, const char *what, const char *const *cands, size_t n)
{
	char word[64], msg[160], hint[160];
	if (ps->t != T_IDENT) {
		char got[64];
		tokstr(ps, got, sizeof(got));
		snprintf(msg, sizeof(msg), "expected %s, found %s", what, got);
		snprintf(hint, sizeof(hint), "one of: ");
		for (size_t i = 0; i < n; i++)
			snprintf(hint + strlen(hint), sizeof(hint) - strlen(hint), "%s%s", i ? ", " : "", cands[i]);
		return error(ps, ps->tpos, ps->tlen, hint, msg);
	}
	snprintf(word, sizeof(word), "%.*s", (int)(ps->tlen > 60 ? 60 : ps->tlen), ps->text + ps->tpos);
	snprintf(msg, sizeof(msg), "unknown %s '%s'", what, word);
	const char *s = sbpf_suggest(word, cands, n);
	if (s) {
		snprintf(hint, sizeof(hint), "did you mean '%s'?", s);
	} else {
		snprintf(hint, sizeof(hint), "one of: ");
		for (size_t i = 0; i < n; i++)
			snprintf(hint + strlen(hint), sizeof(hint) - strlen(hint), "%s%s", i ? ", " : "", cands[i]);
	}
	return error(ps, ps->tpos, ps->tlen, hint, msg);
}

/* An integer in [lo, hi]; @what names it in errors. */
static int integer(struct parser *ps, uint64_t lo, uint64_t hi, const char *what, uint64_t *out)
{
	char msg[160];
	if (ps->t != T_INT) {
		char got[64];
		tokstr(ps, got, sizeof(got));
		snprintf(msg, sizeof(msg), "expected %s (a number), found %s", what, got);
		return error(ps, ps->tpos, ps->tlen, NULL, msg);
	}
	if (ps->ival < lo || ps->ival > hi) {
		snprintf(msg, sizeof(msg), "%s must be between %llu and %llu", what, (unsigned long long)lo,
			 (unsigned long long)hi);
		return error(ps, ps->tpos, ps->tlen, NULL, msg);
	}
	*out = ps->ival;
	next(ps);
	return 0;
}

/* field := src_ip | dst_ip | src_port | dst_port | proto | cpu
 *        | payload '[' INT ( ':' INT )? ']' */
static int field(struct parser *ps, struct sbpf_sched_policy *p)
{
	size_t i, start = ps->tpos;
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (is(ps, fields[i]))
			break;
	if (i == sizeof(fields) / sizeof(fields[0]))
		return unknown(ps, "key field", fields, i);
	if (p->nkey == SCHED_MAX_KEY)
		return error(ps, ps->tpos, ps->tlen, NULL, "too many key fields (at most 8)");
	struct sched_field *f = &p->key[p->nkey];
	f->kind = (enum sched_field_kind)i;
	next(ps);
	if (f->kind == SCHED_F_PAYLOAD) {
		uint64_t off, len = 1;
		if (expect(ps, "[") || integer(ps, 0, SCHED_MAX_PAYLOAD_OFF, "payload offset", &off))
			return ps->err;
		if (is(ps, ":")) {
			next(ps);
			if (integer(ps, 1, SCHED_MAX_PAYLOAD, "payload length", &len))
				return ps->err;
		}
		if (expect(ps, "]"))
			return ps->err;
		f->off = (uint16_t)off;
		f->len = (uint16_t)len;
	}
	for (size_t k = 0; k < p->nkey; k++)
		if (p->key[k].kind == f->kind && f->kind != SCHED_F_PAYLOAD)
			return error(ps, start, ps->tpos - start, NULL, "this field is already in the key");
	p->nkey++;
	return 0;
}

/* A declared map or counter named by the current token, or -1 (reported). */
static int vector(struct parser *ps, const struct sbpf_sched_policy *p)
{
	size_t m;
	for (m = 0; m < p->nmaps; m++)
		if (ps->t == T_IDENT && strlen(p->maps[m]) == ps->tlen && !strncmp(p->maps[m], ps->text + ps->tpos, ps->tlen))
			break;
	if (m < p->nmaps) {
		next(ps);
		return (int)m;
	}
	char msg[160], hint[160], word[64];
	snprintf(word, sizeof(word), "%.*s", (int)(ps->tlen > 60 ? 60 : ps->tlen), ps->text + ps->tpos);
	snprintf(msg, sizeof(msg), "least_loaded needs a declared map or counter, found '%.40s'", word);
	const char *arr[SCHED_MAX_MAPS];
	for (size_t k = 0; k < p->nmaps; k++)
		arr[k] = p->maps[k];
	const char *s = p->nmaps && ps->t == T_IDENT ? sbpf_suggest(word, arr, p->nmaps) : NULL;
	if (s)
		snprintf(hint, sizeof(hint), "did you mean '%s'?", s);
	else
		snprintf(hint, sizeof(hint), "declare it before `select`: map %s", word);
	error(ps, ps->tpos, ps->tlen, hint, msg);
	return -1;
}

/* action := round_robin | hash | least_loaded '(' IDENT ( '-' IDENT )? ')'
 *         | sticky '(' action ')' | executor INT */
static struct sched_action *action(struct parser *ps, struct sbpf_sched_policy *p, int depth)
{
	size_t i;
	for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (is(ps, actions[i]))
			break;
	if (i == sizeof(actions) / sizeof(actions[0])) {
		unknown(ps, "policy", actions, i);
		return NULL;
	}
	struct sched_action *a = &p->acts[p->nacts++];
	a->kind = (enum sched_act_kind)i;
	a->pos = ps->tpos;
	size_t wlen = ps->tlen;
	next(ps);
	switch (a->kind) {
	case SCHED_A_LEAST:
		a->sub = -1;
		if (expect(ps, "(") || (a->map = vector(ps, p)) < 0)
			return NULL;
		if (is(ps, "-")) {
			next(ps);
			if ((a->sub = vector(ps, p)) < 0)
				return NULL;
		}
		if (expect(ps, ")"))
			return NULL;
		break;
	case SCHED_A_STICKY:
		if (depth > 0) {
			error(ps, a->pos, wlen, NULL, "sticky() cannot be nested");
			return NULL;
		}
		if (expect(ps, "("))
			return NULL;
		if (!(a->inner = action(ps, p, depth + 1)))
			return NULL;
		if (a->inner->kind == SCHED_A_STICKY || expect(ps, ")"))
			return NULL;
		if (!p->nkey) {
			error(ps, a->pos, wlen, "add a key clause, e.g. `key payload[0:4]`",
			      "sticky() needs a key: it remembers one decision per key");
			return NULL;
		}
		break;
	case SCHED_A_HASH:
		if (!p->nkey) {
			error(ps, a->pos, wlen, "add a key clause, e.g. `key src_ip, src_port`",
			      "hash needs a key: the fields it hashes");
			return NULL;
		}
		break;
	case SCHED_A_EXEC: {
		uint64_t k;
		if (integer(ps, 0, SBPF_SCHED_MAX_EXECUTORS - 1, "executor", &k))
			return NULL;
		a->exec = (unsigned)k;
		if (p->executors && k >= p->executors) {
			error(ps, a->pos, ps->tpos - a->pos, NULL, "executor out of range of `executors`");
			return NULL;
		}
		break;
	}
	case SCHED_A_RR:
		break;
	}
	return a;
}

/* policy := 'policy' IDENT stmt*
 * stmt   := 'executors' INT | 'key' field (',' field)* | ('map' | 'counter') IDENT
 *         | 'select' action */
static int policy(struct parser *ps, struct sbpf_sched_policy *p)
{
	if (!is(ps, "policy"))
		return error(ps, ps->tpos, ps->tlen, "a policy starts with `policy NAME`", "expected 'policy'");
	next(ps);
	if (ps->t != T_IDENT)
		return error(ps, ps->tpos, ps->tlen, NULL, "expected the policy's name");
	snprintf(p->name, sizeof(p->name), "%.*s", (int)(ps->tlen > 63 ? 63 : ps->tlen), ps->text + ps->tpos);
	next(ps);
	bool have_key = false;
	while (ps->t != T_EOF) {
		if (p->sel) {
			char got[64], msg[128];
			tokstr(ps, got, sizeof(got));
			snprintf(msg, sizeof(msg), "unexpected %s after the select clause", got);
			return error(ps, ps->tpos, ps->tlen, "`select` is the policy's last clause", msg);
		}
		if (is(ps, "executors")) {
			uint64_t n;
			p->exec_pos = ps->tpos;
			next(ps);
			if (integer(ps, 1, SBPF_SCHED_MAX_EXECUTORS, "executors", &n))
				return ps->err;
			p->executors = (unsigned)n;
		} else if (is(ps, "key")) {
			if (have_key)
				return error(ps, ps->tpos, ps->tlen, "list every field in one key clause",
					     "a policy has one key clause");
			have_key = true;
			next(ps);
			if (field(ps, p))
				return ps->err;
			while (is(ps, ",")) {
				next(ps);
				if (field(ps, p))
					return ps->err;
			}
		} else if (is(ps, "map") || is(ps, "counter")) {
			bool counter = is(ps, "counter");
			next(ps);
			if (ps->t != T_IDENT)
				return error(ps, ps->tpos, ps->tlen, NULL, "expected the map's name");
			if (p->nmaps == SCHED_MAX_MAPS)
				return error(ps, ps->tpos, ps->tlen, NULL, "too many maps (at most 4)");
			if (ps->tlen > 31)
				return error(ps, ps->tpos, ps->tlen, NULL, "map name too long (at most 31 characters)");
			snprintf(p->maps[p->nmaps], sizeof(p->maps[0]), "%.*s", (int)ps->tlen, ps->text + ps->tpos);
			p->counter[p->nmaps] = counter;
			for (size_t k = 0; k < p->nmaps; k++)
				if (!strcmp(p->maps[k], p->maps[p->nmaps]))
					return error(ps, ps->tpos, ps->tlen, NULL, "name declared twice");
			p->nmaps++;
			next(ps);
		} else if (is(ps, "select")) {
			next(ps);
			if (!(p->sel = action(ps, p, 0)))
				return ps->err;
		} else {
			return unknown(ps, "clause", stmts, sizeof(stmts) / sizeof(stmts[0]));
		}
	}
	if (!p->sel)
		return error(ps, ps->tpos, 1, "end the policy with e.g. `select round_robin`",
			     "the policy has no select clause");
	return 0;
}

int sbpf_sched_policy__compile(const char *text, const char *file, struct sbpf_sched_policy **out,
			       struct sbpf_diags *diags)
{
	if (!text || !out)
		return -EINVAL;
	*out = NULL;
	struct sbpf_sched_policy *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	struct parser ps = { .text = text, .file = file ? file : "<policy>", .diags = diags };
	next(&ps);
	if (ps.t == T_BAD) {
		error(&ps, ps.tpos, ps.tlen, NULL, "unexpected character");
	} else if (policy(&ps, p) == 0 && ps.err == 0) {
		*out = p;
		return 0;
	}
	free(p);
	return ps.err ? ps.err : -EINVAL;
}

void sbpf_sched_policy__free(struct sbpf_sched_policy *p)
{
	free(p);
}

const char *sbpf_sched_policy__name(const struct sbpf_sched_policy *p)
{
	return p->name;
}

unsigned sbpf_sched_policy__executors(const struct sbpf_sched_policy *p)
{
	return p->executors;
}
