/* test_sql_exec.c - the executor on synthetic rows of real catalog tables:
 * grouping and aggregates, tumbling windows, HIST/LHIST buckets, quantile
 * accuracy (the documented 1/128 bound), LIKE, CASE, JOIN semantics and
 * eviction, ORDER BY / LIMIT / DISTINCT / HAVING, NULL arithmetic, and the
 * table, CSV and JSON sinks.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safebpf/diag.h"
#include "sql/sqlInt.h"

/* ---- harness ---- */

struct run {
	struct sql_arena a;      /* query storage */
	struct sql_query q;      /* bound query */
	struct sql_sink *sink;   /* writes into buf */
	struct sql_exec *x;      /* executor */
	char *buf;               /* output so far */
	size_t sz;
	FILE *f;                 /* memstream over buf */
};

static void start(struct run *r, const char *text, enum sql_sink_format fmt)
{
	struct sbpf_diags d = { 0 };
	struct sql_stmt *st;
	memset(r, 0, sizeof(*r));
	int rc = sql_parse(text, "<t>", &r->a, &st, &d);
	if (!rc)
		rc = sql_bind(st, text, "<t>", &r->a, &r->q, &d);
	if (rc) {
		char *m = sbpf_diags__format(&d);
		cr_log_error("%s", m ? m : "?");
		free(m);
	}
	sbpf_diags__free(&d);
	cr_assert_eq(rc, 0, "query refused: %s", text);
	r->f = open_memstream(&r->buf, &r->sz);
	cr_assert(r->f);
	r->sink = sql_sink_new(&r->q, fmt, r->f, NULL);
	r->x = sql_exec_new(&r->q, r->sink);
	cr_assert(r->sink && r->x);
}

/* Output written so far. */
static const char *out(struct run *r)
{
	fflush(r->f);
	return r->buf;
}

/* Closes the window that started at @start_s seconds (wall clock). */
static void window(struct run *r, uint64_t start_s)
{
	struct sql_window_info w = { .start_ns = start_s * 1000000000ull, .end_ns = (start_s + 1) * 1000000000ull };
	cr_assert_eq(sql_exec_window(r->x, &w), 0);
	sql_sink_window_start(r->sink, (start_s + 1) * 1000000000ull);
}

static void finish(struct run *r)
{
	sql_exec_free(r->x);
	sql_sink_free(r->sink);
	fclose(r->f);
	free(r->buf);
	sql_arena_reset(&r->a);
}

/* A row of table @t: every column NULL until set. */
struct row {
	const struct sql_table *t;  /* table */
	struct sql_value v[64];     /* values */
};

static void row_init(struct row *w, const char *table)
{
	memset(w, 0, sizeof(*w));
	w->t = sql_catalog_find(table);
	cr_assert(w->t && w->t->ncols <= 64);
}

static void set(struct row *w, const char *col, int64_t v)
{
	int c = sql_table_column(w->t, col);
	cr_assert(c >= 0, "no column %s", col);
	w->v[c].type = w->t->cols[c].type;
	w->v[c].i = v;
}

static void sets(struct row *w, const char *col, const char *s)
{
	int c = sql_table_column(w->t, col);
	cr_assert(c >= 0, "no column %s", col);
	w->v[c].type = SQL_T_STR;
	w->v[c].s = s;
}

/* A system_calls row. */
static void call(struct run *r, int64_t pid, const char *comm, int64_t nr, int64_t dur, int64_t ret)
{
	struct row w;
	row_init(&w, "system_calls");
	set(&w, "pid", pid);
	sets(&w, "comm", comm);
	set(&w, "syscall_number", nr);
	set(&w, "enter_ts", 1000);
	set(&w, "exit_ts", 1000 + dur);
	set(&w, "duration", dur);
	set(&w, "ret", ret);
	cr_assert_eq(sql_exec_row(r->x, 0, w.v), 0);
}

/* ---- grouping and windows ---- */

Test(sql_exec, group_by_aggregates)
{
	struct run r;
	start(&r, "SELECT pid, COUNT(*) AS n, SUM(duration) AS s, MIN(duration) AS lo, MAX(duration) AS hi, "
		  "AVG(duration) AS avg, COUNT(ret) AS nret FROM system_calls GROUP BY pid", SQL_SINK_CSV);
	call(&r, 1, "a", 0, 10, 0);
	call(&r, 2, "b", 0, 5, 0);
	call(&r, 1, "a", 0, 30, 0);
	call(&r, 1, "a", 0, 20, 0);
	cr_expect_str_eq(out(&r), "", "nothing before the run ends");
	window(&r, 0);
	cr_expect_str_eq(out(&r), "pid,n,s,lo,hi,avg,nret\n1,3,60,10,30,20,3\n2,1,5,5,5,5,1\n");
	finish(&r);
}

Test(sql_exec, paper_query_per_window)
{
	struct run r;
	start(&r, "SELECT A.pid, A.syscall_number, MAX(A.exit_ts - A.enter_ts) AS latency FROM system_calls AS A "
		  "GROUP BY A.pid, A.syscall_number WINDOW 1sec", SQL_SINK_CSV);
	call(&r, 7, "x", 0, 100, 0);
	call(&r, 7, "x", 0, 300, 0);
	call(&r, 7, "x", 1, 50, 0);
	window(&r, 0);
	call(&r, 7, "x", 0, 20, 0);
	window(&r, 1);
	window(&r, 2);
	cr_expect_str_eq(out(&r), "window,pid,syscall_number,latency\n"
				  "1970-01-01T00:00:00.000Z,7,0,300\n"
				  "1970-01-01T00:00:00.000Z,7,1,50\n"
				  "1970-01-01T00:00:01.000Z,7,0,20\n");
	finish(&r);
}

Test(sql_exec, aggregate_without_group_gives_a_row_per_window)
{
	struct run r;
	start(&r, "SELECT COUNT(*) AS n, MAX(duration) AS hi FROM system_calls WINDOW 1s", SQL_SINK_CSV);
	call(&r, 1, "a", 0, 10, 0);
	call(&r, 1, "a", 0, 11, 0);
	window(&r, 0);
	window(&r, 1);
	call(&r, 1, "a", 0, 12, 0);
	window(&r, 2);
	cr_expect_str_eq(out(&r), "window,n,hi\n1970-01-01T00:00:00.000Z,2,11\n1970-01-01T00:00:01.000Z,0,\n"
				  "1970-01-01T00:00:02.000Z,1,12\n");
	finish(&r);
}

Test(sql_exec, having_order_limit)
{
	struct run r;
	start(&r, "SELECT comm, COUNT(*) AS n FROM system_calls GROUP BY comm HAVING n > 1 ORDER BY n DESC, comm "
		  "LIMIT 2", SQL_SINK_CSV);
	const char *names[] = { "a", "b", "b", "c", "c", "c", "d", "d", "e", "e", "e" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		call(&r, 1, names[i], 0, 1, 0);
	window(&r, 0);
	/* counts: a1 b2 c3 d2 e3 -> having drops a; order n DESC, comm -> c, e, b, d; limit 2 */
	cr_expect_str_eq(out(&r), "comm,n\nc,3\ne,3\n");
	finish(&r);
}

Test(sql_exec, order_limit_per_window_without_aggregates)
{
	struct run r;
	start(&r, "SELECT pid, duration FROM system_calls WINDOW 1s ORDER BY duration DESC LIMIT 3", SQL_SINK_CSV);
	int64_t d[] = { 5, 9, 1, 9, 7, 3 };
	for (int i = 0; i < 6; i++)
		call(&r, i, "p", 0, d[i], 0);
	window(&r, 0);
	call(&r, 10, "p", 0, 2, 0);
	window(&r, 1);
	/* ties keep arrival order: pid 1 before pid 3 */
	cr_expect_str_eq(out(&r), "window,pid,duration\n"
				  "1970-01-01T00:00:00.000Z,1,9\n1970-01-01T00:00:00.000Z,3,9\n"
				  "1970-01-01T00:00:00.000Z,4,7\n1970-01-01T00:00:01.000Z,10,2\n");
	finish(&r);
}

/* WINDOW 3s EVERY 1s: each result merges the last three steps (groups,
 * quantile histograms, COUNT(DISTINCT) sets), oldest step first. */
Test(sql_exec, sliding_window_merges_the_last_steps)
{
	struct run r;
	start(&r, "SELECT comm, COUNT(*) AS n, P50(duration) AS p, COUNT(DISTINCT pid) AS d, MAX(duration) AS hi "
		  "FROM system_calls GROUP BY comm WINDOW 3s EVERY 1s", SQL_SINK_CSV);
	call(&r, 1, "a", 0, 10, 0);
	call(&r, 2, "a", 0, 20, 0);
	call(&r, 1, "b", 0, 5, 0);
	window(&r, 0);
	call(&r, 1, "a", 0, 30, 0);
	window(&r, 1);
	window(&r, 2);
	call(&r, 3, "b", 0, 7, 0);
	window(&r, 3);
	window(&r, 4);
	window(&r, 5);
	window(&r, 6);
	cr_expect_str_eq(out(&r), "window,comm,n,p,d,hi\n"
				  "1970-01-01T00:00:00.000Z,a,2,10,2,20\n1970-01-01T00:00:00.000Z,b,1,5,1,5\n"
				  "1970-01-01T00:00:01.000Z,a,3,20,2,30\n1970-01-01T00:00:01.000Z,b,1,5,1,5\n"
				  "1970-01-01T00:00:02.000Z,a,3,20,2,30\n1970-01-01T00:00:02.000Z,b,1,5,1,5\n"
				  "1970-01-01T00:00:03.000Z,a,1,30,1,30\n1970-01-01T00:00:03.000Z,b,1,7,1,7\n"
				  "1970-01-01T00:00:04.000Z,b,1,7,1,7\n"
				  "1970-01-01T00:00:05.000Z,b,1,7,1,7\n");
	finish(&r);
}

Test(sql_exec, sliding_window_without_groups_and_with_having)
{
	struct run r;
	start(&r, "SELECT COUNT(*) AS n, SUM(duration) AS s FROM system_calls WINDOW 2s EVERY 1s", SQL_SINK_CSV);
	call(&r, 1, "a", 0, 10, 0);
	window(&r, 0);
	call(&r, 1, "a", 0, 1, 0);
	call(&r, 1, "a", 0, 2, 0);
	window(&r, 1);
	window(&r, 2);
	window(&r, 3);
	cr_expect_str_eq(out(&r), "window,n,s\n1970-01-01T00:00:00.000Z,1,10\n1970-01-01T00:00:01.000Z,3,13\n"
				  "1970-01-01T00:00:02.000Z,2,3\n1970-01-01T00:00:03.000Z,0,\n");
	finish(&r);
	start(&r, "SELECT comm, COUNT(*) AS n FROM system_calls GROUP BY comm HAVING n >= 2 WINDOW 2s EVERY 1s",
	      SQL_SINK_CSV);
	call(&r, 1, "a", 0, 1, 0);
	window(&r, 0);
	call(&r, 1, "a", 0, 1, 0);
	window(&r, 1);
	window(&r, 2);
	cr_expect_str_eq(out(&r), "window,comm,n\n1970-01-01T00:00:01.000Z,a,2\n", "HAVING sees the merged counts");
	finish(&r);
}

Test(sql_exec, sliding_window_order_limit_without_aggregates)
{
	struct run r;
	start(&r, "SELECT pid, duration FROM system_calls WINDOW 2s EVERY 1s ORDER BY duration DESC LIMIT 2",
	      SQL_SINK_CSV);
	int64_t d[] = { 5, 9, 1 };
	for (int i = 0; i < 3; i++)
		call(&r, i, "p", 0, d[i], 0);
	window(&r, 0);
	call(&r, 3, "p", 0, 7, 0);
	window(&r, 1);
	call(&r, 4, "p", 0, 3, 0);
	window(&r, 2);
	cr_expect_str_eq(out(&r), "window,pid,duration\n"
				  "1970-01-01T00:00:00.000Z,1,9\n1970-01-01T00:00:00.000Z,0,5\n"
				  "1970-01-01T00:00:01.000Z,1,9\n1970-01-01T00:00:01.000Z,3,7\n"
				  "1970-01-01T00:00:02.000Z,3,7\n1970-01-01T00:00:02.000Z,4,3\n");
	finish(&r);
}

Test(sql_exec, streaming_rows_and_limit)
{
	struct run r;
	start(&r, "SELECT pid, comm FROM system_calls WHERE ret >= 0 LIMIT 2", SQL_SINK_CSV);
	call(&r, 1, "a", 0, 1, 0);
	cr_expect_str_eq(out(&r), "pid,comm\n1,a\n", "rows stream before the run ends");
	call(&r, 2, "b", 0, 1, -2); /* filtered out */
	struct row w;
	row_init(&w, "system_calls");
	set(&w, "pid", 3);
	sets(&w, "comm", "c");
	set(&w, "ret", 1);
	cr_expect_eq(sql_exec_row(r.x, 0, w.v), 1, "LIMIT reached");
	cr_expect(sql_exec_done(r.x));
	cr_expect_eq(sql_exec_row(r.x, 0, w.v), 1);
	window(&r, 0);
	cr_expect_str_eq(out(&r), "pid,comm\n1,a\n3,c\n");
	finish(&r);
}

Test(sql_exec, distinct_streams_first_occurrences)
{
	struct run r;
	start(&r, "SELECT DISTINCT comm FROM system_calls", SQL_SINK_CSV);
	const char *names[] = { "a", "b", "a", "c", "b" };
	for (int i = 0; i < 5; i++)
		call(&r, 1, names[i], 0, 1, 0);
	cr_expect_str_eq(out(&r), "comm\na\nb\nc\n");
	window(&r, 0);
	cr_expect_str_eq(out(&r), "comm\na\nb\nc\n");
	finish(&r);
	/* DISTINCT over aggregate rows. */
	start(&r, "SELECT DISTINCT COUNT(*) AS n FROM system_calls GROUP BY pid", SQL_SINK_CSV);
	call(&r, 1, "a", 0, 1, 0);
	call(&r, 2, "a", 0, 1, 0);
	call(&r, 3, "a", 0, 1, 0);
	call(&r, 3, "a", 0, 1, 0);
	window(&r, 0);
	cr_expect_str_eq(out(&r), "n\n1\n2\n");
	finish(&r);
}

/* ---- histograms and quantiles ---- */

Test(sql_exec, hist_buckets)
{
	struct run r;
	start(&r, "SELECT HIST(ret) AS h, LHIST(ret, 0, 100, 10) AS l FROM system_calls", SQL_SINK_CSV);
	int64_t v[] = { -5, 0, 1, 2, 3, 4, 1000, 55, 99, 100 };
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		call(&r, 1, "a", 0, 1, v[i]);
	window(&r, 0);
	cr_expect_str_eq(out(&r), "h,l\n"
				  "\"..0=1;0..1=1;1..2=1;2..4=2;4..8=1;32..64=1;64..128=2;512..1024=1\","
				  "\"..0=1;0..10=5;50..60=1;90..100=1;100..=2\"\n");
	finish(&r);
}

Test(sql_exec, hist_drawn_as_bars)
{
	struct run r;
	start(&r, "SELECT comm, HIST(duration) AS lat FROM system_calls GROUP BY comm", SQL_SINK_TABLE);
	for (int i = 0; i < 4; i++)
		call(&r, 1, "sh", 0, 3000, 0);   /* [2K, 4K) */
	call(&r, 1, "sh", 0, 1024, 0);           /* [1K, 2K) */
	window(&r, 0);
	cr_expect_str_eq(out(&r), "comm  lat\n"
				  "sh    \n"
				  "  lat (ns):\n"
				  "  [1K, 2K)                    1 |@@@@@@@@@@                              |\n"
				  "  [2K, 4K)                    4 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n");
	finish(&r);
}

/* Deterministic pseudo-random numbers (xorshift64*). */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

Test(sql_exec, quantiles_within_documented_bound)
{
	enum { N = 20000 };
	static int64_t v[N];
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	struct sql_qhist h = { 0 };
	for (int i = 0; i < N; i++) {
		/* log-uniform over 1 .. 2^40, plus some negatives and small values */
		uint64_t x = rnd(&seed);
		int e = (int)(x % 41);
		v[i] = (int64_t)((rnd(&seed) >> (63 - e)) | (1ull << e) >> 1);
		if (i % 10 == 0)
			v[i] = -v[i];
		if (i % 7 == 0)
			v[i] = (int64_t)(x % 64);
		cr_assert_eq(sql_qhist_add(&h, v[i]), 0);
	}
	qsort(v, N, sizeof(v[0]), cmp_i64);
	static const int q[] = { 1, 100, 500, 900, 950, 990, 999, 1000 };
	for (size_t k = 0; k < sizeof(q) / sizeof(q[0]); k++) {
		int64_t est;
		cr_assert(sql_qhist_quantile(&h, (uint32_t)q[k] * 1000, &est)); /* per-mille -> ppm */
		size_t rank = ((size_t)N * (size_t)q[k] + 999) / 1000;
		int64_t exact = v[rank - 1];
		int64_t err = est > exact ? est - exact : exact - est;
		int64_t mag = exact < 0 ? -exact : exact;
		cr_expect(err * 128 <= mag || (mag < 64 && err == 0),
			  "q=%d/1000: estimate %lld, exact %lld", q[k], (long long)est, (long long)exact);
	}
	sql_qhist_free(&h);
}

Test(sql_exec, quantiles_never_leave_the_observed_range)
{
	struct sql_qhist h = { 0 };
	int64_t est;
	cr_assert_eq(sql_qhist_add(&h, 1000), 0); /* bucket [1000, 1008), middle 1004 */
	cr_assert_eq(sql_qhist_add(&h, 1003), 0);
	cr_assert(sql_qhist_quantile(&h, 990, &est));
	cr_expect_eq(est, 1003);
	cr_assert(sql_qhist_quantile(&h, 500, &est));
	cr_expect_eq(est, 1003);
	sql_qhist_free(&h);
}

Test(sql_exec, quantiles_in_queries)
{
	struct run r;
	start(&r, "SELECT P50(duration) AS p50, P90(duration) AS p90, P99(duration) AS p99, P50(ret) AS r "
		  "FROM system_calls", SQL_SINK_CSV);
	for (int i = 1; i <= 100; i++)
		call(&r, 1, "a", 0, i * 1000, i % 50);
	window(&r, 0);
	/* exact: 50000, 90000, 99000 and 24; the middles of their buckets: 512 ns wide in
	 * [2^15, 2^16), 1024 ns wide in [2^16, 2^17); values below 64 are exact */
	cr_expect_str_eq(out(&r), "p50,p90,p99,r\n49920,89600,98816,24\n");
	finish(&r);
}

Test(sql_exec, any_percentile)
{
	struct run r;
	start(&r, "SELECT P999(duration) AS a, PERCENTILE(duration, 99.9) AS b, PERCENTILE(duration, 50) AS c, "
		  "PERCENTILE(duration, 0.1) AS d, PERCENTILE(duration, 100) AS e, PERCENTILE(ret, 99.95) AS f "
		  "FROM system_calls", SQL_SINK_CSV);
	for (int i = 1; i <= 2000; i++)
		call(&r, 1, "a", 0, i, i);
	window(&r, 0);
	/* exact below 64; rank ceil(n q): 1998, 1998, 1000, 2, 2000, 1999 -> their buckets' middles
	 * (16 ns wide in [1024, 2048), 8 ns wide in [512, 1024)), never above the maximum */
	cr_expect_str_eq(out(&r), "a,b,c,d,e,f\n1992,1992,1004,2,2000,1992\n");
	finish(&r);
}

Test(sql_exec, string_functions_coalesce_and_cast)
{
	struct run r;
	start(&r, "SELECT comm || '/' || str(pid) AS a, length(comm) AS l, substr(comm, 2) AS s1, "
		  "substr(comm, 2, 3) AS s2, substr(comm, -2) AS s3, substr(comm, 9) AS s4, substr(comm, 1, -1) AS s5, "
		  "concat(comm, NULL, 7) AS c1, comm || NULL AS c2, coalesce(NULL, ret, 5) AS co, "
		  "CAST('42' AS INT) + ret AS i1, CAST(' -0x10 ' AS INT) AS i2, CAST('12ab' AS INT) AS i3, "
		  "CAST('18446744073709551615' AS UINT) AS u1, CAST(-1 AS UINT) AS u2, CAST('-1' AS UINT) AS u3, "
		  "CAST(ret AS STRING) || 'x' AS t, CAST('TRUE' AS BOOL) AS b1, CAST(0 AS BOOL) AS b2 "
		  "FROM system_calls", SQL_SINK_CSV);
	call(&r, 7, "worker", 0, 1, -3);
	cr_expect_str_eq(out(&r), "a,l,s1,s2,s3,s4,s5,c1,c2,co,i1,i2,i3,u1,u2,u3,t,b1,b2\n"
				  "worker/7,6,orker,ork,er,,,worker7,,-3,39,-16,,18446744073709551615,"
				  "18446744073709551615,,-3x,true,false\n");
	finish(&r);
}

Test(sql_exec, count_distinct_is_exact)
{
	struct run r;
	start(&r, "SELECT pid, COUNT(DISTINCT comm) AS c, COUNT(DISTINCT ret) AS d, COUNT(DISTINCT errno_name(ret)) AS e, "
		  "COUNT(*) AS n FROM system_calls GROUP BY pid ORDER BY pid", SQL_SINK_CSV);
	for (int i = 0; i < 5000; i++)
		call(&r, 1 + i % 2, i % 3 ? "a" : "bb", 0, 1, i % 1000 - 500);
	window(&r, 0);
	/* pid 1: even i: 500 distinct rets (i % 1000 even), 250 negative even -> 250 names, NULL left out */
	cr_expect_str_eq(out(&r), "pid,c,d,e,n\n1,2,500,250,2500\n2,2,500,250,2500\n");
	finish(&r);
}

/* ---- expressions ---- */

struct likecase {
	const char *s, *pat;   /* subject, pattern */
	bool match;            /* expected */
};

static const struct likecase likes[] = {
	{ "bash", "bash", true },      { "bash", "ba%", true },        { "bash", "%sh", true },
	{ "bash", "b_sh", true },      { "bash", "b_h", false },       { "bash", "%", true },
	{ "", "%", true },             { "", "_", false },             { "/etc/passwd", "/etc/%", true },
	{ "/usr/lib/libc.so.6", "%.so%", true }, { "/usr/lib/libc.so.6", "%.so", false },
	{ "aaa", "a%a%a", true },      { "aa", "a%a%a", false },       { "abcabd", "%abd", true },
	{ "Bash", "bash", false },     { "x%y", "x%y", true },         { "mississippi", "%issip%i", true },
};

Test(sql_exec, like_patterns)
{
	for (size_t i = 0; i < sizeof(likes) / sizeof(likes[0]); i++)
		cr_expect_eq(sql_like(likes[i].s, likes[i].pat), likes[i].match, "'%s' LIKE '%s'", likes[i].s,
			     likes[i].pat);
}

Test(sql_exec, like_case_in_between_in_queries)
{
	struct run r;
	start(&r, "SELECT comm, CASE WHEN ret < 0 THEN errno_name(ret) WHEN ret = 0 THEN 'zero' ELSE 'ok' END AS k, "
		  "CASE syscall_number WHEN 0 THEN 'read' WHEN 1 THEN 'write' END AS n, "
		  "syscall_number BETWEEN 1 AND 2 AS b, syscall_number NOT IN (0, 2) AS i "
		  "FROM system_calls WHERE comm LIKE 'w%' OR comm LIKE '_x'", SQL_SINK_CSV);
	call(&r, 1, "worker", 0, 1, -2);
	call(&r, 1, "xx", 1, 1, 0);
	call(&r, 1, "nope", 1, 1, 0);
	call(&r, 1, "wx", 2, 1, 7);
	cr_expect_str_eq(out(&r), "comm,k,n,b,i\nworker,ENOENT,read,false,false\nxx,zero,write,true,true\n"
				  "wx,ok,,true,false\n");
	finish(&r);
}

Test(sql_exec, null_and_arithmetic_edges)
{
	struct run r;
	start(&r, "SELECT ret / 0, ret % 0, ret / -1, ret - 1, arg0 > -1 AS gt, ret IS NULL AS isnull, "
		  "usec(duration), str(duration), hex(ret), syscall_name(syscall_number) AS nm FROM system_calls",
		  SQL_SINK_CSV);
	struct row w;
	row_init(&w, "system_calls");
	set(&w, "ret", INT64_MIN);
	set(&w, "arg0", 5);
	set(&w, "duration", 1234567);
	set(&w, "syscall_number", 9999);
	cr_assert_eq(sql_exec_row(r.x, 0, w.v), 0);
	row_init(&w, "system_calls");
	set(&w, "syscall_number", 257);
	cr_assert_eq(sql_exec_row(r.x, 0, w.v), 0);
	cr_expect_str_eq(out(&r), "ret / 0,ret % 0,ret / -1,ret - 1,gt,isnull,usec(duration),str(duration),hex(ret),nm\n"
				  ",,-9223372036854775808,9223372036854775807,true,false,1234,1.234ms,"
				  "0x8000000000000000,9999\n"
				  ",,,,,true,,,,openat\n");
	finish(&r);
}

Test(sql_exec, value_order_mixed_signedness)
{
	struct sql_value neg = { .type = SQL_T_INT, .i = -1 }, big = { .type = SQL_T_UINT, .u = UINT64_MAX };
	struct sql_value five = { .type = SQL_T_UINT, .u = 5 }, ifive = { .type = SQL_T_INT, .i = 5 };
	struct sql_value null = { .type = SQL_T_NULL }, s = { .type = SQL_T_STR, .s = "a" };
	cr_expect_lt(sql_value_cmp(&neg, &big), 0);
	cr_expect_gt(sql_value_cmp(&big, &neg), 0);
	cr_expect_eq(sql_value_cmp(&five, &ifive), 0);
	cr_expect(sql_value_eq(&five, &ifive));
	cr_expect_eq(sql_value_hash(&five, 1), sql_value_hash(&ifive, 1));
	cr_expect_lt(sql_value_cmp(&null, &neg), 0);
	cr_expect_gt(sql_value_cmp(&s, &big), 0);
}

struct durcase {
	int64_t ns;          /* duration */
	const char *text;    /* for people */
};

static const struct durcase durs[] = {
	{ 0, "0ns" }, { 999, "999ns" }, { 1000, "1us" }, { 1500, "1.5us" }, { 10071000, "10.071ms" },
	{ 10000000, "10ms" }, { 1204000000, "1.204s" }, { 75000000000, "75s" }, { -2500, "-2.5us" },
};

Test(sql_exec, duration_format)
{
	for (size_t i = 0; i < sizeof(durs) / sizeof(durs[0]); i++) {
		char buf[32];
		sql_fmt_duration(durs[i].ns, buf, sizeof(buf));
		cr_expect_str_eq(buf, durs[i].text);
	}
}

/* ---- JOIN ---- */

static void fork_row(struct run *r, int64_t child, const char *parent_comm)
{
	struct row w;
	row_init(&w, "process_fork");
	set(&w, "child_tid", child);
	sets(&w, "parent_comm", parent_comm);
	cr_assert_eq(sql_exec_row(r->x, 0, w.v), 0);
}

static void exec_row(struct run *r, int64_t pid, const char *file)
{
	struct row w;
	row_init(&w, "process_exec");
	set(&w, "pid", pid);
	sets(&w, "filename", file);
	cr_assert_eq(sql_exec_row(r->x, 1, w.v), 0);
}

Test(sql_exec, join_takes_latest_unmatched_left_row)
{
	struct run r;
	start(&r, "SELECT f.child_tid, f.parent_comm, e.filename FROM process_fork AS f JOIN process_exec AS e "
		  "ON f.child_tid = e.pid WHERE e.filename != '/skip'", SQL_SINK_CSV);
	fork_row(&r, 10, "first");
	fork_row(&r, 10, "second");
	fork_row(&r, 11, "other");
	exec_row(&r, 10, "/a");    /* latest unmatched: second */
	exec_row(&r, 10, "/b");    /* then first */
	exec_row(&r, 10, "/c");    /* none left: no row */
	exec_row(&r, 12, "/d");    /* no left row at all */
	exec_row(&r, 11, "/skip"); /* matched, then filtered by WHERE */
	exec_row(&r, 11, "/e");    /* the match was used up */
	cr_expect_str_eq(out(&r), "child_tid,parent_comm,filename\n10,second,/a\n10,first,/b\n");
	cr_expect_eq(sql_exec_evicted(r.x), 0);
	finish(&r);
}

static void timed_row(struct run *r, int side, const char *table, int64_t ts, int64_t key, const char *s)
{
	struct row w;
	row_init(&w, table);
	set(&w, "ts", ts);
	set(&w, side ? "pid" : "child_tid", key);
	sets(&w, side ? "filename" : "parent_comm", s);
	cr_assert_eq(sql_exec_row(r->x, side, w.v), 0);
}

Test(sql_exec, join_never_pairs_with_a_later_left_event)
{
	struct run r;
	start(&r, "SELECT f.parent_comm, e.filename FROM process_fork AS f JOIN process_exec AS e "
		  "ON f.child_tid = e.pid", SQL_SINK_CSV);
	timed_row(&r, 0, "process_fork", 100, 10, "old");
	timed_row(&r, 0, "process_fork", 300, 10, "new");   /* read before the exec of ts 200 */
	timed_row(&r, 0, "process_fork", 350, 10, "newer");
	timed_row(&r, 1, "process_exec", 200, 10, "/a");    /* takes old, the latest before it */
	timed_row(&r, 1, "process_exec", 250, 10, "/b");    /* nothing before 250 is left */
	timed_row(&r, 1, "process_exec", 400, 10, "/c");    /* newer is the latest again */
	timed_row(&r, 1, "process_exec", 500, 10, "/d");    /* then new */
	cr_expect_str_eq(out(&r), "parent_comm,filename\nold,/a\nnewer,/c\nnew,/d\n");
	finish(&r);
}

/* Self-join (cpudist): every event enters as a left row when read and as a
 * right row in time order; a right row takes the latest unmatched left row
 * of equal key strictly before it, so no event pairs with itself. */
static void switch_row(struct sql_value *v, const struct sql_table *t, int64_t ts, int64_t prev, int64_t next)
{
	memset(v, 0, 64 * sizeof(*v));
	v[sql_table_column(t, "ts")] = (struct sql_value){ .type = SQL_T_TIME, .i = ts };
	v[sql_table_column(t, "prev_tid")] = (struct sql_value){ .type = SQL_T_INT, .i = prev };
	v[sql_table_column(t, "next_tid")] = (struct sql_value){ .type = SQL_T_INT, .i = next };
}

Test(sql_exec, self_join_pairs_each_event_with_an_earlier_one)
{
	struct run r;
	start(&r, "SELECT i.next_tid AS tid, o.ts - i.ts AS oncpu FROM sched_switch AS i JOIN sched_switch AS o "
		  "ON i.next_tid = o.prev_tid", SQL_SINK_CSV);
	cr_assert(r.q.self_join);
	const struct sql_table *t = sql_catalog_find("sched_switch");
	static const int64_t ev[][3] = { { 100, 1, 7 }, { 150, 7, 1 }, { 200, 1, 7 }, { 260, 7, 1 }, { 300, 5, 5 } };
	struct sql_value v[5][64];
	for (int i = 0; i < 5; i++) {
		switch_row(v[i], t, ev[i][0], ev[i][1], ev[i][2]);
		cr_assert_eq(sql_exec_row(r.x, 0, v[i]), 0);
	}
	for (int i = 0; i < 5; i++)
		cr_assert_eq(sql_exec_row(r.x, 1, v[i]), 0);
	/* 150 takes 100 (tid 7), 200 takes 150 (tid 1), 260 takes 200; 300
	 * (prev 5 = next 5) has no earlier partner and does not take itself */
	cr_expect_str_eq(out(&r), "tid,oncpu\n7,50\n1,50\n7,60\n");
	uint64_t passed, rejected;
	sql_exec_counts(r.x, &passed, &rejected);
	cr_expect_eq(passed, 5, "each event enters the join once (got %llu)", (unsigned long long)passed);
	finish(&r);
}

/* LEFT JOIN ... WITHIN: a right row takes only a left row at most WITHIN
 * older; a left row whose wait ended goes out with NULL right columns when
 * the runner says no older right row can come (sql_exec_expire). */
Test(sql_exec, left_join_emits_unmatched_rows_after_their_wait)
{
	struct run r;
	start(&r, "SELECT f.parent_comm, e.filename FROM process_fork AS f LEFT JOIN process_exec AS e "
		  "ON f.child_tid = e.pid WITHIN 100ns", SQL_SINK_CSV);
	cr_assert(r.q.join[0].left && r.q.join[0].within_ns == 100);
	timed_row(&r, 0, "process_fork", 100, 10, "a");
	timed_row(&r, 0, "process_fork", 150, 11, "b");
	timed_row(&r, 0, "process_fork", 300, 10, "c");
	timed_row(&r, 1, "process_exec", 180, 11, "/x");   /* takes b, 30ns older */
	timed_row(&r, 1, "process_exec", 260, 10, "/y");   /* a is 160ns older: too old; c is later */
	cr_assert_eq(sql_exec_expire(r.x, 350), 0);         /* a's wait ended (every exec before 350 came) */
	timed_row(&r, 1, "process_exec", 350, 10, "/z");   /* takes c */
	cr_assert_eq(sql_exec_expire(r.x, UINT64_MAX), 0);  /* nothing left */
	cr_expect_str_eq(out(&r), "parent_comm,filename\nb,/x\na,\nc,/z\n");
	finish(&r);
}

Test(sql_exec, join_state_is_bounded_and_evictions_counted)
{
	struct run r;
	start(&r, "SELECT COUNT(*) AS n FROM process_fork AS f JOIN process_exec AS e ON f.child_tid = e.pid",
	      SQL_SINK_CSV);
	for (int64_t i = 0; i < SQL_MAX_JOIN + 5; i++)
		fork_row(&r, i, "p");
	cr_expect_eq(sql_exec_evicted(r.x), 5);
	exec_row(&r, 0, "/x");                  /* evicted: oldest */
	exec_row(&r, 4, "/x");                  /* evicted */
	exec_row(&r, 5, "/x");                  /* kept */
	exec_row(&r, SQL_MAX_JOIN + 4, "/x");   /* kept */
	window(&r, 0);
	cr_expect_str_eq(out(&r), "n\n2\n");
	finish(&r);
}

/* ---- JOIN of three tables ---- */

/* One row of @table on @side at @ts with integer column @col = @v (and, when
 * @col2, @col2 = @v2). */
static void row3(struct run *r, int side, const char *table, int64_t ts, const char *col, int64_t v,
		 const char *col2, int64_t v2)
{
	struct row w;
	row_init(&w, table);
	set(&w, "ts", ts);
	set(&w, col, v);
	if (col2)
		set(&w, col2, v2);
	cr_assert_eq(sql_exec_row(r->x, side, w.v), 0);
}

/* fork -> exec -> exit of one process: a row of the third table takes the
 * latest unmatched joined row of the first two whose time (the exec's) is
 * not after its own; rows of a side come in time order, after the rows of
 * the sides before it up to their time (the runner's rounds). */
Test(sql_exec, three_table_join_chains_rows_in_time_order)
{
	struct run r;
	start(&r, "SELECT f.child_tid AS tid, e.ts - f.ts AS to_exec, x.ts - e.ts AS to_exit FROM process_fork AS f "
		  "JOIN process_exec AS e ON e.pid = f.child_tid JOIN process_exit AS x ON x.pid = e.pid",
		  SQL_SINK_CSV);
	cr_assert_eq(r.q.nsources, 3);
	row3(&r, 0, "process_fork", 100, "child_tid", 10, NULL, 0);
	row3(&r, 0, "process_fork", 110, "child_tid", 11, NULL, 0);
	row3(&r, 0, "process_fork", 500, "child_tid", 10, NULL, 0); /* read early, happened later */
	row3(&r, 1, "process_exec", 200, "pid", 10, NULL, 0);        /* takes the fork at 100 */
	row3(&r, 1, "process_exec", 210, "pid", 11, NULL, 0);
	row3(&r, 2, "process_exit", 150, "pid", 11, NULL, 0);        /* 11's exec came later: nothing */
	row3(&r, 2, "process_exit", 300, "pid", 10, NULL, 0);        /* 10: fork 100, exec 200 */
	row3(&r, 2, "process_exit", 400, "pid", 11, NULL, 0);        /* 11: fork 110, exec 210 */
	row3(&r, 2, "process_exit", 450, "pid", 11, NULL, 0);        /* used up */
	row3(&r, 1, "process_exec", 600, "pid", 10, NULL, 0);        /* takes the fork at 500 */
	row3(&r, 2, "process_exit", 700, "pid", 10, NULL, 0);
	row3(&r, 2, "process_exit", 800, "pid", 12, NULL, 0);        /* no partner */
	cr_expect_str_eq(out(&r), "tid,to_exec,to_exit\n10,100,100\n11,100,190\n10,100,100\n");
	uint64_t passed, rejected;
	sql_exec_counts(r.x, &passed, &rejected);
	cr_expect_eq(passed, 12, "every row entered the join (got %llu)", (unsigned long long)passed);
	cr_expect_eq(sql_exec_evicted(r.x), 0);
	finish(&r);
}

/* runqlat then on-CPU time: sched_switch is joined twice (one stream feeds
 * both sides); an event never pairs with itself, so the switch that took a
 * wakeup cannot also be the one that ends the run (same nanosecond). */
Test(sql_exec, three_table_self_join_keeps_one_stream_semantics)
{
	struct run r;
	start(&r, "SELECT a.target_tid AS tid, b.ts - a.ts AS wait, c.ts - b.ts AS run FROM sched_wakeup AS a "
		  "JOIN sched_switch AS b ON b.next_tid = a.target_tid JOIN sched_switch AS c ON c.prev_tid = b.next_tid",
		  SQL_SINK_CSV);
	cr_assert(r.q.self_join);
	cr_assert_eq(r.q.nsources, 2);
	row3(&r, 0, "sched_wakeup", 100, "target_tid", 7, NULL, 0);
	row3(&r, 0, "sched_wakeup", 250, "target_tid", 5, NULL, 0);
	static const int64_t sw[][3] = { { 150, 1, 7 }, { 230, 7, 1 }, { 300, 5, 5 } };
	for (int k = 1; k <= 2; k++)
		for (int i = 0; i < 3; i++)
			row3(&r, k, "sched_switch", sw[i][0], "prev_tid", sw[i][1], "next_tid", sw[i][2]);
	/* 7: woken at 100, on at 150, off at 230; 5: on at 300 by the switch
	 * that would also have to end its run */
	cr_expect_str_eq(out(&r), "tid,wait,run\n7,50,80\n");
	uint64_t passed, rejected;
	sql_exec_counts(r.x, &passed, &rejected);
	cr_expect_eq(passed, 5, "each event enters once (got %llu)", (unsigned long long)passed);
	finish(&r);
}

/* LEFT JOIN at the first step: a fork without exec goes on with NULL exec
 * columns at the end of its wait (100 + 100ns), and the third table's rows
 * from then on can take it. */
Test(sql_exec, three_table_join_after_left_join_sees_unmatched_rows_from_the_end_of_their_wait)
{
	struct run r;
	start(&r, "SELECT f.child_tid AS tid, e.ts - f.ts AS to_exec, x.ts - f.ts AS to_exit FROM process_fork AS f "
		  "LEFT JOIN process_exec AS e ON e.pid = f.child_tid WITHIN 100ns "
		  "JOIN process_exit AS x ON x.pid = f.child_tid",
		  SQL_SINK_CSV);
	row3(&r, 0, "process_fork", 100, "child_tid", 10, NULL, 0);
	row3(&r, 0, "process_fork", 120, "child_tid", 11, NULL, 0);
	row3(&r, 1, "process_exec", 130, "pid", 11, NULL, 0);
	row3(&r, 2, "process_exit", 150, "pid", 10, NULL, 0); /* 10 may still exec until 200 */
	row3(&r, 2, "process_exit", 200, "pid", 10, NULL, 0); /* its wait ended at 200: taken */
	row3(&r, 2, "process_exit", 260, "pid", 11, NULL, 0);
	cr_expect_str_eq(out(&r), "tid,to_exec,to_exit\n10,,100\n11,10,140\n");
	finish(&r);
}

/* LEFT JOIN at the second step: a joined row of the first two tables that
 * no row of the third takes within its wait goes out with NULLs once the
 * runner says every row before its end came (sql_exec_expire); a fork left
 * unmatched by the first (LEFT) step waits again at the second. */
Test(sql_exec, three_table_left_joins_emit_unmatched_rows_at_each_step)
{
	struct run r;
	start(&r, "SELECT f.child_tid AS tid, e.pid AS e, x.pid AS x FROM process_fork AS f "
		  "LEFT JOIN process_exec AS e ON e.pid = f.child_tid WITHIN 100ns "
		  "LEFT JOIN process_exit AS x ON x.pid = f.child_tid WITHIN 50ns",
		  SQL_SINK_CSV);
	row3(&r, 0, "process_fork", 100, "child_tid", 10, NULL, 0);
	row3(&r, 0, "process_fork", 110, "child_tid", 11, NULL, 0);
	row3(&r, 1, "process_exec", 150, "pid", 11, NULL, 0);  /* (11, 11) at 150, waits until 200 */
	cr_assert_eq(sql_exec_expire(r.x, 200), 0);            /* nothing ended yet (10: until 200 then 250) */
	cr_expect_str_eq(out(&r), "", "no row yet (the header comes with the first)");
	cr_assert_eq(sql_exec_expire(r.x, 201), 0);            /* 11's wait for an exit ended */
	cr_expect_str_eq(out(&r), "tid,e,x\n11,11,\n");
	cr_assert_eq(sql_exec_expire(r.x, 251), 0);            /* 10: no exec by 200, no exit by 250 */
	cr_expect_str_eq(out(&r), "tid,e,x\n11,11,\n10,,\n");
	row3(&r, 0, "process_fork", 300, "child_tid", 12, NULL, 0);
	cr_assert_eq(sql_exec_expire(r.x, UINT64_MAX), 0);     /* the end of the run: every waiting row */
	cr_expect_str_eq(out(&r), "tid,e,x\n11,11,\n10,,\n12,,\n");
	finish(&r);
}

/* Each step keeps at most SQL_MAX_JOIN unmatched left rows: joined rows of
 * the first two tables beyond that are evicted (oldest first) and counted,
 * never silently dropped. */
Test(sql_exec, three_table_join_state_is_bounded_and_evictions_counted)
{
	struct run r;
	start(&r, "SELECT COUNT(*) AS n FROM process_fork AS f JOIN process_exec AS e ON e.pid = f.child_tid "
		  "JOIN process_exit AS x ON x.pid = e.pid",
		  SQL_SINK_CSV);
	int64_t n = SQL_MAX_JOIN + 5;
	for (int64_t i = 0; i < n; i++)
		row3(&r, 0, "process_fork", 10 + i, "child_tid", i, NULL, 0);
	for (int64_t i = 0; i < n; i++)
		row3(&r, 1, "process_exec", 10 + n + i, "pid", i, NULL, 0); /* each takes its fork */
	cr_expect_eq(sql_exec_evicted(r.x), 5, "got %llu", (unsigned long long)sql_exec_evicted(r.x));
	row3(&r, 2, "process_exit", 10 + 2 * n, "pid", 0, NULL, 0);     /* evicted: the oldest */
	row3(&r, 2, "process_exit", 11 + 2 * n, "pid", 4, NULL, 0);     /* evicted */
	row3(&r, 2, "process_exit", 12 + 2 * n, "pid", 5, NULL, 0);     /* kept */
	row3(&r, 2, "process_exit", 13 + 2 * n, "pid", n - 1, NULL, 0); /* kept */
	window(&r, 0);
	cr_expect_str_eq(out(&r), "n\n2\n");
	finish(&r);
}

/* A NULL key equals nothing: such a row is neither taken nor takes one. */
Test(sql_exec, join_null_keys_match_nothing)
{
	struct run r;
	start(&r, "SELECT f.child_tid, e.filename FROM process_fork AS f JOIN process_exec AS e "
		  "ON f.child_tid = e.pid", SQL_SINK_CSV);
	struct row w;
	row_init(&w, "process_fork");
	sets(&w, "parent_comm", "nokey");
	cr_assert_eq(sql_exec_row(r.x, 0, w.v), 0);
	row_init(&w, "process_exec");
	sets(&w, "filename", "/nokey");
	cr_assert_eq(sql_exec_row(r.x, 1, w.v), 0);
	cr_expect_str_eq(out(&r), "", "no joined row");
	cr_expect_eq(sql_exec_evicted(r.x), 0);
	finish(&r);
}

/* ---- sinks ---- */

Test(sql_exec, json_rows_and_window_records)
{
	struct run r;
	start(&r, "SELECT comm, COUNT(*) AS n, MAX(duration) AS d, HIST(ret) AS h FROM system_calls GROUP BY comm "
		  "WINDOW 1s", SQL_SINK_JSON);
	call(&r, 1, "a\"b\\c\n", 0, 5, 3);
	struct sql_window_info w = { .start_ns = 0, .end_ns = 1000000000, .events = 9, .lost = 2, .evicted = 1 };
	cr_assert_eq(sql_exec_window(r.x, &w), 0);
	cr_expect_str_eq(out(&r),
			 "{\"window\":\"1970-01-01T00:00:00.000Z\",\"comm\":\"a\\\"b\\\\c\\n\",\"n\":1,\"d\":5,"
			 "\"h\":[{\"lo\":2,\"hi\":4,\"count\":1}]}\n"
			 "{\"window\":{\"start\":\"1970-01-01T00:00:00.000Z\",\"end\":\"1970-01-01T00:00:01.000Z\","
			 "\"rows\":1,\"events\":9,\"lost\":2,\"evicted\":1}}\n");
	finish(&r);
}

Test(sql_exec, csv_quotes_fields)
{
	struct run r;
	start(&r, "SELECT comm AS \"x\", pid FROM system_calls", SQL_SINK_CSV);
	call(&r, 1, "a,b", 0, 1, 0);
	call(&r, 2, "say \"hi\"", 0, 1, 0);
	cr_expect_str_eq(out(&r), "x,pid\n\"a,b\",1\n\"say \"\"hi\"\"\",2\n");
	finish(&r);
}

Test(sql_exec, table_aligns_columns)
{
	struct run r;
	start(&r, "SELECT comm, COUNT(*) AS calls, MAX(duration) AS worst FROM system_calls GROUP BY comm "
		  "ORDER BY calls DESC", SQL_SINK_TABLE);
	call(&r, 1, "systemd-journal", 0, 1500, 0);
	call(&r, 1, "sh", 0, 10071000, 0);
	call(&r, 1, "sh", 0, 1, 0);
	window(&r, 0);
	cr_expect_str_eq(out(&r), "comm             calls     worst\n"
				  "sh                   2  10.071ms\n"
				  "systemd-journal      1     1.5us\n");
	finish(&r);
}

Test(sql_exec, table_streams_and_widens_columns)
{
	struct run r;
	start(&r, "SELECT pid, comm, duration FROM system_calls", SQL_SINK_TABLE);
	call(&r, 42, "bash", 0, 2000, 0);
	call(&r, 7, "systemd-journal", 0, 1500000, 0);
	call(&r, 8, "sh", 0, 1, 0);
	call(&r, 9, "a-very-long-command", 0, 1, 0);
	cr_expect_str_eq(out(&r), "    pid  comm                duration\n"
				  "     42  bash                     2us\n"
				  "      7  systemd-journal        1.5ms\n"
				  "      8  sh                       1ns\n"
				  "      9  a-very-long-command         1ns\n");
	finish(&r);
}
