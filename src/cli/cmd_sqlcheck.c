/* cmd_sqlcheck.c - `safebpf sqlcheck`: differential and random testing of
 * the optimizer on the live kernel (developer command, used by make test).
 *
 * Each query is compiled under two plan strategies (default: mvsf and
 * auto) and both run at the same time, in two threads, tracing one
 * workload process: the workload is started blocked on a pipe, both runs
 * attach, then it is released. Both therefore see the same events, and
 * their results (CSV rows, compared as multisets; the window column
 * dropped) must be equal. "merge:" before a query sums the last column per
 * key over windows first ("merge-max:" takes the maximum): windows close on each run's own clock, so an
 * event at a boundary may count in either neighbour, but never twice and
 * never not at all.
 *
 * With --generate N, the queries come from the grammar-based generator
 * (sbpf_query_random); each must compile and run, and with two plans its
 * results are compared too when they are deterministic (no LIMIT, no JOIN,
 * no WINDOW).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "safebpf/sql.h"

#define DEFAULT_WORKLOAD "build/e2e/workload --getppid 200 --open /etc/hostname 5 --open /nonexistent 2 " \
			 "--fork 2 --sleep-ms 5 --write-null 20"

static void usage(FILE *f)
{
	fputs("usage: safebpf sqlcheck [options] FILE | --generate N\n"
	      "Differential testing of the optimizer: every query runs under two plans at once\n"
	      "on one shared workload, and the results must be equal.\n\n"
	      "  FILE              queries, one per line ('#' starts a comment); \"merge: QUERY\"\n"
	      "                    sums the last column per key over windows before comparing,\n"
	      "                    \"merge-max: QUERY\" takes its maximum\n"
	      "  --generate N      N random valid queries (grammar-based) instead of FILE: each must\n"
	      "                    compile, pass the verifier (after the optimizer's fallbacks) and run\n"
	      "  --seed S          seed of the first generated query (default 1)\n"
	      "  --plans A[,B]     strategies to run (auto, mvsf, kernel-max; default mvsf,auto)\n"
	      "  --workload CMD    the traced command (split into words; default:\n"
	      "                    " DEFAULT_WORKLOAD ")\n"
	      "  -j, --jobs N      check N queries at a time, each on its own workload (default 1;\n"
	      "                    detaching waits for the kernel, so this is faster even on 2 CPUs)\n"
	      "  --print           print every query\n"
	      "  -v, --verbose     print both results of a mismatch\n"
	      "  -h, --help        this help\n\n"
	      "Ends with \"sqlcheck: N passed, N failed\". Needs CAP_BPF and CAP_PERFMON.\n",
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
						  .pid = r->pid, .follow_forks = true, .attached = on_attached,
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

/* Runs @q[0..n) at once on the workload. */
static void run_together(struct run *runs, int n, char **workload)
{
	struct shared sh = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };
	int go = -1;
	pid_t pid = spawn_blocked(workload, &go);
	for (int i = 0; i < n; i++) {
		runs[i].sh = &sh;
		runs[i].pid = pid > 0 ? (int)pid : 0;
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
	pthread_mutex_lock(&sh.mu);
	sh.stop = true;
	pthread_cond_broadcast(&sh.cv);
	pthread_mutex_unlock(&sh.mu);
	for (int i = 0; i < n; i++)
		if (runs[i].th)
			pthread_join(runs[i].th, NULL);
}

/* ---- comparing results --------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Rows of a CSV output, without the window column, sorted; with @merge,
 * the last column summed per key. Returns a malloc'ed array of malloc'ed
 * lines (count in *n), the header first. */
enum merge { MERGE_NONE, MERGE_SUM, MERGE_MAX };

static char **rows_of(const char *csv, enum merge merge, size_t *n)
{
	size_t cap = 16, k = 0;
	char **v = malloc(cap * sizeof(*v));
	bool windowed = !strncmp(csv, "window,", 7);
	for (const char *p = csv; v && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		const char *start = p;
		if (windowed) {
			/* the first field: an ISO time without commas or quotes */
			const char *c = memchr(p, ',', len);
			if (c) {
				len -= (size_t)(c + 1 - p);
				start = c + 1;
			}
		}
		if (k == cap) {
			char **nv = realloc(v, (cap *= 2) * sizeof(*v));
			if (!nv)
				break;
			v = nv;
		}
		v[k++] = strndup(start, len);
		p = nl ? nl + 1 : p + len;
	}
	if (!v)
		return NULL;
	if (k > 1)
		qsort(v + 1, k - 1, sizeof(*v), cmp_str);
	if (merge && k > 1) {
		/* sum the last field of consecutive rows with the same key */
		size_t w = 1;
		for (size_t i = 1; i < k; i++) {
			char *comma = strrchr(v[i], ',');
			size_t keylen = comma ? (size_t)(comma - v[i]) : 0;
			long long sum = comma ? strtoll(comma + 1, NULL, 10) : strtoll(v[i], NULL, 10);
			char *prev = w > 1 ? v[w - 1] : NULL, *pc = prev ? strrchr(prev, ',') : NULL;
			if (prev && pc && (size_t)(pc - prev) == keylen && !strncmp(prev, v[i], keylen)) {
				long long old = strtoll(pc + 1, NULL, 10);
				long long total = merge == MERGE_SUM ? old + sum : old > sum ? old : sum;
				char *nr = malloc(keylen + 32);
				snprintf(nr, keylen + 32, "%.*s,%lld", (int)keylen, v[i], total);
				free(prev);
				free(v[i]);
				v[w - 1] = nr;
			} else {
				v[w++] = v[i];
			}
		}
		k = w;
	}
	*n = k;
	return v;
}

static void free_rows(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

/* Whether two outputs hold the same rows. */
static bool same_results(const char *a, const char *b, enum merge merge, size_t *nrows)
{
	size_t na = 0, nb = 0;
	char **ra = rows_of(a ? a : "", merge, &na), **rb = rows_of(b ? b : "", merge, &nb);
	bool same = ra && rb && na == nb;
	for (size_t i = 0; same && i < na; i++)
		same = !strcmp(ra[i], rb[i]);
	*nrows = na ? na - 1 : 0;
	free_rows(ra, na);
	free_rows(rb, nb);
	return same;
}

/* ---- the command --------------------------------------------------------------- */

static pthread_mutex_t print_mu = PTHREAD_MUTEX_INITIALIZER; /* output and stats of parallel checks */

struct stats {
	int passed, failed;
	int compared;            /* queries whose results were compared */
	int kernel;              /* auto runs that chose an in-kernel plan */
	int fallbacks;           /* candidates loaded but not usable before the chosen one */
	int rejected;            /* of those, refused by the verifier */
	int user_rejections;     /* runs that failed with a verifier rejection */
	int compile_errors;      /* queries that did not compile */
};

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

/* Compiles, runs and compares one query. @compare: results must be equal. */
static void check_query(const char *sql, const enum sbpf_plan_strategy *plans, int nplans, enum merge merge,
			bool compare,
			char **workload, bool print, bool verbose, const char *label, struct stats *st)
{
	struct run runs[2];
	memset(runs, 0, sizeof(runs));
	double t0 = now_s();
	for (int i = 0; i < nplans; i++) {
		struct sbpf_diags d = { 0 };
		struct sbpf_query_opts qo = { .sz = sizeof(qo), .file = label, .plan = plans[i] };
		if (sbpf_query__compile(sql, &qo, &runs[i].q, &d)) {
			char *msg = sbpf_diags__format(&d);
			pthread_mutex_lock(&print_mu);
			printf("FAIL %s: does not compile\n  %s\n%s", label, sql, msg ? msg : "");
			st->failed++;
			st->compile_errors++;
			pthread_mutex_unlock(&print_mu);
			free(msg);
			sbpf_diags__free(&d);
			for (int j = 0; j < i; j++)
				sbpf_query__free(runs[j].q);
			return;
		}
		sbpf_diags__free(&d);
	}
	if (print) {
		pthread_mutex_lock(&print_mu);
		printf("     %s: %s\n", label, sql);
		pthread_mutex_unlock(&print_mu);
	}
	run_together(runs, nplans, workload);
	pthread_mutex_lock(&print_mu);
	bool ok = true;
	char why[700] = "";
	for (int i = 0; i < nplans && ok; i++) {
		if (runs[i].rc) {
			ok = false;
			snprintf(why, sizeof(why), "run failed: %s", runs[i].err);
			if (strstr(runs[i].err, "verifier") || strstr(runs[i].err, "refused"))
				st->user_rejections++;
		}
	}
	size_t nrows = 0;
	bool compared = ok && nplans == 2 && compare;
	if (compared && !same_results(runs[0].out, runs[1].out, merge, &nrows)) {
		ok = false;
		snprintf(why, sizeof(why), "results differ");
	} else if (ok && nplans == 1) {
		size_t n;
		char **v = rows_of(runs[0].out ? runs[0].out : "", MERGE_NONE, &n);
		nrows = n ? n - 1 : 0;
		free_rows(v, n);
	}
	st->compared += compared;
	/* what the optimizer did in the last (auto) run */
	struct sbpf_query_plan_info pi;
	sbpf_query__plan_info(runs[nplans - 1].q, &pi);
	st->kernel += pi.kernel;
	st->fallbacks += pi.tried > 1 ? pi.tried - 1 : 0;
	st->rejected += pi.rejected;
	double dt = now_s() - t0;
	if (ok) {
		st->passed++;
		printf("ok   %s: %zu rows%s, plan #%d/%d %s (%.2fs)\n", label, nrows, compared ? " equal" : "",
		       pi.chosen, pi.ncands, pi.placement ? pi.placement : "-", dt);
	} else {
		st->failed++;
		printf("FAIL %s: %s\n  %s\n", label, why, sql);
		if (verbose)
			for (int i = 0; i < nplans; i++)
				printf("  --- run %d (%s) ---\n%s%s", i + 1, i ? "second" : "first",
				       runs[i].out ? runs[i].out : "", runs[i].log ? runs[i].log : "");
	}
	fflush(stdout);
	pthread_mutex_unlock(&print_mu);
	for (int i = 0; i < nplans; i++) {
		free(runs[i].out);
		free(runs[i].log);
		sbpf_query__free(runs[i].q);
	}
}

/* (Scheduler tables are not compared either: the switch away from an
 * exiting workload happens after its parent saw it exit, a race between
 * the two runs' last reads.)
 * Whether @q reads a time or duration column: each tracer reads the clock
 * itself, so such values differ by nanoseconds between two runs. */
static bool mentions_time(const char *q)
{
	static const char *const words[] = { "ts", "enter_ts", "exit_ts", "duration", "latency", "issue_ts",
					     "complete_ts" };
	for (const char *p = q; *p;) {
		size_t n = strcspn(p, " ,()=<>!+-*/%&|.'");
		for (size_t i = 0; n && i < sizeof(words) / sizeof(words[0]); i++)
			if (strlen(words[i]) == n && !strncmp(p, words[i], n))
				return true;
		p += n ? n : 1;
	}
	return false;
}

static int parse_plans(const char *s, enum sbpf_plan_strategy *plans, int *n)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", s);
	*n = 0;
	for (char *save = NULL, *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		if (*n == 2 || sbpf_plan_strategy_parse(w, &plans[*n]))
			return -EINVAL;
		(*n)++;
	}
	return *n ? 0 : -EINVAL;
}

/* ---- the query list, checked by a pool of workers ---- */

struct item {
	char *sql;           /* the query */
	char *label;         /* "file:line" or "seed N" */
	enum merge merge;    /* comparison mode */
	bool compare;        /* results must be equal */
};

struct job {
	struct item *items;  /* every query */
	size_t n, cap;
	size_t next;         /* next to check */
	pthread_mutex_t mu;  /* guards next */
	const enum sbpf_plan_strategy *plans;
	int nplans;
	char **wl;           /* workload argv */
	bool print, verbose;
	struct stats st;     /* guarded by print_mu */
};

static int add_item(struct job *j, const char *sql, const char *label, enum merge merge, bool compare)
{
	if (j->n == j->cap) {
		size_t ncap = j->cap ? j->cap * 2 : 64;
		struct item *ni = realloc(j->items, ncap * sizeof(*ni));
		if (!ni)
			return -ENOMEM;
		j->items = ni;
		j->cap = ncap;
	}
	j->items[j->n++] = (struct item){ .sql = strdup(sql), .label = strdup(label), .merge = merge,
					  .compare = compare };
	return 0;
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
		char *q = line + strspn(line, " \t");
		if (!*q || *q == '#')
			continue;
		enum merge merge = MERGE_NONE;
		if (!strncmp(q, "merge:", 6)) {
			merge = MERGE_SUM;
			q += 6 + strspn(q + 6, " \t");
		} else if (!strncmp(q, "merge-max:", 10)) {
			merge = MERGE_MAX;
			q += 10 + strspn(q + 10, " \t");
		}
		char label[300];
		snprintf(label, sizeof(label), "%s:%d", file, lineno);
		add_item(j, q, label, merge, true);
	}
	fclose(f);
	return 0;
}

static int generate_queries(struct job *j, unsigned long long seed, long count)
{
	for (long i = 0; i < count; i++) {
		char q[2048], label[64];
		unsigned long long s = seed + (unsigned long long)i;
		snprintf(label, sizeof(label), "seed %llu", s);
		if (sbpf_query_random(s, q, sizeof(q)) < 0) {
			printf("FAIL %s: generator overflow\n", label);
			j->st.failed++;
			continue;
		}
		bool deterministic = !strstr(q, " LIMIT ") && !strstr(q, " JOIN ") && !strstr(q, " WINDOW ") &&
				     !mentions_time(q) && !strstr(q, "FROM sched_");
		add_item(j, q, label, MERGE_NONE, deterministic);
	}
	return 0;
}

static void *worker(void *arg)
{
	struct job *j = arg;
	for (;;) {
		pthread_mutex_lock(&j->mu);
		size_t i = j->next++;
		pthread_mutex_unlock(&j->mu);
		if (i >= j->n)
			return NULL;
		const struct item *it = &j->items[i];
		check_query(it->sql, j->plans, j->nplans, it->merge, it->compare, j->wl, j->print, j->verbose,
			    it->label, &j->st);
	}
}

int cmd_sqlcheck(int argc, char **argv)
{
	const char *file = NULL, *workload = DEFAULT_WORKLOAD;
	long generate = 0;
	unsigned long long seed = 1;
	bool print = false, verbose = false;
	int jobs = 1;
	enum sbpf_plan_strategy plans[2] = { SBPF_PLAN_MVSF, SBPF_PLAN_AUTO };
	int nplans = 2;
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
			    !strcmp(a, "--workload")) && !val) {
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
				fprintf(stderr, "safebpf: --plans takes one or two of auto, mvsf, kernel-max\n");
				return EXIT_USAGE;
			}
			i++;
		} else if (!strcmp(a, "--workload")) {
			workload = val;
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
	struct job job = { .plans = plans, .nplans = nplans, .wl = wl, .print = print, .verbose = verbose,
			   .mu = PTHREAD_MUTEX_INITIALIZER };
	double t0 = now_s();
	int rc = file ? read_queries(&job, file) : generate_queries(&job, seed, generate);
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
	}
	free(job.items);
	for (size_t i = 0; wl[i]; i++)
		free(wl[i]);
	free(wl);
	printf("sqlcheck: %d queries in %.1fs; %d compared (equal results required); %d ran an in-kernel plan; "
	       "%d candidates set aside before the chosen one (%d refused by the verifier); %d verifier rejections "
	       "reached the user; %d did not compile\n",
	       st.passed + st.failed, now_s() - t0, st.compared, st.kernel, st.fallbacks, st.rejected,
	       st.user_rejections, st.compile_errors);
	printf("sqlcheck: %d passed, %d failed\n", st.passed, st.failed);
	return st.failed ? EXIT_FAIL : EXIT_OK;
}
