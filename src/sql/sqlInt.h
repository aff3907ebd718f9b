/* sqlInt.h - private interfaces of the SQL engine (src/sql/).
 *
 * Two halves meet here:
 *   - the catalog and event sources (catalog.c, codegen.c, source.c, pair.c):
 *     the stable schema, tracefs formats, MVSF generation, loading/attaching,
 *     ring-buffer decoding into rows;
 *   - the language and executor (lex.c, parse.c, bind.c, plan.c, exec.c,
 *     window.c, sink.c): text -> AST -> bound query -> plan -> rows out.
 * Rows flow between them as arrays of struct sql_value, one per table column.
 */
#ifndef SAFEBPF_SQLINT_H
#define SAFEBPF_SQLINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- values ------------------------------------------------------------ */

enum sql_type {
	SQL_T_NULL,      /* no value (unknown, or a column not requested) */
	SQL_T_INT,       /* signed 64-bit integer */
	SQL_T_UINT,      /* unsigned 64-bit integer (ids, addresses, sizes) */
	SQL_T_TIME,      /* nanoseconds since boot (CLOCK_MONOTONIC, bpf_ktime_get_ns) */
	SQL_T_DURATION,  /* nanoseconds (difference of two times, duration literals) */
	SQL_T_BOOL,      /* result of comparisons */
	SQL_T_STR,       /* NUL-terminated string (comm, paths, rwbs) */
};

struct sql_value {
	enum sql_type type;  /* SQL_T_NULL when absent */
	union {
		int64_t i;       /* INT, TIME, DURATION, BOOL */
		uint64_t u;      /* UINT */
		const char *s;   /* STR: owned by the row's producer, valid during the callback */
	};
};

/* ---- catalog ----------------------------------------------------------- */

struct sql_column {
	const char *name;      /* "pid" */
	const char *alias;     /* second accepted name ("syscall"), or NULL */
	enum sql_type type;    /* value type */
	const char *doc;       /* one line for `safebpf tables` and docs/schema.md */
};

struct sql_table {
	const char *name;              /* "system_calls" */
	const char *alias;             /* "syscalls", or NULL */
	const char *doc;               /* one line */
	const struct sql_column *cols; /* context columns first, then event columns */
	size_t ncols;
	const char *const *tracepoints;/* "raw_syscalls/sys_enter", ... (NULL-terminated) */
};

size_t sql_catalog_count(void);
const struct sql_table *sql_catalog_get(size_t i);
/* Table by name or alias (case-insensitive), or NULL. */
const struct sql_table *sql_catalog_find(const char *name);
/* Column index by name or alias (case-insensitive), or -1. */
int sql_table_column(const struct sql_table *t, const char *name);
/* Whether every tracepoint of @t exists on the running kernel; when not,
 * @why names the first missing one. */
bool sql_table_available(const struct sql_table *t, char *why, size_t whysz);

/* ---- event sources ------------------------------------------------------ */

struct sql_source_opts {
	size_t sz;                 /* sizeof(struct sql_source_opts) */
	const bool *needed;        /* per column of the table: read it? (NULL: all) */
	size_t ringbuf_bytes;      /* ring buffer size (0: default) */
};

/* A running MVSF-only event source for one table: its programs are loaded
 * and attached; rows come out of poll() until close(). */
struct sql_source;

/* Loads and attaches the MVSF programs of @t. Returns NULL with a message
 * for people in @err (missing tracepoint, missing privilege, ...). */
struct sql_source *sql_source_open(const struct sql_table *t, const struct sql_source_opts *opts,
				   char *err, size_t errsz);

/* Called for every row: @row has one value per table column (columns not
 * needed are SQL_T_NULL). Return non-zero to stop polling. */
typedef int (*sql_row_fn)(void *ctx, const struct sql_value *row);

/* Waits up to @timeout_ms for events and delivers the rows they complete.
 * Returns the number of rows delivered or a negative error. */
int sql_source_poll(struct sql_source *s, int timeout_ms, sql_row_fn fn, void *ctx);

/* Events the kernel could not hand over (ring buffer full), and events
 * dropped by bounded user-space state (e.g. unmatched pairing entries),
 * counted since open. */
uint64_t sql_source_lost(const struct sql_source *s);
uint64_t sql_source_evicted(const struct sql_source *s);

/* Detaches and unloads everything; nothing stays attached or pinned. */
void sql_source_close(struct sql_source *s);

#endif /* SAFEBPF_SQLINT_H */
