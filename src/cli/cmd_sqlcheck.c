/* cmd_sqlcheck.c - `safebpf sqlcheck`: differential and random testing of
 * the optimizer on the live kernel (developer command, used by make test).
 *
 * Each query is compiled under up to three plan strategies (default: mvsf,
 * auto and kernel-max) and all run at the same time, in threads, tracing
 * one workload command (-c: it and its descendants; "p:" before a query:
 * -p, its first process only): the workload is started blocked on a pipe,
 * every run attaches, then it is released. After it exits, sqlcheck runs
 * once on every CPU (so that the last context switch of an exiting task is
 * in the buffers) and the runs read what is left and end. Every run
 * therefore sees the same events, and its results (CSV rows, compared as
 * multisets with the window column dropped; sqlcheck_rows.c) must equal
 * those of the first plan, or differ by no more rows, in each direction,
 * than the two runs reported lost events. Reported evictions do not excuse
 * a difference (pairing replacements lose no row and happen in every plan).
 *
 * Directives before a query ("WORD: QUERY", combinable):
 *   merge:, merge-max:, merge-min:  the last column summed (maximum,
 *       minimum) per key over windows (windows close on each run's own
 *       clock: an event at a boundary may count in either neighbour);
 *   merge=OPS:  one letter per column, k key, s sum, x max, n min, d left
 *       out (only keys left: the distinct keys are compared);
 *   cols=OPS:   k kept, d left out (with any comparison);
 *   distinct:   distinct rows (DISTINCT per window);
 *   count:      the number of rows only;
 *   p:          trace the workload's first process only (-p), not its children;
 *   known: / known(OWNER):  a known bug: a difference is reported as
 *       "known" and does not fail the check (the integrator removes the
 *       mark when the fix lands).
 *
 * With --generate N, the queries come from the grammar-based generator
 * (sbpf_query_random), one in three traced with -p; each must compile and
 * run, and its results are compared as far as they are determined by the
 * events: windows merged when every column merges, LIMIT by row count,
 * columns showing times left out (each tracer reads the clock itself), not
 * at all when times filter or group the rows (a time compared with itself
 * excepted).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli/sqlcheck.h"
#include "safebpf/sql.h"

/* The hostile default: processes and threads on both CPUs, block I/O with
 * fsync (interrupt completions, journal kworkers), loopback TCP with data
 * (softirq), cross-CPU wakeups, signals, page faults, exec, and events
 * flowing across window boundaries for 150 ms. (The high-rate phase,
 * --spin-ms, is for runs of one query at a time: with parallel checks, the
 * MVSF plans, which filter processes in user space, would see every other
 * check's events.) */
#define DEFAULT_WORKLOAD "build/e2e/workload --getppid 200 --open /etc/hostname 5 --open /nonexistent 2 " \
			 "--fork 2 --write-null 20 --procs 2 --getppid 50 --open /etc/hostname 2 --fsync /tmp 2 " \
			 "--threads 2 --getppid 30 --pingpong 20 --signal 2 --faults 8 --end --tcp-data 10 --end " \
			 "--exec 1 --tcp 2 --threads 2 --paced 150 20 --end --sleep-ms 5 --getppid 100"

static void usage(FILE *f)
{
	fputs("usage: safebpf sqlcheck [options] FILE | --generate N\n"
	      "Differential testing of the optimizer: every query runs under each plan at once\n"
	      "on one shared workload, and the results must be equal (or differ by no more rows\n"
	      "than the runs reported lost events).\n\n"
	      "  FILE              queries, one per line ('#' starts a comment), each optionally\n"
	      "                    after directives \"WORD: \": merge, merge-max, merge-min (the last\n"
	      "                    column summed, maximum, minimum per key over windows), merge=OPS\n"
	      "                    (per column: k key, s sum, x max, n min, d left out), cols=OPS\n"
	      "                    (k kept, d left out), distinct, count (row count only),\n"
	      "                    p (trace the workload's first process\n"
	      "                    only, -p),\n"
	      "                    known or known(OWNER) (a known bug: a difference does not fail)\n"
	      "  --generate N      N random valid queries (grammar-based) instead of FILE: each must\n"
	      "                    compile, pass the verifier (after the optimizer's fallbacks) and run\n"
	      "  --seed S          seed of the first generated query (default 1)\n"
	      "  --plans A[,B[,C]] strategies to run (auto, mvsf, kernel-max; default\n"
	      "                    mvsf,auto,kernel-max); the first is the reference\n"
	      "  --workload CMD    the traced command (split into words; default: a hostile mix of\n"
	      "                    processes, threads, block I/O, TCP, wakeups, events across windows)\n"
	      "  -j, --jobs N      check N queries at a time, each on its own workload (default 1;\n"
	      "                    detaching waits for the kernel, so this is faster even on 2 CPUs)\n"
	      "  --known WORD=OWNER generated queries containing WORD (\" JOIN \", a table name) are\n"
	      "                    marked known(OWNER): a difference does not fail (repeatable)\n"
	      "  --compare A B     no run: compare CSV files A (the reference) and B by the rule\n"
	      "                    above; --mode WORDS the directives (\"merge=ks\"), --lost N[,N] the\n"
	      "                    events each reported lost; exit 0 when equal (within the loss)\n"
	      "  --print           print every query\n"
	      "  -v, --verbose     print every result of a mismatch\n"
	      "  -h, --help        this help\n\n"
	      "Ends with \"sqlcheck: N passed, N failed, N known\". Needs CAP_BPF and CAP_PERFMON.\n",
	      f);
}

/* ---- running queries on one shared workload --------------------------------- */

struct shared {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int attached;        /* runs with every program attached */
	int finished;        /* runs returned */
	bool go;             /* workload released */
	bool stop;           /* workload done: runs end */
};

struct run {
	struct shared *sh;
	struct sbpf_query *q;
	int pid;             /* workload */
	bool follow;         /* also its descendants (-c), else -p */
	char *out, *log;     /* CSV rows, loss summary */
	size_t outlen, loglen;
	int rc;
	char err[512];
	pthread_t th;
};

static int on_attached(void *ctx)
{
	struct run *r = ctx;
	struct shared *sh = r->sh;
	pthread_mutex_lock(&sh->mu);
	sh->attached++;
	pthread_cond_broadcast(&sh->cv);
	while (!sh->go && !sh->stop)
		pthread_cond_wait(&sh->cv, &sh->mu);
	int rc = sh->go ? 0 : 1;
	pthread_mutex_unlock(&sh->mu);
	return rc;
}

static bool on_should_stop(void *ctx)
{
	struct run *r = ctx;
	pthread_mutex_lock(&r->sh->mu);
	bool s = r->sh->stop;
	pthread_mutex_unlock(&r->sh->mu);
	return s;
}

static void *run_main(void *arg)
{
	struct run *r = arg;
	FILE *out = open_memstream(&r->out, &r->outlen), *log = open_memstream(&r->log, &r->loglen);
	if (!out || !log) {
		r->rc = -ENOMEM;
	} else {
		struct sbpf_query_run_opts ro = { .sz = sizeof(ro), .format = SBPF_QUERY_CSV, .out = out, .log = log,
						  .pid = r->pid, .follow_forks = r->follow, .attached = on_attached,
						  .should_stop = on_should_stop, .ctx = r };
		r->rc = sbpf_query__run(r->q, &ro, r->err, sizeof(r->err));
	}
	if (out)
		fclose(out);
	if (log)
		fclose(log);
	pthread_mutex_lock(&r->sh->mu);
	r->sh->finished++;
	pthread_cond_broadcast(&r->sh->cv);
	pthread_mutex_unlock(&r->sh->mu);
	return NULL;
}

/* Starts @argv blocked in read() on a pipe; *@go releases it. */
static pid_t spawn_blocked(char **argv, int *go)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC))
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		/* Other threads may fork too: keep only our end of our pipe, so
		 * that no sibling holds its release pipe open, and die with us. */
		char c;
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (p[0] != 3 && (dup2(p[0], 3) < 0 || close(p[0])))
			_exit(126);
		close_range(4, ~0u, 0);
		if (read(3, &c, 1) != 1)
			_exit(126);
		close(3);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[0]);
	*go = p[1];
	/* Wait until it sleeps in read(): from then on it makes no system
	 * call until released, so every run sees the same events. */
	char path[64], buf[64];
	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	for (int i = 0; i < 2000; i++) {
		FILE *f = fopen(path, "r");
		bool blocked = f && fgets(buf, sizeof(buf), f) && !strncmp(buf, "0 ", 2);
		if (f)
			fclose(f);
		if (blocked)
			break;
		usleep(1000);
	}
	return pid;
}

static void wait_runs(struct shared *sh, int n)
{
	pthread_mutex_lock(&sh->mu);
	while (sh->attached + sh->finished < n)
		pthread_cond_wait(&sh->cv, &sh->mu);
	pthread_mutex_unlock(&sh->mu);
}

/* Runs this thread once on every CPU. Called after the workload was
 * reaped: an exiting task's last context switch (sched_switch, prev_state
 * X) may still be to come on its CPU; once this thread ran there, it is in
 * every run's buffer (the kernel does not preempt the few steps between
 * the exit notification and that switch). */
static void visit_cpus(void)
{
	cpu_set_t old, one;
	if (sched_getaffinity(0, sizeof(old), &old))
		return;
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &old))
			continue;
		CPU_ZERO(&one);
		CPU_SET(c, &one);
		if (!sched_setaffinity(0, sizeof(one), &one))
			sched_yield();
	}
	sched_setaffinity(0, sizeof(old), &old);
}

/* Runs @runs[0..n) at once on the workload. */
static void run_together(struct run *runs, int n, char **workload, bool follow)
{
	struct shared sh = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };
	int go = -1;
	pid_t pid = spawn_blocked(workload, &go);
	for (int i = 0; i < n; i++) {
		runs[i].sh = &sh;
		runs[i].pid = pid > 0 ? (int)pid : 0;
		runs[i].follow = follow;
		if (pid <= 0 || pthread_create(&runs[i].th, NULL, run_main, &runs[i])) {
			runs[i].rc = -EAGAIN;
			snprintf(runs[i].err, sizeof(runs[i].err), "cannot start");
			runs[i].th = 0;
			pthread_mutex_lock(&sh.mu);
			sh.finished++;
			pthread_mutex_unlock(&sh.mu);
		}
	}
	wait_runs(&sh, n);
	if (go >= 0) {
		if (write(go, "g", 1) != 1) {
			/* the workload is gone; waitpid reports it */
		}
		close(go);
	}
	pthread_mutex_lock(&sh.mu);
	sh.go = true;
	pthread_cond_broadcast(&sh.cv);
	pthread_mutex_unlock(&sh.mu);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	visit_cpus();
	pthread_mutex_lock(&sh.mu);
	sh.stop = true;
	pthread_cond_broadcast(&sh.cv);
	pthread_mutex_unlock(&sh.mu);
	for (int i = 0; i < n; i++)
		if (runs[i].th)
			pthread_join(runs[i].th, NULL);
}

/* ---- checking one query ------------------------------------------------------ */

static pthread_mutex_t print_mu = PTHREAD_MUTEX_INITIALIZER; /* output and stats of parallel checks */

struct stats {
	int passed, failed;
	int known;               /* differences of queries marked known (not failures) */
	int known_ok;            /* queries marked known that passed */
	int compared;            /* queries whose results were compared */
	int exact;               /* of those, with no loss reported by any run */
	int excused;             /* of those, differing within the reported loss */
	long long lost;          /* events reported lost, every run */
	int pid_only;            /* queries traced with -p */
	int kernel;              /* runs (not the reference) that chose an in-kernel plan */
	int fallbacks;           /* candidates loaded but not usable before the chosen one */
	int rejected;            /* of those, refused by the verifier */
	int user_rejections;     /* runs that failed with a verifier rejection */
	int compile_errors;      /* queries that did not compile */
};

struct item {
	char *sql;               /* the query */
	char *label;             /* "file:line" or "seed N" */
	struct sqlc_mode mode;   /* comparison */
	bool pid_only;           /* -p: the workload's first process only */
	char *known;             /* owner of a known bug ("" for none named), or NULL */
};

struct job {
	struct item *items;      /* every query */
	size_t n, cap;
	size_t next;             /* next to check */
	unsigned long long gen_seed; /* next generated query */
	long gen_left;           /* generated queries still to make */
	pthread_mutex_t mu;      /* guards next, gen_seed, gen_left */
	const enum sbpf_plan_strategy *plans;
	int nplans;
	char **wl;               /* workload argv */
	const char *known_words[8], *known_owners[8]; /* --known WORD=OWNER */
	int nknown;
	bool print, verbose;
	struct stats st;         /* guarded by print_mu */
};

static const char *plan_name(enum sbpf_plan_strategy p)
{
	return p == SBPF_PLAN_MVSF ? "mvsf" : p == SBPF_PLAN_KERNEL_MAX ? "kernel-max" : "auto";
}

static char **split_words(const char *s)
{
	size_t cap = 8, n = 0;
	char **v = calloc(cap, sizeof(*v));
	char *copy = strdup(s);
	for (char *save = NULL, *w = copy ? strtok_r(copy, " \t", &save) : NULL; v && w;
	     w = strtok_r(NULL, " \t", &save)) {
		if (n + 2 > cap) {
			char **nv = realloc(v, (cap *= 2) * sizeof(*v));
			if (!nv)
				break;
			v = nv;
		}
		v[n++] = strdup(w);
		v[n] = NULL;
	}
	free(copy);
	return v;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Parses the directives before a query ("WORD: "). Returns the query, or
 * NULL with a message in @why. */
static char *directives(char *q, struct item *it, char *why, size_t whysz)
{
	for (;;) {
		size_t w = strcspn(q, ": \t(");
		if (q[w] == '(') /* known(OWNER): */
			w += strcspn(q + w, ")") + (q[w + strcspn(q + w, ")")] ? 1 : 0);
		if (q[w] != ':' || !w || !strncmp(q, "SELECT", 6))
			return q;
		char word[64];
		snprintf(word, sizeof(word), "%.*s", (int)w, q);
		if (!strcmp(word, "merge") || !strcmp(word, "merge-max") || !strcmp(word, "merge-min")) {
			it->mode.cmp = SQLC_MERGE;
			it->mode.ops[0] = '\0';
			it->mode.last = word[5] ? (word[7] == 'a' ? 'x' : 'n') : 's';
		} else if (!strncmp(word, "merge=", 6) && strlen(word + 6) <= SQLC_MAX_COLS &&
			   strspn(word + 6, "ksxnd") == strlen(word + 6)) {
			it->mode.cmp = SQLC_MERGE;
			memcpy(it->mode.ops, word + 6, strlen(word + 6) + 1);
		} else if (!strncmp(word, "cols=", 5) && strlen(word + 5) <= SQLC_MAX_COLS &&
			   strspn(word + 5, "kd") == strlen(word + 5)) {
			memcpy(it->mode.ops, word + 5, strlen(word + 5) + 1);
		} else if (!strcmp(word, "distinct")) {
			it->mode.cmp = SQLC_DISTINCT;
		} else if (!strcmp(word, "count")) {
			it->mode.cmp = SQLC_COUNT;
		} else if (!strcmp(word, "p")) {
			it->pid_only = true;
		} else if (!strcmp(word, "known")) {
			it->known = "";
		} else if (!strncmp(word, "known(", 6) && word[w - 1] == ')') {
			static __thread char owner[64];
			snprintf(owner, sizeof(owner), "%.*s", (int)(w - 7), word + 6);
			it->known = owner;
		} else {
			snprintf(why, whysz, "unknown directive \"%s:\"", word);
			return NULL;
		}
		q += w + 1;
		q += strspn(q, " \t");
	}
}

/* The comparison rule: output @x (of plan @xname, @lost_x events reported
 * lost) against the reference @ref (@refname, @lost_ref). Returns 0 when
 * equal, 1 when they differ by no more rows in each direction than the
 * events the two runs reported lost, -1 otherwise (why in @why). */
static int judge(const char *ref, const char *x, const struct sqlc_mode *m, long long lost_ref, long long lost_x,
		 const char *refname, const char *xname, char *why, size_t whysz)
{
	size_t only_ref = 0, only_x = 0, rows_ref = 0;
	long long allow = lost_ref + lost_x;
	if (!sqlc_compare(ref, x, m, &only_ref, &only_x, &rows_ref)) {
		snprintf(why, whysz, "%s: the column headers differ from %s's", xname, refname);
		return -1;
	}
	if ((long long)only_ref > allow || (long long)only_x > allow) {
		snprintf(why, whysz,
			 "results differ: %s lacks %zu of %s's %zu rows and has %zu others; %lld events reported lost "
			 "(%s %lld, %s %lld)",
			 xname, only_ref, refname, rows_ref, only_x, allow, refname, lost_ref, xname, lost_x);
		return -1;
	}
	return only_ref || only_x ? 1 : 0;
}

/* `sqlcheck --compare A B`: the comparison rule on two CSV files, for
 * testing it. @mode: directives as in a query file ("merge=ks"). */
static int compare_files(const char *a, const char *b, const char *mode, long long lost_a, long long lost_b)
{
	struct item it = { .mode = { .cmp = SQLC_ROWS } };
	char text[128], why[700];
	snprintf(text, sizeof(text), "%s%sSELECT", mode ? mode : "", mode ? ": " : "");
	if (!directives(text, &it, why, sizeof(why))) {
		fprintf(stderr, "safebpf: --mode: %s\n", why);
		return EXIT_USAGE;
	}
	size_t la, lb;
	char *ta = cli_read_file(a, &la), *tb = ta ? cli_read_file(b, &lb) : NULL;
	if (!ta || !tb) {
		free(ta);
		return EXIT_USAGE;
	}
	int v = judge(ta, tb, &it.mode, lost_a, lost_b, a, b, why, sizeof(why));
	if (v < 0)
		printf("differ: %s\n", why);
	else
		printf("%s\n", v ? "equal within the reported loss" : "equal");
	free(ta);
	free(tb);
	return v < 0 ? EXIT_FAIL : EXIT_OK;
}

/* Compiles, runs and compares one query: every plan's result against the
 * first plan's, allowing as many differing rows (each way) as the two runs
 * reported lost events. */
static void check_query(const struct item *it, struct job *j)
{
	const enum sbpf_plan_strategy *plans = j->plans;
	int nplans = j->nplans;
	struct stats *st = &j->st;
	struct run runs[3];
	memset(runs, 0, sizeof(runs));
	double t0 = now_s();
	for (int i = 0; i < nplans; i++) {
		struct sbpf_diags d = { 0 };
		struct sbpf_query_opts qo = { .sz = sizeof(qo), .file = it->label, .plan = plans[i] };
		if (sbpf_query__compile(it->sql, &qo, &runs[i].q, &d)) {
			char *msg = sbpf_diags__format(&d);
			pthread_mutex_lock(&print_mu);
			printf("FAIL %s: does not compile\n  %s\n%s", it->label, it->sql, msg ? msg : "");
			st->failed++;
			st->compile_errors++;
			pthread_mutex_unlock(&print_mu);
			free(msg);
			sbpf_diags__free(&d);
			for (int k = 0; k < i; k++)
				sbpf_query__free(runs[k].q);
			return;
		}
		sbpf_diags__free(&d);
	}
	if (j->print) {
		pthread_mutex_lock(&print_mu);
		printf("     %s: %s%s\n", it->label, it->pid_only ? "p: " : "", it->sql);
		pthread_mutex_unlock(&print_mu);
	}
	run_together(runs, nplans, j->wl, !it->pid_only);
	pthread_mutex_lock(&print_mu);
	bool ok = true, compared = false, excused = false;
	char why[700] = "";
	long long lost[3] = { 0, 0, 0 }, total_lost = 0;
	for (int i = 0; i < nplans && ok; i++) {
		if (runs[i].rc) {
			ok = false;
			snprintf(why, sizeof(why), "%s run failed: %s", plan_name(plans[i]), runs[i].err);
			if (strstr(runs[i].err, "verifier") || strstr(runs[i].err, "refused"))
				st->user_rejections++;
		} else if ((lost[i] = sqlc_lost(runs[i].log)) < 0) {
			ok = false;
			snprintf(why, sizeof(why), "%s run printed no summary", plan_name(plans[i]));
		} else {
			total_lost += lost[i];
		}
	}
	size_t nrows = 0;
	if (ok) {
		size_t n;
		char **v = sqlc_rows(runs[0].out ? runs[0].out : "", &(struct sqlc_mode){ .cmp = SQLC_ROWS }, &n);
		nrows = n ? n - 1 : 0;
		sqlc_rows_free(v, n);
	}
	for (int i = 1; ok && i < nplans && it->mode.cmp != SQLC_NONE; i++) {
		compared = true;
		int v = judge(runs[0].out, runs[i].out, &it->mode, lost[0], lost[i], plan_name(plans[0]),
			      plan_name(plans[i]), why, sizeof(why));
		ok = v >= 0;
		excused |= v > 0;
	}
	if (compared) {
		st->compared++;
		st->exact += total_lost == 0;
		st->excused += ok && excused;
	}
	st->lost += total_lost;
	st->pid_only += it->pid_only;
	char plansum[600] = "";
	size_t pl = 0;
	for (int i = 1; i < nplans; i++) {
		struct sbpf_query_plan_info pi;
		sbpf_query__plan_info(runs[i].q, &pi);
		st->kernel += pi.kernel;
		st->fallbacks += pi.tried > 1 ? pi.tried - 1 : 0;
		st->rejected += pi.rejected;
		if (pl < sizeof(plansum))
			pl += (size_t)snprintf(plansum + pl, sizeof(plansum) - pl, "%s%s #%d/%d %s", i > 1 ? " | " : "",
					       i > 1 ? plan_name(plans[i]) : "plan", pi.chosen, pi.ncands,
					       pi.placement ? pi.placement : "-");
	}
	double dt = now_s() - t0;
	const char *mode = it->pid_only ? " [-p]" : "";
	if (ok) {
		st->passed++;
		st->known_ok += it->known != NULL;
		printf("ok   %s%s: %zu rows%s, %s (%.2fs)%s%s\n", it->label, mode, nrows,
		       !compared ? "" : excused ? " equal within the reported loss" : " equal", plansum, dt,
		       total_lost ? " [events lost]" : "", it->known ? " [known issue did not show]" : "");
	} else if (it->known) {
		st->known++;
		printf("KNOWN %s%s (%s): %s\n  %s\n", it->label, mode, *it->known ? it->known : "known bug", why,
		       it->sql);
	} else {
		st->failed++;
		printf("FAIL %s%s: %s\n  %s\n", it->label, mode, why, it->sql);
	}
	if (!ok && j->verbose)
		for (int i = 0; i < nplans; i++)
			printf("  --- %s ---\n%s%s", plan_name(plans[i]), runs[i].out ? runs[i].out : "",
			       runs[i].log ? runs[i].log : "");
	fflush(stdout);
	pthread_mutex_unlock(&print_mu);
	for (int i = 0; i < nplans; i++) {
		free(runs[i].out);
		free(runs[i].log);
		sbpf_query__free(runs[i].q);
	}
}

/* ---- what a generated query can be compared on ----------------------------- */

/* Whether @q reads a time or duration column: each tracer reads the clock
 * itself, so such values differ by nanoseconds between two runs. */
static bool mentions_time(const char *q)
{
	/* the schema's time and duration columns: ts, *_ts, duration,
	 * *latency (latency, wakeup_latency) */
	static const char *const suffixes[] = { "_ts", "duration", "latency" };
	for (const char *p = q; *p;) {
		size_t n = strcspn(p, " ,()=<>!+-*/%&|.'");
		if (n == 2 && !strncmp(p, "ts", 2))
			return true;
		for (size_t i = 0; n && i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
			size_t l = strlen(suffixes[i]);
			if (n >= l && !strncmp(p + n - l, suffixes[i], l))
				return true;
		}
		p += n ? n : 1;
	}
	return false;
}

/* Replaces, in @s, each comparison or difference of a column with itself
 * ("ts - ts", "L.ts >= L.ts") by "0 = 0": its value is the same in every
 * run even for a time column. */
static void strip_self_terms(char *s)
{
	static const char *const ops[] = { " - ", " = ", " != ", " <= ", " >= ", " < ", " > " };
	for (char *p = s; *p; p++) {
		if (p != s && (isalnum((unsigned char)p[-1]) || p[-1] == '_' || p[-1] == '.'))
			continue;
		size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyzLR._");
		if (!n)
			continue;
		for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
			size_t ol = strlen(ops[i]);
			char *q = p + n;
			if (strncmp(q, ops[i], ol) || strncmp(q + ol, p, n) ||
			    isalnum((unsigned char)q[ol + n]) || q[ol + n] == '_' || q[ol + n] == '.')
				continue;
			/* blank the operands: "ts - ts" -> "0 - 0" padded with spaces */
			memset(p, ' ', n);
			p[0] = '0';
			memset(q + ol, ' ', n);
			q[ol] = '0';
			break;
		}
	}
}

/* The ops of a generated query's select list (keys "AS kN", aggregates
 * "AS aN", expressions "AS cN"): 'd' for a column showing a time value,
 * 'k' for a key or an expression, 's', 'x', 'n' for COUNT or SUM, MAX,
 * MIN, '?' for an aggregate that does not merge over windows (AVG,
 * quantiles, histograms, COUNT(DISTINCT x)). A @sliding window (the
 * generator's are longer than a run, so each result covers the run so far)
 * merges COUNT by its maximum and SUM not at all. False when the list
 * cannot be read. */
static bool item_ops(const char *q, char *ops, size_t cap, bool sliding)
{
	const char *p = q + strlen("SELECT "), *end = strstr(q, " FROM ");
	size_t n = 0;
	if (!strncmp(p, "DISTINCT ", 9))
		p += 9;
	if (!end)
		return false;
	while (p < end) {
		/* one item: up to ", " at depth 0 outside quotes */
		const char *s = p;
		int depth = 0;
		bool quoted = false;
		for (; p < end; p++) {
			if (*p == '\'')
				quoted = !quoted;
			else if (!quoted && *p == '(')
				depth++;
			else if (!quoted && *p == ')')
				depth--;
			else if (!quoted && !depth && *p == ',')
				break;
		}
		const char *as = NULL;
		for (const char *x = s; x + 4 <= p; x++)
			if (!strncmp(x, " AS ", 4))
				as = x;
		if (!as || n + 1 >= cap)
			return false;
		char expr[1024];
		snprintf(expr, sizeof(expr), "%.*s", (int)(as - s), s);
		char op;
		if (mentions_time(expr))
			op = 'd';
		else if (as[4] != 'a')
			op = 'k';
		else if (!strncmp(s, "COUNT(DISTINCT ", 15))
			op = '?'; /* a value seen in two windows counts in both */
		else if (sliding && !strncmp(s, "COUNT(", 6))
			op = 'x'; /* windows longer than the run: counts only grow */
		else if (sliding && !strncmp(s, "SUM(", 4))
			op = '?'; /* a sum of signed values can also shrink */
		else if (!strncmp(s, "COUNT(", 6) || (!strncmp(s, "SUM(", 4)))
			op = 's';
		else if (!strncmp(s, "MIN(", 4))
			op = 'n';
		else if (!strncmp(s, "MAX(", 4))
			op = 'x';
		else
			op = '?';
		ops[n++] = op;
		if (p < end)
			p += 2; /* ", " */
	}
	ops[n] = '\0';
	return n > 0;
}

/* How a generated query's results are compared: as far as the events
 * determine them. Columns showing time values are left out (each tracer
 * reads the clock itself); a query that filters, groups or orders with a
 * limit on time values is not compared at all. */
static struct sqlc_mode generated_mode(const char *q)
{
	struct sqlc_mode m = { .cmp = SQLC_ROWS };
	const char *from = strstr(q, " FROM ");
	bool limit = strstr(q, " LIMIT "), window = strstr(q, " WINDOW "), having = strstr(q, " HAVING ");
	bool aggregated = strstr(q, " AS a0"), distinct = !strncmp(q, "SELECT DISTINCT ", 16);
	char ops[SQLC_MAX_COLS + 1], rest[2048];
	snprintf(rest, sizeof(rest), "%s", from ? from : "");
	strip_self_terms(rest);
	bool sliding = window && strstr(q, " EVERY ");
	if (!from || mentions_time(rest) || !item_ops(q, ops, sizeof(ops), sliding) ||
	    (distinct && strchr(ops, 'd'))) {
		m.cmp = SQLC_NONE;
		return m;
	}
	for (char *o = ops; *o; o++)
		if (*o == '?' && !window)
			*o = 'k'; /* without windows every aggregate is exact */
	memcpy(m.ops, ops, strlen(ops) + 1);
	if (!window)
		m.cmp = limit ? SQLC_COUNT : SQLC_ROWS;   /* LIMIT n: min(n, rows) rows */
	else if (limit || (aggregated && having) || strchr(ops, '?'))
		m.cmp = SQLC_NONE;                        /* per window: depends on the boundaries */
	else if (!aggregated && sliding)
		m.cmp = SQLC_NONE;                        /* a row is in every window of its step */
	else if (!aggregated)
		m.cmp = distinct ? SQLC_DISTINCT : SQLC_ROWS;
	else
		m.cmp = SQLC_MERGE;
	return m;
}

static int parse_plans(const char *s, enum sbpf_plan_strategy *plans, int *n)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", s);
	*n = 0;
	for (char *save = NULL, *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		if (*n == 3 || sbpf_plan_strategy_parse(w, &plans[*n]))
			return -EINVAL;
		(*n)++;
	}
	return *n ? 0 : -EINVAL;
}

/* ---- the query list, checked by a pool of workers ---- */

static int add_item(struct job *j, const struct item *it)
{
	if (j->n == j->cap) {
		size_t ncap = j->cap ? j->cap * 2 : 64;
		struct item *ni = realloc(j->items, ncap * sizeof(*ni));
		if (!ni)
			return -ENOMEM;
		j->items = ni;
		j->cap = ncap;
	}
	struct item *d = &j->items[j->n++];
	*d = *it;
	d->sql = strdup(it->sql);
	d->label = strdup(it->label);
	d->known = it->known ? strdup(it->known) : NULL;
	return d->sql && d->label ? 0 : -ENOMEM;
}

static int read_queries(struct job *j, const char *file)
{
	FILE *f = fopen(file, "r");
	if (!f) {
		fprintf(stderr, "safebpf: cannot read %s: %s\n", file, strerror(errno));
		return EXIT_USAGE;
	}
	char line[4096];
	int lineno = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		line[strcspn(line, "\n")] = '\0';
		char *q = line + strspn(line, " \t"), why[128];
		if (!*q || *q == '#')
			continue;
		struct item it = { .mode = { .cmp = SQLC_ROWS } };
		char label[300];
		snprintf(label, sizeof(label), "%s:%d", file, lineno);
		if (!(q = directives(q, &it, why, sizeof(why)))) {
			fprintf(stderr, "safebpf: %s: %s\n", label, why);
			fclose(f);
			return EXIT_USAGE;
		}
		it.sql = q;
		it.label = label;
		if (add_item(j, &it)) {
			fclose(f);
			return EXIT_FAIL;
		}
	}
	fclose(f);
	return 0;
}

/* Generated query @s as an item (its strings malloc'ed). Returns 0, or -1
 * (reported) when the generator overflowed. Called under the job's lock:
 * the generator reads the catalog's tracefs formats. */
static int generated_item(struct job *j, unsigned long long s, struct item *it)
{
	char q[2048], label[64];
	snprintf(label, sizeof(label), "seed %llu", s);
	if (sbpf_query_random(s, q, sizeof(q)) < 0) {
		pthread_mutex_lock(&print_mu);
		printf("FAIL %s: generator overflow\n", label);
		j->st.failed++;
		pthread_mutex_unlock(&print_mu);
		return -1;
	}
	/* one query in three traced with -p (the first process only) */
	*it = (struct item){ .sql = strdup(q), .label = strdup(label), .mode = generated_mode(q), .pid_only = s % 3 == 0 };
	for (int k = 0; k < j->nknown && !it->known; k++)
		if (strstr(q, j->known_words[k]))
			it->known = strdup(j->known_owners[k]);
	return it->sql && it->label ? 0 : -1;
}

/* Checks queries until none is left: the file's, or generated ones, made
 * one at a time as workers ask (generating all first would keep every
 * worker waiting). */
static void *worker(void *arg)
{
	struct job *j = arg;
	for (;;) {
		struct item gen, *it = NULL;
		pthread_mutex_lock(&j->mu);
		if (j->next < j->n) {
			it = &j->items[j->next++];
		} else {
			while (j->gen_left > 0 && !it) {
				j->gen_left--;
				if (!generated_item(j, j->gen_seed++, &gen))
					it = &gen;
			}
		}
		pthread_mutex_unlock(&j->mu);
		if (!it)
			return NULL;
		check_query(it, j);
		if (it == &gen) {
			free(gen.sql);
			free(gen.label);
			free(gen.known);
		}
	}
}

int cmd_sqlcheck(int argc, char **argv)
{
	const char *file = NULL, *workload = DEFAULT_WORKLOAD, *cmp_b = NULL, *cmp_mode = NULL;
	long long cmp_lost[2] = { 0, 0 };
	long generate = 0;
	unsigned long long seed = 1;
	bool print = false, verbose = false;
	int jobs = 1;
	struct job job = { .mu = PTHREAD_MUTEX_INITIALIZER };
	enum sbpf_plan_strategy plans[3] = { SBPF_PLAN_MVSF, SBPF_PLAN_AUTO, SBPF_PLAN_KERNEL_MAX };
	int nplans = 3;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return EXIT_OK;
		} else if (!strcmp(a, "--print")) {
			print = true;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			verbose = true;
		} else if ((!strcmp(a, "--generate") || !strcmp(a, "--seed") || !strcmp(a, "--plans") ||
			    !strcmp(a, "--jobs") || !strcmp(a, "-j") ||
			    !strcmp(a, "--workload") || !strcmp(a, "--known") || !strcmp(a, "--mode") ||
			    !strcmp(a, "--lost")) && !val) {
			fprintf(stderr, "safebpf: option %s needs a value\n", a);
			return EXIT_USAGE;
		} else if (!strcmp(a, "--generate")) {
			generate = strtol(val, NULL, 10);
			i++;
			if (generate <= 0) {
				fprintf(stderr, "safebpf: --generate needs a positive count\n");
				return EXIT_USAGE;
			}
		} else if (!strcmp(a, "--jobs") || !strcmp(a, "-j")) {
			jobs = (int)strtol(val, NULL, 10);
			i++;
			if (jobs < 1 || jobs > 16) {
				fprintf(stderr, "safebpf: --jobs takes 1 to 16\n");
				return EXIT_USAGE;
			}
		} else if (!strcmp(a, "--seed")) {
			seed = strtoull(val, NULL, 10);
			i++;
		} else if (!strcmp(a, "--plans")) {
			if (parse_plans(val, plans, &nplans)) {
				fprintf(stderr, "safebpf: --plans takes one to three of auto, mvsf, kernel-max\n");
				return EXIT_USAGE;
			}
			i++;
		} else if (!strcmp(a, "--workload")) {
			workload = val;
			i++;
		} else if (!strcmp(a, "--compare") && i + 2 < argc) {
			file = argv[++i];
			cmp_b = argv[++i];
		} else if (!strcmp(a, "--mode")) {
			cmp_mode = val;
			i++;
		} else if (!strcmp(a, "--lost")) {
			char *end;
			cmp_lost[0] = strtoll(val, &end, 10);
			if (*end == ',')
				cmp_lost[1] = strtoll(end + 1, &end, 10);
			if (*end || cmp_lost[0] < 0 || cmp_lost[1] < 0) {
				fprintf(stderr, "safebpf: --lost takes N or N,N\n");
				return EXIT_USAGE;
			}
			i++;
		} else if (!strcmp(a, "--known")) {
			const char *eq = strchr(val, '=');
			if (!eq || eq == val || !eq[1] || job.nknown == 8) {
				fprintf(stderr, "safebpf: --known takes WORD=OWNER (at most 8)\n");
				return EXIT_USAGE;
			}
			static char words[8][64];
			snprintf(words[job.nknown], sizeof(words[0]), "%.*s", (int)(eq - val), val);
			job.known_words[job.nknown] = words[job.nknown];
			job.known_owners[job.nknown++] = eq + 1;
			i++;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "safebpf: unknown option %s (see safebpf sqlcheck --help)\n", a);
			return EXIT_USAGE;
		} else if (!file) {
			file = a;
		} else {
			fprintf(stderr, "safebpf: one query file at a time\n");
			return EXIT_USAGE;
		}
	}
	if (!file == !generate) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (cmp_b)
		return compare_files(file, cmp_b, cmp_mode, cmp_lost[0], cmp_lost[1]);
	if (geteuid() != 0 && access("/sys/kernel/tracing/events", R_OK)) {
		fprintf(stderr, "safebpf: sqlcheck needs root (CAP_BPF, CAP_PERFMON and tracefs)\n");
		return EXIT_PERM;
	}
	char **wl = split_words(workload);
	if (!wl || !wl[0]) {
		fprintf(stderr, "safebpf: empty --workload\n");
		return EXIT_USAGE;
	}
	signal(SIGPIPE, SIG_IGN);
	job.plans = plans;
	job.nplans = nplans;
	job.wl = wl;
	job.print = print;
	job.verbose = verbose;
	double t0 = now_s();
	job.gen_seed = seed;
	job.gen_left = generate;
	int rc = file ? read_queries(&job, file) : 0;
	if (rc)
		return rc;
	pthread_t th[16];
	int started = 0;
	for (int i = 0; i < jobs; i++)
		if (!pthread_create(&th[i], NULL, worker, &job))
			started++;
	if (!started)
		worker(&job);
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	struct stats st = job.st;
	for (size_t i = 0; i < job.n; i++) {
		free(job.items[i].sql);
		free(job.items[i].label);
		free(job.items[i].known);
	}
	free(job.items);
	for (size_t i = 0; wl[i]; i++)
		free(wl[i]);
	free(wl);
	printf("sqlcheck: %d queries in %.1fs under %d plans (%s%s%s%s%s); %d traced with -p, the others with -c\n",
	       st.passed + st.failed + st.known, now_s() - t0, nplans, plan_name(plans[0]), nplans > 1 ? "," : "",
	       nplans > 1 ? plan_name(plans[1]) : "", nplans > 2 ? "," : "", nplans > 2 ? plan_name(plans[2]) : "",
	       st.pid_only);
	printf("sqlcheck: %d compared (equal results required): %d with no event lost, %d with losses "
	       "(%lld events reported lost), %d of them differing within the reported loss\n",
	       st.compared, st.exact, st.compared - st.exact, st.lost, st.excused);
	printf("sqlcheck: %d runs chose an in-kernel plan; %d candidates set aside before the chosen one (%d refused "
	       "by the verifier); %d verifier rejections reached the user; %d did not compile\n",
	       st.kernel, st.fallbacks, st.rejected, st.user_rejections, st.compile_errors);
	printf("sqlcheck: %d passed, %d failed, %d known (%d marked known passed)\n", st.passed, st.failed, st.known,
	       st.known_ok);
	return st.failed ? EXIT_FAIL : EXIT_OK;
}
