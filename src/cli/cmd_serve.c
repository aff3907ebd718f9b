/* cmd_serve.c - `safebpf serve`: runs named continuous queries (from a
 * configuration file and the command line) and exposes their results on
 * http://ADDR/metrics for Prometheus (src/serve/, docs/serve.md). SIGHUP
 * reloads the configuration: unchanged queries keep running with their
 * counters, changed ones restart, removed ones stop. SIGTERM and SIGINT
 * stop every query (each run detaches its programs) and exit 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "safebpf/kernel.h"
#include "safebpf/sql.h"
#include "serve/serveInt.h"

static void usage(FILE *f)
{
	fputs("usage: safebpf serve [-c FILE] [-q NAME='SQL']... [options]\n"
	      "Runs named continuous SQL queries and exposes their results as Prometheus metrics\n"
	      "on http://ADDR/metrics (docs/serve.md): GROUP BY columns become labels, COUNT and\n"
	      "SUM counters, HIST and LHIST histograms, other aggregates gauges of the last window.\n\n"
	      "  -c, --config FILE    queries and settings (reloaded on SIGHUP)\n"
	      "  -q, --query N=SQL    a query named N (letters, digits, _); repeatable\n"
	      "  -l, --listen ADDR    where to listen (default " SERVE_DEFAULT_LISTEN ", loopback only;\n"
	      "                       :PORT for every interface, port 0 picks a free one)\n"
	      "  -i, --interval D     window of queries without one in the file (default 1s): counters\n"
	      "                       and histograms advance, gauges change, once per window\n"
	      "      --max-series N   series per query before the least recently updated are evicted\n"
	      "                       (default 10000)\n"
	      "      --plan P         auto (default), mvsf or kernel-max, for -q queries\n"
	      "  -h, --help           this help\n\n"
	      "example:\n"
	      "  safebpf serve -q 'syscalls=SELECT syscall_name(syscall_number) AS syscall,\n"
	      "                  COUNT(*) AS calls, HIST(duration) AS latency FROM system_calls\n"
	      "                  GROUP BY syscall'\n"
	      "  curl -s http://127.0.0.1:9477/metrics | grep safebpf_syscalls_calls_total\n",
	      f);
}

static int sigpipe_fd[2] = { -1, -1 };

static void on_signal(int sig)
{
	int e = errno;
	unsigned char c = (unsigned char)sig;
	if (write(sigpipe_fd[1], &c, 1) < 0) {
		/* full pipe: a signal is already pending */
	}
	errno = e;
}

struct server {
	struct serve_query *list;        /* running queries */
	struct serve_conf cli;           /* -q queries and command-line defaults */
	const char *config;              /* -c FILE, or NULL */
	uint64_t interval_ns;            /* default window */
	size_t max_series;               /* default limit */
};

static void render(void *ctx, FILE *f, enum serve_format fmt, const uint64_t scrapes[2])
{
	struct server *s = ctx;
	serve_render(s->list, f, fmt, scrapes);
}

/* Fills defaults of @c's queries from the file's globals, then the command line. */
static void apply_defaults(const struct server *s, struct serve_conf *c)
{
	for (size_t i = 0; i < c->nq; i++) {
		if (!c->q[i].interval_ns)
			c->q[i].interval_ns = c->interval_ns ? c->interval_ns : s->interval_ns;
		if (!c->q[i].max_series)
			c->q[i].max_series = c->max_series ? c->max_series : s->max_series;
	}
}

static struct serve_query *find(struct serve_query *list, const char *name)
{
	for (; list; list = list->next)
		if (!strcmp(list->conf.name, name))
			return list;
	return NULL;
}

/* Waits (bounded) until the queries started have attached or failed. */
static void wait_attached(struct serve_query **started, size_t n)
{
	for (int tries = 0; tries < 6000; tries++) {
		size_t pending = 0;
		for (size_t i = 0; i < n; i++)
			if (!atomic_load(&started[i]->running) && !atomic_load(&started[i]->ended))
				pending++;
		if (!pending)
			return;
		poll(NULL, 0, 10);
	}
}

/* Makes the running set equal to the file's queries plus the command
 * line's: unchanged ones stay (counters kept). Returns 0 or an exit code
 * (nothing changes when the new configuration is bad). */
static int apply(struct server *s, bool initial)
{
	struct serve_conf file = { 0 };
	char err[4096] = "";
	if (s->config && serve_conf_load(s->config, &file, err, sizeof(err))) {
		fprintf(stderr, "safebpf: %s%s\n", err, initial ? "" : " (configuration not reloaded)");
		serve_conf_free(&file);
		return EXIT_INPUT;
	}
	apply_defaults(s, &file);
	apply_defaults(s, &s->cli);
	/* The wanted set: file queries, then -q ones (a name may not be in both). */
	size_t nwant = file.nq + s->cli.nq;
	const struct serve_qconf **want = calloc(nwant ? nwant : 1, sizeof(*want));
	struct serve_query **started = calloc(nwant ? nwant : 1, sizeof(*started));
	struct serve_query **fresh = calloc(nwant ? nwant : 1, sizeof(*fresh));
	int rc = want && started && fresh ? EXIT_OK : EXIT_FAIL;
	for (size_t i = 0; !rc && i < file.nq; i++)
		want[i] = &file.q[i];
	for (size_t i = 0; !rc && i < s->cli.nq; i++) {
		want[file.nq + i] = &s->cli.q[i];
		for (size_t j = 0; j < file.nq; j++)
			if (!strcmp(file.q[j].name, s->cli.q[i].name)) {
				fprintf(stderr, "safebpf: query '%s' is both in %s and on the command line\n",
					s->cli.q[i].name, s->config);
				rc = EXIT_INPUT;
			}
	}
	/* Compile and start what is new or changed; nothing is stopped yet, so a
	 * bad query leaves the running set as it was. */
	size_t nstart = 0, kept = 0;
	for (size_t i = 0; !rc && i < nwant; i++) {
		struct serve_query *old = find(s->list, want[i]->name);
		if (old && serve_qconf_same(&old->conf, want[i])) {
			kept++;
			continue;
		}
		struct serve_query *sq;
		int e = serve_query_start(want[i], &sq, err, sizeof(err));
		if (e) {
			bool diag = strchr(err, '\n') != NULL; /* a caret diagnostic prints as is */
			fprintf(stderr, "%s%s%s", diag ? "" : "safebpf: ", err, diag ? "" : "\n");
			if (!initial)
				fprintf(stderr, "safebpf: configuration not reloaded\n");
			rc = e == -EINVAL ? EXIT_INPUT : EXIT_FAIL;
			break;
		}
		started[nstart] = sq;
		fresh[nstart++] = sq;
	}
	if (rc) {
		for (size_t i = 0; i < nstart; i++)
			serve_query_stop(started[i]);
		goto out;
	}
	/* Stop what is gone or replaced, then link the new ones in. */
	size_t stopped = 0;
	for (struct serve_query **pp = &s->list; *pp;) {
		struct serve_query *sq = *pp;
		bool stay = false;
		for (size_t i = 0; i < nwant; i++)
			if (!strcmp(want[i]->name, sq->conf.name) && serve_qconf_same(&sq->conf, want[i]))
				stay = true;
		if (stay) {
			pp = &sq->next;
		} else {
			*pp = sq->next;
			serve_query_stop(sq);
			stopped++;
		}
	}
	for (size_t i = 0; i < nstart; i++) {
		fresh[i]->next = s->list;
		s->list = fresh[i];
	}
	wait_attached(started, nstart);
	for (size_t i = 0; i < nstart; i++)
		if (atomic_load(&started[i]->ended) && started[i]->err[0]) {
			fprintf(stderr, "safebpf: query %s: %s\n", started[i]->conf.name, started[i]->err);
			started[i]->reported = true;
		}
	if (!initial)
		fprintf(stderr, "safebpf: reloaded %s: %zu kept, %zu started, %zu stopped\n", s->config, kept, nstart,
			stopped);
out:
	free(want);
	free(started);
	free(fresh);
	serve_conf_free(&file);
	return rc;
}

static void stop_all(struct server *s)
{
	/* Ask every thread first, then wait: the runs end in parallel. */
	for (struct serve_query *sq = s->list; sq; sq = sq->next)
		atomic_store(&sq->stop, true);
	while (s->list) {
		struct serve_query *sq = s->list;
		s->list = sq->next;
		serve_query_stop(sq);
	}
}

int cmd_serve(int argc, char **argv)
{
	struct server s = { .interval_ns = SERVE_DEFAULT_INTERVAL_NS, .max_series = SERVE_DEFAULT_MAX_SERIES };
	const char *listen_addr = NULL;
	enum sbpf_plan_strategy plan = SBPF_PLAN_AUTO;
	char err[512];
	int rc = EXIT_OK;
	for (int i = 1; i < argc && !rc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			serve_conf_free(&s.cli);
			return EXIT_OK;
		} else if (a[0] == '-' && !val) {
			fprintf(stderr, "safebpf: option %s needs a value (see safebpf serve --help)\n", a);
			rc = EXIT_USAGE;
		} else if (!strcmp(a, "-c") || !strcmp(a, "--config")) {
			s.config = argv[++i];
		} else if (!strcmp(a, "-l") || !strcmp(a, "--listen")) {
			listen_addr = argv[++i];
		} else if (!strcmp(a, "-i") || !strcmp(a, "--interval")) {
			if (sbpf_parse_duration(val, &s.interval_ns) || s.interval_ns < 1000000) {
				fprintf(stderr, "safebpf: bad interval '%s' (at least 1ms: 500ms, 1s)\n", val);
				rc = EXIT_USAGE;
			}
			i++;
		} else if (!strcmp(a, "--max-series")) {
			char *end;
			unsigned long long n = strtoull(val, &end, 10);
			if (*end || !n || n > 10000000) {
				fprintf(stderr, "safebpf: bad --max-series '%s' (1 to 10000000)\n", val);
				rc = EXIT_USAGE;
			}
			s.max_series = (size_t)n;
			i++;
		} else if (!strcmp(a, "--plan")) {
			if (sbpf_plan_strategy_parse(val, &plan)) {
				fprintf(stderr, "safebpf: unknown plan '%s' (auto, mvsf or kernel-max)\n", val);
				rc = EXIT_USAGE;
			}
			i++;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--query")) {
			const char *eq = strchr(val, '=');
			if (!eq) {
				fprintf(stderr, "safebpf: -q takes NAME=SQL\n");
				rc = EXIT_USAGE;
			} else if (serve_conf_add(&s.cli, val, (size_t)(eq - val), eq + 1, err, sizeof(err))) {
				fprintf(stderr, "safebpf: %s\n", err);
				rc = EXIT_USAGE;
			}
			i++;
		} else {
			fprintf(stderr, "safebpf: unknown argument %s (see safebpf serve --help)\n", a);
			rc = EXIT_USAGE;
		}
	}
	for (size_t i = 0; i < s.cli.nq; i++)
		s.cli.q[i].plan = plan;
	if (!rc && !s.config && !s.cli.nq) {
		usage(stderr);
		rc = EXIT_USAGE;
	}
	char why[256];
	if (!rc && sbpf_kernel_check_privileges(why, sizeof(why))) {
		fprintf(stderr, "safebpf: cannot trace: %s\n", why);
		rc = EXIT_PERM;
	}
	/* The listen address: command line, else the file, else loopback. */
	char file_listen[128] = "";
	if (!rc && s.config) {
		struct serve_conf c = { 0 };
		if (serve_conf_load(s.config, &c, err, sizeof(err))) {
			fprintf(stderr, "safebpf: %s\n", err);
			rc = EXIT_INPUT;
		}
		snprintf(file_listen, sizeof(file_listen), "%s", c.listen);
		serve_conf_free(&c);
	}
	if (rc) {
		serve_conf_free(&s.cli);
		return rc;
	}
	const char *addr = listen_addr ? listen_addr : file_listen[0] ? file_listen : SERVE_DEFAULT_LISTEN;
	char bound[160];
	struct serve_http *http = serve_http_listen(addr, bound, sizeof(bound), err, sizeof(err));
	if (!http) {
		fprintf(stderr, "safebpf: %s\n", err);
		serve_conf_free(&s.cli);
		return EXIT_FAIL;
	}
	if (pipe2(sigpipe_fd, O_CLOEXEC | O_NONBLOCK)) {
		serve_http_close(http);
		serve_conf_free(&s.cli);
		return EXIT_FAIL;
	}
	struct sigaction sa = { 0 };
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	rc = apply(&s, true);
	size_t n = 0;
	for (struct serve_query *sq = s.list; sq; sq = sq->next)
		n++;
	if (!rc) {
		/* Scripts wait for this line before starting a workload. */
		fprintf(stderr, "safebpf: attached; serving %zu quer%s on http://%s/metrics\n", n, n == 1 ? "y" : "ies",
			bound);
	}
	bool done = rc != EXIT_OK;
	while (!done) {
		struct pollfd p[2] = { { .fd = serve_http_fd(http), .events = POLLIN },
				       { .fd = sigpipe_fd[0], .events = POLLIN } };
		int r = poll(p, 2, 1000);
		if (r < 0 && errno != EINTR)
			break;
		if (r > 0 && (p[1].revents & POLLIN)) {
			unsigned char sig;
			while (read(sigpipe_fd[0], &sig, 1) == 1) {
				if (sig == SIGHUP && s.config)
					apply(&s, false);
				else if (sig == SIGHUP)
					fprintf(stderr, "safebpf: SIGHUP: no configuration file to reload\n");
				else
					done = true;
			}
		}
		if (!done && r > 0 && (p[0].revents & POLLIN))
			serve_http_handle(http, render, &s);
		/* A query whose run failed says why, once. */
		for (struct serve_query *sq = s.list; sq; sq = sq->next)
			if (atomic_load(&sq->ended) && !sq->reported) {
				fprintf(stderr, "safebpf: query %s stopped: %s\n", sq->conf.name,
					sq->err[0] ? sq->err : "the run ended");
				sq->reported = true;
			}
	}
	stop_all(&s);
	serve_http_close(http);
	close(sigpipe_fd[0]);
	close(sigpipe_fd[1]);
	serve_conf_free(&s.cli);
	if (!rc)
		fprintf(stderr, "safebpf: stopped; every program detached\n");
	return rc;
}
