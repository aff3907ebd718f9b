/* source.c - running event sources: for one table, read the tracefs
 * formats of its probes, bind the requested columns (record.c), generate
 * and load the MVSF of each probe (codegen.c), attach them, and turn the
 * ring-buffer records into rows, pairing opening and closing events of
 * paired tables (pair.c). Close detaches and frees everything.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "safebpf/kernel.h"
#include "dsl/dsl.h"
#include "sql/sqlInt.h"

#define DEFAULT_RINGBUF (4u << 20)
#define MIN_RINGBUF (64u << 10)
#define MAX_RINGBUF (1u << 30)
#define LOG_SIZE (256u << 10)
#define POLL_BUDGET 16384 /* records per poll */
#define POLL_MS 50        /* and milliseconds per poll */
#define STOP_BACKLOG (256u << 10) /* bytes waiting at a stop beyond which the last cut is bounded */

struct sql_source {
	const struct sql_table *t;                 /* the table */
	unsigned sample_hz;                        /* sampling frequency of a perf/cpu_clock probe */
	struct sql_tp_format fmt[SQL_MAX_PROBES];  /* formats of its probes */
	struct sql_recplan rp;                     /* record layouts and column bindings */
	int rb_fd, scratch_fd, lost_fd;            /* maps (-1 when not created) */
	int prog_fd[SQL_MAX_PROBES];               /* loaded MVSFs (-1 when not loaded) */
	struct sbpf_insn *insns[SQL_MAX_PROBES];   /* their code */
	size_t ninsns[SQL_MAX_PROBES];
	uint32_t prog_id[SQL_MAX_PROBES];          /* kernel ids, for info */
	struct sbpf_klink *link[SQL_MAX_PROBES];   /* attachments */
	struct sbpf_kringbuf *rb;                  /* consumer */
	uint32_t rb_bytes;                         /* ring buffer size */
	struct sql_pair *pair;                     /* open events waiting (paired tables) */
	struct sql_value *row;                     /* one row being delivered */
	uint64_t dropped;                          /* records with a bad header or that could not
						      be stored for pairing (never expected) */
	bool include_self;                         /* record this process's events too */
	/* kernel plans (optimize.c): rp above describes the records user space
	 * receives; krp what the programs stage */
	const struct sql_kspec *k;                 /* kernel operators, or NULL (MVSF) */
	struct sql_recplan krp;                    /* staged layouts */
	struct sql_kagg agg;                       /* group layout (k->kagg) */
	int counters_fd, pair_fd, outer_fd, zero_fd; /* kernel-plan maps (-1: none) */
	int inner_fd[3];                           /* group maps: one per outer slot, one spare */
	int slot[2];                               /* index in inner_fd of each slot's map */
	int spare;                                 /* index in inner_fd of the spare map */
	/* accounting (every plan): epochs and window cuts */
	int epoch_fd;                              /* array, one u32: the epoch programs read */
	int sync_fd;                               /* array of maps: its update waits for programs */
	uint32_t epoch;                            /* current epoch (0 or 1) */
	bool cutting;                              /* between flip and replay: defer new-epoch records */
	uint32_t old_epoch;                        /* the epoch being cut */
	unsigned char *deferred;                   /* records of the new epoch met while cutting */
	size_t ndeferred, deferred_cap;            /* bytes used / allocated */
	uint64_t deferred_dropped;                 /* records not deferred (out of memory): lost */
	uint64_t acc[SQL_KCNT__COUNT];             /* counters of the epochs already cut */
	uint64_t unpaired;                         /* closing records without an opening one (user pairing) */
	uint64_t unpaired0, dropped0, misses0;     /* values at the last cut */
	int pidset_fd;                             /* pid set (borrowed), or -1 */
	uint32_t pair_off;                         /* scratch offset of the opening record copy */
	uint32_t pair_entries;                     /* bound of the kernel pairing map */
	struct sql_korigin *origin;                /* identities recorded at the origin of
						      probe events (korigin.c), or NULL */
	bool fingerprinting;                       /* placeholder fds and process id */
	bool *rejected;                            /* out: a program was refused by the verifier */
	char *reject_why;                          /* out: the verifier's reason */
	size_t reject_whysz;
	sql_row_fn fn;                             /* callback of the current poll */
	void *fn_ctx;                              /* its argument */
	int rows;                                  /* rows delivered in the current poll */
	int stop_ms;                               /* stopped: the last cut delivers for this
						      long (0: not stopped) */
	bool discarding;                           /* the last cut ran out of time: records
						      are read without making rows */
	uint64_t abandoned;                        /* row events read so, counted as lost */
	int exit_fd;                               /* thread-exit hook of the kernel pairing
						      map (-1: none) */
	struct sbpf_klink *exit_link;              /* its attachment */
};

/* Delivers the row decoded from @rec0 (and @rec1). Non-zero: stop. */
static int deliver(struct sql_source *s, const void *rec0, const void *rec1)
{
	sql_recplan_row(&s->rp, rec0, rec1, s->row);
	s->rows++;
	return s->fn ? s->fn(s->fn_ctx, s->row) : 0;
}

/* Ring-buffer callback: one record in, zero or one row out. */
static int on_record(void *ctx, const void *data, size_t len)
{
	struct sql_source *s = ctx;
	if (s->cutting && len >= SQL_REC_HDR && sql_rec_epoch(data) != s->old_epoch) {
		/* Happened after the cut: belongs to the next window. */
		size_t need = s->ndeferred + sizeof(size_t) + ((len + 7) & ~(size_t)7);
		if (need > s->deferred_cap) {
			size_t cap = s->deferred_cap ? s->deferred_cap : 65536;
			while (cap < need)
				cap *= 2;
			unsigned char *d = realloc(s->deferred, cap);
			if (!d) {
				s->deferred_dropped++;
				return 0;
			}
			s->deferred = d;
			s->deferred_cap = cap;
		}
		memcpy(s->deferred + s->ndeferred, &len, sizeof(len));
		memcpy(s->deferred + s->ndeferred + sizeof(len), data, len);
		s->ndeferred = need;
		return 0;
	}
	uint32_t id;
	if (s->pair && len == 16 && (memcpy(&id, data, 4), id == SQL_REC_THREAD_EXIT)) {
		/* A thread exited: its opening event will never close, and a
		 * later thread with its id must not take it (its first event
		 * is the return of the clone that made it). */
		uint64_t key[2] = { 0, 0 };
		memcpy(&key[0], (const uint8_t *)data + 8, 8);
		sql_pair_take(s->pair, key, s->rp.nkeys * sizeof(uint64_t), NULL);
		return 0;
	}
	int probe = sql_recplan_probe(&s->rp, data, len);
	if (probe < 0) {
		s->dropped++;
		return 0;
	}
	if (s->discarding) {
		/* Out of time after a stop: a record that would make a row is
		 * lost (an opening record only frees nothing: its closing one
		 * is either discarded here too or never comes). */
		if ((s->k && s->k->kpair) || !s->t->pair || probe == (int)s->t->nprobes - 1)
			s->abandoned++;
		return 0;
	}
	if (s->k && s->k->kpair) {
		/* Paired in the kernel: the opening record, then the closing one. */
		uint32_t size0 = s->rp.lay[0].size;
		if (probe != 0 || len < size0 + SQL_REC_HDR ||
		    sql_recplan_probe(&s->rp, (const uint8_t *)data + size0, len - size0) != 1) {
			s->dropped++;
			return 0;
		}
		return deliver(s, data, (const uint8_t *)data + size0);
	}
	if (!s->t->pair)
		return deliver(s, data, NULL);
	uint64_t key[2];
	size_t klen = s->rp.nkeys * sizeof(uint64_t);
	sql_recplan_key(&s->rp, probe, data, key);
	if (probe == 0) {
		/* -ENOMEM drops the event; the pairing state stays consistent. */
		if (sql_pair_put(s->pair, key, klen, data, s->rp.lay[0].size, 0))
			s->dropped++;
		return 0;
	}
	const void *left = sql_pair_take(s->pair, key, klen, NULL);
	/* A closing event without its opening one (opened before the source
	 * started, or the opening record was lost or evicted) makes no row. */
	if (!left) {
		s->unpaired++;
		return 0;
	}
	return deliver(s, left, data);
}

static uint32_t ringbuf_size(size_t want)
{
	if (!want)
		return DEFAULT_RINGBUF;
	uint32_t n = MIN_RINGBUF;
	while (n < want && n < MAX_RINGBUF)
		n *= 2;
	return n;
}

/* Maps of kernel plans: counters live in lost_fd (SQL_KCNT__COUNT entries). */
/* A new (empty) group map of the kernel plan. Groups are added rarely
 * (once per window): allocate them then rather than preallocating every
 * entry on every CPU. fd or -errno. */
static int group_map(const struct sql_source *s)
{
	struct sbpf_kmap_opts go = { .sz = sizeof(go), .type = SBPF_KMAP_PERCPU_HASH, .name = "sbpf_groups",
				     .key_size = s->agg.key_size, .value_size = s->agg.value_size,
				     .max_entries = s->agg.max_groups, .map_flags = 1 /* BPF_F_NO_PREALLOC */ };
	return sbpf_kmap_create(&go);
}

static int create_kernel_maps(struct sql_source *s)
{
	s->counters_fd = s->lost_fd;
	if (s->k->kpair) {
		struct sbpf_kmap_opts po = { .sz = sizeof(po), .type = SBPF_KMAP_HASH, .name = "sbpf_pair",
					     .key_size = 16, .value_size = s->krp.lay[0].size,
					     .max_entries = s->pair_entries };
		if ((s->pair_fd = sbpf_kmap_create(&po)) < 0)
			return s->pair_fd;
	}
	if (s->k->kagg) {
		for (int i = 0; i < 3; i++)
			if ((s->inner_fd[i] = group_map(s)) < 0)
				return s->inner_fd[i];
		/* One slot per epoch; the spare replaces the slot of the epoch
		 * being cut (the update waits for programs still using it). */
		struct sbpf_kmap_opts oo = { .sz = sizeof(oo), .type = SBPF_KMAP_ARRAY_OF_MAPS, .name = "sbpf_window",
					     .key_size = 4, .value_size = 4, .max_entries = 2,
					     .inner_map_fd = s->inner_fd[0] };
		if ((s->outer_fd = sbpf_kmap_create(&oo)) < 0)
			return s->outer_fd;
		for (uint32_t i = 0; i < 2; i++) {
			uint32_t fd = (uint32_t)s->inner_fd[i];
			int rc = sbpf_kmap_update(s->outer_fd, &i, &fd, 0);
			if (rc)
				return rc;
			s->slot[i] = (int)i;
		}
		s->spare = 2;
		struct sbpf_kmap_opts zo = { .sz = sizeof(zo), .type = SBPF_KMAP_ARRAY, .name = "sbpf_zero",
					     .key_size = 4, .value_size = s->agg.value_size, .max_entries = 1 };
		if ((s->zero_fd = sbpf_kmap_create(&zo)) < 0)
			return s->zero_fd;
	}
	return 0;
}

static int create_maps(struct sql_source *s, char *err, size_t errsz)
{
	uint32_t scratch = 0;
	for (size_t p = 0; p < s->t->nprobes; p++)
		if (s->rp.lay[p].size > scratch)
			scratch = s->rp.lay[p].size;
	struct sbpf_kmap_opts rb = { .sz = sizeof(rb), .type = SBPF_KMAP_RINGBUF, .name = "mvsf_ringbuf",
				     .max_entries = s->rb_bytes };
	struct sbpf_kmap_opts sc = { .sz = sizeof(sc), .type = SBPF_KMAP_PERCPU_ARRAY, .name = "mvsf_scratch",
				     .key_size = 4, .value_size = scratch, .max_entries = 1 };
	struct sbpf_kmap_opts lo = { .sz = sizeof(lo), .type = SBPF_KMAP_PERCPU_ARRAY, .name = "sbpf_counters",
				     .key_size = 4, .value_size = 8 * SQL_KCNT__COUNT, .max_entries = 2 };
	struct sbpf_kmap_opts eo = { .sz = sizeof(eo), .type = SBPF_KMAP_ARRAY, .name = "sbpf_epoch",
				     .key_size = 4, .value_size = 4, .max_entries = 1 };
	if (s->k) {
		/* Staged records of every probe, plus room for the opening record
		 * copied at the closing probe of a kernel pair. */
		scratch = 0;
		for (size_t p = 0; p < s->t->nprobes; p++)
			if (s->krp.lay[p].size > scratch)
				scratch = s->krp.lay[p].size;
		s->pair_off = (scratch + 7) & ~7u;
		if (s->k->kpair)
			scratch = s->pair_off + s->krp.lay[0].size;
		sc.value_size = scratch;
	}
	s->rb_fd = sbpf_kmap_create(&rb);
	s->scratch_fd = s->rb_fd < 0 ? s->rb_fd : sbpf_kmap_create(&sc);
	s->lost_fd = s->scratch_fd < 0 ? s->scratch_fd : sbpf_kmap_create(&lo);
	int rc = s->rb_fd < 0 ? s->rb_fd : s->scratch_fd < 0 ? s->scratch_fd : s->lost_fd < 0 ? s->lost_fd : 0;
	if (!rc && (s->epoch_fd = sbpf_kmap_create(&eo)) < 0)
		rc = s->epoch_fd;
	if (!rc && !(s->k && s->k->kagg)) {
		/* Updating an array of maps waits until no program runs (an RCU
		 * grace period): the cut of a window uses that. */
		struct sbpf_kmap_opts so = { .sz = sizeof(so), .type = SBPF_KMAP_ARRAY_OF_MAPS, .name = "sbpf_sync",
					     .key_size = 4, .value_size = 4, .max_entries = 1,
					     .inner_map_fd = s->epoch_fd };
		if ((s->sync_fd = sbpf_kmap_create(&so)) < 0)
			rc = s->sync_fd;
	}
	if (!rc && s->k)
		rc = create_kernel_maps(s);
	if (rc < 0) {
		snprintf(err, errsz, "cannot create BPF maps: %s", strerror(-rc));
		return rc;
	}
	return 0;
}

/* Program name for bpftool: "mvsf_" and the tracepoint name, 15 chars. */
static void prog_name(const char *tp, char *out, size_t outsz)
{
	const char *slash = strrchr(tp, '/');
	snprintf(out, outsz, "mvsf_%.10s", slash ? slash + 1 : tp);
	for (char *c = out; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '_' && *c != '.')
			*c = '_'; /* the kernel takes only these in a program name */
}

/* The program type of a probe of kind @k. */
static enum sbpf_kprog_type prog_type(enum sql_probe_kind k)
{
	return k == SQL_PROBE_CPU_CLOCK ? SBPF_KPROG_PERF_EVENT
	     : k == SQL_PROBE_UPROBE || k == SQL_PROBE_URETPROBE || k == SQL_PROBE_USDT ? SBPF_KPROG_KPROBE
	     : SBPF_KPROG_TRACEPOINT;
}

/* Attaches the program of probe @tp: a tracepoint, the sampling clock at
 * @hz, or a uprobe at the function the name gives ("uprobe/PATH:FUNC",
 * offset found with libelf). NULL with errno and @err. */
static struct sbpf_klink *attach_probe(int fd, const char *tp, unsigned hz, char *err, size_t errsz)
{
	enum sql_probe_kind k = sql_probe_kind(tp);
	if (k == SQL_PROBE_TRACEPOINT)
		return sbpf_klink__tracepoint(fd, tp, err, errsz);
	if (k == SQL_PROBE_CPU_CLOCK)
		return sbpf_klink__cpu_clock(fd, hz ? hz : SQL_SAMPLE_HZ, err, errsz);
	char path[4096];
	const char *spec = strchr(tp, '/') + 1, *colon = k == SQL_PROBE_USDT ? strchr(spec, ':') : strrchr(spec, ':');
	if (!colon || (size_t)(colon - spec) >= sizeof(path)) {
		snprintf(err, errsz, "bad uprobe name '%s'", tp);
		errno = EINVAL;
		return NULL;
	}
	snprintf(path, sizeof(path), "%.*s", (int)(colon - spec), spec);
	if (k == SQL_PROBE_USDT) {
		/* every site of the probe, and its semaphore (usdt.c) */
		struct sql_usdt_probe *p = malloc(sizeof(*p));
		int rc = p ? sql_usdt_find(path, colon + 1, p, err, errsz) : -ENOMEM;
		struct sbpf_klink *l = NULL;
		if (rc == -ENOMEM)
			snprintf(err, errsz, "out of memory");
		if (!rc && p->nsites > SQL_USDT_MAX_SITES) {
			snprintf(err, errsz, "USDT probe %s has %zu sites; at most %d can be attached", colon + 1,
				 p->nsites, SQL_USDT_MAX_SITES);
			rc = -E2BIG;
		}
		uint64_t cookies[SQL_USDT_MAX_SITES]; /* each site's argument places (the variant) */
		for (size_t i = 0; !rc && i < p->nsites; i++)
			cookies[i] = p->site_variant[i];
		if (!rc)
			l = sbpf_klink__usdt(fd, path, p->sites, p->nvariants > 1 ? cookies : NULL, p->nsites, p->sema,
					     err, errsz);
		free(p);
		if (rc)
			errno = -rc;
		return l;
	}
	uint64_t off;
	int rc = sql_elf_func_offset(path, colon + 1, &off, err, errsz);
	if (rc) {
		errno = -rc;
		return NULL;
	}
	return sbpf_klink__uprobe(fd, path, off, k == SQL_PROBE_URETPROBE, -1, err, errsz);
}

/* Generates the program of probe @p: the MVSF, or the kernel plan's. */
static int generate(struct sql_source *s, size_t p)
{
	/* The tracer's own events are skipped, except at a probe that runs in
	 * whatever task an interrupt found (a completion that interrupted this
	 * process belongs to someone else's request). */
	uint32_t skip = s->include_self || s->t->probes[p].any_context ? 0
			: s->fingerprinting ? 1 : (uint32_t)getpid();
	int origin_fd = s->fingerprinting ? 1008 : sql_korigin_fd(s->origin);
	if (!s->k) {
		struct sql_mvsf_maps maps = { .ringbuf_fd = s->rb_fd, .scratch_fd = s->scratch_fd,
					      .lost_fd = s->lost_fd, .epoch_fd = s->epoch_fd, .origin_fd = origin_fd };
		struct sql_mvsf_opts mo = { .sz = sizeof(mo), .skip_tgid = skip, .probe = (int)p };
		return sql_codegen_mvsf(&s->rp.lay[p], &maps, &mo, &s->insns[p], &s->ninsns[p]);
	}
	struct sql_kmaps maps = { .ringbuf_fd = s->rb_fd, .scratch_fd = s->scratch_fd,
				  .counters_fd = s->counters_fd, .pair_fd = s->pair_fd,
				  .outer_fd = s->outer_fd, .zero_fd = s->zero_fd, .pidset_fd = s->pidset_fd,
				  .epoch_fd = s->epoch_fd, .origin_fd = origin_fd };
	struct sql_kprog kp = { .spec = s->k, .t = s->t, .krp = &s->krp, .urp = &s->rp,
				.agg = s->k->kagg ? &s->agg : NULL, .probe = (int)p, .skip_tgid = skip,
				.scratch_pair_off = s->pair_off };
	return sql_codegen_kprog(&kp, &maps, &s->insns[p], &s->ninsns[p]);
}

static int load_probe(struct sql_source *s, size_t p, char *err, size_t errsz)
{
	const struct sql_layout *lay = &s->rp.lay[p];
	int rc = generate(s, p);
	if (rc) {
		snprintf(err, errsz, "cannot generate the program of %s: %s", lay->tp, strerror(-rc));
		return rc;
	}
	char name[16];
	char *log = malloc(LOG_SIZE);
	prog_name(lay->tp, name, sizeof(name));
	struct sbpf_kload_opts lo = { .sz = sizeof(lo), .type = prog_type(sql_probe_kind(lay->tp)), .name = name,
				      .log_buf = log, .log_size = log ? LOG_SIZE : 0 };
	if (log)
		log[0] = '\0';
	int fd = sbpf_kernel_load(s->insns[p], s->ninsns[p], &lo);
	if (fd < 0) {
		char why[256] = "";
		if (log && log[0])
			sbpf_kernel_log_reason(log, why, sizeof(why));
		snprintf(err, errsz, "the kernel refused the program of %s (%s)%s%s", lay->tp, strerror(-fd),
			 why[0] ? ": " : "", why);
		if (log && log[0] && s->rejected)
			*s->rejected = true;
		if (log && log[0] && s->reject_why)
			snprintf(s->reject_why, s->reject_whysz, "%s: %s", lay->tp, why[0] ? why : strerror(-fd));
		free(log);
		return fd;
	}
	free(log);
	s->prog_fd[p] = fd;
	struct sbpf_kprog_info info;
	if (!sbpf_kernel_prog_info(fd, &info))
		s->prog_id[p] = info.id;
	return 0;
}

/* A pairing keyed by thread id loses its dead threads' entries at their
 * exit: a kernel pairing map by a program that deletes them
 * (sql_kprog_exit_hook), the user-space pairing by thread-exit records in
 * the table's ring buffer (sql_kprog_exit_forward, on_record). Best effort:
 * without the hook (a kernel without sched_process_exit), such entries are
 * evicted as before (counted), and the run goes on. */
static void attach_exit_hook(struct sql_source *s)
{
	if (!s->t->pair || !s->t->pair->thread_key)
		return;
	struct sbpf_insn *insns = NULL;
	size_t n = 0;
	if (s->k && s->k->kpair) {
		if (s->pair_fd < 0 || sql_kprog_exit_hook(s->pair_fd, &insns, &n))
			return;
	} else if (!s->pair || s->epoch_fd < 0 || sql_kprog_exit_forward(s->rb_fd, s->epoch_fd, &insns, &n)) {
		/* (user-space pairing: the exits come in the table's stream, on_record) */
		return;
	}
	struct sbpf_kload_opts lo = { .sz = sizeof(lo), .type = SBPF_KPROG_TRACEPOINT, .name = "sbpf_pair_exit" };
	int fd = sbpf_kernel_load(insns, n, &lo);
	free(insns);
	if (fd < 0)
		return;
	char why[256];
	s->exit_link = sbpf_klink__tracepoint(fd, "sched/sched_process_exit", why, sizeof(why));
	if (!s->exit_link) {
		close(fd);
		return;
	}
	s->exit_fd = fd;
}

static uint64_t fnv(uint64_t h, const void *data, size_t n)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

/* Generates every program with placeholder map fds and hashes them with
 * the map definitions and the kernel release. */
static int fingerprint(struct sql_source *s, uint64_t *fp)
{
	s->fingerprinting = true;
	s->rb_fd = 1001;
	s->scratch_fd = 1002;
	s->lost_fd = s->counters_fd = 1003;
	s->epoch_fd = 1009;
	if (s->k) {
		s->pair_fd = s->k->kpair ? 1004 : -1;
		s->outer_fd = s->k->kagg ? 1005 : -1;
		s->zero_fd = s->k->kagg ? 1006 : -1;
		s->pidset_fd = s->k->pidset ? 1007 : -1;
		uint32_t scratch = 0;
		for (size_t p = 0; p < s->t->nprobes; p++)
			if (s->krp.lay[p].size > scratch)
				scratch = s->krp.lay[p].size;
		s->pair_off = (scratch + 7) & ~7u;
	}
	/* The build is part of it: a new safebpf judges its programs anew. */
	static const char build[] = __DATE__ " " __TIME__;
	const char *rel = dsl_kernel_release();
	uint64_t h = fnv(0xcbf29ce484222325ull, rel, strlen(rel));
	h = fnv(h, build, sizeof(build));
	uint32_t defs[] = { s->rb_bytes, s->k ? s->pair_entries : 0, s->k && s->k->kagg ? s->agg.key_size : 0,
			    s->k && s->k->kagg ? s->agg.value_size : 0, s->k && s->k->kagg ? s->agg.max_groups : 0 };
	h = fnv(h, defs, sizeof(defs));
	for (size_t p = 0; p < s->t->nprobes; p++) {
		int rc = generate(s, p);
		if (rc)
			return rc;
		h = fnv(h, s->insns[p], s->ninsns[p] * sizeof(struct sbpf_insn));
	}
	*fp = h ? h : 1;
	/* Placeholders are not fds to close. */
	s->rb_fd = s->scratch_fd = s->lost_fd = s->counters_fd = s->epoch_fd = -1;
	s->pair_fd = s->outer_fd = s->zero_fd = -1;
	return 0;
}

static struct sql_source *open_source(const struct sql_table *t, const struct sql_source_opts *opts, uint64_t *fp,
				      char *err, size_t errsz);

struct sql_source *sql_source_open(const struct sql_table *t, const struct sql_source_opts *opts,
				   char *err, size_t errsz)
{
	return open_source(t, opts, NULL, err, errsz);
}

int sql_source_fingerprint(const struct sql_table *t, const struct sql_source_opts *opts, uint64_t *fp,
			   char *err, size_t errsz)
{
	*fp = 0;
	errno = 0;
	struct sql_source *s = open_source(t, opts, fp, err, errsz);
	if (s)
		sql_source_close(s);
	return *fp ? 0 : errno ? -errno : -EINVAL;
}

static struct sql_source *open_source(const struct sql_table *t, const struct sql_source_opts *opts, uint64_t *fp,
				      char *err, size_t errsz)
{
	struct sql_source_opts o = { .sz = sizeof(o) };
	if (opts)
		memcpy(&o, opts, opts->sz < sizeof(o) ? opts->sz : sizeof(o));
	if (!t || t->nprobes < 1 || t->nprobes > SQL_MAX_PROBES) {
		snprintf(err, errsz, "no such table");
		return NULL;
	}
	char why[256];
	if (!fp && sbpf_kernel_check_privileges(why, sizeof(why))) {
		snprintf(err, errsz, "cannot trace %s: %s", t->name, why);
		errno = EPERM;
		return NULL;
	}
	struct sql_source *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	s->t = t;
	s->rb_fd = s->scratch_fd = s->lost_fd = -1;
	s->counters_fd = s->pair_fd = s->outer_fd = s->zero_fd = s->inner_fd[0] = s->inner_fd[1] = -1;
	s->inner_fd[2] = s->epoch_fd = s->sync_fd = s->exit_fd = -1;
	s->k = o.kspec;
	s->pidset_fd = o.kspec && o.kspec->pidset ? o.pidset_fd : -1;
	s->pair_entries = o.pair_entries ? (uint32_t)o.pair_entries : 16384; /* threads in a system call at once */
	s->rejected = o.rejected;
	s->reject_why = o.reject_why;
	s->reject_whysz = o.reject_whysz;
	if (s->k && ((s->k->kpair && (!t->pair || t->pair->max_per_key != 1)) || (s->k->pidset && s->pidset_fd < 0))) {
		snprintf(err, errsz, "kernel plan not possible for table %s", t->name);
		free(s);
		errno = EINVAL;
		return NULL;
	}
	for (size_t p = 0; p < SQL_MAX_PROBES; p++)
		s->prog_fd[p] = -1;
	s->rb_bytes = ringbuf_size(o.ringbuf_bytes);
	if (s->k && s->k->kagg)
		s->rb_bytes = MIN_RINGBUF; /* rows stay in the kernel */
	const struct sql_tp_format *fmts[SQL_MAX_PROBES];
	int rc = 0;
	for (size_t p = 0; p < t->nprobes && !rc; p++) {
		rc = sql_tracefs_load(t->probes[p].tp, &s->fmt[p], why, sizeof(why));
		if (rc)
			snprintf(err, errsz, "table %s is not available on this kernel: %s", t->name, why);
		fmts[p] = &s->fmt[p];
	}
	if (!rc && s->k) {
		/* Kernel plan: stage kneeded; send uneeded, packed. */
		rc = sql_recplan_build(&s->krp, t, s->k->kneeded, fmts, err, errsz);
		bool *none = rc ? NULL : calloc(t->ncols, sizeof(bool));
		if (!rc && !none)
			rc = -ENOMEM;
		if (!rc)
			rc = sql_recplan_build(&s->rp, t, s->k->kagg || !s->k->uneeded ? none : s->k->uneeded, fmts,
					       err, errsz);
		free(none);
		if (!rc)
			sql_layout_compact(&s->rp, t->pair && !s->k->kpair);
		if (!rc && s->k->kagg)
			rc = sql_kagg_build(&s->agg, s->k, &s->krp, fmts, err, errsz);
	} else if (!rc) {
		rc = sql_recplan_build(&s->rp, t, o.needed, fmts, err, errsz);
	}
	/* Probes whose events may be handed on to another task take the
	 * identity their origin recorded (korigin.c). */
	for (size_t p = 0; p < t->nprobes && !rc; p++) {
		const struct sql_origin *org = t->probes[p].origin;
		if (!org)
			continue;
		/* Without the origin tracepoint the probe's own task is used. */
		char why[256];
		if (!fp && !s->origin && !(s->origin = sql_korigin_new(org, why, sizeof(why))))
			continue;
		s->rp.lay[p].origin = s->krp.lay[p].origin = org;
	}
	if (!rc && !(s->row = calloc(t->ncols, sizeof(*s->row))))
		rc = -ENOMEM;
	if (!rc && t->pair && !(s->k && s->k->kpair)) {
		struct sql_pair_opts po = { .sz = sizeof(po), .max_entries = o.pair_entries,
					    .max_per_key = t->pair->max_per_key };
		if (!(s->pair = sql_pair_new(&po)))
			rc = -ENOMEM;
	}
	if (rc == -ENOMEM)
		snprintf(err, errsz, "out of memory");
	s->include_self = o.include_self;
	s->sample_hz = o.sample_hz;
	if (fp) {
		if (!rc && (rc = fingerprint(s, fp)))
			snprintf(err, errsz, "cannot generate the programs of %s: %s", t->name, strerror(-rc));
		sql_source_close(s);
		errno = rc < 0 ? -rc : 0;
		return NULL;
	}
	if (!rc)
		rc = create_maps(s, err, errsz);
	for (size_t p = 0; p < t->nprobes && !rc; p++)
		rc = load_probe(s, p, err, errsz);
	/* Closing probes first: an opening event never waits for a closing
	 * probe that is not attached yet. */
	for (size_t p = t->nprobes; p-- > 0 && !rc && !o.load_only;) {
		s->link[p] = attach_probe(s->prog_fd[p], t->probes[p].tp, s->sample_hz, why, sizeof(why));
		if (!s->link[p]) {
			rc = -errno;
			snprintf(err, errsz, "%s", why);
		}
	}
	if (!rc && !o.load_only)
		attach_exit_hook(s);
	if (!rc && !(s->rb = sbpf_kringbuf__new(s->rb_fd, on_record, s))) {
		rc = -errno;
		snprintf(err, errsz, "cannot read the ring buffer: %s", strerror(errno));
	}
	/* A poll returns after this many records, so that windows close on
	 * time when events come faster than they are read. */
	if (!rc) {
		sbpf_kringbuf__set_budget(s->rb, POLL_BUDGET);
		sbpf_kringbuf__set_time_budget(s->rb, POLL_MS);
	}
	if (rc) {
		sql_source_close(s);
		errno = rc < 0 ? -rc : EINVAL;
		return NULL;
	}
	return s;
}

int sql_source_poll(struct sql_source *s, int timeout_ms, sql_row_fn fn, void *ctx)
{
	s->fn = fn;
	s->fn_ctx = ctx;
	s->rows = 0;
	int n = sbpf_kringbuf__poll(s->rb, timeout_ms);
	s->fn = NULL;
	if (n < 0 && n != -ECANCELED)
		return n;
	return s->rows;
}

bool sql_source_pending(const struct sql_source *s)
{
	uint64_t cons, prod;
	return !sbpf_kringbuf__positions(s->rb, &cons, &prod) && cons != prod;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int sql_source_drain(struct sql_source *s, int timeout_ms, sql_row_fn fn, void *ctx)
{
	uint64_t cons, target;
	sbpf_kringbuf__positions(s->rb, &cons, &target);
	int64_t deadline = now_ms() + (timeout_ms < 0 ? 0 : timeout_ms);
	int total = 0;
	for (int wait = 0;;) {
		/* A round only takes what is there; after a round that found
		 * nothing, wait for a record another CPU is still filling (its
		 * commit wakes us). Rounds are bounded (POLL_BUDGET). */
		int64_t left = deadline - now_ms();
		int t = wait ? (int)(left < 10 ? (left > 0 ? left : 1) : 10) : 0;
		s->fn = fn;
		s->fn_ctx = ctx;
		s->rows = 0;
		int n = sbpf_kringbuf__poll(s->rb, t);
		s->fn = NULL;
		total += s->rows;
		wait = n == 0;
		if (n == -ECANCELED)
			return total;
		if (n < 0)
			return n;
		sbpf_kringbuf__positions(s->rb, &cons, &(uint64_t){ 0 });
		if ((int64_t)(cons - target) >= 0)
			return total;
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
	}
}

/* Sums counters of epoch @e over the CPUs into @out (SQL_KCNT__COUNT). */
static int read_counters(const struct sql_source *s, uint32_t e, uint64_t *out)
{
	memset(out, 0, SQL_KCNT__COUNT * sizeof(*out));
	int ncpus = sbpf_kernel_ncpus();
	if (s->lost_fd < 0 || ncpus <= 0)
		return s->lost_fd < 0 ? 0 : -EINVAL;
	uint64_t *vals = calloc((size_t)ncpus, SQL_KCNT__COUNT * sizeof(uint64_t));
	if (!vals)
		return -ENOMEM;
	int rc = sbpf_kmap_lookup(s->lost_fd, &e, vals);
	for (int c = 0; c < ncpus && !rc; c++)
		for (int i = 0; i < SQL_KCNT__COUNT; i++)
			out[i] += vals[(size_t)c * SQL_KCNT__COUNT + (size_t)i];
	free(vals);
	return rc;
}

/* Counters since open: the epochs cut so far plus both live ones. */
static void total_counters(const struct sql_source *s, uint64_t *out)
{
	uint64_t live[SQL_KCNT__COUNT];
	memcpy(out, s->acc, sizeof(s->acc));
	for (uint32_t e = 0; e < 2; e++)
		if (!read_counters(s, e, live))
			for (int i = 0; i < SQL_KCNT__COUNT; i++)
				out[i] += live[i];
}

/* Events the kernel skipped because another program ran on the CPU, the
 * origin program's included (a skipped origin loses a row's owner). */
static uint64_t misses(const struct sql_source *s)
{
	uint64_t n = sql_korigin_misses(s->origin);
	for (size_t p = 0; p < s->t->nprobes; p++) {
		struct sbpf_kprog_info info;
		if (s->prog_fd[p] >= 0 && !sbpf_kernel_prog_info(s->prog_fd[p], &info))
			n += info.recursion_misses;
	}
	return n;
}

uint64_t sql_source_lost(const struct sql_source *s)
{
	uint64_t c[SQL_KCNT__COUNT];
	total_counters(s, c);
	return c[SQL_KCNT_LOST] + c[SQL_KCNT_LOST1] + c[SQL_KCNT_AGG_FULL] + misses(s) + s->dropped +
	       s->deferred_dropped + s->abandoned;
}

uint64_t sql_source_abandoned(const struct sql_source *s)
{
	return s->abandoned;
}

void sql_source_stop(struct sql_source *s, int deliver_ms)
{
	for (size_t p = 0; p < SQL_MAX_PROBES; p++) {
		sbpf_klink__destroy(s->link[p]);
		s->link[p] = NULL;
	}
	s->stop_ms = deliver_ms > 0 ? deliver_ms : 1;
}

uint64_t sql_source_evicted(const struct sql_source *s)
{
	uint64_t c[SQL_KCNT__COUNT];
	total_counters(s, c);
	return (s->pair ? sql_pair_evicted(s->pair) : 0) + c[SQL_KCNT_REPLACED] + c[SQL_KCNT_PAIR_FULL];
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int sql_source_quiesce(struct sql_source *s, int max_us, uint64_t *when)
{
	int ncpus = sbpf_kernel_ncpus();
	if (s->lost_fd < 0 || ncpus <= 0)
		return -EINVAL;
	size_t per = (size_t)ncpus * SQL_KCNT__COUNT;
	uint64_t *v = calloc(2 * per, sizeof(*v));
	if (!v)
		return -ENOMEM;
	uint64_t start = mono_ns();
	int rc = -EAGAIN;
	for (;;) {
		/* Programs on one CPU never overlap: when, per CPU, the runs
		 * counted as started by the first read are all counted as
		 * finished by the second, every run that started before t has
		 * finished (its record is in the ring buffer). */
		uint64_t t = mono_ns();
		uint32_t e0 = 0, e1 = 1;
		int r = sbpf_kmap_lookup(s->lost_fd, &e0, v);
		if (!r)
			r = sbpf_kmap_lookup(s->lost_fd, &e1, v + per);
		if (r) {
			rc = r;
			break;
		}
		bool idle = true;
		for (int c = 0; c < ncpus && idle; c++) {
			uint64_t f = 0, d = 0;
			for (int e = 0; e < 2; e++) {
				const uint64_t *x = v + (size_t)e * per + (size_t)c * SQL_KCNT__COUNT;
				f += x[SQL_KCNT_FIRED] + x[SQL_KCNT_FIRED1];
				d += x[SQL_KCNT_DONE];
			}
			idle = f == d;
		}
		if (idle) {
			*when = t;
			rc = 0;
			break;
		}
		if (mono_ns() - start > (uint64_t)max_us * 1000u)
			break;
	}
	free(v);
	return rc;
}

int sql_source_flip(struct sql_source *s)
{
	uint32_t zero = 0, next = s->epoch ^ 1;
	int rc = sbpf_kmap_update(s->epoch_fd, &zero, &next, 0);
	if (rc)
		return rc;
	s->old_epoch = s->epoch;
	s->epoch = next;
	s->cutting = true;
	if (s->k && s->k->kagg) {
		/* The spare (empty) map takes the old epoch's slot; the update
		 * returns once no program uses the old map. */
		uint32_t slot = s->old_epoch, fd = (uint32_t)s->inner_fd[s->spare];
		if ((rc = sbpf_kmap_update(s->outer_fd, &slot, &fd, 0)))
			return rc;
		int old = s->slot[slot];
		s->slot[slot] = s->spare;
		s->spare = old;
		return 0;
	}
	uint32_t fd = (uint32_t)s->epoch_fd;
	return sbpf_kmap_update(s->sync_fd, &zero, &fd, 0);
}

int sql_source_cut(struct sql_source *s, int timeout_ms, sql_row_fn fn, void *ctx, sql_group_fn gfn,
		   void *gctx, struct sql_acct *a)
{
	memset(a, 0, sizeof(*a));
	uint64_t abandoned0 = s->abandoned;
	/* After a stop, a reader far behind (more than STOP_BACKLOG bytes
	 * waiting) gets stop_ms to make rows; a small backlog (the usual end
	 * of a traced command) is read whole, as any cut. */
	uint64_t cons = 0, prod = 0;
	sbpf_kringbuf__positions(s->rb, &cons, &prod);
	bool bounded = s->stop_ms && prod - cons > STOP_BACKLOG;
	int rows = sql_source_drain(s, bounded && s->stop_ms < timeout_ms ? s->stop_ms : timeout_ms, fn, ctx);
	if (rows == -ETIMEDOUT && bounded) {
		/* Stopped and still behind: the rest is read without rows
		 * (fast: no decoding), bounded by the ring buffer's size, as
		 * the probes no longer add to it. */
		s->discarding = true;
		rows = sql_source_drain(s, timeout_ms, NULL, NULL);
		s->discarding = false;
	}
	if (rows < 0 && rows != -ETIMEDOUT && rows != -ECANCELED)
		return rows; /* (stopped by the query: the counters are read all the same) */
	if (s->k && s->k->kagg) {
		/* The old epoch's groups: in the spare map since the flip. It
		 * is read, then replaced by a new map (deleting many groups one
		 * by one costs more than the reading); or, when no new map can
		 * be made, emptied as it is read. */
		int fresh = group_map(s);
		int n = sql_kagg_read(&s->agg, s->k->q, s->inner_fd[s->spare], fresh < 0, gfn, gctx);
		if (fresh >= 0) {
			close(s->inner_fd[s->spare]);
			s->inner_fd[s->spare] = fresh;
		}
		if (n < 0)
			return n;
	}
	uint64_t c[SQL_KCNT__COUNT];
	int rc = read_counters(s, s->old_epoch, c);
	if (rc)
		return rc;
	/* No program uses the old epoch any more: zero it for its next turn. */
	uint64_t *zeros = calloc((size_t)(sbpf_kernel_ncpus() > 0 ? sbpf_kernel_ncpus() : 1),
				 SQL_KCNT__COUNT * sizeof(uint64_t));
	if (!zeros)
		return -ENOMEM;
	rc = sbpf_kmap_update(s->lost_fd, &s->old_epoch, zeros, 0);
	free(zeros);
	if (rc)
		return rc;
	for (int i = 0; i < SQL_KCNT__COUNT; i++)
		s->acc[i] += c[i];
	int u = (int)s->t->nprobes - 1; /* the probe whose event makes the row */
	uint64_t m = misses(s), dm = m - s->misses0;
	uint64_t dropped = s->dropped + s->deferred_dropped;
	a->fired = c[SQL_KCNT_FIRED + u] + dm;
	a->filtered = c[SQL_KCNT_FILTERED + u];
	a->lost = c[SQL_KCNT_LOST + u] + c[SQL_KCNT_AGG_FULL] + dm + (dropped - s->dropped0) +
		  (s->abandoned - abandoned0);
	a->groupfull = c[SQL_KCNT_AGG_FULL];
	a->unpaired = c[SQL_KCNT_UNPAIRED] + (s->unpaired - s->unpaired0);
	a->krows = c[SQL_KCNT_ROWS];
	a->open_fired = u ? c[SQL_KCNT_FIRED] : 0;
	a->open_lost = u ? c[SQL_KCNT_LOST] : 0;
	a->open_filtered = u ? c[SQL_KCNT_FILTERED] : 0;
	s->misses0 = m;
	s->dropped0 = dropped;
	s->unpaired0 = s->unpaired;
	a->timed_out = rows == -ETIMEDOUT;
	return 0;
}

int sql_source_replay(struct sql_source *s, sql_row_fn fn, void *ctx)
{
	s->cutting = false;
	s->fn = fn;
	s->fn_ctx = ctx;
	s->rows = 0;
	size_t off = 0;
	while (off < s->ndeferred) {
		size_t len;
		memcpy(&len, s->deferred + off, sizeof(len));
		off += sizeof(len);
		if (on_record(s, s->deferred + off, len))
			fn = NULL; /* stopped: the rest is read but not delivered */
		s->fn = fn;
		off += (len + 7) & ~(size_t)7;
	}
	s->ndeferred = 0;
	s->fn = NULL;
	return s->rows;
}

void sql_source_info(const struct sql_source *s, struct sql_source_info *info)
{
	memset(info, 0, sizeof(*info));
	info->nprobes = s->t->nprobes;
	info->ringbuf_bytes = s->rb_bytes;
	for (size_t p = 0; p < s->t->nprobes; p++) {
		info->probe[p].tp = s->t->probes[p].tp;
		info->probe[p].prog_id = s->prog_id[p];
		info->probe[p].link_id = sbpf_klink__id(s->link[p]);
		info->probe[p].record_bytes = s->rp.lay[p].size;
		info->probe[p].insns = s->insns[p];
		info->probe[p].ninsns = s->ninsns[p];
	}
}

void sql_source_close(struct sql_source *s)
{
	if (!s)
		return;
	for (size_t p = 0; p < SQL_MAX_PROBES; p++)
		sbpf_klink__destroy(s->link[p]);
	sbpf_klink__destroy(s->exit_link);
	if (s->exit_fd >= 0)
		close(s->exit_fd);
	sbpf_kringbuf__free(s->rb);
	for (size_t p = 0; p < SQL_MAX_PROBES; p++) {
		if (s->prog_fd[p] >= 0)
			close(s->prog_fd[p]);
		free(s->insns[p]);
	}
	if (s->rb_fd >= 0)
		close(s->rb_fd);
	if (s->scratch_fd >= 0)
		close(s->scratch_fd);
	if (s->lost_fd >= 0)
		close(s->lost_fd);
	int kfds[] = { s->pair_fd, s->outer_fd, s->zero_fd, s->inner_fd[0], s->inner_fd[1], s->inner_fd[2],
		       s->sync_fd, s->epoch_fd };
	for (size_t i = 0; i < sizeof(kfds) / sizeof(kfds[0]); i++)
		if (kfds[i] >= 0)
			close(kfds[i]);
	sql_korigin_free(s->origin);
	sql_recplan_free(&s->krp);
	sql_kagg_free(&s->agg);
	sql_pair_free(s->pair);
	sql_recplan_free(&s->rp);
	for (size_t p = 0; p < SQL_MAX_PROBES; p++)
		sql_tp_format_free(&s->fmt[p]);
	free(s->row);
	free(s->deferred);
	free(s);
}
