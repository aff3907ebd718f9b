/* test_serve.c - the exporter's pure parts (src/serve/): metric and label
 * names, label-value escaping, exact seconds, the configuration parser
 * (continuation lines, comments, errors with file:line), and a query's
 * metrics fed typed rows by hand: counters add up over windows, gauges show
 * only the last window, histogram buckets are cumulative with le = hi - 1,
 * and the cardinality limit evicts the least recently updated series.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "serve/serveInt.h"

static char *capture(void (*fn)(void *, FILE *), void *arg)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	fn(arg, f);
	fclose(f);
	return buf;
}

static void write_label(void *arg, FILE *f)
{
	serve_label_value(f, arg, strlen(arg));
}

Test(serve, names_escaping_and_seconds)
{
	char b[64];
	serve_sanitize("COUNT(*)", b, sizeof(b));
	cr_assert_str_eq(b, "COUNT");
	serve_sanitize("p99 latency", b, sizeof(b));
	cr_assert_str_eq(b, "p99_latency");
	serve_sanitize("2x", b, sizeof(b));
	cr_assert_str_eq(b, "_2x");
	char *s = capture(write_label, "a\"b\\c\nd");
	cr_assert_str_eq(s, "\"a\\\"b\\\\c\\nd\"");
	free(s);
	s = capture(write_label, "\xc3\xa9t\xe9\xc0\xaf\xf0\x9f\x98\x80"); /* é, a lone byte, an overlong '/', an emoji */
	cr_assert_str_eq(s, "\"\xc3\xa9t\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xf0\x9f\x98\x80\"");
	free(s);
	serve_fmt_seconds(1023, b, sizeof(b));
	cr_assert_str_eq(b, "0.000001023");
	serve_fmt_seconds(2000000000, b, sizeof(b));
	cr_assert_str_eq(b, "2");
	serve_fmt_seconds(-1500000000, b, sizeof(b));
	cr_assert_str_eq(b, "-1.5");
}

Test(serve, config_file)
{
	struct serve_conf c = { 0 };
	char err[256] = "";
	const char *text = "# top\nlisten = 127.0.0.1:1234   # loopback\ninterval = 2s\n\n"
			   "[query a]\nsql = SELECT comm, COUNT(*) AS n\n  FROM system_calls GROUP BY comm\n"
			   "max_series = 5\nplan = mvsf\n[query b_2]\nsql = SELECT COUNT(*) FROM process_exit\n";
	cr_assert_eq(serve_conf_parse(text, "t.conf", &c, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(c.listen, "127.0.0.1:1234");
	cr_assert_eq(c.interval_ns, 2000000000ull);
	cr_assert_eq(c.nq, 2);
	cr_assert_str_eq(c.q[0].name, "a");
	cr_assert_str_eq(c.q[0].sql, "SELECT comm, COUNT(*) AS n FROM system_calls GROUP BY comm");
	cr_assert_eq(c.q[0].max_series, 5);
	cr_assert_eq(c.q[0].plan, SBPF_PLAN_MVSF);
	cr_assert_str_eq(c.q[1].name, "b_2");
	serve_conf_free(&c);

	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "[query 1a]\nsql = x\n", "t.conf:1: bad query name '1a'" },
		{ "[query a]\nsql = x\n[query a]\nsql = y\n", "t.conf:3: query 'a' is defined twice" },
		{ "\ninterval = 0.5us\n", "t.conf:2: bad interval '0.5us'" },
		{ "[query a]\nlisten = x\n", "t.conf:2: unknown setting 'listen' in a query" },
		{ "[query a]\nplan = fast\n", "t.conf:2: unknown plan 'fast'" },
		{ "[query a]\n", "t.conf: query 'a' has no sql setting" },
		{ "[qury a]\n", "t.conf:1: a section is written [query NAME]" },
		{ "oops\n", "t.conf:1: expected 'key = value'" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct serve_conf b = { 0 };
		err[0] = '\0';
		cr_assert_eq(serve_conf_parse(bad[i].text, "t.conf", &b, err, sizeof(err)), -EINVAL, "%s", bad[i].text);
		cr_assert(!strncmp(err, bad[i].msg, strlen(bad[i].msg)), "got '%s', want '%s'", err, bad[i].msg);
		serve_conf_free(&b);
	}
}

/* ---- metrics fed by hand ---- */

static struct sbpf_query *compile(const char *sql)
{
	struct sbpf_diags d = { 0 };
	struct sbpf_query_opts o = { .sz = sizeof(o), .default_window_ns = 1000000000 };
	struct sbpf_query *q;
	cr_assert_eq(sbpf_query__compile(sql, &o, &q, &d), 0);
	sbpf_diags__free(&d);
	return q;
}

static void row(struct serve_metrics *m, const char *comm, int64_t n, int64_t worst, uint64_t b1, uint64_t b2)
{
	struct sbpf_hist_bucket bk[3] = {
		{ .hi = 0, .lo_open = true }, { .lo = 0, .hi = 10, .count = b1 }, { .lo = 10, .hi_open = true, .count = b2 },
	};
	struct sbpf_hist h = { .linear = true, .nbuckets = 3, .buckets = bk, .count = b1 + b2, .has_sum = true,
			       .sum = (int64_t)(5 * b1 + 20 * b2) };
	struct sbpf_value v[4] = {
		{ .kind = SBPF_VALUE_STR, .str = { comm, strlen(comm) } },
		{ .kind = SBPF_VALUE_S64, .s64 = n },
		{ .kind = SBPF_VALUE_DURATION, .s64 = worst },
		{ .kind = SBPF_VALUE_HIST, .hist = &h },
	};
	struct sbpf_row r = { .ncols = 4, .vals = v };
	cr_assert_eq(serve_metrics_row(m, &r), 0);
}

static void window(struct serve_metrics *m)
{
	struct sbpf_window w = { .start_ns = 0, .end_ns = 1000000000, .events = 10 };
	serve_metrics_window(m, &w);
}

static void render_text(void *arg, FILE *f)
{
	serve_metrics_render(arg, f, SERVE_TEXT);
}

Test(serve, counters_gauges_histograms_and_the_limit)
{
	struct sbpf_query *q = compile("SELECT comm, COUNT(*) AS n, MAX(duration) AS worst, LHIST(ret, 0, 10, 10) AS r "
				       "FROM system_calls GROUP BY comm");
	char err[256];
	struct serve_metrics *m = serve_metrics_new("t", q, 2, err, sizeof(err));
	cr_assert_not_null(m, "%s", err);
	row(m, "a\"x", 3, 1500, 2, 1);
	row(m, "b", 1, 7, 0, 1);
	window(m);
	row(m, "a\"x", 4, 2500, 1, 0);
	window(m);
	char *t = capture(render_text, m);
	cr_assert(strstr(t, "# TYPE safebpf_t_n_total counter\n"), "%s", t);
	cr_assert(strstr(t, "safebpf_t_n_total{comm=\"a\\\"x\"} 7\n"), "%s", t);
	cr_assert(strstr(t, "safebpf_t_n_total{comm=\"b\"} 1\n"), "%s", t);
	cr_assert(strstr(t, "# TYPE safebpf_t_worst_seconds gauge\n"), "%s", t);
	cr_assert(strstr(t, "safebpf_t_worst_seconds{comm=\"a\\\"x\"} 0.0000025\n"), "%s", t);
	cr_assert_null(strstr(t, "safebpf_t_worst_seconds{comm=\"b\"}"), "b had no row in the last window: %s", t);
	cr_assert(strstr(t, "safebpf_t_r_bucket{comm=\"a\\\"x\",le=\"9\"} 3\n"), "%s", t);
	cr_assert(strstr(t, "safebpf_t_r_bucket{comm=\"a\\\"x\",le=\"+Inf\"} 4\n"), "%s", t);
	cr_assert(strstr(t, "safebpf_t_r_count{comm=\"a\\\"x\"} 4\n"), "%s", t);
	cr_assert(strstr(t, "safebpf_t_r_sum{comm=\"a\\\"x\"} 35\n"), "%s", t);
	free(t);
	/* A third series: the least recently updated (b) is evicted. */
	row(m, "c", 1, 1, 1, 0);
	window(m);
	struct serve_health h;
	serve_metrics_health(m, &h);
	cr_assert_eq(h.series, 2);
	cr_assert_eq(h.series_evicted, 1);
	cr_assert_eq(h.events, 30);
	t = capture(render_text, m);
	cr_assert_null(strstr(t, "comm=\"b\""), "%s", t);
	cr_assert(strstr(t, "safebpf_t_n_total{comm=\"c\"} 1\n"), "%s", t);
	free(t);
	serve_metrics_free(m);
	sbpf_query__free(q);
}
