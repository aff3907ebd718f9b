/* lex.c - the SQL lexer: query text -> tokens (keywords, names, integers,
 * duration literals such as 10us or 1sec, strings, operators), with caret
 * diagnostics for what cannot be a token.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "safebpf/diag.h"
#include "safebpf/sql.h"
#include "sql/sqlInt.h"

static const char *const kw_names[] = {
	[SQL_KW_NONE] = "",
#define SQL_KW_NAME(k) [SQL_KW_##k] = #k,
	SQL_KEYWORDS(SQL_KW_NAME)
#undef SQL_KW_NAME
};

const char *sql_kw_name(enum sql_kw kw)
{
	return kw_names[kw];
}

/* Duration units: suffix and nanoseconds per unit. */
static const struct {
	const char *suffix;   /* as written after the number */
	uint64_t ns;          /* nanoseconds per unit */
} units[] = {
	{ "ns", 1 }, { "nsec", 1 },
	{ "us", 1000 }, { "usec", 1000 },
	{ "ms", 1000000 }, { "msec", 1000000 },
	{ "s", 1000000000ull }, { "sec", 1000000000ull },
	{ "m", 60000000000ull }, { "min", 60000000000ull },
	{ "h", 3600000000000ull }, { "hour", 3600000000000ull },
};

const char sql_duration_units[] = "ns, us, ms, s (or sec), m (or min), h";

struct lexer {
	const char *text;         /* whole query */
	const char *file;         /* name for diagnostics */
	struct sql_arena *a;      /* token storage */
	struct sbpf_diags *d;     /* where errors go */
	struct sql_token *toks;   /* tokens so far */
	size_t n, cap;            /* tokens used / allocated */
};

int sql_error(struct sbpf_diags *d, const char *file, const char *text, size_t off, int len,
	      const char *hint, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return sbpf_diags__add(d, file, text, off, len, hint, "%s", msg) ? -ENOMEM : -EINVAL;
}

#define error(lx, off, len, hint, ...) sql_error((lx)->d, (lx)->file, (lx)->text, off, len, hint, __VA_ARGS__)

static struct sql_token *push(struct lexer *lx, enum sql_tok kind, size_t off, size_t len)
{
	if (lx->n == lx->cap) {
		size_t ncap = lx->cap ? lx->cap * 2 : 64;
		struct sql_token *nt = sql_arena_alloc(lx->a, ncap * sizeof(*nt));
		if (!nt)
			return NULL;
		if (lx->n)
			memcpy(nt, lx->toks, lx->n * sizeof(*nt));
		lx->toks = nt;
		lx->cap = ncap;
	}
	struct sql_token *t = &lx->toks[lx->n++];
	memset(t, 0, sizeof(*t));
	t->kind = kind;
	t->off = off;
	t->len = (int)len;
	return t;
}

static enum sql_kw keyword(const char *s, size_t len)
{
	for (int k = 1; k < (int)(sizeof(kw_names) / sizeof(kw_names[0])); k++)
		if (strlen(kw_names[k]) == len && !strncasecmp(kw_names[k], s, len))
			return (enum sql_kw)k;
	return SQL_KW_NONE;
}

/* The integer token s[@start..@end) of value @v, or the error that it
 * does not fit in 64 bits. */
static int int_token(struct lexer *lx, size_t start, size_t end, uint64_t v, bool overflow, size_t *pos)
{
	if (overflow)
		return error(lx, start, (int)(end - start), "numbers must fit in 64 bits",
			     "number '%.*s' is too large", (int)(end - start), lx->text + start);
	struct sql_token *t = push(lx, SQL_TK_INT, start, end - start);
	if (!t)
		return -ENOMEM;
	t->num = v;
	*pos = end;
	return 0;
}

/* Number at @p: decimal or hex integer, optionally a decimal fraction and a
 * duration unit written right after it ("10us", "1.5ms"). */
static int lex_number(struct lexer *lx, size_t *pos)
{
	const char *s = lx->text;
	size_t start = *pos, i = start;
	uint64_t v = 0;
	bool overflow = false;
	if (s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X') && isxdigit((unsigned char)s[i + 2])) {
		for (i += 2; isxdigit((unsigned char)s[i]); i++) {
			int dg = isdigit((unsigned char)s[i]) ? s[i] - '0' : (tolower((unsigned char)s[i]) - 'a' + 10);
			if (v >> 60)
				overflow = true;
			v = v << 4 | (uint64_t)dg;
		}
		if (isalnum((unsigned char)s[i]) || s[i] == '_')
			return error(lx, start, (int)(i - start + 1), "a hexadecimal number ends at its last digit",
				     "bad number '%.*s'", (int)(i - start + 1), s + start);
		return int_token(lx, start, i, v, overflow, pos);
	}
	for (; isdigit((unsigned char)s[i]); i++) {
		uint64_t dg = (uint64_t)(s[i] - '0');
		if (v > UINT64_MAX / 10 || (v == UINT64_MAX / 10 && dg > UINT64_MAX % 10))
			overflow = true;
		v = v * 10 + dg;
	}
	/* Fraction: only meaningful with a unit. */
	uint64_t frac = 0, fracscale = 1;
	size_t frac_start = i;
	if (s[i] == '.' && isdigit((unsigned char)s[i + 1])) {
		for (i++; isdigit((unsigned char)s[i]); i++) {
			if (fracscale < 1000000000000ull) {
				frac = frac * 10 + (uint64_t)(s[i] - '0');
				fracscale *= 10;
			}
		}
	}
	size_t ustart = i;
	while (isalnum((unsigned char)s[i]) || s[i] == '_')
		i++;
	if (ustart == i) {
		if (frac_start == ustart)
			return int_token(lx, start, i, v, overflow, pos);
		/* A decimal (99.9): value x 10^4, exactly; the parser says where
		 * one is accepted. */
		uint64_t f4 = 0;
		for (size_t k = frac_start + 1; k < ustart; k++) {
			if (k < frac_start + 5)
				f4 = f4 * 10 + (uint64_t)(s[k] - '0');
			else if (s[k] != '0')
				return error(lx, start, (int)(i - start), "write at most 4 decimal places",
					     "number '%.*s' is too precise", (int)(i - start), s + start);
		}
		for (size_t k = ustart - frac_start - 1; k < 4; k++)
			f4 *= 10;
		if (overflow || v > 1000000000000ull)
			return error(lx, start, (int)(i - start), NULL, "number '%.*s' is too large",
				     (int)(i - start), s + start);
		struct sql_token *t = push(lx, SQL_TK_DECIMAL, start, i - start);
		if (!t)
			return -ENOMEM;
		t->num = v * 10000 + f4;
		*pos = i;
		return 0;
	}
	uint64_t per = 0;
	for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++)
		if (strlen(units[u].suffix) == i - ustart && !strncasecmp(units[u].suffix, s + ustart, i - ustart))
			per = units[u].ns;
	if (!per) {
		char hint[128];
		snprintf(hint, sizeof(hint), "duration units are %s", sql_duration_units);
		return error(lx, ustart, (int)(i - ustart), hint, "bad duration unit '%.*s'", (int)(i - ustart), s + ustart);
	}
	/* ns = v * per + frac * per / fracscale, exactly or refused. */
	unsigned __int128 ns = (unsigned __int128)v * per;
	unsigned __int128 fns = (unsigned __int128)frac * per;
	if (fns % fracscale)
		return error(lx, start, (int)(i - start), "durations are counted in whole nanoseconds",
			     "duration '%.*s' is finer than a nanosecond", (int)(i - start), s + start);
	ns += fns / fracscale;
	if (overflow || ns > (unsigned __int128)INT64_MAX)
		return error(lx, start, (int)(i - start), "durations must be below 292 years",
			     "duration '%.*s' is too long", (int)(i - start), s + start);
	struct sql_token *t = push(lx, SQL_TK_DURATION, start, i - start);
	if (!t)
		return -ENOMEM;
	t->num = (uint64_t)ns;
	*pos = i;
	return 0;
}

/* String literal in single or double quotes; a doubled quote stands for itself. */
static int lex_string(struct lexer *lx, size_t *pos)
{
	const char *s = lx->text;
	size_t start = *pos, i = start + 1;
	char q = s[start];
	size_t n = 0;
	for (;; i++) {
		if (!s[i])
			return error(lx, start, 1, "close the string with a matching quote",
				     "unterminated string");
		if (s[i] == q) {
			if (s[i + 1] != q)
				break;
			i++;
		}
		n++;
	}
	char *v = sql_arena_alloc(lx->a, n + 1);
	if (!v)
		return -ENOMEM;
	size_t k = 0;
	for (size_t j = start + 1; j < i; j++) {
		v[k++] = s[j];
		if (s[j] == q)
			j++;
	}
	struct sql_token *t = push(lx, SQL_TK_STRING, start, i + 1 - start);
	if (!t)
		return -ENOMEM;
	t->str = v;
	*pos = i + 1;
	return 0;
}

static const struct {
	const char *text;       /* spelling */
	enum sql_punct p;       /* token */
} puncts[] = {
	{ "<=", SQL_P_LE }, { ">=", SQL_P_GE }, { "<>", SQL_P_NE }, { "!=", SQL_P_NE },
	{ "==", SQL_P_EQ }, { "||", SQL_P_CONCAT }, { "(", SQL_P_LPAREN }, { ")", SQL_P_RPAREN }, { ",", SQL_P_COMMA },
	{ ".", SQL_P_DOT }, { ";", SQL_P_SEMI }, { "*", SQL_P_STAR }, { "+", SQL_P_PLUS },
	{ "-", SQL_P_MINUS }, { "/", SQL_P_SLASH }, { "%", SQL_P_PERCENT }, { "=", SQL_P_EQ },
	{ "<", SQL_P_LT }, { ">", SQL_P_GT }, { "&", SQL_P_AMP }, { "|", SQL_P_PIPE },
};

int sql_lex(const char *text, const char *file, struct sql_arena *a, struct sql_token **toks,
	    size_t *ntoks, struct sbpf_diags *d)
{
	struct lexer lx = { .text = text, .file = file, .a = a, .d = d };
	size_t i = 0;
	int rc = 0;
	while (!rc) {
		unsigned char c = (unsigned char)text[i];
		if (!c)
			break;
		if (isspace(c)) {
			i++;
		} else if (c == '-' && text[i + 1] == '-') {
			while (text[i] && text[i] != '\n')
				i++;
		} else if (c == '/' && text[i + 1] == '*') {
			const char *end = strstr(text + i + 2, "*/");
			if (!end)
				return error(&lx, i, 2, "close the comment with */", "unterminated comment");
			i = (size_t)(end - text) + 2;
		} else if (isalpha(c) || c == '_') {
			size_t start = i;
			while (isalnum((unsigned char)text[i]) || text[i] == '_')
				i++;
			enum sql_kw kw = keyword(text + start, i - start);
			struct sql_token *t = push(&lx, kw ? SQL_TK_KEYWORD : SQL_TK_IDENT, start, i - start);
			if (!t)
				return -ENOMEM;
			t->sub = kw;
			if (!(t->str = sql_arena_strndup(a, text + start, i - start)))
				return -ENOMEM;
		} else if (isdigit(c)) {
			rc = lex_number(&lx, &i);
		} else if (c == '\'' || c == '"') {
			rc = lex_string(&lx, &i);
		} else {
			size_t p;
			for (p = 0; p < sizeof(puncts) / sizeof(puncts[0]); p++)
				if (!strncmp(text + i, puncts[p].text, strlen(puncts[p].text)))
					break;
			if (p == sizeof(puncts) / sizeof(puncts[0])) {
				if (c >= 0x80)
					return error(&lx, i, 1, "names and operators are ASCII; non-ASCII text belongs in 'quotes'",
						     "unexpected byte 0x%02x", c);
				return error(&lx, i, 1, NULL, "unexpected character '%c'", c);
			}
			size_t len = strlen(puncts[p].text);
			struct sql_token *t = push(&lx, SQL_TK_PUNCT, i, len);
			if (!t)
				return -ENOMEM;
			t->sub = puncts[p].p;
			i += len;
		}
	}
	if (rc)
		return rc;
	struct sql_token *t = push(&lx, SQL_TK_EOF, i, 0);
	if (!t)
		return -ENOMEM;
	*toks = lx.toks;
	*ntoks = lx.n;
	return 0;
}

int sbpf_parse_duration(const char *text, uint64_t *ns)
{
	struct sbpf_diags d = { 0 };
	struct sql_arena a = { 0 };
	struct sql_token *t;
	size_t n;
	int rc = sql_lex(text, "<duration>", &a, &t, &n, &d);
	if (!rc && n == 2 && t[0].kind == SQL_TK_DURATION)
		*ns = t[0].num;
	else if (!rc && n == 2 && t[0].kind == SQL_TK_INT && t[0].num <= INT64_MAX / 1000000000)
		*ns = t[0].num * 1000000000u;
	else
		rc = -EINVAL;
	sbpf_diags__free(&d);
	sql_arena_reset(&a);
	return rc ? -EINVAL : 0;
}
