/* calibrate.c - measures the cost model's constants on this machine
 * (`safebpf calibrate`). Kernel constants: a small program is attached to
 * raw_syscalls/sys_enter and this process makes getppid() calls in a tight
 * loop; the time per call, minus the time with a program that does nothing
 * (or with no program, for the cost of running one), divided by the number
 * of operations the program repeats, is the cost of one operation. Each
 * variant runs in alternating rounds and the fastest round is kept (the
 * machine is shared: other work only ever adds time). User-space constants: the executor and the pairing operator are
 * timed on synthetic records of the system_calls table.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/bpf.h>

#include "safebpf/kernel.h"
#include "dsl/dsl.h"
#include "sql/sqlInt.h"

#define TP "raw_syscalls/sys_enter"
#define CALLS 100000        /* system calls per round */
#define ROUNDS 7            /* rounds per variant (the fastest is kept: interference only adds) */
#define REPEAT 32           /* operations per program run (8 for ring-buffer records) */

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* ns per getppid() call. */
static double loop_ns(void)
{
	double t0 = now_ns();
	for (int i = 0; i < CALLS; i++)
		syscall(SYS_getppid);
	return (now_ns() - t0) / CALLS;
}

enum variant { V_NONE, V_EMPTY, V_HELPER, V_PERCPU, V_LOOKUP, V_UPDATE, V_COPY, V_RESERVE, V_WAKEUP, V__N };

struct maps {
	int percpu, hash, ringbuf;  /* fds */
};

static void emit(struct sbpf_builder *b, struct sbpf_insn i)
{
	sbpf_builder__emit(b, i);
}

static void map_arg(struct sbpf_builder *b, int fd, int off)
{
	sbpf_builder__emit_lddw(b, 1, SBPF_PSEUDO_MAP_FD, (uint64_t)(uint32_t)fd);
	emit(b, SBPF_MOV64_REG(2, SBPF_REG_FP));
	emit(b, SBPF_ALU64_IMM(SBPF_ADD, 2, off));
}

/* The program of variant @v; NULL for V_NONE. */
static int program(enum variant v, const struct maps *m, struct sbpf_insn **out, size_t *n)
{
	struct sbpf_builder *b = sbpf_builder__new();
	if (!b)
		return -ENOMEM;
	int l_out = sbpf_builder__new_label(b);
	emit(b, SBPF_ST_MEM(SBPF_DW, SBPF_REG_FP, -8, 0));          /* key 0 */
	emit(b, SBPF_ST_MEM(SBPF_DW, SBPF_REG_FP, -16, 0));         /* value 0 */
	for (int i = 0; i < REPEAT; i++) {
		switch (v) {
		case V_HELPER:
			emit(b, SBPF_CALL_HELPER(BPF_FUNC_ktime_get_ns));
			break;
		case V_PERCPU:
			map_arg(b, m->percpu, -8);
			emit(b, SBPF_CALL_HELPER(BPF_FUNC_map_lookup_elem));
			break;
		case V_LOOKUP:
			map_arg(b, m->hash, -8);
			emit(b, SBPF_CALL_HELPER(BPF_FUNC_map_lookup_elem));
			break;
		case V_UPDATE:
			/* update then delete: two operations */
			if (i % 2 == 0) {
				map_arg(b, m->hash, -8);
				emit(b, SBPF_MOV64_REG(3, SBPF_REG_FP));
				emit(b, SBPF_ALU64_IMM(SBPF_ADD, 3, -16));
				emit(b, SBPF_MOV64_IMM(4, BPF_ANY));
				emit(b, SBPF_CALL_HELPER(BPF_FUNC_map_update_elem));
			} else {
				map_arg(b, m->hash, -8);
				emit(b, SBPF_CALL_HELPER(BPF_FUNC_map_delete_elem));
			}
			break;
		case V_COPY:
			/* 8 bytes per repeat, through the stack */
			emit(b, SBPF_LDX_MEM(SBPF_DW, 0, SBPF_REG_FP, -8));
			emit(b, SBPF_STX_MEM(SBPF_DW, SBPF_REG_FP, 0, -24 - 8 * (i % 32)));
			break;
		case V_RESERVE:
		case V_WAKEUP:
			if (i >= (v == V_RESERVE ? 8 : 1))
				break; /* 8 records per run (1 when waking the reader) */
			sbpf_builder__emit_lddw(b, 1, SBPF_PSEUDO_MAP_FD, (uint64_t)(uint32_t)m->ringbuf);
			emit(b, SBPF_MOV64_IMM(2, 16));
			emit(b, SBPF_MOV64_IMM(3, 0));
			emit(b, SBPF_CALL_HELPER(BPF_FUNC_ringbuf_reserve));
			sbpf_builder__jump(b, SBPF_JMP_IMM(SBPF_JEQ, 0, 0, 0), l_out);
			emit(b, SBPF_ST_MEM(SBPF_DW, 0, 0, 1));
			emit(b, SBPF_ST_MEM(SBPF_DW, 0, 8, 2));
			emit(b, SBPF_MOV64_REG(1, 0));
			emit(b, SBPF_MOV64_IMM(2, v == V_RESERVE ? BPF_RB_NO_WAKEUP : 0));
			emit(b, SBPF_CALL_HELPER(v == V_RESERVE ? BPF_FUNC_ringbuf_discard : BPF_FUNC_ringbuf_submit));
			break;
		default:
			break;
		}
	}
	sbpf_builder__bind(b, l_out);
	emit(b, SBPF_MOV64_IMM(0, 0));
	emit(b, SBPF_EXIT_INSN());
	int rc = sbpf_builder__finish(b, out, n, NULL);
	sbpf_builder__free(b);
	return rc;
}

/* A consumer thread for the wake-up variant. */
struct consumer {
	struct sbpf_kringbuf *rb;
	volatile int stop;
	uint64_t records;
};

static int on_rec(void *ctx, const void *data, size_t len)
{
	(void)data;
	(void)len;
	((struct consumer *)ctx)->records++;
	return 0;
}

static void *consume(void *arg)
{
	struct consumer *c = arg;
	while (!c->stop)
		sbpf_kringbuf__poll(c->rb, 50);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* ---- user space ---------------------------------------------------------- */

static volatile uint64_t sink_v;

/* ns per row through decoding and a streaming executor (and per pairing). */
static int user_costs(double *rec, double *pair, char *err, size_t errsz)
{
	const struct sql_table *t = sql_catalog_find("system_calls");
	struct sql_tp_format fmt[SQL_MAX_PROBES] = { 0 };
	const struct sql_tp_format *fmts[SQL_MAX_PROBES];
	int rc = 0;
	for (size_t p = 0; p < t->nprobes && !rc; p++) {
		rc = sql_tracefs_load(t->probes[p].tp, &fmt[p], err, errsz);
		fmts[p] = &fmt[p];
	}
	struct sql_recplan rp;
	if (!rc)
		rc = sql_recplan_build(&rp, t, NULL, fmts, err, errsz);
	if (rc) {
		for (size_t p = 0; p < SQL_MAX_PROBES; p++)
			sql_tp_format_free(&fmt[p]);
		return rc;
	}
	uint8_t *r0 = calloc(1, rp.lay[0].size), *r1 = calloc(1, rp.lay[1].size);
	struct sql_value *row = calloc(t->ncols, sizeof(*row));
	struct sql_pair *pp = sql_pair_new(NULL);
	const int N = 200000;
	double t0 = now_ns();
	uint64_t sink = 0;
	for (int i = 0; i < N; i++) {
		memcpy(r0 + SQL_REC_HDR, &i, sizeof(i));
		sql_recplan_row(&rp, r0, r1, row);
		sink += row[0].u;
	}
	*rec = (now_ns() - t0) / N;
	t0 = now_ns();
	for (int i = 0; i < N; i++) {
		uint64_t key = (uint64_t)(i % 64);
		sql_pair_put(pp, &key, sizeof(key), r0, rp.lay[0].size, (uint64_t)i);
		sink += sql_pair_take(pp, &key, sizeof(key), NULL) != NULL;
	}
	*pair = (now_ns() - t0) / N;
	/* the executor's own work per row comes on top of decoding: about as much */
	*rec *= 2;
	sink_v = sink; /* keep the loops */
	sql_pair_free(pp);
	free(row);
	free(r0);
	free(r1);
	sql_recplan_free(&rp);
	for (size_t p = 0; p < SQL_MAX_PROBES; p++)
		sql_tp_format_free(&fmt[p]);
	return 0;
}

/* ---- the measurement ------------------------------------------------------- */

int sql_calibrate(struct sql_costk *k, FILE *log, char *err, size_t errsz)
{
	char why[256];
	if (sbpf_kernel_check_privileges(why, sizeof(why))) {
		snprintf(err, errsz, "%s", why);
		return -EPERM;
	}
	sql_costk_load(k);
	struct maps m = { -1, -1, -1 };
	struct sbpf_kmap_opts pc = { .sz = sizeof(pc), .type = SBPF_KMAP_PERCPU_ARRAY, .name = "cal_percpu",
				     .key_size = 4, .value_size = 8, .max_entries = 1 };
	struct sbpf_kmap_opts hs = { .sz = sizeof(hs), .type = SBPF_KMAP_HASH, .name = "cal_hash",
				     .key_size = 8, .value_size = 8, .max_entries = 1024 };
	struct sbpf_kmap_opts rb = { .sz = sizeof(rb), .type = SBPF_KMAP_RINGBUF, .name = "cal_ringbuf",
				     .max_entries = 1u << 22 };
	m.percpu = sbpf_kmap_create(&pc);
	m.hash = sbpf_kmap_create(&hs);
	m.ringbuf = sbpf_kmap_create(&rb);
	if (m.percpu < 0 || m.hash < 0 || m.ringbuf < 0) {
		snprintf(err, errsz, "cannot create maps");
		return -ENOMEM;
	}
	uint64_t zero = 0;
	sbpf_kmap_update(m.hash, &zero, &zero, 0);
	struct consumer cons = { 0 };
	pthread_t th;
	cons.rb = sbpf_kringbuf__new(m.ringbuf, on_rec, &cons);
	bool thread = cons.rb && !pthread_create(&th, NULL, consume, &cons);
	int progs[V__N];
	for (int v = 0; v < V__N; v++) {
		progs[v] = -1;
		if (v == V_NONE)
			continue;
		struct sbpf_insn *insns;
		size_t n;
		if (program((enum variant)v, &m, &insns, &n))
			continue;
		struct sbpf_kload_opts lo = { .sz = sizeof(lo), .type = SBPF_KPROG_TRACEPOINT, .name = "sbpf_calib" };
		progs[v] = sbpf_kernel_load(insns, n, &lo);
		free(insns);
	}
	double samples[V__N][ROUNDS];
	int rc = 0;
	for (int r = 0; r < ROUNDS && !rc; r++) {
		for (int v = 0; v < V__N && !rc; v++) {
			struct sbpf_klink *l = NULL;
			if (v != V_NONE) {
				if (progs[v] < 0 || !(l = sbpf_klink__tracepoint(progs[v], TP, why, sizeof(why)))) {
					snprintf(err, errsz, "cannot attach the calibration program %d: %s", v,
						 progs[v] < 0 ? "refused" : why);
					rc = -EINVAL;
					break;
				}
			}
			loop_ns(); /* warm up */
			samples[v][r] = loop_ns();
			sbpf_klink__destroy(l);
		}
		if (log)
			fprintf(log, ".");
	}
	if (log)
		fprintf(log, "\n");
	if (thread) {
		cons.stop = 1;
		pthread_join(th, NULL);
	}
	sbpf_kringbuf__free(cons.rb);
	for (int v = 0; v < V__N; v++)
		if (progs[v] >= 0)
			close(progs[v]);
	close(m.percpu);
	close(m.hash);
	close(m.ringbuf);
	if (rc)
		return rc;
	double med[V__N];
	for (int v = 0; v < V__N; v++) {
		qsort(samples[v], ROUNDS, sizeof(double), cmp_double);
		med[v] = samples[v][0];
	}
#define POS(x) ((x) > 0.1 ? (x) : 0.1)
	k->prog = POS(med[V_EMPTY] - med[V_NONE]);
	k->helper = POS((med[V_HELPER] - med[V_EMPTY]) / REPEAT);
	k->percpu = POS((med[V_PERCPU] - med[V_EMPTY]) / REPEAT);
	k->lookup = POS((med[V_LOOKUP] - med[V_EMPTY]) / REPEAT);
	k->update = POS((med[V_UPDATE] - med[V_EMPTY]) / REPEAT);
	k->copy8 = POS((med[V_COPY] - med[V_EMPTY]) / REPEAT);
	k->reserve = POS((med[V_RESERVE] - med[V_EMPTY]) / 8);
	/* With a consumer waiting, a submit wakes it (when it has caught up);
	 * the difference, per record, is what wake-ups cost the traced side.
	 * The consumer's own CPU time runs on the other core. */
	k->wakeup = POS(med[V_WAKEUP] - med[V_EMPTY] - k->reserve);
	if ((rc = user_costs(&k->user_rec, &k->user_pair, err, errsz)))
		return rc;
	k->calibrated = true;
	snprintf(k->source, sizeof(k->source), "measured now on kernel %s", dsl_kernel_release());
	if (log)
		fprintf(log, "per getppid(): %.1f ns without a program, %.1f with an empty one\n", med[V_NONE],
			med[V_EMPTY]);
	return 0;
}
