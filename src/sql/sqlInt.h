/* sqlInt.h - private interfaces of the SQL engine (src/sql/).
 *
 * Two halves meet here:
 *   - the catalog and event sources (catalog.c, tracefs.c, record.c,
 *     codegen.c, pair.c, source.c): the stable schema, tracefs formats,
 *     record layouts, MVSF generation, loading/attaching, ring-buffer
 *     decoding into rows, pairing;
 *   - the language and executor (lex.c, parse.c, bind.c, plan.c, exec.c,
 *     window.c, sink.c): text -> AST -> bound query -> plan -> rows out.
 * Rows flow between them as arrays of struct sql_value, one per table column.
 */
#ifndef SAFEBPF_SQLINT_H
#define SAFEBPF_SQLINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "safebpf/isa.h"

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

/* Where a column's value comes from (read by the source side: record.c,
 * codegen.c, source.c). An input names either a context value captured with
 * a helper ("$ts", "$cpu", "$pid", "$tid", "$uid", "$gid", "$cgroup",
 * "$comm") or a field of the tracepoint's tracefs format ("prev_pid"), on
 * one of the table's probes. */
struct sql_input {
	uint8_t probe;         /* index into sql_table.probes */
	int8_t elem;           /* element of an array field ("args" elem 2), -1: whole field */
	const char *name;      /* "$ts" or a format field name; NULL: unused input */
};

enum sql_conv {
	SQL_CONV_NUM,          /* integer from in[0] (sign from the tracefs format) */
	SQL_CONV_STR,          /* string from in[0]: char array, __data_loc, pointer or $comm */
	SQL_CONV_DIFF,         /* in[0] - in[1] (a duration between two probes) */
	SQL_CONV_DEV,          /* dev_t in[0] as "major:minor" */
	SQL_CONV_INET_ADDR,    /* address string: in[0] family, in[1] IPv4 bytes, in[2] IPv6 bytes */
	SQL_CONV_FAMILY,       /* address family number in[0] as "inet", "inet6", ... */
	SQL_CONV_TCP_STATE,    /* TCP state number in[0] as "ESTABLISHED", ... */
	SQL_CONV_TASK_STATE,   /* scheduler task state in[0] as "R", "S", "D", ... */
	SQL_CONV_SIGNAL,       /* signal number in[0] as "KILL", "TERM", ... */
};

struct sql_colsrc {
	enum sql_conv conv;        /* how inputs become the value */
	struct sql_input in[3];    /* inputs, in the order the conversion expects */
	uint16_t strmax;           /* bytes captured for strings read through a pointer or
				      __data_loc (0: default 256) */
};

struct sql_column {
	const char *name;      /* "pid" */
	const char *alias;     /* second accepted name ("syscall"), or NULL */
	enum sql_type type;    /* value type */
	const char *doc;       /* one line for `safebpf tables` and docs/schema.md */
	struct sql_colsrc src; /* where the value comes from (source side) */
};

/* Roles of a table's probes. A table is either a plain event table (one
 * probe, one row per event) or a paired table: probe 0 opens an event
 * (syscall entry, request issue), probe 1 closes it, and one row is made
 * per closing event that matches an open one (see sql_pair below). */
struct sql_probe {
	const char *tp;        /* "raw_syscalls/sys_enter" (tracefs events/<sys>/<name>) */
	const char *doc;       /* why the table uses it, for `safebpf tables NAME` */
};

struct sql_pairing {
	struct sql_input lkey[2];  /* key of an opening event (probe 0); name NULL: unused */
	struct sql_input rkey[2];  /* key of a closing event (probe 1), same order */
	size_t max_per_key;        /* open events kept per key (1: a new one replaces the
				      old, counted as evicted; 0: no limit) */
};

struct sql_table {
	const char *name;              /* "system_calls" */
	const char *alias;             /* "syscalls", or NULL */
	const char *doc;               /* one line */
	const struct sql_column *cols; /* context columns first, then event columns */
	size_t ncols;                  /* entries in cols */
	const char *const *tracepoints;/* "raw_syscalls/sys_enter", ... (NULL-terminated) */
	const struct sql_probe *probes;/* the same tracepoints with their roles */
	size_t nprobes;                /* 1 (event table) or 2 (paired table) */
	const struct sql_pairing *pair;/* pairing of probes 0 and 1, or NULL */
	const char *notes;             /* longer remarks for docs/schema.md, or NULL */
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
/* Whether column @col of @t can be read on the running kernel (its
 * tracepoint fields exist with a usable layout); when not, @why says why. */
bool sql_column_available(const struct sql_table *t, size_t col, char *why, size_t whysz);

/* ---- tracefs formats (tracefs.c) --------------------------------------- */

enum sql_field_kind {
	SQL_FIELD_INT,         /* integer (or array of integers: nelem > 1) */
	SQL_FIELD_CHARS,       /* fixed char array holding a string (char comm[16]) */
	SQL_FIELD_DATA_LOC,    /* __data_loc: u32 (len << 16 | offset from record start) */
	SQL_FIELD_REL_LOC,     /* __rel_loc: u32 (len << 16 | offset from the field's end) */
	SQL_FIELD_PTR,         /* a pointer (const char *filename) */
};

struct sql_tp_field {
	char name[64];         /* "prev_pid" */
	char type[96];         /* C type as written by the kernel ("pid_t", "char[16]") */
	enum sql_field_kind kind; /* how to read it */
	uint16_t offset;       /* byte offset in the raw tracepoint record */
	uint16_t size;         /* bytes (the whole array for arrays) */
	uint16_t nelem;        /* array elements (1 for scalars) */
	bool is_signed;        /* signed:1 */
};

struct sql_tp_format {
	char name[64];         /* "sys_enter" */
	uint32_t id;           /* tracepoint id (perf_event_attr.config) */
	struct sql_tp_field *fields; /* malloc'ed; common_* fields included */
	size_t nfields;              /* entries in fields */
};

/* Parses the text of an events/<sys>/<name>/format file. Returns 0, or
 * -EINVAL with the line and reason in @err. */
int sql_tracefs_parse(const char *text, struct sql_tp_format *fmt, char *err, size_t errsz);
/* Reads and parses the format of @tp ("sys/name") from the mounted tracefs.
 * Returns 0, -ENOENT when the tracepoint does not exist, or another error
 * with a reason in @err. */
int sql_tracefs_load(const char *tp, struct sql_tp_format *fmt, char *err, size_t errsz);
/* Field by name, or NULL. */
const struct sql_tp_field *sql_tp_field(const struct sql_tp_format *fmt, const char *name);
void sql_tp_format_free(struct sql_tp_format *fmt);

/* ---- records (record.c): what an MVSF captures, how records become rows -- */

#define SQL_MAX_PROBES 2     /* probes per table */
#define SQL_MAX_CAPS 32      /* captures per probe record */
#define SQL_REC_HDR 8        /* record header: u32 tracepoint id, u32 record size */
#define SQL_MAX_RECORD 4096  /* bytes per record (header included) */

/* One value an MVSF copies into its record. */
enum sql_cap_kind {
	SQL_CAP_TS,            /* u64 bpf_ktime_get_ns() */
	SQL_CAP_CPU,           /* u32 bpf_get_smp_processor_id() */
	SQL_CAP_PID_TGID,      /* u64 bpf_get_current_pid_tgid(): tgid << 32 | tid */
	SQL_CAP_UID_GID,       /* u64 bpf_get_current_uid_gid(): gid << 32 | uid */
	SQL_CAP_CGROUP,        /* u64 bpf_get_current_cgroup_id() */
	SQL_CAP_COMM,          /* char[16] bpf_get_current_comm() */
	SQL_CAP_FIELD,         /* the raw bytes of a tracepoint field (integers, arrays) */
	SQL_CAP_LOC_STR,       /* string behind a __data_loc/__rel_loc field (kernel memory) */
	SQL_CAP_KPTR_STR,      /* string behind a pointer field into kernel memory */
	SQL_CAP_UPTR_STR,      /* string behind a pointer field into user memory */
};

struct sql_cap {
	enum sql_cap_kind kind;           /* what to capture */
	const struct sql_tp_field *field; /* tracepoint field (FIELD and *_STR), else NULL */
	uint16_t off;                     /* byte offset in the record */
	uint16_t size;                    /* bytes in the record */
};

/* The record of one probe: header, then the captures at fixed offsets. */
struct sql_layout {
	const char *tp;                   /* "raw_syscalls/sys_enter" */
	const struct sql_tp_format *fmt;  /* its tracefs format (borrowed) */
	uint32_t tp_id;                   /* tracepoint id, first header word */
	uint32_t size;                    /* record bytes, a multiple of 8 */
	struct sql_cap caps[SQL_MAX_CAPS]; /* in record order */
	size_t ncaps;                     /* entries used in caps */
};

enum sql_part {
	SQL_PART_ALL,          /* the whole value */
	SQL_PART_LO32,         /* low 32 bits (tid of pid_tgid, uid of uid_gid) */
	SQL_PART_HI32,         /* high 32 bits (tgid, gid) */
};

/* An input bound to a capture of a probe record. */
struct sql_inbind {
	int8_t probe;          /* probe index, -1: unused input */
	int8_t cap;            /* capture index in that probe's layout */
	int16_t elem;          /* array element, -1: whole field */
	uint8_t part;          /* enum sql_part */
};

struct sql_colbind {
	bool used;                     /* column requested */
	struct sql_inbind in[3];       /* its inputs */
	uint32_t stroff, strsize;      /* string storage for the column (STR only) */
};

/* Everything needed to generate the probes of one table and to turn their
 * records into rows, for one set of requested columns. */
struct sql_recplan {
	const struct sql_table *t;            /* the table */
	struct sql_layout lay[SQL_MAX_PROBES];/* per probe */
	struct sql_colbind *cols;             /* per table column */
	struct sql_inbind lkey[2], rkey[2];   /* pairing keys (paired tables) */
	size_t nkeys;                         /* 0 for event tables */
	char *strbuf;                         /* string storage of one row */
};

/* Binds the requested columns of @t (@needed per column, NULL: all) to
 * captures, using the formats of its probes (@fmts[i] for t->probes[i]).
 * Pairing keys are always captured. Returns 0, or -ENOENT/-EINVAL with the
 * first column that cannot be read on this kernel named in @err. */
int sql_recplan_build(struct sql_recplan *rp, const struct sql_table *t, const bool *needed,
		      const struct sql_tp_format *const *fmts, char *err, size_t errsz);
void sql_recplan_free(struct sql_recplan *rp);
/* Checks one column of @t against the formats; 0 or -errno with @err. */
int sql_column_check(const struct sql_table *t, size_t col, const struct sql_tp_format *const *fmts,
		     char *err, size_t errsz);
/* The probe index a record (@len bytes) belongs to, after checking its
 * header; -EINVAL for a malformed record. */
int sql_recplan_probe(const struct sql_recplan *rp, const void *rec, size_t len);
/* The pairing key of a record of probe @probe (0: opening, 1: closing). */
void sql_recplan_key(const struct sql_recplan *rp, int probe, const void *rec, uint64_t key[2]);
/* Decodes a row: @rec0 is the probe-0 record, @rec1 the probe-1 record of
 * a paired table (NULL otherwise). Strings point into @rp's storage and stay
 * valid until the next call. */
void sql_recplan_row(struct sql_recplan *rp, const void *rec0, const void *rec1, struct sql_value *row);

/* ---- MVSF code generation (codegen.c) ----------------------------------- */

/* Maps an MVSF program uses (file descriptors, patched into lddw). */
struct sql_mvsf_maps {
	int ringbuf_fd;        /* BPF_MAP_TYPE_RINGBUF receiving the records */
	int scratch_fd;        /* per-CPU array, one value of >= the largest record */
	int lost_fd;           /* per-CPU array, one u64: records the ring buffer refused */
};

struct sql_mvsf_opts {
	size_t sz;             /* sizeof(struct sql_mvsf_opts) */
	uint32_t skip_tgid;    /* events of this process are not recorded (0: none) */
};

/* Generates the minimum verifier-safe function of one probe: stage the
 * record in per-CPU scratch (context values, fields, strings), reserve a
 * ring-buffer record, copy, submit; count a lost event when the reserve
 * fails. Returns 0 and a malloc'ed program in *@out, or a negative error. */
int sql_codegen_mvsf(const struct sql_layout *lay, const struct sql_mvsf_maps *maps,
		     const struct sql_mvsf_opts *opts, struct sbpf_insn **out, size_t *n);

/* ---- pairing operator (pair.c) ------------------------------------------ */

/* Matches closing ("right") events with earlier opening ("left") events of
 * equal key: each right event takes the latest unmatched left event with
 * the same key. Used for paired tables (sys_enter/sys_exit) and for JOINs of
 * two event streams. Memory is bounded: when a bound is hit the oldest
 * entries are evicted, and every eviction is counted. */
struct sql_pair_opts {
	size_t sz;                 /* sizeof(struct sql_pair_opts) */
	size_t max_entries;        /* unmatched left entries kept (0: 65536) */
	size_t max_bytes;          /* key + payload bytes kept (0: 64 MiB) */
	size_t max_per_key;        /* left entries kept per key (0: no limit) */
	/* Called for every evicted entry (payload about to be dropped), or NULL. */
	void (*on_evict)(void *ctx, const void *payload, size_t len);
	void *evict_ctx;           /* first argument of on_evict */
};

struct sql_pair;

/* A new, empty operator (@opts may be NULL). NULL with errno on failure. */
struct sql_pair *sql_pair_new(const struct sql_pair_opts *opts);
void sql_pair_free(struct sql_pair *p);
/* Stores a left event: copies @key and @payload. @ts orders entries for
 * sql_pair_expire(). May evict older entries to stay within bounds.
 * Returns 0, -E2BIG when one entry exceeds max_bytes, or -ENOMEM. */
int sql_pair_put(struct sql_pair *p, const void *key, size_t klen,
		 const void *payload, size_t plen, uint64_t ts);
/* For a right event: removes the latest unmatched left entry with an equal
 * key and returns its payload (valid until the next call on @p), or NULL. */
const void *sql_pair_take(struct sql_pair *p, const void *key, size_t klen, size_t *plen);
/* Evicts (and counts) entries stored with ts < @before, oldest first in
 * insertion order, stopping at the first entry that is not older (events
 * arrive in nearly increasing time). Returns how many. */
size_t sql_pair_expire(struct sql_pair *p, uint64_t before);
uint64_t sql_pair_evicted(const struct sql_pair *p);
size_t sql_pair_count(const struct sql_pair *p);   /* entries held */
size_t sql_pair_bytes(const struct sql_pair *p);   /* key + payload bytes held */

/* ---- event sources (source.c) -------------------------------------------- */

struct sql_source_opts {
	size_t sz;                 /* sizeof(struct sql_source_opts) */
	const bool *needed;        /* per column of the table: read it? (NULL: all) */
	size_t ringbuf_bytes;      /* ring buffer size (0: default, 4 MiB) */
	size_t pair_entries;       /* bound on unmatched opening events (0: 65536) */
	bool include_self;         /* also record this process's own events (off by default:
				      polling makes system calls that would feed back) */
	bool load_only;            /* load (the verifier judges) but do not attach: no rows */
	/* Extension point for the optimizer: fields pushed into the generated
	 * programs (filters evaluated before bpf_ringbuf_reserve, projections)
	 * will be added here, after this line, keeping sz-based compatibility.
	 * Without them a source runs the minimum verifier-safe functions. */
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

/* Waits up to @timeout_ms for events and delivers the rows they complete
 * (timeout 0: only what is already there, without waiting).
 * Returns the number of rows delivered or a negative error. */
int sql_source_poll(struct sql_source *s, int timeout_ms, sql_row_fn fn, void *ctx);

/* Delivers the rows of every event that happened before this call: waits
 * (up to @timeout_ms) until the consumer has passed every record reserved
 * so far, including records other CPUs are still filling. Use it to finish
 * a bounded query or after a traced workload exited. Returns the rows
 * delivered, or -ETIMEDOUT (rows already delivered stay delivered). */
int sql_source_drain(struct sql_source *s, int timeout_ms, sql_row_fn fn, void *ctx);

/* Events the kernel could not hand over (ring buffer full, or the program
 * not run because another BPF program was running on that CPU), and events
 * dropped by bounded user-space state (unmatched pairing entries), counted
 * since open. */
uint64_t sql_source_lost(const struct sql_source *s);
uint64_t sql_source_evicted(const struct sql_source *s);

/* What a source loaded, for EXPLAIN-like output and for tests that check
 * that nothing stays attached after close. Pointers stay valid until close. */
struct sql_source_info {
	size_t nprobes;                        /* entries used in probe[] */
	struct {
		const char *tp;                /* "raw_syscalls/sys_enter" */
		uint32_t prog_id;              /* kernel program id */
		uint32_t link_id;              /* kernel link id */
		uint32_t record_bytes;         /* bytes per ring-buffer record */
		const struct sbpf_insn *insns; /* the generated program */
		size_t ninsns;                 /* its length in slots */
	} probe[SQL_MAX_PROBES];
	uint32_t ringbuf_bytes;                /* ring buffer size */
};
void sql_source_info(const struct sql_source *s, struct sql_source_info *info);

/* Detaches and unloads everything; nothing stays attached or pinned. */
void sql_source_close(struct sql_source *s);

#endif /* SAFEBPF_SQLINT_H */
