/* runner.c - the continuous queries of `safebpf serve`: each runs in a
 * thread of its own (sbpf_query__run with typed-row and window callbacks
 * feeding its metrics) until asked to stop; the run then reads what the
 * kernel already produced and detaches everything before the thread ends.
 * Also the exposition of the whole process: every query's metrics, its
 * health (events, lost, evicted, series, plan), and the process's own
 * CPU time and memory.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "serve/serveInt.h"

bool serve_qconf_same(const struct serve_qconf *a, const struct serve_qconf *b)
{
	return !strcmp(a->name, b->name) && !strcmp(a->sql, b->sql) && a->interval_ns == b->interval_ns &&
	       a->max_series == b->max_series && a->plan == b->plan;
}

static int on_row(void *ctx, const struct sbpf_row *row)
{
	struct serve_query *sq = ctx;
	return serve_metrics_row(sq->m, row);
}

static int on_window(void *ctx, const struct sbpf_window *w)
{
	struct serve_query *sq = ctx;
	struct sbpf_query_plan_info pi;
	sbpf_query__plan_info(sq->q, &pi);
	serve_metrics_set_plan(sq->m, &pi, !w->last);
	serve_metrics_window(sq->m, w);
	return 0;
}

static int on_attached(void *ctx)
{
	struct serve_query *sq = ctx;
	struct sbpf_query_plan_info pi;
	sbpf_query__plan_info(sq->q, &pi);
	serve_metrics_set_plan(sq->m, &pi, true);
	atomic_store(&sq->running, true);
	return 0;
}

static bool should_stop(void *ctx)
{
	struct serve_query *sq = ctx;
	return atomic_load(&sq->stop);
}

static void *run_thread(void *arg)
{
	struct serve_query *sq = arg;
	struct sbpf_query_run_opts ro = {
		.sz = sizeof(ro), .attached = on_attached, .should_stop = should_stop, .ctx = sq, .row = on_row,
		.window = on_window,
	};
	int rc = sbpf_query__run(sq->q, &ro, sq->err, sizeof(sq->err));
	if (!rc)
		sq->err[0] = '\0';
	atomic_store(&sq->running, false);
	serve_metrics_set_plan(sq->m, NULL, false);
	atomic_store(&sq->ended, true);
	return NULL;
}

int serve_query_start(const struct serve_qconf *c, struct serve_query **out, char *err, size_t errsz)
{
	struct serve_query *sq = calloc(1, sizeof(*sq));
	if (!sq)
		return -ENOMEM;
	sq->conf = *c;
	if (!(sq->conf.sql = strdup(c->sql))) {
		free(sq);
		return -ENOMEM;
	}
	struct sbpf_diags d = { 0 };
	char file[SERVE_MAX_NAME + 8];
	snprintf(file, sizeof(file), "query %s", c->name);
	struct sbpf_query_opts qo = {
		.sz = sizeof(qo), .file = file, .plan = c->plan, .default_window_ns = c->interval_ns,
	};
	int rc = sbpf_query__compile(c->sql, &qo, &sq->q, &d);
	if (rc) {
		char *text = d.n ? sbpf_diags__format(&d) : NULL;
		if (text) {
			/* The caret diagnostic, as the CLI prints it. */
			snprintf(err, errsz, "%s", text);
			free(text);
		} else {
			snprintf(err, errsz, "query %s: %s", c->name, strerror(-rc));
		}
		sbpf_diags__free(&d);
		goto fail;
	}
	sbpf_diags__free(&d);
	if (!(sq->m = serve_metrics_new(c->name, sq->q, c->max_series, err, errsz))) {
		rc = errno ? -errno : -ENOMEM;
		goto fail;
	}
	/* The thread takes no signals: the main thread handles them. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = -pthread_create(&sq->thread, NULL, run_thread, sq);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		snprintf(err, errsz, "query %s: cannot start a thread: %s", c->name, strerror(-rc));
		goto fail;
	}
	sq->started = true;
	*out = sq;
	return 0;
fail:
	serve_metrics_free(sq->m);
	sbpf_query__free(sq->q);
	free(sq->conf.sql);
	free(sq);
	return rc;
}

void serve_query_stop(struct serve_query *sq)
{
	if (!sq)
		return;
	atomic_store(&sq->stop, true);
	if (sq->started)
		pthread_join(sq->thread, NULL);
	serve_metrics_free(sq->m);
	sbpf_query__free(sq->q);
	free(sq->conf.sql);
	free(sq);
}

/* ---- exposition of the process ---- */

static void family(FILE *f, const char *name, const char *type, const char *help, bool om)
{
	char fam[128];
	snprintf(fam, sizeof(fam), "%s", name);
	size_t n = strlen(fam);
	if (om && !strcmp(type, "counter") && n > 6 && !strcmp(fam + n - 6, "_total"))
		fam[n - 6] = '\0';
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", fam, help, fam, type);
}

static void per_query(FILE *f, struct serve_query *list, const char *name, const char *type, const char *help,
		      bool om, int which)
{
	family(f, name, type, help, om);
	for (struct serve_query *sq = list; sq; sq = sq->next) {
		struct serve_health h;
		serve_metrics_health(sq->m, &h);
		fprintf(f, "%s{query=\"%s\"} ", name, sq->conf.name);
		switch (which) {
		case 0: fprintf(f, "%d\n", h.up && atomic_load(&sq->running)); break;
		case 1: fprintf(f, "%" PRIu64 "\n", h.events); break;
		case 2: fprintf(f, "%" PRIu64 "\n", h.lost); break;
		case 3: fprintf(f, "%" PRIu64 "\n", h.evicted); break;
		case 4: fprintf(f, "%" PRIu64 "\n", h.series); break;
		case 5: fprintf(f, "%zu\n", h.max_series); break;
		case 6: fprintf(f, "%" PRIu64 "\n", h.series_evicted); break;
		case 7: fprintf(f, "%" PRIu64 "\n", h.windows); break;
		case 8: fprintf(f, "%.17g\n", h.events_per_sec); break;
		default: break;
		}
	}
}

void serve_render(struct serve_query *list, FILE *f, enum serve_format fmt, const uint64_t scrapes[2])
{
	bool om = fmt == SERVE_OPENMETRICS;
	for (struct serve_query *sq = list; sq; sq = sq->next)
		serve_metrics_render(sq->m, f, fmt);
	per_query(f, list, "safebpf_query_up", "gauge", "1 while the query runs with its programs attached", om, 0);
	per_query(f, list, "safebpf_query_events_total", "counter", "Events read by the query", om, 1);
	per_query(f, list, "safebpf_query_lost_events_total", "counter",
		  "Events the kernel could not hand over (ring buffer full)", om, 2);
	per_query(f, list, "safebpf_query_evicted_events_total", "counter",
		  "Events dropped by bounded state of the query (docs/sql.md)", om, 3);
	per_query(f, list, "safebpf_query_series", "gauge", "Series the query exports", om, 4);
	per_query(f, list, "safebpf_query_series_limit", "gauge", "Cardinality limit of the query (max_series)", om,
		  5);
	per_query(f, list, "safebpf_query_series_evicted_total", "counter",
		  "Series evicted by the cardinality limit (least recently updated first)", om, 6);
	per_query(f, list, "safebpf_query_windows_total", "counter", "Windows the query finished", om, 7);
	per_query(f, list, "safebpf_query_events_per_second", "gauge", "Events per second in the last window", om,
		  8);
	family(f, "safebpf_query_plan", "gauge",
	       "Candidate plan the optimizer chose (value), with where its operators run", om);
	for (struct serve_query *sq = list; sq; sq = sq->next) {
		struct serve_health h;
		serve_metrics_health(sq->m, &h);
		if (!h.plan)
			continue;
		fprintf(f, "safebpf_query_plan{query=\"%s\",kernel=\"%s\",placement=", sq->conf.name,
			h.kernel ? "true" : "false");
		serve_label_value(f, h.placement, strlen(h.placement));
		fprintf(f, "} %d\n", h.plan);
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	family(f, "safebpf_process_cpu_seconds_total", "counter", "CPU time of safebpf (user and system)", om);
	fprintf(f, "safebpf_process_cpu_seconds_total %.6f\n",
		(double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
			(double)ru.ru_stime.tv_usec / 1e6);
	long rss_pages = 0;
	FILE *sm = fopen("/proc/self/statm", "r");
	if (sm) {
		long size;
		if (fscanf(sm, "%ld %ld", &size, &rss_pages) != 2)
			rss_pages = 0;
		fclose(sm);
	}
	family(f, "safebpf_process_resident_memory_bytes", "gauge", "Resident memory of safebpf", om);
	fprintf(f, "safebpf_process_resident_memory_bytes %ld\n", rss_pages * sysconf(_SC_PAGESIZE));
	family(f, "safebpf_scrapes_total", "counter", "Requests of /metrics answered, per format", om);
	fprintf(f, "safebpf_scrapes_total{format=\"text\"} %" PRIu64 "\n", scrapes[SERVE_TEXT]);
	fprintf(f, "safebpf_scrapes_total{format=\"openmetrics\"} %" PRIu64 "\n", scrapes[SERVE_OPENMETRICS]);
	if (om)
		fputs("# EOF\n", f);
}
