/* kprog.c - programs of kernel plans: the operators the optimizer moves
 * into eBPF, generated with the builder around the staging of an MVSF
 * (codegen.c). For one probe of a table:
 *
 *     [skip the tracer's own process]
 *     epoch; counters.fired += 1 (sql_codegen_prologue)
 *     [pid set: keep traced processes only; else counters.filtered += 1]
 *     r7 = per-CPU scratch; stage the record (header, captures)
 *     paired in the kernel, opening probe:
 *         key -> stack; [pre-pairing filters, else delete the key]
 *         pair[key] = staged record (a replaced entry counts as evicted)
 *     paired in the kernel, closing probe:
 *         key -> stack; r0 = pair[key] or out; copy it to scratch (r8); delete
 *     filters on the row (jump out when false)
 *     aggregate: update the group in the per-CPU group map (kagg.c)
 *     or stream: reserve a record, copy the projected captures, submit,
 *         waking user space only when N records are waiting
 *   out: counters.done += 1; return 0
 *
 * Register roles: r6 tracepoint record, r7 staged record of this probe,
 * r8 staged opening record (closing probe of a kernel pair), r9 free for
 * the operators (ring-buffer record, group map; at the opening probe of a
 * pair closed in any context: 1 when the process is not traced), r0..r5
 * expressions.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/bpf.h>

#include "safebpf/isa.h"
#include "sql/sqlInt.h"

enum { R_CTX = 6, R_REC = 7, R_OPEN = 8, R_TMP = 9 };

/* Stack slots. */
enum {
	STK_IDX = SQL_STK_KEY,   /* u32 index of array lookups */
	STK_TGID = SQL_STK_TGID, /* u32 tgid, pid-set key */
	STK_PKEY = SQL_STK_PKEY, /* pairing key, two u64 */
};

struct gen {
	struct sbpf_builder *b;         /* program being built */
	const struct sql_kprog *kp;     /* what to build */
	const struct sql_kmaps *maps;   /* map fds */
};

static void emit(struct gen *g, struct sbpf_insn insn)
{
	sbpf_builder__emit(g->b, insn);
}

static void call(struct gen *g, enum bpf_func_id helper)
{
	emit(g, SBPF_CALL_HELPER((int32_t)helper));
}

static void jump(struct gen *g, struct sbpf_insn insn, int label)
{
	sbpf_builder__jump(g->b, insn, label);
}

static void load_map(struct gen *g, int reg, int fd)
{
	sbpf_builder__emit_lddw(g->b, reg, SBPF_PSEUDO_MAP_FD, (uint64_t)(uint32_t)fd);
}

static int size_code(unsigned size)
{
	return size == 8 ? SBPF_DW : size == 4 ? SBPF_W : size == 2 ? SBPF_H : SBPF_B;
}

/* r0 = &array[idx], or jump to @miss. */
static void lookup_index(struct gen *g, int fd, int32_t idx, int miss)
{
	emit(g, SBPF_ST_MEM(SBPF_W, SBPF_REG_FP, STK_IDX, idx));             /* *(u32 *)(r10 - 8) = idx */
	load_map(g, 1, fd);                                                  /* r1 = map */
	emit(g, SBPF_MOV64_REG(2, SBPF_REG_FP));                             /* r2 = r10 */
	emit(g, SBPF_ALU64_IMM(SBPF_ADD, 2, STK_IDX));                       /* r2 += -8 */
	call(g, BPF_FUNC_map_lookup_elem);                                   /* r0 = lookup(map, r2) */
	jump(g, SBPF_JMP_IMM(SBPF_JEQ, 0, 0, 0), miss);                      /* if r0 == 0 goto miss */
}

/* counters[idx] += 1 on this CPU, in the epoch read at entry. */
static void count(struct gen *g, enum sql_kcnt idx)
{
	sql_codegen_count(g->b, idx);
}

/* Copies @size bytes from src+soff to dst+doff with the widest loads both
 * alignments allow. */
static void copy_bytes(struct gen *g, int dst, unsigned doff, int src, unsigned soff, unsigned size)
{
	for (unsigned i = 0; i < size;) {
		unsigned s = 8;
		while (s > 1 && (((soff + i) % s) || ((doff + i) % s) || size - i < s))
			s /= 2;
		emit(g, SBPF_LDX_MEM(size_code(s), 1, src, (int16_t)(soff + i)));  /* r1 = *(src + off) */
		emit(g, SBPF_STX_MEM(size_code(s), dst, 1, (int16_t)(doff + i)));  /* *(dst + off) = r1 */
		i += s;
	}
}

/* Writes the pairing key of probe @p (u64 per key input) to STK_PKEY. */
static int store_pair_key(struct gen *g, struct sql_kx *kx, int p)
{
	const struct sql_recplan *rp = g->kp->krp;
	const struct sql_inbind *keys = p == 0 ? rp->lkey : rp->rkey;
	for (size_t i = 0; i < rp->nkeys; i++) {
		int rc = sql_kx_input(kx, &keys[i], 1);
		if (rc)
			return rc;
		emit(g, SBPF_STX_MEM(SBPF_DW, SBPF_REG_FP, 1, (int16_t)(STK_PKEY + 8 * (int)i))); /* key[i] = r1 */
	}
	if (rp->nkeys == 1)
		emit(g, SBPF_ST_MEM(SBPF_DW, SBPF_REG_FP, STK_PKEY + 8, 0));                     /* key[1] = 0 */
	return 0;
}

/* r1 = map, r2 = &key on the stack. */
static void map_key_args(struct gen *g, int fd, int stk)
{
	load_map(g, 1, fd);                                                  /* r1 = map */
	emit(g, SBPF_MOV64_REG(2, SBPF_REG_FP));                             /* r2 = r10 */
	emit(g, SBPF_ALU64_IMM(SBPF_ADD, 2, stk));                           /* r2 += key */
}

/* Pid set: count the event filtered and jump to @miss unless the event's
 * tgid is in it (the current task's, or the one its origin recorded). */
static void pidset_check(struct gen *g, bool origin, int miss)
{
	int l_in = sbpf_builder__new_label(g->b);
	if (origin)
		emit(g, SBPF_LDX_MEM(SBPF_DW, 0, SBPF_REG_FP, SQL_IDENT_STK));  /* r0 = event's pid_tgid */
	else
		call(g, BPF_FUNC_get_current_pid_tgid);                      /* r0 = tgid << 32 | tid */
	emit(g, SBPF_ALU64_IMM(SBPF_RSH, 0, 32));                            /* r0 >>= 32 */
	emit(g, SBPF_STX_MEM(SBPF_W, SBPF_REG_FP, 0, STK_TGID));             /* *(u32 *)(r10 - 16) = r0 */
	map_key_args(g, g->maps->pidset_fd, STK_TGID);
	call(g, BPF_FUNC_map_lookup_elem);                                   /* r0 = lookup(pidset, tgid) */
	if (origin) {
		jump(g, SBPF_JMP_IMM(SBPF_JNE, 0, 0, 0), l_in);              /* traced: go on */
	} else {
		/* a dying id (its last thread exits) is still the process's
		 * for that task's last events, and no other task's: a process
		 * given the id before it is forgotten is another one */
		int l_not = sbpf_builder__new_label(g->b);
		jump(g, SBPF_JMP_IMM(SBPF_JEQ, 0, 0, 0), l_not);             /* not traced */
		emit(g, SBPF_LDX_MEM(SBPF_B, 1, 0, SQL_PIDS_STATE));         /* r1 = value.state */
		jump(g, SBPF_JMP_IMM(SBPF_JNE, 1, SQL_PIDS_DYING, 0), l_in); /* traced: go on */
		emit(g, SBPF_LDX_MEM(SBPF_DW, 1, 0, SQL_PIDS_TASK));         /* r1 = value.task */
		emit(g, SBPF_STX_MEM(SBPF_DW, SBPF_REG_FP, 1, STK_TGID));    /* *(u64 *)(r10 - 16) = r1 */
		call(g, BPF_FUNC_get_current_task);                          /* r0 = this task */
		emit(g, SBPF_LDX_MEM(SBPF_DW, 1, SBPF_REG_FP, STK_TGID));    /* r1 = value.task */
		jump(g, SBPF_JMP_REG(SBPF_JEQ, 0, 1, 0), l_in);              /* the dying task: go on */
		sbpf_builder__bind(g->b, l_not);
	}
	count(g, (enum sql_kcnt)(SQL_KCNT_FILTERED + g->kp->probe));
	jump(g, SBPF_JA(0), miss);
	sbpf_builder__bind(g->b, l_in);
}

/* Opening probe of a kernel pair: store the staged record under its key.
 * With @untraced (r9 = 1 when the event's process is not traced), an
 * untraced opening event replaces the entry of its key with a marker
 * instead: the closing probe does not check processes (it runs in any
 * context), so an older traced entry whose closing event was lost must not
 * pair with the closing event of this one, which counts as filtered. */
static int pair_open(struct gen *g, struct sql_kx *kx, bool untraced, int l_out)
{
	const struct sql_kspec *sp = g->kp->spec;
	int l_drop = sbpf_builder__new_label(g->b), l_full = sbpf_builder__new_label(g->b);
	int rc = store_pair_key(g, kx, 0);
	if (rc)
		return rc;
	if (untraced) {
		int l_traced = sbpf_builder__new_label(g->b);
		jump(g, SBPF_JMP_IMM(SBPF_JEQ, R_TMP, 0, 0), l_traced);      /* if r9 == 0 goto traced */
		/* A marker (tracepoint id 0) replaces the entry: the closing
		 * event counts as filtered (pair_close). */
		emit(g, SBPF_ST_MEM(SBPF_W, R_REC, 0, 0));                   /* header id = 0: filtered */
		map_key_args(g, g->maps->pair_fd, STK_PKEY);
		emit(g, SBPF_MOV64_REG(3, R_REC));                           /* r3 = staged record */
		emit(g, SBPF_MOV64_IMM(4, BPF_ANY));                         /* r4 = BPF_ANY */
		call(g, BPF_FUNC_map_update_elem);                           /* pair[key] = marker */
		jump(g, SBPF_JA(0), l_out);
		sbpf_builder__bind(g->b, l_traced);
	}
	for (size_t i = 0; i < sp->npre && !rc; i++)
		rc = sql_kx_branch(kx, sp->pre[i], false, l_drop);
	if (rc)
		return rc;
	map_key_args(g, g->maps->pair_fd, STK_PKEY);
	emit(g, SBPF_MOV64_REG(3, R_REC));                                   /* r3 = staged record */
	emit(g, SBPF_MOV64_IMM(4, BPF_NOEXIST));                             /* r4 = BPF_NOEXIST */
	call(g, BPF_FUNC_map_update_elem);                                   /* r0 = update(pair, key, rec) */
	jump(g, SBPF_JMP_IMM(SBPF_JEQ, 0, 0, 0), l_out);                     /* stored: done */
	jump(g, SBPF_JMP_IMM(SBPF_JNE, 0, -EEXIST, 0), l_full);              /* not a replacement: full */
	count(g, SQL_KCNT_REPLACED);                                         /* the older one is evicted */
	map_key_args(g, g->maps->pair_fd, STK_PKEY);
	emit(g, SBPF_MOV64_REG(3, R_REC));                                   /* r3 = staged record */
	emit(g, SBPF_MOV64_IMM(4, BPF_ANY));                                 /* r4 = BPF_ANY */
	call(g, BPF_FUNC_map_update_elem);                                   /* r0 = update(pair, key, rec) */
	jump(g, SBPF_JMP_IMM(SBPF_JEQ, 0, 0, 0), l_out);
	sbpf_builder__bind(g->b, l_full);
	count(g, SQL_KCNT_PAIR_FULL);
	if (!sp->npre) {
		jump(g, SBPF_JA(0), l_out);
		return 0;
	}
	/* Conditional, always taken: the drop block stays in the CFG even when
	 * no conjunct can fail (see kexpr.c always()). */
	jump(g, SBPF_JMP_IMM(SBPF_JNE, SBPF_REG_FP, 0, 0), l_out);
	if (!sp->npre)
		return 0;
	/* Filtered out: the executor would have replaced the older entry with
	 * this one and then dropped the row, so the older one goes too. The
	 * entry stays, marked (tracepoint id 0), so that its closing event is
	 * counted as filtered rather than unpaired. */
	sbpf_builder__bind(g->b, l_drop);
	count(g, SQL_KCNT_FILTERED);
	emit(g, SBPF_ST_MEM(SBPF_W, R_REC, 0, 0));                           /* header id = 0: filtered */
	map_key_args(g, g->maps->pair_fd, STK_PKEY);
	emit(g, SBPF_MOV64_REG(3, R_REC));                                   /* r3 = staged record */
	emit(g, SBPF_MOV64_IMM(4, BPF_ANY));                                 /* r4 = BPF_ANY */
	call(g, BPF_FUNC_map_update_elem);                                   /* pair[key] = marker */
	jump(g, SBPF_JA(0), l_out);
	return 0;
}

/* Closing probe of a kernel pair: r8 = copy of the opening record. */
static int pair_close(struct gen *g, struct sql_kx *kx, int l_out)
{
	const struct sql_recplan *rp = g->kp->krp;
	int rc = store_pair_key(g, kx, 1);
	if (rc)
		return rc;
	map_key_args(g, g->maps->pair_fd, STK_PKEY);
	int l_have = sbpf_builder__new_label(g->b);
	call(g, BPF_FUNC_map_lookup_elem);                                   /* r0 = pair[key] */
	jump(g, SBPF_JMP_IMM(SBPF_JNE, 0, 0, 0), l_have);
	count(g, SQL_KCNT_UNPAIRED);                                         /* no opening event: no row */
	jump(g, SBPF_JA(0), l_out);
	sbpf_builder__bind(g->b, l_have);
	if (g->kp->spec->npre || (g->kp->spec->pidset && g->kp->t->probes[1].any_context)) {
		/* Its opening event was filtered out (marker): so is this one. */
		int l_real = sbpf_builder__new_label(g->b);
		emit(g, SBPF_LDX_MEM(SBPF_W, 1, 0, 0));                      /* r1 = header id */
		jump(g, SBPF_JMP_IMM(SBPF_JNE, 1, 0, 0), l_real);
		map_key_args(g, g->maps->pair_fd, STK_PKEY);
		call(g, BPF_FUNC_map_delete_elem);                           /* delete(pair, key) */
		count(g, SQL_KCNT_FILTERED1);
		jump(g, SBPF_JA(0), l_out);
		sbpf_builder__bind(g->b, l_real);
	}
	copy_bytes(g, R_REC, g->kp->scratch_pair_off, 0, 0, rp->lay[0].size);
	map_key_args(g, g->maps->pair_fd, STK_PKEY);
	call(g, BPF_FUNC_map_delete_elem);                                   /* delete(pair, key) */
	emit(g, SBPF_MOV64_REG(R_OPEN, R_REC));                              /* r8 = r7 */
	emit(g, SBPF_ALU64_IMM(SBPF_ADD, R_OPEN, (int32_t)g->kp->scratch_pair_off)); /* r8 += off */
	return 0;
}

/* Streaming: one record per row to the ring buffer, with wake-ups batched. */
static int stream(struct gen *g, int l_out)
{
	const struct sql_kprog *kp = g->kp;
	const struct sql_recplan *u = kp->urp;
	bool both = kp->spec->kpair;
	int parts[2], np = 0;
	if (both) {
		parts[np++] = 0;
		parts[np++] = 1;
	} else {
		parts[np++] = kp->probe;
	}
	uint32_t size = 0;
	for (int i = 0; i < np; i++)
		size += u->lay[parts[i]].size;
	struct sql_kcopy cp[2 * SQL_MAX_CAPS];
	int ncp[2];
	uint32_t base = 0;
	for (int i = 0; i < np; i++) {
		ncp[i] = sql_kcopy_plan(kp->krp, u, parts[i], base, cp + (i ? ncp[0] : 0), SQL_MAX_CAPS);
		if (ncp[i] < 0)
			return ncp[i];
		base += u->lay[parts[i]].size;
	}
	int l_have = sbpf_builder__new_label(g->b);
	load_map(g, 1, g->maps->ringbuf_fd);                                 /* r1 = ring buffer */
	emit(g, SBPF_MOV64_IMM(2, (int32_t)size));                           /* r2 = size */
	emit(g, SBPF_MOV64_IMM(3, 0));                                       /* r3 = 0 */
	call(g, BPF_FUNC_ringbuf_reserve);                                   /* r0 = reserve(rb, size) */
	jump(g, SBPF_JMP_IMM(SBPF_JNE, 0, 0, 0), l_have);
	count(g, (enum sql_kcnt)(SQL_KCNT_LOST + kp->probe));                /* ring buffer full */
	jump(g, SBPF_JA(0), l_out);
	sbpf_builder__bind(g->b, l_have);
	emit(g, SBPF_MOV64_REG(R_TMP, 0));                                   /* r9 = record */
	base = 0;
	int at = 0;
	for (int i = 0; i < np; i++) {
		const struct sql_layout *lay = &u->lay[parts[i]];
		emit(g, SBPF_ST_MEM(SBPF_W, R_TMP, (int16_t)base, (int32_t)lay->tp_id));     /* header: id */
		if (i == 0)
			sql_codegen_tag(g->b, R_TMP, (int16_t)base, lay->size);      /* header: size | epoch */
		else
			emit(g, SBPF_ST_MEM(SBPF_W, R_TMP, (int16_t)(base + 4), (int32_t)lay->size)); /* header: size */
		int src = both && parts[i] == 0 ? R_OPEN : R_REC;
		for (int c = 0; c < ncp[i]; c++, at++)
			copy_bytes(g, R_TMP, cp[at].to, src, cp[at].from, cp[at].size);
		base += lay->size;
	}
	if (kp->spec->batch <= 1)
		emit(g, SBPF_MOV64_IMM(2, 0));                               /* r2 = 0: wake up as usual */
	if (kp->spec->batch > 1) {
		int l_submit = sbpf_builder__new_label(g->b);
		load_map(g, 1, g->maps->ringbuf_fd);                         /* r1 = ring buffer */
		emit(g, SBPF_MOV64_IMM(2, BPF_RB_AVAIL_DATA));               /* r2 = BPF_RB_AVAIL_DATA */
		call(g, BPF_FUNC_ringbuf_query);                             /* r0 = bytes waiting */
		emit(g, SBPF_MOV64_IMM(2, BPF_RB_NO_WAKEUP));                /* r2 = no wake-up */
		uint64_t thr = (uint64_t)kp->spec->batch * (size + 8);
		if (thr > INT32_MAX)
			thr = INT32_MAX;
		jump(g, SBPF_JMP_IMM(SBPF_JLT, 0, (int32_t)thr, 0), l_submit); /* if r0 < N records goto submit */
		emit(g, SBPF_MOV64_IMM(2, BPF_RB_FORCE_WAKEUP));             /* r2 = wake up now */
		sbpf_builder__bind(g->b, l_submit);
	}
	emit(g, SBPF_MOV64_REG(1, R_TMP));                                   /* r1 = record */
	call(g, BPF_FUNC_ringbuf_submit);                                    /* submit(record, r2) */
	jump(g, SBPF_JA(0), l_out);
	return 0;
}

int sql_codegen_kprog(const struct sql_kprog *kp, const struct sql_kmaps *maps, struct sbpf_insn **out,
		      size_t *n)
{
	const struct sql_kspec *sp = kp->spec;
	const struct sql_table *t = kp->t;
	int p = kp->probe;
	if (p < 0 || (size_t)p >= t->nprobes || (sp->kpair && !t->pair) || kp->krp->lay[p].size > SQL_MAX_RECORD)
		return -EINVAL;
	struct gen g = { .b = sbpf_builder__new(), .kp = kp, .maps = maps };
	if (!g.b)
		return -ENOMEM;
	int l_out = sbpf_builder__new_label(g.b), l_exit = sbpf_builder__new_label(g.b);
	int rc = 0;

	emit(&g, SBPF_MOV64_REG(R_CTX, 1));                                  /* r6 = ctx */
	if (sp->fault & (1u << p))
		emit(&g, SBPF_LDX_MEM(SBPF_DW, 0, SBPF_REG_FP, 8));          /* (test fault) read above the stack */
	/* The tracer's own events are not events of the query: skipped before
	 * anything is counted. */
	const struct sql_layout *lay = &kp->krp->lay[p];
	if (lay->origin && (rc = sql_codegen_identity(g.b, lay->origin, lay->fmt, maps->origin_fd))) {
		sbpf_builder__free(g.b);
		return rc;
	}
	if (kp->skip_tgid) {
		if (lay->origin)
			emit(&g, SBPF_LDX_MEM(SBPF_DW, 0, SBPF_REG_FP, SQL_IDENT_STK)); /* r0 = event's pid_tgid */
		else
			call(&g, BPF_FUNC_get_current_pid_tgid);
		emit(&g, SBPF_ALU64_IMM(SBPF_RSH, 0, 32));                   /* r0 >>= 32 (tgid) */
		jump(&g, SBPF_JMP_IMM(SBPF_JEQ, 0, (int32_t)kp->skip_tgid, 0), l_exit);
	}
	sql_codegen_prologue(g.b, maps->epoch_fd, maps->counters_fd, p, l_exit);
	/* Processes not traced: nothing to do. With pairing in the kernel the
	 * closing probe checks too, so an opening event left over from a traced
	 * thread whose id an untraced one reuses is never taken (the executor
	 * would have dropped that row by its pid). A closing probe that runs in
	 * any context (block completion in an interrupt) does not check: its
	 * current task is unrelated, and only openings that passed the check
	 * can pair with it. */
	/* The opening probe of a kernel pair whose closing probe runs in any
	 * context goes on for untraced events, with r9 = 1, to clear their key
	 * (pair_open). */
	bool untraced = sp->pidset && sp->kpair && p == 0 && t->probes[1].any_context;
	if (untraced) {
		int l_miss = sbpf_builder__new_label(g.b), l_cont = sbpf_builder__new_label(g.b);
		emit(&g, SBPF_MOV64_IMM(R_TMP, 0));                          /* r9 = 0: traced */
		pidset_check(&g, lay->origin != NULL, l_miss);
		jump(&g, SBPF_JA(0), l_cont);
		sbpf_builder__bind(g.b, l_miss);
		emit(&g, SBPF_MOV64_IMM(R_TMP, 1));                          /* r9 = 1: not traced */
		sbpf_builder__bind(g.b, l_cont);
	} else if (sp->pidset && !t->probes[p].any_context) {
		pidset_check(&g, lay->origin != NULL, l_out);
	}
	lookup_index(&g, maps->scratch_fd, 0, l_out);
	emit(&g, SBPF_MOV64_REG(R_REC, 0));                                  /* r7 = scratch */
	sql_codegen_stage(g.b, lay);

	struct sql_kx kx = { .b = g.b, .rp = kp->krp, .side = sp->side, .base = { -1, -1 } };
	bool row_here = true; /* the whole row is known at this probe */
	if (sp->kpair) {
		if (p == 0) {
			kx.base[0] = R_REC;
			rc = pair_open(&g, &kx, untraced, l_out);
			row_here = false;
		} else {
			kx.base[1] = R_REC;
			rc = pair_close(&g, &kx, l_out);
			kx.base[0] = R_OPEN;
		}
	} else {
		kx.base[p] = R_REC;
		row_here = !t->pair;
	}
	if (!rc && !row_here && !sp->kpair && (sp->npost || sp->npre || sp->kagg))
		rc = -EINVAL; /* paired in user space: rows do not exist here */
	if (!rc && row_here) {
		int l_filtered = sbpf_builder__new_label(g.b);
		/* Never taken ("if r10 == 0"): keeps the filtered block in the
		 * verifier's CFG even when no conjunct can fail. */
		if (sp->npost)
			jump(&g, SBPF_JMP_IMM(SBPF_JEQ, SBPF_REG_FP, 0, 0), l_filtered);
		for (size_t i = 0; i < sp->npost && !rc; i++)
			rc = sql_kx_branch(&kx, sp->post[i], false, l_filtered);
		if (!rc)
			rc = sp->kagg ? sql_kagg_emit(g.b, kp, maps, &kx, l_out) : stream(&g, l_out);
		sbpf_builder__bind(g.b, l_filtered);
		if (sp->npost) {
			count(&g, (enum sql_kcnt)(SQL_KCNT_FILTERED + p));
			jump(&g, SBPF_JA(0), l_out);
		}
	} else if (!rc && !sp->kpair) {
		rc = stream(&g, l_out); /* one side of a pair made in user space */
	}
	sql_codegen_epilogue(g.b, l_out, l_exit);                            /* out: done += 1; exit */
	if (!rc)
		rc = sbpf_builder__finish(g.b, out, n, NULL);
	sbpf_builder__free(g.b);
	return rc;
}

/* ---- record layouts ------------------------------------------------------ */

void sql_layout_compact(struct sql_recplan *rp, bool keys)
{
	bool used[SQL_MAX_PROBES][SQL_MAX_CAPS] = { { false } };
	for (size_t c = 0; c < rp->t->ncols; c++) {
		if (!rp->cols[c].used)
			continue;
		for (int i = 0; i < 3; i++)
			if (rp->cols[c].in[i].probe >= 0)
				used[rp->cols[c].in[i].probe][rp->cols[c].in[i].cap] = true;
	}
	for (size_t k = 0; keys && k < rp->nkeys; k++) {
		used[rp->lkey[k].probe][rp->lkey[k].cap] = true;
		used[rp->rkey[k].probe][rp->rkey[k].cap] = true;
	}
	for (size_t p = 0; p < rp->t->nprobes; p++) {
		sql_layout_place(&rp->lay[p], used[p]); /* fewer captures: it fit before, it fits now */
	}
}

int sql_kcopy_plan(const struct sql_recplan *src, const struct sql_recplan *dst, int p, uint32_t base,
		   struct sql_kcopy *out, size_t max)
{
	size_t n = 0;
	const struct sql_layout *dl = &dst->lay[p], *sl = &src->lay[p];
	for (size_t i = 0; i < dl->ncaps; i++) {
		const struct sql_cap *d = &dl->caps[i];
		if (!d->size)
			continue;
		size_t j;
		for (j = 0; j < sl->ncaps; j++)
			if (sl->caps[j].kind == d->kind && sl->caps[j].field == d->field && sl->caps[j].size >= d->size)
				break;
		if (j == sl->ncaps || n == max)
			return -ENOENT;
		out[n++] = (struct sql_kcopy){ .probe = (int8_t)p, .from = sl->caps[j].off,
					       .to = (uint16_t)(base + d->off), .size = d->size,
					       .back = d->off };
	}
	return (int)n;
}

int sql_kprog_exit_hook(int pair_fd, struct sbpf_insn **out, size_t *n)
{
	struct sbpf_builder *b = sbpf_builder__new();
	if (!b)
		return -ENOMEM;
	sbpf_builder__emit(b, SBPF_CALL_HELPER(BPF_FUNC_get_current_pid_tgid)); /* r0 = tgid << 32 | tid */
	sbpf_builder__emit(b, SBPF_MOV32_REG(0, 0));                            /* r0 = tid */
	sbpf_builder__emit(b, SBPF_STX_MEM(SBPF_DW, SBPF_REG_FP, 0, -16));      /* key[0] = tid */
	sbpf_builder__emit(b, SBPF_ST_MEM(SBPF_DW, SBPF_REG_FP, -8, 0));        /* key[1] = 0 */
	sbpf_builder__emit_lddw(b, 1, SBPF_PSEUDO_MAP_FD, (uint64_t)(uint32_t)pair_fd); /* r1 = pair map */
	sbpf_builder__emit(b, SBPF_MOV64_REG(2, SBPF_REG_FP));                  /* r2 = r10 */
	sbpf_builder__emit(b, SBPF_ALU64_IMM(SBPF_ADD, 2, -16));                /* r2 = &key */
	sbpf_builder__emit(b, SBPF_CALL_HELPER(BPF_FUNC_map_delete_elem));      /* delete(pair, key) */
	sbpf_builder__emit(b, SBPF_MOV64_IMM(0, 0));                            /* r0 = 0 */
	sbpf_builder__emit(b, SBPF_EXIT_INSN());                                /* exit */
	int rc = sbpf_builder__finish(b, out, n, NULL);
	sbpf_builder__free(b);
	return rc;
}

int sql_kprog_exit_forward(int ringbuf_fd, int epoch_fd, struct sbpf_insn **out, size_t *n)
{
	struct sbpf_builder *b = sbpf_builder__new();
	if (!b)
		return -ENOMEM;
	int l_noep = sbpf_builder__new_label(b), l_out = sbpf_builder__new_label(b);
	sbpf_builder__emit(b, SBPF_CALL_HELPER(BPF_FUNC_get_current_pid_tgid)); /* r0 = tgid << 32 | tid */
	sbpf_builder__emit(b, SBPF_MOV32_REG(6, 0));                            /* r6 = tid */
	sbpf_builder__emit(b, SBPF_MOV64_IMM(7, 16));                           /* r7 = size 16 */
	sbpf_builder__emit(b, SBPF_ST_MEM(SBPF_W, SBPF_REG_FP, -4, 0));         /* key = 0 */
	sbpf_builder__emit_lddw(b, 1, SBPF_PSEUDO_MAP_FD, (uint64_t)(uint32_t)epoch_fd); /* r1 = epoch map */
	sbpf_builder__emit(b, SBPF_MOV64_REG(2, SBPF_REG_FP));                  /* r2 = r10 */
	sbpf_builder__emit(b, SBPF_ALU64_IMM(SBPF_ADD, 2, -4));                 /* r2 = &key */
	sbpf_builder__emit(b, SBPF_CALL_HELPER(BPF_FUNC_map_lookup_elem));      /* r0 = &epoch */
	sbpf_builder__jump(b, SBPF_JMP_IMM(SBPF_JEQ, 0, 0, 0), l_noep);         /* if !r0 goto noep */
	sbpf_builder__emit(b, SBPF_LDX_MEM(SBPF_W, 1, 0, 0));                   /* r1 = epoch */
	sbpf_builder__emit(b, SBPF_ALU64_IMM(SBPF_AND, 1, 1));                  /* r1 &= 1 */
	sbpf_builder__emit(b, SBPF_ALU64_IMM(SBPF_LSH, 1, 31));                 /* r1 <<= 31 (SQL_REC_EPOCH) */
	sbpf_builder__emit(b, SBPF_ALU64_REG(SBPF_OR, 7, 1));                   /* r7 |= r1 */
	sbpf_builder__bind(b, l_noep);
	sbpf_builder__emit_lddw(b, 1, SBPF_PSEUDO_MAP_FD, (uint64_t)(uint32_t)ringbuf_fd); /* r1 = ring buffer */
	sbpf_builder__emit(b, SBPF_MOV64_IMM(2, 16));                           /* r2 = 16 */
	sbpf_builder__emit(b, SBPF_MOV64_IMM(3, 0));                            /* r3 = 0 */
	sbpf_builder__emit(b, SBPF_CALL_HELPER(BPF_FUNC_ringbuf_reserve));      /* r0 = record */
	sbpf_builder__jump(b, SBPF_JMP_IMM(SBPF_JEQ, 0, 0, 0), l_out);          /* full: the entry stays */
	sbpf_builder__emit(b, SBPF_ST_MEM(SBPF_W, 0, 0, -1));                   /* id = SQL_REC_THREAD_EXIT */
	sbpf_builder__emit(b, SBPF_STX_MEM(SBPF_W, 0, 7, 4));                   /* size = r7 */
	sbpf_builder__emit(b, SBPF_STX_MEM(SBPF_DW, 0, 6, 8));                  /* tid = r6 */
	sbpf_builder__emit(b, SBPF_MOV64_REG(1, 0));                            /* r1 = record */
	sbpf_builder__emit(b, SBPF_MOV64_IMM(2, 0));                            /* r2 = 0 */
	sbpf_builder__emit(b, SBPF_CALL_HELPER(BPF_FUNC_ringbuf_submit));       /* submit */
	sbpf_builder__bind(b, l_out);
	sbpf_builder__emit(b, SBPF_MOV64_IMM(0, 0));                            /* r0 = 0 */
	sbpf_builder__emit(b, SBPF_EXIT_INSN());                                /* exit */
	int rc = sbpf_builder__finish(b, out, n, NULL);
	sbpf_builder__free(b);
	return rc;
}
