/* cmd_bench.c - `safebpf bench`: the microbenchmark suite (bench/micro) on
 * every engine side by side. Each benchmark is one restricted-C source
 * built as an XDP object (clang -O2 -target bpf) and as a native function
 * (cc -O2, build/bench/micro/native.so); SUITE names them with their
 * expected result. Per benchmark the engines are loaded, calibrated (runs
 * per measurement so that one measurement takes about --time ms), then
 * measured in --rounds rounds, the engine order rotating from round to
 * round; every measurement's result is checked. Reports: tables on stdout
 * (bench_report.c), CSV and gnuplot SVG/PNG in --out. Progress on stderr.
 */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "benchInt.h"
#include "cli.h"
#include "safebpf/elf.h"

#define MAX_ENGINES 24

static void usage(FILE *f)
{
	fprintf(f,
		"usage: safebpf bench [--only NAMES] [--engines NAMES] [--no-ablation] [--rounds N]\n"
		"                     [--time MS] [--check] [--out DIR] [--no-plot]\n"
		"                     [--suite FILE] [--objdir DIR] [--native SO] [--native-clang SO]\n"
		"                     [--packet FILE]\n"
		"\n"
		"Runs the microbenchmarks of bench/micro on every engine, alternating engines\n"
		"across rounds, checks every result against the suite's expected value, and\n"
		"prints median time per run, ratios to the kernel JIT, the share of the native\n"
		"gap recovered, geomeans, code sizes and EInsn sites; writes CSV and a gnuplot\n"
		"plot (SVG, PNG) into --out. Build the programs first: make bench-micro.\n"
		"\n"
		"Engines: kernel (verifier + JIT, BPF_PROG_TEST_RUN), interp (reference, fewer\n"
		"rounds), jit (checked), jit-unchecked (vanilla JIT), einsn (JIT with the seven\n"
		"EInsn operations) and einsn:OP (one operation at a time: the per-op ablation),\n"
		"llvm (the whole program through LLVM O2 after the kernel verifier; compile\n"
		"times cold and from the cache), native-gcc (cc -O2), native-clang (clang -O2) and\n"
		"native (per benchmark the faster of the two: the native gap is measured to it;\n"
		"--engines native runs both).\n"
		"\n"
		"  --only NAMES      comma-separated benchmarks (default: all of the suite)\n"
		"  --engines NAMES   comma-separated engines (default: all)\n"
		"  --no-ablation     leave out the einsn:OP columns\n"
		"  --rounds N        measurement rounds (default 7; the interpreter does 3)\n"
		"  --time MS         aimed time of one measurement (default 25)\n"
		"  --check           correctness only: one run per engine, print every result\n"
		"  --out DIR         results folder (default build/bench/results)\n"
		"  --no-plot         do not run gnuplot\n"
		"  --suite FILE      benchmark list (default bench/micro/SUITE)\n"
		"  --objdir DIR      BPF objects NAME.o (default build/bench/micro)\n"
		"  --native SO       gcc native builds (default build/bench/micro/native.so)\n"
		"  --native-clang SO clang native builds (default build/bench/micro/native-clang.so)\n"
		"  --packet FILE     input packet as hex (default bench/micro/packet.txt)\n"
		"\n"
		"Exit: 0 every engine agreed, 1 a wrong result or failed run, 2 usage, 3 bad input.\n");
}

struct bench_args {
	const char *suite, *objdir, *native, *native_clang, *packet, *out; /* paths */
	const char *only;          /* --only */
	const char *engines;       /* --engines */
	int ablation;              /* per-op EInsn columns */
	int rounds;                /* --rounds */
	double time_ms;            /* --time */
	int check;                 /* --check */
	int plot;                  /* draw the plot */
};

/* 1 when @name is in the comma-separated @list (NULL: everything). */
static int in_list(const char *list, const char *name)
{
	if (!list)
		return 1;
	size_t n = strlen(name);
	for (const char *p = list; *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == n && !strncmp(p, name, n))
			return 1;
		p += len + (end ? 1 : 0);
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct bench_args *a)
{
	*a = (struct bench_args){
		.suite = "bench/micro/SUITE", .objdir = "build/bench/micro",
		.native = "build/bench/micro/native.so",
		.native_clang = "build/bench/micro/native-clang.so", .packet = "bench/micro/packet.txt",
		.out = "build/bench/results", .ablation = 1, .rounds = 7, .time_ms = 25, .plot = 1,
	};
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		int more = i + 1 < argc;
		if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
			usage(stdout);
			return EXIT_OK;
		} else if (!strcmp(arg, "--only") && more) {
			a->only = argv[++i];
		} else if (!strcmp(arg, "--engines") && more) {
			a->engines = argv[++i];
		} else if (!strcmp(arg, "--no-ablation")) {
			a->ablation = 0;
		} else if (!strcmp(arg, "--check")) {
			a->check = 1;
		} else if (!strcmp(arg, "--no-plot")) {
			a->plot = 0;
		} else if (!strcmp(arg, "--rounds") && more) {
			char *end;
			long v = strtol(argv[++i], &end, 10);
			if (*end || v < 1 || v > 1000) {
				fprintf(stderr, "safebpf bench: --rounds wants 1..1000, not '%s'\n", argv[i]);
				return EXIT_USAGE;
			}
			a->rounds = (int)v;
		} else if (!strcmp(arg, "--time") && more) {
			char *end;
			double v = strtod(argv[++i], &end);
			if (*end || !(v >= 0.01 && v <= 60000)) {
				fprintf(stderr, "safebpf bench: --time wants milliseconds (0.01..60000), not '%s'\n",
					argv[i]);
				return EXIT_USAGE;
			}
			a->time_ms = v;
		} else if (!strcmp(arg, "--out") && more) {
			a->out = argv[++i];
		} else if (!strcmp(arg, "--suite") && more) {
			a->suite = argv[++i];
		} else if (!strcmp(arg, "--objdir") && more) {
			a->objdir = argv[++i];
		} else if (!strcmp(arg, "--native") && more) {
			a->native = argv[++i];
		} else if (!strcmp(arg, "--native-clang") && more) {
			a->native_clang = argv[++i];
		} else if (!strcmp(arg, "--packet") && more) {
			a->packet = argv[++i];
		} else {
			fprintf(stderr, "safebpf bench: unknown option or missing value: %s\n", arg);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	return -1;
}

/* ---- inputs ---- */

/* Reads the packet: hex digits of the lines that do not start with '#'. */
static uint8_t *read_packet(const char *path, size_t *len)
{
	char *text = cli_read_file(path, NULL);
	if (!text)
		return NULL;
	uint8_t *out = malloc(strlen(text) / 2 + 1);
	size_t n = 0;
	int hi = -1, bad = !out;
	for (char *line = text; line && *line && !bad;) {
		char *nl = strchr(line, '\n');
		if (*line != '#')
			for (char *p = line; *p && *p != '\n'; p++) {
				int v = *p >= '0' && *p <= '9' ? *p - '0' : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 :
					*p >= 'A' && *p <= 'F' ? *p - 'A' + 10 : -1;
				if (v < 0) {
					if (*p != ' ' && *p != '\t' && *p != '\r')
						bad = 1;
					continue;
				}
				if (hi < 0)
					hi = v;
				else {
					out[n++] = (uint8_t)(hi << 4 | v);
					hi = -1;
				}
			}
		line = nl ? nl + 1 : NULL;
	}
	free(text);
	if (bad || hi >= 0 || !n) {
		fprintf(stderr, "safebpf bench: %s: not a packet (hex bytes, '#' comments)\n", path);
		free(out);
		return NULL;
	}
	*len = n;
	return out;
}

/* Reads SUITE: "name expected description..." per line, '#' comments.
 * Returns the programs (names, expectations, descriptions) or NULL. */
static struct bench_prog *read_suite(const char *path, const char *only, size_t *count)
{
	char *text = cli_read_file(path, NULL);
	if (!text)
		return NULL;
	struct bench_prog *progs = NULL;
	size_t n = 0, cap = 0, lineno = 0;
	int bad = 0;
	for (char *line = text; line && *line && !bad;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		lineno++;
		char name[64], expect[32];
		int used = 0;
		if (line[0] != '#' && sscanf(line, "%63s %31s %n", name, expect, &used) >= 2) {
			char *end;
			unsigned long v = strtoul(expect, &end, 0);
			if (*end || v > UINT32_MAX || strlen(name) >= sizeof(progs->name)) {
				fprintf(stderr, "safebpf bench: %s:%zu: want 'name expected-result description'\n",
					path, lineno);
				bad = 1;
			} else if (in_list(only, name)) {
				if (n == cap) {
					cap = cap ? cap * 2 : 32;
					struct bench_prog *p = realloc(progs, cap * sizeof(*p));
					if (!p) {
						bad = 1;
						break;
					}
					progs = p;
				}
				struct bench_prog *p = &progs[n++];
				memset(p, 0, sizeof(*p));
				snprintf(p->name, sizeof(p->name), "%.47s", name);
				snprintf(p->desc, sizeof(p->desc), "%s", line + used);
				p->expect = (uint32_t)v;
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	free(text);
	if (!bad && !n)
		fprintf(stderr, "safebpf bench: no benchmark of %s%s%s\n", path, only ? " matches --only " : "",
			only ? only : " is listed");
	if (bad || !n) {
		free(progs);
		return NULL;
	}
	*count = n;
	return progs;
}

/* Function @fn of the shared object @so and its code size, or NULL. */
static void *native_sym(void *so, const char *fn, size_t *size)
{
	void *f = so ? dlsym(so, fn) : NULL;
	const ElfW(Sym) *sym = NULL;
	Dl_info info;
	*size = f && dladdr1(f, &info, (void **)&sym, RTLD_DL_SYMENT) && sym ? sym->st_size : 0;
	return f;
}

/* Loads bench_<name> from <objdir>/<name>.o and its native twins (gcc
 * build from @so, clang build from @so_clang; either may be NULL). */
static int load_prog(struct bench_prog *p, const char *objdir, void *so, void *so_clang)
{
	char path[4096], fn[80];
	snprintf(path, sizeof(path), "%s/%s.o", objdir, p->name);
	snprintf(fn, sizeof(fn), "bench_%s", p->name);
	if (access(path, R_OK)) {
		fprintf(stderr, "safebpf bench: %s: %s (make bench-micro builds the suite)\n", path, strerror(errno));
		return -1;
	}
	struct sbpf_elf_error err = { "" };
	struct sbpf_elf *obj = sbpf_elf__open(path, &err);
	int idx = obj ? sbpf_elf__find_prog(obj, fn, &err) : -1;
	int rc = idx < 0 ? -1 : sbpf_elf__prog_insns_rodata(obj, (size_t)idx, &p->insns, &p->n,
							     &p->rodata, &p->rodata_len, &err);
	sbpf_elf__close(obj);
	if (rc) {
		fprintf(stderr, "safebpf bench: %s\n", err.msg);
		return -1;
	}
	p->native_fn = native_sym(so, fn, &p->native_size);
	p->native_clang_fn = native_sym(so_clang, fn, &p->native_clang_size);
	return 0;
}

/* ---- engines ---- */

/* Fills @e with the engines asked for; returns how many. */
static size_t pick_engines(const struct bench_args *a, struct bench_engine *e)
{
	static const struct { const char *name; enum bench_kind kind; } main_engines[] = {
		{ "kernel", BENCH_KERNEL }, { "interp", BENCH_INTERP }, { "jit", BENCH_JIT },
		{ "jit-unchecked", BENCH_JIT_UNCHECKED }, { "einsn", BENCH_EINSN }, { "llvm", BENCH_LLVM },
		{ "native-gcc", BENCH_NATIVE_GCC }, { "native-clang", BENCH_NATIVE_CLANG },
		{ "native", BENCH_NATIVE },
	};
	size_t n = 0;
	for (size_t i = 0; i < sizeof(main_engines) / sizeof(main_engines[0]); i++) {
		/* "native" in --engines brings the two builds it is made of */
		if (!in_list(a->engines, main_engines[i].name) &&
		    !((main_engines[i].kind == BENCH_NATIVE_GCC || main_engines[i].kind == BENCH_NATIVE_CLANG) &&
		      in_list(a->engines, "native")))
			continue;
		e[n] = (struct bench_engine){ .kind = main_engines[i].kind, .reference = main_engines[i].kind == BENCH_INTERP };
		snprintf(e[n].name, sizeof(e[n].name), "%s", main_engines[i].name);
		if (e[n].kind == BENCH_EINSN)
			for (uint32_t op = 1; op < SBPF_KOPS__MAX; op++)
				e[n].kops_mask |= 1u << op;
		n++;
	}
	/* --check leaves the ablation out unless --engines names its columns. */
	for (uint32_t op = 1; op < SBPF_KOPS__MAX && a->ablation && (!a->check || a->engines); op++) {
		const struct sbpf_kops_info *in = sbpf_kops_info(op);
		char name[32];
		snprintf(name, sizeof(name), "einsn:%s", in ? in->name : "?");
		if (!in || (a->engines && !in_list(a->engines, name) && !(in_list(a->engines, "einsn") && !a->check)) ||
		    n == MAX_ENGINES)
			continue;
		e[n] = (struct bench_engine){ .kind = BENCH_EINSN, .kops_mask = 1u << op };
		snprintf(e[n].name, sizeof(e[n].name), "%s", name);
		n++;
	}
	return n;
}

/* ---- measuring ---- */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int progress_tty; /* stderr is a terminal: progress on one rewritten line */

static void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void progress(const char *fmt, ...)
{
	if (!progress_tty)
		return;
	va_list ap;
	va_start(ap, fmt);
	fputs("\r\033[K", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
}

/* One measurement of @h into cell @c; checks the result. 0, or -1 when the
 * cell is now in error. */
static int measure(struct bench_handle *h, const struct bench_prog *p, struct bench_cell *c,
		   const uint8_t *pkt, size_t len, uint64_t runs, double *ns)
{
	uint64_t r0 = 0;
	char why[200] = "";
	if (bench_engine_run(h, pkt, len, runs, &r0, ns, why, sizeof(why))) {
		c->state = 2;
		snprintf(c->note, sizeof(c->note), "%s", why);
		return -1;
	}
	if ((uint32_t)r0 != p->expect) {
		c->state = 1;
		c->bad_r0 = r0;
		snprintf(c->note, sizeof(c->note), "returned 0x%08x, expected 0x%08x", (uint32_t)r0, p->expect);
		return -1;
	}
	return 0;
}

/* Loads every engine for @p (cells of unavailable engines are marked). */
static void load_all(const struct bench_prog *p, const struct bench_engine *e, size_t ne,
		     struct bench_cell *cells, struct bench_handle **h, const char *unavail[])
{
	for (size_t j = 0; j < ne; j++) {
		h[j] = NULL;
		if (e[j].kind == BENCH_NATIVE)
			continue; /* not run: bench_native_best() */
		if (unavail[j]) {
			cells[j].state = 3;
			snprintf(cells[j].note, sizeof(cells[j].note), "%s", unavail[j]);
			continue;
		}
		char why[200] = "";
		h[j] = bench_engine_load(&e[j], p, why, sizeof(why));
		if (!h[j]) {
			cells[j].state = 2;
			snprintf(cells[j].note, sizeof(cells[j].note), "cannot load: %s", why);
			continue;
		}
		cells[j].code_size = bench_engine_code_size(h[j]);
		snprintf(cells[j].note, sizeof(cells[j].note), "%s", bench_engine_note(h[j]));
		bench_engine_sites(h[j], cells[j].sites);
		bench_engine_compile(h[j], &cells[j].compile);
	}
}

/* Measures program @p on every engine: calibration, then rounds with the
 * engine order rotating. */
static void run_prog(const struct bench_args *a, size_t pi, size_t np, const struct bench_prog *p,
		     const struct bench_engine *e, size_t ne, struct bench_cell *cells,
		     const char *unavail[], const uint8_t *pkt, size_t len)
{
	struct bench_handle *h[MAX_ENGINES];
	progress("[%2zu/%zu] %-14s loading", pi + 1, np, p->name);
	load_all(p, e, ne, cells, h, unavail);
	double target = a->time_ms * 1e6;
	for (size_t j = 0; j < ne; j++) {
		if (!h[j])
			continue;
		progress("[%2zu/%zu] %-14s calibrating %s", pi + 1, np, p->name, e[j].name);
		double ns = 0;
		uint64_t runs = 1;
		/* Grow the run count until a measurement takes a tenth of the
		 * target, then scale to the target. */
		while (!measure(h[j], p, &cells[j], pkt, len, runs, &ns)) {
			double total = ns * (double)runs;
			if (a->check || total >= target / 10 || runs >= (1u << 30))
				break;
			runs = total > 0 ? (uint64_t)ceil(runs * (target / 10) / total) + 1 : runs * 16;
		}
		if (cells[j].state)
			continue;
		cells[j].runs = a->check ? 1 : (uint64_t)fmax(1, ceil(target / fmax(ns, 1)));
	}
	if (a->check)
		goto out;
	for (int r = 0; r < a->rounds; r++)
		for (size_t k = 0; k < ne; k++) {
			size_t j = (k + (size_t)r) % ne;
			if (!h[j] || cells[j].state || (e[j].reference && r >= 3))
				continue;
			progress("[%2zu/%zu] %-14s round %d/%d  %s", pi + 1, np, p->name, r + 1, a->rounds, e[j].name);
			double ns;
			if (!measure(h[j], p, &cells[j], pkt, len, cells[j].runs, &ns) &&
			    bench_cell_add(&cells[j], ns)) {
				cells[j].state = 2;
				snprintf(cells[j].note, sizeof(cells[j].note), "out of memory");
			}
		}
out:
	for (size_t j = 0; j < ne; j++) {
		bench_engine_unload(h[j]);
		bench_cell_stats(&cells[j]);
	}
}

/* --check: one line per benchmark with every engine's verdict. */
static int print_check(const struct bench_result *res)
{
	int bad = 0;
	for (size_t p = 0; p < res->nprogs; p++) {
		printf("%-14s expect 0x%08x:", res->progs[p].name, res->progs[p].expect);
		for (size_t e = 0; e < res->nengines; e++) {
			const struct bench_cell *c = &res->cells[p * res->nengines + e];
			const char *v = c->state == 0 ? "ok" : c->state == 1 ? "WRONG" : c->state == 2 ? "ERROR" : "n/a";
			printf(" %s=%s", res->engines[e].name, v);
			if (c->state == 1)
				printf("(0x%08x)", (uint32_t)c->bad_r0);
			bad |= c->state == 1 || c->state == 2;
		}
		putchar('\n');
		for (size_t e = 0; e < res->nengines; e++) {
			const struct bench_cell *c = &res->cells[p * res->nengines + e];
			if (c->state == 2 || (c->state == 0 && c->note[0]))
				printf("  %s: %s\n", res->engines[e].name, c->note);
		}
	}
	for (size_t e = 0; e < res->nengines; e++)
		if (res->cells[e].state == 3)
			printf("not available: %s: %s\n", res->engines[e].name, res->cells[e].note);
	return bad;
}

/* mkdir -p for @dir. */
static int make_dirs(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s", dir);
	for (char *p = path + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(path, 0755) && errno != EEXIST)
				return -errno;
			*p = '/';
		}
	return mkdir(path, 0755) && errno != EEXIST ? -errno : 0;
}

int cmd_bench(int argc, char **argv)
{
	struct bench_args a;
	int rc = parse_args(argc, argv, &a);
	if (rc >= 0)
		return rc;
	progress_tty = isatty(2);
	size_t np = 0, len = 0;
	struct bench_prog *progs = read_suite(a.suite, a.only, &np);
	uint8_t *pkt = progs ? read_packet(a.packet, &len) : NULL;
	if (!pkt) {
		free(progs);
		return EXIT_INPUT;
	}
	struct bench_engine engines[MAX_ENGINES];
	size_t ne = pick_engines(&a, engines);
	if (!ne) {
		fprintf(stderr, "safebpf bench: --engines %s names no engine\n", a.engines);
		free(progs);
		free(pkt);
		return EXIT_USAGE;
	}
	const char *unavail[MAX_ENGINES] = { 0 };
	static char reasons[MAX_ENGINES][200];
	void *so = NULL, *so_clang = NULL;
	for (size_t j = 0; j < ne; j++) {
		if (engines[j].kind == BENCH_NATIVE_GCC || engines[j].kind == BENCH_NATIVE_CLANG) {
			int gcc = engines[j].kind == BENCH_NATIVE_GCC;
			void **h = gcc ? &so : &so_clang;
			*h = dlopen(gcc ? a.native : a.native_clang, RTLD_NOW | RTLD_LOCAL);
			if (!*h) {
				snprintf(reasons[j], sizeof(reasons[j]), "no %s native builds: %s",
					 gcc ? "gcc" : "clang", dlerror());
				unavail[j] = reasons[j];
			}
		} else if (engines[j].kind == BENCH_NATIVE) {
			/* filled from the two builds after the runs */
		} else if (bench_engine_available(engines[j].kind, reasons[j], sizeof(reasons[j]))) {
			unavail[j] = reasons[j];
		}
		if (unavail[j] && !strchr(engines[j].name, ':'))
			fprintf(stderr, "safebpf bench: engine %s not available: %s\n", engines[j].name, unavail[j]);
	}
	rc = EXIT_OK;
	for (size_t i = 0; i < np && rc == EXIT_OK; i++)
		if (load_prog(&progs[i], a.objdir, so, so_clang))
			rc = EXIT_INPUT;
	struct bench_cell *cells = rc ? NULL : calloc(np * ne, sizeof(*cells));
	if (!rc && !cells)
		rc = EXIT_FAIL;
	struct bench_result res = {
		.progs = progs, .nprogs = np, .engines = engines, .nengines = ne, .cells = cells,
		.rounds = a.rounds, .target_ms = a.time_ms,
	};
	double t0 = now_s();
	for (size_t i = 0; i < np && !rc; i++) {
		double t1 = now_s();
		run_prog(&a, i, np, &progs[i], engines, ne, &cells[i * ne], unavail, pkt, len);
		if (a.check)
			continue;
		if (progress_tty)
			fputs("\r\033[K", stderr);
		fprintf(stderr, "[%2zu/%zu] %-14s %.1f s\n", i + 1, np, progs[i].name, now_s() - t1);
	}
	if (!rc && bench_native_best(&res))
		rc = EXIT_FAIL;
	if (!rc && a.check) {
		rc = print_check(&res) ? EXIT_FAIL : EXIT_OK;
	} else if (!rc) {
		int interp = 0;
		for (size_t j = 0; j < ne; j++)
			interp |= engines[j].reference;
		printf("safebpf bench: %zu benchmarks, %d rounds%s, ~%g ms per measurement, %.0f s\n", np,
		       a.rounds, interp && a.rounds > 3 ? " (interpreter 3)" : "", a.time_ms, now_s() - t0);
		bench_report_table(&res, stdout);
		for (size_t c = 0; c < np * ne; c++)
			if (cells[c].state == 1 || cells[c].state == 2)
				rc = EXIT_FAIL;
		int w = make_dirs(a.out);
		if (!w)
			w = bench_report_csv(&res, a.out);
		if (w)
			fprintf(stderr, "safebpf bench: cannot write results into %s: %s\n", a.out, strerror(-w));
		else
			printf("\nWrote %s/micro.csv (every measurement), %s/micro-summary.csv\n", a.out, a.out);
		char why[300] = "";
		if (!w && a.plot) {
			if (bench_report_plot(&res, a.out, why, sizeof(why)))
				fprintf(stderr, "safebpf bench: no plot: %s\n", why);
			else
				printf("Plotted %s/micro.svg and %s/micro.png\n", a.out, a.out);
		}
	}
	for (size_t c = 0; cells && c < np * ne; c++)
		free(cells[c].ns);
	free(cells);
	for (size_t i = 0; i < np; i++) {
		free(progs[i].insns);
		free(progs[i].rodata);
	}
	free(progs);
	free(pkt);
	if (so)
		dlclose(so);
	if (so_clang)
		dlclose(so_clang);
	return rc;
}
