/* safebpf/kernel.h - the thin layer over libbpf through which safebpf talks
 * to the running kernel: privileges and tracefs, program loading with the
 * verifier's log, BPF_PROG_TEST_RUN, maps, ring buffers and attachment.
 * Pointer arguments may not be NULL unless their comment says so; every
 * __free / __close function accepts NULL (and does nothing).
 */
#ifndef SAFEBPF_KERNEL_H
#define SAFEBPF_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "safebpf/isa.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- environment ------------------------------------------------------ */

/* Checks that this process may load BPF programs and read tracepoints.
 * Returns 0, or -EPERM with the missing capability named in @why. */
int sbpf_kernel_check_privileges(char *why, size_t whysz);

/* Path of a mounted tracefs, mounting it at /sys/kernel/tracing when it is
 * missing and we are allowed to. Returns a static string, or NULL with errno. */
const char *sbpf_kernel_tracefs(void);

/* ---- maps (maps.c) ---------------------------------------------------- */

enum sbpf_kmap_type {
	SBPF_KMAP_ARRAY,           /* BPF_MAP_TYPE_ARRAY */
	SBPF_KMAP_PERCPU_ARRAY,    /* BPF_MAP_TYPE_PERCPU_ARRAY */
	SBPF_KMAP_HASH,            /* BPF_MAP_TYPE_HASH */
	SBPF_KMAP_PERCPU_HASH,     /* BPF_MAP_TYPE_PERCPU_HASH */
	SBPF_KMAP_RINGBUF,         /* BPF_MAP_TYPE_RINGBUF (max_entries = bytes, power of 2) */
	SBPF_KMAP_ARRAY_OF_MAPS,   /* BPF_MAP_TYPE_ARRAY_OF_MAPS (value: u32 fd of a map like
				      inner_map_fd) */
	SBPF_KMAP_LRU_HASH,        /* BPF_MAP_TYPE_LRU_HASH (full: the least recently used
				      entry makes room) */
	SBPF_KMAP_REUSEPORT_SOCKARRAY, /* BPF_MAP_TYPE_REUSEPORT_SOCKARRAY (value: a socket fd of
				      one SO_REUSEPORT group) */
};

struct sbpf_kmap_opts {
	size_t sz;                 /* sizeof(struct sbpf_kmap_opts) */
	enum sbpf_kmap_type type;  /* map type */
	const char *name;          /* shown by bpftool (<= 15 chars kept), or NULL */
	uint32_t key_size;         /* bytes (0 for ring buffers) */
	uint32_t value_size;       /* bytes (0 for ring buffers) */
	uint32_t max_entries;      /* entries, or ring buffer bytes */
	int inner_map_fd;          /* ARRAY_OF_MAPS: a map of the type its slots hold */
	uint32_t map_flags;        /* BPF_F_* creation flags (BPF_F_NO_PREALLOC: hash maps
				      allocate elements when they are added) */
};

/* Creates a map. Returns its fd or a negative errno. */
int sbpf_kmap_create(const struct sbpf_kmap_opts *opts);
/* Number of possible CPUs (the number of values of a per-CPU map entry). */
int sbpf_kernel_ncpus(void);
/* Element access; for per-CPU maps @value holds ncpus values, each rounded
 * up to 8 bytes. Return 0 or a negative errno (-ENOENT: no such key). */
int sbpf_kmap_lookup(int fd, const void *key, void *value);
int sbpf_kmap_update(int fd, const void *key, const void *value, uint64_t flags);
int sbpf_kmap_delete(int fd, const void *key);
/* Iteration: the key after @key (NULL: the first) in @next; -ENOENT at the end. */
int sbpf_kmap_next_key(int fd, const void *key, void *next);
/* Batch read (and, with @del, delete) of a hash map: up to *@count entries
 * into @keys and @values (packed as sbpf_kmap_lookup's), their number in
 * *@count. @in is NULL at the first call, then the @out of the call before
 * (@in and @out: at least 8 bytes and the map's key size). 0 while more
 * may follow, -ENOENT after the last entries (*@count may still be
 * non-zero), or another negative errno (-EINVAL/-EOPNOTSUPP: the kernel has
 * no batch operations for this map; use next_key, lookup, delete). */
int sbpf_kmap_read_batch(int fd, void *in, void *out, void *keys, void *values, uint32_t *count, bool del);
/* Sum over CPUs of the u64 at entry @index of a per-CPU array of u64. */
int sbpf_kmap_percpu_sum(int fd, uint32_t index, uint64_t *sum);

/* ---- ring buffers (ringbuf.c) --------------------------------------------- */

/* Called for each record; return 0 to go on, non-zero to stop consuming
 * (the record counts as consumed). */
typedef int (*sbpf_kringbuf_fn)(void *ctx, const void *data, size_t len);

struct sbpf_kringbuf;

/* A consumer of ring-buffer map @map_fd. NULL with errno on failure. */
struct sbpf_kringbuf *sbpf_kringbuf__new(int map_fd, sbpf_kringbuf_fn fn, void *ctx);
/* Waits up to @timeout_ms (0: no wait) for records and consumes them.
 * Returns the records consumed, or a negative errno; -ECANCELED when the
 * callback asked to stop. */
int sbpf_kringbuf__poll(struct sbpf_kringbuf *rb, int timeout_ms);
/* Bounds every later poll to @max_records records (0: no bound): a poll
 * returns after that many even when more are waiting. */
void sbpf_kringbuf__set_budget(struct sbpf_kringbuf *rb, size_t max_records);
/* Bounds every later poll to about @max_ms milliseconds of consuming (0: no
 * bound; the clock is read every few records): a consumer slower per record
 * than its producers still returns to its caller in time. */
void sbpf_kringbuf__set_time_budget(struct sbpf_kringbuf *rb, unsigned max_ms);
/* Byte positions since creation: how far the consumer has read and how far
 * producers have reserved (records in between are pending or being filled). */
int sbpf_kringbuf__positions(const struct sbpf_kringbuf *rb, uint64_t *consumer, uint64_t *producer);
void sbpf_kringbuf__free(struct sbpf_kringbuf *rb);

/* ---- attachment (attach.c) ------------------------------------------------- */

/* Id of tracepoint @tp ("sys/name") from tracefs, or a negative errno. */
int sbpf_kernel_tracepoint_id(const char *tp);

struct sbpf_klink;

/* Attaches tracepoint program @prog_fd to @tp ("sys/name"): perf_event_open
 * of the tracepoint, then a BPF_PERF_EVENT link. NULL with errno and a
 * reason in @err on failure. */
struct sbpf_klink *sbpf_klink__tracepoint(int prog_fd, const char *tp, char *err, size_t errsz);
/* Attaches perf-event program @prog_fd to a software CPU clock
 * (PERF_COUNT_SW_CPU_CLOCK) sampling @hz times a second on every online
 * CPU: one perf event and one BPF_PERF_EVENT link per CPU. NULL with errno
 * and a reason in @err on failure. */
struct sbpf_klink *sbpf_klink__cpu_clock(int prog_fd, unsigned hz, char *err, size_t errsz);
/* Attaches kprobe-type program @prog_fd as a uprobe (or, with @ret, a
 * uretprobe) at byte @offset of ELF file @path, in every process (@pid -1)
 * or one: perf_event_open of the uprobe PMU, then a BPF_PERF_EVENT link. */
struct sbpf_klink *sbpf_klink__uprobe(int prog_fd, const char *path, uint64_t offset, bool ret, int pid,
				      char *err, size_t errsz);
/* Attaches kprobe-type program @prog_fd as a uprobe at each of the @n
 * byte @offsets of ELF file @path (the sites of one USDT probe), in every
 * process, the one at offsets[i] with attach cookie cookies[i] (NULL: no
 * cookies); with a nonzero @ref_ctr_offset (the file offset of the probe's
 * semaphore) the kernel increments the semaphore in every process that
 * maps the file while the probe is attached (uprobe ref_ctr_offset). */
struct sbpf_klink *sbpf_klink__usdt(int prog_fd, const char *path, const uint64_t *offsets,
				    const uint64_t *cookies, size_t n, uint64_t ref_ctr_offset, char *err, size_t errsz);
/* Attaches raw-tracepoint program @prog_fd to raw tracepoint @name. */
struct sbpf_klink *sbpf_klink__raw_tracepoint(int prog_fd, const char *name, char *err, size_t errsz);
/* The kernel's id of the link (as `bpftool link` shows it), 0 if unknown. */
uint32_t sbpf_klink__id(const struct sbpf_klink *l);
/* Detaches and closes everything the link holds. */
void sbpf_klink__destroy(struct sbpf_klink *l);

struct sbpf_kprog_info {
	uint32_t id;               /* program id (bpftool prog show id N) */
	uint64_t run_cnt;          /* runs counted (only with kernel.bpf_stats_enabled) */
	uint64_t recursion_misses; /* runs skipped because a BPF program was already running */
	uint32_t jited_len;        /* bytes of native code the kernel's JIT made */
	uint32_t xlated_len;       /* bytes of the program after the verifier's rewrites */
};

/* Facts about a loaded program. 0 or a negative errno. */
int sbpf_kernel_prog_info(int prog_fd, struct sbpf_kprog_info *info);
/* Whether a program / link with this id is still in the kernel: 1, 0, or
 * a negative errno when that cannot be known. */
int sbpf_kernel_prog_exists(uint32_t id);
int sbpf_kernel_link_exists(uint32_t id);
/* Waits up to @timeout_ms for program @id to leave the kernel (the last
 * reference of a detached program may be dropped after an RCU grace
 * period). Returns 0 when gone, -ETIMEDOUT, or another negative errno. */
int sbpf_kernel_prog_wait_gone(uint32_t id, int timeout_ms);

/* ---- loading ---------------------------------------------------------- */

enum sbpf_kprog_type {
	SBPF_KPROG_XDP,            /* BPF_PROG_TYPE_XDP (test-run baseline, Kops checks) */
	SBPF_KPROG_TRACEPOINT,     /* BPF_PROG_TYPE_TRACEPOINT */
	SBPF_KPROG_RAW_TRACEPOINT, /* BPF_PROG_TYPE_RAW_TRACEPOINT */
	SBPF_KPROG_SOCKET_FILTER,  /* BPF_PROG_TYPE_SOCKET_FILTER */
	SBPF_KPROG_SK_REUSEPORT,   /* BPF_PROG_TYPE_SK_REUSEPORT (socket selection in a group) */
	SBPF_KPROG_PERF_EVENT,     /* BPF_PROG_TYPE_PERF_EVENT (sampling: ctx is bpf_perf_event_data) */
	SBPF_KPROG_KPROBE,         /* BPF_PROG_TYPE_KPROBE (uprobes: ctx is struct pt_regs) */
};

struct sbpf_kload_opts {
	size_t sz;                 /* sizeof(struct sbpf_kload_opts) */
	enum sbpf_kprog_type type; /* program type */
	const char *name;          /* program name shown by bpftool (<= 15 chars kept) */
	char *log_buf;             /* receives the verifier log on failure, or NULL */
	size_t log_size;           /* size of log_buf */
	int log_always;            /* also fill log_buf when the load succeeds */
	const void *rodata;        /* the program's read-only data (vm.h SBPF_RODATA_PSEUDO), or NULL */
	size_t rodata_len;         /* its bytes */
	/* User-space map references (safebpf/maps.h: lddw src 1/2, imm = map
	 * index K) name kernel map map_fds[K] (sbpf_kernel_maps_create).
	 * NULL: the process default (sbpf_kernel_set_map_fds), and without one
	 * the imm is taken as an fd. */
	const int *map_fds;
	size_t nmap_fds;           /* entries of map_fds */
};

/* The map fds every later sbpf_kernel_load() of this process uses for
 * user-space map references when its options give none (for pipelines
 * that load one program several times, e.g. the Kops verifier checks);
 * NULL clears it. @fds must stay valid while set. */
void sbpf_kernel_set_map_fds(const int *fds, size_t n);

/* ---- user-space maps in the kernel (umaps.c) -------------------------------- */

struct sbpf_maps;
/* Creates one kernel map per map of @m (same type, sizes, flags; fds in
 * @fds, SBPF_MAX_MAPS entries) and copies @m's contents into them (array
 * entries that are not zero, every hash entry; global data). Returns 0,
 * or a negative errno with the map named in @why (the fds made so far are
 * closed). */
int sbpf_kernel_maps_create(struct sbpf_maps *m, int *fds, char *why, size_t whysz);
/* Replaces @m's contents with the kernel maps' (@fds as created above;
 * ring buffers: the records waiting are consumed into @m's ring). Returns
 * 0 or a negative errno with a reason. */
int sbpf_kernel_maps_read(struct sbpf_maps *m, const int *fds, char *why, size_t whysz);
/* Closes the fds of sbpf_kernel_maps_create(). */
void sbpf_kernel_maps_close(const struct sbpf_maps *m, int *fds);

/* Loads @insns into the kernel (the real verifier judges it). Returns the
 * program fd, or a negative errno; on rejection the verifier's log is in
 * opts->log_buf. With opts->rodata the data goes into a frozen read-only
 * array map (one entry, BPF_F_RDONLY_PROG) passed as fd_array[0], which is
 * what the program's src=BPF_PSEUDO_MAP_IDX_VALUE imm=0 lddws name; the
 * program holds the only reference to it. */
int sbpf_kernel_load(const struct sbpf_insn *insns, size_t n, const struct sbpf_kload_opts *opts);

/* The last line of a verifier log that says why it refused (the reason a
 * person needs), copied into @buf. */
void sbpf_kernel_log_reason(const char *log, char *buf, size_t bufsz);


/* ---- BPF_PROG_TEST_RUN: the kernel-JIT baseline (src/kernel/testrun.c) - */

/* Input and output of one BPF_PROG_TEST_RUN of an XDP program. */
struct sbpf_ktest_opts {
	size_t sz;                 /* sizeof(struct sbpf_ktest_opts) */
	const void *data_in;       /* packet bytes (at least 14: an Ethernet header) */
	size_t data_len;           /* length of data_in */
	void *data_out;            /* receives the packet after the run, or NULL */
	size_t data_out_size;      /* capacity of data_out */
	uint32_t repeat;           /* runs on the same packet (0 means 1) */
};

/* What the kernel reported. */
struct sbpf_ktest_result {
	uint32_t retval;           /* the program's return value (the kernel keeps 32 bits) */
	uint32_t duration_ns;      /* kernel's average time per run, in ns */
	size_t data_out_len;       /* bytes written to data_out */
};

/* Runs the loaded XDP program @prog_fd once per repetition on a copy of the
 * packet with BPF_PROG_TEST_RUN. Returns 0 with @res filled, or a negative
 * errno (-EINVAL for a packet the kernel refuses, e.g. shorter than 14
 * bytes; -ENOSPC when data_out is too small). */
int sbpf_kernel_test_run(int prog_fd, const struct sbpf_ktest_opts *opts,
			 struct sbpf_ktest_result *res);

/* Loads @insns as an XDP program (the real verifier judges it; with @lopts
 * its log lands in lopts->log_buf as for sbpf_kernel_load, which also
 * names the program), runs it as sbpf_kernel_test_run does and closes it:
 * nothing stays loaded. @lopts may be NULL; its type is ignored (XDP).
 * Returns 0, or the negative errno of the load (-EACCES/-EINVAL: the
 * verifier refused) or of the run. */
int sbpf_kernel_run_xdp(const struct sbpf_insn *insns, size_t n,
			const struct sbpf_kload_opts *lopts,
			const struct sbpf_ktest_opts *opts, struct sbpf_ktest_result *res);


/* ---- struct_ops (structops.c) ------------------------------------------------ */

/* A kernel struct_ops object being built (e.g. a tcp_congestion_ops): its
 * programs, loaded one per function-pointer member, then a
 * BPF_MAP_TYPE_STRUCT_OPS map (BPF_F_LINK) holding the structure, and a
 * BPF_STRUCT_OPS link that registers it. Freeing it (or the process
 * ending, which closes the fds) unregisters it. */
struct sbpf_kstructops;

/* Starts a struct_ops of kernel type @type ("tcp_congestion_ops"), with
 * layouts from vmlinux BTF. NULL with errno and a reason in @err (ENOENT:
 * this kernel has no such struct_ops type). */
struct sbpf_kstructops *sbpf_kstructops__new(const char *type, char *err, size_t errsz);
/* Loads @insns (@n slots) as the program of function-pointer member
 * @member (the real verifier judges it; program name = @member). Returns
 * 0, or a negative errno with the verifier's reason in @log (-EACCES /
 * -EINVAL: refused). A second load of a member replaces the first. */
int sbpf_kstructops__load(struct sbpf_kstructops *o, const char *member, const struct sbpf_insn *insns,
			  size_t n, char *log, size_t logsz);
/* The fd of member @member's loaded program, or -1. */
int sbpf_kstructops__prog_fd(const struct sbpf_kstructops *o, const char *member);
/* Copies @len bytes of @data into data member @member (e.g. "name"),
 * which must be at least that large. 0 or -ENOENT / -E2BIG. */
int sbpf_kstructops__set(struct sbpf_kstructops *o, const char *member, const void *data, size_t len);
/* Creates the struct_ops map named @name, fills it with the loaded
 * programs and the data set, and registers it through a link. 0, or a
 * negative errno with a reason in @err (-EEXIST: the name is taken). */
int sbpf_kstructops__register(struct sbpf_kstructops *o, const char *name, char *err, size_t errsz);
/* Ids of the registered map and link (0 before registration). */
uint32_t sbpf_kstructops__map_id(const struct sbpf_kstructops *o);
uint32_t sbpf_kstructops__link_id(const struct sbpf_kstructops *o);
/* Unregisters (closes the link and the map) and closes the programs. */
void sbpf_kstructops__free(struct sbpf_kstructops *o);
/* Whether a map with this id is still in the kernel: 1, 0, or a negative errno. */
int sbpf_kernel_map_exists(uint32_t id);

#ifdef __cplusplus
}
#endif
#endif /* SAFEBPF_KERNEL_H */
