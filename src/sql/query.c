/* query.c - the public SQL API (include/safebpf/sql.h): compiling (lex,
 * parse, bind, plan), explaining, and running a query. The run loop owns
 * the event sources of the physical plan, the process filter (-p / -c with
 * descendants followed through process_fork), the wall-clock windows, and
 * the loss accounting reported with every window.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "safebpf/asm.h"
#include "safebpf/kernel.h"
#include "safebpf/sql.h"
#include "sql/sqlInt.h"

struct sbpf_query {
	struct sql_arena arena;   /* AST, bound query and plan */
	struct sql_query q;       /* bound query */
	struct sql_plan plan;     /* physical plan, with the optimizer's candidates */
	enum sql_strategy strategy; /* --plan */
	int tried;                /* candidates loaded by the last run */
};

int sbpf_query__compile(const char *text, const struct sbpf_query_opts *opts, struct sbpf_query **out,
			struct sbpf_diags *diags)
{
	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!text)
		return -EINVAL;
	struct sbpf_diags local = { 0 };
	if (!diags)
		diags = &local; /* the caller does not want the message */
	const char *file = opts && opts->sz >= offsetof(struct sbpf_query_opts, file) + sizeof(opts->file) &&
				   opts->file ? opts->file : "<query>";
	struct sbpf_query *Q = calloc(1, sizeof(*Q));
	if (!Q)
		return -ENOMEM;
	char *copy = sql_arena_strndup(&Q->arena, text, strlen(text));
	char *fcopy = sql_arena_strndup(&Q->arena, file, strlen(file));
	struct sql_stmt *st;
	int rc = copy && fcopy ? 0 : -ENOMEM;
	if (!rc)
		rc = sql_parse(copy, fcopy, &Q->arena, &st, diags);
	if (!rc)
		rc = sql_bind(st, copy, fcopy, &Q->arena, &Q->q, diags);
	if (!rc && !Q->q.window_ns && Q->q.aggregate && opts &&
	    opts->sz >= offsetof(struct sbpf_query_opts, default_window_ns) + sizeof(opts->default_window_ns))
		Q->q.window_ns = opts->default_window_ns; /* continuous consumers (serve) */
	if (!rc)
		rc = sql_plan_build(&Q->q, &Q->arena, &Q->plan);
	/* optimize.c: candidate plans (judged by the verifier when run) */
	if (opts && opts->sz >= offsetof(struct sbpf_query_opts, plan) + sizeof(opts->plan))
		Q->strategy = opts->plan == SBPF_PLAN_MVSF ? SQL_STRATEGY_MVSF
			      : opts->plan == SBPF_PLAN_KERNEL_MAX ? SQL_STRATEGY_KERNEL_MAX : SQL_STRATEGY_AUTO;
	if (!rc)
		rc = sql_optimize(&Q->plan, &Q->arena, Q->strategy, false);
	sbpf_diags__free(&local);
	if (rc) {
		sbpf_query__free(Q);
		return rc;
	}
	*out = Q;
	return 0;
}

void sbpf_query__free(struct sbpf_query *Q)
{
	if (!Q)
		return;
	sql_arena_reset(&Q->arena);
	free(Q);
}

size_t sbpf_query__ncols(const struct sbpf_query *Q)
{
	return Q->q.ncols;
}

const char *sbpf_query__col_name(const struct sbpf_query *Q, size_t i)
{
	return i < Q->q.ncols ? Q->q.cols[i].name : NULL;
}

int sbpf_query__col_info(const struct sbpf_query *Q, size_t i, struct sbpf_col_info *info)
{
	return sql_col_info(&Q->q, i, info);
}

bool sbpf_query__aggregate(const struct sbpf_query *Q)
{
	return Q->q.aggregate;
}

uint64_t sbpf_query__window_ns(const struct sbpf_query *Q)
{
	return Q->q.window_ns;
}

/* ---- explain ---- */

static void explain_query(const struct sql_query *q, FILE *f)
{
	fprintf(f, "query:\n  SELECT %s", q->distinct || q->distinct_groups ? "DISTINCT " : "");
	for (size_t i = 0; i < q->ncols; i++) {
		fprintf(f, "%s", i ? ", " : "");
		sql_expr_print(q, q->cols[i].e, f);
		fprintf(f, " AS %s", q->cols[i].name);
	}
	for (int s = 0; s < q->ntables; s++) {
		const struct sql_jstep *j = s ? &q->join[s - 1] : NULL;
		fprintf(f, "\n  %s %s", !s ? "FROM" : j->left ? "LEFT JOIN" : "JOIN", q->tables[s]->name);
		if (strcmp(q->names[s], q->tables[s]->name))
			fprintf(f, " AS %s", q->names[s]);
		if (!j || !j->nkeys)
			continue;
		fputs(" ON ", f);
		for (size_t i = 0; i < j->nkeys; i++) {
			fprintf(f, "%s", i ? " AND " : "");
			sql_expr_print(q, j->lkeys[i], f);
			fputs(" = ", f);
			sql_expr_print(q, j->rkeys[i], f);
		}
		if (j->left) {
			char d[32];
			sql_fmt_duration((int64_t)j->within_ns, d, sizeof(d));
			fprintf(f, " WITHIN %s", d);
		}
	}
	if (q->where) {
		fputs("\n  WHERE ", f);
		sql_expr_print(q, q->where, f);
	}
	if (q->nkeys && !q->distinct_groups) {
		fputs("\n  GROUP BY ", f);
		for (size_t i = 0; i < q->nkeys; i++) {
			fprintf(f, "%s", i ? ", " : "");
			sql_expr_print(q, q->keys[i], f);
		}
	}
	if (q->having) {
		fputs("\n  HAVING ", f);
		sql_expr_print(q, q->having, f);
	}
	if (q->window_ns) {
		char d[32];
		sql_fmt_duration((int64_t)q->window_ns, d, sizeof(d));
		fprintf(f, "\n  WINDOW %s", d);
		if (q->every_ns) {
			sql_fmt_duration((int64_t)q->every_ns, d, sizeof(d));
			fprintf(f, " EVERY %s", d);
		}
	}
	if (q->norder) {
		fputs("\n  ORDER BY ", f);
		for (size_t i = 0; i < q->norder; i++) {
			fprintf(f, "%s", i ? ", " : "");
			sql_expr_print(q, q->order[i].e, f);
			fputs(q->order[i].desc ? " DESC" : "", f);
		}
	}
	if (q->limit >= 0)
		fprintf(f, "\n  LIMIT %lld", (long long)q->limit);
	fputs("\n\noutput columns:\n", f);
	for (size_t i = 0; i < q->ncols; i++)
		fprintf(f, "  %-20s %s\n", q->cols[i].name,
			q->cols[i].hist ? (q->aggs[q->cols[i].hist - 1].kind == SQL_AGG_LHIST ? "linear histogram"
											 : "log2 histogram")
					: sql_type_name(q->cols[i].type));
}

/* The program in the verifier's notation, indented under its heading. */
static void print_indented(FILE *f, const struct sbpf_insn *insns, size_t n)
{
	char *buf = NULL;
	size_t sz = 0;
	FILE *m = open_memstream(&buf, &sz);
	if (!m)
		return;
	sbpf_disasm(insns, n, SBPF_DISASM_KERNEL, m);
	fclose(m);
	for (char *line = buf, *nl; line && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		fprintf(f, "    %.*s\n", nl ? (int)(nl - line) : (int)strlen(line), line);
	}
	free(buf);
}

static void explain_kernel(const struct sql_plan *p, FILE *f)
{
	const struct sql_query *q = p->q;
	bool kernel = false;
	for (int s = 0; s < q->ntables; s++)
		kernel |= sql_plan_kspec(p, s) != NULL;
	if (kernel)
		fputs("\nkernel (eBPF of the chosen plan: the operators placed @kernel run here):\n", f);
	else
		fputs("\nkernel (eBPF, minimum verifier-safe functions: read the event, copy the needed\n"
		      "columns into a ring-buffer record, submit; nothing else runs in the kernel):\n", f);
	for (int src = 0; src < sql_query_nsources(q); src++) {
		int s = sql_source_side(q, src);
		const struct sql_table *t = q->tables[s];
		/* a source feeding several sides reads what any of them needs */
		bool *needed = calloc(t->ncols + 1, sizeof(bool));
		for (int k = 0; needed && k < q->ntables; k++)
			for (size_t c = 0; q->source[k] == src && c < t->ncols; c++)
				needed[c] |= p->needed[k][c];
		struct sql_source_opts so = { .sz = sizeof(so), .needed = needed ? needed : p->needed[s],
					      .load_only = true, .kspec = sql_plan_kspec(p, s) };
		char err[512];
		struct sql_source *src = sql_source_open(t, &so, err, sizeof(err));
		free(needed);
		if (!src) {
			fprintf(f, "  %s: programs not shown: %s\n", t->name, err);
			continue;
		}
		struct sql_source_info info;
		sql_source_info(src, &info);
		for (size_t k = 0; k < info.nprobes; k++) {
			fprintf(f, "  %s (table %s): %zu instructions, %u-byte records, accepted by the verifier\n",
				info.probe[k].tp, t->name, info.probe[k].ninsns, info.probe[k].record_bytes);
			print_indented(f, info.probe[k].insns, info.probe[k].ninsns);
		}
		if (t->pair)
			fprintf(f, "  (%s pairs %s with %s in %s)\n", t->name, t->probes[0].tp, t->probes[1].tp,
				so.kspec && so.kspec->kpair ? "the kernel" : "user space");
		sql_source_close(src);
	}
}

static void explain_user(const struct sql_plan *p, FILE *f)
{
	const struct sql_query *q = p->q;
	fputs("\nuser space:\n", f);
	for (int src = 0; src < sql_query_nsources(q); src++) {
		int s = sql_source_side(q, src), nsides = 0;
		for (int k = 0; k < q->ntables; k++)
			nsides += q->source[k] == src;
		fprintf(f, "  read the ring buffer of %s%s%s\n", q->tables[s]->name,
			q->tables[s]->pair ? " and pair its opening and closing events" : "",
			nsides == 3 ? " (self-join: each row goes to all three sides)"
			: nsides == 2 ? " (self-join: each row goes to both of its sides)" : "");
	}
	const char *what[] = {
		[SQL_N_JOIN] = "join: right rows in ts order, each taking the latest unmatched left row with equal keys and ts <= its own "
			       "(self-join: < its own; LEFT JOIN: within WITHIN, and left rows left unmatched that long go on with NULLs)",
		[SQL_N_FILTER] = "filter: WHERE",
		[SQL_N_PROJECT] = "project: compute the select list per row",
		[SQL_N_AGGREGATE] = "aggregate: hash table of groups, aggregates updated per row",
		[SQL_N_HAVING] = "having: filter finished groups",
		[SQL_N_DISTINCT] = "distinct: drop repeated output rows",
		[SQL_N_ORDER] = "order: sort the rows",
		[SQL_N_LIMIT] = "limit: keep the first rows",
	};
	/* Walk the chain from the scans up. */
	const struct sql_node *chain[16];
	size_t n = 0;
	for (const struct sql_node *x = p->root; x && n < 16; x = x->in[0])
		chain[n++] = x;
	while (n-- > 0)
		if (chain[n]->kind != SQL_N_SCAN && chain[n]->place == SQL_PLACE_USER)
			fprintf(f, "  %s%s\n", what[chain[n]->kind],
				q->window_ns && chain[n]->kind >= SQL_N_AGGREGATE ? " (per window)" : "");
	if (q->every_ns)
		fputs("  every step boundary (wall clock): read what the kernel produced into the step, merge the "
		      "window's steps, emit\n", f);
	else if (q->window_ns)
		fputs("  every window boundary (wall clock): read what the kernel produced, emit, reset\n", f);
	else if (sql_query_streaming(q))
		fputs("  rows go to the output as they arrive\n", f);
	else
		fputs("  when the run ends: read what the kernel produced, emit\n", f);
}

int sbpf_query__explain(const struct sbpf_query *Q, FILE *out, unsigned flags, char *err, size_t errsz)
{
	(void)err;
	(void)errsz;
	if (flags & SBPF_EXPLAIN_OPTIMIZER) {
		sql_opt_print(&Q->plan, out);
		return ferror(out) ? -EIO : 0;
	}
	explain_query(&Q->q, out);
	/* optimize.c: every candidate, judged by the verifier (or the cache) */
	char why[256];
	bool judge = (flags & SBPF_EXPLAIN_KERNEL) && !sbpf_kernel_check_privileges(why, sizeof(why));
	struct sbpf_query *W = (struct sbpf_query *)Q;
	if (judge)
		sql_opt_verify_all(&W->plan);
	fputc('\n', out);
	sql_opt_print(&Q->plan, out);
	fputs("\nplan (@ says where each operator runs):\n", out);
	sql_plan_print(&Q->plan, out);
	if (flags & SBPF_EXPLAIN_KERNEL)
		explain_kernel(&Q->plan, out);
	explain_user(&Q->plan, out);
	return ferror(out) ? -EIO : 0;
}

/* ---- pid sets ---- */

/* Open-addressing set of positive pids, each with up to PIDSET_TS times
 * (0: none) whose meaning is the set's. */
#define PIDSET_TS 4
struct pidset {
	int32_t *slot;   /* 0: empty */
	uint64_t (*ts)[PIDSET_TS]; /* per slot */
	size_t cap, n;   /* power of two / used */
};

/* The slot of @pid, or -1. */
static long pidset_find(const struct pidset *s, int32_t pid)
{
	if (!s->cap || pid <= 0) /* 0 marks an empty slot; the idle task is never traced */
		return -1;
	for (size_t i = (size_t)pid * 0x9e3779b1u & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
		if (s->slot[i] == pid)
			return (long)i;
		if (!s->slot[i])
			return -1;
	}
}

static bool pidset_has(const struct pidset *s, int32_t pid)
{
	return pidset_find(s, pid) >= 0;
}

static int pidset_add(struct pidset *s, int32_t pid)
{
	if (pid <= 0 || pidset_has(s, pid))
		return 0;
	if ((s->n + 1) * 2 > s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 64;
		int32_t *ns = calloc(ncap, sizeof(*ns));
		uint64_t (*nt)[PIDSET_TS] = calloc(ncap, sizeof(*nt));
		if (!ns || !nt) {
			free(ns);
			free(nt);
			return -ENOMEM;
		}
		for (size_t i = 0; i < s->cap; i++)
			if (s->slot[i])
				for (size_t j = (size_t)s->slot[i] * 0x9e3779b1u & (ncap - 1);; j = (j + 1) & (ncap - 1))
					if (!ns[j]) {
						ns[j] = s->slot[i];
						memcpy(nt[j], s->ts[i], sizeof(nt[j]));
						break;
					}
		free(s->slot);
		free(s->ts);
		s->slot = ns;
		s->ts = nt;
		s->cap = ncap;
	}
	for (size_t i = (size_t)pid * 0x9e3779b1u & (s->cap - 1);; i = (i + 1) & (s->cap - 1))
		if (!s->slot[i]) {
			s->slot[i] = pid;
			memset(s->ts[i], 0, sizeof(s->ts[i]));
			s->n++;
			return 0;
		}
}

/* Removes @pid (linear probing: later entries of its run move back). */
static void pidset_del(struct pidset *s, int32_t pid)
{
	if (!pidset_has(s, pid))
		return;
	size_t mask = s->cap - 1, i = (size_t)pid * 0x9e3779b1u & mask;
	while (s->slot[i] != pid)
		i = (i + 1) & mask;
	for (size_t j = (i + 1) & mask; s->slot[j]; j = (j + 1) & mask) {
		size_t home = (size_t)s->slot[j] * 0x9e3779b1u & mask;
		/* move slot j into the hole at i when its home is not in (i, j] */
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			s->slot[i] = s->slot[j];
			memcpy(s->ts[i], s->ts[j], sizeof(s->ts[i]));
			i = j;
		}
	}
	s->slot[i] = 0;
	s->n--;
}

static void pidset_clear(struct pidset *s)
{
	free(s->slot);
	free(s->ts);
	memset(s, 0, sizeof(*s));
}

/* ---- running ---- */

struct runner {
	const struct sql_query *q;      /* the query */
	struct sql_exec *x;             /* executor */
	struct sql_source *src[SQL_MAX_TABLES]; /* per source (sql_query_nsources) */
	struct sql_opened opened;       /* sources of the chosen plan (optimize.c) */
	struct sql_source *forks;       /* process_fork, when following descendants */
	int tscol[SQL_MAX_TABLES];      /* ts column per source (-1: none) */
	int pidcol[SQL_MAX_TABLES];     /* pid column per source (-1: no filter) */
	int fork_pid, fork_child, fork_ts; /* columns of process_fork */
	bool filter;                    /* filter rows by process */
	bool follow;                    /* follow descendants */
	struct pidset mine;             /* processes traced, with when each id was theirs (LIFE_*) */
	struct pidset foreign;          /* processes seen not to be traced */
	uint64_t events, total_events;  /* rows given to the executor */
	const struct sql_query *uq;     /* query the executor runs (residual WHERE) */
	uint64_t ufiltered;             /* rows the process filter rejected here */
	uint64_t ufiltered0, passed0, rejected0, exevicted0; /* values at the last window */
	struct sql_window_info tot;     /* accounting totals (total_* fields) */
	struct sql_merge *held[SQL_MAX_TABLES]; /* JOIN: per side k > 0, its rows not yet released */
	uint64_t held_lost, held_lost0; /* JOIN: right rows dropped, reorder buffer full (lost) */
	int err;                        /* first executor error */
	bool done;                      /* executor finished (LIMIT) */
	int side;                       /* side of the source being polled */
	FILE *out;                      /* the output stream (guarded, output.c) */
	struct sql_output *guard;       /* its guard (NULL: not guarded) */
	const struct sbpf_query_run_opts *o; /* the run's options */
	uint64_t deadline;              /* end of the run (-d), CLOCK_REALTIME ns */
	bool stopping;                  /* the last window is being closed */
	uint64_t next_report;           /* next loss report (no WINDOW), CLOCK_REALTIME ns */
	uint64_t reported_lost, reported_evicted; /* figures of the last report */
	struct sql_sink *sink;          /* the output */
	struct sql_window_info *steps;  /* sliding window: the terms of the last steps (ring) */
	size_t nsteps, step_pos;        /* ring size (WINDOW / EVERY), next slot */
};

static uint64_t now_real(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* When an id in the traced set was a traced process's: from its birth (the
 * fork that made it; 0 for the first process) until another process was
 * given the id (the fork that made that one, by an untraced parent; 0:
 * still), and the same for the id's previous traced process. Fork events
 * come before any event of the new process, so a row is judged by its time
 * whatever the order the streams are read in. */
enum { LIFE_BORN, LIFE_END, LIFE_PREV_BORN, LIFE_PREV_END };

/* Whether a row at @ts (0: unknown) of id slot @i of the traced set is the
 * traced process's. */
static bool alive_at(const struct runner *r, long i, uint64_t ts)
{
	const uint64_t *l = r->mine.ts[i];
	if (!ts)
		return true;
	if (ts >= l[LIFE_BORN] && (!l[LIFE_END] || ts < l[LIFE_END]))
		return true;
	return l[LIFE_PREV_END] && ts >= l[LIFE_PREV_BORN] && ts < l[LIFE_PREV_END];
}

static int on_fork(void *ctx, const struct sql_value *row)
{
	struct runner *r = ctx;
	int32_t parent = (int32_t)row[r->fork_pid].i, child = (int32_t)row[r->fork_child].i;
	uint64_t ts = (uint64_t)row[r->fork_ts].i;
	long pi = pidset_find(&r->mine, parent), ci = pidset_find(&r->mine, child);
	if (pi < 0 || !alive_at(r, pi, ts)) {
		/* an untraced process: if it was given a traced id, that
		 * id's traced process ended before */
		if (ci >= 0 && !r->mine.ts[ci][LIFE_END] && ts > r->mine.ts[ci][LIFE_BORN])
			r->mine.ts[ci][LIFE_END] = ts;
		return 0;
	}
	if (ci < 0) {
		if (pidset_add(&r->mine, child)) {
			r->err = -ENOMEM;
			return 0;
		}
		ci = pidset_find(&r->mine, child);
	} else if (r->mine.ts[ci][LIFE_END]) {
		/* a traced id given again to a traced child: keep the last life */
		r->mine.ts[ci][LIFE_PREV_BORN] = r->mine.ts[ci][LIFE_BORN];
		r->mine.ts[ci][LIFE_PREV_END] = r->mine.ts[ci][LIFE_END];
	}
	r->mine.ts[ci][LIFE_BORN] = ts;
	r->mine.ts[ci][LIFE_END] = 0;
	/* the id may have been an untraced process's before (pid reuse) */
	pidset_del(&r->foreign, child);
	return 0;
}

static void drain_forks(struct runner *r)
{
	if (r->forks)
		sql_source_poll(r->forks, 0, on_fork, r);
}

/* Whether rows of process @pid are traced. A descendant's fork event is in
 * its ring buffer before the descendant runs, so an unknown pid is checked
 * again after reading the fork events already there. A pid known to be
 * untraced is too when fork events wait: after pid reuse, it may now be a
 * traced descendant's. */
static bool traced(struct runner *r, int64_t pid, uint64_t ts)
{
	int32_t p = (int32_t)pid;
	long i = pidset_find(&r->mine, p);
	/* (a fork that gave the id to another process may wait to be read) */
	if (i >= 0 && ts && r->forks && sql_source_pending(r->forks)) {
		drain_forks(r);
		i = pidset_find(&r->mine, p);
	}
	if (i >= 0)
		return alive_at(r, i, ts);
	if (!r->follow || (pidset_has(&r->foreign, p) && (!r->forks || !sql_source_pending(r->forks))))
		return false;
	drain_forks(r);
	if (pidset_has(&r->mine, p))
		return traced(r, pid, ts);
	if (r->foreign.n > 65536)
		pidset_clear(&r->foreign);
	pidset_add(&r->foreign, p);
	return false;
}

/* The executor's verdict on a row: stop at an error or the end (LIMIT). */
static int exec_row(struct runner *r, int side, const struct sql_value *row)
{
	int rc = sql_exec_row(r->x, side, row);
	if (rc < 0)
		r->err = rc;
	else if (rc == 1)
		r->done = true;
	return rc != 0;
}

/* A row read from source @src: filtered once by process; with a JOIN, held
 * in the reorder buffer of each side k > 0 it feeds (released in time
 * order, release()) and given at once as a row of side 0. A table joined
 * with itself is one source: its event enters the join (is counted) once,
 * and when a reorder buffer is full it is lost as a whole. */
static int take_row(struct runner *r, int src, const struct sql_value *row)
{
	const struct sql_query *q = r->q;
	if (r->done || r->err)
		return 1;
	if (r->filter && r->pidcol[src] >= 0 &&
	    !traced(r, row[r->pidcol[src]].i, r->tscol[src] >= 0 ? (uint64_t)row[r->tscol[src]].i : 0)) {
		r->ufiltered++;
		return 0;
	}
	for (int k = 1; k < q->ntables; k++)
		if (q->source[k] == src && sql_merge_count(r->held[k]) >= SQL_MAX_HELD) {
			r->held_lost++; /* bounded: counted as lost */
			return 0;
		}
	for (int k = 1; k < q->ntables; k++) {
		if (q->source[k] != src)
			continue;
		int rc = sql_merge_put(r->held[k], row);
		if (rc) {
			if (!r->err)
				r->err = rc;
			return 1;
		}
	}
	if (q->source[0] != src)
		return 0;
	r->events++;
	return exec_row(r, 0, row);
}

static int on_src0(void *ctx, const struct sql_value *row)
{
	return take_row(ctx, 0, row);
}

static int on_src1(void *ctx, const struct sql_value *row)
{
	return take_row(ctx, 1, row);
}

static int on_src2(void *ctx, const struct sql_value *row)
{
	return take_row(ctx, 2, row);
}

/* A released row of JOIN side @side (already filtered; counted here when
 * its event has not entered as an earlier side). */
static int give(struct runner *r, int side, const struct sql_value *row)
{
	if (r->done || r->err)
		return 1;
	r->events += sql_source_side(r->q, r->q->source[side]) == side;
	return exec_row(r, side, row);
}

static int on_give1(void *ctx, const struct sql_value *row)
{
	return give(ctx, 1, row);
}

static int on_give2(void *ctx, const struct sql_value *row)
{
	return give(ctx, 2, row);
}

static uint64_t total_lost(const struct runner *r)
{
	uint64_t n = (r->forks ? sql_source_lost(r->forks) : 0) + r->held_lost;
	for (int s = 0; s < sql_query_nsources(r->q); s++)
		n += sql_source_lost(r->src[s]);
	return n;
}

static uint64_t total_evicted(const struct runner *r)
{
	uint64_t n = sql_exec_evicted(r->x);
	for (int s = 0; s < sql_query_nsources(r->q); s++)
		n += sql_source_evicted(r->src[s]);
	return n;
}

/* How long a JOIN round looks for a moment when no program runs. */
#define QUIESCE_US 500

/* The callback that takes the rows of source @src. */
static sql_row_fn row_fn(const struct runner *r, int src)
{
	(void)r;
	static const sql_row_fn fns[SQL_MAX_TABLES] = { on_src0, on_src1, on_src2 };
	return fns[src];
}

/* Hands the held rows of each JOIN side, in order, that happened before
 * @before[k] to the join, in time order: side 1's first, so that every
 * joined row of the first two tables older than a row of side 2 is made
 * before it comes (sql_exec_row). */
static int release(struct runner *r, const uint64_t *before)
{
	static const sql_row_fn fns[SQL_MAX_TABLES] = { NULL, on_give1, on_give2 };
	for (int k = 1; k < r->q->ntables && !r->err && !r->done; k++) {
		int rc = sql_merge_release(r->held[k], before[k], fns[k], r);
		if (rc < 0 && !r->err)
			r->err = rc;
	}
	return r->err;
}

/* release() with one bound for every side. */
static int release_all(struct runner *r, uint64_t before)
{
	uint64_t b[SQL_MAX_TABLES];
	for (int k = 0; k < SQL_MAX_TABLES; k++)
		b[k] = before;
	return release(r, b);
}

/* LEFT JOIN: every row of the JOIN sides before @tR has been handed to the
 * join, and none to come is older: the left rows whose wait ended before
 * it go on unmatched. */
static int expire(struct runner *r, uint64_t tR)
{
	const struct sql_query *q = r->q;
	if (!sql_query_left(q) || r->err)
		return r->err;
	int rc = sql_exec_expire(r->x, tR);
	if (rc < 0 && !r->err)
		r->err = rc;
	if (sql_exec_done(r->x))
		r->done = true;
	return r->err;
}

/* JOIN round: read the sources, the last one first: for each, find a
 * moment before which every event of it has been read (no program of its
 * table runs: sql_source_quiesce), then read its ring buffer to the end.
 * The earliest such moment tR bounds every source: the held rows before tR
 * can now go, in time order, each finding every earlier row of the sides
 * before its own (docs/sql.md, JOIN). A table joined with itself is one
 * source feeding several sides. */
static int poll_join(struct runner *r, int timeout_ms)
{
	int n = sql_query_nsources(r->q);
	int rc = sql_source_poll(r->src[n - 1], timeout_ms, row_fn(r, n - 1), r);
	if (rc < 0 && rc != -EINTR && rc != -ECANCELED)
		return rc;
	if (r->err || r->done)
		return r->err;
	/* Without such a moment (programs kept running) every source is still
	 * read, but nothing is released this round. */
	bool ok = true;
	uint64_t tR = UINT64_MAX;
	for (int src = n; src-- > 0;) {
		uint64_t t = 0;
		ok = ok && !sql_source_quiesce(r->src[src], QUIESCE_US, &t);
		rc = sql_source_drain(r->src[src], 100, row_fn(r, src), r);
		if (rc < 0 && rc != -ETIMEDOUT && rc != -EINTR && rc != -ECANCELED)
			return rc;
		ok = ok && rc != -ETIMEDOUT;
		if (ok && t < tR)
			tR = t;
		if (r->err || r->done)
			return r->err;
	}
	return ok ? (release_all(r, tR) ? r->err : expire(r, tR)) : r->err;
}

static int poll_once(struct runner *r, int timeout_ms)
{
	drain_forks(r);
	if (r->q->ntables > 1)
		return poll_join(r, timeout_ms);
	int rc = sql_source_poll(r->src[0], timeout_ms, on_src0, r);
	if (rc == -EINTR)
		rc = 0;
	return rc < 0 ? rc : r->err;
}

static int open_sources(struct runner *r, struct sbpf_query *Q, struct sql_arena *a, int pid, char *err,
			size_t errsz)
{
	const struct sql_query *q = r->q;
	/* optimize.c: the cheapest candidate the verifier accepts; a kernel
	 * plan filters processes itself (pid set), the MVSF plan here. */
	struct sql_open_req req = { .pid = pid, .follow = r->follow, .pidcol_name = "pid",
				    .sample_hz = r->o->sample_hz };
	int rc = sql_plan_open(&Q->plan, &Q->arena, &req, &r->opened, err, errsz);
	if (rc)
		return rc;
	Q->tried = r->opened.tried;
	for (int s = 0; s < sql_query_nsources(q); s++)
		r->src[s] = r->opened.src[s];
	r->uq = r->opened.uq;
	if (r->opened.kpids)
		r->filter = r->follow = false;
	/* A table read only in any context (tcp_retransmits: timers, softirqs)
	 * has no owner to match: -p/-c only bound its run, as in the kernel
	 * plans (kprog.c applies no pid set there). */
	for (int src = 0; src < sql_query_nsources(q); src++) {
		const struct sql_table *t = q->tables[sql_source_side(q, src)];
		r->pidcol[src] = r->filter && !(t->nprobes == 1 && t->probes[0].any_context)
					 ? sql_table_column(t, "pid") : -1;
		r->tscol[src] = sql_table_column(t, "ts");
	}
	if (r->follow) {
		const struct sql_table *ft = sql_catalog_find("process_fork");
		bool *needed = ft ? sql_arena_alloc(a, ft->ncols * sizeof(bool)) : NULL;
		if (!ft || !needed) {
			snprintf(err, errsz, "following child processes needs the process_fork table");
			return -ENOENT;
		}
		r->fork_pid = sql_table_column(ft, "pid");
		r->fork_child = sql_table_column(ft, "child_tid");
		r->fork_ts = sql_table_column(ft, "ts");
		if (r->fork_pid < 0 || r->fork_child < 0 || r->fork_ts < 0) {
			snprintf(err, errsz, "process_fork lacks the pid, child_tid or ts column");
			return -ENOENT;
		}
		needed[r->fork_pid] = needed[r->fork_child] = needed[r->fork_ts] = true;
		struct sql_source_opts so = { .sz = sizeof(so), .needed = needed };
		if (!(r->forks = sql_source_open(ft, &so, err, errsz)))
			return errno ? -errno : -EINVAL;
	}
	return 0;
}

static int on_group(void *ctx, const struct sql_value *row, const struct sql_value *keys,
		    const struct sql_aggstate *st)
{
	struct runner *r = ctx;
	int rc = sql_exec_merge(r->x, 0, row, keys, st);
	if (rc && !r->err)
		r->err = rc;
	return rc;
}

/* Sliding window: @w holds the terms of the step just closed; it becomes
 * the window of the last WINDOW/EVERY steps: it starts where the oldest
 * step started, and each term is the sum of the steps' terms (an event
 * counts in every window that contains its step, so the accounting
 * equation holds per window; the run's totals count each event once). */
static void slide_terms(struct runner *r, struct sql_window_info *w)
{
	r->steps[r->step_pos] = *w;
	r->step_pos = (r->step_pos + 1) % r->nsteps;
	struct sql_window_info sum = *w;
	sum.events = sum.lost = sum.evicted = sum.fired = sum.counted = 0;
	sum.filtered = sum.unpaired = sum.rowlost = sum.rowevicted = 0;
	for (size_t k = 0; k < r->nsteps; k++) {
		const struct sql_window_info *t = &r->steps[(r->step_pos + k) % r->nsteps];
		if (!t->end_ns)
			continue; /* not yet used */
		if (sum.start_ns > t->start_ns)
			sum.start_ns = t->start_ns;
		sum.events += t->events;
		sum.lost += t->lost;
		sum.evicted += t->evicted;
		sum.fired += t->fired;
		sum.counted += t->counted;
		sum.filtered += t->filtered;
		sum.unpaired += t->unpaired;
		sum.rowlost += t->rowlost;
		sum.rowevicted += t->rowevicted;
		sum.late |= t->late;
	}
	*w = sum;
	sql_sink_window_start(r->sink, w->start_ns);
}

/* CLOCK_MONOTONIC ns (the events' ts clock). */
static uint64_t now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Closes a window at a cut of every source: the sources switch epoch
 * (right side first, so that a right row of the old epoch finds every
 * older left row in the old epoch too), then the old epoch's records and
 * kernel groups are read, its counters give the accounting terms, the
 * window is emitted, and the records of the new epoch met on the way are
 * delivered into the next window (unless @last). */
static int close_window(struct runner *r, uint64_t start, uint64_t end, bool last, int timeout_ms,
			uint64_t *lost0, uint64_t *evicted0)
{
	const struct sql_query *q = r->q;
	int rc = 0;
	uint64_t flipped[SQL_MAX_TABLES];
	for (int s = sql_query_nsources(q); s-- > 0 && !rc;) {
		flipped[s] = now_mono();
		rc = sql_source_flip(r->src[s]);
	}
	if (rc)
		return rc;
	if (r->forks) {
		rc = sql_source_drain(r->forks, timeout_ms, on_fork, r);
		if (rc < 0 && rc != -ETIMEDOUT)
			return rc;
	}
	struct sql_acct a[SQL_MAX_TABLES];
	uint64_t fired = 0, kfiltered = 0, rowlost = 0, unpaired = 0, krows = 0, groupfull = 0;
	bool late = false;
	for (int s = 0; s < sql_query_nsources(q); s++) {
		rc = sql_source_cut(r->src[s], timeout_ms, row_fn(r, s), r, on_group, r, &a[s]);
		if (rc < 0 && rc != -ECANCELED)
			return rc;
		if (r->err)
			return r->err;
		fired += a[s].fired;
		kfiltered += a[s].filtered;
		rowlost += a[s].lost;
		groupfull += a[s].groupfull;
		unpaired += a[s].unpaired;
		krows += a[s].krows;
		late |= a[s].timed_out;
	}
	/* Every event of the old epoch has been read: its held rows go, each
	 * side's up to when the sources of the sides before it switched (held
	 * rows are all of the old epoch; with the last side's source switched
	 * first, as for different tables, that is every one of them). At the
	 * end of the run every held row goes, and so do the unmatched rows of
	 * a LEFT JOIN. */
	uint64_t before[SQL_MAX_TABLES];
	before[0] = UINT64_MAX;
	for (int k = 1; k < q->ntables; k++) {
		before[k] = before[k - 1];
		for (int j = 0; j < k && !last; j++)
			if (q->source[j] != q->source[k] && flipped[q->source[j]] < before[k])
				before[k] = flipped[q->source[j]];
	}
	if (q->ntables > 1 && (rc = release(r, before)))
		return rc;
	if (last && sql_query_left(q) && (rc = expire(r, UINT64_MAX)))
		return rc;
	uint64_t passed, rejected, exevicted = sql_exec_evicted(r->x);
	sql_exec_counts(r->x, &passed, &rejected);
	uint64_t dev = exevicted - r->exevicted0;
	r->events += krows;
	uint64_t lost = total_lost(r), evicted = total_evicted(r);
	struct sql_window_info w = {
		.start_ns = start, .end_ns = end, .events = r->events, .lost = lost - *lost0,
		.evicted = evicted - *evicted0, .last = last, .acct = true, .fired = fired,
		.counted = r->opened.kagg ? krows : passed - r->passed0 - dev,
		.filtered = kfiltered + (r->ufiltered - r->ufiltered0) + (rejected - r->rejected0),
		.unpaired = unpaired, .rowlost = rowlost + (r->held_lost - r->held_lost0), .rowevicted = dev,
		.late = late, .groupfull = groupfull, .window_ns = q->window_ns,
	};
	r->held_lost0 = r->held_lost;
	r->passed0 = passed;
	r->rejected0 = rejected;
	r->ufiltered0 = r->ufiltered;
	r->exevicted0 = exevicted;
	r->total_events += r->events;
	r->events = 0;
	*lost0 = lost;
	*evicted0 = evicted;
	r->tot.total_fired += w.fired;
	r->tot.total_counted += w.counted;
	r->tot.total_filtered += w.filtered;
	r->tot.total_unpaired += w.unpaired;
	r->tot.total_rowlost += w.rowlost;
	r->tot.total_rowevicted += w.rowevicted;
	r->tot.total_groupfull += w.groupfull;
	w.total_groupfull = r->tot.total_groupfull;
	w.total_fired = r->tot.total_fired;
	w.total_counted = r->tot.total_counted;
	w.total_filtered = r->tot.total_filtered;
	w.total_unpaired = r->tot.total_unpaired;
	w.total_rowlost = r->tot.total_rowlost;
	w.total_rowevicted = r->tot.total_rowevicted;
	if (last) {
		w.total_events = r->total_events;
		w.total_lost = lost;
		w.total_evicted = evicted;
	}
	if (r->steps)
		slide_terms(r, &w);
	if ((rc = sql_exec_window(r->x, &w)))
		return rc;
	for (int s = 0; s < sql_query_nsources(q) && !last; s++) {
		rc = sql_source_replay(r->src[s], row_fn(r, s), r);
		if (rc < 0)
			return rc;
	}
	return r->err;
}

/* Bound on reading what the kernel produced before a window boundary (at
 * most a full ring buffer): a cut that takes longer is reported. */
#define CUT_MS 3000
/* After a stop (Ctrl-C, -d, the command's exit), rows are still delivered
 * for this long; what the consumer has not read by then is counted as lost,
 * so that a stop is obeyed within about a second under any load. */
#define STOP_MS 200

/* Without WINDOW, losses are reported as they are seen (at most once a
 * second), not only at the end; also while the output is blocked. */
static void report_progress(struct runner *r, uint64_t now)
{
	const struct sbpf_query_run_opts *o = r->o;
	if (r->q->window_ns || !o->log || r->stopping || now < r->next_report)
		return;
	uint64_t lost = total_lost(r), evicted = total_evicted(r);
	if (lost != r->reported_lost || evicted != r->reported_evicted)
		fprintf(o->log, "safebpf: so far %" PRIu64 " events lost (buffer or map full, or probe "
			"skipped), %" PRIu64 " evicted (bounded state full)\n", lost, evicted);
	r->reported_lost = lost;
	r->reported_evicted = evicted;
	r->next_report = now + 1000000000u;
}

/* Is the run stopping? (output.c asks while the output cannot be written) */
static bool run_stopping(void *ctx)
{
	struct runner *r = ctx;
	uint64_t now = now_real();
	if (r->next_report)
		report_progress(r, now);
	if (r->stopping || now >= r->deadline)
		return true;
	return r->o->should_stop && r->o->should_stop(r->o->ctx);
}

static int run_loop(struct runner *r, struct sql_sink *sink, const struct sbpf_query_run_opts *o)
{
	const struct sql_query *q = r->q;
	uint64_t W = sql_query_cut_ns(q), start = now_real();
	uint64_t deadline = o->duration_ns ? start + o->duration_ns : UINT64_MAX;
	r->deadline = deadline;
	uint64_t win_start = start, boundary = W ? (start / W + 1) * W : UINT64_MAX;
	uint64_t lost0 = 0, evicted0 = 0;
	r->next_report = start + 1000000000u;
	int rc = 0;
	sql_sink_window_start(sink, win_start);
	for (;;) {
		uint64_t now = now_real();
		if (now >= boundary && boundary < deadline) {
			if ((rc = close_window(r, win_start, boundary, false, CUT_MS, &lost0, &evicted0)))
				return rc;
			win_start = boundary;
			boundary = now >= boundary + W ? (now / W + 1) * W : boundary + W;
			sql_sink_window_start(sink, win_start);
			/* A cut can take longer than a window (each flip waits for an
			 * RCU grace period): the end of the run is checked after every
			 * cut, or windows of 10 ms would keep the run alive forever. */
			if (r->done || (o->should_stop && o->should_stop(o->ctx)))
				break;
			continue;
		}
		if (now >= deadline || r->done || (o->should_stop && o->should_stop(o->ctx)))
			break;
		report_progress(r, now);
		uint64_t until = boundary < deadline ? boundary : deadline;
		uint64_t wait_ns = until - now;
		int timeout = wait_ns > 200000000u ? 200 : (int)((wait_ns + 999999) / 1000000);
		if ((rc = poll_once(r, timeout)))
			return rc;
		fflush(r->out); /* rows of this poll (the sink does not flush per row into files) */
	}
	uint64_t end = now_real();
	if (end > deadline)
		end = deadline;
	/* Tracing stops now: the last cut reads what is already recorded. */
	r->stopping = true;
	/* rows for an output nobody reads any more: no time spent on them */
	int stop_ms = sql_output_gave_up(r->guard) ? 20 : STOP_MS;
	for (int s = 0; s < sql_query_nsources(q); s++)
		sql_source_stop(r->src[s], stop_ms);
	if (r->forks)
		sql_source_stop(r->forks, stop_ms);
	rc = close_window(r, win_start, end, true, CUT_MS, &lost0, &evicted0);
	uint64_t abandoned = 0;
	for (int s = 0; s < sql_query_nsources(q); s++)
		abandoned += sql_source_abandoned(r->src[s]);
	if (abandoned && o->log)
		fprintf(o->log, "safebpf: %" PRIu64 " events recorded but not read before the stop "
			"(counted as lost)\n", abandoned);
	return rc;
}

int sbpf_query__run(struct sbpf_query *Q, const struct sbpf_query_run_opts *opts, char *err, size_t errsz)
{
	struct sbpf_query_run_opts o = { .sz = sizeof(o) };
	if (opts)
		memcpy(&o, opts, opts->sz < sizeof(o) ? opts->sz : sizeof(o));
	if (!o.out)
		o.out = stdout;
	const struct sql_query *q = &Q->q;
	char why[256];
	if (sbpf_kernel_check_privileges(why, sizeof(why))) {
		snprintf(err, errsz, "cannot trace: %s", why);
		return -EPERM;
	}
	for (int s = 0; s < q->ntables; s++)
		if (!sql_table_available(q->tables[s], why, sizeof(why))) {
			snprintf(err, errsz, "table %s is not available on this kernel: %s", q->tables[s]->name, why);
			return -ENOENT;
		}
	static const enum sql_sink_format fmts[] = {
		[SBPF_QUERY_TABLE] = SQL_SINK_TABLE, [SBPF_QUERY_CSV] = SQL_SINK_CSV, [SBPF_QUERY_JSON] = SQL_SINK_JSON,
		[SBPF_QUERY_FOLDED] = SQL_SINK_FOLDED, [SBPF_QUERY_SVG] = SQL_SINK_SVG,
	};
	struct runner r = { .q = q, .filter = o.pid > 0, .follow = o.pid > 0 && o.follow_forks, .o = &o,
			    .deadline = UINT64_MAX };
	struct sql_arena a = { 0 };
	struct sql_output *guard = NULL;
	r.out = sql_output_open(o.out, run_stopping, &r, &guard);
	r.guard = guard;
	struct sql_sink *sink = r.out ? sql_sink_new(q, fmts[o.format <= SBPF_QUERY_SVG ? o.format : 0], r.out, o.log)
				      : NULL;
	int rc = sink ? 0 : -ENOMEM;
	if (!rc && o.row) {
		struct sql_rowcb cb = { .row = o.row, .window = o.window, .ctx = o.ctx };
		rc = sql_sink_set_rows(sink, &cb); /* typed rows (rows.c) */
	}
	if (!rc)
		sql_sink_set_wall_time(sink, o.time == SBPF_TIME_WALL);
	if (!rc && r.filter)
		rc = pidset_add(&r.mine, o.pid);
	/* A process filter keeps the rows of the task each table's rule
	 * (catalog.c, docs/schema.md) names; say what that leaves out. */
	for (int s = 0; s < q->ntables && r.filter && o.log; s++)
		if (q->tables[s]->filter_gap)
			fprintf(o.log, "safebpf: note: %s: %s\n", q->tables[s]->name, q->tables[s]->filter_gap);
	if (rc)
		snprintf(err, errsz, "out of memory");
	if (!rc)
		rc = open_sources(&r, Q, &a, o.pid, err, errsz);
	/* The executor runs what the chosen plan left in user space. */
	if (!rc && !(r.x = sql_exec_new(r.uq ? r.uq : q, sink))) {
		rc = -ENOMEM;
		snprintf(err, errsz, "out of memory");
	}
	for (int k = 1; k < q->ntables && !rc; k++)
		if (!(r.held[k] = sql_merge_new(q->tables[k]->ncols, sql_table_column(q->tables[k], "ts")))) {
			rc = -ENOMEM;
			snprintf(err, errsz, "out of memory");
		}
	r.sink = sink;
	r.nsteps = q->every_ns ? (size_t)(q->window_ns / q->every_ns) : 0;
	if (!rc && r.nsteps && !(r.steps = calloc(r.nsteps, sizeof(*r.steps)))) {
		rc = -ENOMEM;
		snprintf(err, errsz, "out of memory");
	}
	if (!rc && o.attached && o.attached(o.ctx)) {
		snprintf(err, errsz, "the run was stopped before it started");
		rc = -ECANCELED;
	}
	if (!rc) {
		rc = run_loop(&r, sink, &o);
		if (rc)
			snprintf(err, errsz, "query failed: %s", strerror(-rc));
	}
	sql_opened_close(&r.opened);
	if (r.forks)
		sql_source_close(r.forks);
	sql_exec_free(r.x);
	for (int k = 1; k < SQL_MAX_TABLES; k++)
		sql_merge_free(r.held[k]);
	sql_sink_free(sink);
	uint64_t discarded = r.out ? sql_output_close(r.out, guard) : 0;
	if (discarded && o.log)
		fprintf(o.log, "safebpf: the output was not read after the stop: %" PRIu64 " bytes of rows "
			"not written\n", discarded);
	pidset_clear(&r.mine);
	pidset_clear(&r.foreign);
	free(r.steps);
	sql_arena_reset(&a);
	return rc;
}

/* ---- plan strategy (optimize.c) ---- */

int sbpf_plan_strategy_parse(const char *name, enum sbpf_plan_strategy *out)
{
	if (!strcmp(name, "auto"))
		*out = SBPF_PLAN_AUTO;
	else if (!strcmp(name, "mvsf"))
		*out = SBPF_PLAN_MVSF;
	else if (!strcmp(name, "kernel-max"))
		*out = SBPF_PLAN_KERNEL_MAX;
	else
		return -EINVAL;
	return 0;
}

void sbpf_query__plan_info(const struct sbpf_query *Q, struct sbpf_query_plan_info *info)
{
	memset(info, 0, sizeof(*info));
	const struct sql_opt *o = Q->plan.opt;
	if (!o)
		return;
	info->ncands = (int)o->ncands;
	info->tried = Q->tried;
	for (size_t i = 0; i < o->ncands; i++)
		info->rejected += o->cands[i].verdict == SQL_VERDICT_REJECTED && !o->cands[i].cached;
	if (o->chosen >= 0) {
		info->chosen = o->chosen + 1;
		for (int s = 0; s < Q->q.ntables; s++)
			info->kernel = info->kernel || sql_plan_kspec(&Q->plan, s);
		info->placement = o->cands[o->chosen].placement;
	}
}
