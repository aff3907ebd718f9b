/* test_sql_rows.c - typed rows and machine formats (rows.c):
 *   - the JSON integer rule: magnitudes up to 2^53 bare, beyond as strings;
 *   - RFC 3339 timestamps with nanoseconds;
 *   - column metadata: keys, aggregates, expressions, histogram kind;
 *   - on the live kernel (skipped without privileges): a query run with a
 *     row callback over a child making exactly 300 getppid calls gives
 *     typed values: the count as s64, the name as a string with length,
 *     a histogram whose bucket counts add up, and window reports.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "safebpf/kernel.h"
#include "safebpf/sql.h"
#include "sql/sqlInt.h"

Test(rows, json_integers_beyond_2_53_are_strings)
{
	char b[64];
	sql_json_u64(9007199254740992ull, b, sizeof(b));
	cr_assert_str_eq(b, "9007199254740992");
	sql_json_u64(9007199254740993ull, b, sizeof(b));
	cr_assert_str_eq(b, "\"9007199254740993\"");
	sql_json_u64(UINT64_MAX, b, sizeof(b));
	cr_assert_str_eq(b, "\"18446744073709551615\"");
	sql_json_s64(-9007199254740992ll, b, sizeof(b));
	cr_assert_str_eq(b, "-9007199254740992");
	sql_json_s64(-9007199254740993ll, b, sizeof(b));
	cr_assert_str_eq(b, "\"-9007199254740993\"");
	sql_json_s64(INT64_MIN, b, sizeof(b));
	cr_assert_str_eq(b, "\"-9223372036854775808\"");
	sql_json_s64(0, b, sizeof(b));
	cr_assert_str_eq(b, "0");
}

Test(rows, rfc3339_with_nanoseconds)
{
	char b[64];
	sql_fmt_rfc3339(1796646110123456789ull, b, sizeof(b));
	cr_assert_str_eq(b, "2026-12-07T12:21:50.123456789Z");
	sql_fmt_rfc3339(5, b, sizeof(b));
	cr_assert_str_eq(b, "1970-01-01T00:00:00.000000005Z");
}

static struct sbpf_query *compile(const char *sql, uint64_t window)
{
	struct sbpf_diags d = { 0 };
	struct sbpf_query_opts o = { .sz = sizeof(o), .default_window_ns = window };
	struct sbpf_query *q = NULL;
	int rc = sbpf_query__compile(sql, &o, &q, &d);
	cr_assert_eq(rc, 0, "compile %s: %s", sql, d.n ? d.items[0].message : "?");
	sbpf_diags__free(&d);
	return q;
}

Test(rows, column_roles_and_kinds)
{
	struct sbpf_query *q = compile("SELECT comm, syscall_number + 1 AS nr, COUNT(*) AS n, SUM(duration) AS t, "
				       "MAX(ret) AS m, P99(duration) AS p, HIST(duration) AS h, "
				       "LHIST(ret, 0, 10, 1) AS l, COUNT(*) * 2 AS twice "
				       "FROM system_calls GROUP BY comm, nr", 0);
	static const struct {
		enum sbpf_col_role role;
		enum sbpf_value_kind kind;
	} want[] = {
		{ SBPF_COL_KEY, SBPF_VALUE_STR },        { SBPF_COL_KEY, SBPF_VALUE_S64 },
		{ SBPF_COL_COUNT, SBPF_VALUE_S64 },      { SBPF_COL_SUM, SBPF_VALUE_DURATION },
		{ SBPF_COL_MAX, SBPF_VALUE_S64 },        { SBPF_COL_QUANTILE, SBPF_VALUE_DURATION },
		{ SBPF_COL_HIST, SBPF_VALUE_HIST },      { SBPF_COL_LHIST, SBPF_VALUE_HIST },
		{ SBPF_COL_EXPR, SBPF_VALUE_S64 },
	};
	cr_assert_eq(sbpf_query__ncols(q), 9);
	cr_assert(sbpf_query__aggregate(q));
	cr_assert_eq(sbpf_query__window_ns(q), 0);
	for (size_t i = 0; i < 9; i++) {
		struct sbpf_col_info ci = { .sz = sizeof(ci) };
		cr_assert_eq(sbpf_query__col_info(q, i, &ci), 0);
		cr_assert_eq(ci.role, want[i].role, "column %zu (%s): role %d", i, ci.name, ci.role);
		cr_assert_eq(ci.kind, want[i].kind, "column %zu (%s): kind %s", i, ci.name,
			     sbpf_value_kind_name(ci.kind));
	}
	struct sbpf_col_info ci = { .sz = sizeof(ci) };
	cr_assert_eq(sbpf_query__col_info(q, 5, &ci), 0);
	cr_assert_eq(ci.permille, 990);
	cr_assert_eq(ci.ppm, 990000);
	cr_assert_eq(sbpf_query__col_info(q, 9, &ci), -EINVAL);
	/* A caller built before ppm existed: nothing past its struct is written. */
	union {
		struct sbpf_col_info ci;
		unsigned char bytes[sizeof(struct sbpf_col_info)];
	} old;
	memset(&old, 0xa5, sizeof(old));
	old.ci.sz = offsetof(struct sbpf_col_info, ppm);
	cr_assert_eq(sbpf_query__col_info(q, 5, &old.ci), 0);
	cr_assert_eq(old.ci.permille, 990);
	for (size_t b = offsetof(struct sbpf_col_info, ppm); b < sizeof(old); b++)
		cr_assert_eq(old.bytes[b], 0xa5, "byte %zu past the caller's struct was written", b);
	sbpf_query__free(q);

	/* default_window_ns gives an aggregate query its window, not a row query. */
	q = compile("SELECT COUNT(*) FROM system_calls", 250000000);
	cr_assert_eq(sbpf_query__window_ns(q), 250000000);
	sbpf_query__free(q);
	q = compile("SELECT COUNT(*) FROM system_calls WINDOW 2s", 250000000);
	cr_assert_eq(sbpf_query__window_ns(q), 2000000000ull);
	sbpf_query__free(q);
	q = compile("SELECT pid FROM system_calls", 250000000);
	cr_assert_eq(sbpf_query__window_ns(q), 0);
	cr_assert_not(sbpf_query__aggregate(q));
	struct sbpf_col_info vi = { .sz = sizeof(vi) };
	cr_assert_eq(sbpf_query__col_info(q, 0, &vi), 0);
	cr_assert_eq(vi.role, SBPF_COL_VALUE);
	sbpf_query__free(q);
}

/* ---- live kernel ---- */

struct seen {
	int rows, windows, last;     /* callbacks */
	int64_t count;               /* n of the getppid row */
	uint64_t hist_total, bucket_sum; /* histogram of that row */
	size_t name_len;             /* length of the name */
	bool hist_kind;              /* value kinds as expected */
	int go;                      /* pipe releasing the child */
	pid_t child;                 /* the workload */
	bool reaped;                 /* it exited and was reaped */
};

static bool child_gone(void *ctx)
{
	struct seen *s = ctx;
	if (!s->reaped && waitpid(s->child, NULL, WNOHANG) == s->child)
		s->reaped = true;
	return s->reaped;
}

static int on_row(void *ctx, const struct sbpf_row *row)
{
	struct seen *s = ctx;
	s->rows++;
	cr_assert_eq(row->ncols, 3);
	const struct sbpf_value *v = row->vals;
	cr_assert_eq(v[0].kind, SBPF_VALUE_STR);
	cr_assert_eq(strlen(v[0].str.ptr), v[0].str.len);
	if (strcmp(v[0].str.ptr, "getppid"))
		return 0;
	cr_assert_eq(v[1].kind, SBPF_VALUE_S64);
	s->count += v[1].s64;
	s->name_len = v[0].str.len;
	s->hist_kind = v[2].kind == SBPF_VALUE_HIST && !v[2].hist->linear && v[2].hist->duration;
	s->hist_total += v[2].hist->count;
	for (size_t i = 0; i < v[2].hist->nbuckets; i++)
		s->bucket_sum += v[2].hist->buckets[i].count;
	cr_assert(v[2].hist->buckets[0].lo_open);
	return 0;
}

static int on_window(void *ctx, const struct sbpf_window *w)
{
	struct seen *s = ctx;
	s->windows++;
	s->last += w->last;
	cr_assert_leq(w->start_ns, w->end_ns);
	return 0;
}

static int release(void *ctx)
{
	struct seen *s = ctx;
	return write(s->go, "g", 1) == 1 ? 0 : -1;
}

Test(rows, row_callback_on_the_live_kernel, .timeout = 60)
{
	char why[256];
	if (sbpf_kernel_check_privileges(why, sizeof(why))) {
		cr_skip_test("needs the kernel: %s", why);
	}
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		char c;
		close(fds[1]);
		if (read(fds[0], &c, 1) != 1)
			_exit(1);
		for (int i = 0; i < 300; i++)
			syscall(SYS_getppid);
		_exit(0);
	}
	close(fds[0]);
	struct sbpf_query *q = compile("SELECT syscall_name(syscall_number) AS name, COUNT(*) AS n, "
				       "HIST(duration) AS lat FROM system_calls GROUP BY name", 100000000);
	struct seen s = { .go = fds[1] };
	s.child = pid;
	/* The run ends once the child has exited; its events are read first. */
	struct sbpf_query_run_opts ro = {
		.sz = sizeof(ro), .pid = pid, .attached = release, .should_stop = child_gone, .row = on_row,
		.window = on_window, .ctx = &s,
	};
	char err[256] = "";
	int rc = sbpf_query__run(q, &ro, err, sizeof(err));
	close(fds[1]);
	if (!s.reaped)
		waitpid(pid, NULL, 0);
	cr_assert_eq(rc, 0, "run: %s", err);
	cr_assert_eq(s.count, 300, "getppid count %lld", (long long)s.count);
	cr_assert(s.hist_kind);
	cr_assert_eq(s.hist_total, 300);
	cr_assert_eq(s.bucket_sum, 300);
	cr_assert_eq(s.name_len, 7);
	cr_assert_geq(s.windows, 1, "windows %d", s.windows); /* the run may fit in one window */
	cr_assert_eq(s.last, 1);
	sbpf_query__free(q);
}
