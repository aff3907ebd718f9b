/* test_sql_parse.c - the SQL lexer and parser: token values (durations,
 * numbers, strings), the shape and precedence of parsed expressions, exact
 * diagnostics (line:column, caret, hint) for bad queries, and robustness:
 * every prefix of valid queries fails cleanly with exactly one diagnostic.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safebpf/diag.h"
#include "safebpf/sql.h"
#include "sql/sqlInt.h"

/* ---- lexer ---- */

struct lexcase {
	const char *text;     /* one token */
	enum sql_tok kind;    /* expected kind */
	uint64_t num;         /* expected value (INT, DURATION ns) */
};

static const struct lexcase lexcases[] = {
	{ "10us", SQL_TK_DURATION, 10000 },
	{ "5ms", SQL_TK_DURATION, 5000000 },
	{ "1sec", SQL_TK_DURATION, 1000000000 },
	{ "2s", SQL_TK_DURATION, 2000000000 },
	{ "1m", SQL_TK_DURATION, 60000000000ull },
	{ "1min", SQL_TK_DURATION, 60000000000ull },
	{ "1h", SQL_TK_DURATION, 3600000000000ull },
	{ "250ns", SQL_TK_DURATION, 250 },
	{ "1.5ms", SQL_TK_DURATION, 1500000 },
	{ "0.001s", SQL_TK_DURATION, 1000000 },
	{ "3USEC", SQL_TK_DURATION, 3000 },
	{ "42", SQL_TK_INT, 42 },
	{ "0x7b", SQL_TK_INT, 123 },
	{ "18446744073709551615", SQL_TK_INT, UINT64_MAX },
};

Test(sql_lex, token_values)
{
	for (size_t i = 0; i < sizeof(lexcases) / sizeof(lexcases[0]); i++) {
		struct sql_arena a = { 0 };
		struct sbpf_diags d = { 0 };
		struct sql_token *t;
		size_t n;
		int rc = sql_lex(lexcases[i].text, "<t>", &a, &t, &n, &d);
		cr_assert_eq(rc, 0, "%s: rc %d", lexcases[i].text, rc);
		cr_assert_eq(n, 2, "%s: %zu tokens", lexcases[i].text, n);
		cr_expect_eq(t[0].kind, lexcases[i].kind, "%s: kind %d", lexcases[i].text, t[0].kind);
		cr_expect_eq(t[0].num, lexcases[i].num, "%s: %llu", lexcases[i].text, (unsigned long long)t[0].num);
		sql_arena_reset(&a);
		sbpf_diags__free(&d);
	}
}

Test(sql_lex, strings_keywords_comments)
{
	struct sql_arena a = { 0 };
	struct sbpf_diags d = { 0 };
	struct sql_token *t;
	size_t n;
	cr_assert_eq(sql_lex("select 'it''s' -- comment\n \"dq\" /* c */ <> != <= FooBar", "<t>", &a, &t, &n, &d), 0);
	cr_assert_eq(n, 8);
	cr_expect_eq(t[0].kind, SQL_TK_KEYWORD);
	cr_expect_eq(t[0].sub, SQL_KW_SELECT);
	cr_expect_eq(t[1].kind, SQL_TK_STRING);
	cr_expect_str_eq(t[1].str, "it's");
	cr_expect_str_eq(t[2].str, "dq");
	cr_expect_eq(t[3].sub, SQL_P_NE);
	cr_expect_eq(t[4].sub, SQL_P_NE);
	cr_expect_eq(t[5].sub, SQL_P_LE);
	cr_expect_eq(t[6].kind, SQL_TK_IDENT);
	cr_expect_str_eq(t[6].str, "FooBar");
	cr_expect_eq(t[7].kind, SQL_TK_EOF);
	sql_arena_reset(&a);
	sbpf_diags__free(&d);
}

Test(sql_lex, parse_duration_api)
{
	uint64_t ns = 0;
	cr_expect_eq(sbpf_parse_duration("500ms", &ns), 0);
	cr_expect_eq(ns, 500000000ull);
	cr_expect_eq(sbpf_parse_duration("3", &ns), 0);
	cr_expect_eq(ns, 3000000000ull);
	cr_expect_eq(sbpf_parse_duration("1m", &ns), 0);
	cr_expect_eq(ns, 60000000000ull);
	cr_expect_eq(sbpf_parse_duration("5 s", &ns), -EINVAL);
	cr_expect_eq(sbpf_parse_duration("5parsecs", &ns), -EINVAL);
	cr_expect_eq(sbpf_parse_duration("", &ns), -EINVAL);
}

/* ---- parser ---- */

static struct sql_stmt *parse_ok(struct sql_arena *a, const char *text)
{
	struct sbpf_diags d = { 0 };
	struct sql_stmt *st = NULL;
	int rc = sql_parse(text, "<t>", a, &st, &d);
	if (rc) {
		char *m = sbpf_diags__format(&d);
		cr_log_error("%s", m);
		free(m);
	}
	sbpf_diags__free(&d);
	cr_assert_eq(rc, 0, "parse failed: %s", text);
	return st;
}

/* The first select item of "SELECT <expr> FROM t", printed back. */
static char *printed(const char *expr)
{
	char text[512];
	snprintf(text, sizeof(text), "SELECT %s FROM t", expr);
	struct sql_arena a = { 0 };
	struct sql_stmt *st = parse_ok(&a, text);
	char *buf = NULL;
	size_t sz = 0;
	FILE *f = open_memstream(&buf, &sz);
	sql_expr_print(NULL, st->items[0].e, f);
	fclose(f);
	sql_arena_reset(&a);
	return buf;
}

struct printcase {
	const char *in;    /* expression as written */
	const char *out;   /* printed with only the parentheses precedence needs */
};

static const struct printcase printcases[] = {
	{ "a + b * c", "a + b * c" },
	{ "(a + b) * c", "(a + b) * c" },
	{ "a - (b - c)", "a - (b - c)" },
	{ "a - b - c", "a - b - c" },
	{ "a OR b AND c", "a OR b AND c" },
	{ "(a OR b) AND c", "(a OR b) AND c" },
	{ "NOT a = 1 AND b > 2", "NOT a = 1 AND b > 2" },
	{ "-x * 2", "-x * 2" },
	{ "-5", "-5" },
	{ "-10ms", "-10ms" },
	{ "a & 4 = 4", "a & 4 = 4" },
	{ "x NOT IN (1, 2)", "x NOT IN (1, 2)" },
	{ "x BETWEEN 1 AND 2 + 3", "x BETWEEN 1 AND 2 + 3" },
	{ "comm NOT LIKE 'ba%'", "comm NOT LIKE 'ba%'" },
	{ "ret IS NOT NULL", "ret IS NOT NULL" },
	{ "CASE WHEN a > 1 THEN 'x' ELSE 'y' END", "CASE WHEN a > 1 THEN 'x' ELSE 'y' END" },
	{ "CASE a WHEN 1 THEN 2 END", "CASE a WHEN 1 THEN 2 END" },
	{ "count(*)", "COUNT(*)" },
	{ "A.pid", "A.pid" },
	{ "'it''s'", "'it''s'" },
	{ "TRUE", "TRUE" },
	{ "1sec", "1s" },
	{ "1500us", "1.5ms" },
};

Test(sql_parse, precedence_and_printing)
{
	for (size_t i = 0; i < sizeof(printcases) / sizeof(printcases[0]); i++) {
		char *got = printed(printcases[i].in);
		cr_expect_str_eq(got, printcases[i].out, "%s", printcases[i].in);
		free(got);
	}
}

Test(sql_parse, paper_query_shape)
{
	struct sql_arena a = { 0 };
	struct sql_stmt *st = parse_ok(&a, "SELECT A.pid, A.syscall_number, MAX(A.exit_ts - A.enter_ts) AS latency "
					  "FROM system_calls AS A GROUP BY A.pid, A.syscall_number WINDOW 1sec");
	cr_assert_eq(st->nitems, 3);
	cr_expect_str_eq(st->items[0].e->qual, "A");
	cr_expect_str_eq(st->items[0].e->name, "pid");
	cr_expect_str_eq(st->items[2].alias, "latency");
	cr_expect_eq(st->items[2].e->kind, SQL_E_CALL);
	cr_expect_str_eq(st->items[2].e->name, "MAX");
	cr_expect_eq(st->items[2].e->list[0]->op, SQL_OP_SUB);
	cr_expect_str_eq(st->from.name, "system_calls");
	cr_expect_str_eq(st->from.alias, "A");
	cr_expect_eq(st->ngroup, 2);
	cr_expect_eq(st->window_ns, 1000000000ull);
	cr_expect_eq(st->limit, -1);
	sql_arena_reset(&a);
}

Test(sql_parse, user_function_tables)
{
	struct sql_arena a = { 0 };
	struct sql_stmt *st = parse_ok(&a, "SELECT retval FROM UFUNC('/usr/bin/x y', 'main') AS f WHERE f.retval > 0");
	cr_expect_str_eq(st->from.name, "ufunc:/usr/bin/x y:main");
	cr_expect_str_eq(st->from.alias, "f");
	cr_expect_eq(st->from.off, 19);
	cr_expect_eq(st->from.len, (int)strlen("UFUNC('/usr/bin/x y', 'main')"));
	sql_arena_reset(&a);
}

Test(sql_parse, every_clause)
{
	struct sql_arena a = { 0 };
	struct sql_stmt *st = parse_ok(&a, "select distinct a.x y, b.* from t a inner join u as b on a.k = b.k "
					  "where a.x > 1 group by y having count(*) > 2 window 5ms "
					  "order by 1 desc, y asc limit 7;");
	cr_expect(st->distinct);
	cr_expect_eq(st->nitems, 2);
	cr_expect_str_eq(st->items[0].alias, "y");
	cr_expect_str_eq(st->items[1].star_qual, "b");
	cr_expect_eq(st->njoins, 1);
	cr_expect_str_eq(st->joins[0].t.alias, "b");
	cr_expect_neq(st->joins[0].on, NULL);
	cr_expect_neq(st->where, NULL);
	cr_expect_eq(st->ngroup, 1);
	cr_expect_neq(st->having, NULL);
	cr_expect_eq(st->window_ns, 5000000ull);
	cr_expect_eq(st->norder, 2);
	cr_expect(st->order[0].desc);
	cr_expect(!st->order[1].desc);
	cr_expect_eq(st->limit, 7);
	sql_arena_reset(&a);
}

/* ---- diagnostics ---- */

struct badcase {
	const char *query;   /* query text */
	const char *diag;    /* exact formatted diagnostic */
};

static const struct badcase bad[] = {
	{ "SELECT COUNT(*) FROM uprobe('/bin/true')",
	  "<query>:1:40: error: expected ',', found ')'\n"
	  "    1 | SELECT COUNT(*) FROM uprobe('/bin/true')\n"
	  "      |                                        ^\n"
	  "      = hint: uprobe('/path/to/file', 'function')\n"
	  "" },
	{ "SELECT COUNT(*) FROM uprobe('/bin/true', 'a:b')",
	  "<query>:1:42: error: expected the function name as a string, found string 'a:b'\n"
	  "    1 | SELECT COUNT(*) FROM uprobe('/bin/true', 'a:b')\n"
	  "      |                                          ^~~~~\n"
	  "      = hint: uprobe('/path/to/file', 'function'): two non-empty strings without ':'\n"
	  "" },
	{ "SELECT COUNT(*) FROM kprobe('/bin/true', 'f')",
	  "<query>:1:22: error: 'kprobe' is not a table function\n"
	  "    1 | SELECT COUNT(*) FROM kprobe('/bin/true', 'f')\n"
	  "      |                      ^~~~~~\n"
	  "      = hint: user functions: uprobe('/path/to/file', 'function'), uretprobe(...), ufunc(...); "
	  "USDT probes: usdt('/path/to/file', 'provider:name')\n"
	  "" },
	{ "SELECT COUNT(*) FROM usdt('/bin/true', 'a:b:c')",
	  "<query>:1:40: error: expected the probe as a string, found string 'a:b:c'\n"
	  "    1 | SELECT COUNT(*) FROM usdt('/bin/true', 'a:b:c')\n"
	  "      |                                        ^~~~~~~\n"
	  "      = hint: usdt('/path/to/file', 'provider:name') or usdt('/path/to/file', 'name'): a path without ':'\n"
	  "" },
	{ "SELECT COUNT(*) FROM usdt('/a:b', 'p')",
	  "<query>:1:27: error: expected the file path as a string, found string '/a:b'\n"
	  "    1 | SELECT COUNT(*) FROM usdt('/a:b', 'p')\n"
	  "      |                           ^~~~~~\n"
	  "      = hint: usdt('/path/to/file', 'provider:name') or usdt('/path/to/file', 'name'): a path without ':'\n"
	  "" },
	{ "SELECT pid",
	  "<query>:1:11: error: expected FROM after the select list, found end of query\n"
	  "    1 | SELECT pid\n"
	  "      |           ^\n"
	  "      = hint: every query reads a table: SELECT ... FROM system_calls\n"
	  "" },
	{ "SELECT pid, FROM system_calls",
	  "<query>:1:13: error: expected an expression, found FROM\n"
	  "    1 | SELECT pid, FROM system_calls\n"
	  "      |             ^~~~\n"
	  "      = hint: remove the trailing ',' before FROM\n"
	  "" },
	{ "SELECT COUNT(*) FROM system_calls WINDOW 1xs",
	  "<query>:1:43: error: bad duration unit 'xs'\n"
	  "    1 | SELECT COUNT(*) FROM system_calls WINDOW 1xs\n"
	  "      |                                           ^~\n"
	  "      = hint: duration units are ns, us, ms, s (or sec), m (or min), h\n"
	  "" },
	{ "SELECT COUNT(*) FROM system_calls WINDOW 5",
	  "<query>:1:42: error: WINDOW needs a duration with a unit\n"
	  "    1 | SELECT COUNT(*) FROM system_calls WINDOW 5\n"
	  "      |                                          ^\n"
	  "      = hint: write a duration such as WINDOW 1sec (units: ns, us, ms, s (or sec), m (or min), h)\n"
	  "" },
	{ "SELECT COUNT(*) FROM system_calls WINDOW 1 sec",
	  "<query>:1:42: error: WINDOW needs a duration\n"
	  "    1 | SELECT COUNT(*) FROM system_calls WINDOW 1 sec\n"
	  "      |                                          ^~~~~\n"
	  "      = hint: write the unit right after the number: WINDOW 1sec\n"
	  "" },
	{ "SELECT COUNT(*) FROM system_calls WINDOW 10s EVERY 3s",
	  "<query>:1:52: error: WINDOW 10s is not a multiple of EVERY 3s\n"
	  "    1 | SELECT COUNT(*) FROM system_calls WINDOW 10s EVERY 3s\n"
	  "      |                                                    ^~\n"
	  "      = hint: make the window a whole number of steps: WINDOW 10s EVERY 1s, or EVERY 500ms\n"
	  "" },
	{ "SELECT COUNT(*) FROM system_calls WINDOW 1s EVERY 2s",
	  "<query>:1:51: error: EVERY 2s is longer than WINDOW 1s\n"
	  "    1 | SELECT COUNT(*) FROM system_calls WINDOW 1s EVERY 2s\n"
	  "      |                                                   ^~\n"
	  "      = hint: the step cannot be longer than the window: WINDOW 10s EVERY 1s\n"
	  "" },
	{ "SELECT COUNT(*) FROM system_calls WINDOW 10s EVERY 1",
	  "<query>:1:52: error: expected a duration after EVERY, found '1'\n"
	  "    1 | SELECT COUNT(*) FROM system_calls WINDOW 10s EVERY 1\n"
	  "      |                                                    ^\n"
	  "      = hint: write WINDOW 10s EVERY 1s: a result every second over the last 10 seconds\n"
	  "" },
	{ "SELECT COUNT(*) FROM system_calls WINDOW 10s EVERY 1ms",
	  "<query>:1:52: error: WINDOW 10s EVERY 1ms spans 10000 steps\n"
	  "    1 | SELECT COUNT(*) FROM system_calls WINDOW 10s EVERY 1ms\n"
	  "      |                                                    ^~~\n"
	  "      = hint: a window spans at most 1000 steps: take a longer step\n"
	  "" },
	{ "SELECT COUNT(*) FROM system_calls WINDOW 10s EVERY 500us",
	  "<query>:1:52: error: EVERY 500us is too short\n"
	  "    1 | SELECT COUNT(*) FROM system_calls WINDOW 10s EVERY 500us\n"
	  "      |                                                    ^~~~~\n"
	  "      = hint: use a step of at least 1ms\n"
	  "" },
	{ "SELECT COUNT(*) FROM system_calls WINDOW 100us",
	  "<query>:1:42: error: window of 100us is too short\n"
	  "    1 | SELECT COUNT(*) FROM system_calls WINDOW 100us\n"
	  "      |                                          ^~~~~\n"
	  "      = hint: use a window of at least 1ms\n"
	  "" },
	{ "SELECT pid FROM system_calls LIMIT 0",
	  "<query>:1:36: error: LIMIT needs a positive integer\n"
	  "    1 | SELECT pid FROM system_calls LIMIT 0\n"
	  "      |                                    ^\n"
	  "      = hint: LIMIT n keeps the first n rows (per window)\n"
	  "" },
	{ "SELECT pid FROM system_calls LIMIT -1",
	  "<query>:1:36: error: LIMIT needs a positive integer\n"
	  "    1 | SELECT pid FROM system_calls LIMIT -1\n"
	  "      |                                    ^~\n"
	  "      = hint: LIMIT n keeps the first n rows (per window)\n"
	  "" },
	{ "SELECT pid FROM system_calls WHERE pid = 1 WHERE pid = 2",
	  "<query>:1:44: error: WHERE appears twice\n"
	  "    1 | SELECT pid FROM system_calls WHERE pid = 1 WHERE pid = 2\n"
	  "      |                                            ^~~~~\n"
	  "      = hint: combine them into one clause\n"
	  "" },
	{ "SELECT COUNT(*) FROM system_calls WINDOW 1s WHERE pid = 1",
	  "<query>:1:45: error: WHERE must come before WINDOW\n"
	  "    1 | SELECT COUNT(*) FROM system_calls WINDOW 1s WHERE pid = 1\n"
	  "      |                                             ^~~~~\n"
	  "      = hint: clauses go in this order: SELECT, FROM, JOIN, WHERE, GROUP BY, HAVING, WINDOW, ORDER BY, LIMIT\n"
	  "" },
	{ "SELECT pid FROM system_calls RIGHT JOIN process_exec ON pid = pid",
	  "<query>:1:30: error: only inner JOIN and LEFT JOIN are supported\n"
	  "    1 | SELECT pid FROM system_calls RIGHT JOIN process_exec ON pid = pid\n"
	  "      |                              ^~~~~\n"
	  "      = hint: JOIN and LEFT JOIN pair each right event with the latest unmatched left event of equal keys (see docs/sql.md)\n"
	  "" },
	{ "SELECT COUNT(*) FROM process_fork AS f JOIN process_exec AS e ON f.child_tid = e.pid WITHIN 1s",
	  "<query>:1:86: error: WITHIN bounds the wait of a LEFT JOIN\n"
	  "    1 | SELECT COUNT(*) FROM process_fork AS f JOIN process_exec AS e ON f.child_tid = e.pid WITHIN 1s\n"
	  "      |                                                                                      ^~~~~~\n"
	  "      = hint: an inner JOIN keeps left rows until they are taken or evicted; write LEFT JOIN ... WITHIN 5s\n"
	  "" },
	{ "SELECT COUNT(*) FROM process_fork AS f LEFT JOIN process_exec AS e ON f.child_tid = e.pid WITHIN 5",
	  "<query>:1:98: error: expected a duration after WITHIN, found '5'\n"
	  "    1 | SELECT COUNT(*) FROM process_fork AS f LEFT JOIN process_exec AS e ON f.child_tid = e.pid WITHIN 5\n"
	  "      |                                                                                                  ^\n"
	  "      = hint: LEFT JOIN u AS b ON a.k = b.k WITHIN 5s\n"
	  "" },
	{ "SELECT pid FROM (SELECT pid FROM system_calls)",
	  "<query>:1:17: error: subqueries are not supported\n"
	  "    1 | SELECT pid FROM (SELECT pid FROM system_calls)\n"
	  "      |                 ^\n"
	  "      = hint: read a table directly: FROM system_calls\n"
	  "" },
	{ "SELECT pid FROM system_calls WHERE comm = 'bash",
	  "<query>:1:43: error: unterminated string\n"
	  "    1 | SELECT pid FROM system_calls WHERE comm = 'bash\n"
	  "      |                                           ^\n"
	  "      = hint: close the string with a matching quote\n"
	  "" },
	{ "SELECT pid FROM system_calls WHERE pid # 3",
	  "<query>:1:40: error: unexpected character '#'\n"
	  "    1 | SELECT pid FROM system_calls WHERE pid # 3\n"
	  "      |                                        ^\n"
	  "" },
	{ "SELECT pid FROM system_calls WHERE duration > 1.5",
	  "<query>:1:47: error: fractional number '1.5' is not supported\n"
	  "    1 | SELECT pid FROM system_calls WHERE duration > 1.5\n"
	  "      |                                               ^~~\n"
	  "      = hint: use an integer, a duration with a unit such as 1500us, or PERCENTILE(x, 99.9)\n"
	  "" },
	{ "SELECT pid FROM system_calls WHERE 1 < pid < 3",
	  "<query>:1:44: error: comparisons do not chain\n"
	  "    1 | SELECT pid FROM system_calls WHERE 1 < pid < 3\n"
	  "      |                                            ^\n"
	  "      = hint: write a < b AND b < c\n"
	  "" },
	{ "SELECT SUM(DISTINCT pid) FROM system_calls",
	  "<query>:1:12: error: SUM(DISTINCT ...) is not supported\n"
	  "    1 | SELECT SUM(DISTINCT pid) FROM system_calls\n"
	  "      |            ^~~~~~~~\n"
	  "      = hint: only COUNT(DISTINCT x) takes DISTINCT\n"
	  "" },
	{ "SELECT COUNT(DISTINCT *) FROM system_calls",
	  "<query>:1:23: error: COUNT(DISTINCT *) is not supported\n"
	  "    1 | SELECT COUNT(DISTINCT *) FROM system_calls\n"
	  "      |                       ^\n"
	  "      = hint: count rows with COUNT(*), distinct values with COUNT(DISTINCT x)\n"
	  "" },
	{ "INSERT INTO system_calls VALUES (1)",
	  "<query>:1:1: error: only SELECT queries are supported\n"
	  "    1 | INSERT INTO system_calls VALUES (1)\n"
	  "      | ^~~~~~\n"
	  "      = hint: queries read kernel events: SELECT ... FROM system_calls\n"
	  "" },
	{ "SELECT pid FROM system_calls LIMIT 5 OFFSET 2",
	  "<query>:1:38: error: OFFSET is not supported\n"
	  "    1 | SELECT pid FROM system_calls LIMIT 5 OFFSET 2\n"
	  "      |                                      ^~~~~~\n"
	  "      = hint: results are a stream: there is nothing to skip\n"
	  "" },
	{ "SELECT pid FROM system_calls UNION SELECT pid FROM process_exec",
	  "<query>:1:30: error: UNION is not supported\n"
	  "    1 | SELECT pid FROM system_calls UNION SELECT pid FROM process_exec\n"
	  "      |                              ^~~~~\n"
	  "      = hint: run the queries separately\n"
	  "" },
	{ "SELECT pid FROM system_calls, process_exec",
	  "<query>:1:29: error: a comma between tables is not supported\n"
	  "    1 | SELECT pid FROM system_calls, process_exec\n"
	  "      |                             ^\n"
	  "      = hint: combine two tables with JOIN ... ON a.key = b.key\n"
	  "" },
	{ "SELECT pid AS select FROM system_calls",
	  "<query>:1:15: error: expected a name after AS, found SELECT\n"
	  "    1 | SELECT pid AS select FROM system_calls\n"
	  "      |               ^~~~~~\n"
	  "      = hint: keywords cannot be names; quote them: AS \"select\"\n"
	  "" },
	{ "SELECT pid FROM system_calls GROUP pid",
	  "<query>:1:36: error: expected BY after GROUP, found 'pid'\n"
	  "    1 | SELECT pid FROM system_calls GROUP pid\n"
	  "      |                                    ^~~\n"
	  "" },
	{ "SELECT pid FROM system_calls WHERE pid IN ()",
	  "<query>:1:44: error: expected a value, found ')'\n"
	  "    1 | SELECT pid FROM system_calls WHERE pid IN ()\n"
	  "      |                                            ^\n"
	  "      = hint: x IN (1, 2, 3)\n"
	  "" },
	{ "SELECT pid FROM system_calls WHERE CASE WHEN pid THEN 1 END",
	  "<query>:1:46: error: WHEN needs a condition, but this is a number\n"
	  "    1 | SELECT pid FROM system_calls WHERE CASE WHEN pid THEN 1 END\n"
	  "      |                                              ^~~\n"
	  "      = hint: compare it with something, e.g. x > 0 or name = 'bash'\n"
	  "" },
	{ "SELECT pid FROM system_calls /* never closed",
	  "<query>:1:30: error: unterminated comment\n"
	  "    1 | SELECT pid FROM system_calls /* never closed\n"
	  "      |                              ^~\n"
	  "      = hint: close the comment with */\n"
	  "" },
	{ "SELECT 99999999999999999999 FROM system_calls",
	  "<query>:1:8: error: number '99999999999999999999' is too large\n"
	  "    1 | SELECT 99999999999999999999 FROM system_calls\n"
	  "      |        ^~~~~~~~~~~~~~~~~~~~\n"
	  "      = hint: numbers must fit in 64 bits\n"
	  "" },
	{ "SELECT pid FROM system_calls WHERE duration > 1.0000000001s",
	  "<query>:1:47: error: duration '1.0000000001s' is finer than a nanosecond\n"
	  "    1 | SELECT pid FROM system_calls WHERE duration > 1.0000000001s\n"
	  "      |                                               ^~~~~~~~~~~~~\n"
	  "      = hint: durations are counted in whole nanoseconds\n"
	  "" },
	{ "SELECT pid FROM system_calls\n"
	  "WHERE comm = 'a'\n"
	  "  AND pid = = 3",
	  "<query>:3:13: error: expected an expression, found '='\n"
	  "    3 |   AND pid = = 3\n"
	  "      |             ^\n"
	  "" },
};

static char *compile_error(const char *query)
{
	struct sbpf_diags d = { 0 };
	struct sbpf_query *q = NULL;
	struct sbpf_query_opts o = { .sz = sizeof(o), .file = "<query>" };
	int rc = sbpf_query__compile(query, &o, &q, &d);
	cr_assert_eq(rc, -EINVAL, "accepted: %s", query);
	cr_assert_eq(d.n, 1, "%zu diagnostics for %s", d.n, query);
	char *msg = sbpf_diags__format(&d);
	sbpf_diags__free(&d);
	return msg;
}

/* Joins are left-deep: FROM a JOIN b ON .. [LEFT] JOIN c ON .., each with
 * its own ON, kind and WITHIN. */
Test(sql_parse, three_table_joins)
{
	struct sql_arena a = { 0 };
	struct sql_stmt *st = parse_ok(&a, "SELECT a.x FROM t a JOIN u AS b ON b.k = a.k "
					  "LEFT OUTER JOIN v c ON c.k = b.k AND c.j = a.j WITHIN 20ms WHERE a.x > 1");
	cr_assert_eq(st->njoins, 2);
	cr_expect_str_eq(st->joins[0].t.name, "u");
	cr_expect_str_eq(st->joins[0].t.alias, "b");
	cr_expect(!st->joins[0].left);
	cr_expect_str_eq(st->joins[1].t.name, "v");
	cr_expect_str_eq(st->joins[1].t.alias, "c");
	cr_expect(st->joins[1].left);
	cr_expect_eq(st->joins[1].within_ns, 20000000ull);
	cr_expect_eq(st->joins[1].on->op, SQL_OP_AND);
	cr_expect_neq(st->where, NULL);
	st = parse_ok(&a, "SELECT 1 FROM t a LEFT JOIN u b ON b.k = a.k INNER JOIN v c ON c.k = a.k");
	cr_assert_eq(st->njoins, 2);
	cr_expect(st->joins[0].left && st->joins[0].within_ns == SQL_LEFT_JOIN_WITHIN);
	cr_expect(!st->joins[1].left);
	/* a fourth table: refused at its JOIN */
	struct sbpf_diags d = { 0 };
	const char *four = "SELECT 1 FROM t a JOIN u b ON b.k = a.k JOIN v c ON c.k = a.k INNER JOIN w d ON d.k = a.k";
	cr_expect_eq(sql_parse(four, "<t>", &a, &st, &d), -EINVAL);
	cr_assert_eq(d.n, 1);
	char *m = sbpf_diags__format(&d);
	cr_expect(strstr(m, "<t>:1:63: error: a query joins at most 3 tables; this is table 4"), "%s", m);
	free(m);
	sbpf_diags__free(&d);
	sql_arena_reset(&a);
}

Test(sql_parse, bad_queries_exact_messages)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *msg = compile_error(bad[i].query);
		cr_expect_str_eq(msg, bad[i].diag, "query: %s", bad[i].query);
		free(msg);
	}
}

/* Every prefix of valid queries either parses or fails with exactly one
 * diagnostic whose caret lies inside the text (or just after it). */
Test(sql_parse, every_prefix_fails_cleanly)
{
	static const char *const queries[] = {
		"SELECT A.pid, A.syscall_number, MAX(A.exit_ts - A.enter_ts) AS latency FROM system_calls AS A "
		"GROUP BY A.pid, A.syscall_number WINDOW 1sec",
		"select distinct comm, case when ret < 0 then errno_name(ret) else 'ok' end as r from file_opens "
		"where path like '/etc/%' and not (pid in (1, 2, 3) or tid between 5 and 9) order by 1 desc limit 3",
		"SELECT e.comm, COUNT(*) FROM process_fork AS f JOIN process_exec AS e ON f.child_tid = e.pid "
		"GROUP BY e.comm HAVING COUNT(*) > 1 ORDER BY 2",
	};
	for (size_t k = 0; k < sizeof(queries) / sizeof(queries[0]); k++) {
		size_t len = strlen(queries[k]);
		for (size_t cut = 0; cut <= len; cut++) {
			char *text = strndup(queries[k], cut);
			struct sql_arena a = { 0 };
			struct sbpf_diags d = { 0 };
			struct sql_stmt *st;
			int rc = sql_parse(text, "<t>", &a, &st, &d);
			cr_assert(rc == 0 || (rc == -EINVAL && d.n == 1), "prefix %zu of query %zu: rc %d, %zu diags", cut,
				  k, rc, d.n);
			if (rc)
				cr_assert(d.items[0].col >= 1 && (size_t)d.items[0].col <= cut + 1, "caret column %d",
					  d.items[0].col);
			sbpf_diags__free(&d);
			sql_arena_reset(&a);
			free(text);
		}
	}
}

/* Dotted table names are tracepoints: tracepoint.SUBSYSTEM.EVENT or
 * SUBSYSTEM.EVENT, written without spaces; a keyword may follow a dot. */
Test(sql_parse, dotted_table_names)
{
	struct sql_arena a = { 0 };
	struct sql_stmt *st = parse_ok(&a, "SELECT COUNT(*) FROM oom.mark_victim AS o");
	cr_assert_str_eq(st->from.name, "oom.mark_victim");
	cr_assert_str_eq(st->from.alias, "o");
	cr_assert_eq(st->from.off, 21);
	cr_assert_eq(st->from.len, 15);
	st = parse_ok(&a, "SELECT pid FROM tracepoint.syscalls.sys_enter_getppid e JOIN x.end AS y ON e.tid = y.tid");
	cr_assert_str_eq(st->from.name, "tracepoint.syscalls.sys_enter_getppid");
	cr_assert_str_eq(st->from.alias, "e");
	cr_assert_str_eq(st->joins[0].t.name, "x.end");
	sql_arena_reset(&a);
	static const char *const bad[] = { "SELECT 1 FROM oom . mark_victim", "SELECT 1 FROM oom.", "SELECT 1 FROM oom.5",
					   "SELECT 1 FROM oom .mark_victim" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sbpf_diags d = { 0 };
		struct sql_stmt *s = NULL;
		cr_expect_eq(sql_parse(bad[i], "<t>", &a, &s, &d), -EINVAL, "%s", bad[i]);
		sbpf_diags__free(&d);
		sql_arena_reset(&a);
	}
}
