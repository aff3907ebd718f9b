/* source.c - running event sources: for one table, read the tracefs
 * formats of its probes, bind the requested columns (record.c), generate
 * and load the MVSF of each probe (codegen.c), attach them, and turn the
 * ring-buffer records into rows, pairing opening and closing events of
 * paired tables (pair.c). Close detaches and frees everything.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "safebpf/kernel.h"
#include "sql/sqlInt.h"

#define DEFAULT_RINGBUF (4u << 20)
#define MIN_RINGBUF (64u << 10)
#define MAX_RINGBUF (1u << 30)
#define LOG_SIZE (256u << 10)

struct sql_source {
	const struct sql_table *t;                 /* the table */
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
	sql_row_fn fn;                             /* callback of the current poll */
	void *fn_ctx;                              /* its argument */
	int rows;                                  /* rows delivered in the current poll */
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
	int probe = sql_recplan_probe(&s->rp, data, len);
	if (probe < 0) {
		s->dropped++;
		return 0;
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
	 * started, or the opening record was lost) makes no row. */
	return left ? deliver(s, left, data) : 0;
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
	struct sbpf_kmap_opts lo = { .sz = sizeof(lo), .type = SBPF_KMAP_PERCPU_ARRAY, .name = "mvsf_lost",
				     .key_size = 4, .value_size = 8, .max_entries = 1 };
	s->rb_fd = sbpf_kmap_create(&rb);
	s->scratch_fd = s->rb_fd < 0 ? s->rb_fd : sbpf_kmap_create(&sc);
	s->lost_fd = s->scratch_fd < 0 ? s->scratch_fd : sbpf_kmap_create(&lo);
	int rc = s->rb_fd < 0 ? s->rb_fd : s->scratch_fd < 0 ? s->scratch_fd : s->lost_fd;
	if (rc < 0) {
		snprintf(err, errsz, "cannot create BPF maps: %s", strerror(-rc));
		return rc;
	}
	return 0;
}

/* Program name for bpftool: "mvsf_" and the tracepoint name, 15 chars. */
static void prog_name(const char *tp, char *out, size_t outsz)
{
	const char *slash = strchr(tp, '/');
	snprintf(out, outsz, "mvsf_%.10s", slash ? slash + 1 : tp);
}

static int load_probe(struct sql_source *s, size_t p, char *err, size_t errsz)
{
	const struct sql_layout *lay = &s->rp.lay[p];
	struct sql_mvsf_maps maps = { .ringbuf_fd = s->rb_fd, .scratch_fd = s->scratch_fd,
				      .lost_fd = s->lost_fd };
	struct sql_mvsf_opts mo = { .sz = sizeof(mo),
				    .skip_tgid = s->include_self ? 0 : (uint32_t)getpid() };
	int rc = sql_codegen_mvsf(lay, &maps, &mo, &s->insns[p], &s->ninsns[p]);
	if (rc) {
		snprintf(err, errsz, "cannot generate the program of %s: %s", lay->tp, strerror(-rc));
		return rc;
	}
	char name[16];
	char *log = malloc(LOG_SIZE);
	prog_name(lay->tp, name, sizeof(name));
	struct sbpf_kload_opts lo = { .sz = sizeof(lo), .type = SBPF_KPROG_TRACEPOINT, .name = name,
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

struct sql_source *sql_source_open(const struct sql_table *t, const struct sql_source_opts *opts,
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
	if (sbpf_kernel_check_privileges(why, sizeof(why))) {
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
	for (size_t p = 0; p < SQL_MAX_PROBES; p++)
		s->prog_fd[p] = -1;
	s->rb_bytes = ringbuf_size(o.ringbuf_bytes);
	const struct sql_tp_format *fmts[SQL_MAX_PROBES];
	int rc = 0;
	for (size_t p = 0; p < t->nprobes && !rc; p++) {
		rc = sql_tracefs_load(t->probes[p].tp, &s->fmt[p], why, sizeof(why));
		if (rc)
			snprintf(err, errsz, "table %s is not available on this kernel: %s", t->name, why);
		fmts[p] = &s->fmt[p];
	}
	if (!rc)
		rc = sql_recplan_build(&s->rp, t, o.needed, fmts, err, errsz);
	if (!rc && !(s->row = calloc(t->ncols, sizeof(*s->row))))
		rc = -ENOMEM;
	if (!rc && t->pair) {
		struct sql_pair_opts po = { .sz = sizeof(po), .max_entries = o.pair_entries,
					    .max_per_key = t->pair->max_per_key };
		if (!(s->pair = sql_pair_new(&po)))
			rc = -ENOMEM;
	}
	if (rc == -ENOMEM)
		snprintf(err, errsz, "out of memory");
	if (!rc)
		rc = create_maps(s, err, errsz);
	s->include_self = o.include_self;
	for (size_t p = 0; p < t->nprobes && !rc; p++)
		rc = load_probe(s, p, err, errsz);
	/* Closing probes first: an opening event never waits for a closing
	 * probe that is not attached yet. */
	for (size_t p = t->nprobes; p-- > 0 && !rc && !o.load_only;) {
		s->link[p] = sbpf_klink__tracepoint(s->prog_fd[p], t->probes[p].tp, why, sizeof(why));
		if (!s->link[p]) {
			rc = -errno;
			snprintf(err, errsz, "%s", why);
		}
	}
	if (!rc && !(s->rb = sbpf_kringbuf__new(s->rb_fd, on_record, s))) {
		rc = -errno;
		snprintf(err, errsz, "cannot read the ring buffer: %s", strerror(errno));
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
	for (int wait = 0;; wait = 1) {
		/* The first round only takes what is there; later rounds wait for
		 * a record another CPU is still filling (its commit wakes us). */
		int64_t left = deadline - now_ms();
		int t = wait ? (int)(left < 10 ? (left > 0 ? left : 1) : 10) : 0;
		s->fn = fn;
		s->fn_ctx = ctx;
		s->rows = 0;
		int n = sbpf_kringbuf__poll(s->rb, t);
		s->fn = NULL;
		total += s->rows;
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

uint64_t sql_source_lost(const struct sql_source *s)
{
	uint64_t lost = 0, sum;
	if (s->lost_fd >= 0 && !sbpf_kmap_percpu_sum(s->lost_fd, 0, &sum))
		lost += sum;
	for (size_t p = 0; p < s->t->nprobes; p++) {
		struct sbpf_kprog_info info;
		if (s->prog_fd[p] >= 0 && !sbpf_kernel_prog_info(s->prog_fd[p], &info))
			lost += info.recursion_misses;
	}
	return lost + s->dropped;
}

uint64_t sql_source_evicted(const struct sql_source *s)
{
	return s->pair ? sql_pair_evicted(s->pair) : 0;
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
	sql_pair_free(s->pair);
	sql_recplan_free(&s->rp);
	for (size_t p = 0; p < SQL_MAX_PROBES; p++)
		sql_tp_format_free(&s->fmt[p]);
	free(s->row);
	free(s);
}
