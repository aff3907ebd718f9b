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
#include <stdio.h>
#include <stdint.h>

#include "safebpf/isa.h"
#include "safebpf/row.h"

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
	SQL_CONV_HEX,          /* byte array in[0] as lower-case hex ("7f000001") */
	SQL_CONV_EXIT_STATUS,  /* task exit_code in[0]: the status given to exit (bits 8..15) */
	SQL_CONV_EXIT_SIGNAL,  /* task exit_code in[0]: the terminating signal (bits 0..6) */
	SQL_CONV_CORE_DUMP,    /* task exit_code in[0]: core dumped (bit 7) */
	SQL_CONV_ARGV,         /* user argv array in[0] (SQL_CAP_UARGV): arguments joined by spaces */
	SQL_CONV_ARGC,         /* user argv array in[0] (SQL_CAP_UARGV): arguments read */
	SQL_CONV_KSTACK,       /* kernel stack in[0] ("$kstack") as "root;...;leaf" names (kallsyms) */
	SQL_CONV_USTACK,       /* user stack in[0] ("$ustack") of process in[1] ("$pid"), named from
				  its memory map and the ELF symbols of the mapped files */
	SQL_CONV_USTR,         /* string at the user address in[0] (an integer field), read by the
				  probe: str(arg0) (bind.c); strmax - 1 bytes at most */
	SQL_CONV_KSTR,         /* the same at a kernel address: kstr(field) */
};

#define SQL_STR_DEFAULT 64     /* str()/kstr(): bytes kept without a length argument */
#define SQL_STR_MAX 1024       /* str()/kstr(): the largest length argument */


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
	const char *unusable;  /* why the column cannot be read (a USDT operand safebpf does
				  not decode): naming it is an error, SELECT * leaves it out; NULL */
};

/* Whether column @c is a stack (kstack/ustack): a string made in user space
 * from captured addresses, never compared or grouped in the kernel, and
 * left out of SELECT * (asked for by name). */
static inline bool sql_column_is_stack(const struct sql_column *c)
{
	return c->src.conv == SQL_CONV_KSTACK || c->src.conv == SQL_CONV_USTACK;
}

/* Whether column @c was derived by str()/kstr() for one query (bind.c):
 * never part of SELECT * or of a table's listing. */
static inline bool sql_column_is_derived(const struct sql_column *c)
{
	return c->src.conv == SQL_CONV_USTR || c->src.conv == SQL_CONV_KSTR;
}

/* Roles of a table's probes. A table is either a plain event table (one
 * probe, one row per event) or a paired table: probe 0 opens an event
 * (syscall entry, request issue), probe 1 closes it, and one row is made
 * per closing event that matches an open one (see sql_pair below). */
/* Where the context values of a probe come from when the probe may run in
 * a task other than the one the event belongs to: an earlier tracepoint
 * that always runs in that task (block_getrq, in the task submitting the
 * I/O) records the task's identity under a key of its fields; the probe
 * looks it up under the same fields of its own record (korigin.c). */
struct sql_origin {
	const char *tp;        /* "block/block_getrq" */
	const char *key[2];    /* integer fields naming the event in both tracepoints
				  ("dev", "sector"); NULL: unused */
	const char *only_if;   /* integer field of both tracepoints that must be non-zero
				  for the event to have an origin ("nr_sector": a cache flush
				  has none, see catalog.c); NULL: every event has one */
};

struct sql_probe {
	const char *tp;        /* "raw_syscalls/sys_enter" (tracefs events/<sys>/<name>) */
	const char *doc;       /* why the table uses it, for `safebpf tables NAME` */
	const struct sql_origin *origin; /* identity of the event's task, or NULL: the
				  current task is the event's */
	bool any_context;      /* may run in interrupt context or in an unrelated task (block
				  completion): its current task says nothing about the row, so
				  the process filter and the tracer's self-skip do not apply
				  there (the row's task comes from the opening probe) */
};

struct sql_pairing {
	struct sql_input lkey[2];  /* key of an opening event (probe 0); name NULL: unused */
	struct sql_input rkey[2];  /* key of a closing event (probe 1), same order */
	size_t max_per_key;        /* open events kept per key (1: a new one replaces the
				      old, counted as evicted; 0: no limit) */
	bool thread_key;           /* the key is the thread id alone: a thread's entry dies
				      with the thread (kernel pairing: sched_process_exit) */
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
	const char *attribution;       /* the task a row belongs to, which -p/-c match
					  ("rows belong to ...") */
	const char *filter_gap;        /* events a -p/-c filter cannot attribute to the
					  traced processes (said on stderr), or NULL */
};

size_t sql_catalog_count(void);
const struct sql_table *sql_catalog_get(size_t i);
/* Table by name or alias (case-insensitive), or NULL; a dotted name is a
 * generic tracepoint table (sql_tptable_find). */
const struct sql_table *sql_catalog_find(const char *name);
/* The context columns every table starts with (ts, cpu, pid, tid, comm,
 * uid, gid, cgroup, taken at probe 0), @n of them. */
const struct sql_column *sql_catalog_context(size_t *n);
/* The stack columns (kstack, ustack of the task running probe 0) that
 * tables with a meaningful current task end with, @n of them. */
const struct sql_column *sql_catalog_stacks(size_t *n);

/* Generic tables (tptable.c): every tracepoint is a table,
 * tracepoint.SUBSYSTEM.EVENT or SUBSYSTEM.EVENT, built from its tracefs
 * format on first use and kept for the life of the process. */
/* "tracepoint.oom.mark_victim" or "oom.mark_victim" -> "oom/mark_victim";
 * -EINVAL when @name is not a dotted tracepoint name. */
int sql_tptable_path(const char *name, char *tp, size_t tpsz);
/* The generic table named @name, or NULL with errno and a reason in @err
 * (not a tracepoint name, tracepoint missing on this kernel, ...). */
const struct sql_table *sql_tptable_find(const char *name, char *err, size_t errsz);
/* Whether @t is a generic table. */
bool sql_table_generic(const struct sql_table *t);
/* Every tracepoint of the running kernel ("sys/event"), sorted, in a
 * malloc'ed vector (free with sql_tptable_list_free). 0 or -errno. */
int sql_tptable_list(char ***out, size_t *n);
void sql_tptable_list_free(char **v, size_t n);

/* User-space function tables (utable.c): "uprobe:PATH:FUNC",
 * "uretprobe:PATH:FUNC", "ufunc:PATH:FUNC" (the parser's name for
 * uprobe('PATH', 'FUNC') ...), and USDT probe tables "usdt:PATH:SPEC"
 * (usdt('PATH', 'provider:name')). Whether @name is one; the table (built
 * on first use, kept), or NULL with errno and a reason in @err (missing
 * file, not ELF, stripped, no such function or probe, ambiguous probe). */
bool sql_utable_name(const char *name);
const struct sql_table *sql_utable_find(const char *name, char *err, size_t errsz);

/* str(ptr[, len]) / kstr(ptr[, len]) (strptr.c): whether function @fn is
 * one (*@user: str, reading user memory); whether column @col of @t cannot
 * hold an address (true, with the reason in @why); the index of the string column derived from
 * column @col of side @side for a query, adding it to a copy of the table
 * that replaces q->tables[@side] (arena-allocated), or -ENOMEM. */
struct sql_arena;
struct sql_query;
bool sql_strptr_name(const char *fn, bool *user);
bool sql_strptr_refusal(const struct sql_table *t, size_t col, char *why, size_t whysz);
int sql_strptr_column(struct sql_arena *a, struct sql_query *q, int side, int col, bool user, unsigned len);

/* USDT probes (usdt.c): the SystemTap SDT notes (.note.stapsdt) of an ELF
 * file, one entry per probe (provider:name) with all its sites. */
#define SQL_USDT_MAX_ARGS 12   /* arguments per probe (sdt.h allows 12) */
#define SQL_USDT_MAX_SITES 64  /* sites attached per probe */
#define SQL_USDT_MAX_VARIANTS 8 /* different argument places among a probe's sites */

enum sql_usdt_loc {
	SQL_USDT_REG,          /* a register of struct pt_regs */
	SQL_USDT_MEM,          /* user memory at a register + imm */
	SQL_USDT_CONST,        /* the constant imm */
	SQL_USDT_BAD,          /* an operand safebpf does not decode (why says which) */
};

struct sql_usdt_arg {
	enum sql_usdt_loc loc; /* where the value is */
	uint8_t size;          /* bytes: 1, 2, 4 or 8 ("N@" / "-N@") */
	bool is_signed;        /* a negative size prefix */
	uint16_t reg;          /* REG, MEM: byte offset in struct pt_regs (ip for %rip) */
	int64_t imm;           /* MEM: displacement; CONST: the value */
	char text[128];        /* the operand as the note writes it ("-4@%edi") */
	char why[200];         /* BAD: why it cannot be read */
};

struct sql_usdt_probe {
	char provider[64];     /* "python" */
	char name[64];         /* "gc__start" */
	uint64_t sites[SQL_USDT_MAX_SITES]; /* file offsets of the sites (uprobe offsets) */
	size_t nsites;         /* sites in the file (only the first SQL_USDT_MAX_SITES kept) */
	uint8_t site_variant[SQL_USDT_MAX_SITES]; /* the argument places of each site */
	uint64_t sema;         /* file offset of the semaphore (reference counter), 0: none */
	struct sql_usdt_arg args[SQL_USDT_MAX_VARIANTS][SQL_USDT_MAX_ARGS]; /* argument places:
				  one set per variant (sites that keep their arguments in the same
				  places share one), variant 0 at the first site */
	size_t nvariants;      /* variants in args */
	size_t nargs;          /* arguments */
	char mixed[200];       /* why the sites cannot be read by one table (a different
				  number of arguments, type or more than SQL_USDT_MAX_VARIANTS
				  variants), or "" */
	char argstr[256];      /* the first site's argument string */
};

/* Every USDT probe of ELF file @path in a malloc'ed vector (free()), in
 * note order. 0, or -ENOENT (no file), -ENOEXEC (not a 64-bit ELF file),
 * -ENODATA (no .note.stapsdt) with a reason in @err. */
int sql_usdt_list(const char *path, struct sql_usdt_probe **out, size_t *n, char *err, size_t errsz);
/* Probe @spec ("provider:name", or "name" when one provider has it) of
 * @path into @out. 0, the errors of sql_usdt_list, -ENOENT (no such probe:
 * @err lists a few) or -EINVAL (ambiguous: @err lists the candidates). */
int sql_usdt_find(const char *path, const char *spec, struct sql_usdt_probe *out, char *err, size_t errsz);

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
	SQL_FIELD_OPAQUE,      /* bytes of unknown length ("char buf[]" outside __data_loc):
				  parsed so the other fields stay usable, never read */
	SQL_FIELD_UMEM,        /* a USDT argument in user memory: size bytes at the register
				  at offset (struct pt_regs) plus imm, read with
				  bpf_probe_read_user (zero when unreadable) */
	SQL_FIELD_CONST,       /* a USDT argument that is the constant imm (size bytes; offset 0) */
	SQL_FIELD_USDT_SITES,  /* a USDT argument kept in different places at different
				  sites: sites[k] is where at the sites attached with cookie k
				  (bpf_get_attach_cookie) */
};

struct sql_tp_field {
	char name[64];         /* "prev_pid" */
	char type[96];         /* C type as written by the kernel ("pid_t", "char[16]") */
	enum sql_field_kind kind; /* how to read it */
	uint16_t offset;       /* byte offset in the raw tracepoint record */
	uint16_t size;         /* bytes (the whole array for arrays) */
	uint16_t nelem;        /* array elements (1 for scalars) */
	bool is_signed;        /* signed:1 */
	int64_t imm;           /* SQL_FIELD_UMEM: displacement; SQL_FIELD_CONST: value */
	const struct sql_usdt_arg *sites; /* SQL_FIELD_USDT_SITES: nsites places (owned by
				  the format, in the fields' allocation) */
	uint8_t nsites;        /* SQL_FIELD_USDT_SITES: entries in sites */
};

struct sql_tp_format {
	char name[64];         /* "sys_enter" */
	uint32_t id;           /* tracepoint id (perf_event_attr.config) */
	struct sql_tp_field *fields; /* malloc'ed; common_* fields included */
	size_t nfields;              /* entries in fields */
};

/* Event sources that are not tracepoints are probes with reserved names
 * and built-in formats (sql_tracefs_load gives them): "perf/cpu_clock" (a
 * sampling perf event; no fields), and "uprobe/PATH:FUNC",
 * "uretprobe/PATH:FUNC" (a user function's entry and return; fields are
 * the argument and return registers of struct pt_regs). */
enum sql_probe_kind {
	SQL_PROBE_TRACEPOINT,  /* tracefs events/<sys>/<name> */
	SQL_PROBE_CPU_CLOCK,   /* "perf/cpu_clock": PERF_COUNT_SW_CPU_CLOCK samples */
	SQL_PROBE_UPROBE,      /* "uprobe/PATH:FUNC" */
	SQL_PROBE_URETPROBE,   /* "uretprobe/PATH:FUNC" */
	SQL_PROBE_USDT,        /* "usdt/PATH:PROVIDER:NAME" (fields arg0..: usdt.c) */
};
enum sql_probe_kind sql_probe_kind(const char *tp);
#define SQL_CPU_CLOCK_TP "perf/cpu_clock"
#define SQL_SAMPLE_HZ 99       /* default sampling frequency of cpu_samples */

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
	SQL_CAP_TASK,          /* integer member of the current task_struct (offset from BTF) */
	SQL_CAP_LOC_BYTES,     /* u32 length, 4 bytes of padding, then up to size - 8 bytes of
				  the array behind a __data_loc/__rel_loc field (not a string) */
	SQL_CAP_UARGV,         /* u64 count, then SQL_ARGV_MAX strings of SQL_ARGV_ARG bytes: the
				  user argv array behind a pointer field (const char *const *) */
	SQL_CAP_KSTACK,        /* SQL_STACK_DEPTH u64 kernel return addresses, innermost first,
				  zero-filled (bpf_get_stack) */
	SQL_CAP_USTACK,        /* the same for the user stack (BPF_F_USER_STACK, frame pointers) */
	SQL_CAP_RUNQ,          /* u64 tasks waiting on the current CPU's run queue: rq->nr_running
				  less the running task (0 when idle; sql_runq_path) */
};

#define SQL_STACK_DEPTH 64     /* frames kept per stack (the innermost ones) */
#define SQL_STACK_STR 4096     /* bytes of a symbolized stack string (frames beyond are cut) */

/* Symbolization (symbolize.c): the @n addresses @ips (innermost first, a
 * zero ends them early) as "root;...;leaf" function names in @out; user
 * addresses of process @pid when @user, else kernel addresses. Frames
 * that do not fit in @outsz are left out at the leaf end. */
void sql_stack_format(const uint64_t *ips, size_t n, bool user, int pid, char *out, size_t outsz);
/* File offset of function @func in ELF file @path (what a uprobe attaches
 * to). 0, or -ENOENT (no such file or function), -ENOEXEC (not ELF),
 * -ENODATA (stripped) with a reason in @err. */
int sql_elf_func_offset(const char *path, const char *func, uint64_t *off, char *err, size_t errsz);

#define SQL_ARGV_MAX 16        /* arguments read from a user argv array */
#define SQL_ARGV_ARG 64        /* bytes kept per argument (NUL included) */

struct sql_cap {
	enum sql_cap_kind kind;           /* what to capture */
	const struct sql_tp_field *field; /* tracepoint field (FIELD and *_STR), else NULL */
	uint16_t off;                     /* byte offset in the record */
	uint16_t size;                    /* bytes in the record */
	uint32_t toff;                    /* SQL_CAP_TASK: byte offset in struct task_struct */
};

/* Offset and size of integer member @member of the running kernel's
 * struct task_struct, from its BTF (taskbtf.c). 0 or -errno with @err. */
int sql_task_member(const char *member, uint32_t *off, uint32_t *size, char *err, size_t errsz);

/* How the current CPU's run-queue length is reached from the current task
 * (cpu_samples.runq_len, SQL_CAP_RUNQ): task->se.cfs_rq, then its rq
 * (cfs_rq->rq, or container_of(cfs_rq, struct rq, cfs) without group
 * scheduling), then rq->nr_running; offsets from the kernel's BTF. */
struct sql_runq_path {
	uint32_t cfs_rq;       /* offset of se.cfs_rq in struct task_struct */
	uint32_t rq;           /* offset of rq in struct cfs_rq, or of cfs in struct rq */
	bool embedded;         /* rq is offset cfs: subtract it from the cfs_rq pointer */
	uint32_t nr_running;   /* offset of nr_running in struct rq */
	uint32_t nr_size;      /* its size: 4 or 8 */
};
int sql_runq_path(struct sql_runq_path *rq, char *err, size_t errsz);

/* Stack area of the identity recorded by an origin program (korigin.c),
 * filled at the start of a probe that has one: the key, then u64 pid_tgid,
 * u64 uid_gid, u64 cgroup, char comm[16] (the current task's when the
 * origin recorded nothing). Context captures and the process checks read
 * it instead of calling helpers. */
#define SQL_ORIGIN_STK (-224)         /* key: two u64 */
#define SQL_IDENT_STK (-208)          /* identity: 40 bytes, up to -169 (see SQL_STK_*) */
#define SQL_IDENT_SIZE 40

/* The record of one probe: header, then the captures at fixed offsets. */
struct sql_layout {
	const char *tp;                   /* "raw_syscalls/sys_enter" */
	const struct sql_origin *origin;  /* context captures come from the identity this
					     origin recorded, on the stack (SQL_IDENT_STK),
					     not from helpers; NULL: helpers */
	const struct sql_tp_format *fmt;  /* its tracefs format (borrowed) */
	uint32_t tp_id;                   /* tracepoint id, first header word */
	uint32_t size;                    /* record bytes, a multiple of 8 */
	struct sql_cap caps[SQL_MAX_CAPS]; /* in record order */
	size_t ncaps;                     /* entries used in caps */
};

/* Assigns the record offsets of @lay's captures (those with used[i] when
 * @used is not NULL; the others get offset and size 0): field copies keep
 * their alignment modulo 8, so that the program moves them with aligned
 * loads and stores; everything else is 8-aligned but the 4-byte CPU
 * number (record.c). Returns 0 or -E2BIG. */
int sql_layout_place(struct sql_layout *lay, const bool *used);

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
	int lost_fd;           /* per-CPU counters (enum sql_kcnt), two epochs */
	int epoch_fd;          /* array, one u32: the current epoch */
	int origin_fd;         /* identities recorded by an origin program (lay->origin) */
};

struct sql_mvsf_opts {
	size_t sz;             /* sizeof(struct sql_mvsf_opts) */
	uint32_t skip_tgid;    /* events of this process are not recorded (0: none) */
	int probe;             /* probe index of the layout (its counters) */
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
/* Removes entries stored with ts < @before, oldest first, handing each
 * payload to @fn (not counted as evicted). Returns the entries removed. */
size_t sql_pair_drain(struct sql_pair *p, uint64_t before, void (*fn)(void *ctx, const void *payload, size_t len),
		      void *ctx);
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
	unsigned sample_hz;        /* sampling tables (cpu_samples): samples per second per CPU
				      (0: SQL_SAMPLE_HZ) */
	/* Kernel-side operators chosen by the optimizer (optimize.c): filters,
	 * projection, pairing, aggregation, batched output. NULL: the minimum
	 * verifier-safe functions only. */
	const struct sql_kspec *kspec;
	int pidset_fd;             /* with kspec->pidset: hash map of traced tgids */
	/* Set when a program was refused by the kernel verifier (as opposed to
	 * another failure), with the verifier's reason in @reject_why. */
	bool *rejected;
	char *reject_why;          /* NULL or a buffer of @reject_whysz bytes */
	size_t reject_whysz;
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

/* ---- reorder buffer of a JOIN's right side (merge.c) ------------------------ */

struct sql_merge;
/* A buffer of rows of @ncols columns ordered by column @ts_col. NULL when
 * out of memory. */
struct sql_merge *sql_merge_new(size_t ncols, int ts_col);
void sql_merge_free(struct sql_merge *m);
/* Copies @row in. 0 or -ENOMEM. */
int sql_merge_put(struct sql_merge *m, const struct sql_value *row);
/* Hands every row with ts < @before to @fn in (ts, arrival) order and
 * forgets it; keeps the others. 0, 1 when @fn asked to stop, or -ENOMEM. */
int sql_merge_release(struct sql_merge *m, uint64_t before, sql_row_fn fn, void *ctx);
size_t sql_merge_count(const struct sql_merge *m);

/* Waits up to @timeout_ms for events and delivers the rows they complete
 * (timeout 0: only what is already there, without waiting).
 * Returns the number of rows delivered or a negative error. */
int sql_source_poll(struct sql_source *s, int timeout_ms, sql_row_fn fn, void *ctx);
/* Whether records wait in @s's ring buffer (reads the mapped positions: no
 * system call). */
bool sql_source_pending(const struct sql_source *s);

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

/* The thread-exit hook of a kernel pairing map keyed by thread id
 * (kprog.c): a sched/sched_process_exit program that deletes the exiting
 * thread's entry from map @pair_fd (16-byte key: tid, 0), so that entries
 * of dead threads neither fill the map nor pair with a later thread that
 * reuses the id. Fills *@out (malloc'd) and *@n; 0 or -errno. */
int sql_kprog_exit_hook(int pair_fd, struct sbpf_insn **out, size_t *n);
/* Header id of a thread-exit record (no tracepoint has it): 16 bytes, the
 * header (id, size 16 | epoch bit) then the u64 id of the exiting thread. */
#define SQL_REC_THREAD_EXIT 0xffffffffu
/* The same for a user-space pairing keyed by thread id (the MVSF plan, and
 * kernel plans that pair in user space): a sched/sched_process_exit program
 * that submits a thread-exit record to ring buffer @ringbuf_fd, with the
 * epoch bit of epoch map @epoch_fd, so that user space drops the exiting
 * thread's entry in stream order (sql_source). 0 or -errno. */
int sql_kprog_exit_forward(int ringbuf_fd, int epoch_fd, struct sbpf_insn **out, size_t *n);

/* The run's output stream guarded against a reader that does not read
 * (output.c): returns a stream writing to @orig's descriptor that waits in
 * short slices instead of blocking, and once @stopping(@ctx) says the run
 * is stopping and the reader has taken nothing for a while, discards the
 * rest. @orig itself when it has no descriptor (*@o = NULL); NULL when out
 * of memory. Close with sql_output_close(), which returns the bytes
 * discarded. */
struct sql_output;
FILE *sql_output_open(FILE *orig, bool (*stopping)(void *), void *ctx, struct sql_output **o);
uint64_t sql_output_close(FILE *f, struct sql_output *o);
/* Has the output's reader been given up (the rest is discarded)? */
bool sql_output_gave_up(const struct sql_output *o);

/* Stops tracing: detaches the probes (no new event is recorded) and bounds
 * the next cut (the last one) when the reader is far behind (more than
 * 256 KiB of records waiting): rows are delivered for at most @deliver_ms,
 * then the records still waiting are read without making rows and counted
 * as lost (sql_source_abandoned), so that a stop is obeyed in time however
 * far behind the consumer is. */
void sql_source_stop(struct sql_source *s, int deliver_ms);
/* Records read without making rows after a stop (part of the lost). */
uint64_t sql_source_abandoned(const struct sql_source *s);

/* Detaches and unloads everything; nothing stays attached or pinned. */
void sql_source_close(struct sql_source *s);

/* ======================================================================
 * Language and executor (lex.c parse.c bind.c func.c names.c plan.c exec.c
 * agg.c window.c sink.c query.c arena.c). Private to src/sql/.
 * ====================================================================== */

#include <stdio.h>

struct sbpf_diags;

/* ---- arena: bump allocation freed all at once --------------------------- */

struct sql_arena_block;
struct sql_arena {
	struct sql_arena_block *head; /* newest block first */
};

/* Zeroed memory that lives until sql_arena_reset(); NULL when out of memory. */
void *sql_arena_alloc(struct sql_arena *a, size_t n);
/* Copy of @n bytes of @s plus a NUL, or NULL. */
char *sql_arena_strndup(struct sql_arena *a, const char *s, size_t n);
/* Frees every block. */
void sql_arena_reset(struct sql_arena *a);

/* Adds a diagnostic (see sbpf_diags__add) and returns -EINVAL, or -ENOMEM
 * when it could not be recorded. */
int sql_error(struct sbpf_diags *d, const char *file, const char *text, size_t off, int len,
	      const char *hint, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/* ---- lexer (lex.c) ------------------------------------------------------- */

enum sql_tok {
	SQL_TK_EOF,
	SQL_TK_IDENT,     /* name (not a keyword) */
	SQL_TK_INT,       /* 123, 0x7b */
	SQL_TK_DURATION,  /* 10us, 1sec (value in nanoseconds) */
	SQL_TK_DECIMAL,   /* 99.9: a number with a fraction, num = value x 10^4 (exact to 4
			     places; only PERCENTILE's second argument takes one) */
	SQL_TK_STRING,    /* 'bash' or "bash" */
	SQL_TK_KEYWORD,   /* see enum sql_kw */
	SQL_TK_PUNCT,     /* operators and punctuation (see enum sql_punct) */
};

enum sql_kw {
	SQL_KW_NONE,
#define SQL_KEYWORDS(X) X(SELECT) X(DISTINCT) X(FROM) X(AS) X(JOIN) X(INNER) X(ON) \
	X(WHERE) X(GROUP) X(BY) X(HAVING) X(WINDOW) X(ORDER) X(ASC) X(DESC) X(LIMIT) \
	X(AND) X(OR) X(NOT) X(IN) X(BETWEEN) X(LIKE) X(CASE) X(WHEN) X(THEN) X(ELSE) \
	X(END) X(IS) X(NULL) X(TRUE) X(FALSE)
#define SQL_KW_ENUM(k) SQL_KW_##k,
	SQL_KEYWORDS(SQL_KW_ENUM)
#undef SQL_KW_ENUM
};

enum sql_punct {
	SQL_P_LPAREN = 1, SQL_P_RPAREN, SQL_P_COMMA, SQL_P_DOT, SQL_P_SEMI, SQL_P_STAR,
	SQL_P_PLUS, SQL_P_MINUS, SQL_P_SLASH, SQL_P_PERCENT, SQL_P_EQ, SQL_P_NE, SQL_P_LT,
	SQL_P_LE, SQL_P_GT, SQL_P_GE, SQL_P_AMP, SQL_P_PIPE, SQL_P_CONCAT,
};

struct sql_token {
	enum sql_tok kind;  /* token class */
	int sub;            /* enum sql_kw or enum sql_punct */
	size_t off;         /* byte offset in the query text */
	int len;            /* bytes of source text */
	uint64_t num;       /* INT value, DURATION in ns */
	const char *str;    /* IDENT (as written) or STRING (decoded), arena-owned */
};

/* Splits @text into tokens (ending with SQL_TK_EOF) allocated in @a.
 * Returns 0, -EINVAL with one diagnostic in @d, or -ENOMEM. */
int sql_lex(const char *text, const char *file, struct sql_arena *a, struct sql_token **toks,
	    size_t *ntoks, struct sbpf_diags *d);
/* Keyword spelling ("SELECT") of @kw. */
const char *sql_kw_name(enum sql_kw kw);
/* Duration units accepted after a number, for messages ("ns, us, ms, ..."). */
extern const char sql_duration_units[];

/* ---- AST (parse.c) and bound expressions (bind.c) ----------------------- */

enum sql_expr_kind {
	SQL_E_LIT,       /* literal: v holds the value */
	SQL_E_COLUMN,    /* [qual.]name; bound: side + col */
	SQL_E_STAR,      /* the * of COUNT(*) */
	SQL_E_UNARY,     /* op a: SQL_OP_NEG, SQL_OP_NOT */
	SQL_E_BINARY,    /* a op b */
	SQL_E_IN,        /* a [NOT] IN (list) */
	SQL_E_BETWEEN,   /* a [NOT] BETWEEN b AND c */
	SQL_E_LIKE,      /* a [NOT] LIKE b */
	SQL_E_ISNULL,    /* a IS [NOT] NULL */
	SQL_E_CASE,      /* CASE [a] WHEN list[2i] THEN list[2i+1] ... [ELSE c] END */
	SQL_E_CALL,      /* name(list): scalar function or aggregate */
	/* produced by the binder for aggregate queries: */
	SQL_E_GROUPKEY,  /* value of GROUP BY key number idx */
	SQL_E_AGGREF,    /* result of aggregate number idx */
};

enum sql_op {
	SQL_OP_NONE,
	SQL_OP_NEG, SQL_OP_NOT,
	SQL_OP_ADD, SQL_OP_SUB, SQL_OP_MUL, SQL_OP_DIV, SQL_OP_MOD,
	SQL_OP_BITAND, SQL_OP_BITOR,
	SQL_OP_EQ, SQL_OP_NE, SQL_OP_LT, SQL_OP_LE, SQL_OP_GT, SQL_OP_GE,
	SQL_OP_AND, SQL_OP_OR,
};

struct sql_func;
struct sql_expr {
	enum sql_expr_kind kind;    /* node kind */
	enum sql_op op;             /* UNARY/BINARY operator */
	size_t off;                 /* source span start (for diagnostics) */
	int len;                    /* source span length */
	struct sql_expr *a, *b, *c; /* operands (see enum sql_expr_kind) */
	struct sql_expr **list;     /* IN list, call arguments, CASE WHEN/THEN pairs */
	size_t nlist;               /* entries in list */
	bool negated;               /* NOT IN / NOT BETWEEN / NOT LIKE / IS NOT NULL */
	bool distinct;              /* CALL: COUNT(DISTINCT x) */
	const char *name;           /* COLUMN name, CALL function name */
	const char *qual;           /* COLUMN qualifier (table or alias), or NULL */
	struct sql_value v;         /* LIT value (strings arena-owned) */
	/* filled by the binder */
	enum sql_type type;         /* result type */
	int side;                   /* COLUMN: 0 = FROM table, 1, 2 = JOIN tables in order */
	int col;                    /* COLUMN: index in the table's columns */
	const struct sql_func *fn;  /* CALL: scalar function */
	int idx;                    /* GROUPKEY / AGGREF index */
	int height;                 /* nodes on the longest path down to a leaf (parser) */
};

/* Deepest expression the parser accepts: the height of an expression tree
 * and the nesting of parentheses, unary minus and NOT. Every recursive
 * function over expressions (binder, planner, optimizer, eBPF code
 * generation, evaluation, printing) therefore recurses at most a small
 * multiple of this deep. */
#define SQL_MAX_DEPTH 1000

struct sql_select_item {
	struct sql_expr *e;   /* expression, or NULL for * */
	const char *star_qual;/* qualifier of "A.*", or NULL */
	const char *alias;    /* AS name, or NULL */
	size_t off;           /* source span of the item (without alias) */
	int len;              /* its length */
	size_t alias_off;     /* where the alias is written */
};

struct sql_table_ref {
	const char *name;     /* table name as written */
	const char *alias;    /* AS name, or NULL */
	size_t off;           /* position of the name */
	int len;              /* its length */
	size_t alias_off;     /* position of the alias */
	int alias_len;        /* its length */
};

struct sql_order_item {
	struct sql_expr *e;   /* sort key as written */
	bool desc;            /* DESC */
};

/* Tables one query reads: FROM and up to two JOINs. */
#define SQL_MAX_TABLES 3

/* One [LEFT] JOIN clause (arena-owned). */
struct sql_join_clause {
	struct sql_table_ref t;           /* the joined table */
	struct sql_expr *on;              /* ON condition */
	size_t off;                       /* position of JOIN (or LEFT) */
	int len;                          /* length of the keyword(s) */
	bool left;                        /* LEFT JOIN */
	uint64_t within_ns;               /* LEFT JOIN ... WITHIN: a left row's wait for a partner */
};

/* One parsed SELECT statement (all arena-owned). */
struct sql_stmt {
	bool distinct;                    /* SELECT DISTINCT */
	struct sql_select_item *items;    /* select list */
	size_t nitems;                    /* its items */
	struct sql_table_ref from;        /* FROM table */
	struct sql_join_clause joins[SQL_MAX_TABLES - 1]; /* JOIN clauses, in order (left-deep) */
	size_t njoins;                    /* their number (0: one table) */
	struct sql_expr *where;           /* WHERE, or NULL */
	struct sql_expr **group;          /* GROUP BY keys */
	size_t ngroup;                    /* their number */
	size_t group_off;                 /* position of GROUP */
	struct sql_expr *having;          /* HAVING, or NULL */
	size_t having_off;                /* position of HAVING */
	uint64_t window_ns;               /* WINDOW length (0: none) */
	size_t window_off;                /* position of WINDOW */
	int window_len;                   /* length of "WINDOW 1sec [EVERY 100ms]" */
	uint64_t every_ns;                /* EVERY step of a sliding window (0: tumbling) */
	size_t every_off;                 /* position of EVERY */
	int every_len;                    /* length of "EVERY 100ms" */
	struct sql_order_item *order;     /* ORDER BY keys */
	size_t norder;                    /* their number */
	int64_t limit;                    /* LIMIT n (-1: none) */
	size_t limit_off;                 /* position of LIMIT */
};

/* Parses @text into *@out (arena-owned). Returns 0, -EINVAL with one
 * diagnostic in @d, or -ENOMEM. */
int sql_parse(const char *text, const char *file, struct sql_arena *a, struct sql_stmt **out,
	      struct sbpf_diags *d);

/* ---- functions and names (func.c, names.c) ------------------------------ */

enum sql_agg_kind {
	SQL_AGG_COUNT,      /* COUNT(*) / COUNT(x): rows / non-NULL values */
	SQL_AGG_SUM, SQL_AGG_MIN, SQL_AGG_MAX, SQL_AGG_AVG,
	SQL_AGG_HIST,       /* log2 histogram */
	SQL_AGG_LHIST,      /* linear histogram (min, max, step) */
	SQL_AGG_QUANTILE,   /* P50..P999, PERCENTILE from a log-linear histogram */
	SQL_AGG_COUNT_DISTINCT, /* COUNT(DISTINCT x): the distinct non-NULL values, kept exactly */
};

/* A scalar function: name, argument checks, evaluation. */
struct sql_evalctx;
#define SQL_FUNC_MAX_ARGS 8   /* most arguments any function takes */
/* Checks the types of the @n arguments and returns the result type, or
 * SQL_T_NULL with a message in @why (which argument is wrong and how). */
typedef enum sql_type (*sql_func_check_fn)(const enum sql_type *args, size_t n, char *why, size_t whysz);
/* Computes the result of @n arguments; strings it makes live in ctx->scratch. */
typedef struct sql_value (*sql_func_eval_fn)(struct sql_evalctx *ctx, const struct sql_value *args, size_t n);
struct sql_func {
	const char *name;                 /* lower case; a name with a space is reached
					     only through syntax (CAST, ||) */
	int nargs;                        /* fewest arguments */
	const char *signature;            /* for messages: "syscall_name(number)" */
	const char *doc;                  /* one line */
	sql_func_check_fn check;          /* argument types -> result type */
	sql_func_eval_fn eval;            /* arguments -> result */
	int max_args;                     /* most arguments (0: exactly nargs) */
};
const struct sql_func *sql_func_find(const char *name);
size_t sql_func_count(void);
const struct sql_func *sql_func_get(size_t i);

/* Aggregate function by name: kind and, for quantiles, q in per-mille. */
struct sql_aggdef {
	const char *name;         /* "count", "p99" */
	enum sql_agg_kind kind;   /* what it computes */
	uint32_t ppm;             /* QUANTILE: parts per million (500000 for P50); 0: the
				     query gives it (PERCENTILE(x, p)) */
	const char *signature;    /* for messages */
	const char *doc;          /* one line */
};
const struct sql_aggdef *sql_aggdef_find(const char *name);
size_t sql_aggdef_count(void);
const struct sql_aggdef *sql_aggdef_get(size_t i);

/* Name tables (names.c). Each returns NULL for an unknown number. */
const char *sql_syscall_name(int64_t nr);     /* x86-64 syscall numbers */
const char *sql_errno_name(int64_t err);      /* 2 or -2 -> "ENOENT" */
const char *sql_signal_name(int64_t sig);     /* 9 -> "SIGKILL" */
const char *sql_tcp_state_name(int64_t st);   /* 1 -> "ESTABLISHED" */

/* ---- bound query (bind.c) ------------------------------------------------ */

struct sql_agg {
	enum sql_agg_kind kind;    /* what to compute */
	struct sql_expr *arg;      /* argument over input rows (NULL for COUNT(*)) */
	enum sql_type type;        /* result type */
	uint32_t ppm;              /* QUANTILE: parts per million */
	int64_t lmin, lmax, lstep; /* LHIST parameters */
	struct sql_expr *call;     /* the call as written (for explain and messages) */
};

struct sql_outcol {
	const char *name;          /* header: alias, column name, or expression text */
	struct sql_expr *e;        /* value: over input rows, or over groups (aggregate query) */
	enum sql_type type;        /* value type (SQL_T_NULL for histogram columns) */
	int hist;                  /* histogram column: aggregate index + 1, else 0 */
};

struct sql_sortkey {
	struct sql_expr *e;        /* key, in the same context as the output columns */
	bool desc;                 /* descending */
};

/* One streaming JOIN step (exec.c): the rows made of sides 0..k-1 (left)
 * with the rows of side k (right). */
struct sql_jstep {
	struct sql_expr **lkeys, **rkeys;   /* equality keys: over sides < k / over side k */
	size_t nkeys;                       /* their number */
	bool left;                          /* LEFT JOIN: unmatched left rows go on with NULL
					       side-k columns once older than within_ns */
	uint64_t within_ns;                 /* LEFT JOIN: a right row takes a left row at most
					       this much older; the left row's wait */
};

/* The query after name resolution and type checking. Expressions point into
 * the statement's arena. */
struct sql_query {
	const char *text;                   /* query text (arena copy) */
	const char *file;                   /* name used in diagnostics */
	struct sql_stmt *stmt;              /* parse tree */
	int ntables;                        /* 1..SQL_MAX_TABLES: FROM, then each JOIN */
	bool self_join;                     /* a table is joined with itself: one source feeds its
					       sides, and a row pairs only with earlier rows */
	const struct sql_table *tables[SQL_MAX_TABLES]; /* per side: FROM, JOIN, JOIN */
	const char *names[SQL_MAX_TABLES];  /* alias or table name, as written */
	int source[SQL_MAX_TABLES];         /* per side: the event source feeding it (sources are
					       numbered by the first side they feed) */
	int nsources;                       /* distinct tables read */
	struct sql_jstep join[SQL_MAX_TABLES - 1]; /* join[k-1]: sides 0..k-1 with side k */
	struct sql_expr *where;             /* filter over input rows, or NULL */
	bool aggregate;                     /* GROUP BY or aggregates present */
	bool distinct_groups;               /* DISTINCT without aggregates: grouped by all columns */
	struct sql_expr **keys;             /* grouping keys over input rows */
	size_t nkeys;                       /* their number */
	struct sql_agg *aggs;               /* aggregates computed per group */
	size_t naggs;                       /* their number */
	struct sql_outcol *cols;            /* output columns */
	size_t ncols;                       /* their number */
	struct sql_expr *having;            /* filter over groups, or NULL */
	struct sql_sortkey *order;          /* ORDER BY */
	size_t norder;                      /* sort keys */
	bool distinct;                      /* DISTINCT over output rows */
	int64_t limit;                      /* rows per window (-1: all) */
	uint64_t window_ns;                 /* window length (0: none) */
	uint64_t every_ns;                  /* sliding window: a result every every_ns over the
					       last window_ns, which it divides (0: tumbling) */
};
/* Event sources a query reads: a self-join reads one stream for both sides. */
static inline int sql_query_nsources(const struct sql_query *q)
{
	return q->nsources ? q->nsources : q->ntables;
}
/* The first side source @src feeds (its table is q->tables of that side). */
static inline int sql_source_side(const struct sql_query *q, int src)
{
	for (int s = 0; s < q->ntables; s++)
		if (q->source[s] == src)
			return s;
	return src;
}
/* Whether any JOIN step is a LEFT JOIN. */
static inline bool sql_query_left(const struct sql_query *q)
{
	for (int k = 1; k < q->ntables; k++)
		if (q->join[k - 1].left)
			return true;
	return false;
}
/* LEFT JOIN without WITHIN: a left row waits this long for its partner. */
#define SQL_LEFT_JOIN_WITHIN 1000000000ull
/* Steps a sliding window may span (WINDOW / EVERY): sub-windows kept. */
#define SQL_MAX_STEPS 1000
/* The period at which windows are cut: the step of a sliding window, else
 * the window (0: no window). */
static inline uint64_t sql_query_cut_ns(const struct sql_query *q)
{
	return q->every_ns ? q->every_ns : q->window_ns;
}

/* Resolves names and types of @st against the catalog into @q (allocated in
 * @a). Returns 0, -EINVAL with one diagnostic in @d, or -ENOMEM. */
int sql_bind(struct sql_stmt *st, const char *text, const char *file, struct sql_arena *a,
	     struct sql_query *q, struct sbpf_diags *d);

/* Writes @e as SQL text (normalized, fully qualified) to @f. */
void sql_expr_print(const struct sql_query *q, const struct sql_expr *e, FILE *f);
/* Which table sides @e reads: bit s = side s (bit 0 = FROM) (bind.c). */
unsigned sql_expr_sides(const struct sql_expr *e);
/* Human name of a type ("duration"). */
const char *sql_type_name(enum sql_type t);

/* ---- plans (plan.c) ------------------------------------------------------ */

enum sql_node_kind {
	SQL_N_SCAN,       /* event source of one table */
	SQL_N_JOIN,       /* streaming pairing of two scans on equality keys */
	SQL_N_FILTER,     /* WHERE */
	SQL_N_PROJECT,    /* select list over rows */
	SQL_N_AGGREGATE,  /* group by + aggregates */
	SQL_N_HAVING,     /* filter over groups */
	SQL_N_DISTINCT,   /* duplicate output rows removed */
	SQL_N_ORDER,      /* sort (per window) */
	SQL_N_LIMIT,      /* first n rows (per window) */
};

enum sql_place {
	SQL_PLACE_USER,   /* runs in the executor */
	SQL_PLACE_KERNEL, /* runs in eBPF (the optimizer's decision; none yet) */
};

struct sql_node {
	enum sql_node_kind kind;    /* operator */
	enum sql_place place;       /* where it runs */
	struct sql_node *in[2];     /* inputs (JOIN has two: the rows so far, a scan) */
	int side;                   /* SCAN: table side */
};

/* Physical plan: the operator chain plus, per table, what the MVSF source
 * must read. The optimizer (part 2) will rewrite node places and the
 * kernel part here, between sql_plan_build() and execution. */
struct sql_plan {
	const struct sql_query *q;     /* the bound query */
	struct sql_node *root;         /* last operator before the sink */
	struct sql_node *scan[SQL_MAX_TABLES];  /* scans, per side */
	bool *needed[SQL_MAX_TABLES];  /* per side: columns the source reads (a source feeding
					  several sides reads what any of them needs) */
	size_t nneeded[SQL_MAX_TABLES];/* columns read, per side */
	struct sql_node *nodes;        /* storage */
	size_t nnodes;                 /* nodes used */
	struct sql_opt *opt;           /* the optimizer's candidates (optimize.c), or NULL */
};

/* Builds the MVSF-only plan of @q (every operator in user space) into @p,
 * allocated in @a. Returns 0 or -ENOMEM. */
int sql_plan_build(const struct sql_query *q, struct sql_arena *a, struct sql_plan *p);
/* Prints the operator tree, indented, one operator per line. */
void sql_plan_print(const struct sql_plan *p, FILE *f);
/* Name of an operator ("aggregate"). */
const char *sql_node_name(enum sql_node_kind k);

/* ---- aggregates and histograms (agg.c) ---------------------------------- */

/* Log2 histogram: bucket 0 = negative values, 1 = 0, 2 = 1, k+1 = [2^(k-1), 2^k).
 * Linear histogram: bucket 0 = below min, 1..n = [min + (i-1)step, min + i step),
 * n+1 = at or above max. */
#define SQL_HIST_LOG2_BUCKETS 66
struct sql_hist {
	bool linear;              /* LHIST, else log2 */
	bool duration;            /* values are durations (print with units) */
	int64_t min, max, step;   /* LHIST parameters */
	size_t nbuckets;          /* entries in counts */
	uint64_t *counts;         /* per bucket */
	uint64_t total;           /* values counted */
	uint64_t sum;             /* sum of the values counted (two's complement, wraps) */
};
/* Lower and upper bound of bucket @i (upper exclusive); false for the open
 * ends (negative / below-min and at-or-above-max buckets set only one bound). */
void sql_hist_bounds(const struct sql_hist *h, size_t i, int64_t *lo, int64_t *hi);

/* Log-linear histogram for quantiles: values below 64 are counted exactly;
 * above, each power of two is split into 64 equal buckets. */
#define SQL_QSUB_BITS 6
struct sql_qhist {
	uint64_t *pos[64 - SQL_QSUB_BITS + 1]; /* blocks for |v|, allocated on first use */
	uint64_t *neg[64 - SQL_QSUB_BITS + 1]; /* same for negative values */
	uint64_t n;                            /* values counted */
	int64_t min, max;                      /* smallest and largest value (estimates are clamped) */
};
int sql_qhist_add(struct sql_qhist *h, int64_t v);
/* Value at rank ceil(q * n) (q = ppm / 10^6), within 1/128 of the exact
 * value of that rank and never outside [min, max]; false when empty. */
bool sql_qhist_quantile(const struct sql_qhist *h, uint32_t ppm, int64_t *out);
void sql_qhist_free(struct sql_qhist *h);

/* Per-group state of one aggregate. */
#define SQL_MAX_DISTINCT (1u << 22) /* values one COUNT(DISTINCT x) keeps per group */
struct sql_valset;
struct sql_aggstate {
	uint64_t n;               /* values seen (non-NULL) */
	int64_t i;                /* SUM/MIN/MAX accumulator (signed) */
	uint64_t u;               /* same for unsigned inputs */
	uint64_t hi;              /* AVG: high 64 bits of the 128-bit sum in u (two's complement) */
	struct sql_hist *hist;    /* HIST / LHIST */
	struct sql_qhist *q;      /* QUANTILE */
	struct sql_valset *set;   /* COUNT_DISTINCT */
};
/* Folds @v into @s. Returns 0 or -ENOMEM. */
int sql_agg_step(const struct sql_agg *a, struct sql_aggstate *s, const struct sql_value *v);
/* The result of @s (NULL-typed when undefined, e.g. MAX of nothing). */
struct sql_value sql_agg_result(const struct sql_agg *a, const struct sql_aggstate *s);
void sql_agg_free(struct sql_aggstate *s);

/* ---- expression evaluation (exec.c) -------------------------------------- */

struct sql_evalctx {
	const struct sql_value *row[SQL_MAX_TABLES]; /* input rows per side (row queries) */
	const struct sql_value *keys;     /* group keys (aggregate queries) */
	const struct sql_value *aggs;     /* aggregate results (aggregate queries) */
	struct sql_arena *scratch;        /* strings made by functions */
};
struct sql_value sql_eval(struct sql_evalctx *c, const struct sql_expr *e);
/* WHERE / HAVING / ON semantics: true only for a non-NULL true value. */
bool sql_eval_true(struct sql_evalctx *c, const struct sql_expr *e);
/* SQL LIKE with % and _ (case-sensitive). */
bool sql_like(const char *s, const char *pattern);
/* Total order used by ORDER BY, MIN/MAX and DISTINCT: NULL first, numbers by
 * value (signed and unsigned compared mathematically), strings bytewise. */
int sql_value_cmp(const struct sql_value *a, const struct sql_value *b);
bool sql_value_eq(const struct sql_value *a, const struct sql_value *b);
uint64_t sql_value_hash(const struct sql_value *v, uint64_t h);

/* ---- sinks (sink.c) ------------------------------------------------------ */

enum sql_sink_format { SQL_SINK_TABLE, SQL_SINK_CSV, SQL_SINK_JSON, SQL_SINK_FOLDED, SQL_SINK_SVG };

/* Stack output (flame.c). A row as a folded line's frames (every column
 * but a last integer one, joined by ';', empty ones left out) into @buf;
 * *@count is that last column (else 1). Returns the frames' length. */
size_t sql_folded_row(const struct sql_query *q, const struct sql_value *vals, char *buf, size_t bufsz,
		      uint64_t *count);
/* A flame graph: folded lines merged into a tree, drawn as SVG. */
struct sql_flame;
struct sql_flame *sql_flame_new(void);                                   /* NULL: no memory */
int sql_flame_add(struct sql_flame *f, const char *frames, uint64_t count); /* 0 or -ENOMEM */
int sql_flame_write_svg(struct sql_flame *f, FILE *out, const char *title); /* 0 or -EIO */
void sql_flame_free(struct sql_flame *f);

struct sql_window_info {
	uint64_t start_ns, end_ns;  /* wall clock (CLOCK_REALTIME), end exclusive */
	uint64_t rows;              /* rows emitted in the window */
	uint64_t events;            /* rows read from the event sources in the window */
	uint64_t lost;              /* kernel could not hand over (ring buffer full) */
	uint64_t evicted;           /* dropped by bounded user-space state */
	bool last;                  /* final report of the run */
	uint64_t total_events;      /* last: over the whole run */
	uint64_t total_lost;        /* last: over the whole run */
	uint64_t total_evicted;     /* last: over the whole run */
	/* accounting (fired = counted + filtered + lost + evicted + unpaired) */
	bool acct;                  /* the terms below are filled */
	uint64_t fired;             /* events of the row-making probes */
	uint64_t counted;           /* rows that reached the query's output stage */
	uint64_t filtered;          /* rejected by a filter (kernel or user space) */
	uint64_t unpaired;          /* closing events without an opening event */
	uint64_t rowlost;           /* lost, in the unit of fired */
	uint64_t groupfull;         /* of rowlost: the kernel group map was full */
	uint64_t rowevicted;        /* evicted by the executor's bounded state */
	bool late;                  /* the cut timed out: rows of this window may follow in the next */
	uint64_t total_fired, total_counted, total_filtered, total_unpaired, total_rowlost, total_rowevicted;
	uint64_t total_groupfull;   /* of total_rowlost: the kernel group map was full */
	uint64_t window_ns;         /* width asked by WINDOW (0: none): a window of another width says so */
};

struct sql_sink;
/* A sink writing @q's output columns in @fmt to @out; lost/evicted reports
 * go to @log (table and CSV) or into the JSON stream. */
struct sql_sink *sql_sink_new(const struct sql_query *q, enum sql_sink_format fmt, FILE *out,
			      FILE *log);
/* Rows that follow belong to the window starting at @start_ns (wall clock). */
void sql_sink_window_start(struct sql_sink *s, uint64_t start_ns);
/* Writes one output row; @hists[i] is the histogram of column i (NULL when
 * the query has none). */
int sql_sink_row(struct sql_sink *s, const struct sql_value *vals, struct sql_hist *const *hists);
/* Ends a window (or the run): prints its footer and loss report. */
int sql_sink_window(struct sql_sink *s, const struct sql_window_info *w);
void sql_sink_free(struct sql_sink *s);
/* Typed rows (rows.c): with a callback set, the sink hands rows and window
 * ends to it (safebpf/row.h) instead of writing text. */
struct sql_rowcb {
	int (*row)(void *ctx, const struct sbpf_row *row);        /* each row */
	int (*window)(void *ctx, const struct sbpf_window *w);    /* each window end, or NULL */
	void *ctx;                                                /* their argument */
};
int sql_sink_set_rows(struct sql_sink *s, const struct sql_rowcb *cb); /* 0 or -ENOMEM */
/* CSV / JSON: time columns as RFC 3339 wall-clock text instead of boot ns. */
void sql_sink_set_wall_time(struct sql_sink *s, bool wall);
struct sql_rows;
struct sql_rows *sql_rows_new(const struct sql_query *q, const struct sql_rowcb *cb);
/* Converts one row (histograms in @hists, may be NULL) and calls cb->row. */
int sql_rows_emit(struct sql_rows *r, const struct sql_value *vals, struct sql_hist *const *hists,
		  uint64_t window_start_ns, int64_t mono_to_real);
int sql_rows_window(struct sql_rows *r, const struct sql_window_info *w);
void sql_rows_free(struct sql_rows *r);
/* Column metadata of the public API (sbpf_query__col_info). */
int sql_col_info(const struct sql_query *q, size_t i, struct sbpf_col_info *info);
/* RFC 3339 UTC with nanoseconds of @real_ns ("2026-12-07T12:21:50.123456789Z"). */
void sql_fmt_rfc3339(uint64_t real_ns, char *buf, size_t bufsz);
/* Decimal text of an integer for JSON: beyond 2^53 (where IEEE doubles
 * stop being exact) as a string, "9007199254740993", else bare. */
void sql_json_u64(uint64_t v, char *buf, size_t bufsz);
void sql_json_s64(int64_t v, char *buf, size_t bufsz);

/* Formats a duration in ns for people ("10.07ms"). */
void sql_fmt_duration(int64_t ns, char *buf, size_t bufsz);

/* ---- executor (exec.c: rows in, join, filter; window.c: output stage) ---- */

/* Whether rows leave as they come (no grouping to finish, no sort). */
bool sql_query_streaming(const struct sql_query *q);

struct sql_exec;
/* Runtime state of @q writing to @sink. NULL when out of memory. */
struct sql_exec *sql_exec_new(const struct sql_query *q, struct sql_sink *sink);
/* Feeds one input row of table @side. With a JOIN, rows of side 0 come as
 * they are read; a row of side k > 0 comes only once every row of the
 * sides before k that happened up to its time has come, and side k's rows
 * come in time order. Returns 0, 1 when the query is done (streaming LIMIT
 * reached), or a negative error. */
int sql_exec_row(struct sql_exec *x, int side, const struct sql_value *row);
/* Closes the current window (or, without WINDOW, the run): emits its rows
 * and reports @w to the sink (w->rows and w->evicted are added here). */
int sql_exec_window(struct sql_exec *x, struct sql_window_info *w);
/* Rows dropped by bounded executor state (join table, group table) so far. */
uint64_t sql_exec_evicted(const struct sql_exec *x);
/* LEFT JOIN: every row of the JOIN sides that happened before @tR has come
 * (UINT64_MAX: the run ended): each LEFT step's left rows whose wait ended
 * before it (time + WITHIN < @tR) go on with NULL right columns (to the
 * next JOIN, or through WHERE to the output), oldest stored first. 0 or a
 * negative error. */
int sql_exec_expire(struct sql_exec *x, uint64_t tR);
/* Rows that passed WHERE (with a JOIN: input rows of both sides) and rows
 * WHERE rejected (single table), since the executor was made. */
void sql_exec_counts(const struct sql_exec *x, uint64_t *passed, uint64_t *rejected);
bool sql_exec_done(const struct sql_exec *x);
void sql_exec_free(struct sql_exec *x);

/* Output stage of one window (window.c): grouping and aggregates, HAVING,
 * DISTINCT, ORDER BY, LIMIT, then the sink. */
struct sql_win;
struct sql_win *sql_win_new(const struct sql_query *q, struct sql_sink *sink);
/* One row that passed the filter; @c->row holds it. Returns 0, 1 when a
 * streaming LIMIT is reached, or a negative error. */
int sql_win_row(struct sql_win *w, struct sql_evalctx *c);
/* Emits the window's rows, then resets for the next window. Returns the rows
 * emitted or a negative error. */
int64_t sql_win_flush(struct sql_win *w);
uint64_t sql_win_evicted(const struct sql_win *w);
void sql_win_free(struct sql_win *w);

/* Bounds of executor state (each overflow is counted as evicted; a full
 * JOIN reorder buffer as lost). */
#define SQL_MAX_GROUPS   (1u << 20)   /* groups per window */
#define SQL_MAX_BUFFERED (1u << 20)   /* buffered output rows per window (ORDER BY) */
#define SQL_MAX_JOIN     (1u << 16)   /* unmatched left rows kept by JOIN */
#define SQL_MAX_HELD     (1u << 20)   /* JOIN right rows waiting for their time (reorder buffer) */


/* ======================================================================
 * Optimizer and kernel-side operators (kexpr.c kprog.c kagg.c optimize.c
 * cost.c vcache.c calibrate.c). The optimizer starts from the MVSF-only
 * plan, makes candidate plans that move operators into eBPF, orders them by
 * estimated cost, and keeps the cheapest one the kernel verifier accepts.
 * ====================================================================== */

/* ---- expressions in eBPF (kexpr.c) --------------------------------------- */

#define SQL_KX_REGS 6   /* expression registers r0..r5 */

/* Where the columns of one table side are while a program evaluates. */
struct sql_kx {
	struct sbpf_builder *b;        /* program being built */
	const struct sql_recplan *rp;  /* staged layouts the columns are bound in */
	int side;                      /* query side whose columns are read */
	int base[SQL_MAX_PROBES];      /* register holding each probe's staged record (-1: none) */
	int err;                       /* first error (too deep) */
};

/* Whether @e (over columns of @side of table @t) compiles to eBPF with the
 * executor's exact result: as a condition (@pred) or a number. @probes
 * receives the probes (bit mask) whose records it reads. */
bool sql_kx_ok(const struct sql_table *t, int side, const struct sql_expr *e, bool pred, unsigned *probes);
/* Emits code leaving the value of @e in register r<@reg> (registers above
 * it up to r5 are clobbered). 0 or a negative error. */
int sql_kx_value(struct sql_kx *k, const struct sql_expr *e, int reg);
/* Emits r<@reg> = raw input @b as record.c reads it (sign, element, half). */
int sql_kx_input(struct sql_kx *k, const struct sql_inbind *b, int reg);
/* Emits "if (@e is true) == @sense goto @label" (r0..r5 clobbered). */
int sql_kx_branch(struct sql_kx *k, const struct sql_expr *e, bool sense, int label);

/* ---- the kernel part of one table side (kprog.c, kagg.c) --------------- */

/* What runs in the kernel for one table side of a plan. */
struct sql_kspec {
	int side;                      /* query side (columns with e->side == side) */
	const struct sql_query *q;     /* bound query: group keys, aggregates */
	const bool *kneeded;           /* columns staged in the kernel (per table column) */
	const bool *uneeded;           /* columns user space reads from records (streaming) */
	const bool *gneeded;           /* columns forming the kernel group key (aggregating) */
	struct sql_expr **pre;         /* conjuncts tested at the opening probe, before pairing */
	size_t npre;
	struct sql_expr **post;        /* conjuncts tested on the complete row */
	size_t npost;
	bool kpair;                    /* paired table: opening and closing events paired in a hash map */
	bool kagg;                     /* group and aggregate in per-CPU maps (else stream rows) */
	uint32_t batch;                /* streaming: wake user space once per this many records
					  (0, 1: every record); the poll timer delivers the rest */
	bool pidset;                   /* keep only events of the tgids in the pid-set map */
	uint32_t fault;                /* testing: probes (bit mask) given an invalid program */
};

/* Per-CPU counters of every plan (MVSF included): one array of
 * SQL_KCNT__COUNT u64 per epoch (the counters map has two entries, indexed
 * by the epoch a program read at entry; see sql_codegen_prologue). Terms
 * with "+ probe" have one counter per probe (index + probe number). */
enum sql_kcnt {
	SQL_KCNT_FIRED,       /* + probe: events that ran the program (the tracer's own excluded) */
	SQL_KCNT_FIRED1,
	SQL_KCNT_FILTERED,    /* + probe: rejected by a kernel filter (pid set, WHERE) */
	SQL_KCNT_FILTERED1,
	SQL_KCNT_LOST,        /* + probe: ring buffer full */
	SQL_KCNT_LOST1,
	SQL_KCNT_REPLACED,    /* unmatched opening event replaced by a newer one (evicted) */
	SQL_KCNT_PAIR_FULL,   /* pairing map full: opening event dropped (evicted) */
	SQL_KCNT_UNPAIRED,    /* closing event without a stored opening event: no row */
	SQL_KCNT_AGG_FULL,    /* group map full: row dropped (lost) */
	SQL_KCNT_ROWS,        /* rows folded into kernel groups */
	SQL_KCNT_DONE,        /* runs finished (every path after FIRED): FIRED0 + FIRED1 - DONE
				 are running now on that CPU (sql_source_quiesce) */
	SQL_KCNT__COUNT
};

/* Stack slots of generated probe programs, all defined here (offsets
 * from r10; sql_stack_slots() lists them with their sizes and a unit test
 * checks that they are disjoint): */
/* The kernel pid set's value (kpids.c): a state byte, and for a process
 * whose last thread is exiting the task doing so; the pid-set check of
 * kprog.c lets a dying id's events through only from that task. */
#define SQL_PIDS_VALUE_SIZE 16
#define SQL_PIDS_STATE 0      /* u8: 1 traced, 2 dying */
#define SQL_PIDS_TASK  8      /* u64: the exiting task (dying) */
#define SQL_PIDS_DYING 2
#define SQL_STK_MKEY  (-4)    /* u32 key of one-entry array lookups (codegen.c) */
#define SQL_STK_KEY   (-8)    /* u32 index of array lookups (kprog.c, kagg.c) */
#define SQL_STK_TGID  (-16)   /* u32 tgid, pid-set key (kprog.c) */
#define SQL_STK_PKEY  (-32)   /* pairing key, two u64 (kprog.c) */
#define SQL_STK_GKEY  (-32 - SQL_KAGG_MAX_KEY) /* group key (kagg.c) */
/* SQL_ORIGIN_STK (16 bytes) and SQL_IDENT_STK (SQL_IDENT_SIZE): korigin.c */
#define SQL_STK_CNT   (-232)  /* pointer to this CPU's counters of the epoch */
#define SQL_STK_EPOCH (-240)  /* u32 epoch read at entry */
#define SQL_STK_ARGV  (-248)  /* user pointer to an argv array being read (codegen.c) */
#define SQL_STK_ARGP  (-256)  /* one argv entry read from it (codegen.c) */

struct sql_stk_slot {
	const char *name;      /* macro name */
	int off;               /* offset from r10 */
	int size;              /* bytes */
};
/* Every stack slot above with its size. */
size_t sql_stack_slots(const struct sql_stk_slot **slots);
/* Bit of a record's size word (header) set by programs that ran in epoch 1. */
#define SQL_REC_EPOCH (1u << 31)
/* The epoch of a record (its header's size word, SQL_REC_EPOCH). */
static inline uint32_t sql_rec_epoch(const void *rec)
{
	return ((const uint8_t *)rec)[7] >> 7; /* little-endian size word, bit 31 */
}

/* Emits the entry of every program, after the tracer's own events are
 * skipped: epoch = epoch_map[0] & 1 (to SQL_STK_EPOCH), r0 = this CPU's
 * counters of that epoch (to SQL_STK_CNT; jump to @l_exit if missing), and
 * FIRED + @probe += 1. Every later path must end at sql_codegen_epilogue.
 * Clobbers r0..r5. */
void sql_codegen_prologue(struct sbpf_builder *b, int epoch_fd, int counters_fd, int probe, int l_exit);
/* Binds @l_out: DONE += 1; binds @l_exit: return 0. */
void sql_codegen_epilogue(struct sbpf_builder *b, int l_out, int l_exit);
/* Emits counters[@idx] += 1 through SQL_STK_CNT (clobbers r1, r2). */
void sql_codegen_count(struct sbpf_builder *b, enum sql_kcnt idx);
/* Emits the record header's size word at @reg + @off: @size | epoch << 31
 * (clobbers r1). */
void sql_codegen_tag(struct sbpf_builder *b, int reg, int16_t off, uint32_t size);

/* Bytes copied from a staged record into a destination (record or key). */
struct sql_kcopy {
	int8_t probe;          /* probe whose staged record is read */
	uint16_t from;         /* offset in the staged record */
	uint16_t to;           /* offset in the destination */
	uint16_t size;         /* bytes */
	uint16_t back;         /* offset in the decoding layout (group keys: record of that probe) */
};

#define SQL_KAGG_MAX 32          /* aggregates computed in the kernel */
#define SQL_KAGG_MAX_KEY 128     /* group key bytes */
#define SQL_KAGG_MAX_VALUE 4096  /* aggregate state bytes per group and CPU */

/* Layout of kernel groups: the key is the raw captures of the columns of
 * the GROUP BY keys the kernel cannot (or need not) compute, then the
 * values (u64) of those it computes; the value is one state per aggregate
 * (u64 count, then u64 accumulator or histogram buckets). */
struct sql_kagg_kv {
	uint16_t key;          /* index into the query's GROUP BY keys */
	uint16_t off;          /* offset of its u64 value in the map key */
};
struct sql_kagg {
	struct sql_recplan g;                          /* key columns, for decoding keys */
	struct sql_kcopy key[SQL_MAX_PROBES * SQL_MAX_CAPS]; /* key bytes from staged records */
	size_t nkey;                                   /* entries in key */
	struct sql_kagg_kv kv[SQL_KAGG_MAX_KEY / 8];   /* GROUP BY keys computed in the kernel */
	size_t nkv;                                    /* entries in kv */
	uint32_t key_size;                             /* bytes (at least 8) */
	uint32_t value_size;                           /* bytes per CPU */
	uint32_t off[SQL_KAGG_MAX];                    /* per aggregate: offset of its count */
	uint32_t nbuckets[SQL_KAGG_MAX];               /* per aggregate: histogram buckets (0: none) */
	size_t naggs;                                  /* aggregates */
	uint32_t max_groups;                           /* entries of each group map */
};

/* Map fds a kernel-plan program uses (-1: not used). */
struct sql_kmaps {
	int ringbuf_fd;        /* records to user space (streaming) */
	int scratch_fd;        /* per-CPU array: staged records */
	int counters_fd;       /* per-CPU array of SQL_KCNT__COUNT u64 */
	int pair_fd;           /* hash: pairing key -> staged opening record */
	int outer_fd;          /* array of maps, one slot: the current group map */
	int zero_fd;           /* array, one zeroed aggregate value */
	int pidset_fd;         /* hash: u32 tgid -> u8 (pid filter) */
	int epoch_fd;          /* array, one u32: the current epoch */
	int origin_fd;         /* identities recorded by an origin program (lay->origin) */
};

/* Everything the generator needs for one probe of a kernel plan. */
struct sql_kprog {
	const struct sql_kspec *spec;  /* operators */
	const struct sql_table *t;     /* the table */
	const struct sql_recplan *krp; /* staged layouts */
	const struct sql_recplan *urp; /* layouts of records sent to user space (streaming) */
	const struct sql_kagg *agg;    /* group layout (aggregating) */
	int probe;                     /* which probe */
	uint32_t skip_tgid;            /* events of this process are ignored (0: none) */
	uint32_t scratch_pair_off;     /* closing probe of a kernel pair: where the opening record is copied */
};

/* Generates the program of one probe of a kernel plan. Returns 0 and a
 * malloc'ed program, or a negative error. */
int sql_codegen_kprog(const struct sql_kprog *kp, const struct sql_kmaps *maps, struct sbpf_insn **out,
		      size_t *n);
/* Emits the staging of @lay into per-CPU scratch (r6 = tracepoint record,
 * r7 = scratch): header, context values, fields, strings (codegen.c). */
void sql_codegen_stage(struct sbpf_builder *b, const struct sql_layout *lay);
/* Drops the captures of @rp no used column (nor, with @keys, the pairing
 * keys) reads and packs the others (sql_layout_place). */
void sql_layout_compact(struct sql_recplan *rp, bool keys);
/* Copies of the captures of @dst's layout @p from the staged layouts @src
 * (equal kind and field), at @base in the destination. Returns the number
 * of copies, or -ENOENT when a capture is not staged. */
int sql_kcopy_plan(const struct sql_recplan *src, const struct sql_recplan *dst, int p, uint32_t base,
		   struct sql_kcopy *out, size_t max);

/* How a kernel group map keys GROUP BY key @e (over side @side of @t):
 * by the raw captures of the columns it reads (a plain column, or what the
 * kernel cannot compute, such as syscall_name(syscall_number): user space
 * computes the key from the decoded columns and merges finer groups), by
 * its value computed in the kernel (an expression, or a column derived
 * from two captures such as duration = exit_ts - enter_ts: keyed on its
 * captures, every event would be a group of its own), or not at all (an
 * expression the kernel cannot compute over such a derived column: the
 * grouping stays in user space). */
enum sql_kkey { SQL_KKEY_NONE, SQL_KKEY_CAPS, SQL_KKEY_VALUE };
enum sql_kkey sql_kagg_key_mode(const struct sql_table *t, int side, const struct sql_expr *e);
/* Groups each kernel group map of @q holds (per window; a row of a new
 * group beyond them is lost, counted as "group map full"). */
uint32_t sql_kagg_max_groups(const struct sql_query *q);
/* Kernel group layout for @spec (kneeded staged in @krp). 0 or -errno. */
int sql_kagg_build(struct sql_kagg *ka, const struct sql_kspec *spec, const struct sql_recplan *krp,
		   const struct sql_tp_format *const *fmts, char *err, size_t errsz);
void sql_kagg_free(struct sql_kagg *ka);
/* Whether aggregate @a can be computed in the kernel. */
bool sql_kagg_supported(const struct sql_query *q, const struct sql_agg *a, int side);
/* Emits the group update of a kernel plan: r6..r8 as sql_codegen_kprog
 * leaves them, @kx ready; jumps to @l_out when done. */
int sql_kagg_emit(struct sbpf_builder *b, const struct sql_kprog *kp, const struct sql_kmaps *maps,
		  struct sql_kx *kx, int l_out);
/* Called per kernel group: @row holds the key columns (others NULL),
 * @keys (NULL when none) the GROUP BY keys the kernel computed (entries
 * SQL_T_NULL: compute from @row; a kernel value is never NULL), @st one
 * merged state per aggregate. Non-zero stops. */
typedef int (*sql_group_fn)(void *ctx, const struct sql_value *row, const struct sql_value *keys,
			    const struct sql_aggstate *st);
/* Reads every group of group map @fd (with @del, deleting each; without,
 * the caller replaces the map: freeing many entries one by one costs the
 * kernel far more than dropping the map): merges the per-CPU states and
 * hands each group to @fn. Returns groups read or -errno. */
int sql_kagg_read(struct sql_kagg *ka, const struct sql_query *q, int fd, bool del, sql_group_fn fn, void *ctx);

/* Merges state @src of aggregate @a into @dst (agg.c). 0 or -ENOMEM. */
int sql_agg_merge(const struct sql_agg *a, struct sql_aggstate *dst, const struct sql_aggstate *src);
/* Kernel aggregation in the executor (window.c, exec.c): folds the partial
 * states @st of the group whose key columns are in @row (and keys computed
 * in the kernel in @keys, as sql_group_fn) into the current window. 0 or a
 * negative error. */
int sql_win_merge(struct sql_win *w, struct sql_evalctx *c, const struct sql_value *keys,
		  const struct sql_aggstate *st);
int sql_exec_merge(struct sql_exec *x, int side, const struct sql_value *row, const struct sql_value *keys,
		   const struct sql_aggstate *st);

/* Accounting of one window of a source (sql_source_cut). The unit is an
 * event of the probe that makes rows (the closing probe of a paired
 * table): each such event that fired in the window is a row delivered, or
 * filtered in the kernel, or lost, or unpaired (a closing event whose
 * opening event was not stored: before the start, or filtered, lost or
 * evicted at the opening probe, reported in open_*). */
struct sql_acct {
	uint64_t fired;          /* events of the row-making probe (the tracer's own excluded) */
	uint64_t filtered;       /* rejected by kernel filters (pid set, WHERE) */
	uint64_t lost;           /* ring buffer full, group map full, program not run, bad record */
	uint64_t groupfull;      /* of lost: rows of a new group when the kernel group map was full */
	uint64_t unpaired;       /* closing events without an opening event */
	uint64_t krows;          /* rows folded into kernel groups (kernel aggregation) */
	uint64_t open_fired;     /* paired tables: opening events */
	uint64_t open_lost;      /* paired tables: opening events lost */
	uint64_t open_filtered;  /* paired tables: opening events filtered */
	bool timed_out;          /* the drain did not finish in time (records may follow) */
};

/* Window cuts. flip: programs starting from now count into the other
 * epoch (and kernel groups go to its map); returns once every program
 * that started before has finished (an RCU grace period). Until replay,
 * records of the new epoch are kept aside. cut: delivers the old epoch's
 * records (then its kernel groups to @gfn) and fills @a with its counters,
 * which are then zeroed. replay: delivers the records kept aside; they
 * belong to the next window. 0 / rows / -errno. */
int sql_source_flip(struct sql_source *s);
/* A moment (CLOCK_MONOTONIC ns, the clock of ts) before which every run of
 * the source's programs has finished: reading the ring buffer after this
 * call yields every event whose ts is below *@when. Retries for up to
 * @max_us while a program is running; -EAGAIN when none was found. */
int sql_source_quiesce(struct sql_source *s, int max_us, uint64_t *when);
int sql_source_cut(struct sql_source *s, int timeout_ms, sql_row_fn fn, void *ctx, sql_group_fn gfn,
		   void *gctx, struct sql_acct *a);
int sql_source_replay(struct sql_source *s, sql_row_fn fn, void *ctx);
/* Fingerprint of the programs sql_source_open() would load with @opts
 * (placeholder map fds; map definitions; kernel release), without
 * creating maps or loading anything. 0 or -errno with a reason in @err. */
int sql_source_fingerprint(const struct sql_table *t, const struct sql_source_opts *opts, uint64_t *fp,
			   char *err, size_t errsz);


/* ---- helper programs of kernel plans (kpids.c) --------------------------- */

/* A map that a small program on one tracepoint keeps up to date (the fork
 * follower of a pid set, the identities of an origin). */
struct sql_khelper {
	int map_fd;               /* the map, or -1 */
	int prog_fd;              /* the program, or -1 */
	struct sbpf_klink *link;  /* its attachment, or NULL */
};
/* Loads @insns[0..@n) as a tracepoint program named @name and attaches it
 * to @tp; on failure says why in @err (@what names the program). */
int sql_khelper_attach(struct sql_khelper *h, const struct sbpf_insn *insns, size_t n, const char *name,
		       const char *tp, const char *what, char *err, size_t errsz);
void sql_khelper_close(struct sql_khelper *h); /* detaches and closes what is open */

/* ---- identities recorded at an origin tracepoint (korigin.c) ------------- */

struct sql_korigin;
/* Creates the identity map of @o and attaches its program. NULL with @err. */
struct sql_korigin *sql_korigin_new(const struct sql_origin *o, char *err, size_t errsz);
int sql_korigin_fd(const struct sql_korigin *k);
uint64_t sql_korigin_misses(const struct sql_korigin *k); /* origin events skipped by the kernel */
void sql_korigin_free(struct sql_korigin *k);
/* Emits the start of a probe whose layout has an origin: reads the key
 * fields of @fmt from the tracepoint record (r6), fills the identity on the
 * stack from the origin map (the entry stays) or from helpers. Clobbers
 * r0..r5. Returns 0 or -ENOENT when a key field is missing. */
int sql_codegen_identity(struct sbpf_builder *b, const struct sql_origin *o, const struct sql_tp_format *fmt,
			 int origin_fd);

/* ---- pid sets in the kernel (kpids.c) ------------------------------------ */

/* A hash map of traced process ids, optionally grown by a program on
 * sched/sched_process_fork that adds children of traced processes. */
struct sql_kpids;
struct sql_kpids *sql_kpids_new(int pid, bool follow, char *err, size_t errsz);
int sql_kpids_fd(const struct sql_kpids *k);
void sql_kpids_free(struct sql_kpids *k);

/* ---- cost model (cost.c) --------------------------------------------------- */

/* Machine constants of the cost model, in nanoseconds (calibrate.c). */
struct sql_costk {
	double prog;           /* running an attached tracepoint program (entry and exit) */
	double helper;         /* a cheap helper call (time, ids) */
	double copy8;          /* staging or copying 8 bytes */
	double lookup;         /* hash-map lookup */
	double update;         /* hash-map update or delete */
	double percpu;         /* per-CPU array lookup (inlined) */
	double reserve;        /* ring-buffer reserve + submit, without wake-up */
	double wakeup;         /* waking the consumer (per wake-up, user space included) */
	double user_rec;       /* user space: decode a record, run it through the executor */
	double user_byte;      /* user space: per record byte read */
	double user_pair;      /* user space: pairing one event */
	bool calibrated;       /* measured on this machine (else defaults) */
	char source[700];      /* where the constants came from */
};

/* Defaults, overridden by the calibration file when present. */
void sql_costk_load(struct sql_costk *k);
/* Measures @k on this machine (calibrate.c): programs attached to
 * raw_syscalls/sys_enter timed against a getppid() loop, and the executor
 * on synthetic records. Progress dots go to @log. 0 or -errno with @err. */
int sql_calibrate(struct sql_costk *k, FILE *log, char *err, size_t errsz);
/* Writes @k to the calibration file. 0 or -errno. */
int sql_costk_save(const struct sql_costk *k, char *path, size_t pathsz);

/* Estimated cost of a candidate, per event of the first probe (ns). */
struct sql_cost {
	double kernel;         /* eBPF work per event */
	double bytes;          /* bytes sent to user space per event */
	double user;           /* user-space work per event */
	double contention;     /* shared-map contention per event */
	double total;          /* sum, in ns per event */
};

struct sql_cand;
/* Fills @c->cost for candidate @c of plan @p. */
void sql_cost_estimate(const struct sql_plan *p, struct sql_cand *c, bool pid_filter, const struct sql_costk *k);

/* ---- optimizer (optimize.c) ------------------------------------------------ */

enum sql_strategy {
	SQL_STRATEGY_AUTO,      /* cheapest plan the verifier accepts */
	SQL_STRATEGY_MVSF,      /* minimum verifier-safe functions only */
	SQL_STRATEGY_KERNEL_MAX,/* as much as possible in the kernel (falls back like auto) */
};

enum sql_verdict {
	SQL_VERDICT_UNTRIED,    /* not loaded */
	SQL_VERDICT_ACCEPTED,   /* the verifier accepted every program */
	SQL_VERDICT_REJECTED,   /* the verifier refused a program */
	SQL_VERDICT_FAILED,     /* could not be tried (no privilege, missing tracepoint, ...) */
};

/* One candidate plan: per side, what runs in the kernel. */
struct sql_cand {
	struct sql_kspec spec[SQL_MAX_TABLES]; /* per side; spec[s] used when kernel[s] */
	bool kernel[SQL_MAX_TABLES];  /* side uses kernel operators (else MVSF) */
	char placement[160];          /* "filter(2/2)+pair+agg @kernel", for explain */
	struct sql_cost cost;         /* estimate */
	enum sql_verdict verdict;     /* after trying */
	bool cached;                  /* verdict from the cache */
	char reason[256];             /* verifier's reason (rejected) or failure */
	uint64_t fingerprint;         /* plan fingerprint (programs + maps) */
	struct sql_query uq;          /* the query user space runs (residual WHERE) */
};

struct sql_opt {
	enum sql_strategy strategy;   /* requested strategy */
	struct sql_cand *cands;       /* candidates, cheapest first; the MVSF plan last */
	size_t ncands;
	int chosen;                   /* index of the plan chosen (-1: none yet) */
	bool pid_filter;              /* made for a run filtered by process */
	char costk_source[700];       /* where the cost constants came from */
};

/* Builds the candidates of @p's query (in @a), ordered by estimated cost,
 * the MVSF-only plan last. Pure: loads nothing. 0 or -ENOMEM. */
int sql_optimize(struct sql_plan *p, struct sql_arena *a, enum sql_strategy strategy, bool pid_filter);
/* Fingerprint of candidate @c (programs with placeholder fds, map
 * definitions, kernel release); 0 when it cannot be computed. */
uint64_t sql_cand_fingerprint(const struct sql_plan *p, const struct sql_cand *c);
/* Loads the programs of every candidate (not attached) so the verifier
 * judges each, using and filling the verdict cache; chooses the cheapest
 * accepted one. For explain. */
void sql_opt_verify_all(struct sql_plan *p);
/* Marks candidate @i chosen: node places of the plan follow it. */
void sql_opt_choose(struct sql_plan *p, int i);
/* Kernel operators of side @side in the chosen candidate, or NULL (MVSF). */
const struct sql_kspec *sql_plan_kspec(const struct sql_plan *p, int side);
/* Prints the candidates (placement, cost, verdict, reason) and the choice. */
void sql_opt_print(const struct sql_plan *p, FILE *f);

/* Runtime: opens the sources of the cheapest candidate the verifier
 * accepts, falling back candidate by candidate to the MVSF plan. */
struct sql_open_req {
	int pid;                       /* pid filter (0: none) */
	bool follow;                   /* with pid: descendants too */
	const char *pidcol_name;       /* column user space filters by ("pid") */
	unsigned sample_hz;            /* sampling tables: samples per second per CPU (0: default) */
};
struct sql_opened {
	struct sql_source *src[SQL_MAX_TABLES]; /* per source (sql_query_nsources) */
	struct sql_kpids *kpids;       /* kernel pid set (NULL: user space filters) */
	const struct sql_query *uq;    /* query the executor runs */
	bool kagg;                     /* groups come from the kernel */
	int chosen;                    /* candidate index */
	int tried;                     /* candidates tried (loaded) */
};
int sql_plan_open(struct sql_plan *p, struct sql_arena *a, const struct sql_open_req *req,
		  struct sql_opened *out, char *err, size_t errsz);
void sql_opened_close(struct sql_opened *o);

/* ---- verdict cache (vcache.c, over the DSLs' cache in src/dsl) ------------- */

/* Looks up the verdict of @fingerprint on this kernel release. Returns
 * true when cached (verdict and reason filled). */
bool sql_vcache_get(uint64_t fingerprint, enum sql_verdict *v, char *reason, size_t reasonsz);
/* Records a verdict (ACCEPTED or REJECTED; others are ignored). Errors are
 * ignored (a cache). The cache directory and kernel release are
 * dsl_cache_dir() and dsl_kernel_release() (dsl/dsl.h). */
void sql_vcache_put(uint64_t fingerprint, enum sql_verdict v, const char *reason);

#endif /* SAFEBPF_SQLINT_H */
