/* serveInt.h - private interfaces of the metrics exporter (src/serve/),
 * used by `safebpf serve` (src/cli/cmd_serve.c):
 *   config.c   the configuration file: named queries and their options;
 *   metrics.c  per query: the series of its result (GROUP BY columns as
 *              labels, aggregates as counters, gauges and histograms),
 *              accumulated window by window from typed rows, with a
 *              cardinality limit; rendering in the Prometheus text format
 *              or OpenMetrics;
 *   runner.c   one thread per query running it continuously, stopped and
 *              replaced on reload;
 *   http.c     a small HTTP/1.1 server for GET /metrics.
 * Metric naming and the configuration are documented in docs/serve.md.
 */
#ifndef SAFEBPF_SERVEINT_H
#define SAFEBPF_SERVEINT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "safebpf/sql.h"

#define SERVE_DEFAULT_LISTEN "127.0.0.1:9477"
#define SERVE_DEFAULT_INTERVAL_NS 1000000000ull
#define SERVE_DEFAULT_MAX_SERIES 10000
#define SERVE_MAX_NAME 64

/* ---- configuration (config.c) ---- */

struct serve_qconf {
	char name[SERVE_MAX_NAME];       /* [a-zA-Z_][a-zA-Z0-9_]*: part of metric names */
	char *sql;                       /* the query (malloc'ed) */
	uint64_t interval_ns;            /* window of the query (its counters advance per window) */
	size_t max_series;               /* cardinality limit */
	enum sbpf_plan_strategy plan;    /* optimizer strategy */
	bool from_cli;                   /* given on the command line (kept across reloads) */
};

struct serve_conf {
	char listen[128];                /* address:port ("" when the file sets none) */
	uint64_t interval_ns;            /* default window (0: not set) */
	size_t max_series;               /* default limit (0: not set) */
	struct serve_qconf *q;           /* queries */
	size_t nq;                       /* their number */
};

/* Parses configuration @text (named @file in messages). On error returns
 * -EINVAL with "file:line: what" in @err. Defaults come from @base (the
 * command line) where the file sets none. */
int serve_conf_parse(const char *text, const char *file, struct serve_conf *out, char *err, size_t errsz);
/* Reads and parses @path. -errno when unreadable (message in @err). */
int serve_conf_load(const char *path, struct serve_conf *out, char *err, size_t errsz);
/* Adds a query "NAME=SQL" given on the command line. */
int serve_conf_add(struct serve_conf *c, const char *name, size_t namelen, const char *sql, char *err,
		   size_t errsz);
/* Whether @name is a valid query name. */
bool serve_name_ok(const char *name, size_t len);
void serve_conf_free(struct serve_conf *c);

/* ---- metrics of one query (metrics.c) ---- */

struct serve_metrics;
/* Metrics of query @name whose columns are described by @q (the compiled
 * query; only read here). NULL with -errno in *@rc; -EINVAL with a reason in
 * @err when the query cannot be exported (no aggregate). */
struct serve_metrics *serve_metrics_new(const char *name, const struct sbpf_query *q, size_t max_series,
					char *err, size_t errsz);
void serve_metrics_free(struct serve_metrics *m);
/* Folds one result row of the current window. 0 or -ENOMEM. */
int serve_metrics_row(struct serve_metrics *m, const struct sbpf_row *row);
/* Ends a window: counts, then enforces the cardinality limit. */
void serve_metrics_window(struct serve_metrics *m, const struct sbpf_window *w);

/* Exposition formats. */
enum serve_format {
	SERVE_TEXT,          /* Prometheus text format 0.0.4 */
	SERVE_OPENMETRICS,   /* OpenMetrics 1.0.0 */
};

/* Health of one query, rendered with its metrics. */
struct serve_health {
	bool up;                         /* running */
	uint64_t events, lost, evicted;  /* totals since the query started */
	uint64_t windows;                /* windows finished */
	double events_per_sec;           /* in the last window */
	uint64_t series, series_evicted; /* current series / evicted by the limit */
	size_t max_series;               /* the limit */
	int plan;                        /* chosen candidate (0: none yet) */
	char placement[160];             /* where its operators run */
	bool kernel;                     /* some operator runs in the kernel */
};
void serve_metrics_health(struct serve_metrics *m, struct serve_health *h);
/* Records the plan the run chose and whether it is running. */
void serve_metrics_set_plan(struct serve_metrics *m, const struct sbpf_query_plan_info *pi, bool up);
/* Writes the query's data metrics to @f. */
void serve_metrics_render(struct serve_metrics *m, FILE *f, enum serve_format fmt);

/* Metric-name helpers (exposed for tests). */
/* Copies @s into @out as a metric or label name: characters outside
 * [a-zA-Z0-9_] become '_', runs of '_' collapse, a leading digit gets '_'. */
void serve_sanitize(const char *s, char *out, size_t outsz);
/* Writes @s as an escaped label value (\\, \", \n) between quotes; bytes
 * that are not valid UTF-8 become U+FFFD. */
void serve_label_value(FILE *f, const char *s, size_t len);
/* Exact decimal seconds of @ns ("0.000001023", "2", "-1.5"). */
void serve_fmt_seconds(int64_t ns, char *buf, size_t bufsz);

/* ---- runners (runner.c) ---- */

struct serve_query {
	struct serve_qconf conf;         /* configuration (sql owned) */
	struct sbpf_query *q;            /* compiled */
	struct serve_metrics *m;         /* its metrics (lock inside) */
	pthread_t thread;                /* runs the query */
	bool started;                    /* thread created */
	atomic_bool stop;                /* asks the thread to end */
	atomic_bool running;             /* the run is attached and going */
	atomic_bool ended;               /* the run returned (err is final) */
	bool reported;                   /* its error was printed */
	char err[512];                   /* why the run ended with an error ("" when none) */
	struct serve_query *next;        /* list of active queries */
};

/* Compiles @c's query and starts it. On a bad query returns -EINVAL with
 * the diagnostic in @err (multi-line, caret included). */
int serve_query_start(const struct serve_qconf *c, struct serve_query **out, char *err, size_t errsz);
/* Stops the thread (the run detaches everything) and frees the query. */
void serve_query_stop(struct serve_query *sq);
/* Whether @a and @b describe the same query (a reload keeps it running). */
bool serve_qconf_same(const struct serve_qconf *a, const struct serve_qconf *b);

/* Renders every query of @list plus the process health to @f; @scrapes
 * counts the requests answered so far per format (this one included). */
void serve_render(struct serve_query *list, FILE *f, enum serve_format fmt, const uint64_t scrapes[2]);

/* ---- HTTP (http.c) ---- */

struct serve_http;
/* Listens on @addr ("127.0.0.1:9477", "[::1]:0", ":9477"). The bound
 * address (with the port chosen for :0) goes into @bound. */
struct serve_http *serve_http_listen(const char *addr, char *bound, size_t boundsz, char *err, size_t errsz);
int serve_http_fd(const struct serve_http *h);
/* Accepts and answers one connection (call when the fd is readable):
 * GET /metrics is rendered by @render with the format the Accept header
 * asks for and the number of such requests per format so far. */
void serve_http_handle(struct serve_http *h,
		       void (*render)(void *ctx, FILE *f, enum serve_format fmt, const uint64_t scrapes[2]), void *ctx);
void serve_http_close(struct serve_http *h);

#endif /* SAFEBPF_SERVEINT_H */
