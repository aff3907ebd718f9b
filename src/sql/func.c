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

static enum sql_type want_number_to_str(const enum sql_type *a, char *why, size_t sz)
{
	if (is_num(a[0]))
		return SQL_T_STR;
	snprintf(why, sz, "needs a number, not a %s", sql_type_name(a[0]));
	return SQL_T_NULL;
}

static enum sql_type want_duration_to_int(const enum sql_type *a, char *why, size_t sz)
{
	if (a[0] == SQL_T_DURATION || a[0] == SQL_T_TIME || a[0] == SQL_T_NULL)
		return SQL_T_INT;
	snprintf(why, sz, "needs a duration or a time, not a %s%s", sql_type_name(a[0]),
		 is_num(a[0]) ? " (numbers have no unit to convert from)" : "");
	return SQL_T_NULL;
}

static enum sql_type want_any_to_str(const enum sql_type *a, char *why, size_t sz)
{
	(void)a;
	(void)why;
	(void)sz;
	return SQL_T_STR;
}

static enum sql_type want_str_to_str(const enum sql_type *a, char *why, size_t sz)
{
	if (a[0] == SQL_T_STR || a[0] == SQL_T_NULL)
		return SQL_T_STR;
	snprintf(why, sz, "needs a string, not a %s", sql_type_name(a[0]));
	return SQL_T_NULL;
}

static enum sql_type want_number_same(const enum sql_type *a, char *why, size_t sz)
{
	if (is_num(a[0]) || a[0] == SQL_T_DURATION)
		return a[0] == SQL_T_UINT ? SQL_T_UINT : a[0] == SQL_T_DURATION ? SQL_T_DURATION : SQL_T_INT;
	snprintf(why, sz, "needs a number or a duration, not a %s", sql_type_name(a[0]));
	return SQL_T_NULL;
}

static enum sql_type want_number_to_int(const enum sql_type *a, char *why, size_t sz)
{
	if (is_num(a[0]))
		return SQL_T_INT;
	snprintf(why, sz, "needs a number, not a %s%s", sql_type_name(a[0]),
		 a[0] == SQL_T_DURATION ? " (convert a duration with nsec(...))" : "");
	return SQL_T_NULL;
}

static enum sql_type want_number_to_uint(const enum sql_type *a, char *why, size_t sz)
{
	if (want_number_to_int(a, why, sz) == SQL_T_NULL)
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

static struct sql_value f_syscall_name(struct sql_evalctx *c, const struct sql_value *a)
{
	return named(c, a, sql_syscall_name, true);
}

static struct sql_value f_errno_name(struct sql_evalctx *c, const struct sql_value *a)
{
	if (a[0].type == SQL_T_NULL || a[0].type == SQL_T_UINT || a[0].i >= 0)
		return null_value();
	return named(c, a, sql_errno_name, true);
}

static struct sql_value f_signal_name(struct sql_evalctx *c, const struct sql_value *a)
{
	return named(c, a, sql_signal_name, true);
}

static struct sql_value f_tcp_state_name(struct sql_evalctx *c, const struct sql_value *a)
{
	return named(c, a, sql_tcp_state_name, true);
}

static struct sql_value div_unit(const struct sql_value *a, int64_t per)
{
	if (a[0].type == SQL_T_NULL)
		return null_value();
	return (struct sql_value){ .type = SQL_T_INT, .i = a[0].i / per };
}

static struct sql_value f_nsec(struct sql_evalctx *c, const struct sql_value *a)
{
	(void)c;
	return div_unit(a, 1);
}

static struct sql_value f_usec(struct sql_evalctx *c, const struct sql_value *a)
{
	(void)c;
	return div_unit(a, 1000);
}

static struct sql_value f_msec(struct sql_evalctx *c, const struct sql_value *a)
{
	(void)c;
	return div_unit(a, 1000000);
}

static struct sql_value f_sec(struct sql_evalctx *c, const struct sql_value *a)
{
	(void)c;
	return div_unit(a, 1000000000);
}

static struct sql_value f_str(struct sql_evalctx *c, const struct sql_value *a)
{
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

static struct sql_value f_hex(struct sql_evalctx *c, const struct sql_value *a)
{
	if (a[0].type == SQL_T_NULL)
		return null_value();
	char buf[32];
	snprintf(buf, sizeof(buf), "0x%" PRIx64, a[0].u);
	return str_value(c, buf);
}

static struct sql_value f_abs(struct sql_evalctx *c, const struct sql_value *a)
{
	(void)c;
	struct sql_value v = a[0];
	if ((v.type == SQL_T_INT || v.type == SQL_T_DURATION) && v.i < 0)
		v.i = (int64_t)(0 - (uint64_t)v.i);
	return v;
}

/* signed(x), unsigned(x): the same 64 bits with the other integer type. */
static struct sql_value f_signed(struct sql_evalctx *c, const struct sql_value *a)
{
	(void)c;
	struct sql_value v = a[0];
	if (v.type != SQL_T_NULL)
		v.type = SQL_T_INT;
	return v;
}

static struct sql_value f_unsigned(struct sql_evalctx *c, const struct sql_value *a)
{
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

static struct sql_value f_lower(struct sql_evalctx *c, const struct sql_value *a)
{
	return case_map(c, a, tolower);
}

static struct sql_value f_upper(struct sql_evalctx *c, const struct sql_value *a)
{
	return case_map(c, a, toupper);
}

static struct sql_value f_basename(struct sql_evalctx *c, const struct sql_value *a)
{
	(void)c;
	if (a[0].type != SQL_T_STR)
		return null_value();
	const char *slash = strrchr(a[0].s, '/');
	return (struct sql_value){ .type = SQL_T_STR, .s = slash && slash[1] ? slash + 1 : a[0].s };
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
	{ "p50", SQL_AGG_QUANTILE, 500, "P50(x)", "median (within 1/128 of the exact value)" },
	{ "p90", SQL_AGG_QUANTILE, 900, "P90(x)", "90th percentile (within 1/128)" },
	{ "p95", SQL_AGG_QUANTILE, 950, "P95(x)", "95th percentile (within 1/128)" },
	{ "p99", SQL_AGG_QUANTILE, 990, "P99(x)", "99th percentile (within 1/128)" },
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
