/* benchInt.h - private interfaces of `safebpf bench` (the microbenchmark
 * suite of bench/micro): the programs, the engines that run them (kernel
 * JIT, interpreter, safebpf JIT, EInsn, native code) and the statistics
 * and reports (table, CSV, gnuplot).
 *
 *   cmd_bench.c      options, the suite file, calibration, rounds, checks
 *   bench_engines.c  one adapter per engine over the library
 *   bench_report.c   medians and spreads, ratios and geomeans, table, CSV, plot
 */
#ifndef SAFEBPF_CLI_BENCH_INT_H
#define SAFEBPF_CLI_BENCH_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "safebpf/isa.h"
#include "safebpf/kops.h"

/* One benchmark of the suite, loaded. */
struct bench_prog {
	char name[48];              /* "crc32": program bench_<name> in <objdir>/<name>.o */
	char desc[160];             /* what it does (SUITE's last column) */
	uint32_t expect;            /* expected r0 (low 32 bits) */
	struct sbpf_insn *insns;    /* the XDP program (clang -O2 -target bpf) */
	size_t n;                   /* its slots */
	uint8_t *rodata;            /* its read-only data, or NULL */
	size_t rodata_len;          /* bytes of rodata */
	void *native_fn;            /* the same source built by cc (gcc) -O2, or NULL */
	size_t native_size;         /* bytes of that function's code (symbol size) */
	void *native_clang_fn;      /* the same source built by clang -O2, or NULL */
	size_t native_clang_size;   /* bytes of that function's code */
};

/* Kinds of engine. */
enum bench_kind {
	BENCH_KERNEL,        /* kernel verifier + JIT, BPF_PROG_TEST_RUN */
	BENCH_INTERP,        /* safebpf interpreter (reference) */
	BENCH_JIT,           /* safebpf JIT, bounds-checked */
	BENCH_JIT_UNCHECKED, /* safebpf JIT, vanilla (verifier-trusting) */
	BENCH_EINSN,         /* safebpf JIT with EInsn native operations */
	BENCH_NATIVE,        /* native code: per benchmark the faster of the two below (not
			      * measured itself: filled from them, bench_native_best()) */
	BENCH_NATIVE_GCC,    /* the C source compiled by cc (gcc) -O2 */
	BENCH_NATIVE_CLANG,  /* the C source compiled by clang -O2 */
	BENCH_LLVM,          /* the whole program through LLVM O2 (safebpf/llvm.h), verified first */
};

/* What loading cost (engines that compile: jit, einsn, llvm). */
struct bench_compile {
	double cold_ms;             /* translate + optimize + codegen + load, nothing cached */
	double cached_ms;           /* the same program again, its object from the cache (llvm) */
	size_t ir_insns;            /* llvm: IR instructions after O2 */
	long rss_kb;                /* llvm: growth of the peak RSS during the cold compile */
};

/* An engine column. EInsn engines carry the set of operations allowed
 * (all seven, or one at a time for the per-op ablation). */
struct bench_engine {
	char name[32];              /* column name: "kernel", "einsn", "einsn:rotate" */
	enum bench_kind kind;       /* adapter */
	uint32_t kops_mask;         /* BENCH_EINSN: bit (1 << op id) per operation allowed */
	int reference;              /* 1: result checked, timed with few runs only (interp) */
};

/* A loaded program on one engine. */
struct bench_handle;

/* Whether engines of @kind can run on this build/machine: 0, or -1 with
 * the reason in @why (e.g. the kernel without privileges, EInsn before the
 * recognizer and native emits are in). */
int bench_engine_available(enum bench_kind kind, char *why, size_t whysz);

/* Loads @p on @e. NULL with a reason in @why. */
struct bench_handle *bench_engine_load(const struct bench_engine *e, const struct bench_prog *p,
				       char *why, size_t whysz);
/* Runs @runs times on a copy of @pkt (@len bytes); *@r0 = the last run's
 * result, *@ns = time per run (kernel: BPF_PROG_TEST_RUN's; others: thread
 * CPU time / runs). Returns 0 or -1 with a reason in @why. */
int bench_engine_run(struct bench_handle *h, const uint8_t *pkt, size_t len, uint64_t runs,
		     uint64_t *r0, double *ns, char *why, size_t whysz);
/* Bytes of native code of the loaded program (0 when unknown). */
size_t bench_engine_code_size(const struct bench_handle *h);
/* What loading @h cost (zeros when not measured). */
void bench_engine_compile(const struct bench_handle *h, struct bench_compile *c);
/* Native-operation sites applied per operation id (EInsn engines; all 0
 * otherwise). */
void bench_engine_sites(const struct bench_handle *h, unsigned sites[SBPF_KOPS__MAX]);
/* A remark about how the program was loaded (e.g. EInsn sites dropped
 * because the verifier refused them), or "". */
const char *bench_engine_note(const struct bench_handle *h);
void bench_engine_unload(struct bench_handle *h);

/* ---- measurements and reports (bench_report.c) ---- */

/* Every measurement of one (program, engine) cell. */
struct bench_cell {
	double *ns;                 /* time per run of each round */
	size_t nrounds, cap;        /* used / allocated */
	uint64_t runs;              /* runs per measurement */
	int state;                  /* 0 ok, 1 wrong result, 2 could not load/run, 3 not available */
	char note[240];             /* why state != 0, or a remark when state == 0 */
	uint64_t bad_r0;            /* the wrong result (state 1) */
	size_t code_size;           /* bytes of native code */
	unsigned sites[SBPF_KOPS__MAX]; /* EInsn sites per op */
	struct bench_compile compile;   /* what loading cost */
	/* filled by bench_report_stats() */
	double median, q1, q3, min, max;
};

/* Adds one measurement. Returns 0 or -ENOMEM. */
int bench_cell_add(struct bench_cell *c, double ns);
/* Median, quartiles, extremes of every cell with measurements. */
void bench_cell_stats(struct bench_cell *c);

/* The whole result: cells[prog * nengines + engine]. */
struct bench_result {
	const struct bench_prog *progs;    /* programs */
	size_t nprogs;
	const struct bench_engine *engines; /* engines (the first kernel is the baseline) */
	size_t nengines;
	struct bench_cell *cells;          /* nprogs * nengines */
	int rounds;                        /* rounds measured */
	double target_ms;                  /* aimed time per measurement */
};

/* Prints the main table (time per run, ratios to the kernel JIT, native gap
 * recovered, geomeans, code sizes) and the per-op ablation table to @f. */
void bench_report_table(const struct bench_result *r, FILE *f);
/* Writes <dir>/micro.csv (every measurement) and <dir>/micro-summary.csv
 * (one row per cell). Returns 0 or -errno. */
int bench_report_csv(const struct bench_result *r, const char *dir);
/* Writes <dir>/micro.dat and micro.gp and runs gnuplot to draw
 * <dir>/micro.svg and micro.png (speedup over the kernel JIT per program
 * and engine). Returns 0, or -errno / a positive gnuplot status, with
 * @why filled. */
int bench_report_plot(const struct bench_result *r, const char *dir, char *why, size_t whysz);

/* Fills the cells of the BENCH_NATIVE column of @r, per benchmark, with
 * a copy of the faster (lower median) of its BENCH_NATIVE_GCC and
 * BENCH_NATIVE_CLANG cells (the one that ran when only one did), and
 * notes which one it is. Call after bench_cell_stats(). Returns 0 or
 * -ENOMEM. */
int bench_native_best(struct bench_result *r);

/* Index of the baseline (kernel) engine in @r, or -1. */
int bench_baseline(const struct bench_result *r);

#endif /* SAFEBPF_CLI_BENCH_INT_H */
