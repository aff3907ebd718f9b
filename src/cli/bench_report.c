/* bench_report.c - what `safebpf bench` makes of its measurements: median
 * and spread per (program, engine) cell, ratios to the kernel JIT, the
 * share of the native gap an engine recovers, geomeans, code sizes and
 * EInsn sites; printed as tables, written as CSV, drawn with gnuplot.
 *
 * Definitions (per program; S is a speedup over the kernel JIT):
 *   ratio          = engine time / kernel time (time; < 1 is faster): the
 *                    median over rounds of the per-round ratio
 *   S(engine)      = 1 / ratio
 *   gap recovered  = (S(engine) - 1) / (S(native) - 1), when S(native) > 1
 * Geomeans are over the programs every engine of the column ran correctly.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "benchInt.h"

int bench_cell_add(struct bench_cell *c, double ns)
{
	if (c->nrounds == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 8;
		double *p = realloc(c->ns, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		c->ns = p;
		c->cap = cap;
	}
	c->ns[c->nrounds++] = ns;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Quantile @q of sorted @v[0..n) with linear interpolation. */
static double quantile(const double *v, size_t n, double q)
{
	double pos = q * (double)(n - 1);
	size_t i = (size_t)pos;
	double frac = pos - (double)i;
	return i + 1 < n ? v[i] + frac * (v[i + 1] - v[i]) : v[i];
}

void bench_cell_stats(struct bench_cell *c)
{
	if (!c->nrounds)
		return;
	double *v = malloc(c->nrounds * sizeof(*v));
	if (!v)
		return;
	memcpy(v, c->ns, c->nrounds * sizeof(*v));
	qsort(v, c->nrounds, sizeof(*v), cmp_double);
	c->median = quantile(v, c->nrounds, 0.5);
	c->q1 = quantile(v, c->nrounds, 0.25);
	c->q3 = quantile(v, c->nrounds, 0.75);
	c->min = v[0];
	c->max = v[c->nrounds - 1];
	free(v);
}

int bench_baseline(const struct bench_result *r)
{
	for (size_t e = 0; e < r->nengines; e++)
		if (r->engines[e].kind == BENCH_KERNEL)
			return (int)e;
	return -1;
}

static const struct bench_cell *cell(const struct bench_result *r, size_t p, size_t e)
{
	return &r->cells[p * r->nengines + e];
}

/* Median of a cell that ran correctly, else 0. */
static double ok_median(const struct bench_result *r, size_t p, int e)
{
	if (e < 0)
		return 0;
	const struct bench_cell *c = cell(r, p, (size_t)e);
	return c->state == 0 && c->nrounds && c->median > 0 ? c->median : 0;
}

/* Index of the first engine of @kind (exact name @name when not NULL). */
static int find_engine(const struct bench_result *r, enum bench_kind kind, const char *name)
{
	for (size_t e = 0; e < r->nengines; e++)
		if (r->engines[e].kind == kind && (!name || !strcmp(r->engines[e].name, name)))
			return (int)e;
	return -1;
}

/* Time of engine @num relative to engine @den on program @p: the median
 * over the rounds both measured of the per-round ratio (the engines of a
 * round run back to back, so slow drifts of a shared machine cancel), or
 * the ratio of the medians when no round pairs up; 0 when either did not
 * run correctly. */
static double ratio(const struct bench_result *r, size_t p, int num, int den)
{
	double a = ok_median(r, p, num), b = ok_median(r, p, den);
	if (a <= 0 || b <= 0)
		return 0;
	const struct bench_cell *x = cell(r, p, (size_t)num), *y = cell(r, p, (size_t)den);
	size_t n = x->nrounds < y->nrounds ? x->nrounds : y->nrounds;
	double *v = n ? malloc(n * sizeof(*v)) : NULL;
	size_t k = 0;
	for (size_t i = 0; v && i < n; i++)
		if (x->ns[i] > 0 && y->ns[i] > 0)
			v[k++] = x->ns[i] / y->ns[i];
	double q = a / b;
	if (k) {
		qsort(v, k, sizeof(*v), cmp_double);
		q = quantile(v, k, 0.5);
	}
	free(v);
	return q;
}

/* Geomean over programs of ratio(@num, @den), where both ran; 0 when none
 * did. *@count = programs used. */
static double geomean_ratio(const struct bench_result *r, int num, int den, size_t *count)
{
	double sum = 0;
	size_t k = 0;
	for (size_t p = 0; p < r->nprogs; p++) {
		double q = ratio(r, p, num, den);
		if (q > 0) {
			sum += log(q);
			k++;
		}
	}
	if (count)
		*count = k;
	return k ? exp(sum / (double)k) : 0;
}

int bench_native_best(struct bench_result *r)
{
	int n = find_engine(r, BENCH_NATIVE, NULL), gg = find_engine(r, BENCH_NATIVE_GCC, NULL),
	    gc = find_engine(r, BENCH_NATIVE_CLANG, NULL);
	if (n < 0)
		return 0;
	for (size_t p = 0; p < r->nprogs; p++) {
		struct bench_cell *d = &r->cells[p * r->nengines + (size_t)n];
		const struct bench_cell *a = gg >= 0 ? cell(r, p, (size_t)gg) : NULL;
		const struct bench_cell *b = gc >= 0 ? cell(r, p, (size_t)gc) : NULL;
		int a_ok = a && !a->state, b_ok = b && !b->state;
		/* both ran: the lower median (--check: no rounds, gcc's) */
		const struct bench_cell *best = a_ok && b_ok ? (b->nrounds && a->nrounds && b->median < a->median ? b : a)
					      : a_ok ? a : b_ok ? b : a ? a : b;
		free(d->ns);
		if (!best) {
			memset(d, 0, sizeof(*d));
			d->state = 3;
			snprintf(d->note, sizeof(d->note), "no native build asked for");
			continue;
		}
		*d = *best; /* a failed build's state, note and wrong result too */
		d->ns = NULL;
		d->cap = 0;
		if (best->nrounds) {
			if (!(d->ns = malloc(best->nrounds * sizeof(*d->ns)))) {
				d->nrounds = 0;
				return -ENOMEM;
			}
			memcpy(d->ns, best->ns, best->nrounds * sizeof(*d->ns));
			d->cap = best->nrounds;
		}
		if (!best->state && best->nrounds)
			snprintf(d->note, sizeof(d->note), "%s", best == a ? "gcc" : "clang");
	}
	return 0;
}

/* Below this native speedup there is no gap worth dividing by. */
#define MIN_NATIVE_GAP 1.05

/* Share of the native gap engine @e recovers given speedups @s and @sn
 * (native); NAN when the native code is not at least 5% faster (the share
 * of a gap within the noise means nothing). */
static double gap_recovered(double s, double sn)
{
	return sn >= MIN_NATIVE_GAP ? (s - 1.0) / (sn - 1.0) : NAN;
}

/* Main engines: all but the per-op ablation columns ("einsn:op"). */
static int is_main(const struct bench_engine *e)
{
	return !(e->kind == BENCH_EINSN && strchr(e->name, ':'));
}

static void print_rule(FILE *f, int width)
{
	for (int i = 0; i < width; i++)
		fputc('-', f);
	fputc('\n', f);
}

/* Prints "%9.1f" or a state marker into a column of @w. */
static void print_time(FILE *f, const struct bench_cell *c, int w)
{
	if (c->state == 3)
		fprintf(f, " %*s", w, "n/a");
	else if (c->state == 2)
		fprintf(f, " %*s", w, "ERROR");
	else if (c->state == 1)
		fprintf(f, " %*s", w, "WRONG");
	else if (!c->nrounds)
		fprintf(f, " %*s", w, "-");
	else
		fprintf(f, " %*.1f", w, c->median);
}

static void table_times(const struct bench_result *r, FILE *f)
{
	fprintf(f, "\nTime per run (median ns over %d rounds; [q1..q3] of the kernel JIT and vanilla JIT)\n",
		r->rounds);
	int width = 14;
	fprintf(f, "%-14s", "benchmark");
	for (size_t e = 0; e < r->nengines; e++)
		if (is_main(&r->engines[e])) {
			fprintf(f, " %13s", r->engines[e].name);
			width += 14;
		}
	fprintf(f, "   %-17s %-17s\n", "kernel q1..q3", "jit-unch. q1..q3");
	width += 38;
	print_rule(f, width);
	int k = bench_baseline(r), v = find_engine(r, BENCH_JIT_UNCHECKED, NULL);
	for (size_t p = 0; p < r->nprogs; p++) {
		fprintf(f, "%-14s", r->progs[p].name);
		for (size_t e = 0; e < r->nengines; e++)
			if (is_main(&r->engines[e]))
				print_time(f, cell(r, p, e), 13);
		for (int i = 0; i < 2; i++) {
			int e = i ? v : k;
			char s[32] = "-";
			if (ok_median(r, p, e) > 0)
				snprintf(s, sizeof(s), "%.0f..%.0f", cell(r, p, (size_t)e)->q1, cell(r, p, (size_t)e)->q3);
			fprintf(f, "   %-17s", s);
		}
		fputc('\n', f);
	}
}

static void table_ratios(const struct bench_result *r, FILE *f)
{
	int k = bench_baseline(r), n = find_engine(r, BENCH_NATIVE, NULL);
	if (k < 0)
		return;
	int v = find_engine(r, BENCH_JIT_UNCHECKED, NULL), x = find_engine(r, BENCH_EINSN, "einsn");
	int lv = find_engine(r, BENCH_LLVM, NULL);
	const int gap_of[3] = { v, x, lv };
	fprintf(f, "\nTime relative to the kernel JIT (engine / kernel, median of per-round ratios; below 1\n"
		"is faster) and share of the native gap recovered, (speedup - 1) / (native speedup - 1)\n");
	int width = 14;
	fprintf(f, "%-14s", "benchmark");
	for (size_t e = 0; e < r->nengines; e++)
		if (is_main(&r->engines[e]) && (int)e != k) {
			fprintf(f, " %13s", r->engines[e].name);
			width += 14;
		}
	fprintf(f, " %13s %13s %13s\n", "gap jit-unch.", "gap einsn", "gap llvm");
	width += 42;
	print_rule(f, width);
	for (size_t p = 0; p < r->nprogs; p++) {
		fprintf(f, "%-14s", r->progs[p].name);
		for (size_t e = 0; e < r->nengines; e++) {
			if (!is_main(&r->engines[e]) || (int)e == k)
				continue;
			double q = ratio(r, p, (int)e, k);
			if (q > 0)
				fprintf(f, " %13.2f", q);
			else
				print_time(f, cell(r, p, e), 13);
		}
		double qn = n >= 0 ? ratio(r, p, n, k) : 0;
		double sn = qn > 0 ? 1 / qn : 0;
		for (int i = 0; i < 3; i++) {
			int e = gap_of[i];
			double q = e >= 0 ? ratio(r, p, e, k) : 0;
			double g = q > 0 && sn > 0 ? gap_recovered(1 / q, sn) : NAN;
			if (isnan(g))
				fprintf(f, " %13s", "-");
			else
				fprintf(f, " %12.0f%%", 100 * g);
		}
		fputc('\n', f);
	}
	print_rule(f, width);
	fprintf(f, "%-14s", "geomean");
	for (size_t e = 0; e < r->nengines; e++) {
		if (!is_main(&r->engines[e]) || (int)e == k)
			continue;
		double g = geomean_ratio(r, (int)e, k, NULL);
		if (g > 0)
			fprintf(f, " %13.2f", g);
		else
			fprintf(f, " %13s", "-");
	}
	double gn = n >= 0 ? geomean_ratio(r, k, n, NULL) : 0; /* native speedup */
	for (int i = 0; i < 3; i++) {
		int e = gap_of[i];
		double ge = e >= 0 ? geomean_ratio(r, k, e, NULL) : 0;
		double g = ge > 0 && gn > 0 ? gap_recovered(ge, gn) : NAN;
		if (isnan(g))
			fprintf(f, " %13s", "-");
		else
			fprintf(f, " %12.0f%%", 100 * g);
	}
	fputc('\n', f);

	/* The headline figures. */
	fprintf(f, "\n");
	if (gn > 0) {
		size_t nclang = 0, nboth = 0;
		for (size_t p = 0; p < r->nprogs; p++)
			if (!cell(r, p, (size_t)n)->state && cell(r, p, (size_t)n)->nrounds) {
				nboth++;
				nclang += !strcmp(cell(r, p, (size_t)n)->note, "clang");
			}
		fprintf(f, "kernel JIT vs native -O2: the kernel JIT takes %.2fx the native time (geomean; native ="
			" the faster of gcc and clang per benchmark: clang on %zu of %zu)\n", gn, nclang, nboth);
	}
	for (size_t e = 0; e < r->nengines; e++) {
		if (!is_main(&r->engines[e]) || (int)e == k || r->engines[e].kind == BENCH_NATIVE)
			continue;
		size_t cnt = 0;
		double s = geomean_ratio(r, k, (int)e, &cnt);
		if (s > 0)
			fprintf(f, "%-14s speedup over the kernel JIT: %.2fx (geomean of %zu)\n",
				r->engines[e].name, s, cnt);
		else
			fprintf(f, "%-14s speedup over the kernel JIT: - (%s)\n", r->engines[e].name,
				cell(r, 0, e)->note[0] ? cell(r, 0, e)->note : "no results");
	}
	if (lv >= 0 && n >= 0) {
		size_t cnt = 0;
		double g = geomean_ratio(r, lv, n, &cnt);
		if (g > 0)
			fprintf(f, "llvm / native time: %.3f (geomean of %zu; 1.05 or less is within 5%% of native)\n",
				g, cnt);
	}
}

/* LLVM compile cost per benchmark: cold (nothing cached), from the object
 * cache, IR size after O2, code size, peak-RSS growth. */
static void table_compile(const struct bench_result *r, FILE *f)
{
	int lv = find_engine(r, BENCH_LLVM, NULL);
	if (lv < 0)
		return;
	fprintf(f, "\nLLVM compile time per benchmark (O2; cold: translate + optimize + codegen + load;\n"
		"cached: the object from the cache keyed by the program's hash, loaded)\n");
	fprintf(f, "%-14s %10s %10s %9s %9s %9s\n", "benchmark", "cold ms", "cached ms", "IR insns", "code B",
		"RSS+ KiB");
	print_rule(f, 66);
	double lc = 0, lh = 0;
	size_t k = 0;
	for (size_t p = 0; p < r->nprogs; p++) {
		const struct bench_cell *c = cell(r, p, (size_t)lv);
		if (c->state || c->compile.cold_ms <= 0) {
			fprintf(f, "%-14s %10s\n", r->progs[p].name, "-");
			continue;
		}
		fprintf(f, "%-14s %10.1f %10.2f %9zu %9zu %9ld\n", r->progs[p].name, c->compile.cold_ms,
			c->compile.cached_ms, c->compile.ir_insns, c->code_size, c->compile.rss_kb);
		lc += log(c->compile.cold_ms);
		lh += log(c->compile.cached_ms > 0 ? c->compile.cached_ms : 1e-3);
		k++;
	}
	print_rule(f, 66);
	if (k)
		fprintf(f, "%-14s %10.1f %10.2f\n", "geomean", exp(lc / (double)k), exp(lh / (double)k));
}

/* Trusted code beyond the kernel verifier, lines of C counted when this
 * binary was built (the Makefile passes them; 0: not known). */
#ifndef SBPF_TCB_JIT_LINES
#define SBPF_TCB_JIT_LINES 0
#endif
#ifndef SBPF_TCB_EMIT_LINES
#define SBPF_TCB_EMIT_LINES 0
#endif
#ifndef SBPF_TCB_LLVM_GLUE_LINES
#define SBPF_TCB_LLVM_GLUE_LINES 0
#endif
#ifndef SBPF_TCB_LIBLLVM_MB
#define SBPF_TCB_LIBLLVM_MB 0
#endif

/* The trade-off: per engine, speed over the kernel JIT, share of the
 * native gap, and what must be trusted besides the verifier. */
static void table_tradeoff(const struct bench_result *r, FILE *f)
{
	int k = bench_baseline(r), n = find_engine(r, BENCH_NATIVE, NULL);
	if (k < 0)
		return;
	double gn = n >= 0 ? geomean_ratio(r, k, n, NULL) : 0;
	fprintf(f, "\nTrade-off: speed against what is trusted besides the kernel verifier (docs/llvm.md)\n");
	fprintf(f, "%-14s %9s %9s  %s\n", "engine", "speedup", "gap", "trusted code");
	print_rule(f, 100);
	for (size_t e = 0; e < r->nengines; e++) {
		const struct bench_engine *g = &r->engines[e];
		if (!is_main(g) || g->kind == BENCH_INTERP || g->kind == BENCH_JIT)
			continue;
		double s = (int)e == k ? 1.0 : geomean_ratio(r, k, (int)e, NULL);
		double gap = s > 0 && gn > 0 ? gap_recovered(s, gn) : NAN;
		char tcb[160];
		switch (g->kind) {
		case BENCH_KERNEL:
			snprintf(tcb, sizeof(tcb), "the kernel's JIT (in the kernel either way)");
			break;
		case BENCH_JIT_UNCHECKED:
			snprintf(tcb, sizeof(tcb), "safebpf's JIT: %d lines", SBPF_TCB_JIT_LINES);
			break;
		case BENCH_EINSN:
			snprintf(tcb, sizeof(tcb), "the JIT + the EInsn emits (proven equal to their proof sequences): "
				 "%d + %d lines", SBPF_TCB_JIT_LINES, SBPF_TCB_EMIT_LINES);
			break;
		case BENCH_LLVM:
			snprintf(tcb, sizeof(tcb), "translator and runtime glue %d lines + LLVM (%d MB of libLLVM)",
				 SBPF_TCB_LLVM_GLUE_LINES, SBPF_TCB_LIBLLVM_MB);
			break;
		case BENCH_NATIVE:
			snprintf(tcb, sizeof(tcb), "everything: no verifier (the faster of gcc -O2 and clang -O2"
				 " of the C source, per benchmark)");
			break;
		case BENCH_NATIVE_GCC:
		case BENCH_NATIVE_CLANG:
			snprintf(tcb, sizeof(tcb), "everything: no verifier (%s -O2 of the C source)",
				 g->kind == BENCH_NATIVE_GCC ? "gcc" : "clang");
			break;
		default:
			tcb[0] = '\0';
		}
		char sp[16] = "-", gp[16] = "-";
		if (s > 0)
			snprintf(sp, sizeof(sp), "%.2fx", s);
		if (!isnan(gap))
			snprintf(gp, sizeof(gp), "%.0f%%", 100 * gap);
		fprintf(f, "%-14s %9s %9s  %s\n", g->name, sp, gp, tcb);
	}
}

static void table_code(const struct bench_result *r, FILE *f)
{
	fprintf(f, "\nNative code size (bytes) and EInsn sites applied (all ops on)\n");
	int width = 14;
	fprintf(f, "%-14s", "benchmark");
	for (size_t e = 0; e < r->nengines; e++)
		if (is_main(&r->engines[e]) && r->engines[e].kind != BENCH_INTERP) {
			fprintf(f, " %13s", r->engines[e].name);
			width += 14;
		}
	fprintf(f, "  %s\n", "sites (op:count)");
	width += 18;
	print_rule(f, width);
	int x = find_engine(r, BENCH_EINSN, "einsn");
	for (size_t p = 0; p < r->nprogs; p++) {
		fprintf(f, "%-14s", r->progs[p].name);
		for (size_t e = 0; e < r->nengines; e++) {
			if (!is_main(&r->engines[e]) || r->engines[e].kind == BENCH_INTERP)
				continue;
			const struct bench_cell *c = cell(r, p, e);
			if (c->code_size)
				fprintf(f, " %13zu", c->code_size);
			else
				fprintf(f, " %13s", c->state == 3 ? "n/a" : "-");
		}
		fprintf(f, "  ");
		int any = 0;
		if (x >= 0)
			for (uint32_t op = 1; op < SBPF_KOPS__MAX; op++)
				if (cell(r, p, (size_t)x)->sites[op]) {
					const struct sbpf_kops_info *in = sbpf_kops_info(op);
					fprintf(f, "%s%s:%u", any++ ? " " : "", in ? in->name : "?",
						cell(r, p, (size_t)x)->sites[op]);
				}
		fprintf(f, "%s\n", any ? "" : "-");
	}
}

/* Per-op ablation: each "einsn:op" column against the vanilla JIT. */
static void table_ablation(const struct bench_result *r, FILE *f)
{
	int v = find_engine(r, BENCH_JIT_UNCHECKED, NULL);
	int any = 0;
	for (size_t e = 0; e < r->nengines; e++)
		any |= !is_main(&r->engines[e]);
	if (!any || v < 0)
		return;
	fprintf(f, "\nPer-op ablation: speedup over the vanilla JIT (jit-unchecked / einsn with one op)\n"
		"and that op's sites; above 1 the op helps, below 1 it costs\n");
	int width = 14;
	fprintf(f, "%-14s", "benchmark");
	for (size_t e = 0; e < r->nengines; e++)
		if (!is_main(&r->engines[e])) {
			fprintf(f, " %15s", r->engines[e].name + 6);
			width += 16;
		}
	fputc('\n', f);
	print_rule(f, width);
	for (size_t p = 0; p < r->nprogs; p++) {
		fprintf(f, "%-14s", r->progs[p].name);
		for (size_t e = 0; e < r->nengines; e++) {
			if (is_main(&r->engines[e]))
				continue;
			double q = ratio(r, p, v, (int)e);
			int op = sbpf_kops_by_name(r->engines[e].name + 6);
			unsigned s = op > 0 ? cell(r, p, e)->sites[op] : 0;
			if (q > 0)
				fprintf(f, " %9.3f (%3u)", q, s);
			else
				print_time(f, cell(r, p, e), 15);
		}
		fputc('\n', f);
	}
	print_rule(f, width);
	fprintf(f, "%-14s", "geomean");
	for (size_t e = 0; e < r->nengines; e++) {
		if (is_main(&r->engines[e]))
			continue;
		double g = geomean_ratio(r, v, (int)e, NULL);
		if (g > 0)
			fprintf(f, " %9.3f      ", g);
		else
			fprintf(f, " %15s", "-");
	}
	fputc('\n', f);
}

void bench_report_table(const struct bench_result *r, FILE *f)
{
	table_times(r, f);
	table_ratios(r, f);
	table_code(r, f);
	table_compile(r, f);
	table_tradeoff(r, f);
	table_ablation(r, f);
	int bad = 0;
	for (size_t p = 0; p < r->nprogs; p++)
		for (size_t e = 0; e < r->nengines; e++) {
			const struct bench_cell *c = cell(r, p, e);
			if (c->state == 1 || c->state == 2) {
				if (!bad++)
					fprintf(f, "\nProblems:\n");
				fprintf(f, "  %s on %s: %s\n", r->progs[p].name, r->engines[e].name, c->note);
			}
		}
	if (!bad)
		fprintf(f, "\nEvery engine that ran returned the expected result on every benchmark.\n");
	int notes = 0;
	for (size_t p = 0; p < r->nprogs; p++)
		for (size_t e = 0; e < r->nengines; e++) {
			const struct bench_cell *c = cell(r, p, e);
			if (c->state == 0 && c->note[0]) {
				if (!notes++)
					fprintf(f, "\nNotes:\n");
				fprintf(f, "  %s on %s: %s\n", r->progs[p].name, r->engines[e].name, c->note);
			}
		}
}

/* ---- CSV ---- */

static FILE *open_in(const char *dir, const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return fopen(path, "w");
}

static const char *state_name(int s)
{
	static const char *const names[] = { "ok", "wrong-result", "error", "not-available" };
	return s >= 0 && s < 4 ? names[s] : "?";
}

int bench_report_csv(const struct bench_result *r, const char *dir)
{
	FILE *all = open_in(dir, "micro.csv");
	FILE *sum = open_in(dir, "micro-summary.csv");
	if (!all || !sum) {
		int e = errno;
		if (all)
			fclose(all);
		if (sum)
			fclose(sum);
		return -e;
	}
	fprintf(all, "benchmark,engine,round,runs,ns_per_run\n");
	fprintf(sum, "benchmark,engine,state,rounds,runs,median_ns,q1_ns,q3_ns,min_ns,max_ns,"
		"ratio_vs_kernel,speedup_vs_kernel,native_gap_recovered,code_bytes");
	for (uint32_t op = 1; op < SBPF_KOPS__MAX; op++)
		fprintf(sum, ",sites_%s", sbpf_kops_info(op) ? sbpf_kops_info(op)->name : "?");
	fprintf(sum, "\n");
	int k = bench_baseline(r), n = find_engine(r, BENCH_NATIVE, NULL);
	for (size_t p = 0; p < r->nprogs; p++) {
		double qn = k >= 0 && n >= 0 ? ratio(r, p, n, k) : 0;
		for (size_t e = 0; e < r->nengines; e++) {
			const struct bench_cell *c = cell(r, p, e);
			for (size_t i = 0; i < c->nrounds; i++)
				fprintf(all, "%s,%s,%zu,%llu,%.3f\n", r->progs[p].name, r->engines[e].name, i + 1,
					(unsigned long long)c->runs, c->ns[i]);
			double m = ok_median(r, p, (int)e);
			fprintf(sum, "%s,%s,%s,%zu,%llu,", r->progs[p].name, r->engines[e].name,
				state_name(c->state), c->nrounds, (unsigned long long)c->runs);
			if (m > 0)
				fprintf(sum, "%.3f,%.3f,%.3f,%.3f,%.3f,", c->median, c->q1, c->q3, c->min, c->max);
			else
				fprintf(sum, ",,,,,");
			double q = k >= 0 ? ratio(r, p, (int)e, k) : 0;
			if (q > 0) {
				double g = qn > 0 ? gap_recovered(1 / q, 1 / qn) : NAN;
				fprintf(sum, "%.4f,%.4f,", q, 1 / q);
				if (!isnan(g))
					fprintf(sum, "%.4f", g);
			} else {
				fprintf(sum, ",,");
			}
			fprintf(sum, ",%zu", c->code_size);
			for (uint32_t op = 1; op < SBPF_KOPS__MAX; op++)
				fprintf(sum, ",%u", c->sites[op]);
			fprintf(sum, "\n");
		}
	}
	int bad = ferror(all) || ferror(sum);
	bad |= fclose(all) != 0;
	bad |= fclose(sum) != 0;
	return bad ? -EIO : 0;
}

/* ---- plot ---- */

/* Engines drawn: the main ones except the kernel (the baseline, 1.0) and
 * the interpreter (off the scale); ablation columns in a second plot. */
static int drawn(const struct bench_result *r, size_t e, int ablation)
{
	const struct bench_engine *g = &r->engines[e];
	if (ablation)
		return !is_main(g);
	return is_main(g) && g->kind != BENCH_KERNEL && g->kind != BENCH_INTERP;
}

/* Writes @name.dat: one row per program plus "geomean", one column per
 * drawn engine: speedup over @base (kernel, or the vanilla JIT for the
 * ablation). Returns the number of engine columns with any data. */
static int write_dat(const struct bench_result *r, const char *dir, const char *name, int base,
		     int ablation)
{
	char file[64];
	snprintf(file, sizeof(file), "%s.dat", name);
	FILE *f = open_in(dir, file);
	if (!f)
		return -errno;
	int cols = 0;
	fprintf(f, "benchmark");
	for (size_t e = 0; e < r->nengines; e++)
		if (drawn(r, e, ablation)) {
			fprintf(f, " \"%s\"", ablation ? r->engines[e].name + 6 : r->engines[e].name);
			cols += geomean_ratio(r, base, (int)e, NULL) > 0;
		}
	fprintf(f, "\n");
	for (size_t p = 0; p <= r->nprogs; p++) {
		fprintf(f, "%s", p < r->nprogs ? r->progs[p].name : "GEOMEAN");
		for (size_t e = 0; e < r->nengines; e++) {
			if (!drawn(r, e, ablation))
				continue;
			double s;
			if (p < r->nprogs) {
				double q = ratio(r, p, base, (int)e);
				s = q > 0 ? q : 0;
			} else {
				s = geomean_ratio(r, base, (int)e, NULL);
			}
			if (s > 0)
				fprintf(f, " %.4f", s);
			else
				fprintf(f, " NaN");
		}
		fprintf(f, "\n");
	}
	return fclose(f) ? -EIO : cols;
}

/* Writes @name.gp drawing @name.dat into @name.svg and @name.png. */
static int write_gp(const struct bench_result *r, const char *dir, const char *name, int ablation,
		    const char *ylabel, const char *title)
{
	char file[64];
	snprintf(file, sizeof(file), "%s.gp", name);
	FILE *f = open_in(dir, file);
	if (!f)
		return -errno;
	int ncols = 0;
	for (size_t e = 0; e < r->nengines; e++)
		ncols += drawn(r, e, ablation);
	fprintf(f,
		"# %s.gp - written by safebpf bench; gnuplot %s.gp draws %s.svg and %s.png\n"
		"set title \"%s\"\n"
		"set ylabel \"%s\"\n"
		"set style data histograms\n"
		"set style histogram clustered gap 1\n"
		"set style fill solid 0.85 border -1\n"
		"set boxwidth 0.9\n"
		"set xtics rotate by -50 scale 0 font \",9\"\n"
		"set logscale y 2\n"
		"%s"
		"set grid ytics\n"
		"set key top left horizontal\n"
		"set arrow from graph 0, first 1 to graph 1, first 1 nohead lw 2 lc rgb \"black\"\n"
		"set datafile missing \"NaN\"\n",
		name, name, name, name, title, ylabel,
		ablation ? "set yrange [0.7:1.6]\n"
			   "set ytics (\"0.7\" 0.7, \"0.8\" 0.8, \"0.9\" 0.9, \"1\" 1, \"1.1\" 1.1, \"1.25\" 1.25, \"1.5\" 1.5)\n"
			 : "set yrange [0.125:8]\n"
			   "set ytics (\"1/8\" 0.125, \"1/4\" 0.25, \"1/2\" 0.5, \"1\" 1, \"1.5\" 1.5, \"2\" 2, \"3\" 3, \"4\" 4, \"8\" 8)\n");
	const char *terms[2][2] = {
		{ "svg size 1400,560 dynamic noenhanced font \"sans,11\"", "svg" },
		{ "pngcairo size 1400,560 noenhanced font \"sans,10\"", "png" },
	};
	for (int t = 0; t < 2; t++) {
		fprintf(f, "set terminal %s\nset output \"%s.%s\"\n", terms[t][0], name, terms[t][1]);
		fprintf(f, "plot for [i=2:%d] \"%s.dat\" using i:xtic(1) title columnheader(i)\n", ncols + 1, name);
	}
	return fclose(f) ? -EIO : 0;
}

/* Runs gnuplot on @name.gp inside @dir. Returns 0, or the failing status. */
static int run_gnuplot(const char *dir, const char *name, char *why, size_t whysz)
{
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "cd '%s' && gnuplot %s.gp 2>&1", dir, name);
	FILE *p = popen(cmd, "r");
	if (!p) {
		snprintf(why, whysz, "cannot run gnuplot: %s", strerror(errno));
		return -errno;
	}
	char line[256], first[256] = "";
	while (fgets(line, sizeof(line), p))
		if (!first[0])
			snprintf(first, sizeof(first), "%s", line);
	int st = pclose(p);
	if (st) {
		first[strcspn(first, "\n")] = '\0';
		snprintf(why, whysz, "gnuplot failed (status %d)%s%s", WIFEXITED(st) ? WEXITSTATUS(st) : st,
			 first[0] ? ": " : "", first);
		return st;
	}
	return 0;
}

int bench_report_plot(const struct bench_result *r, const char *dir, char *why, size_t whysz)
{
	int k = bench_baseline(r);
	if (k < 0) {
		snprintf(why, whysz, "no kernel JIT baseline to plot against");
		return -EINVAL;
	}
	int rc = write_dat(r, dir, "micro", k, 0);
	if (rc < 0 || (rc = write_gp(r, dir, "micro", 0, "speedup over the kernel JIT (log scale)",
				     "safebpf microbenchmarks: speedup over the kernel JIT (median of per-round ratios)")) ||
	    (rc = run_gnuplot(dir, "micro", why, whysz))) {
		if (rc < 0 && !why[0])
			snprintf(why, whysz, "cannot write the plot files: %s", strerror(-rc));
		return rc;
	}
	int v = find_engine(r, BENCH_JIT_UNCHECKED, NULL);
	int abl = 0;
	for (size_t e = 0; e < r->nengines; e++)
		abl |= drawn(r, e, 1);
	if (!abl || v < 0)
		return 0;
	rc = write_dat(r, dir, "ablation", v, 1);
	if (rc <= 0) /* no ablation data: no plot */
		return rc < 0 ? rc : 0;
	if ((rc = write_gp(r, dir, "ablation", 1, "speedup over the vanilla JIT (log scale)",
			   "EInsn per-op ablation: one operation at a time vs the vanilla JIT")) ||
	    (rc = run_gnuplot(dir, "ablation", why, whysz)))
		return rc;
	return 0;
}
