/* test_sql_bind.c - the binder against the real catalog: name resolution
 * (aliases, qualifiers, case), types, aggregates and grouping, ORDER BY /
 * HAVING / GROUP BY by alias or position, DISTINCT, JOIN keys, the plan's
 * columns to read, and exact diagnostics for queries the language refuses.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safebpf/diag.h"
#include "safebpf/sql.h"
#include "sql/sqlInt.h"

struct bound {
	struct sql_arena a;    /* everything */
	struct sql_query q;    /* the bound query */
	struct sql_plan p;     /* its plan */
};

static void bind_ok(struct bound *b, const char *text)
{
	struct sbpf_diags d = { 0 };
	struct sql_stmt *st;
	memset(b, 0, sizeof(*b));
	int rc = sql_parse(text, "<t>", &b->a, &st, &d);
	if (!rc)
		rc = sql_bind(st, text, "<t>", &b->a, &b->q, &d);
	if (rc) {
		char *m = sbpf_diags__format(&d);
		cr_log_error("%s", m ? m : "?");
		free(m);
	}
	sbpf_diags__free(&d);
	cr_assert_eq(rc, 0, "bind failed: %s", text);
	cr_assert_eq(sql_plan_build(&b->q, &b->a, &b->p), 0);
}

static void unbind(struct bound *b)
{
	sql_arena_reset(&b->a);
}

static int col(const char *table, const char *name)
{
	return sql_table_column(sql_catalog_find(table), name);
}

Test(sql_bind, paper_query)
{
	struct bound b;
	bind_ok(&b, "SELECT A.pid, A.syscall_number, MAX(A.exit_ts - A.enter_ts) AS latency FROM system_calls AS A "
		    "GROUP BY A.pid, A.syscall_number WINDOW 1sec");
	struct sql_query *q = &b.q;
	cr_expect(q->aggregate);
	cr_expect_eq(q->ntables, 1);
	cr_expect_str_eq(q->tables[0]->name, "system_calls");
	cr_expect_str_eq(q->names[0], "A");
	cr_expect_eq(q->nkeys, 2);
	cr_expect_eq(q->naggs, 1);
	cr_expect_eq(q->aggs[0].kind, SQL_AGG_MAX);
	cr_expect_eq(q->aggs[0].type, SQL_T_DURATION);
	cr_expect_eq(q->aggs[0].arg->type, SQL_T_DURATION);
	cr_expect_eq(q->window_ns, 1000000000ull);
	cr_assert_eq(q->ncols, 3);
	cr_expect_str_eq(q->cols[0].name, "pid");
	cr_expect_str_eq(q->cols[1].name, "syscall_number");
	cr_expect_str_eq(q->cols[2].name, "latency");
	cr_expect_eq(q->cols[0].e->kind, SQL_E_GROUPKEY);
	cr_expect_eq(q->cols[0].e->idx, 0);
	cr_expect_eq(q->cols[1].e->kind, SQL_E_GROUPKEY);
	cr_expect_eq(q->cols[1].e->idx, 1);
	cr_expect_eq(q->cols[2].e->kind, SQL_E_AGGREF);
	cr_expect_eq(q->cols[2].type, SQL_T_DURATION);
	/* The source reads exactly the four columns the query uses. */
	cr_expect_eq(b.p.nneeded[0], 4);
	cr_expect(b.p.needed[0][col("system_calls", "pid")]);
	cr_expect(b.p.needed[0][col("system_calls", "syscall_number")]);
	cr_expect(b.p.needed[0][col("system_calls", "enter_ts")]);
	cr_expect(b.p.needed[0][col("system_calls", "exit_ts")]);
	cr_expect_eq(b.p.root->kind, SQL_N_AGGREGATE);
	cr_expect_eq(b.p.root->in[0]->kind, SQL_N_SCAN);
	cr_expect_eq(b.p.root->place, SQL_PLACE_USER);
	unbind(&b);
}

Test(sql_bind, names_are_case_insensitive_and_aliases_work)
{
	struct bound b;
	bind_ok(&b, "select PID, Latency, COMM from SYSCALLS where Syscall = 0");
	cr_expect_eq(b.q.cols[0].e->col, col("system_calls", "pid"));
	cr_expect_eq(b.q.cols[1].e->col, col("system_calls", "duration"));
	cr_expect_eq(b.q.cols[1].type, SQL_T_DURATION);
	cr_expect_str_eq(b.q.cols[1].name, "Latency");
	cr_expect_eq(b.q.where->a->col, col("system_calls", "syscall_number"));
	cr_expect(!b.q.aggregate);
	cr_expect(sql_query_streaming(&b.q));
	unbind(&b);
}

struct typecase {
	const char *expr;      /* select item over system_calls */
	enum sql_type type;    /* its type */
};

static const struct typecase types[] = {
	{ "exit_ts - enter_ts", SQL_T_DURATION },
	{ "ts + 1ms", SQL_T_TIME },
	{ "ts - 1ms", SQL_T_TIME },
	{ "duration / 2", SQL_T_DURATION },
	{ "2 * duration", SQL_T_DURATION },
	{ "duration / 1ms", SQL_T_INT },
	{ "duration % 1ms", SQL_T_DURATION },
	/* integer types (docs/sql.md): u64 op u64 is u64, a non-negative literal
	 * adopts u64, u64 with s64 is s64 */
	{ "uid + gid", SQL_T_UINT },
	{ "uid - gid", SQL_T_UINT },
	{ "pid + uid", SQL_T_INT },
	{ "arg0 & 0xff", SQL_T_UINT },
	{ "arg0 + -1", SQL_T_INT },
	{ "-arg0", SQL_T_INT },
	{ "-duration", SQL_T_DURATION },
	{ "pid > 1 AND comm = 'x'", SQL_T_BOOL },
	{ "syscall_name(syscall_number)", SQL_T_STR },
	{ "usec(duration)", SQL_T_INT },
	{ "CASE WHEN ret < 0 THEN 'err' END", SQL_T_STR },
	{ "CASE syscall_number WHEN 0 THEN uid ELSE 5 END", SQL_T_UINT },
	{ "CASE syscall_number WHEN 0 THEN uid ELSE -5 END", SQL_T_INT },
	{ "NULL", SQL_T_NULL },
	{ "abs(duration)", SQL_T_DURATION },
};

Test(sql_bind, expression_types)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		char text[256];
		snprintf(text, sizeof(text), "SELECT %s FROM system_calls", types[i].expr);
		struct bound b;
		bind_ok(&b, text);
		cr_expect_eq(b.q.cols[0].type, types[i].type, "%s: type %d", types[i].expr, b.q.cols[0].type);
		unbind(&b);
	}
}

Test(sql_bind, aggregates_are_shared_and_hidden_ones_added)
{
	struct bound b;
	bind_ok(&b, "SELECT comm, COUNT(*) AS n FROM system_calls GROUP BY comm HAVING MAX(duration) > 1ms "
		    "ORDER BY COUNT(*) DESC, n");
	cr_expect_eq(b.q.naggs, 2); /* COUNT(*) once, MAX(duration) hidden */
	cr_expect_eq(b.q.norder, 2);
	cr_expect_eq(b.q.order[0].e->kind, SQL_E_AGGREF);
	cr_expect_eq(b.q.order[0].e->idx, b.q.cols[1].e->idx);
	cr_expect(b.q.order[0].desc);
	cr_expect_eq(b.q.order[1].e->idx, b.q.cols[1].e->idx);
	cr_expect_eq(b.q.having->kind, SQL_E_BINARY);
	cr_expect_eq(b.q.having->a->kind, SQL_E_AGGREF);
	unbind(&b);
}

Test(sql_bind, aliases_in_group_having_order)
{
	struct bound b;
	bind_ok(&b, "SELECT syscall_name(syscall_number) AS name, MAX(duration) AS worst FROM system_calls "
		    "GROUP BY name HAVING worst > 10ms ORDER BY 2 DESC LIMIT 5");
	cr_expect_eq(b.q.nkeys, 1);
	cr_expect_eq(b.q.keys[0]->kind, SQL_E_CALL);
	cr_expect_eq(b.q.cols[0].e->kind, SQL_E_GROUPKEY);
	cr_expect_eq(b.q.having->a->kind, SQL_E_AGGREF);
	cr_expect_eq(b.q.order[0].e->kind, SQL_E_AGGREF);
	cr_expect_eq(b.q.limit, 5);
	unbind(&b);
	/* An input column wins over an alias of the same name in GROUP BY. */
	bind_ok(&b, "SELECT pid AS comm, COUNT(*) FROM system_calls GROUP BY pid");
	cr_expect_eq(b.q.nkeys, 1);
	unbind(&b);
}

Test(sql_bind, distinct_groups_by_every_column)
{
	struct bound b;
	bind_ok(&b, "SELECT DISTINCT comm, pid FROM system_calls");
	cr_expect(b.q.distinct_groups);
	cr_expect(!b.q.aggregate);
	cr_expect_eq(b.q.nkeys, 2);
	cr_expect_eq(b.q.cols[0].e->kind, SQL_E_GROUPKEY);
	cr_expect(sql_query_streaming(&b.q));
	unbind(&b);
}

Test(sql_bind, join_keys_and_star)
{
	struct bound b;
	bind_ok(&b, "SELECT * FROM process_fork AS f JOIN process_exec AS e ON e.pid = f.child_tid AND f.uid = e.uid");
	cr_expect_eq(b.q.ntables, 2);
	cr_expect_eq(b.q.join[0].nkeys, 2);
	cr_expect_eq(b.q.join[0].lkeys[0]->side, 0);
	cr_expect_eq(b.q.join[0].lkeys[0]->col, col("process_fork", "child_tid"));
	cr_expect_eq(b.q.join[0].rkeys[0]->side, 1);
	cr_expect_eq(b.q.join[0].rkeys[0]->col, col("process_exec", "pid"));
	size_t n = sql_catalog_find("process_fork")->ncols + sql_catalog_find("process_exec")->ncols;
	cr_expect_eq(b.q.ncols, n);
	cr_expect_str_eq(b.q.cols[0].name, "f.ts");
	cr_expect_eq(b.p.root->kind, SQL_N_PROJECT);
	cr_expect_eq(b.p.root->in[0]->kind, SQL_N_JOIN);
	unbind(&b);
}

/* A JOIN of three tables: each ON reads the tables joined so far; its keys
 * are kept per step; a table joined twice is one source feeding both sides. */
Test(sql_bind, three_table_join_steps_and_sources)
{
	struct bound b;
	bind_ok(&b, "SELECT a.pid, b.ts - a.ts AS wait, c.ts - b.ts AS run FROM sched_wakeup AS a "
		    "JOIN sched_switch AS b ON b.next_tid = a.target_tid "
		    "LEFT JOIN sched_switch AS c ON c.prev_tid = b.next_tid AND c.cpu = a.cpu + 0 WITHIN 5ms");
	cr_expect_eq(b.q.ntables, 3);
	cr_expect_eq(b.q.nsources, 2);
	cr_expect_eq(b.q.source[0], 0);
	cr_expect_eq(b.q.source[1], 1);
	cr_expect_eq(b.q.source[2], 1, "c reads b's stream");
	cr_expect(b.q.self_join);
	cr_expect(!b.q.join[0].left);
	cr_expect(b.q.join[1].left);
	cr_expect_eq(b.q.join[1].within_ns, 5000000ull);
	cr_expect_eq(b.q.join[0].nkeys, 1);
	cr_expect_eq(b.q.join[1].nkeys, 2);
	cr_expect_eq(b.q.join[1].lkeys[0]->side, 1);
	cr_expect_eq(b.q.join[1].rkeys[0]->side, 2);
	cr_expect_eq(sql_expr_sides(b.q.join[1].lkeys[1]), 1u, "a.cpu + 0 reads a");
	cr_expect_eq(sql_expr_sides(b.q.join[1].rkeys[1]), 4u);
	/* project <- join(c) <- join(b) <- scan a */
	const struct sql_node *j2 = b.p.root->in[0];
	cr_assert_eq(j2->kind, SQL_N_JOIN);
	cr_expect_eq(j2->in[1]->side, 2);
	cr_assert_eq(j2->in[0]->kind, SQL_N_JOIN);
	cr_expect_eq(j2->in[0]->in[0]->side, 0);
	cr_expect_eq(j2->in[0]->in[1]->side, 1);
	cr_expect(b.p.needed[2][col("sched_switch", "ts")], "every side of a join reads ts");
	unbind(&b);
	bind_ok(&b, "SELECT * FROM process_fork AS f JOIN process_exec AS e ON e.pid = f.child_tid "
		    "JOIN process_exit AS x ON x.pid = e.pid");
	cr_expect_eq(b.q.nsources, 3);
	cr_expect(!b.q.self_join);
	size_t n = sql_catalog_find("process_fork")->ncols + sql_catalog_find("process_exec")->ncols +
		   sql_catalog_find("process_exit")->ncols;
	cr_expect_eq(b.q.ncols, n);
	cr_expect_str_eq(b.q.cols[n - 1].name, "x.core_dumped");
	unbind(&b);
}

Test(sql_bind, every_table_binds)
{
	for (size_t i = 0; i < sql_catalog_count(); i++) {
		char text[256];
		struct bound b;
		snprintf(text, sizeof(text), "SELECT * FROM %s", sql_catalog_get(i)->name);
		bind_ok(&b, text);
		size_t nostack = 0; /* SELECT * leaves the stacks out */
		for (size_t c = 0; c < sql_catalog_get(i)->ncols; c++)
			nostack += !sql_column_is_stack(&sql_catalog_get(i)->cols[c]);
		cr_expect_eq(b.q.ncols, nostack);
		cr_expect_eq(b.p.nneeded[0], nostack);
		unbind(&b);
		snprintf(text, sizeof(text), "SELECT COUNT(*) FROM %s WINDOW 1s", sql_catalog_get(i)->name);
		bind_ok(&b, text);
		cr_expect_eq(b.p.nneeded[0], 0);
		unbind(&b);
	}
}

Test(sql_bind, window_allowed_with_order_limit_or_distinct)
{
	static const char *const ok[] = {
		"SELECT pid, duration FROM system_calls WINDOW 1s ORDER BY duration DESC LIMIT 3",
		"SELECT pid FROM system_calls WINDOW 1s LIMIT 3",
		"SELECT DISTINCT comm FROM system_calls WINDOW 1s",
		"SELECT COUNT(*) FROM system_calls WINDOW 1s",
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct bound b;
		bind_ok(&b, ok[i]);
		cr_expect_eq(b.q.window_ns, 1000000000ull);
		unbind(&b);
	}
}

/* ---- diagnostics ---- */

struct badcase {
	const char *query;   /* query text */
	const char *diag;    /* exact formatted diagnostic */
};

static const struct badcase bad[] = {
	{ "SELECT pdi FROM system_calls",
	  "<query>:1:8: error: unknown column 'pdi' in system_calls — did you mean 'pid'?\n"
	  "    1 | SELECT pdi FROM system_calls\n"
	  "      |        ^~~\n"
	  "      = hint: columns of system_calls: ts, cpu, pid, tid, comm, uid, gid, cgroup, syscall_number, enter_ts, exit_ts, duration, ret, arg0, arg1, arg2, ... (5 more; `safebpf tables system_calls`)\n"
	  "" },
	{ "SELECT pid FROM sytem_calls",
	  "<query>:1:17: error: unknown table 'sytem_calls' — did you mean 'system_calls'?\n"
	  "    1 | SELECT pid FROM sytem_calls\n"
	  "      |                 ^~~~~~~~~~~\n"
	  "      = hint: tables: system_calls, sched_switch, sched_wakeup, process_exec, process_exit, process_fork, block_io, tcp_state, page_faults, signals, sched_wakeup_new, exec_calls, file_stats, file_unlinks, file_renames, mounts, tcp_retransmits, cpu_samples, oom_kills, file_opens\n"
	  "" },
	{ "SELECT pid FROM nosuchthing",
	  "<query>:1:17: error: unknown table 'nosuchthing'\n"
	  "    1 | SELECT pid FROM nosuchthing\n"
	  "      |                 ^~~~~~~~~~~\n"
	  "      = hint: tables: system_calls, sched_switch, sched_wakeup, process_exec, process_exit, process_fork, block_io, tcp_state, page_faults, signals, sched_wakeup_new, exec_calls, file_stats, file_unlinks, file_renames, mounts, tcp_retransmits, cpu_samples, oom_kills, file_opens\n"
	  "" },
	{ "SELECT pid FROM system_calls WHERE COUNT(*) > 5",
	  "<query>:1:36: error: aggregate functions are not allowed in WHERE\n"
	  "    1 | SELECT pid FROM system_calls WHERE COUNT(*) > 5\n"
	  "      |                                    ^~~~~~~~\n"
	  "      = hint: filter groups with HAVING, which runs after aggregation\n"
	  "" },
	{ "SELECT pid, comm, COUNT(*) FROM system_calls GROUP BY pid",
	  "<query>:1:13: error: column 'comm' in SELECT is neither grouped nor aggregated\n"
	  "    1 | SELECT pid, comm, COUNT(*) FROM system_calls GROUP BY pid\n"
	  "      |             ^~~~\n"
	  "      = hint: add comm to GROUP BY, or use it inside an aggregate such as COUNT(comm)\n"
	  "" },
	{ "SELECT comm, COUNT(*) FROM system_calls",
	  "<query>:1:8: error: column 'comm' in SELECT is neither grouped nor aggregated\n"
	  "    1 | SELECT comm, COUNT(*) FROM system_calls\n"
	  "      |        ^~~~\n"
	  "      = hint: add GROUP BY comm, or use it inside an aggregate such as MAX(comm)\n"
	  "" },
	{ "SELECT pid FROM system_calls WHERE comm = 5",
	  "<query>:1:36: error: cannot compare a string with a number\n"
	  "    1 | SELECT pid FROM system_calls WHERE comm = 5\n"
	  "      |                                    ^~~~~~~~\n"
	  "      = hint: numbers are not strings; turn a number into a name with a function such as syscall_name(n)\n"
	  "" },
	{ "SELECT pid FROM system_calls WHERE syscall_number = 'read'",
	  "<query>:1:36: error: cannot compare a number with a string\n"
	  "    1 | SELECT pid FROM system_calls WHERE syscall_number = 'read'\n"
	  "      |                                    ^~~~~~~~~~~~~~~~~~~~~~~\n"
	  "      = hint: compare names with names: syscall_name(syscall_number) = 'read'\n"
	  "" },
	{ "SELECT pid FROM system_calls WINDOW 1sec",
	  "<query>:1:30: error: WINDOW needs an aggregate, ORDER BY, LIMIT or DISTINCT\n"
	  "    1 | SELECT pid FROM system_calls WINDOW 1sec\n"
	  "      |                              ^~~~~~~~~~~\n"
	  "      = hint: rows already stream as they happen; add an aggregate such as COUNT(*), or remove WINDOW\n"
	  "" },
	{ "SELECT pid FROM system_calls WINDOW 10s EVERY 1s LIMIT 3",
	  "<query>:1:41: error: EVERY needs an aggregate or ORDER BY (rows of this query stream as they happen)\n"
	  "    1 | SELECT pid FROM system_calls WINDOW 10s EVERY 1s LIMIT 3\n"
	  "      |                                         ^~~~~~~~\n"
	  "      = hint: a sliding window needs an aggregate or ORDER BY: add COUNT(*), or use a tumbling WINDOW\n"
	  "" },
	{ "SELECT coutn(*) FROM system_calls",
	  "<query>:1:8: error: unknown function 'coutn' — did you mean 'count'?\n"
	  "    1 | SELECT coutn(*) FROM system_calls\n"
	  "      |        ^~~~~\n"
	  "      = hint: functions are listed in docs/sql.md\n"
	  "" },
	{ "SELECT frobnicate(pid) FROM system_calls",
	  "<query>:1:8: error: unknown function 'frobnicate'\n"
	  "    1 | SELECT frobnicate(pid) FROM system_calls\n"
	  "      |        ^~~~~~~~~~\n"
	  "      = hint: functions are listed in docs/sql.md\n"
	  "" },
	{ "SELECT a.pid FROM system_calls AS a JOIN process_exec AS b ON a.pid = b.pid WHERE pid = 3",
	  "<query>:1:83: error: column 'pid' is ambiguous: both a and b have it\n"
	  "    1 | SELECT a.pid FROM system_calls AS a JOIN process_exec AS b ON a.pid = b.pid WHERE pid = 3\n"
	  "      |                                                                                   ^~~\n"
	  "      = hint: write a.pid or b.pid\n"
	  "" },
	{ "SELECT pid FROM system_calls HAVING pid > 3",
	  "<query>:1:30: error: HAVING needs GROUP BY or an aggregate\n"
	  "    1 | SELECT pid FROM system_calls HAVING pid > 3\n"
	  "      |                              ^~~~~~\n"
	  "      = hint: filter rows with WHERE\n"
	  "" },
	{ "SELECT pid, HIST(duration) + 1 FROM system_calls GROUP BY pid",
	  "<query>:1:13: error: a histogram can only be selected, not used in an expression\n"
	  "    1 | SELECT pid, HIST(duration) + 1 FROM system_calls GROUP BY pid\n"
	  "      |             ^~~~~~~~~~~~~~\n"
	  "      = hint: select it as its own column: SELECT pid, HIST(latency) ...\n"
	  "" },
	{ "SELECT LHIST(duration, 0, 100, 10) FROM system_calls",
	  "<query>:1:24: error: LHIST min must be a constant duration such as 10us (x is a duration)\n"
	  "    1 | SELECT LHIST(duration, 0, 100, 10) FROM system_calls\n"
	  "      |                        ^\n"
	  "      = hint: LHIST(x, min, max, step) with constant bounds\n"
	  "" },
	{ "SELECT LHIST(ret, 0, 100000, 10) FROM system_calls",
	  "<query>:1:8: error: LHIST would have more than 1000 buckets\n"
	  "    1 | SELECT LHIST(ret, 0, 100000, 10) FROM system_calls\n"
	  "      |        ^~~~~~~~~~~~~~~~~~~~~~~~~\n"
	  "      = hint: use a larger step, or HIST(x) for a log2 histogram\n"
	  "" },
	{ "SELECT LHIST(ret, 10, 0, 1) FROM system_calls",
	  "<query>:1:23: error: LHIST max must be above min\n"
	  "    1 | SELECT LHIST(ret, 10, 0, 1) FROM system_calls\n"
	  "      |                       ^\n"
	  "" },
	{ "SELECT a.pid FROM system_calls AS a JOIN process_exec AS b ON a.pid < b.pid",
	  "<query>:1:63: error: JOIN ... ON only takes equalities between the two tables\n"
	  "    1 | SELECT a.pid FROM system_calls AS a JOIN process_exec AS b ON a.pid < b.pid\n"
	  "      |                                                               ^~~~~~~~~~~~~\n"
	  "      = hint: JOIN ... ON takes equalities such as a.pid = b.pid joined by AND; put other conditions in WHERE\n"
	  "" },
	{ "SELECT a.pid FROM system_calls AS a JOIN process_exec AS b ON a.pid + b.pid = 3",
	  "<query>:1:63: error: each side of a JOIN equality must read exactly one of the two tables\n"
	  "    1 | SELECT a.pid FROM system_calls AS a JOIN process_exec AS b ON a.pid + b.pid = 3\n"
	  "      |                                                               ^~~~~~~~~~~~~~~~~\n"
	  "      = hint: JOIN ... ON takes equalities such as a.pid = b.pid joined by AND; put other conditions in WHERE\n"
	  "" },
	{ "SELECT COUNT(*) FROM system_calls JOIN system_calls ON tid = tid",
	  "<query>:1:40: error: two tables are called 'system_calls'\n"
	  "    1 | SELECT COUNT(*) FROM system_calls JOIN system_calls ON tid = tid\n"
	  "      |                                        ^~~~~~~~~~~~\n"
	  "      = hint: give each table its own alias\n"
	  "" },
	{ "SELECT duration * 2 AS lat FROM system_calls WHERE lat > 1ms",
	  "<query>:1:52: error: unknown column 'lat' in system_calls\n"
	  "    1 | SELECT duration * 2 AS lat FROM system_calls WHERE lat > 1ms\n"
	  "      |                                                    ^~~\n"
	  "      = hint: 'lat' is a name from the SELECT list; WHERE is computed before SELECT, so repeat the expression\n"
	  "" },
	{ "SELECT MAX(MIN(duration)) FROM system_calls",
	  "<query>:1:12: error: aggregates cannot be nested\n"
	  "    1 | SELECT MAX(MIN(duration)) FROM system_calls\n"
	  "      |            ^~~~~~~~~~~~~\n"
	  "      = hint: compute the inner aggregate in a separate query\n"
	  "" },
	{ "SELECT enter_ts + exit_ts FROM system_calls",
	  "<query>:1:8: error: cannot compute time + time\n"
	  "    1 | SELECT enter_ts + exit_ts FROM system_calls\n"
	  "      |        ^~~~~~~~~~~~~~~~~~\n"
	  "      = hint: subtract two times to get a duration: exit_ts - enter_ts\n"
	  "" },
	{ "SELECT SUM(comm) FROM system_calls",
	  "<query>:1:12: error: SUM needs a number or a duration, not a string\n"
	  "    1 | SELECT SUM(comm) FROM system_calls\n"
	  "      |            ^~~~\n"
	  "" },
	{ "SELECT MAX(comm) FROM system_calls",
	  "<query>:1:12: error: MAX needs a number, duration or time, not a string\n"
	  "    1 | SELECT MAX(comm) FROM system_calls\n"
	  "      |            ^~~~\n"
	  "      = hint: group by the string instead: GROUP BY comm\n"
	  "" },
	{ "SELECT pid FROM system_calls WHERE pid LIKE '1%'",
	  "<query>:1:36: error: LIKE needs a string, not a number\n"
	  "    1 | SELECT pid FROM system_calls WHERE pid LIKE '1%'\n"
	  "      |                                    ^~~\n"
	  "      = hint: LIKE matches strings such as comm or a path\n"
	  "" },
	{ "SELECT system_calls.pid FROM system_calls AS A",
	  "<query>:1:8: error: table system_calls is called 'A' in this query\n"
	  "    1 | SELECT system_calls.pid FROM system_calls AS A\n"
	  "      |        ^~~~~~~~~~~~\n"
	  "      = hint: write A.pid\n"
	  "" },
	{ "SELECT B.pid FROM system_calls AS A",
	  "<query>:1:8: error: unknown table or alias 'B' — did you mean 'A'?\n"
	  "    1 | SELECT B.pid FROM system_calls AS A\n"
	  "      |        ^\n"
	  "      = hint: the table of this query is A\n"
	  "" },
	{ "SELECT pid FROM system_calls WHERE duration > 10",
	  "<query>:1:36: error: cannot compare a duration with a number\n"
	  "    1 | SELECT pid FROM system_calls WHERE duration > 10\n"
	  "      |                                    ^~~~~~~~~~~~~\n"
	  "      = hint: write a duration with a unit, such as 10ms, or convert the duration with usec(...)\n"
	  "" },
	{ "SELECT pid FROM system_calls WHERE enter_ts > 10ms",
	  "<query>:1:36: error: cannot compare a time with a duration\n"
	  "    1 | SELECT pid FROM system_calls WHERE enter_ts > 10ms\n"
	  "      |                                    ^~~~~~~~~~~~~~~\n"
	  "      = hint: a time is an instant and a duration a length; subtract two times to get a duration\n"
	  "" },
	{ "SELECT pid FROM system_calls WHERE pid",
	  "<query>:1:36: error: WHERE needs a condition, but this is a number\n"
	  "    1 | SELECT pid FROM system_calls WHERE pid\n"
	  "      |                                    ^~~\n"
	  "      = hint: compare it with something, e.g. x > 0 or name = 'bash'\n"
	  "" },
	{ "SELECT CASE WHEN pid > 1 THEN 'a' ELSE 3 END FROM system_calls",
	  "<query>:1:40: error: CASE branches mix a string and a number\n"
	  "    1 | SELECT CASE WHEN pid > 1 THEN 'a' ELSE 3 END FROM system_calls\n"
	  "      |                                        ^\n"
	  "      = hint: every THEN and ELSE must give the same type\n"
	  "" },
	{ "SELECT pid FROM system_calls WHERE CASE WHEN pid THEN 1 END = 1",
	  "<query>:1:46: error: WHEN needs a condition, but this is a number\n"
	  "    1 | SELECT pid FROM system_calls WHERE CASE WHEN pid THEN 1 END = 1\n"
	  "      |                                              ^~~\n"
	  "      = hint: compare it with something, e.g. x > 0 or name = 'bash'\n"
	  "" },
	{ "SELECT pid FROM system_calls ORDER BY 3",
	  "<query>:1:39: error: ORDER BY position 3 is not in the select list (1..1)\n"
	  "    1 | SELECT pid FROM system_calls ORDER BY 3\n"
	  "      |                                       ^\n"
	  "      = hint: a number here names a column of the select list, counting from 1\n"
	  "" },
	{ "SELECT syscall_name(comm) FROM system_calls",
	  "<query>:1:21: error: syscall_name() needs a number, not a string\n"
	  "    1 | SELECT syscall_name(comm) FROM system_calls\n"
	  "      |                     ^~~~\n"
	  "      = hint: syscall_name(number)\n"
	  "" },
	{ "SELECT substr(comm) FROM system_calls",
	  "<query>:1:8: error: substr() takes 2 to 3 arguments, not 1\n"
	  "    1 | SELECT substr(comm) FROM system_calls\n"
	  "      |        ^~~~~~~~~~~~\n"
	  "      = hint: substr(string, start[, count])\n"
	  "" },
	{ "SELECT coalesce(ret, comm) FROM system_calls",
	  "<query>:1:17: error: coalesce() needs arguments of one type: argument 2 is a string, an earlier one a number "
	  "(convert with str(...) or CAST)\n"
	  "    1 | SELECT coalesce(ret, comm) FROM system_calls\n"
	  "      |                 ^~~\n"
	  "      = hint: coalesce(x, ...)\n"
	  "" },
	{ "SELECT CAST(enter_ts AS INT) FROM system_calls",
	  "<query>:1:13: error: CAST(x AS INT): cannot cast a time to a number (subtract another time, or use nsec(...))\n"
	  "    1 | SELECT CAST(enter_ts AS INT) FROM system_calls\n"
	  "      |             ^~~~~~~~\n"
	  "      = hint: CAST(x AS INT)\n"
	  "" },
	{ "SELECT syscall_name(1, 2) FROM system_calls",
	  "<query>:1:8: error: syscall_name() takes 1 argument, not 2\n"
	  "    1 | SELECT syscall_name(1, 2) FROM system_calls\n"
	  "      |        ^~~~~~~~~~~~~~~~~~\n"
	  "      = hint: syscall_name(number)\n"
	  "" },
	{ "SELECT usec(pid) FROM system_calls",
	  "<query>:1:13: error: usec() needs a duration or a time, not a number (numbers have no unit to convert from)\n"
	  "    1 | SELECT usec(pid) FROM system_calls\n"
	  "      |             ^~~\n"
	  "      = hint: usec(duration)\n"
	  "" },
	{ "SELECT *, COUNT(*) FROM system_calls",
	  "<query>:1:8: error: column 'ts' in SELECT is neither grouped nor aggregated\n"
	  "    1 | SELECT *, COUNT(*) FROM system_calls\n"
	  "      |        ^\n"
	  "      = hint: add GROUP BY ts, or use it inside an aggregate such as MAX(ts)\n"
	  "" },
	{ "SELECT P99(*) FROM system_calls",
	  "<query>:1:12: error: only COUNT accepts *\n"
	  "    1 | SELECT P99(*) FROM system_calls\n"
	  "      |            ^\n"
	  "      = hint: P99(x)\n"
	  "" },
	{ "SELECT pid FROM system_calls WHERE NOT pid",
	  "<query>:1:40: error: NOT needs a condition, not a number\n"
	  "    1 | SELECT pid FROM system_calls WHERE NOT pid\n"
	  "      |                                        ^~~\n"
	  "      = hint: NOT negates a condition, e.g. NOT (pid = 1)\n"
	  "" },
	{ "SELECT pid FROM system_calls GROUP BY COUNT(*)",
	  "<query>:1:39: error: cannot GROUP BY an aggregate\n"
	  "    1 | SELECT pid FROM system_calls GROUP BY COUNT(*)\n"
	  "      |                                       ^~~~~~~~\n"
	  "      = hint: group by columns or expressions over columns\n"
	  "" },
	{ "SELECT COUNT(*) AS n FROM system_calls GROUP BY n",
	  "<query>:1:49: error: cannot GROUP BY an aggregate ('n' is COUNT(*))\n"
	  "    1 | SELECT COUNT(*) AS n FROM system_calls GROUP BY n\n"
	  "      |                                                 ^\n"
	  "      = hint: group by columns or expressions over columns\n"
	  "" },
	{ "SELECT DISTINCT comm FROM system_calls ORDER BY pid",
	  "<query>:1:49: error: with SELECT DISTINCT, ORDER BY can only use selected columns\n"
	  "    1 | SELECT DISTINCT comm FROM system_calls ORDER BY pid\n"
	  "      |                                                 ^~~\n"
	  "      = hint: add it to the select list\n"
	  "" },
	{ "SELECT pid FROM system_calls WHERE pid = 1 AND comm",
	  "<query>:1:48: error: AND needs a condition, but this is a string\n"
	  "    1 | SELECT pid FROM system_calls WHERE pid = 1 AND comm\n"
	  "      |                                                ^~~~\n"
	  "      = hint: compare it with something, e.g. x > 0 or name = 'bash'\n"
	  "" },
	{ "SELECT -comm FROM system_calls",
	  "<query>:1:8: error: cannot negate a string\n"
	  "    1 | SELECT -comm FROM system_calls\n"
	  "      |        ^~~~~\n"
	  "" },
	{ "SELECT pid FROM system_calls WHERE (pid > 1) > (pid < 3)",
	  "<query>:1:36: error: conditions have no order\n"
	  "    1 | SELECT pid FROM system_calls WHERE (pid > 1) > (pid < 3)\n"
	  "      |                                    ^~~~~~~~~~~~~~~~~~~~~\n"
	  "      = hint: conditions can only be tested with = and !=\n"
	  "" },
	{ "SELECT ts - duration * duration FROM system_calls",
	  "<query>:1:13: error: cannot compute duration * duration\n"
	  "    1 | SELECT ts - duration * duration FROM system_calls\n"
	  "      |             ^~~~~~~~~~~~~~~~~~~\n"
	  "      = hint: multiply a duration by a number, e.g. 2 * latency\n"
	  "" },
	{ "SELECT pid FROM system_calls GROUP BY 4",
	  "<query>:1:39: error: GROUP BY position 4 is not in the select list (1..1)\n"
	  "    1 | SELECT pid FROM system_calls GROUP BY 4\n"
	  "      |                                       ^\n"
	  "      = hint: a number here names a column of the select list, counting from 1\n"
	  "" },
	{ "SELECT x.* FROM system_calls AS a",
	  "<query>:1:8: error: unknown table or alias 'x'\n"
	  "    1 | SELECT x.* FROM system_calls AS a\n"
	  "      |        ^\n"
	  "" },
	{ "SELECT pid FROM system_calls AS a JOIN process_exec AS A ON a.pid = A.pid",
	  "<query>:1:56: error: two tables are called 'A'\n"
	  "    1 | SELECT pid FROM system_calls AS a JOIN process_exec AS A ON a.pid = A.pid\n"
	  "      |                                                        ^\n"
	  "      = hint: give each table its own alias\n"
	  "" },
	/* joins of three tables: an ON reads only the tables joined so far; at most three */
	{ "SELECT a.pid FROM sched_wakeup AS a\n"
	  "JOIN sched_switch AS b ON b.next_tid = c.prev_tid\n"
	  "JOIN sched_switch AS c ON c.prev_tid = b.next_tid",
	  "<query>:2:40: error: table c is joined after this ON: it cannot be read here\n"
	  "    2 | JOIN sched_switch AS b ON b.next_tid = c.prev_tid\n"
	  "      |                                        ^\n"
	  "      = hint: the ON of a JOIN reads the tables joined so far; move the condition to the ON of c's JOIN, or to WHERE\n"
	  "" },
	{ "SELECT a.pid FROM process_fork AS a\n"
	  "JOIN process_exit AS b ON b.pid = a.child_tid AND filename = 'x'\n"
	  "JOIN process_exec AS c ON c.pid = b.pid",
	  "<query>:2:51: error: column 'filename' is c's, which is joined after this ON\n"
	  "    2 | JOIN process_exit AS b ON b.pid = a.child_tid AND filename = 'x'\n"
	  "      |                                                   ^~~~~~~~\n"
	  "      = hint: the ON of a JOIN reads the tables joined so far; move the condition to the ON of c's JOIN, or to WHERE\n"
	  "" },
	{ "SELECT comm FROM process_fork AS a\n"
	  "JOIN process_exec AS b ON b.pid = a.child_tid\n"
	  "JOIN process_exit AS c ON c.pid = b.pid",
	  "<query>:1:8: error: column 'comm' is ambiguous: a, b and c have it\n"
	  "    1 | SELECT comm FROM process_fork AS a\n"
	  "      |        ^~~~\n"
	  "      = hint: write a.comm, b.comm or c.comm\n"
	  "" },
	{ "SELECT a.pid FROM process_fork AS a\n"
	  "JOIN process_exec AS b ON b.pid = a.child_tid\n"
	  "JOIN process_exit AS c ON a.pid = b.pid",
	  "<query>:3:27: error: each JOIN equality compares an expression over a and b (joined before) with one over c only\n"
	  "    3 | JOIN process_exit AS c ON a.pid = b.pid\n"
	  "      |                           ^~~~~~~~~~~~~\n"
	  "      = hint: the ON of c's JOIN takes equalities such as b.pid = c.pid joined by AND; put other conditions in WHERE\n"
	  "" },
	{ "SELECT a.pid FROM process_fork AS a\n"
	  "JOIN process_exec AS b ON b.pid = a.child_tid\n"
	  "JOIN process_exit AS c ON c.pid = b.pid\n"
	  "JOIN process_exec AS d ON d.pid = c.pid",
	  "<query>:4:1: error: a query joins at most 3 tables; this is table 4\n"
	  "    4 | JOIN process_exec AS d ON d.pid = c.pid\n"
	  "      | ^~~~\n"
	  "      = hint: join at most three tables per query: run a second query for the fourth table, or keep its condition in WHERE of one of them\n"
	  "" },
	{ "SELECT comm FROM system_calls\n"
	  "WHERE pid > 0\n"
	  "GROUP BY pid",
	  "<query>:1:8: error: column 'comm' in SELECT is neither grouped nor aggregated\n"
	  "    1 | SELECT comm FROM system_calls\n"
	  "      |        ^~~~\n"
	  "      = hint: add comm to GROUP BY, or use it inside an aggregate such as COUNT(comm)\n"
	  "" },
};

Test(sql_bind, bad_queries_exact_messages)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sbpf_diags d = { 0 };
		struct sbpf_query *q = NULL;
		struct sbpf_query_opts o = { .sz = sizeof(o), .file = "<query>" };
		int rc = sbpf_query__compile(bad[i].query, &o, &q, &d);
		cr_assert_eq(rc, -EINVAL, "accepted: %s", bad[i].query);
		cr_assert_eq(d.n, 1, "%zu diagnostics for %s", d.n, bad[i].query);
		char *msg = sbpf_diags__format(&d);
		cr_expect_str_eq(msg, bad[i].diag, "query: %s", bad[i].query);
		free(msg);
		sbpf_diags__free(&d);
	}
}

Test(sql_bind, explain_without_kernel)
{
	struct sbpf_diags d = { 0 };
	struct sbpf_query *q = NULL;
	cr_assert_eq(sbpf_query__compile("SELECT comm, COUNT(*) AS n FROM system_calls WHERE ret < 0 GROUP BY comm "
					 "ORDER BY n DESC LIMIT 3",
					 NULL, &q, &d),
		     0);
	cr_expect_eq(sbpf_query__ncols(q), 2);
	cr_expect_str_eq(sbpf_query__col_name(q, 1), "n");
	char *buf = NULL;
	size_t sz = 0;
	FILE *f = open_memstream(&buf, &sz);
	cr_assert_eq(sbpf_query__explain(q, f, 0, NULL, 0), 0);
	fclose(f);
	cr_expect(strstr(buf, "WHERE system_calls.ret < 0") != NULL, "%s", buf);
	cr_expect(strstr(buf, "limit 3  @user") != NULL, "%s", buf);
	cr_expect(strstr(buf, "order by COUNT(*) DESC  @user") != NULL, "%s", buf);
	cr_expect(strstr(buf, "scan system_calls  reads: comm, ret  @user") != NULL, "%s", buf);
	free(buf);
	sbpf_query__free(q);
	sbpf_diags__free(&d);
}

/* A function of this test binary for the uprobe tables to find. */
__attribute__((noinline, used)) long sbpf_test_probe_target(long a)
{
	return a + 1;
}

/* User functions bind against the ELF symbols of a real file (this test
 * binary and its function above), with the columns of each kind. */
Test(sql_bind, user_function_tables)
{
	char exe[4096], q[5000];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	cr_assert_gt(n, 0);
	exe[n] = '\0';
	struct bound b;
	snprintf(q, sizeof(q), "SELECT arg0, arg5, ustack FROM uprobe('%s', 'sbpf_test_probe_target')", exe);
	bind_ok(&b, q);
	cr_expect_str_eq(b.q.names[0], "sbpf_test_probe_target");
	cr_expect_eq(b.q.tables[0]->nprobes, 1);
	cr_expect_lt(sql_table_column(b.q.tables[0], "retval"), 0);
	unbind(&b);
	snprintf(q, sizeof(q), "SELECT m.retval, m.duration, m.arg1 FROM ufunc('%s', 'sbpf_test_probe_target') AS m", exe);
	bind_ok(&b, q);
	cr_expect_eq(b.q.tables[0]->nprobes, 2);
	cr_expect_neq(b.q.tables[0]->pair, NULL);
	cr_expect_eq(b.q.cols[1].type, SQL_T_DURATION);
	unbind(&b);
	snprintf(q, sizeof(q), "SELECT retval FROM uretprobe('%s', 'sbpf_test_probe_target')", exe);
	bind_ok(&b, q);
	cr_expect_lt(sql_table_column(b.q.tables[0], "arg0"), 0);
	unbind(&b);
}

/* Stack columns are left out of SELECT * and come when named. */
Test(sql_bind, stacks_not_in_star)
{
	struct bound b;
	bind_ok(&b, "SELECT * FROM sched_switch");
	for (size_t i = 0; i < b.q.ncols; i++)
		cr_expect(strcmp(b.q.cols[i].name, "kstack") && strcmp(b.q.cols[i].name, "ustack"), "%s", b.q.cols[i].name);
	unbind(&b);
	bind_ok(&b, "SELECT kstack, ustack, COUNT(*) FROM cpu_samples GROUP BY kstack, ustack");
	cr_expect_eq(b.q.nkeys, 2);
	unbind(&b);
}

/* str(p[, n]) / kstr(p[, n]): a string column derived for the query on its
 * own copy of the table (the cached table is untouched, SELECT * does not
 * show it); str(x) of anything but a user function's register stays the
 * text of the value. */
Test(sql_bind, strings_behind_pointers)
{
	char exe[4096], q[5000];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	cr_assert_gt(n, 0);
	exe[n] = '\0';
	struct bound b;
	snprintf(q, sizeof(q), "SELECT str(m.retval) AS a, str(retval, 8) AS b, kstr(arg1), str(retval), str(pid) "
		 "FROM ufunc('%s', 'sbpf_test_probe_target') AS m", exe);
	bind_ok(&b, q);
	const struct sql_table *t = b.q.tables[0];
	size_t base = t->ncols - 3; /* three distinct calls: str(retval), str(retval, 8), kstr(arg1) */
	cr_expect_str_eq(t->cols[base].name, "str(retval)");
	cr_expect_eq(t->cols[base].src.conv, SQL_CONV_USTR);
	cr_expect_eq(t->cols[base].src.strmax, SQL_STR_DEFAULT + 1);
	cr_expect_str_eq(t->cols[base + 1].name, "str(retval, 8)");
	cr_expect_eq(t->cols[base + 1].src.strmax, 9);
	cr_expect_eq(t->cols[base + 2].src.conv, SQL_CONV_KSTR);
	for (int i = 0; i < 4; i++)
		cr_expect_eq(b.q.cols[i].type, SQL_T_STR);
	cr_expect_eq(b.q.cols[3].e->col, b.q.cols[0].e->col, "str(retval) twice is one column");
	cr_expect_eq(b.q.cols[4].e->kind, SQL_E_CALL, "str(pid) is the text of pid");
	char err[200];
	snprintf(q, sizeof(q), "ufunc:%s:sbpf_test_probe_target", exe);
	const struct sql_table *cached = sql_utable_find(q, err, sizeof(err));
	cr_assert_neq(cached, NULL, "%s", err);
	cr_expect_neq(cached, t);
	cr_expect_lt(sql_table_column(cached, "str(retval)"), 0);
	unbind(&b);
	snprintf(q, sizeof(q), "SELECT *, str(arg0) FROM uprobe('%s', 'sbpf_test_probe_target')", exe);
	bind_ok(&b, q);
	for (size_t i = 0; i + 1 < b.q.ncols; i++)
		cr_expect(strncmp(b.q.cols[i].name, "str(", 4), "%s", b.q.cols[i].name);
	cr_expect_str_eq(b.q.cols[b.q.ncols - 1].name, "str(arg0)");
	unbind(&b);
	bind_ok(&b, "SELECT str(duration), str(pid) FROM system_calls");
	cr_expect_eq(b.q.cols[0].e->kind, SQL_E_CALL);
	unbind(&b);
}
