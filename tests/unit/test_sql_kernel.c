/* test_sql_kernel.c - the optimizer's kernel-side operators:
 *   - expressions compiled to eBPF (kexpr.c) give the executor's results:
 *     WHERE clauses and select items of generated queries, run in the
 *     reference interpreter on random staged records (layouts bound to this
 *     machine's tracefs formats), against sql_eval on the decoded rows;
 *   - merging partial aggregate states (kernel groups, per-CPU values) gives
 *     what folding every value in one state gives;
 *   - record compaction keeps exactly the captures the columns read;
 *   - on the live kernel (skipped without privileges): every candidate plan
 *     of generated queries is accepted by the verifier (filters, pairing,
 *     aggregation, projection, batching, for every table).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safebpf/diag.h"
#include "safebpf/kernel.h"
#include "safebpf/sql.h"
#include "safebpf/vm.h"
#include "sql/sqlInt.h"

#define FIXTURES "tests/unit/data/tracefs/"

static char *read_fixture(const char *tp)
{
	char path[256];
	const char *slash = strchr(tp, '/');
	cr_assert_not_null(slash);
	snprintf(path, sizeof(path), FIXTURES "%.*s__%s.format", (int)(slash - tp), tp, slash + 1);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "fixture %s", path);
	static char buf[1 << 16];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strdup(buf);
}

/* ---- random staged records ------------------------------------------------- */

static uint64_t rng = 88172645463325252ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* A value that often hits the generator's literals and edges. */
static uint64_t interesting(void)
{
	static const int64_t v[] = { 0, 1, 2, 3, 5, 7, 10, 39, 100, 110, 257, 1000, 65536, -1, -2, 4096, 255, 256,
				     INT64_MIN, INT64_MAX, 0x80000000ll, 0xffffffffll, 1000000 };
	switch (rnd() % 4) {
	case 0:
		return rnd();
	case 1:
		return rnd() % 300;
	default:
		return (uint64_t)v[rnd() % (sizeof(v) / sizeof(v[0]))];
	}
}

static const char *const strs[] = { "workload", "bash", "safebpf", "w", "", "sshd", "work", "workloadX",
				     "kworker/0:1" };

/* Fills record @p of @rp with random captures. */
static void fill(const struct sql_recplan *rp, int p, uint8_t *rec)
{
	const struct sql_layout *lay = &rp->lay[p];
	memset(rec, 0, lay->size);
	for (size_t i = 0; i < lay->ncaps; i++) {
		const struct sql_cap *c = &lay->caps[i];
		bool text = c->kind == SQL_CAP_COMM || c->kind == SQL_CAP_LOC_STR || c->kind == SQL_CAP_KPTR_STR ||
			    c->kind == SQL_CAP_UPTR_STR ||
			    (c->kind == SQL_CAP_FIELD && c->field->kind == SQL_FIELD_CHARS);
		if (text) {
			const char *s = strs[rnd() % (sizeof(strs) / sizeof(strs[0]))];
			size_t n = strlen(s) < c->size ? strlen(s) : c->size;
			memcpy(rec + c->off, s, n);
			/* garbage after the string must not matter */
			for (size_t k = n + 1; k < c->size; k++)
				rec[c->off + k] = (uint8_t)rnd();
			continue;
		}
		for (unsigned k = 0; k < c->size; k += 8) {
			uint64_t v = interesting();
			memcpy(rec + c->off + k, &v, c->size - k < 8 ? c->size - k : 8);
		}
	}
}

/* ---- compiled expressions vs the executor ------------------------------------ */

struct bound {
	struct sql_arena a;
	struct sql_query q;
	bool ok;
};

static void bind_text(struct bound *b, const char *text)
{
	struct sbpf_diags d = { 0 };
	struct sql_stmt *st;
	memset(b, 0, sizeof(*b));
	b->ok = !sql_parse(text, "<t>", &b->a, &st, &d) && !sql_bind(st, text, "<t>", &b->a, &b->q, &d);
	cr_assert(b->ok, "generated query does not bind: %s", text);
	sbpf_diags__free(&d);
}

/* Program: r7 = record of probe 0, r8 = of probe 1 (both in memory at r1);
 * r0 = the condition (0/1) or the value of @e. */
static struct sbpf_vm *compile_expr(const struct sql_recplan *rp, const struct sql_expr *e, bool pred)
{
	struct sbpf_builder *b = sbpf_builder__new();
	cr_assert_not_null(b);
	sbpf_builder__emit(b, SBPF_MOV64_REG(7, 1));
	sbpf_builder__emit(b, SBPF_MOV64_REG(8, 1));
	sbpf_builder__emit(b, SBPF_ALU64_IMM(SBPF_ADD, 8, (int32_t)rp->lay[0].size));
	struct sql_kx kx = { .b = b, .rp = rp, .side = 0, .base = { 7, rp->t->nprobes > 1 ? 8 : -1 } };
	int rc;
	if (pred) {
		int l_false = sbpf_builder__new_label(b);
		rc = sql_kx_branch(&kx, e, false, l_false);
		sbpf_builder__emit(b, SBPF_MOV64_IMM(0, 1));
		sbpf_builder__emit(b, SBPF_EXIT_INSN());
		sbpf_builder__bind(b, l_false);
		sbpf_builder__emit(b, SBPF_MOV64_IMM(0, 0));
		sbpf_builder__emit(b, SBPF_EXIT_INSN());
	} else {
		rc = sql_kx_value(&kx, e, 0);
		sbpf_builder__emit(b, SBPF_EXIT_INSN());
	}
	cr_assert_eq(rc, 0, "an expression sql_kx_ok accepts must compile");
	struct sbpf_insn *insns;
	size_t n;
	cr_assert_eq(sbpf_builder__finish(b, &insns, &n, NULL), 0);
	sbpf_builder__free(b);
	struct sbpf_validate_error verr;
	struct sbpf_vm *vm = sbpf_vm__new(insns, n, NULL, &verr);
	cr_assert_not_null(vm, "generated code is valid eBPF");
	free(insns);
	return vm;
}

/* Runs @e over 200 random records; returns the number of true/non-zero results. */
static int differential(const struct sql_recplan *rp, const struct sql_expr *e, bool pred, const char *text)
{
	struct sbpf_vm *vm = compile_expr(rp, e, pred);
	size_t s0 = rp->lay[0].size, s1 = rp->t->nprobes > 1 ? rp->lay[1].size : 0;
	uint8_t *mem = calloc(1, s0 + s1 + 8);
	struct sql_value *row = calloc(rp->t->ncols, sizeof(*row));
	struct sql_arena scratch = { 0 };
	int hits = 0;
	for (int i = 0; i < 200; i++) {
		fill(rp, 0, mem);
		if (s1)
			fill(rp, 1, mem + s0);
		sql_recplan_row((struct sql_recplan *)rp, mem, s1 ? mem + s0 : NULL, row);
		struct sql_evalctx c = { .scratch = &scratch };
		c.row[0] = row;
		uint64_t want, got = 0;
		struct sbpf_run_error err;
		if (pred) {
			want = sql_eval_true(&c, e);
		} else {
			struct sql_value v = sql_eval(&c, e);
			cr_assert_neq(v.type, SQL_T_NULL, "a compiled value is never NULL: %s", text);
			want = v.type == SQL_T_BOOL ? (uint64_t)(v.i != 0) : v.u;
		}
		cr_assert_eq(sbpf_vm__run(vm, mem, s0 + s1, &got, &err), 0, "run: %s", err.reason);
		cr_assert_eq(got, want, "kernel %llu, executor %llu for %s (sample %d)", (unsigned long long)got,
			     (unsigned long long)want, text, i);
		hits += want != 0;
		sql_arena_reset(&scratch);
	}
	sbpf_vm__free(vm);
	free(mem);
	free(row);
	return hits;
}

static void layouts(const struct sql_table *t, struct sql_tp_format *fmt, struct sql_recplan *rp)
{
	const struct sql_tp_format *fmts[SQL_MAX_PROBES];
	for (size_t p = 0; p < t->nprobes; p++) {
		char err[256];
		if (sql_probe_kind(t->probes[p].tp) != SQL_PROBE_TRACEPOINT) {
			/* a perf event or uprobe: its format is built in, no tracefs involved */
			cr_assert_eq(sql_tracefs_load(t->probes[p].tp, &fmt[p], err, sizeof(err)), 0, "%s", err);
			fmts[p] = &fmt[p];
			continue;
		}
		char *text = read_fixture(t->probes[p].tp);
		cr_assert_eq(sql_tracefs_parse(text, &fmt[p], err, sizeof(err)), 0, "%s", err);
		free(text);
		fmts[p] = &fmt[p];
	}
	char err[256];
	cr_assert_eq(sql_recplan_build(rp, t, NULL, fmts, err, sizeof(err)), 0, "%s: %s", t->name, err);
}

Test(kexpr, generated_conditions_and_values_match_the_executor)
{
	int conds = 0, values = 0, truths = 0;
	for (uint64_t seed = 1; seed <= 1500; seed++) {
		char text[2048];
		cr_assert_geq(sbpf_query_random(seed, text, sizeof(text)), 0);
		if (strstr(text, " JOIN "))
			continue;
		struct bound b;
		bind_text(&b, text);
		const struct sql_table *t = b.q.tables[0];
		struct sql_tp_format fmt[SQL_MAX_PROBES] = { 0 };
		struct sql_recplan rp;
		layouts(t, fmt, &rp);
		if (b.q.where && sql_kx_ok(t, 0, b.q.where, true, NULL)) {
			truths += differential(&rp, b.q.where, true, text);
			conds++;
		}
		for (size_t i = 0; i < b.q.ncols; i++)
			if (!b.q.aggregate && sql_kx_ok(t, 0, b.q.cols[i].e, false, NULL)) {
				differential(&rp, b.q.cols[i].e, false, text);
				values++;
			}
		for (size_t i = 0; i < b.q.naggs; i++)
			if (b.q.aggs[i].arg && sql_kx_ok(t, 0, b.q.aggs[i].arg, false, NULL)) {
				differential(&rp, b.q.aggs[i].arg, false, text);
				values++;
			}
		sql_recplan_free(&rp);
		for (size_t p = 0; p < SQL_MAX_PROBES; p++)
			sql_tp_format_free(&fmt[p]);
		sql_arena_reset(&b.a);
	}
	/* enough of each, and conditions that are sometimes true */
	cr_assert_geq(conds, 200, "conditions compiled: %d", conds);
	cr_assert_geq(values, 200, "values compiled: %d", values);
	cr_assert_gt(truths, 1000, "true results: %d", truths);
}

Test(kexpr, refuses_what_it_cannot_compute_exactly)
{
	static const char *const no[] = {
		"SELECT pid FROM system_calls WHERE lower(comm) = 'x'",            /* function */
		"SELECT pid FROM system_calls WHERE comm LIKE '%load'",            /* suffix match */
		"SELECT pid FROM system_calls WHERE comm < 'x'",                   /* string order */
		"SELECT pid FROM system_calls WHERE pid / tid > 1",                /* division by a column */
		"SELECT pid FROM system_calls WHERE pid IN (1, NULL)",             /* NULL in a list */
		"SELECT pid FROM signals WHERE signal = 'KILL'",                   /* formatted string */
	};
	static const char *const yes[] = {
		"SELECT pid FROM system_calls WHERE comm LIKE 'work%' AND pid % 7 = 3",
		"SELECT pid FROM system_calls WHERE duration BETWEEN 1us AND 1s OR NOT (ret < 0)",
		"SELECT pid FROM system_calls WHERE comm IN ('a', 'b') AND arg0 IS NOT NULL",
	};
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		struct bound b;
		bind_text(&b, no[i]);
		cr_assert(!sql_kx_ok(b.q.tables[0], 0, b.q.where, true, NULL), "must stay in user space: %s", no[i]);
		sql_arena_reset(&b.a);
	}
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		struct bound b;
		bind_text(&b, yes[i]);
		cr_assert(sql_kx_ok(b.q.tables[0], 0, b.q.where, true, NULL), "compiles: %s", yes[i]);
		sql_arena_reset(&b.a);
	}
}

/* Integer type rules (docs/sql.md) in eBPF: u64 division and remainder are
 * BPF_DIV/BPF_MOD, s64 ones the signed emulation; the compiled value equals
 * the executor's on random records full of edges (0, 2^63, 2^64-1, -1). */
Test(kexpr, integer_types_match_the_executor_at_the_edges)
{
	static const char *const exprs[] = {
		"arg1 / 10", "arg1 % 10", "arg1 - 1", "arg1 / (5 + 5)", "-arg1", "signed(arg1) / 10",
		"signed(arg1) % 10", "unsigned(ret) / 7", "ret / 3", "ret % 3", "arg1 / 9223372036854775807",
		"arg0 % 4096 + arg1 / 4096", "(arg1 - arg0) / 2", "arg1 + -1", "signed(arg1) / 1",
	};
	for (size_t i = 0; i < sizeof(exprs) / sizeof(exprs[0]); i++) {
		char text[256];
		snprintf(text, sizeof(text), "SELECT %s FROM system_calls WHERE %s > 1000", exprs[i], exprs[i]);
		struct bound b;
		bind_text(&b, text);
		const struct sql_table *t = b.q.tables[0];
		struct sql_tp_format fmt[SQL_MAX_PROBES] = { 0 };
		struct sql_recplan rp;
		layouts(t, fmt, &rp);
		cr_assert(sql_kx_ok(t, 0, b.q.cols[0].e, false, NULL), "value compiles: %s", exprs[i]);
		cr_assert(sql_kx_ok(t, 0, b.q.where, true, NULL), "condition compiles: %s", exprs[i]);
		for (int round = 0; round < 5; round++) {
			differential(&rp, b.q.cols[0].e, false, text);
			differential(&rp, b.q.where, true, text);
		}
		sql_recplan_free(&rp);
		for (size_t p = 0; p < SQL_MAX_PROBES; p++)
			sql_tp_format_free(&fmt[p]);
		sql_arena_reset(&b.a);
	}
}

/* ---- merging aggregate states --------------------------------------------------- */

Test(kagg, merged_partial_states_equal_one_state)
{
	struct bound b;
	bind_text(&b, "SELECT COUNT(*), COUNT(ret), SUM(ret), MIN(ret), MAX(ret), AVG(ret), HIST(ret), "
		      "LHIST(arg0, 0, 100, 10), P50(ret), MIN(arg0), MAX(arg0) FROM system_calls");
	const struct sql_query *q = &b.q;
	for (int round = 0; round < 50; round++) {
		struct sql_aggstate one[16] = { 0 }, merged[16] = { 0 }, part[4][16];
		memset(part, 0, sizeof(part));
		for (int i = 0; i < 200; i++) {
			int cpu = (int)(rnd() % 4);
			struct sql_value vi = { .type = SQL_T_INT, .i = (int64_t)interesting() };
			struct sql_value vu = { .type = SQL_T_UINT, .u = interesting() % 200 };
			for (size_t a = 0; a < q->naggs; a++) {
				const struct sql_value *v = q->aggs[a].arg && q->aggs[a].arg->type == SQL_T_UINT ? &vu : &vi;
				cr_assert_eq(sql_agg_step(&q->aggs[a], &one[a], v), 0);
				cr_assert_eq(sql_agg_step(&q->aggs[a], &part[cpu][a], v), 0);
			}
		}
		for (int cpu = 0; cpu < 4; cpu++)
			for (size_t a = 0; a < q->naggs; a++)
				cr_assert_eq(sql_agg_merge(&q->aggs[a], &merged[a], &part[cpu][a]), 0);
		for (size_t a = 0; a < q->naggs; a++) {
			struct sql_value x = sql_agg_result(&q->aggs[a], &one[a]);
			struct sql_value y = sql_agg_result(&q->aggs[a], &merged[a]);
			cr_assert(x.type == y.type && x.u == y.u, "aggregate %zu: %llu vs %llu", a,
				  (unsigned long long)x.u, (unsigned long long)y.u);
			if (one[a].hist) {
				cr_assert_eq(one[a].hist->total, merged[a].hist->total);
				cr_assert_eq(memcmp(one[a].hist->counts, merged[a].hist->counts,
						    one[a].hist->nbuckets * sizeof(uint64_t)), 0);
			}
			sql_agg_free(&one[a]);
			sql_agg_free(&merged[a]);
			for (int cpu = 0; cpu < 4; cpu++)
				sql_agg_free(&part[cpu][a]);
		}
	}
	sql_arena_reset(&b.a);
}

/* ---- record compaction ------------------------------------------------------------- */

Test(kprog, compaction_keeps_only_what_columns_read)
{
	const struct sql_table *t = sql_catalog_find("system_calls");
	struct sql_tp_format fmt[SQL_MAX_PROBES] = { 0 };
	const struct sql_tp_format *fmts[SQL_MAX_PROBES];
	for (size_t p = 0; p < t->nprobes; p++) {
		char *text = read_fixture(t->probes[p].tp), err[256];
		cr_assert_eq(sql_tracefs_parse(text, &fmt[p], err, sizeof(err)), 0);
		free(text);
		fmts[p] = &fmt[p];
	}
	bool *needed = calloc(t->ncols, sizeof(bool));
	needed[sql_table_column(t, "syscall_number")] = true;
	needed[sql_table_column(t, "ret")] = true;
	struct sql_recplan rp;
	char err[256];
	cr_assert_eq(sql_recplan_build(&rp, t, needed, fmts, err, sizeof(err)), 0);
	uint32_t before = rp.lay[0].size + rp.lay[1].size;
	sql_layout_compact(&rp, false);
	/* header + id (8) on entry, header + ret (8) on exit: the thread-id
	 * pairing key is gone */
	cr_assert_eq(rp.lay[0].size, 16, "entry record %u", rp.lay[0].size);
	cr_assert_eq(rp.lay[1].size, 16, "exit record %u", rp.lay[1].size);
	cr_assert_lt(rp.lay[0].size + rp.lay[1].size, before);
	/* decoding still works from the packed layout */
	uint8_t r0[16] = { 0 }, r1[16] = { 0 };
	int64_t id = 257, ret = -2;
	for (size_t i = 0; i < rp.lay[0].ncaps; i++)
		if (rp.lay[0].caps[i].size)
			memcpy(r0 + rp.lay[0].caps[i].off, &id, 8);
	for (size_t i = 0; i < rp.lay[1].ncaps; i++)
		if (rp.lay[1].caps[i].size)
			memcpy(r1 + rp.lay[1].caps[i].off, &ret, 8);
	struct sql_value *row = calloc(t->ncols, sizeof(*row));
	sql_recplan_row(&rp, r0, r1, row);
	cr_assert_eq(row[sql_table_column(t, "syscall_number")].i, 257);
	cr_assert_eq(row[sql_table_column(t, "ret")].i, -2);
	free(row);
	free(needed);
	sql_recplan_free(&rp);
	for (size_t p = 0; p < SQL_MAX_PROBES; p++)
		sql_tp_format_free(&fmt[p]);
}

/* ---- the verifier accepts every candidate -------------------------------------------- */

Test(kprog, verifier_accepts_every_candidate_of_generated_queries, .timeout = 300)
{
	char why[256];
	if (sbpf_kernel_check_privileges(why, sizeof(why)) || !sbpf_kernel_tracefs()) {
		fprintf(stderr, "skip: %s\n", why);
		cr_skip_test("no privileges: %s", why);
	}
	setenv("SAFEBPF_NO_VERDICT_CACHE", "1", 1);
	int judged = 0, kernel = 0;
	for (uint64_t seed = 1; seed <= 30; seed++) {
		char text[2048];
		cr_assert_geq(sbpf_query_random(seed * 7919, text, sizeof(text)), 0);
		struct bound b;
		bind_text(&b, text);
		struct sql_plan p;
		cr_assert_eq(sql_plan_build(&b.q, &b.a, &p), 0);
		cr_assert_eq(sql_optimize(&p, &b.a, SQL_STRATEGY_AUTO, false), 0);
		sql_opt_verify_all(&p);
		for (size_t i = 0; i < p.opt->ncands; i++) {
			const struct sql_cand *c = &p.opt->cands[i];
			cr_assert_neq(c->verdict, SQL_VERDICT_REJECTED, "verifier refused candidate %zu (%s) of %s: %s", i + 1,
				      c->placement, text, c->reason);
			judged++;
			kernel += c->verdict == SQL_VERDICT_ACCEPTED && (c->kernel[0] || c->kernel[1]);
		}
		cr_assert_geq(p.opt->chosen, 0, "a plan is chosen for %s", text);
		sql_arena_reset(&b.a);
	}
	cr_assert_geq(kernel, 40, "kernel candidates accepted: %d of %d", kernel, judged);
	unsetenv("SAFEBPF_NO_VERDICT_CACHE");
}

/* The generator's joins take every table this kernel provides, on either
 * side, and are a fair share of its queries (sqlcheck runs them under every
 * plan). */
Test(qgen, joins_cover_every_table)
{
	bool seen[64] = { false };
	int joins = 0, n = 2000;
	char why[128];
	for (uint64_t seed = 1; seed <= (uint64_t)n; seed++) {
		char text[2048];
		cr_assert_geq(sbpf_query_random(seed, text, sizeof(text)), 0);
		if (!strstr(text, " JOIN "))
			continue;
		joins++;
		for (size_t i = 0; i < sql_catalog_count() && i < 64; i++) {
			char from[80], join[80];
			snprintf(from, sizeof(from), "FROM %s AS", sql_catalog_get(i)->name);
			snprintf(join, sizeof(join), "JOIN %s AS", sql_catalog_get(i)->name);
			if (strstr(text, from) || strstr(text, join))
				seen[i] = true;
		}
	}
	cr_assert_geq(joins, n / 8, "joins: %d of %d", joins, n);
	for (size_t i = 0; i < sql_catalog_count() && i < 64; i++)
		if (sql_table_available(sql_catalog_get(i), why, sizeof(why)) &&
		    sql_probe_kind(sql_catalog_get(i)->probes[0].tp) != SQL_PROBE_CPU_CLOCK) /* sampled: not generated */
			cr_assert(seen[i], "no generated join reads %s", sql_catalog_get(i)->name);
}
