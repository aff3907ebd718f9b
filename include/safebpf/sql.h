/* safebpf/sql.h - verifier-safe SQL over kernel events: compile a query
 * (errors with line:column, caret and hint), explain it (plan, the eBPF
 * programs loaded per tracepoint, the user-space operators), and run it,
 * writing rows as a table, CSV or JSON lines, or handing typed rows
 * (safebpf/row.h) to a callback. The language is documented in
 * docs/sql.md, the tables in docs/schema.md. Pointer arguments may not be
 * NULL unless their comment says so; every __free function accepts NULL.
 */
#ifndef SAFEBPF_SQL_H
#define SAFEBPF_SQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "safebpf/diag.h"
#include "safebpf/row.h"

#ifdef __cplusplus
extern "C" {
#endif

struct sbpf_query;

/* Where operators run (`--plan`): the optimizer's choice, the minimum
 * verifier-safe functions only (every operator in user space), or as much
 * as possible in the kernel. Every strategy falls back, candidate by
 * candidate, to the MVSF-only plan when the kernel verifier refuses one. */
enum sbpf_plan_strategy {
	SBPF_PLAN_AUTO,       /* cheapest plan the verifier accepts (default) */
	SBPF_PLAN_MVSF,       /* MVSF only */
	SBPF_PLAN_KERNEL_MAX, /* most operators in the kernel */
};

struct sbpf_query_opts {
	size_t sz;          /* sizeof(struct sbpf_query_opts) */
	const char *file;   /* name shown in diagnostics (NULL: "<query>") */
	enum sbpf_plan_strategy plan; /* optimizer strategy */
	/* Window of an aggregate query without a WINDOW clause (0: none, the
	 * result comes when the run ends). Continuous consumers (serve) set it. */
	uint64_t default_window_ns;
};

/* Parses "auto", "mvsf", "kernel-max". 0 or -EINVAL. */
int sbpf_plan_strategy_parse(const char *name, enum sbpf_plan_strategy *out);

/* Compiles @text: parse, bind against the catalog, plan. On success stores
 * the query in *@out and returns 0. On a bad query returns -EINVAL with one
 * diagnostic in @diags (freed by the caller with sbpf_diags__free()); on
 * allocation failure -ENOMEM. A compiled query always runs: everything the
 * language does not support is refused here, including expressions nested
 * more than 1,000 levels deep. @opts and @diags may be NULL (defaults; the
 * diagnostic is dropped); @text and @out may not (-EINVAL, *@out NULL). */
int sbpf_query__compile(const char *text, const struct sbpf_query_opts *opts, struct sbpf_query **out,
			struct sbpf_diags *diags);
void sbpf_query__free(struct sbpf_query *q);

/* Output columns: how many, and the header of column @i. */
size_t sbpf_query__ncols(const struct sbpf_query *q);
const char *sbpf_query__col_name(const struct sbpf_query *q, size_t i);
/* Name, value kind and role (grouping key, which aggregate) of column @i
 * into @info (info->sz set by the caller). 0, or -EINVAL for a bad @i. */
int sbpf_query__col_info(const struct sbpf_query *q, size_t i, struct sbpf_col_info *info);
/* Whether the query groups or aggregates; its window (0: none). */
bool sbpf_query__aggregate(const struct sbpf_query *q);
uint64_t sbpf_query__window_ns(const struct sbpf_query *q);

enum {
	SBPF_EXPLAIN_KERNEL = 1, /* also load the programs (not attached) and disassemble them */
	SBPF_EXPLAIN_OPTIMIZER = 2, /* only the optimizer's candidates, with the verdicts of the last
				       run (nothing loaded) */
};

/* Writes the bound query, the plan, and the kernel and user-space parts.
 * With SBPF_EXPLAIN_KERNEL and without the privileges to load programs, the
 * kernel part says what is missing instead of the code. Returns 0 or a
 * negative error (with a reason in @err, which may be NULL). */
int sbpf_query__explain(const struct sbpf_query *q, FILE *out, unsigned flags, char *err, size_t errsz);

enum sbpf_query_format {
	SBPF_QUERY_TABLE,   /* aligned columns; histograms drawn as bars */
	SBPF_QUERY_CSV,     /* header line, then one line per row */
	SBPF_QUERY_JSON,    /* NDJSON: one JSON object per line per row, one per window with its counts */
	SBPF_QUERY_FOLDED,  /* flame-graph folded lines: "col;col;...;col count" (the last column is the
			       count when it is an integer, else 1); stack columns are "root;...;leaf" */
	SBPF_QUERY_SVG,     /* a flame-graph SVG of the folded lines of the whole run, written at the end */
};

/* How CSV and JSON write time columns. */
enum sbpf_time_format {
	SBPF_TIME_BOOT,     /* nanoseconds since boot, an integer (default) */
	SBPF_TIME_WALL,     /* RFC 3339 UTC with nanoseconds: "2026-12-07T12:21:50.123456789Z" */
};

struct sbpf_query_run_opts {
	size_t sz;                       /* sizeof(struct sbpf_query_run_opts) */
	enum sbpf_query_format format;   /* output format */
	FILE *out;                       /* rows (NULL: stdout) */
	FILE *log;                       /* loss reports and the final summary, or NULL */
	uint64_t duration_ns;            /* stop after this long (0: until should_stop) */
	int pid;                         /* only events of this process (0: every process) */
	bool follow_forks;               /* with pid: also its descendants created while running */
	/* Called once every program is attached (start a traced command here);
	 * non-zero stops the run before it starts. NULL: nothing to do. */
	int (*attached)(void *ctx);
	/* Checked between polls (a signal interrupts a poll): true ends the run
	 * after reading every event already produced. NULL: never. */
	bool (*should_stop)(void *ctx);
	void *ctx;                       /* argument of the callbacks */
	enum sbpf_time_format time;      /* time columns in CSV / JSON */
	/* Typed rows: when set, each row goes here instead of to @out (the
	 * row and its strings and histograms are valid during the call).
	 * Returns 0, or a negative errno that ends the run with that error. */
	int (*row)(void *ctx, const struct sbpf_row *row);
	/* With @row: called at the end of every window and of the run. */
	int (*window)(void *ctx, const struct sbpf_window *w);
	/* cpu_samples: samples per second on each CPU (0: 99). */
	unsigned sample_hz;
};

/* Runs @q: opens the event sources (the kernel verifies and attaches their
 * programs), streams rows through the user-space operators to the sink,
 * closes windows on the wall clock, and on stop reads the events already
 * produced, emits the last window and detaches everything. @opts may be
 * NULL (table to stdout, until the process is killed). Returns 0, or a
 * negative error with a message for people in @err: -EPERM names the
 * missing capability, -ENOENT a missing tracepoint. */
int sbpf_query__run(struct sbpf_query *q, const struct sbpf_query_run_opts *opts, char *err,
		    size_t errsz);

/* What the last run chose: the candidate plan (1-based, in explain's
 * numbering), how many candidates were loaded before it, and its placement. */
struct sbpf_query_plan_info {
	int chosen;             /* candidate number, 0 before a run */
	int tried;              /* candidates loaded (1: the first verified) */
	int rejected;           /* of those, refused by the kernel verifier */
	int ncands;             /* candidates */
	bool kernel;            /* some operator runs in the kernel */
	const char *placement;  /* "filter 1/1, pair, aggregate @kernel" (valid until free) */
};
void sbpf_query__plan_info(const struct sbpf_query *q, struct sbpf_query_plan_info *info);

/* Writes a random valid query over the tables this kernel provides into
 * @buf (grammar-based: every filter, aggregate, window and join form), for
 * testing the optimizer. The same @seed gives the same query. Returns its
 * length, or -ENOSPC when @bufsz is too small. */
int sbpf_query_random(uint64_t seed, char *buf, size_t bufsz);

/* Parses a duration as the language writes it ("10us", "5ms", "1sec", "2s",
 * "1m", "1.5s"); a bare number means seconds. Returns 0 with nanoseconds in
 * *@ns, or -EINVAL. */
int sbpf_parse_duration(const char *text, uint64_t *ns);

#ifdef __cplusplus
}
#endif
#endif /* SAFEBPF_SQL_H */
