/* cmd_difftest.c - `safebpf difftest`: differential testing of the engines
 * on generated programs (safebpf/testgen.h).
 *
 * Every program runs in its mem form on the interpreter and the JIT; with
 * --kernel, kernel-safe programs also run in their xdp form on the
 * interpreter, the JIT (checked and unchecked) and the kernel
 * (BPF_PROG_TEST_RUN) when the verifier accepts them. Engines must agree on the outcome: r0 (the low 32 bits
 * against the kernel, which keeps no more), the memory afterwards, or the
 * same error at the same pc. A disagreement is minimized by dropping
 * instructions while it persists and saved as a .data regression file whose
 * -- result is the reference engine's (interpreter, or kernel when the
 * kernel disagrees with the interpreter).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "engine.h"
#include "safebpf/asm.h"
#include "safebpf/kernel.h"
#include "safebpf/testgen.h"

#define MEMSZ SBPF_GEN_MEM_SIZE

static void usage(FILE *f)
{
	fprintf(f,
		"usage: safebpf difftest [--count N] [--seed S] [--kernel] [--kernel-every K]\n"
		"                        [--save-dir D] [--len L] [--no-minimize]\n"
		"                        [--kernel-fetch-atomics] [--engine E] [-v]\n"
		"\n"
		"Generates N random valid, terminating programs (seeds S..S+N-1) and runs\n"
		"each on the interpreter and the JIT (or engine E); they must agree on r0 and on the\n"
		"memory afterwards. Half the programs use only what the kernel verifier\n"
		"accepts; with --kernel every K-th of those also runs as XDP on the\n"
		"interpreter, the JIT and the kernel (BPF_PROG_TEST_RUN). A disagreement is\n"
		"minimized and saved as D/difftest-SEED.data.\n"
		"\n"
		"  --count N         programs to generate (default 1000)\n"
		"  --seed S          first seed (default 1)\n"
		"  --kernel          also compare against the kernel (needs CAP_BPF)\n"
		"  --kernel-every K  send every K-th kernel-safe program to the kernel (default 1)\n"
		"  --save-dir D      where failing cases go (default tests/data)\n"
		"  --len L           about L body instructions per program (default 48)\n"
		"  --no-minimize     save failing cases as generated\n"
		"  --kernel-fetch-atomics  let kernel-bound programs use fetching atomics too\n"
		"                    (Linux 6.18's verifier mis-prunes after them: see\n"
		"                    tests/xdp/kernel-bugs/atomic-fetch-precision.s)\n"
		"  --engine E        compare the interpreter with engine E instead of the JIT\n"
		"                    (e.g. llvm: mem forms are compiled without the kernel\n"
		"                    verifier, as --test-skip-verifier; with --kernel, the xdp\n"
		"                    forms the kernel accepted run on E too, verified)\n"
		"  -v, --verbose     print each kernel rejection\n"
		"\n"
		"Ends with 'difftest: N passed, N failed'. Exit: 0 all agree, 1 a difference,\n"
		"2 usage.\n");
}

struct dt_args {
	uint64_t count;          /* --count */
	uint64_t seed;           /* --seed */
	int kernel;              /* --kernel */
	uint64_t kernel_every;   /* --kernel-every */
	const char *save_dir;    /* --save-dir */
	unsigned len;            /* --len */
	int minimize;            /* not --no-minimize */
	int verbose;             /* -v */
	int kernel_fetch;        /* --kernel-fetch-atomics */
	const char *engine;      /* --engine: the engine under test (default "jit") */
};

/* The engine under test when it is not the JIT: it compiles mem forms
 * without the kernel verifier (--test-skip-verifier). Fair: generated
 * programs are memory-safe and terminate by construction, and the
 * interpreter (which checks every access) runs each one first. */
static const struct cli_engine *unverified_engine;

/* What one engine did with one program. */
struct outcome {
	int loaded;              /* the engine accepted the program */
	int rc;                  /* 0, or the run's negative errno */
	uint64_t r0;             /* r0 when rc == 0 */
	size_t pc;               /* failing pc when rc != 0 */
	char why[320];           /* load or run failure, for people */
	uint8_t mem[MEMSZ];      /* memory afterwards */
};

/* One comparison between a reference engine and another. */
struct pair {
	const struct cli_engine *ref;   /* the engine whose answer counts */
	const struct cli_engine *other; /* the engine under test */
	enum sbpf_prog_type type;       /* form of the program */
	const uint8_t *input;           /* input memory (MEMSZ bytes) */
	uint64_t r0_mask;               /* bits of r0 compared */
	int ref_rc;                     /* reference outcome of the original (kept while minimizing) */
};

static void run_on(const struct cli_engine *e, enum sbpf_prog_type type, const struct sbpf_insn *insns,
		   size_t n, const uint8_t *input, struct outcome *o)
{
	struct cli_engine_opts eo = { .sz = sizeof(eo), .type = type, .type_set = 1,
				      .skip_verifier = e == unverified_engine && type == SBPF_PROG_MEM };
	memset(o, 0, sizeof(*o));
	memcpy(o->mem, input, MEMSZ);
	void *h = e->load(insns, n, &eo, o->why, sizeof(o->why));
	if (!h)
		return;
	o->loaded = 1;
	struct sbpf_run_error err = { 0 };
	o->rc = e->run(h, o->mem, MEMSZ, &o->r0, &err);
	if (o->rc) {
		o->pc = err.pc;
		snprintf(o->why, sizeof(o->why), "%s", err.reason);
	}
	e->unload(h);
}

/* 1 when @a and @b differ (both loaded); describes how in @how. */
static int differs(const struct outcome *a, const struct outcome *b, uint64_t mask, char *how, size_t howsz)
{
	if (a->rc != b->rc || (a->rc && a->pc != b->pc)) {
		snprintf(how, howsz, "outcome: %s%.150s vs %s%.150s", a->rc ? "error: " : "ok",
			 a->rc ? a->why : "", b->rc ? "error: " : "ok", b->rc ? b->why : "");
		return 1;
	}
	if (a->rc)
		return 0;
	if ((a->r0 & mask) != (b->r0 & mask)) {
		snprintf(how, howsz, "r0 0x%" PRIx64 " vs 0x%" PRIx64, a->r0 & mask, b->r0 & mask);
		return 1;
	}
	for (size_t i = 0; i < MEMSZ; i++)
		if (a->mem[i] != b->mem[i]) {
			snprintf(how, howsz, "memory byte %zu: 0x%02x vs 0x%02x", i, a->mem[i], b->mem[i]);
			return 1;
		}
	return 0;
}

/* Minimizer predicate: the pair still disagrees, the reference still ends
 * as it did (a candidate that loops or faults is not a fair reduction),
 * both engines still accept the program, and each engine gives the same
 * answer with its memory at another address (dropping the instruction that
 * overwrote r1 would otherwise leak a host pointer into r0; the kernel
 * reuses one packet address, so the user-space engine must be checked). */
static int still_fails(const struct sbpf_insn *insns, size_t n, void *arg)
{
	const struct pair *p = arg;
	struct outcome a, a2, b;
	char how[512];
	run_on(p->ref, p->type, insns, n, p->input, &a);
	if (!a.loaded || a.rc != p->ref_rc)
		return 0;
	run_on(p->ref, p->type, insns, n, p->input, &a2); /* a2.mem is elsewhere */
	if (differs(&a, &a2, p->r0_mask, how, sizeof(how)))
		return 0;
	run_on(p->other, p->type, insns, n, p->input, &b);
	if (!b.loaded)
		return 0;
	run_on(p->other, p->type, insns, n, p->input, &a2);
	if (differs(&b, &a2, p->r0_mask, how, sizeof(how)))
		return 0;
	return differs(&a, &b, p->r0_mask, how, sizeof(how));
}

static void hex_line(FILE *f, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x%s", b[i], i + 1 == n ? "\n" : (i + 1) % 32 == 0 ? "\n" : " ");
}

static void comment_outcome(FILE *f, const char *name, const struct outcome *o)
{
	if (o->rc)
		fprintf(f, "# %s: error at pc %zu: %s\n", name, o->pc, o->why);
	else
		fprintf(f, "# %s: r0 = 0x%" PRIx64 "\n", name, o->r0);
	fprintf(f, "# %s memory after:", name);
	for (size_t i = 0; i < MEMSZ; i++)
		fprintf(f, "%s%02x", i % 32 == 0 ? "\n#   " : " ", o->mem[i]);
	fputc('\n', f);
}

/* Minimizes (unless disabled) the failing program @insns of pair @p and
 * saves it, in its mem form, as SAVE_DIR/difftest-SEED.data. Prints where. */
static void save_case(const struct dt_args *a, uint64_t seed, struct pair *p,
		      const struct sbpf_insn *orig, size_t orig_n, size_t prologue)
{
	struct sbpf_insn *insns = malloc(orig_n * sizeof(*insns));
	if (!insns)
		return;
	memcpy(insns, orig, orig_n * sizeof(*insns));
	size_t n = orig_n;
	unsigned tries = 0;
	if (a->minimize)
		tries = sbpf_gen_minimize(insns, &n, prologue, still_fails, p);
	struct outcome ro, oo;
	run_on(p->ref, p->type, insns, n, p->input, &ro);
	run_on(p->other, p->type, insns, n, p->input, &oo);
	if (p->type == SBPF_PROG_XDP)
		sbpf_gen_swap_prologue(insns, n, prologue, SBPF_PROG_MEM);

	mkdir(a->save_dir, 0755);
	char path[4096];
	snprintf(path, sizeof(path), "%s/difftest-%" PRIu64 ".data", a->save_dir, seed);
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "safebpf difftest: cannot write %s: %s\n", path, strerror(errno));
		free(insns);
		return;
	}
	fprintf(f, "# difftest seed %" PRIu64 ": %s disagrees with %s (%s form%s)\n", seed, p->other->name,
		p->ref->name, p->type == SBPF_PROG_XDP ? "xdp" : "mem",
		p->type == SBPF_PROG_XDP ? ", saved in its mem form" : "");
	fprintf(f, "# minimized from %zu to %zu slots (%u candidates tried)\n", orig_n, n, tries);
	if (p->r0_mask != ~0ull)
		fprintf(f, "# the expected r0 is the kernel's: BPF_PROG_TEST_RUN keeps 32 bits\n");
	comment_outcome(f, p->ref->name, &ro);
	comment_outcome(f, p->other->name, &oo);
	fprintf(f, "-- asm\n");
	sbpf_disasm(insns, n, SBPF_DISASM_ASM, f);
	fprintf(f, "-- mem\n");
	hex_line(f, p->input, MEMSZ);
	if (!ro.rc)
		fprintf(f, "-- result\n0x%" PRIx64 "\n", ro.r0);
	else
		fprintf(f, "-- error\n%s\n", ro.why);
	fclose(f);
	printf("    minimized %zu -> %zu slots, saved %s\n", orig_n, n, path);
	free(insns);
}

/* Compares @other against the reference outcome @ref_out for one form;
 * on a difference prints it, saves the case and returns 1. */
static int check_pair(const struct dt_args *a, uint64_t seed, const struct cli_engine *ref,
		      const struct outcome *ref_out, const struct cli_engine *other,
		      enum sbpf_prog_type type, const struct sbpf_insn *insns, size_t n,
		      const struct sbpf_gen_prog *gp, uint64_t mask)
{
	struct outcome o;
	char how[512];
	run_on(other, type, insns, n, gp->mem, &o);
	if (!o.loaded) {
		printf("seed %" PRIu64 ": %s refused a program %s accepted: %s\n", seed, other->name, ref->name,
		       o.why);
		return 1;
	}
	if (!differs(ref_out, &o, mask, how, sizeof(how)))
		return 0;
	printf("seed %" PRIu64 " (%s form): %s disagrees with %s: %s\n", seed,
	       type == SBPF_PROG_XDP ? "xdp" : "mem", other->name, ref->name, how);
	struct pair p = { .ref = ref, .other = other, .type = type, .input = gp->mem, .r0_mask = mask,
			  .ref_rc = ref_out->rc };
	save_case(a, seed, &p, insns, n, gp->prologue);
	return 1;
}

/* Parses a number option value. */
static int num_arg(const char *opt, const char *v, uint64_t *out)
{
	char *end;
	errno = 0;
	*out = strtoull(v, &end, 0);
	if (errno || end == v || *end || v[0] == '-') {
		fprintf(stderr, "safebpf difftest: %s wants a number, not '%s'\n", opt, v);
		return -1;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct dt_args *a)
{
	*a = (struct dt_args){ .count = 1000, .seed = 1, .kernel_every = 1, .save_dir = "tests/data",
			       .len = 48, .minimize = 1, .engine = "jit" };
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		uint64_t v;
		if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
			usage(stdout);
			return EXIT_OK;
		} else if (!strcmp(arg, "--kernel")) {
			a->kernel = 1;
		} else if (!strcmp(arg, "--kernel-fetch-atomics")) {
			a->kernel_fetch = 1;
		} else if (!strcmp(arg, "--no-minimize")) {
			a->minimize = 0;
		} else if (!strcmp(arg, "-v") || !strcmp(arg, "--verbose")) {
			a->verbose = 1;
		} else if (i + 1 < argc && !strcmp(arg, "--count")) {
			if (num_arg(arg, argv[++i], &a->count))
				return EXIT_USAGE;
		} else if (i + 1 < argc && !strcmp(arg, "--seed")) {
			if (num_arg(arg, argv[++i], &a->seed))
				return EXIT_USAGE;
		} else if (i + 1 < argc && !strcmp(arg, "--kernel-every")) {
			if (num_arg(arg, argv[++i], &a->kernel_every) || !a->kernel_every) {
				fprintf(stderr, "safebpf difftest: --kernel-every wants a positive number\n");
				return EXIT_USAGE;
			}
		} else if (i + 1 < argc && !strcmp(arg, "--len")) {
			if (num_arg(arg, argv[++i], &v) || v == 0 || v > 100000) {
				fprintf(stderr, "safebpf difftest: --len wants 1..100000\n");
				return EXIT_USAGE;
			}
			a->len = (unsigned)v;
		} else if (i + 1 < argc && !strcmp(arg, "--engine")) {
			a->engine = argv[++i];
		} else if (i + 1 < argc && !strcmp(arg, "--save-dir")) {
			a->save_dir = argv[++i];
		} else {
			fprintf(stderr, "safebpf difftest: unknown option or missing value: %s\n", arg);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	return -1;
}

/* Counters for the summary. */
struct dt_stats {
	uint64_t programs, passed, failed;   /* programs generated / all agreed / some disagreed */
	uint64_t slots;                      /* total slots generated */
	uint64_t kernel_sent, kernel_rejected, kernel_agreed; /* xdp forms sent to the kernel */
	uint64_t jit_xdp;                    /* xdp forms the JIT ran too */
};

int cmd_difftest(int argc, char **argv)
{
	struct dt_args a;
	int rc = parse_args(argc, argv, &a);
	if (rc >= 0)
		return rc;
	const struct cli_engine *interp = cli_engine_find("interp");
	const struct cli_engine *jit = cli_engine_find(a.engine);
	const struct cli_engine *kernel = cli_engine_find("kernel");
	const struct cli_engine *unchecked = cli_engine_find("jit-unchecked");
	if (!interp || !jit || !kernel || !unchecked) {
		fprintf(stderr, "safebpf difftest: this build lacks an engine (interp, %s, kernel)\n", a.engine);
		return EXIT_FAIL;
	}
	const struct cli_engine *the_jit = cli_engine_find("jit");
	if (jit != the_jit)
		unverified_engine = jit;
	if (a.kernel) {
		char why[160];
		if (sbpf_kernel_check_privileges(why, sizeof(why))) {
			printf("kernel: skipped (%s)\n", why);
			a.kernel = 0;
		}
	}
	struct dt_stats st = { 0 };
	int jit_has_xdp = -1; /* unknown until the first xdp run */
	for (uint64_t i = 0; i < a.count; i++) {
		uint64_t seed = a.seed + i;
		int ksafe = (i % 2) == 0;
		struct sbpf_gen_opts go = { .sz = sizeof(go), .seed = seed, .body_len = a.len,
					    .kernel_safe = ksafe, .kernel_fetch = a.kernel_fetch };
		struct sbpf_gen_prog gp;
		char why[256];
		if (sbpf_gen_program(&go, &gp, why, sizeof(why))) {
			printf("seed %" PRIu64 ": %s\n", seed, why);
			st.programs++;
			st.failed++;
			continue;
		}
		st.programs++;
		st.slots += gp.mem_n;
		int bad = 0;
		size_t at;
		if (sbpf_gen_check_fair(gp.mem_insns, gp.mem_n, 0, &at) ||
		    sbpf_gen_check_fair(gp.xdp_insns, gp.xdp_n, gp.prologue, &at)) {
			printf("seed %" PRIu64 ": generator bug: slot %zu reads an unwritten value or uses a "
			       "pointer as a value\n", seed, at);
			st.failed++;
			sbpf_gen_prog__free(&gp);
			continue;
		}

		/* mem form: interpreter vs JIT */
		struct outcome ref;
		run_on(interp, SBPF_PROG_MEM, gp.mem_insns, gp.mem_n, gp.mem, &ref);
		if (!ref.loaded || ref.rc) {
			printf("seed %" PRIu64 ": the interpreter %s a generated program: %s\n", seed,
			       ref.loaded ? "failed on" : "refused", ref.why);
			bad = 1;
		} else {
			bad |= check_pair(&a, seed, interp, &ref, jit, SBPF_PROG_MEM, gp.mem_insns, gp.mem_n,
					  &gp, ~0ull);
		}

		/* xdp form: interpreter vs kernel (and the JIT when it has the type) */
		if (a.kernel && ksafe && (i / 2) % a.kernel_every == 0 && !bad) {
			struct outcome kref, kout;
			run_on(interp, SBPF_PROG_XDP, gp.xdp_insns, gp.xdp_n, gp.mem, &kref);
			st.kernel_sent++;
			if (!kref.loaded || kref.rc) {
				printf("seed %" PRIu64 ": the interpreter %s the xdp form: %s\n", seed,
				       kref.loaded ? "failed on" : "refused", kref.why);
				bad = 1;
			} else {
				run_on(kernel, SBPF_PROG_XDP, gp.xdp_insns, gp.xdp_n, gp.mem, &kout);
				if (!kout.loaded) {
					st.kernel_rejected++;
					if (a.verbose)
						printf("seed %" PRIu64 ": %s\n", seed, kout.why);
				} else {
					int kbad = check_pair(&a, seed, kernel, &kout, interp, SBPF_PROG_XDP,
							      gp.xdp_insns, gp.xdp_n, &gp, 0xffffffffull);
					if (jit_has_xdp) {
						struct outcome jo;
						run_on(jit, SBPF_PROG_XDP, gp.xdp_insns, gp.xdp_n, gp.mem, &jo);
						if (jit_has_xdp < 0)
							jit_has_xdp = !(jo.loaded && jo.rc == -EOPNOTSUPP);
						if (jit_has_xdp) {
							st.jit_xdp++;
							kbad |= check_pair(&a, seed, interp, &kref, jit, SBPF_PROG_XDP,
									   gp.xdp_insns, gp.xdp_n, &gp, ~0ull);
							/* verified (and safe by construction): unchecked code too */
							kbad |= check_pair(&a, seed, interp, &kref, unchecked,
									   SBPF_PROG_XDP, gp.xdp_insns, gp.xdp_n,
									   &gp, ~0ull);
						}
					}
					st.kernel_agreed += !kbad;
					bad |= kbad;
				}
			}
		}
		if (bad)
			st.failed++;
		else
			st.passed++;
		sbpf_gen_prog__free(&gp);
	}
	printf("interp vs %s: %" PRIu64 " programs (seeds %" PRIu64 "..%" PRIu64 ", %.1f slots on average)\n",
	       jit->name, st.programs, a.seed, a.seed + a.count - 1,
	       st.programs ? (double)st.slots / (double)st.programs : 0.0);
	if (a.kernel)
		printf("kernel: %" PRIu64 " xdp programs sent, %" PRIu64 " refused by the verifier, %" PRIu64
		       " agree (interp%s%s, jit-unchecked, kernel)\n", st.kernel_sent, st.kernel_rejected,
		       st.kernel_agreed, jit_has_xdp > 0 ? ", " : "", jit_has_xdp > 0 ? jit->name : "");
	if (a.kernel && jit_has_xdp == 0)
		printf("jit: the xdp form was not compared (the JIT has no xdp program type yet)\n");
	printf("difftest: %" PRIu64 " passed, %" PRIu64 " failed\n", st.passed, st.failed);
	return st.failed ? EXIT_FAIL : EXIT_OK;
}
