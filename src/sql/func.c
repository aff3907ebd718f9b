/* func.c - the SQL function library: scalar functions (name lookups such as
 * syscall_name(), conversions such as usec(), string helpers) with their type
 * rules and evaluation, and the table of aggregate functions the binder
 * recognizes (COUNT, SUM, ..., HIST, LHIST, P50..P99).
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sql/sqlInt.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static bool is_num(enum sql_type t)
{
	return t == SQL_T_INT || t == SQL_T_UINT || t == SQL_T_NULL;
}

static struct sql_value null_value(void)
{
	return (struct sql_value){ .type = SQL_T_NULL };
}

static struct sql_value str_value(struct sql_evalctx *c, const char *s)
{
	char *p = sql_arena_strndup(c->scratch, s, strlen(s));
	return p ? (struct sql_value){ .type = SQL_T_STR, .s = p } : null_value();
}

static int64_t as_i64(const struct sql_value *v)
{
	return v->type == SQL_T_UINT ? (int64_t)v->u : v->i;
}

/* ---- type rules ---- */

static enum sql_type want_number_to_str(const enum sql_type *a, size_t n, char *why, size_t sz)
{
	(void)n;
	if (is_num(a[0]))
		return SQL_T_STR;
	snprintf(why, sz, "needs a number, not a %s", sql_type_name(a[0]));
	return SQL_T_NULL;
}

static enum sql_type want_duration_to_int(const enum sql_type *a, size_t n, char *why, size_t sz)
{
	(void)n;
	if (a[0] == SQL_T_DURATION || a[0] == SQL_T_TIME || a[0] == SQL_T_NULL)
		return SQL_T_INT;
	snprintf(why, sz, "needs a duration or a time, not a %s%s", sql_type_name(a[0]),
		 is_num(a[0]) ? " (numbers have no unit to convert from)" : "");
	return SQL_T_NULL;
}

static enum sql_type want_any_to_str(const enum sql_type *a, size_t n, char *why, size_t sz)
{
	(void)n;
	(void)a;
	(void)why;
	(void)sz;
	return SQL_T_STR;
}

static enum sql_type want_str_to_str(const enum sql_type *a, size_t n, char *why, size_t sz)
{
	(void)n;
	if (a[0] == SQL_T_STR || a[0] == SQL_T_NULL)
		return SQL_T_STR;
	snprintf(why, sz, "needs a string, not a %s", sql_type_name(a[0]));
	return SQL_T_NULL;
}

static enum sql_type want_number_same(const enum sql_type *a, size_t n, char *why, size_t sz)
{
	(void)n;
	if (is_num(a[0]) || a[0] == SQL_T_DURATION)
		return a[0] == SQL_T_UINT ? SQL_T_UINT : a[0] == SQL_T_DURATION ? SQL_T_DURATION : SQL_T_INT;
	snprintf(why, sz, "needs a number or a duration, not a %s", sql_type_name(a[0]));
	return SQL_T_NULL;
}

static enum sql_type want_number_to_int(const enum sql_type *a, size_t n, char *why, size_t sz)
{
	(void)n;
	if (is_num(a[0]))
		return SQL_T_INT;
	snprintf(why, sz, "needs a number, not a %s%s", sql_type_name(a[0]),
		 a[0] == SQL_T_DURATION ? " (convert a duration with nsec(...))" : "");
	return SQL_T_NULL;
}

static enum sql_type want_number_to_uint(const enum sql_type *a, size_t n, char *why, size_t sz)
{
	(void)n;
	if (want_number_to_int(a, n, why, sz) == SQL_T_NULL)
		return SQL_T_NULL;
	return SQL_T_UINT;
}

/* ---- evaluation ---- */

static struct sql_value named(struct sql_evalctx *c, const struct sql_value *a,
			      const char *(*name)(int64_t), bool keep_number)
{
	if (a[0].type == SQL_T_NULL)
		return null_value();
	const char *n = name(as_i64(&a[0]));
	if (n)
		return str_value(c, n);
	if (!keep_number)
		return null_value();
	char buf[32];
	if (a[0].type == SQL_T_UINT)
		snprintf(buf, sizeof(buf), "%" PRIu64, a[0].u);
	else
		snprintf(buf, sizeof(buf), "%" PRId64, a[0].i);
	return str_value(c, buf);
}

static struct sql_value f_syscall_name(struct sql_evalctx *c, const struct sql_value *a, size_t n)
{
	(void)n;
	return named(c, a, sql_syscall_name, true);
}

static struct sql_value f_errno_name(struct sql_evalctx *c, const struct sql_value *a, size_t n)
{
	(void)n;
	if (a[0].type == SQL_T_NULL || a[0].type == SQL_T_UINT || a[0].i >= 0)
		return null_value();
	return named(c, a, sql_errno_name, true);
}

static struct sql_value f_signal_name(struct sql_evalctx *c, const struct sql_value *a, size_t n)
{
	(void)n;
	return named(c, a, sql_signal_name, true);
}

static struct sql_value f_tcp_state_name(struct sql_evalctx *c, const struct sql_value *a, size_t n)
{
	(void)n;
	return named(c, a, sql_tcp_state_name, true);
}

static struct sql_value div_unit(const struct sql_value *a, int64_t per)
{
	if (a[0].type == SQL_T_NULL)
		return null_value();
	return (struct sql_value){ .type = SQL_T_INT, .i = a[0].i / per };
}

static struct sql_value f_nsec(struct sql_evalctx *c, const struct sql_value *a, size_t n)
{
	(void)n;
	(void)c;
	return div_unit(a, 1);
}

static struct sql_value f_usec(struct sql_evalctx *c, const struct sql_value *a, size_t n)
{
	(void)n;
	(void)c;
	return div_unit(a, 1000);
}

static struct sql_value f_msec(struct sql_evalctx *c, const struct sql_value *a, size_t n)
{
	(void)n;
	(void)c;
	return div_unit(a, 1000000);
}

static struct sql_value f_sec(struct sql_evalctx *c, const struct sql_value *a, size_t n)
{
	(void)n;
	(void)c;
	return div_unit(a, 1000000000);
}

static struct sql_value f_str(struct sql_evalctx *c, const struct sql_value *a, size_t n)
{
	(void)n;
	char buf[64];
	switch (a[0].type) {
	case SQL_T_NULL:
		return null_value();
	case SQL_T_STR:
		return a[0];
	case SQL_T_UINT:
		snprintf(buf, sizeof(buf), "%" PRIu64, a[0].u);
		break;
	case SQL_T_BOOL:
		snprintf(buf, sizeof(buf), "%s", a[0].i ? "true" : "false");
		break;
	case SQL_T_DURATION:
		sql_fmt_duration(a[0].i, buf, sizeof(buf));
		break;
	default:
		snprintf(buf, sizeof(buf), "%" PRId64, a[0].i);
		break;
	}
	return str_value(c, buf);
}

static struct sql_value f_hex(struct sql_evalctx *c, const struct sql_value *a, size_t n)
{
	(void)n;
	if (a[0].type == SQL_T_NULL)
		return null_value();
	char buf[32];
	snprintf(buf, sizeof(buf), "0x%" PRIx64, a[0].u);
	return str_value(c, buf);
}

static struct sql_value f_abs(struct sql_evalctx *c, const struct sql_value *a, size_t n)
{
	(void)n;
	(void)c;
	struct sql_value v = a[0];
	if ((v.type == SQL_T_INT || v.type == SQL_T_DURATION) && v.i < 0)
		v.i = (int64_t)(0 - (uint64_t)v.i);
	return v;
}

/* signed(x), unsigned(x): the same 64 bits with the other integer type. */
static struct sql_value f_signed(struct sql_evalctx *c, const struct sql_value *a, size_t n)
{
	(void)n;
	(void)c;
	struct sql_value v = a[0];
	if (v.type != SQL_T_NULL)
		v.type = SQL_T_INT;
	return v;
}

static struct sql_value f_unsigned(struct sql_evalctx *c, const struct sql_value *a, size_t n)
{
	(void)n;
	(void)c;
	struct sql_value v = a[0];
	if (v.type != SQL_T_NULL)
		v.type = SQL_T_UINT;
	return v;
}

static struct sql_value case_map(struct sql_evalctx *c, const struct sql_value *a, int (*fn)(int))
{
	if (a[0].type != SQL_T_STR)
		return null_value();
	size_t n = strlen(a[0].s);
	char *p = sql_arena_alloc(c->scratch, n + 1);
	if (!p)
		return null_value();
	for (size_t i = 0; i < n; i++)
		p[i] = (char)fn((unsigned char)a[0].s[i]);
	return (struct sql_value){ .type = SQL_T_STR, .s = p };
}

static struct sql_value f_lower(struct sql_evalctx *c, const struct sql_value *a, size_t n)
{
	(void)n;
	return case_map(c, a, tolower);
}

static struct sql_value f_upper(struct sql_evalctx *c, const struct sql_value *a, size_t n)
{
	(void)n;
	return case_map(c, a, toupper);
}

static struct sql_value f_basename(struct sql_evalctx *c, const struct sql_value *a, size_t n)
{
	(void)n;
	(void)c;
	if (a[0].type != SQL_T_STR)
		return null_value();
	const char *slash = strrchr(a[0].s, '/');
	return (struct sql_value){ .type = SQL_T_STR, .s = slash && slash[1] ? slash + 1 : a[0].s };
}

/* ---- strings, COALESCE and CAST ---- */

static enum sql_type want_str_to_uint(const enum sql_type *a, size_t n, char *why, size_t sz)
{
	(void)n;
	if (a[0] == SQL_T_STR || a[0] == SQL_T_NULL)
		return SQL_T_UINT;
	snprintf(why, sz, "needs a string, not a %s (convert with str(...))", sql_type_name(a[0]));
	return SQL_T_NULL;
}

static enum sql_type want_substr(const enum sql_type *a, size_t n, char *why, size_t sz)
{
	if (want_str_to_str(a, n, why, sz) == SQL_T_NULL)
		return SQL_T_NULL;
	for (size_t i = 1; i < n; i++)
		if (!is_num(a[i])) {
			snprintf(why, sz, "needs a number as argument %zu, not a %s", i + 1, sql_type_name(a[i]));
			return SQL_T_NULL;
		}
	return SQL_T_STR;
}

/* COALESCE: every argument of one type (NULL literals aside). */
static enum sql_type want_same_types(const enum sql_type *a, size_t n, char *why, size_t sz)
{
	enum sql_type t = SQL_T_NULL;
	for (size_t i = 0; i < n; i++) {
		if (a[i] == SQL_T_NULL)
			continue;
		if (t != SQL_T_NULL && a[i] != t) {
			snprintf(why, sz, "needs arguments of one type: argument %zu is a %s, an earlier one a %s%s", i + 1,
				 sql_type_name(a[i]), sql_type_name(t),
				 is_num(a[i]) && is_num(t) ? " (make them agree with signed(...) or unsigned(...))" :
							     " (convert with str(...) or CAST)");
			return SQL_T_NULL;
		}
		t = a[i];
	}
	if (t == SQL_T_NULL)
		snprintf(why, sz, "needs at least one argument that is not NULL");
	return t;
}

static enum sql_type want_castable_to_int(const enum sql_type *a, size_t n, char *why, size_t sz)
{
	(void)n;
	if (a[0] == SQL_T_TIME) {
		snprintf(why, sz, "cannot cast a time to a number (subtract another time, or use nsec(...))");
		return SQL_T_NULL;
	}
	return SQL_T_INT;
}

static enum sql_type want_castable_to_uint(const enum sql_type *a, size_t n, char *why, size_t sz)
{
	return want_castable_to_int(a, n, why, sz) == SQL_T_NULL ? SQL_T_NULL : SQL_T_UINT;
}

static enum sql_type want_castable_to_bool(const enum sql_type *a, size_t n, char *why, size_t sz)
{
	(void)n;
	if (is_num(a[0]) || a[0] == SQL_T_BOOL || a[0] == SQL_T_STR)
		return SQL_T_BOOL;
	snprintf(why, sz, "cannot cast a %s to a boolean", sql_type_name(a[0]));
	return SQL_T_NULL;
}

static struct sql_value f_length(struct sql_evalctx *c, const struct sql_value *a, size_t n)
{
	(void)c;
	(void)n;
	if (a[0].type != SQL_T_STR)
		return null_value();
	return (struct sql_value){ .type = SQL_T_UINT, .u = strlen(a[0].s) };
}

/* substr(s, start[, count]) in bytes, counted from 1 as in SQL; a start of
 * 0 or below (but not before the string) counts from the end, -1 being the
 * last byte; a negative count is empty. */
static struct sql_value f_substr(struct sql_evalctx *c, const struct sql_value *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i].type == SQL_T_NULL)
			return null_value();
	uint64_t len = strlen(a[0].s);
	int64_t start = as_i64(&a[1]);
	if (a[1].type == SQL_T_UINT && a[1].u > INT64_MAX)
		start = INT64_MAX;
	uint64_t from;
	if (start > 0)
		from = (uint64_t)start - 1 < len ? (uint64_t)start - 1 : len;
	else if (start == 0)
		from = 0;
	else
		from = (uint64_t)(0 - (uint64_t)start) <= len ? len - (0 - (uint64_t)start) : 0;
	uint64_t count = len - from;
	if (n > 2) {
		if (a[2].type == SQL_T_INT && a[2].i < 0)
			count = 0;
		else if (a[2].u < count)
			count = a[2].u;
	}
	char *p = sql_arena_strndup(c->scratch, a[0].s + from, (size_t)count);
	return p ? (struct sql_value){ .type = SQL_T_STR, .s = p } : null_value();
}

/* Joins the text of every argument: concat() leaves NULLs out, the ||
 * operator gives NULL when an operand is NULL (as SQL says). */
static struct sql_value join_text(struct sql_evalctx *c, const struct sql_value *a, size_t n, bool null_wins)
{
	struct sql_value parts[SQL_FUNC_MAX_ARGS];
	size_t total = 0;
	for (size_t i = 0; i < n; i++) {
		if (a[i].type == SQL_T_NULL) {
			if (null_wins)
				return null_value();
			parts[i].s = "";
			continue;
		}
		parts[i] = f_str(c, &a[i], 1);
		if (parts[i].type != SQL_T_STR)
			return null_value(); /* out of scratch memory */
		total += strlen(parts[i].s);
	}
	char *p = sql_arena_alloc(c->scratch, total + 1);
	if (!p)
		return null_value();
	size_t at = 0;
	for (size_t i = 0; i < n; i++) {
		size_t k = strlen(parts[i].s);
		memcpy(p + at, parts[i].s, k);
		at += k;
	}
	p[at] = '\0';
	return (struct sql_value){ .type = SQL_T_STR, .s = p };
}

static struct sql_value f_concat(struct sql_evalctx *c, const struct sql_value *a, size_t n)
{
	return join_text(c, a, n, false);
}

static struct sql_value f_concat_op(struct sql_evalctx *c, const struct sql_value *a, size_t n)
{
	return join_text(c, a, n, true);
}

static struct sql_value f_coalesce(struct sql_evalctx *c, const struct sql_value *a, size_t n)
{
	(void)c;
	for (size_t i = 0; i < n; i++)
		if (a[i].type != SQL_T_NULL)
			return a[i];
	return null_value();
}

/* CAST(x AS INT|UINT): numbers keep their 64 bits, durations are
 * nanoseconds, booleans 0 or 1, strings are parsed (decimal, or 0x hex,
 * with an optional sign); a string that is not a whole number is NULL. */
static struct sql_value cast_integer(const struct sql_value *a, enum sql_type to)
{
	struct sql_value v = a[0];
	if (v.type == SQL_T_STR) {
		const char *s = v.s;
		while (isspace((unsigned char)*s))
			s++;
		bool neg = *s == '-';
		if (*s == '-' || *s == '+')
			s++;
		int base = s[0] == '0' && (s[1] == 'x' || s[1] == 'X') ? 16 : 10;
		if (base == 16)
			s += 2;
		uint64_t x = 0;
		const char *d = s;
		for (; *d; d++) {
			int k = isdigit((unsigned char)*d) ? *d - '0' :
				base == 16 && isxdigit((unsigned char)*d) ? tolower((unsigned char)*d) - 'a' + 10 : -1;
			if (k < 0 || x > (UINT64_MAX - (uint64_t)k) / (uint64_t)base)
				break;
			x = x * (uint64_t)base + (uint64_t)k;
		}
		const char *end = d;
		while (isspace((unsigned char)*end))
			end++;
		if (d == s || *end)
			return null_value();
		if (neg && (to == SQL_T_UINT ? x != 0 : x > (uint64_t)INT64_MAX + 1))
			return null_value(); /* out of the target's range */
		if (!neg && to == SQL_T_INT && x > (uint64_t)INT64_MAX)
			return null_value();
		v.u = neg ? 0 - x : x;
	} else if (v.type == SQL_T_NULL) {
		return v;
	}
	v.type = to;
	return v;
}

static struct sql_value f_cast_int(struct sql_evalctx *c, const struct sql_value *a, size_t n)
{
	(void)c;
	(void)n;
	return cast_integer(a, SQL_T_INT);
}

static struct sql_value f_cast_uint(struct sql_evalctx *c, const struct sql_value *a, size_t n)
{
	(void)c;
	(void)n;
	return cast_integer(a, SQL_T_UINT);
}

/* CAST(x AS BOOL): numbers are true when not 0; strings 'true'/'false'
 * (any case) and '1'/'0', anything else is NULL. */
static struct sql_value f_cast_bool(struct sql_evalctx *c, const struct sql_value *a, size_t n)
{
	(void)c;
	(void)n;
	struct sql_value v = a[0];
	if (v.type == SQL_T_NULL || v.type == SQL_T_BOOL)
		return v;
	if (v.type != SQL_T_STR)
		return (struct sql_value){ .type = SQL_T_BOOL, .i = v.u != 0 };
	if (!strcasecmp(v.s, "true") || !strcmp(v.s, "1"))
		return (struct sql_value){ .type = SQL_T_BOOL, .i = 1 };
	if (!strcasecmp(v.s, "false") || !strcmp(v.s, "0"))
		return (struct sql_value){ .type = SQL_T_BOOL, .i = 0 };
	return null_value();
}

static const struct sql_func funcs[] = {
	{ "syscall_name", 1, "syscall_name(number)", "x86-64 system call name ('openat'); the number itself when unknown",
	  want_number_to_str, f_syscall_name },
	{ "errno_name", 1, "errno_name(ret)", "name of a negative error return ('ENOENT' for -2); NULL for ret >= 0",
	  want_number_to_str, f_errno_name },
	{ "signal_name", 1, "signal_name(number)", "signal name ('SIGKILL' for 9)", want_number_to_str,
	  f_signal_name },
	{ "tcp_state_name", 1, "tcp_state_name(number)", "TCP state name ('ESTABLISHED' for 1)",
	  want_number_to_str, f_tcp_state_name },
	{ "nsec", 1, "nsec(duration)", "a duration (or time) in whole nanoseconds, as a number",
	  want_duration_to_int, f_nsec },
	{ "usec", 1, "usec(duration)", "a duration (or time) in whole microseconds, as a number",
	  want_duration_to_int, f_usec },
	{ "msec", 1, "msec(duration)", "a duration (or time) in whole milliseconds, as a number",
	  want_duration_to_int, f_msec },
	{ "sec", 1, "sec(duration)", "a duration (or time) in whole seconds, as a number",
	  want_duration_to_int, f_sec },
	{ "str", 1, "str(value)", "any value as a string (durations with units: '10.1ms')", want_any_to_str,
	  f_str },
	{ "hex", 1, "hex(number)", "a number in hexadecimal ('0x1f')", want_number_to_str, f_hex },
	{ "abs", 1, "abs(x)", "absolute value of a number or duration", want_number_same, f_abs },
	{ "signed", 1, "signed(number)", "the number's 64 bits read as a signed number (signed(18446744073709551615) = -1)",
	  want_number_to_int, f_signed },
	{ "unsigned", 1, "unsigned(number)", "the number's 64 bits read as an unsigned number (unsigned(-1) = 18446744073709551615)",
	  want_number_to_uint, f_unsigned },
	{ "lower", 1, "lower(string)", "the string in lower case", want_str_to_str, f_lower },
	{ "upper", 1, "upper(string)", "the string in upper case", want_str_to_str, f_upper },
	{ "basename", 1, "basename(path)", "last component of a path ('/etc/passwd' -> 'passwd')",
	  want_str_to_str, f_basename },
	{ "length", 1, "length(string)", "length of a string in bytes", want_str_to_uint, f_length },
	{ "substr", 2, "substr(string, start[, count])",
	  "count bytes (default: the rest) from byte start, counted from 1; a negative start counts from the end",
	  want_substr, f_substr, 3 },
	{ "concat", 1, "concat(x, ...)", "the text of every argument joined (NULLs left out); a || b is the same "
	  "for two operands, but NULL when either is NULL", want_any_to_str, f_concat, SQL_FUNC_MAX_ARGS },
	{ "coalesce", 1, "coalesce(x, ...)", "the first argument that is not NULL (all of one type)",
	  want_same_types, f_coalesce, SQL_FUNC_MAX_ARGS },
	/* Reached only through syntax: a || b, CAST(x AS type). */
	{ "||", 2, "a || b", "string concatenation", want_any_to_str, f_concat_op },
	{ "cast as int", 1, "CAST(x AS INT)", "x as a signed 64-bit number", want_castable_to_int, f_cast_int },
	{ "cast as uint", 1, "CAST(x AS UINT)", "x as an unsigned 64-bit number", want_castable_to_uint, f_cast_uint },
	{ "cast as string", 1, "CAST(x AS STRING)", "x as text (as str(x))", want_any_to_str, f_str },
	{ "cast as bool", 1, "CAST(x AS BOOL)", "x as a boolean", want_castable_to_bool, f_cast_bool },
};

const struct sql_func *sql_func_find(const char *name)
{
	for (size_t i = 0; i < NELEM(funcs); i++)
		if (!strcasecmp(funcs[i].name, name))
			return &funcs[i];
	return NULL;
}

size_t sql_func_count(void)
{
	return NELEM(funcs);
}

const struct sql_func *sql_func_get(size_t i)
{
	return i < NELEM(funcs) ? &funcs[i] : NULL;
}

static const struct sql_aggdef aggdefs[] = {
	{ "count", SQL_AGG_COUNT, 0, "COUNT(*) or COUNT(x)", "rows, or non-NULL values of x" },
	{ "sum", SQL_AGG_SUM, 0, "SUM(x)", "sum of a number or duration" },
	{ "min", SQL_AGG_MIN, 0, "MIN(x)", "smallest number, duration or time" },
	{ "max", SQL_AGG_MAX, 0, "MAX(x)", "largest number, duration or time" },
	{ "avg", SQL_AGG_AVG, 0, "AVG(x)", "mean of a number or duration (rounded toward zero)" },
	{ "hist", SQL_AGG_HIST, 0, "HIST(x)", "log2 histogram, drawn as bars" },
	{ "lhist", SQL_AGG_LHIST, 0, "LHIST(x, min, max, step)", "linear histogram, drawn as bars" },
	{ "p50", SQL_AGG_QUANTILE, 500000, "P50(x)", "median (within 1/128 of the exact value)" },
	{ "p90", SQL_AGG_QUANTILE, 900000, "P90(x)", "90th percentile (within 1/128)" },
	{ "p95", SQL_AGG_QUANTILE, 950000, "P95(x)", "95th percentile (within 1/128)" },
	{ "p99", SQL_AGG_QUANTILE, 990000, "P99(x)", "99th percentile (within 1/128)" },
	{ "p999", SQL_AGG_QUANTILE, 999000, "P999(x)", "99.9th percentile (within 1/128)" },
	{ "percentile", SQL_AGG_QUANTILE, 0, "PERCENTILE(x, p)",
	  "p-th percentile for a literal p in (0, 100], up to 4 decimals: PERCENTILE(x, 99.99) (within 1/128)" },
};

const struct sql_aggdef *sql_aggdef_find(const char *name)
{
	for (size_t i = 0; i < NELEM(aggdefs); i++)
		if (!strcasecmp(aggdefs[i].name, name))
			return &aggdefs[i];
	return NULL;
}

size_t sql_aggdef_count(void)
{
	return NELEM(aggdefs);
}

const struct sql_aggdef *sql_aggdef_get(size_t i)
{
	return i < NELEM(aggdefs) ? &aggdefs[i] : NULL;
}
