/* runner.c - the AArch64 test runner: a static program linked with the
 * core library cross-compiled for AArch64 (isa, asm, vm, jit, kops,
 * testgen), run under qemu-aarch64 by tests/suites/26-arm64.sh. It needs
 * no other library, so it runs on any host with qemu-user.
 *
 *   runner data [--unchecked] [--no-lse] [--negative] PATH...
 *       every .data file: the interpreter and the ARM64 JIT must both give
 *       the file's -- result (or fail with its -- error text); files under a
 *       directory named "negative" (or all, --negative) must fail
 *   runner diff COUNT SEED
 *       COUNT generated programs (src/testgen): interpreter vs ARM64 JIT,
 *       checked and unchecked, LSE and LL/SC atomics; r0 and memory compared
 *   runner sites [--rodata F] FILE.s...
 *       programs with Kops sites (safebpf kops rewrite output, verified by
 *       the kernel on the host): the lowered program on the interpreter vs
 *       the ARM64 JIT with each site's native emit, unchecked and checked,
 *       as XDP on deterministic packets; r0 and packet compared
 *   runner big
 *       a program whose code exceeds b.cond's +-1 MB reach (the long branch
 *       forms: far forward and backward conditional jumps, far stubs), on
 *       the interpreter and the JIT, checked and unchecked
 *   runner features
 *       the JIT's target and whether it uses LSE atomics on this CPU
 *   runner kops
 *       every Kops operation, variant and register assignment: native ARM64
 *       emit vs proof sequence (kops.c in this directory)
 *   runner exec
 *       raw AArch64 code on registers, flags and memory read from stdin,
 *       what it left printed (exec.c: the prover's AArch64 semantics
 *       against real execution, tests/unit/test_prove_arm64.c)
 *
 * Each mode ends with "<mode>: N passed, N failed" and exits 1 on a failure.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "safebpf/asm.h"
#include "safebpf/datafile.h"
#include "safebpf/jit.h"
#include "safebpf/testgen.h"
#include "safebpf/vm.h"

int kops_main(int argc, char **argv); /* kops.c */
int exec_main(void);                  /* exec.c */

/* ---- running one program ---------------------------------------------- */

/* What one engine made of a program. */
struct outcome {
	int loaded;          /* the engine accepted the program */
	int rc;              /* run result (0 or negative errno) */
	uint64_t r0;         /* r0 when rc == 0 */
	size_t pc;           /* failing pc when rc != 0 */
	char why[200];       /* load failure or run error message */
};

/* Engines: the interpreter, or the JIT with @unchecked / @features. */
struct engine {
	const char *name;
	int jit;                 /* 0: interpreter */
	int unchecked;           /* JIT: no checks */
	unsigned int features;   /* JIT: SBPF_JIT_NO_* */
};

static void run(const struct engine *e, const struct sbpf_insn *insns, size_t n, void *mem, size_t len,
		struct outcome *o)
{
	memset(o, 0, sizeof(*o));
	struct sbpf_validate_error verr = { 0 };
	struct sbpf_run_error err = { 0 };
	struct sbpf_vm *vm = sbpf_vm__new(insns, n, NULL, &verr);
	if (!vm) {
		snprintf(o->why, sizeof(o->why), "invalid program: instruction %zu: %s", verr.index, verr.rule);
		return;
	}
	if (!e->jit) {
		o->loaded = 1;
		o->rc = sbpf_vm__run(vm, mem, len, &o->r0, &err);
	} else {
		struct sbpf_jit_opts jo = { .sz = sizeof(jo), .unchecked = e->unchecked, .features = e->features };
		struct sbpf_jit *jit = sbpf_jit__new(insns, n, &jo, &verr);
		int rc = jit ? sbpf_jit__helpers_from_vm(jit, vm) : -errno;
		if (!rc)
			rc = sbpf_jit__compile(jit);
		if (rc) {
			snprintf(o->why, sizeof(o->why), "cannot compile: %s", strerror(-rc));
		} else {
			o->loaded = 1;
			o->rc = sbpf_jit__run(jit, mem, len, &o->r0, &err);
		}
		sbpf_jit__free(jit);
	}
	if (o->loaded && o->rc) {
		o->pc = err.pc;
		snprintf(o->why, sizeof(o->why), "error at pc %zu: %s", err.pc, err.reason);
	}
	sbpf_vm__free(vm);
}

/* ---- .data files --------------------------------------------------------- */

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, len = 0;
	char *s = malloc(cap);
	size_t got;
	while (s && (got = fread(s + len, 1, cap - len - 1, f)) > 0) {
		len += got;
		if (cap - len < 2) {
			char *t = realloc(s, cap *= 2);
			if (!t) {
				free(s);
				s = NULL;
			}
			s = t;
		}
	}
	fclose(f);
	if (s)
		s[len] = 0;
	return s;
}

/* True when @path sits directly in a directory named "negative". */
static int in_negative_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return 0;
	const char *start = slash;
	while (start > path && start[-1] != '/')
		start--;
	return slash - start == 8 && !strncmp(start, "negative", 8);
}

/* 1 when @o matches the file's expectation (result or error text). */
static int expected(const struct sbpf_datafile *df, const struct outcome *o)
{
	if (!o->loaded)
		return df->error && strstr(o->why, df->error);
	if (o->rc)
		return df->error && strstr(o->why, df->error);
	return !df->error && df->has_result && o->r0 == df->result;
}

struct tally {
	long pass, fail;
};

/* Runs one file on the interpreter and on @e; both must meet the file's
 * expectation (or, for a negative test, fail it). */
static void data_file(const char *path, const struct engine *e, int negative, struct tally *t)
{
	static const struct engine interp = { "interp", 0, 0, 0 };
	char *text = read_file(path);
	struct sbpf_datafile df;
	struct sbpf_diags diags = { 0 };
	struct sbpf_insn *insns = NULL;
	size_t n = 0;
	int ok = 0;
	char why[512] = "";
	if (!text) {
		snprintf(why, sizeof(why), "cannot read");
	} else if (sbpf_datafile__parse(text, path, &df, &diags)) {
		snprintf(why, sizeof(why), "bad test file");
		ok = negative;
		sbpf_datafile__free(&df);
	} else {
		if (sbpf_datafile__program(&df, path, &insns, &n, &diags)) {
			snprintf(why, sizeof(why), "no program or assembly failed");
			ok = negative;
		} else {
			struct outcome oi, oj;
			uint8_t *m1 = df.mem_len ? malloc(df.mem_len) : NULL;
			uint8_t *m2 = df.mem_len ? malloc(df.mem_len) : NULL;
			if (df.mem_len) {
				memcpy(m1, df.mem, df.mem_len);
				memcpy(m2, df.mem, df.mem_len);
			}
			run(&interp, insns, n, m1, df.mem_len, &oi);
			run(e, insns, n, m2, df.mem_len, &oj);
			int ei = expected(&df, &oi), ej = expected(&df, &oj);
			if (negative) {
				ok = !ei && !ej;
				snprintf(why, sizeof(why), "negative test passed on %s", ei ? "interp" : e->name);
			} else {
				ok = ei && ej;
				const struct outcome *bad = !ei ? &oi : &oj;
				if (bad->loaded && !bad->rc)
					snprintf(why, sizeof(why), "%s: r0 = 0x%" PRIx64 ", expected %s0x%" PRIx64,
						 !ei ? "interp" : e->name, bad->r0, df.error ? "an error, not " : "",
						 df.result);
				else
					snprintf(why, sizeof(why), "%s: %s%s", !ei ? "interp" : e->name,
						 bad->loaded ? "" : "refused: ", bad->why);
			}
			free(m1);
			free(m2);
		}
		sbpf_datafile__free(&df);
	}
	if (ok) {
		t->pass++;
	} else {
		t->fail++;
		printf("FAIL %s [%s]: %s\n", path, e->name, why);
	}
	free(insns);
	sbpf_diags__free(&diags);
	free(text);
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcmp(s + n - m, suffix);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs @path (a file, or every .data file under a directory, in name order). */
static void data_path(const char *path, const struct engine *e, int negative, struct tally *t)
{
	struct stat st;
	if (stat(path, &st)) {
		printf("FAIL %s: %s\n", path, strerror(errno));
		t->fail++;
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		data_file(path, e, negative || in_negative_dir(path), t);
		return;
	}
	DIR *d = opendir(path);
	if (!d) {
		t->fail++;
		return;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *sub;
		if (asprintf(&sub, "%s/%s", path, de->d_name) < 0)
			break;
		struct stat sst;
		if (stat(sub, &sst) || (!S_ISDIR(sst.st_mode) && !ends_with(sub, ".data"))) {
			free(sub);
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = realloc(names, cap * sizeof(*names));
		}
		names[n++] = sub;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		data_path(names[i], e, negative, t);
		free(names[i]);
	}
	free(names);
}

static int data_main(int argc, char **argv)
{
	struct engine e = { "jit", 1, 0, 0 };
	int negative = 0;
	struct tally t = { 0 };
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--unchecked"))
			e.unchecked = 1;
		else if (!strcmp(argv[i], "--no-lse"))
			e.features |= SBPF_JIT_NO_LSE;
		else if (!strcmp(argv[i], "--negative"))
			negative = 1;
		else
			data_path(argv[i], &e, negative, &t);
	}
	printf("data: %ld passed, %ld failed\n", t.pass, t.fail);
	return t.fail ? 1 : 0;
}

/* ---- generated programs ---------------------------------------------------- */

static int diff_main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: runner diff COUNT SEED\n");
		return 2;
	}
	uint64_t count = strtoull(argv[2], NULL, 0), seed0 = strtoull(argv[3], NULL, 0);
	static const struct engine interp = { "interp", 0, 0, 0 };
	/* Every program on the checked JIT; alternating LSE / LL-SC atomics
	 * and checked / unchecked code for the second JIT run. */
	static const struct engine jits[4] = {
		{ "jit", 1, 0, 0 },
		{ "jit-unchecked", 1, 1, 0 },
		{ "jit (LL/SC)", 1, 0, SBPF_JIT_NO_LSE },
		{ "jit-unchecked (LL/SC)", 1, 1, SBPF_JIT_NO_LSE },
	};
	long pass = 0, fail = 0, cmps = 0, unfair = 0;
	for (uint64_t i = 0; i < count; i++) {
		uint64_t seed = seed0 + i;
		struct sbpf_gen_opts go = { .sz = sizeof(go), .seed = seed, .kernel_safe = (int)(i % 2 == 0) };
		struct sbpf_gen_prog gp;
		char why[256];
		if (sbpf_gen_program(&go, &gp, why, sizeof(why))) {
			printf("seed %" PRIu64 ": %s\n", seed, why);
			fail++;
			continue;
		}
		size_t at;
		if (sbpf_gen_check_fair(gp.mem_insns, gp.mem_n, 0, &at)) {
			unfair++;
			sbpf_gen_prog__free(&gp);
			continue;
		}
		uint8_t mi[SBPF_GEN_MEM_SIZE], mj[SBPF_GEN_MEM_SIZE];
		memcpy(mi, gp.mem, sizeof(mi));
		struct outcome oi, oj;
		run(&interp, gp.mem_insns, gp.mem_n, mi, sizeof(mi), &oi);
		int bad = 0;
		if (!oi.loaded || oi.rc) {
			printf("seed %" PRIu64 ": the interpreter failed: %s\n", seed, oi.why);
			bad = 1;
		}
		const struct engine *use[2] = { &jits[0], &jits[1 + (i / 2) % 3] };
		for (int k = 0; k < 2 && !bad; k++) {
			memcpy(mj, gp.mem, sizeof(mj));
			run(use[k], gp.mem_insns, gp.mem_n, mj, sizeof(mj), &oj);
			cmps++;
			if (!oj.loaded || oj.rc != oi.rc || oj.r0 != oi.r0 || memcmp(mi, mj, sizeof(mi))) {
				printf("seed %" PRIu64 ": %s differs: %s r0 0x%" PRIx64 " vs interp 0x%" PRIx64 "%s\n",
				       seed, use[k]->name, oj.loaded ? (oj.rc ? oj.why : "ok") : oj.why, oj.r0, oi.r0,
				       memcmp(mi, mj, sizeof(mi)) ? ", memory differs" : "");
				bad = 1;
			}
		}
		if (bad)
			fail++;
		else
			pass++;
		sbpf_gen_prog__free(&gp);
	}
	printf("diff: %" PRIu64 " programs (seeds %" PRIu64 "..%" PRIu64 "), %ld JIT runs compared with the "
	       "interpreter, %ld unfair skipped\n", count, seed0, seed0 + count - 1, cmps, unfair);
	printf("diff: %ld passed, %ld failed\n", pass, fail);
	return fail ? 1 : 0;
}

/* ---- programs with Kops sites ------------------------------------------- */

/* A deterministic packet of @len bytes for @seed. */
static void packet(uint8_t *p, size_t len, unsigned seed)
{
	uint32_t x = seed * 7919u + 17u;
	for (size_t i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (uint8_t)(x >> 16);
	}
}

/* Runs one site program; returns 1 when every packet agrees. */
static int sites_file(const char *path, const uint8_t *rodata, size_t rodata_len, long *runs, long *native)
{
	char *text = read_file(path);
	struct sbpf_diags diags = { 0 };
	struct sbpf_insn *insns = NULL;
	size_t n = 0;
	if (!text || sbpf_assemble(text, path, &insns, &n, &diags)) {
		printf("FAIL %s: cannot read or assemble\n", path);
		free(text);
		sbpf_diags__free(&diags);
		return 0;
	}
	free(text);
	sbpf_diags__free(&diags);
	struct sbpf_kops_lowered l;
	struct sbpf_validate_error verr = { 0 };
	if (sbpf_kops_lower(insns, n, &l, &verr)) {
		printf("FAIL %s: lowering refused: slot %zu: %s\n", path, verr.index, verr.rule);
		free(insns);
		return 0;
	}
	free(insns);
	int ok = 1;
	struct sbpf_vm_opts vo = { .sz = sizeof(vo), .type = SBPF_PROG_XDP, .rodata = rodata, .rodata_len = rodata_len };
	struct sbpf_vm *vm = sbpf_vm__new(l.insns, l.n, &vo, &verr);
	struct sbpf_jit *jits[2] = { NULL, NULL };
	for (int m = 0; m < 2 && vm; m++) {
		struct sbpf_jit_opts jo = { .sz = sizeof(jo), .type = SBPF_PROG_XDP, .unchecked = !m, .kops = &l,
					    .rodata = rodata, .rodata_len = rodata_len };
		jits[m] = sbpf_jit__new(l.insns, l.n, &jo, &verr);
		int rc = jits[m] ? sbpf_jit__helpers_from_vm(jits[m], vm) : -errno;
		if (!rc)
			rc = sbpf_jit__compile(jits[m]);
		if (rc) {
			printf("FAIL %s: %s JIT: %s\n", path, m ? "checked" : "unchecked",
			       jits[m] ? strerror(-rc) : verr.rule);
			ok = 0;
		}
	}
	if (!vm) {
		printf("FAIL %s: interpreter refused: %s\n", path, verr.rule);
		ok = 0;
	}
	for (size_t i = 0; ok && i < l.nsites; i++) {
		size_t from, to;
		*native += sbpf_jit__kops_site(jits[0], i, &from, &to) == 1;
	}
	static const size_t lens[] = { 64, 192, 60, 1500, 14, 256, 128, 600 };
	for (unsigned k = 0; ok && k < sizeof(lens) / sizeof(lens[0]); k++) {
		uint8_t want[1500], got[1500];
		packet(want, lens[k], k + 1);
		uint64_t r0 = 0, j0 = 0;
		struct sbpf_run_error err = { 0 };
		int rc = sbpf_vm__run(vm, want, lens[k], &r0, &err);
		for (int m = 0; m < 2 && ok; m++) {
			packet(got, lens[k], k + 1);
			struct sbpf_run_error jerr = { 0 };
			int jrc = sbpf_jit__run(jits[m], got, lens[k], &j0, &jerr);
			(*runs)++;
			if (jrc != rc || (!rc && (j0 != r0 || memcmp(got, want, lens[k])))) {
				printf("FAIL %s [%s JIT, %zu-byte packet]: rc %d r0 0x%" PRIx64 " vs interpreter rc %d r0 0x%"
				       PRIx64 "%s\n", path, m ? "checked" : "unchecked", lens[k], jrc, j0, rc, r0,
				       !rc && !jrc && memcmp(got, want, lens[k]) ? ", packet differs" : "");
				ok = 0;
			}
		}
	}
	for (int m = 0; m < 2; m++)
		sbpf_jit__free(jits[m]);
	sbpf_vm__free(vm);
	sbpf_kops_lowered__free(&l);
	return ok;
}

static int sites_main(int argc, char **argv)
{
	long pass = 0, fail = 0, runs = 0, native = 0;
	uint8_t *rodata = NULL;
	size_t rodata_len = 0;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--rodata") && i + 1 < argc) {
			free(rodata);
			rodata = (uint8_t *)read_file(argv[++i]);
			struct stat st;
			rodata_len = rodata && !stat(argv[i], &st) ? (size_t)st.st_size : 0;
			continue;
		}
		if (sites_file(argv[i], rodata, rodata_len, &runs, &native))
			pass++;
		else
			fail++;
		free(rodata); /* --rodata applies to the next file only */
		rodata = NULL;
		rodata_len = 0;
	}
	printf("sites: %ld native sites, %ld JIT runs compared with the interpreter\n", native, runs);
	printf("sites: %ld passed, %ld failed\n", pass, fail);
	return fail ? 1 : 0;
}

/* ---- an image beyond b.cond's reach ------------------------------------- */

static int big_main(void)
{
	enum { K = 70000 };                     /* lddw + alu blocks: about 1.4 MB of code */
	size_t n = 0;
	struct sbpf_insn *p = malloc((3 * K + 16) * sizeof(*p));
	if (!p)
		return 1;
	p[n++] = SBPF_MOV64_IMM(6, 3);
	p[n++] = SBPF_MOV64_IMM(0, 0);
	size_t head = n;                        /* loop header: its budget stub lies > 1 MB below */
	p[n++] = SBPF_LDX_MEM(SBPF_B, 3, 1, 0); /* checked: its access stub too */
	p[n++] = SBPF_JMP_IMM(SBPF_JNE, 3, 0x77, 1);
	size_t skip = n++;                      /* ja32 end: far forward (mem[0] == 0x77) */
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < K; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		p[n++] = SBPF_LD_IMM64_LO(2, 0, x);
		p[n++] = SBPF_LD_IMM64_HI(x);
		p[n++] = SBPF_ALU64_REG(i % 3 ? SBPF_XOR : SBPF_ADD, 0, 2);
	}
	p[n++] = SBPF_ALU64_IMM(SBPF_SUB, 6, 1);
	p[n++] = SBPF_JMP_IMM(SBPF_JEQ, 6, 0, 1);
	p[n] = SBPF_INSN(SBPF_JMP32 | SBPF_JA, 0, 0, 0, (int32_t)((long)head - (long)(n + 1))); /* far backward */
	n++;
	size_t end = n;
	p[skip] = SBPF_INSN(SBPF_JMP32 | SBPF_JA, 0, 0, 0, (int32_t)((long)end - (long)(skip + 1)));
	p[n++] = SBPF_ALU64_IMM(SBPF_ADD, 0, 1);
	p[n++] = SBPF_EXIT_INSN();
	static const struct engine interp = { "interp", 0, 0, 0 };
	static const struct engine jits[2] = { { "jit", 1, 0, 0 }, { "jit-unchecked", 1, 1, 0 } };
	long pass = 0, fail = 0;
	/* mem[0] 1: three passes over the body; 0x77: straight to the end;
	 * no memory: the checked load fails through its far stub. */
	for (int k = 0; k < 3; k++) {
		uint8_t mi[4] = { k ? 0x77 : 1, 2, 3, 4 }, mj[4];
		size_t len = k == 2 ? 0 : 4;
		struct outcome oi, oj;
		run(&interp, p, n, len ? mi : NULL, len, &oi);
		for (int m = 0; m < 2 - (k == 2); m++) {
			memcpy(mj, mi, 4);
			run(&jits[m], p, n, len ? mj : NULL, len, &oj);
			if (!oi.loaded || !oj.loaded || oj.rc != oi.rc || oj.r0 != oi.r0 ||
			    (oi.rc && strcmp(oi.why, oj.why)) || (k < 2 && oi.rc)) {
				printf("FAIL big program (%s, run %d): %s r0 0x%" PRIx64 " vs interpreter %s r0 0x%" PRIx64 "\n",
				       jits[m].name, k, oj.why, oj.r0, oi.why, oi.r0);
				fail++;
			} else {
				pass++;
			}
		}
	}
	/* The image must be beyond b.cond's reach to test anything. */
	struct sbpf_jit *jit = sbpf_jit__new(p, n, NULL, NULL);
	size_t size = 0;
	if (jit && !sbpf_jit__compile(jit))
		sbpf_jit__code(jit, &size);
	sbpf_jit__free(jit);
	printf("big: %zu slots, %zu bytes of checked code (b.cond reaches 1048576)\n", n, size);
	if (size <= (1u << 20)) {
		printf("FAIL big: the image is not beyond b.cond's reach\n");
		fail++;
	}
	free(p);
	printf("big: %ld passed, %ld failed\n", pass, fail);
	return fail ? 1 : 0;
}

/* "features: lse" when the JIT would use LSE atomics on this CPU. */
static int features_main(void)
{
	struct sbpf_insn prog[2] = { SBPF_MOV64_IMM(0, 0), SBPF_EXIT_INSN() };
	struct sbpf_jit *jit = sbpf_jit__new(prog, 2, NULL, NULL);
	if (!jit)
		return 1;
	printf("features: target %s, %s atomics\n", sbpf_jit__target_name(jit),
	       sbpf_jit__features(jit) & SBPF_JIT_NO_LSE ? "LSE" : "LL/SC");
	sbpf_jit__free(jit);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "features"))
		return features_main();
	if (argc >= 2 && !strcmp(argv[1], "big"))
		return big_main();
	if (argc >= 2 && !strcmp(argv[1], "sites"))
		return sites_main(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "data"))
		return data_main(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "diff"))
		return diff_main(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "kops"))
		return kops_main(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "exec"))
		return exec_main();
	fprintf(stderr, "usage: runner data|diff|kops|exec|sites|big|features ...\n");
	return 2;
}
