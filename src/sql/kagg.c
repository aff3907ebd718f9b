/* kagg.c - group-by aggregation in the kernel: the layout of groups in a
 * per-CPU hash map, the eBPF that folds one row into its group, and the
 * user-space side that reads a window's groups and hands them to the
 * executor.
 *
 * Key: the raw captures of the columns the GROUP BY expressions read,
 * packed (record.c's alignment rules) and zero-padded. The executor decodes
 * a key back into those columns and computes the real group keys, so a key
 * the kernel cannot compute (syscall_name(syscall_number)) still groups in
 * the kernel by its column; finer kernel groups merge in user space.
 * Expressions the kernel computes (pid / 1000, ret < 0) and columns derived
 * from two captures (duration = exit_ts - enter_ts) are keyed by their
 * value instead, a u64 after the captures (sql_kagg_key_mode): keyed by
 * their captures, every event could be a group of its own and the map
 * would fill after as many events.
 * Value, per aggregate: u64 count of values, then a u64 accumulator (SUM,
 * AVG: sum; MIN, MAX: best so far) or histogram buckets (HIST, LHIST, with
 * agg.c's bucket numbering). COUNT has no accumulator.
 *
 * Windows: programs reach the group map through a one-slot array of maps.
 * At a window boundary user space puts an empty map in the slot; the
 * update returns only after every program that could still hold the old
 * map has finished (the kernel waits for an RCU grace period on map-in-map
 * updates), so the old map is complete when it is read and emptied: no
 * event is lost or counted twice at a boundary.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/bpf.h>

#include "safebpf/kernel.h"
#include "sql/sqlInt.h"

enum { R_TMP = 9 };
#define STK_GKEY SQL_STK_GKEY              /* group key on the stack */

/* ---- layout -------------------------------------------------------------- */

static bool has_bucket_kind(enum sql_agg_kind k)
{
	return k == SQL_AGG_HIST || k == SQL_AGG_LHIST;
}

static uint32_t lhist_buckets(const struct sql_agg *a)
{
	if (a->lstep <= 0 || a->lmax <= a->lmin)
		return 0;
	uint64_t span = (uint64_t)a->lmax - (uint64_t)a->lmin;
	uint64_t n = (span + (uint64_t)a->lstep - 1) / (uint64_t)a->lstep + 2;
	return n > SQL_KAGG_MAX_VALUE / 8 ? 0 : (uint32_t)n;
}

static uint32_t buckets_of(const struct sql_agg *a)
{
	if (a->kind == SQL_AGG_HIST)
		return SQL_HIST_LOG2_BUCKETS;
	if (a->kind == SQL_AGG_LHIST)
		return lhist_buckets(a);
	return 0;
}

bool sql_kagg_supported(const struct sql_query *q, const struct sql_agg *a, int side)
{
	const struct sql_table *t = q->tables[side];
	switch (a->kind) {
	case SQL_AGG_COUNT:
		return !a->arg || sql_kx_ok(t, side, a->arg, false, NULL);
	case SQL_AGG_SUM:
	case SQL_AGG_MIN:
	case SQL_AGG_MAX:
	case SQL_AGG_AVG:
	case SQL_AGG_HIST:
		return a->arg && sql_kx_ok(t, side, a->arg, false, NULL);
	case SQL_AGG_LHIST:
		return a->arg && lhist_buckets(a) && sql_kx_ok(t, side, a->arg, false, NULL);
	default:
		return false; /* quantiles keep their log-linear histograms in user space */
	}
}

/* A column whose value mixes two captures (duration = exit_ts - enter_ts):
 * its captures are nearly unique per event. */
static bool derived_column(const struct sql_table *t, const struct sql_expr *e, int side)
{
	return e->kind == SQL_E_COLUMN && e->side == side && e->col >= 0 && (size_t)e->col < t->ncols &&
	       t->cols[e->col].src.conv == SQL_CONV_DIFF;
}

static bool reads_derived(const struct sql_table *t, const struct sql_expr *e, int side)
{
	if (!e)
		return false;
	if (derived_column(t, e, side))
		return true;
	if (reads_derived(t, e->a, side) || reads_derived(t, e->b, side) || reads_derived(t, e->c, side))
		return true;
	for (size_t i = 0; i < e->nlist; i++)
		if (reads_derived(t, e->list[i], side))
			return true;
	return false;
}

enum sql_kkey sql_kagg_key_mode(const struct sql_table *t, int side, const struct sql_expr *e)
{
	if (e->kind == SQL_E_COLUMN && !derived_column(t, e, side))
		return SQL_KKEY_CAPS;
	if (sql_kx_ok(t, side, e, false, NULL))
		return SQL_KKEY_VALUE;
	return reads_derived(t, e, side) ? SQL_KKEY_NONE : SQL_KKEY_CAPS;
}

/* Lays out the value (one state per aggregate of @q): offsets and bucket
 * counts into @off and @nbuckets (either may be NULL); returns its size. */
static uint32_t value_layout(const struct sql_query *q, uint32_t *off, uint32_t *nbuckets)
{
	uint32_t v = 0;
	for (size_t i = 0; i < q->naggs && i < SQL_KAGG_MAX; i++) {
		const struct sql_agg *a = &q->aggs[i];
		uint32_t nb = buckets_of(a);
		if (off)
			off[i] = v;
		if (nbuckets)
			nbuckets[i] = nb;
		/* count, then: nothing (COUNT), buckets and their values' sum (HIST, LHIST),
		 * a 128-bit sum (AVG: lo, hi), or one u64 */
		v += 8 + (a->kind == SQL_AGG_COUNT ? 0 : has_bucket_kind(a->kind) ? 8 * nb + 8
						   : a->kind == SQL_AGG_AVG ? 16 : 8);
	}
	return v ? v : 8;
}

uint32_t sql_kagg_max_groups(const struct sql_query *q)
{
	/* Bounded memory: about 8 MiB per group map over all CPUs (the map
	 * allocates entries as groups appear). */
	int ncpus = sbpf_kernel_ncpus();
	uint64_t per = (uint64_t)value_layout(q, NULL, NULL) * (uint64_t)(ncpus > 0 ? ncpus : 1) +
		       SQL_KAGG_MAX_KEY + 64;
	uint64_t m = (8u << 20) / per;
	return m < 1024 ? 1024 : m > 65536 ? 65536 : (uint32_t)m;
}

void sql_kagg_free(struct sql_kagg *ka)
{
	if (ka)
		sql_recplan_free(&ka->g);
}

int sql_kagg_build(struct sql_kagg *ka, const struct sql_kspec *spec, const struct sql_recplan *krp,
		   const struct sql_tp_format *const *fmts, char *err, size_t errsz)
{
	const struct sql_query *q = spec->q;
	memset(ka, 0, sizeof(*ka));
	if (q->naggs > SQL_KAGG_MAX) {
		snprintf(err, errsz, "more than %d aggregates", SQL_KAGG_MAX);
		return -E2BIG;
	}
	int rc = sql_recplan_build(&ka->g, q->tables[spec->side], spec->gneeded, fmts, err, errsz);
	if (rc)
		return rc;
	/* Key: the captures the key columns read, packed. */
	sql_layout_compact(&ka->g, false);
	uint32_t off = 0;
	for (size_t p = 0; p < ka->g.t->nprobes; p++) {
		const struct sql_layout *gl = &ka->g.lay[p];
		struct sql_kcopy cp[SQL_MAX_CAPS];
		int n = sql_kcopy_plan(krp, &ka->g, (int)p, 0, cp, SQL_MAX_CAPS);
		if (n < 0) {
			snprintf(err, errsz, "group key column not staged");
			sql_kagg_free(ka);
			return n;
		}
		for (int i = 0; i < n; i++) {
			const struct sql_cap *c = NULL;
			for (size_t j = 0; j < gl->ncaps; j++)
				if (gl->caps[j].size && gl->caps[j].off == cp[i].back)
					c = &gl->caps[j];
			if (c && c->kind == SQL_CAP_FIELD)
				off += (c->field->offset - off) & 7;
			else if (c && c->kind == SQL_CAP_CPU)
				off = (off + 3) & ~3u;
			else
				off = (off + 7) & ~7u;
			cp[i].to = (uint16_t)off;
			off += cp[i].size;
			ka->key[ka->nkey++] = cp[i];
		}
	}
	/* Then the keys computed in the kernel: one u64 each. */
	off = (off + 7) & ~7u;
	for (size_t i = 0; i < q->nkeys; i++) {
		if (sql_kagg_key_mode(q->tables[spec->side], spec->side, q->keys[i]) != SQL_KKEY_VALUE)
			continue;
		if (ka->nkv == sizeof(ka->kv) / sizeof(ka->kv[0]) || off + 8 > SQL_KAGG_MAX_KEY) {
			off = SQL_KAGG_MAX_KEY + 8;
			break;
		}
		ka->kv[ka->nkv++] = (struct sql_kagg_kv){ .key = (uint16_t)i, .off = (uint16_t)off };
		off += 8;
	}
	ka->key_size = off < 8 ? 8 : (off + 7) & ~7u;
	if (ka->key_size > SQL_KAGG_MAX_KEY) {
		snprintf(err, errsz, "group key of %u bytes (at most %d in the kernel)", ka->key_size, SQL_KAGG_MAX_KEY);
		sql_kagg_free(ka);
		return -E2BIG;
	}
	/* Value: one state per aggregate. */
	ka->naggs = q->naggs;
	ka->value_size = value_layout(q, ka->off, ka->nbuckets);
	if (ka->value_size > SQL_KAGG_MAX_VALUE) {
		snprintf(err, errsz, "aggregate state of %u bytes (at most %d in the kernel)", ka->value_size,
			 SQL_KAGG_MAX_VALUE);
		sql_kagg_free(ka);
		return -E2BIG;
	}
	ka->max_groups = sql_kagg_max_groups(q);
	return 0;
}

/* ---- eBPF ------------------------------------------------------------------ */

struct gen {
	struct sbpf_builder *b;
};

static void emit(struct gen *g, struct sbpf_insn insn)
{
	sbpf_builder__emit(g->b, insn);
}

static void jump(struct gen *g, struct sbpf_insn insn, int label)
{
	sbpf_builder__jump(g->b, insn, label);
}

static int size_code(unsigned size)
{
	return size == 8 ? SBPF_DW : size == 4 ? SBPF_W : size == 2 ? SBPF_H : SBPF_B;
}

static void load_const(struct gen *g, int reg, uint64_t v)
{
	if ((int64_t)v >= INT32_MIN && (int64_t)v <= INT32_MAX)
		emit(g, SBPF_MOV64_IMM(reg, (int32_t)(int64_t)v));           /* reg = imm */
	else
		sbpf_builder__emit_lddw(g->b, reg, 0, v);                    /* reg = imm64 */
}

static void lookup_first(struct gen *g, int fd, int miss)
{
	emit(g, SBPF_ST_MEM(SBPF_W, SBPF_REG_FP, SQL_STK_KEY, 0));           /* *(u32 *)(r10 - 8) = 0 */
	sbpf_builder__emit_lddw(g->b, 1, SBPF_PSEUDO_MAP_FD, (uint64_t)(uint32_t)fd); /* r1 = map */
	emit(g, SBPF_MOV64_REG(2, SBPF_REG_FP));                             /* r2 = r10 */
	emit(g, SBPF_ALU64_IMM(SBPF_ADD, 2, SQL_STK_KEY));                         /* r2 += -8 */
	emit(g, SBPF_CALL_HELPER(BPF_FUNC_map_lookup_elem));                 /* r0 = lookup(map, r2) */
	jump(g, SBPF_JMP_IMM(SBPF_JEQ, 0, 0, 0), miss);                      /* if r0 == 0 goto miss */
}

/* r0 = the group map of the epoch read at entry (slot epoch of the outer
 * array of maps), or jump to @miss. */
static void lookup_window(struct gen *g, int fd, int miss)
{
	emit(g, SBPF_LDX_MEM(SBPF_W, 1, SBPF_REG_FP, SQL_STK_EPOCH));        /* r1 = epoch */
	emit(g, SBPF_STX_MEM(SBPF_W, SBPF_REG_FP, 1, SQL_STK_KEY));                /* *(u32 *)(r10 - 8) = r1 */
	sbpf_builder__emit_lddw(g->b, 1, SBPF_PSEUDO_MAP_FD, (uint64_t)(uint32_t)fd); /* r1 = map */
	emit(g, SBPF_MOV64_REG(2, SBPF_REG_FP));                             /* r2 = r10 */
	emit(g, SBPF_ALU64_IMM(SBPF_ADD, 2, SQL_STK_KEY));                         /* r2 += -8 */
	emit(g, SBPF_CALL_HELPER(BPF_FUNC_map_lookup_elem));                 /* r0 = lookup(map, r2) */
	jump(g, SBPF_JMP_IMM(SBPF_JEQ, 0, 0, 0), miss);                      /* if r0 == 0 goto miss */
}

/* r1 = log2 bucket of r0 (agg.c: 0 negative, 1 zero, k+2 for [2^k, 2^(k+1))). */
static void log2_bucket(struct gen *g, bool is_signed)
{
	int l_done = sbpf_builder__new_label(g->b);
	emit(g, SBPF_MOV64_IMM(1, 0));                                       /* r1 = 0 */
	if (is_signed)
		jump(g, SBPF_JMP_IMM(SBPF_JSLT, 0, 0, 0), l_done);               /* negative: bucket 0 */
	emit(g, SBPF_MOV64_IMM(1, 1));                                       /* r1 = 1 */
	jump(g, SBPF_JMP_IMM(SBPF_JEQ, 0, 0, 0), l_done);                    /* zero: bucket 1 */
	emit(g, SBPF_MOV64_IMM(1, 2));                                       /* r1 = 2 + floor(log2 r0) */
	for (int sh = 32; sh >= 1; sh /= 2) {
		int l_next = sbpf_builder__new_label(g->b);
		emit(g, SBPF_MOV64_REG(2, 0));                               /* r2 = r0 */
		emit(g, SBPF_ALU64_IMM(SBPF_RSH, 2, sh));                    /* r2 >>= sh */
		jump(g, SBPF_JMP_IMM(SBPF_JEQ, 2, 0, 0), l_next);            /* if r2 == 0 goto next */
		emit(g, SBPF_ALU64_IMM(SBPF_ADD, 1, sh));                    /* r1 += sh */
		emit(g, SBPF_MOV64_REG(0, 2));                               /* r0 = r2 */
		sbpf_builder__bind(g->b, l_next);
	}
	sbpf_builder__bind(g->b, l_done);
}

/* r1 = linear bucket of r0 (agg.c: 0 below min, n-1 at or above max). */
static void linear_bucket(struct gen *g, const struct sql_agg *a, uint32_t nb)
{
	int l_done = sbpf_builder__new_label(g->b), l_in = sbpf_builder__new_label(g->b);
	if (a->arg->type == SQL_T_UINT) {
		int l_ok = sbpf_builder__new_label(g->b);
		jump(g, SBPF_JMP_IMM(SBPF_JSGE, 0, 0, 0), l_ok);                 /* above INT64_MAX: clamp */
		load_const(g, 0, (uint64_t)INT64_MAX);
		sbpf_builder__bind(g->b, l_ok);
	}
	emit(g, SBPF_MOV64_IMM(1, 0));                                       /* r1 = 0 */
	load_const(g, 2, (uint64_t)a->lmin);                                 /* r2 = min */
	jump(g, SBPF_JMP_REG(SBPF_JSLT, 0, 2, 0), l_done);                   /* below min: 0 */
	load_const(g, 1, nb - 1);                                            /* r1 = last */
	load_const(g, 3, (uint64_t)a->lmax);                                 /* r3 = max */
	jump(g, SBPF_JMP_REG(SBPF_JSLT, 0, 3, 0), l_in);
	jump(g, SBPF_JA(0), l_done);                                         /* at or above max: last */
	sbpf_builder__bind(g->b, l_in);
	emit(g, SBPF_MOV64_REG(1, 0));                                       /* r1 = r0 */
	emit(g, SBPF_ALU64_REG(SBPF_SUB, 1, 2));                             /* r1 -= min */
	load_const(g, 3, (uint64_t)a->lstep);                                /* r3 = step */
	emit(g, SBPF_ALU64_REG(SBPF_DIV, 1, 3));                             /* r1 /= step (unsigned) */
	emit(g, SBPF_ALU64_IMM(SBPF_ADD, 1, 1));                             /* r1 += 1 */
	sbpf_builder__bind(g->b, l_done);
}

/* Folds the value in r0 (or just counts) into aggregate @i of the group at r9. */
static int update(struct gen *g, const struct sql_kagg *ka, const struct sql_agg *a, size_t i, struct sql_kx *kx)
{
	int16_t o = (int16_t)ka->off[i];
	int rc = 0;
	if (a->arg && (rc = sql_kx_value(kx, a->arg, 0)))
		return rc;
	bool uns = a->type == SQL_T_UINT;
	switch (a->kind) {
	case SQL_AGG_COUNT:
		break;
	case SQL_AGG_SUM:
		emit(g, SBPF_LDX_MEM(SBPF_DW, 1, R_TMP, o + 8));             /* r1 = sum */
		emit(g, SBPF_ALU64_REG(SBPF_ADD, 1, 0));                     /* r1 += value */
		emit(g, SBPF_STX_MEM(SBPF_DW, R_TMP, 1, o + 8));             /* sum = r1 */
		break;
	case SQL_AGG_AVG: {
		/* 128-bit sum (agg.c avg_add): low half, its carry, the sign of an s64 */
		int l_nocarry = sbpf_builder__new_label(g->b), l_pos = sbpf_builder__new_label(g->b);
		emit(g, SBPF_LDX_MEM(SBPF_DW, 1, R_TMP, o + 8));             /* r1 = lo */
		emit(g, SBPF_ALU64_REG(SBPF_ADD, 1, 0));                     /* r1 += value */
		emit(g, SBPF_STX_MEM(SBPF_DW, R_TMP, 1, o + 8));             /* lo = r1 */
		emit(g, SBPF_LDX_MEM(SBPF_DW, 2, R_TMP, o + 16));            /* r2 = hi */
		jump(g, SBPF_JMP_REG(SBPF_JGE, 1, 0, 0), l_nocarry);         /* if lo >= value: no carry */
		emit(g, SBPF_ALU64_IMM(SBPF_ADD, 2, 1));                     /* r2 += 1 */
		sbpf_builder__bind(g->b, l_nocarry);
		if (!uns) {
			jump(g, SBPF_JMP_IMM(SBPF_JSGE, 0, 0, 0), l_pos);    /* if value s>= 0 goto pos */
			emit(g, SBPF_ALU64_IMM(SBPF_SUB, 2, 1));             /* r2 -= 1 (sign extension) */
		}
		sbpf_builder__bind(g->b, l_pos);
		emit(g, SBPF_STX_MEM(SBPF_DW, R_TMP, 2, o + 16));            /* hi = r2 */
		break;
	}
	case SQL_AGG_MIN:
	case SQL_AGG_MAX: {
		int l_take = sbpf_builder__new_label(g->b), l_skip = sbpf_builder__new_label(g->b);
		int op = a->kind == SQL_AGG_MIN ? (uns ? SBPF_JLT : SBPF_JSLT) : (uns ? SBPF_JGT : SBPF_JSGT);
		emit(g, SBPF_LDX_MEM(SBPF_DW, 1, R_TMP, o));                 /* r1 = count */
		jump(g, SBPF_JMP_IMM(SBPF_JEQ, 1, 0, 0), l_take);            /* first value */
		emit(g, SBPF_LDX_MEM(SBPF_DW, 2, R_TMP, o + 8));             /* r2 = best */
		jump(g, SBPF_JMP_REG(op, 0, 2, 0), l_take);                  /* better? */
		jump(g, SBPF_JA(0), l_skip);
		sbpf_builder__bind(g->b, l_take);
		emit(g, SBPF_STX_MEM(SBPF_DW, R_TMP, 0, o + 8));             /* best = value */
		sbpf_builder__bind(g->b, l_skip);
		break;
	}
	case SQL_AGG_HIST:
	case SQL_AGG_LHIST: {
		uint32_t nb = ka->nbuckets[i];
		int l_ok = sbpf_builder__new_label(g->b);
		int16_t osum = (int16_t)(o + 8 + 8 * (int)nb);
		emit(g, SBPF_LDX_MEM(SBPF_DW, 1, R_TMP, osum));              /* r1 = sum (wraps as agg.c's) */
		emit(g, SBPF_ALU64_REG(SBPF_ADD, 1, 0));                     /* r1 += value */
		emit(g, SBPF_STX_MEM(SBPF_DW, R_TMP, 1, osum));              /* sum = r1 */
		if (a->kind == SQL_AGG_HIST)
			log2_bucket(g, a->arg->type != SQL_T_UINT);
		else
			linear_bucket(g, a, nb);
		jump(g, SBPF_JMP_IMM(SBPF_JLE, 1, (int32_t)(nb - 1), 0), l_ok); /* bound for the verifier */
		emit(g, SBPF_MOV64_IMM(1, (int32_t)(nb - 1)));
		sbpf_builder__bind(g->b, l_ok);
		emit(g, SBPF_ALU64_IMM(SBPF_LSH, 1, 3));                     /* r1 *= 8 */
		emit(g, SBPF_ALU64_REG(SBPF_ADD, 1, R_TMP));                 /* r1 += group */
		emit(g, SBPF_LDX_MEM(SBPF_DW, 2, 1, o + 8));                 /* r2 = bucket */
		emit(g, SBPF_ALU64_IMM(SBPF_ADD, 2, 1));                     /* r2 += 1 */
		emit(g, SBPF_STX_MEM(SBPF_DW, 1, 2, o + 8));                 /* bucket = r2 */
		break;
	}
	default:
		return -EINVAL;
	}
	emit(g, SBPF_LDX_MEM(SBPF_DW, 1, R_TMP, o));                         /* r1 = count */
	emit(g, SBPF_ALU64_IMM(SBPF_ADD, 1, 1));                             /* r1 += 1 */
	emit(g, SBPF_STX_MEM(SBPF_DW, R_TMP, 1, o));                         /* count = r1 */
	return 0;
}

int sql_kagg_emit(struct sbpf_builder *b, const struct sql_kprog *kp, const struct sql_kmaps *maps,
		  struct sql_kx *kx, int l_out)
{
	struct gen g = { .b = b };
	const struct sql_kagg *ka = kp->agg;
	const struct sql_query *q = kp->spec->q;
	if (!ka || ka->naggs != q->naggs)
		return -EINVAL;
	/* The key: zeroed, then the captures. */
	for (uint32_t o = 0; o < ka->key_size; o += 8)
		emit(&g, SBPF_ST_MEM(SBPF_DW, SBPF_REG_FP, (int16_t)(STK_GKEY + (int)o), 0));
	for (size_t i = 0; i < ka->nkey; i++) {
		const struct sql_kcopy *c = &ka->key[i];
		int src = kx->base[c->probe];
		if (src < 0)
			return -EINVAL;
		for (unsigned j = 0; j < c->size;) {
			unsigned s = 8;
			while (s > 1 && (((c->from + j) % s) || ((c->to + j) % s) || c->size - j < s))
				s /= 2;
			emit(&g, SBPF_LDX_MEM(size_code(s), 1, src, (int16_t)(c->from + j)));
			emit(&g, SBPF_STX_MEM(size_code(s), SBPF_REG_FP, 1, (int16_t)(STK_GKEY + c->to + (int)j)));
			j += s;
		}
	}
	/* The keys computed here (kx: r0..r5; the records stay in r6..r8). */
	for (size_t i = 0; i < ka->nkv; i++) {
		int rc = sql_kx_value(kx, q->keys[ka->kv[i].key], 0);
		if (rc)
			return rc;
		emit(&g, SBPF_STX_MEM(SBPF_DW, SBPF_REG_FP, 0, (int16_t)(STK_GKEY + ka->kv[i].off))); /* key.kv = r0 */
	}
	/* The group map of the current window. */
	int l_have = sbpf_builder__new_label(b), l_full = sbpf_builder__new_label(b);
	lookup_window(&g, maps->outer_fd, l_out);
	emit(&g, SBPF_MOV64_REG(R_TMP, 0));                                  /* r9 = group map */
	emit(&g, SBPF_MOV64_REG(1, R_TMP));                                  /* r1 = group map */
	emit(&g, SBPF_MOV64_REG(2, SBPF_REG_FP));
	emit(&g, SBPF_ALU64_IMM(SBPF_ADD, 2, STK_GKEY));                     /* r2 = &key */
	emit(&g, SBPF_CALL_HELPER(BPF_FUNC_map_lookup_elem));                /* r0 = group */
	jump(&g, SBPF_JMP_IMM(SBPF_JNE, 0, 0, 0), l_have);
	lookup_first(&g, maps->zero_fd, l_out);                              /* r0 = zero state */
	emit(&g, SBPF_MOV64_REG(3, 0));                                      /* r3 = zero state */
	emit(&g, SBPF_MOV64_REG(1, R_TMP));                                  /* r1 = group map */
	emit(&g, SBPF_MOV64_REG(2, SBPF_REG_FP));
	emit(&g, SBPF_ALU64_IMM(SBPF_ADD, 2, STK_GKEY));                     /* r2 = &key */
	emit(&g, SBPF_MOV64_IMM(4, BPF_NOEXIST));                            /* r4 = BPF_NOEXIST */
	emit(&g, SBPF_CALL_HELPER(BPF_FUNC_map_update_elem));                /* new group (or another CPU's) */
	emit(&g, SBPF_MOV64_REG(1, R_TMP));
	emit(&g, SBPF_MOV64_REG(2, SBPF_REG_FP));
	emit(&g, SBPF_ALU64_IMM(SBPF_ADD, 2, STK_GKEY));
	emit(&g, SBPF_CALL_HELPER(BPF_FUNC_map_lookup_elem));                /* r0 = group */
	jump(&g, SBPF_JMP_IMM(SBPF_JEQ, 0, 0, 0), l_full);
	sbpf_builder__bind(b, l_have);
	emit(&g, SBPF_MOV64_REG(R_TMP, 0));                                  /* r9 = this CPU's state */
	for (size_t i = 0; i < q->naggs; i++) {
		int rc = update(&g, ka, &q->aggs[i], i, kx);
		if (rc)
			return rc;
	}
	sql_codegen_count(b, SQL_KCNT_ROWS);
	jump(&g, SBPF_JA(0), l_out);
	sbpf_builder__bind(b, l_full);
	sql_codegen_count(b, SQL_KCNT_AGG_FULL);                             /* too many groups: lost */
	jump(&g, SBPF_JA(0), l_out);
	return 0;
}

/* ---- reading groups ------------------------------------------------------- */

static uint64_t rd(const uint8_t *p, uint32_t off)
{
	uint64_t v;
	memcpy(&v, p + off, 8);
	return v;
}

/* Merges the per-CPU values of one group into states @st. */
static int merge_cpus(const struct sql_kagg *ka, const struct sql_query *q, const uint8_t *vals, int ncpus,
		      size_t stride, struct sql_aggstate *st)
{
	for (size_t i = 0; i < q->naggs; i++) {
		const struct sql_agg *a = &q->aggs[i];
		struct sql_aggstate *s = &st[i];
		uint32_t o = ka->off[i];
		memset(s, 0, sizeof(*s));
		bool uns = a->type == SQL_T_UINT;
		for (int c = 0; c < ncpus; c++) {
			const uint8_t *v = vals + (size_t)c * stride;
			uint64_t n = rd(v, o);
			if (!n)
				continue;
			switch (a->kind) {
			case SQL_AGG_SUM:
				s->u += rd(v, o + 8);
				break;
			case SQL_AGG_AVG: {
				uint64_t lo = rd(v, o + 8);
				s->u += lo;
				s->hi += rd(v, o + 16) + (s->u < lo); /* 128-bit addition */
				break;
			}
			case SQL_AGG_MIN:
			case SQL_AGG_MAX: {
				uint64_t x = rd(v, o + 8);
				bool take = !s->n;
				if (!take && uns)
					take = a->kind == SQL_AGG_MIN ? x < s->u : x > s->u;
				else if (!take)
					take = a->kind == SQL_AGG_MIN ? (int64_t)x < (int64_t)s->u
								      : (int64_t)x > (int64_t)s->u;
				if (take)
					s->u = x;
				break;
			}
			case SQL_AGG_HIST:
			case SQL_AGG_LHIST:
				if (!s->hist) {
					s->hist = calloc(1, sizeof(*s->hist));
					if (!s->hist || !(s->hist->counts = calloc(ka->nbuckets[i], 8)))
						return -ENOMEM;
					s->hist->nbuckets = ka->nbuckets[i];
					s->hist->linear = a->kind == SQL_AGG_LHIST;
					s->hist->duration = a->arg && a->arg->type == SQL_T_DURATION;
					s->hist->min = a->lmin;
					s->hist->max = a->lmax;
					s->hist->step = a->lstep;
				}
				for (uint32_t k = 0; k < ka->nbuckets[i]; k++)
					s->hist->counts[k] += rd(v, o + 8 + 8 * k);
				s->hist->sum += rd(v, o + 8 + 8 * ka->nbuckets[i]);
				s->hist->total += n;
				break;
			default:
				break;
			}
			s->n += n;
		}
	}
	return 0;
}

/* What reading one map needs (sql_kagg_read). */
struct reader {
	struct sql_kagg *ka;
	const struct sql_query *q;
	int ncpus;
	size_t stride;                          /* bytes of one CPU's value */
	uint8_t *recs[SQL_MAX_PROBES];          /* decoded key records */
	struct sql_value *row;                  /* key columns */
	struct sql_value *kv;                   /* keys computed in the kernel (NULL: none) */
	struct sql_aggstate *st;                /* merged states */
	sql_group_fn fn;
	void *ctx;
	bool del;                               /* delete what is read */
	int groups;
};

/* Hands the group of key @k with per-CPU values @vals to the callback. */
static int one_group(struct reader *r, const uint8_t *k, const uint8_t *vals)
{
	struct sql_kagg *ka = r->ka;
	const struct sql_query *q = r->q;
	const struct sql_table *t = ka->g.t;
	int rc = merge_cpus(ka, q, vals, r->ncpus, r->stride, r->st);
	if (!rc) {
		for (size_t p = 0; p < t->nprobes; p++)
			memset(r->recs[p], 0, ka->g.lay[p].size);
		for (size_t c = 0; c < ka->nkey; c++)
			memcpy(r->recs[ka->key[c].probe] + ka->key[c].back, k + ka->key[c].to, ka->key[c].size);
		sql_recplan_row(&ka->g, r->recs[0], r->recs[1], r->row);
		for (size_t j = 0; j < ka->nkv; j++) {
			struct sql_value *v = &r->kv[ka->kv[j].key];
			v->type = q->keys[ka->kv[j].key]->type;
			v->u = rd(k, ka->kv[j].off);
		}
		r->groups++;
		if (r->fn && r->fn(r->ctx, r->row, r->kv, r->st))
			rc = -ECANCELED;
	}
	for (size_t a = 0; a < q->naggs; a++)
		sql_agg_free(&r->st[a]);
	return rc;
}

/* Entries per batch read (a hash bucket holding more than this fails the
 * batch with -ENOSPC: the one-by-one walk takes over). */
#define BATCH 1024

/* The map read in batches (a few system calls for thousands of groups,
 * instead of three per group): 0, or -EOPNOTSUPP and friends when the
 * kernel cannot (nothing was read then). */
static int read_batched(struct reader *r, int fd)
{
	size_t ksz = r->ka->key_size, vsz = r->stride * (size_t)r->ncpus;
	uint8_t *keys = malloc(BATCH * ksz), *vals = malloc(BATCH * vsz);
	uint8_t tok[2][SQL_KAGG_MAX_KEY + 8];
	int rc = keys && vals ? 0 : -ENOMEM;
	for (int first = 1; !rc; first = 0) {
		uint32_t n = BATCH;
		int b = sbpf_kmap_read_batch(fd, first ? NULL : tok[0], tok[1], keys, vals, &n, r->del);
		if (b && b != -ENOENT) {
			rc = b;
			break;
		}
		for (uint32_t i = 0; i < n && !rc; i++)
			rc = one_group(r, keys + i * ksz, vals + i * vsz);
		if (b == -ENOENT)
			break;
		memcpy(tok[0], tok[1], sizeof(tok[0]));
	}
	free(keys);
	free(vals);
	return rc;
}

/* The map read one group at a time (kernels without batch operations). */
static int read_walk(struct reader *r, int fd)
{
	struct sql_kagg *ka = r->ka;
	size_t nkeys = 0, kcap = 0;
	uint8_t *keys = NULL;
	uint8_t *vals = malloc(r->stride * (size_t)r->ncpus);
	int rc = vals ? 0 : -ENOMEM;
	/* Collect the keys first: deleting while iterating restarts the walk. */
	uint8_t prev[SQL_KAGG_MAX_KEY];
	for (bool first = true; !rc; first = false) {
		if (nkeys == kcap) {
			kcap = kcap ? kcap * 2 : 256;
			uint8_t *nk = realloc(keys, kcap * ka->key_size);
			if (!nk) {
				rc = -ENOMEM;
				break;
			}
			keys = nk;
		}
		uint8_t *k = keys + nkeys * ka->key_size;
		int x = sbpf_kmap_next_key(fd, first ? NULL : prev, k);
		if (x == -ENOENT)
			break;
		if (x) {
			rc = x;
			break;
		}
		memcpy(prev, k, ka->key_size);
		nkeys++;
	}
	for (size_t i = 0; i < nkeys && !rc; i++) {
		const uint8_t *k = keys + i * ka->key_size;
		if (sbpf_kmap_lookup(fd, k, vals))
			continue;
		if (r->del)
			sbpf_kmap_delete(fd, k);
		rc = one_group(r, k, vals);
	}
	free(keys);
	free(vals);
	return rc;
}

int sql_kagg_read(struct sql_kagg *ka, const struct sql_query *q, int fd, bool del, sql_group_fn fn, void *ctx)
{
	int ncpus = sbpf_kernel_ncpus();
	if (ncpus <= 0)
		return -EINVAL;
	const struct sql_table *t = ka->g.t;
	struct reader r = { .ka = ka, .q = q, .ncpus = ncpus, .stride = (ka->value_size + 7) & ~7u,
			    .fn = fn, .ctx = ctx, .del = del };
	r.row = calloc(t->ncols, sizeof(*r.row));
	r.st = calloc(q->naggs ? q->naggs : 1, sizeof(*r.st));
	r.kv = ka->nkv ? calloc(q->nkeys, sizeof(*r.kv)) : NULL; /* SQL_T_NULL: from row */
	int rc = r.row && r.st && (r.kv || !ka->nkv) ? 0 : -ENOMEM;
	for (size_t p = 0; p < t->nprobes && !rc; p++)
		if (!(r.recs[p] = calloc(1, ka->g.lay[p].size + 8)))
			rc = -ENOMEM;
	if (!rc) {
		rc = read_batched(&r, fd);
		/* (with @del, what the batches read is gone; without, it
		 * must not be read twice) */
		if (rc && rc != -ENOMEM && rc != -ECANCELED && (del || !r.groups))
			rc = read_walk(&r, fd);
	}
	for (size_t p = 0; p < SQL_MAX_PROBES; p++)
		free(r.recs[p]);
	free(r.row);
	free(r.st);
	free(r.kv);
	return rc ? rc : r.groups;
}
