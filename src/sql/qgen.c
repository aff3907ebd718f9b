/* qgen.c - a grammar-based generator of random valid queries over the
 * tables this kernel provides, for testing the optimizer (`safebpf sqlcheck
 * --generate`): filters of every form the language has (comparisons, IN,
 * BETWEEN, LIKE, IS NULL, NOT, AND/OR, arithmetic, functions), streaming
 * selects, DISTINCT, GROUP BY with every aggregate, HAVING, ORDER BY,
 * LIMIT, WINDOW, and JOINs. Types follow the binder's rules (durations are
 * compared with duration literals, times with times, strings with strings),
 * so every query it writes compiles; a query that does not is a bug here or
 * in the binder.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "safebpf/sql.h"
#include "sql/sqlInt.h"

struct qg {
	uint64_t s;                       /* random state */
	char *buf;                        /* output */
	size_t len, cap;
	bool overflow;                    /* the query did not fit */
	const struct sql_table *t[3];     /* FROM, JOIN, JOIN */
	const char *alias[3];             /* qualifiers (NULL: none) */
	int ntables;
	char scratch[64];                 /* aliases made up */
};

static uint32_t rnd(struct qg *g)
{
	/* xorshift64* */
	g->s ^= g->s >> 12;
	g->s ^= g->s << 25;
	g->s ^= g->s >> 27;
	return (uint32_t)((g->s * 0x2545f4914f6cdd1dull) >> 32);
}

static int pick(struct qg *g, int n)
{
	return n > 0 ? (int)(rnd(g) % (uint32_t)n) : 0;
}

static bool chance(struct qg *g, int percent)
{
	return pick(g, 100) < percent;
}

static void put(struct qg *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct qg *g, const char *fmt, ...)
{
	if (g->overflow)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(g->buf + g->len, g->cap - g->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= g->cap - g->len)
		g->overflow = true;
	else
		g->len += (size_t)n;
}

/* ---- columns ---------------------------------------------------------------- */

enum kind { K_NUM, K_DUR, K_TIME, K_STR, K_BOOL, K__N };

static enum kind kind_of(enum sql_type t)
{
	switch (t) {
	case SQL_T_DURATION: return K_DUR;
	case SQL_T_TIME: return K_TIME;
	case SQL_T_STR: return K_STR;
	case SQL_T_BOOL: return K_BOOL;
	default: return K_NUM;
	}
}

/* A random available column of side @s of kind @k, or -1. */
static int column(struct qg *g, int s, enum kind k)
{
	const struct sql_table *t = g->t[s];
	int cand[64], n = 0;
	char why[128];
	for (size_t c = 0; c < t->ncols && n < 64; c++)
		if (kind_of(t->cols[c].type) == k && !sql_column_is_stack(&t->cols[c]) &&
		    sql_column_available(t, c, why, sizeof(why)))
			cand[n++] = (int)c; /* stacks: names depend on what is still mapped when decoded */
	return n ? cand[pick(g, n)] : -1;
}

static void colref(struct qg *g, int s, int c)
{
	if (g->alias[s])
		put(g, "%s.", g->alias[s]);
	put(g, "%s", g->t[s]->cols[c].name);
}

static const char *const strings[] = { "workload", "bash", "safebpf", "w", "", "sshd", "kworker/0:1" };

static void num_lit(struct qg *g)
{
	static const long long lits[] = { 0, 1, 2, 3, 5, 7, 10, 39, 100, 110, 257, 1000, 65536, -1, -2, 4096 };
	put(g, "%lld", lits[pick(g, (int)(sizeof(lits) / sizeof(lits[0])))]);
}

static void dur_lit(struct qg *g)
{
	static const char *const d[] = { "0ns", "100ns", "1us", "10us", "100us", "1ms", "10ms", "1s" };
	put(g, "%s", d[pick(g, 8)]);
}

static void str_lit(struct qg *g)
{
	put(g, "'%s'", strings[pick(g, (int)(sizeof(strings) / sizeof(strings[0])))]);
}

static const char *cmp_op(struct qg *g)
{
	static const char *const ops[] = { "=", "!=", "<", "<=", ">", ">=" };
	return ops[pick(g, 6)];
}

/* ---- predicates ------------------------------------------------------------ */

/* One test over side @s. */
static void atom(struct qg *g, int s)
{
	for (int tries = 0; tries < 8; tries++) {
		enum kind k = (enum kind)pick(g, K__N);
		if (k == K_TIME) {
			/* times compare with times; a difference is a duration */
			int a = column(g, s, K_TIME), b = column(g, s, K_TIME);
			if (a < 0 || b < 0)
				continue;
			colref(g, s, a);
			if (chance(g, 50)) {
				put(g, " %s ", cmp_op(g));
				colref(g, s, b);
			} else {
				put(g, " - ");
				colref(g, s, b);
				put(g, " %s ", cmp_op(g));
				dur_lit(g);
			}
			return;
		}
		int c = column(g, s, k);
		if (c < 0)
			continue;
		switch (k) {
		case K_NUM:
			switch (pick(g, 8)) {
			case 0:
				colref(g, s, c);
				put(g, " IN (");
				for (int i = 0, n = 1 + pick(g, 4); i < n; i++) {
					put(g, "%s", i ? ", " : "");
					num_lit(g);
				}
				put(g, ")");
				break;
			case 1:
				colref(g, s, c);
				put(g, "%s BETWEEN ", chance(g, 20) ? " NOT" : "");
				num_lit(g);
				put(g, " AND ");
				num_lit(g);
				break;
			case 2:
				colref(g, s, c);
				put(g, " %% %d = %d", 2 + pick(g, 7), pick(g, 2));
				break;
			case 3:
				put(g, "(");
				colref(g, s, c);
				put(g, " & %d) != 0", 1 << pick(g, 8));
				break;
			case 4:
				colref(g, s, c);
				put(g, " + %d %s ", pick(g, 100), cmp_op(g));
				num_lit(g);
				break;
			case 5:
				colref(g, s, c);
				put(g, " IS %sNULL", chance(g, 70) ? "NOT " : "");
				break;
			default:
				colref(g, s, c);
				put(g, " %s ", cmp_op(g));
				num_lit(g);
				break;
			}
			return;
		case K_DUR:
			colref(g, s, c);
			if (chance(g, 25)) {
				put(g, " BETWEEN ");
				dur_lit(g);
				put(g, " AND ");
				dur_lit(g);
			} else {
				put(g, " %s ", cmp_op(g));
				dur_lit(g);
			}
			return;
		case K_STR:
			switch (pick(g, 9)) {
			case 6:
				put(g, "length(");
				colref(g, s, c);
				put(g, ") %s %d", cmp_op(g), pick(g, 12));
				break;
			case 7:
				put(g, "substr(");
				colref(g, s, c);
				put(g, ", %d, 4) = 'work'", chance(g, 70) ? 1 : -4);
				break;
			case 8:
				colref(g, s, c);
				put(g, " || 'x' LIKE '%s%%'", chance(g, 60) ? "work" : strings[pick(g, 4)]);
				break;
			case 0:
				colref(g, s, c);
				put(g, " IN (");
				str_lit(g);
				put(g, ", ");
				str_lit(g);
				put(g, ")");
				break;
			case 1:
				colref(g, s, c);
				put(g, " %sLIKE '%s%%'", chance(g, 20) ? "NOT " : "",
				    chance(g, 60) ? "work" : strings[pick(g, 4)]);
				break;
			case 2:
				colref(g, s, c);
				put(g, " LIKE '%%load'");
				break;
			case 3:
				put(g, "lower(");
				colref(g, s, c);
				put(g, ") = 'workload'");
				break;
			default:
				colref(g, s, c);
				put(g, " %s ", chance(g, 70) ? "=" : "!=");
				str_lit(g);
				break;
			}
			return;
		case K_BOOL:
			if (chance(g, 30))
				put(g, "NOT ");
			colref(g, s, c);
			if (chance(g, 30))
				put(g, " = %s", chance(g, 50) ? "TRUE" : "FALSE");
			return;
		default:
			break;
		}
	}
	put(g, "1 = 1");
}

static void pred(struct qg *g, int s, int depth)
{
	int r = depth > 2 ? 0 : pick(g, 10);
	if (r < 5) {
		atom(g, s);
	} else if (r < 8) {
		pred(g, s, depth + 1);
		put(g, " AND ");
		pred(g, s, depth + 1);
	} else if (r < 9) {
		put(g, "(");
		pred(g, s, depth + 1);
		put(g, " OR ");
		pred(g, s, depth + 1);
		put(g, ")");
	} else {
		put(g, "NOT (");
		pred(g, s, depth + 1);
		put(g, ")");
	}
}

/* ---- select lists -------------------------------------------------------- */

static void expr_item(struct qg *g, int s)
{
	enum kind k = (enum kind)pick(g, K__N);
	int c = column(g, s, k);
	if (c < 0 && (c = column(g, s, K_NUM)) < 0) {
		put(g, "1");
		return;
	}
	k = kind_of(g->t[s]->cols[c].type);
	switch (pick(g, 6)) {
	case 0:
		if (k == K_NUM) {
			colref(g, s, c);
			put(g, " * 2 + 1");
			return;
		}
		break;
	case 1:
		if (k == K_DUR || k == K_TIME) {
			put(g, "usec(");
			colref(g, s, c);
			put(g, ")");
			return;
		}
		if (k == K_NUM) {
			put(g, "hex(");
			colref(g, s, c);
			put(g, ")");
			return;
		}
		break;
	case 2:
		put(g, "str(");
		colref(g, s, c);
		put(g, ")");
		return;
	default:
		break;
	}
	colref(g, s, c);
}

static void alias(struct qg *g, const char *base, int i)
{
	put(g, " AS %s%d", base, i);
}

/* An aggregate over side @s, written with its alias. Returns whether it
 * is a histogram (which can be selected only, not sorted on). */
static bool aggregate(struct qg *g, int s, int i)
{
	int c;
	bool hist = false;
	switch (pick(g, 10)) {
	case 0:
		put(g, "COUNT(*)");
		break;
	case 1:
		if ((c = column(g, s, chance(g, 50) ? K_NUM : K_STR)) < 0)
			put(g, "COUNT(*)");
		else {
			put(g, chance(g, 30) ? "COUNT(DISTINCT " : "COUNT(");
			colref(g, s, c);
			put(g, ")");
		}
		break;
	case 2: case 3: case 4: {
		static const char *const f[] = { "SUM", "AVG", "MIN", "MAX" };
		const char *fn = f[pick(g, 4)];
		bool time_ok = fn[1] == 'I' || fn[1] == 'A'; /* MIN, MAX */
		enum kind k = chance(g, 50) ? K_NUM : chance(g, 70) || !time_ok ? K_DUR : K_TIME;
		if ((c = column(g, s, k)) < 0 && (c = column(g, s, K_NUM)) < 0) {
			put(g, "COUNT(*)");
			break;
		}
		put(g, "%s(", fn);
		colref(g, s, c);
		put(g, ")");
		break;
	}
	case 5:
		if ((c = column(g, s, chance(g, 50) ? K_DUR : K_NUM)) < 0) {
			put(g, "COUNT(*)");
			break;
		}
		put(g, "HIST(");
		colref(g, s, c);
		put(g, ")");
		hist = true;
		break;
	case 6:
		hist = true;
		if ((c = column(g, s, K_DUR)) >= 0) {
			put(g, "LHIST(");
			colref(g, s, c);
			put(g, ", 0us, 1ms, 100us)");
		} else if ((c = column(g, s, K_NUM)) >= 0) {
			put(g, "LHIST(");
			colref(g, s, c);
			put(g, ", 0, 1000, %d)", chance(g, 50) ? 100 : 250);
		} else {
			hist = false;
			put(g, "COUNT(*)");
		}
		break;
	case 7:
		if ((c = column(g, s, chance(g, 50) ? K_DUR : K_NUM)) < 0) {
			put(g, "COUNT(*)");
			break;
		}
		static const char *const qf[] = { "P50(", "P99(", "P999(", "PERCENTILE(" };
		int which = pick(g, 4);
		put(g, "%s", qf[which]);
		colref(g, s, c);
		put(g, which == 3 ? ", 99.99)" : ")");
		break;
	default:
		if ((c = column(g, s, K_NUM)) < 0) {
			put(g, "COUNT(*)");
			break;
		}
		put(g, "SUM(");
		colref(g, s, c);
		put(g, " %% 10)");
		break;
	}
	alias(g, "a", i);
	return hist;
}

/* A group key over side @s: a column, or a function of one. */
static void group_key(struct qg *g, int s)
{
	int c;
	if (g->t[s] == sql_catalog_find("system_calls") && chance(g, 30)) {
		put(g, "syscall_name(");
		colref(g, s, sql_table_column(g->t[s], "syscall_number"));
		put(g, ")");
		return;
	}
	if ((c = column(g, s, chance(g, 40) ? K_STR : chance(g, 80) ? K_NUM : K_BOOL)) < 0 &&
	    (c = column(g, s, K_NUM)) < 0) {
		put(g, "cpu");
		return;
	}
	if (kind_of(g->t[s]->cols[c].type) == K_NUM && chance(g, 20)) {
		colref(g, s, c);
		put(g, " %% 4");
		return;
	}
	colref(g, s, c);
}

/* ---- whole queries ----------------------------------------------------------- */

/* Generic tracepoint tables the generator also reads (kernel-version-
 * specific: those missing here are skipped). */
static const char *const generic_tables[] = {
	"syscalls.sys_enter_getppid", "raw_syscalls.sys_exit", "signal.signal_generate",
	"sched.sched_process_fork", "sched.sched_switch", "syscalls.sys_enter_openat",
};
#define NGENERIC (sizeof(generic_tables) / sizeof(generic_tables[0]))

static const struct sql_table *avail[64];   /* tables this kernel provides */
static size_t navail, ngeneric;             /* catalog ones first, then generic ones */
static pthread_once_t avail_once = PTHREAD_ONCE_INIT;

/* Availability does not change while a process runs: looked up once. */
static void find_available(void)
{
	char why[300];
	for (size_t i = 0; i < sql_catalog_count() && navail < 48; i++)
		if (sql_table_available(sql_catalog_get(i), why, sizeof(why)) &&
		    sql_probe_kind(sql_catalog_get(i)->probes[0].tp) != SQL_PROBE_CPU_CLOCK)
			avail[navail++] = sql_catalog_get(i); /* sampling: each plan samples other instants */
	for (size_t i = 0; i < NGENERIC; i++) {
		const struct sql_table *t = sql_tptable_find(generic_tables[i], why, sizeof(why));
		if (t && navail + ngeneric < 64)
			avail[navail + ngeneric++] = t;
	}
}

static bool is_available(const struct sql_table *t)
{
	pthread_once(&avail_once, find_available);
	for (size_t i = 0; t && i < navail + ngeneric; i++)
		if (avail[i] == t)
			return true;
	return false;
}

static const struct sql_table *random_table(struct qg *g)
{
	pthread_once(&avail_once, find_available);
	if (ngeneric && chance(g, 10))
		return avail[navail + (size_t)pick(g, (int)ngeneric)];
	return navail ? avail[pick(g, (int)navail)] : sql_catalog_find("system_calls");
}

/* WINDOW: tumbling, or sliding over a minute (longer than any generated
 * run, so each result covers the run so far: comparable across plans). */
static void window_clause(struct qg *g, bool sliding_ok)
{
	if (!chance(g, 20))
		return;
	if (sliding_ok && chance(g, 30))
		put(g, " WINDOW 1m EVERY %s", chance(g, 50) ? "100ms" : "250ms");
	else
		put(g, " WINDOW %s", chance(g, 50) ? "100ms" : "1s");
}

static void gen_select(struct qg *g)
{
	put(g, "SELECT %s", chance(g, 10) ? "DISTINCT " : "");
	int n = 1 + pick(g, 4);
	for (int i = 0; i < n; i++) {
		put(g, "%s", i ? ", " : "");
		expr_item(g, 0);
		alias(g, "c", i);
	}
	put(g, " FROM %s", g->t[0]->name);
	if (chance(g, 75)) {
		put(g, " WHERE ");
		pred(g, 0, 0);
	}
	/* a streaming select takes a window only with ORDER BY or LIMIT */
	bool order = chance(g, 25), limit = chance(g, 20);
	if (order || limit)
		window_clause(g, order);
	if (order)
		put(g, " ORDER BY c%d%s", pick(g, n), chance(g, 50) ? " DESC" : "");
	if (limit)
		put(g, " LIMIT %d", 1 + pick(g, 20));
}

static void gen_aggregate(struct qg *g)
{
	int nk = pick(g, 3), na = 1 + pick(g, 3);
	put(g, "SELECT ");
	/* keys appear in the select list and in GROUP BY, in the same words */
	size_t key_at[2], key_len[2];
	for (int i = 0; i < nk; i++) {
		put(g, "%s", i ? ", " : "");
		key_at[i] = g->len;
		group_key(g, 0);
		key_len[i] = g->len - key_at[i];
		alias(g, "k", i);
	}
	int sortable[3], ns = 0;
	for (int i = 0; i < na; i++) {
		put(g, "%s", nk || i ? ", " : "");
		if (!aggregate(g, 0, i))
			sortable[ns++] = i;
	}
	put(g, " FROM %s", g->t[0]->name);
	if (chance(g, 70)) {
		put(g, " WHERE ");
		pred(g, 0, 0);
	}
	if (nk) {
		put(g, " GROUP BY ");
		for (int i = 0; i < nk && !g->overflow; i++) {
			char key[256];
			snprintf(key, sizeof(key), "%.*s", (int)key_len[i], g->buf + key_at[i]);
			put(g, "%s%s", i ? ", " : "", key);
		}
	}
	if (chance(g, 20))
		put(g, " HAVING COUNT(*) > %d", pick(g, 3));
	window_clause(g, true);
	if (chance(g, 30) && (nk || ns)) {
		bool by_key = nk && (!ns || chance(g, 50));
		put(g, " ORDER BY %s%d%s", by_key ? "k" : "a", by_key ? pick(g, nk) : sortable[pick(g, ns)],
		    chance(g, 50) ? " DESC" : "");
	}
	if (chance(g, 15))
		put(g, " LIMIT %d", 1 + pick(g, 10));
}

/* JOINs between tables whose events pair up; together they take every
 * table, so that joins are tested on each table's sources. Sometimes a
 * third table joins the second one's rows where the pairs chain (the
 * second table of one pair is the first of another). */
static void gen_join(struct qg *g)
{
	static const struct {
		const char *l, *r, *lk, *rk;
	} joins[] = {
		{ "process_fork", "process_exit", "child_tid", "tid" },
		{ "system_calls", "file_opens", "tid", "tid" },
		{ "sched_wakeup", "sched_switch", "target_tid", "next_tid" },
		{ "process_exec", "process_exit", "pid", "pid" },
		{ "signals", "process_exit", "target_tid", "tid" },
		{ "process_exit", "sched_switch", "tid", "prev_tid" },
		{ "system_calls", "page_faults", "tid", "tid" },
		{ "system_calls", "signals", "tid", "tid" },
		{ "process_fork", "tcp_state", "child_tid", "pid" },
		{ "file_opens", "block_io", "pid", "pid" },
		{ "process_exec", "page_faults", "pid", "pid" },
		{ "process_fork", "file_opens", "child_tid", "tid" },
		{ "process_fork", "sched_wakeup_new", "child_tid", "target_tid" },
		{ "exec_calls", "process_exec", "pid", "pid" },
		{ "file_opens", "file_stats", "tid", "tid" },
		{ "file_unlinks", "file_renames", "tid", "tid" },
		{ "system_calls", "mounts", "tid", "tid" },
		{ "tcp_state", "tcp_retransmits", "skaddr", "skaddr" },
		{ "oom_kills", "process_exit", "target_tid", "tid" },
		{ "syscalls.sys_enter_getppid", "system_calls", "tid", "tid" },
	};
	int j = pick(g, (int)(sizeof(joins) / sizeof(joins[0])));
	g->t[0] = sql_catalog_find(joins[j].l);
	g->t[1] = sql_catalog_find(joins[j].r);
	if (!is_available(g->t[0]) || !is_available(g->t[1])) {
		g->ntables = 1;
		g->t[0] = sql_catalog_find("system_calls");
		gen_select(g);
		return;
	}
	g->ntables = 2;
	g->alias[0] = "L";
	g->alias[1] = "R";
	bool agg = chance(g, 40);
	/* LEFT JOIN: unmatched left rows after a wait (NULL right columns) */
	const char *jk = chance(g, 25) ? "LEFT JOIN" : "JOIN", *within = jk[0] == 'L' ? " WITHIN 50ms" : "";
	/* a third table: " JOIN t AS T ON R.k = T.k" */
	char third[160] = "";
	int next[sizeof(joins) / sizeof(joins[0])], nnext = 0;
	for (size_t i = 0; i < sizeof(joins) / sizeof(joins[0]); i++)
		if (!strcmp(joins[i].l, joins[j].r) && is_available(sql_catalog_find(joins[i].r)))
			next[nnext++] = (int)i;
	if (nnext && chance(g, 35)) {
		int k = next[pick(g, nnext)];
		snprintf(third, sizeof(third), " %s %s AS T ON R.%s = T.%s%s", chance(g, 25) ? "LEFT JOIN" : "JOIN",
			 joins[k].r, joins[k].lk, joins[k].rk, chance(g, 50) ? " WITHIN 50ms" : "");
		if (!strstr(third, "LEFT") && strstr(third, "WITHIN"))
			*strstr(third, " WITHIN") = '\0'; /* WITHIN bounds a LEFT JOIN only */
	}
	put(g, "SELECT ");
	if (agg) {
		int c = column(g, 0, K_STR);
		if (c >= 0) {
			colref(g, 0, c);
			put(g, " AS k0, ");
		}
		put(g, "COUNT(*) AS a0");
		put(g, " FROM %s AS L %s %s AS R ON L.%s = R.%s%s%s", joins[j].l, jk, joins[j].r, joins[j].lk,
		    joins[j].rk, within, third);
		if (chance(g, 50)) {
			put(g, " WHERE ");
			pred(g, pick(g, 2), 1);
		}
		if (c >= 0) {
			put(g, " GROUP BY ");
			colref(g, 0, c);
		}
		return;
	}
	int n = 1 + pick(g, 3);
	for (int i = 0; i < n; i++) {
		put(g, "%s", i ? ", " : "");
		expr_item(g, pick(g, 2));
		alias(g, "c", i);
	}
	put(g, " FROM %s AS L %s %s AS R ON L.%s = R.%s%s%s", joins[j].l, jk, joins[j].r, joins[j].lk, joins[j].rk,
	    within, third);
	if (chance(g, 60)) {
		put(g, " WHERE ");
		pred(g, pick(g, 2), 1);
	}
}

int sbpf_query_random(uint64_t seed, char *buf, size_t bufsz)
{
	struct qg g = { .s = seed * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull, .buf = buf, .cap = bufsz };
	if (!bufsz)
		return -ENOSPC;
	buf[0] = '\0';
	for (int i = 0; i < 4; i++)
		rnd(&g);
	int r = pick(&g, 100);
	if (r < 20) {
		gen_join(&g);
	} else {
		g.ntables = 1;
		g.t[0] = random_table(&g);
		if (r < 55)
			gen_select(&g);
		else
			gen_aggregate(&g);
	}
	return g.overflow ? -ENOSPC : (int)g.len;
}
