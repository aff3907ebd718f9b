/* cmd_kops_rewrite.c - the recognizer's subcommands of `safebpf kops`:
 *   kops rewrite IN -o OUT   find EInsn idioms and write the program with
 *                            sites, under the kernel verifier when it can
 *                            be asked (rewrites it refuses are left out)
 *   kops stats IN            sites per operation, before/after slot counts
 * An object file's read-only data goes with the program: to the kernel
 * verifier (a frozen read-only array map), and into OUT.rodata for
 * `safebpf run OUT --rodata OUT.rodata`.
 * kops_cmd_rewrite() and kops_cmd_stats() are rows of the `kops` subcommand
 * table in cmd_kops.c (argv[0] is the subcommand name).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "safebpf/asm.h"
#include "safebpf/elf.h"
#include "safebpf/kernel.h"
#include "safebpf/kops.h"

int kops_cmd_rewrite(int argc, char **argv);
int kops_cmd_stats(int argc, char **argv);

struct rargs {
	const char *in;                /* input program */
	const char *out;               /* -o: output file (rewrite) */
	const char *prog;              /* --prog: program of an object file */
	int verbose;                   /* -v: list the sites (stats) */
	int lowered;                   /* --lowered: write the program lowered again (rewrite) */
	int verify;                    /* rewrite: 1 --verify, 0 --no-verify, -1 when privileged */
	const char *rodata_out;        /* --rodata-out: where the read-only data goes (rewrite) */
	struct sbpf_kops_policy pol;   /* --ops, --min-saved */
	uint8_t *rodata;               /* the input's read-only data (object files), or NULL */
	size_t rodata_len;             /* its bytes */
};

static void usage(FILE *f, const char *cmd)
{
	if (!strcmp(cmd, "rewrite"))
		fprintf(f,
			"usage: safebpf kops rewrite IN -o OUT [--prog NAME] [--ops LIST] [--min-saved N] [--all]\n"
			"                             [--ret32] [--no-verifier-rules] [--lowered]\n"
			"                             [--verify | --no-verify]"
			" [--rodata-out FILE]\n\n"
			"Finds the EInsn idioms clang emits in program IN (assembly, raw bytecode or a\n"
			"clang-compiled BPF object) and writes it with each idiom replaced by a Kops\n"
			"site, only where the rewrite is provably exact. OUT is assembly text when it\n"
			"ends in .s (sites as .raw lines), raw bytecode otherwise; run it with\n"
			"safebpf run OUT --type xdp --engine jit --kops.\n\n"
			"When this process may load BPF programs, the kernel verifier judges the\n"
			"lowered program (as XDP, with IN's read-only data); a rewrite it refuses is\n"
			"found (the instruction its log names, else bisection over the sites), left\n"
			"out, and reported, until it accepts.\n\n"
			"  --lowered       write the vanilla program the sites lower to (each site\n"
			"                  replaced by its proof sequence), e.g. for the kernel verifier\n"
			"  --verify        ask the kernel verifier, fail when it cannot be asked (exit 4)\n"
			"                  or refuses IN itself (exit 1); default: ask when privileged\n"
			"  --no-verify     do not ask the kernel verifier\n"
			"  --rodata-out F  where IN's read-only data goes (default OUT.rodata); run OUT\n"
			"                  with safebpf run OUT --rodata F\n");
	else
		fprintf(f,
			"usage: safebpf kops stats IN [--prog NAME] [--ops LIST] [--min-saved N] [--all]\n"
			"                           [--ret32] [--no-verifier-rules] [-v]\n\n"
			"Prints, per operation, the idioms of IN the recognizer found (exact rewrites),\n"
			"the sites the policy writes, the idioms it refused as not provably exact, and\n"
			"the program's slots before, with sites, and lowered again.\n\n");
	fprintf(f,
		"  --prog NAME     the program (function name or section) of an object file\n"
		"  --ops LIST      operations to rewrite, comma-separated (default: all):\n"
		"                  rotate,select,extract,bswap_load,bulk_copy,lea\n"
		"  --min-saved N   rewrite a site only when it saves at least N native\n"
		"                  instructions by the estimate (default 1; see docs/kops.md)\n"
		"  --all           every exact rewrite (same as --min-saved -100)\n"
		"  --ret32         the caller reads only the low 32 bits of the return value\n"
		"                  (the kernel's XDP and most program types): the upper half of\n"
		"                  r0 at the main program's exit may change\n"
		"  --no-verifier-rules  also rewrite what the recognizer expects the kernel\n"
		"                  verifier to refuse (a lea cutting a packet-pointer or scalar\n"
		"                  link; docs/kops.md): exact, for programs no kernel judges\n");
	if (strcmp(cmd, "rewrite"))
		fprintf(f, "  -v              list every site (slot, operation, operands)\n");
	fprintf(f, "\nExit: 0 ok, 1 failed, 2 usage, 3 bad program, 4 missing privileges (--verify).\n");
}

static int parse_ops(const char *list, uint32_t *ops)
{
	char *copy = strdup(list), *save = NULL;
	if (!copy)
		return -ENOMEM;
	*ops = 0;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int id = sbpf_kops_by_name(t);
		if (id < 0) {
			fprintf(stderr, "safebpf kops: unknown operation '%s' (known: rotate, select, extract, "
					"bswap_load, prefetch, bulk_copy, lea)\n", t);
			free(copy);
			return -EINVAL;
		}
		*ops |= 1u << id;
	}
	free(copy);
	return 0;
}

static int parse(int argc, char **argv, struct rargs *a)
{
	memset(a, 0, sizeof(*a));
	a->verify = -1;
	sbpf_kops_policy__init(&a->pol);
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
			usage(stdout, argv[0]);
			exit(EXIT_OK);
		} else if (!strcmp(arg, "-o") && i + 1 < argc) {
			a->out = argv[++i];
		} else if (!strcmp(arg, "--prog") && i + 1 < argc) {
			a->prog = argv[++i];
		} else if (!strcmp(arg, "--ops") && i + 1 < argc) {
			if (parse_ops(argv[++i], &a->pol.ops))
				return -EINVAL;
		} else if (!strcmp(arg, "--min-saved") && i + 1 < argc) {
			char *end;
			long v = strtol(argv[++i], &end, 10);
			if (*end || v < -1000 || v > 1000) {
				fprintf(stderr, "safebpf kops: --min-saved wants an integer, not '%s'\n", argv[i]);
				return -EINVAL;
			}
			a->pol.min_saved = (int)v;
		} else if (!strcmp(arg, "--all")) {
			a->pol.min_saved = -100;
		} else if (!strcmp(arg, "--ret32")) {
			a->pol.ret32 = 1;
		} else if (!strcmp(arg, "--no-verifier-rules")) {
			a->pol.no_verifier_rules = 1;
		} else if (!strcmp(arg, "--lowered")) {
			a->lowered = 1;
		} else if (!strcmp(arg, "--verify") && !strcmp(argv[0], "rewrite")) {
			a->verify = 1;
		} else if (!strcmp(arg, "--no-verify") && !strcmp(argv[0], "rewrite")) {
			a->verify = 0;
		} else if (!strcmp(arg, "--rodata-out") && i + 1 < argc && !strcmp(argv[0], "rewrite")) {
			a->rodata_out = argv[++i];
		} else if (!strcmp(arg, "-v")) {
			a->verbose = 1;
		} else if (arg[0] == '-' && arg[1]) {
			fprintf(stderr, "safebpf kops %s: unknown option '%s'\n", argv[0], arg);
			return -EINVAL;
		} else if (!a->in) {
			a->in = arg;
		} else {
			fprintf(stderr, "safebpf kops %s: one input program only ('%s')\n", argv[0], arg);
			return -EINVAL;
		}
	}
	if (!a->in) {
		usage(stderr, argv[0]);
		return -EINVAL;
	}
	return 0;
}

/* -v: one line per refused idiom (@arg counts them). */
static void print_refusal(void *arg, size_t slot, uint32_t op, const char *why)
{
	if (!(*(int *)arg)++)
		printf("refused idioms (input slots):\n");
	printf("  %5zu  %-10s %s\n", slot, sbpf_kops_info(op) ? sbpf_kops_info(op)->name : "?", why);
}

/* Loads the input (an object file's read-only data into a->rodata). */
static struct sbpf_insn *load_input(struct rargs *a, size_t *n)
{
	if (cli_is_elf_file(a->in))
		return cli_load_elf_rodata(a->in, a->prog, n, NULL, &a->rodata, &a->rodata_len);
	if (a->prog) {
		fprintf(stderr, "safebpf kops: --prog chooses a program of an object file; %s is not one\n", a->in);
		return NULL;
	}
	return cli_load_program(a->in, n);
}

/* Runs the recognizer on @insns; prints why on failure. */
static int recognize(const struct rargs *a, const struct sbpf_insn *insns, size_t n, struct sbpf_insn **out,
		     size_t *out_n, struct sbpf_kops_stats *st)
{
	struct sbpf_validate_error err = { 0 };
	int rc = sbpf_kops_recognize(insns, n, &a->pol, out, out_n, st, &err);
	if (rc) {
		fprintf(stderr, "safebpf kops: %s: %s%s (slot %zu)\n", a->in,
			rc == -ENOMEM ? "out of memory" : "cannot rewrite: ", rc == -ENOMEM ? "" : err.rule, err.index);
		return EXIT_INPUT;
	}
	return EXIT_OK;
}

/* The recognizer under the kernel verifier (a->verify): prints what it
 * left out. Returns -1 when the caller should rewrite without it (the
 * default mode, and the kernel cannot judge IN), else an exit code. */
static int recognize_verified(const struct rargs *a, const struct sbpf_insn *insns, size_t n,
			      struct sbpf_insn **out, size_t *out_n, struct sbpf_kops_stats *st)
{
	char why[400];
	struct sbpf_kops_verify_opts vo = { .sz = sizeof(vo), .rodata = a->rodata, .rodata_len = a->rodata_len };
	struct sbpf_kops_verified v;
	int rc = sbpf_kops_rewrite_verified(insns, n, &a->pol, &vo, &v, why, sizeof(why));
	for (size_t i = 0; i < v.ndrops; i++)
		printf("left out: %s at input slots %zu..%zu, the kernel verifier refused it (%s; found by %s)\n",
		       sbpf_kops_info(v.drops[i].op)->name, v.drops[i].start, v.drops[i].end - 1, v.drops[i].why,
		       v.drops[i].bisected ? "bisection" : "its log");
	if (!rc) {
		printf("verified: the kernel verifier accepts the lowered program (as XDP%s; %u load%s)\n",
		       a->rodata ? ", with its read-only data" : "", v.loads, v.loads == 1 ? "" : "s");
		*out = v.insns;
		*out_n = v.n;
		*st = v.stats;
		v.insns = NULL;
		sbpf_kops_verified__free(&v);
		return EXIT_OK;
	}
	sbpf_kops_verified__free(&v);
	if (rc == -EINVAL || rc == -ENOMEM) {
		fprintf(stderr, "safebpf kops: %s: %s\n", a->in, why);
		return EXIT_INPUT;
	}
	if (a->verify == 1) {
		fprintf(stderr, "safebpf kops rewrite: %s: %s\n", a->in, why);
		return rc == -EPERM ? EXIT_PERM : EXIT_FAIL;
	}
	fprintf(stderr, "safebpf kops rewrite: %s: note: not checked by the kernel verifier: %s\n", a->in, why);
	return -1;
}

/* Writes the read-only data next to OUT (or to --rodata-out). */
static int write_rodata(const struct rargs *a)
{
	char path[4096];
	if (a->rodata_out)
		snprintf(path, sizeof(path), "%s", a->rodata_out);
	else if (!strcmp(a->out, "-")) {
		fprintf(stderr, "safebpf kops rewrite: %s has read-only data: give --rodata-out FILE\n", a->in);
		return -1;
	} else {
		snprintf(path, sizeof(path), "%s.rodata", a->out);
	}
	FILE *f = fopen(path, "wb");
	int bad = !f || fwrite(a->rodata, 1, a->rodata_len, f) != a->rodata_len;
	bad |= f && fclose(f) != 0;
	if (bad) {
		fprintf(stderr, "safebpf kops rewrite: cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	printf("%s: %zu bytes of read-only data (safebpf run %s --rodata %s)\n", path, a->rodata_len,
	       a->out, path);
	return 0;
}

static int write_program(const char *path, const struct sbpf_insn *insns, size_t n)
{
	const char *dot = strrchr(path, '.');
	FILE *f = strcmp(path, "-") ? fopen(path, "wb") : stdout;
	if (!f) {
		fprintf(stderr, "safebpf kops rewrite: cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	int bad = 0;
	if (dot && !strcmp(dot, ".s")) {
		fprintf(f, "# Kops site program written by safebpf kops rewrite (sites are .raw pairs)\n");
		sbpf_disasm(insns, n, SBPF_DISASM_ASM, f); /* -EINVAL for the .raw slots is expected */
	} else {
		bad = fwrite(insns, sizeof(*insns), n, f) != n;
	}
	bad |= f != stdout ? fclose(f) != 0 : fflush(f) != 0;
	if (bad)
		fprintf(stderr, "safebpf kops rewrite: error writing %s\n", path);
	return bad ? -1 : 0;
}

int kops_cmd_rewrite(int argc, char **argv)
{
	struct rargs a;
	if (parse(argc, argv, &a))
		return EXIT_USAGE;
	if (!a.out) {
		fprintf(stderr, "safebpf kops rewrite: -o OUT is required\n");
		return EXIT_USAGE;
	}
	struct sbpf_insn *out = NULL;
	size_t n = 0, nin = 0;
	struct sbpf_kops_stats st;
	struct sbpf_insn *insns = load_input(&a, &nin);
	if (!insns) {
		free(a.rodata);
		return EXIT_INPUT;
	}
	char perm[128];
	int rc = -1;
	if (a.verify == 1 || (a.verify < 0 && !sbpf_kernel_check_privileges(perm, sizeof(perm))))
		rc = recognize_verified(&a, insns, nin, &out, &n, &st);
	else if (a.verify < 0)
		fprintf(stderr, "safebpf kops rewrite: %s: note: not checked by the kernel verifier: %s\n", a.in, perm);
	if (rc < 0)
		rc = recognize(&a, insns, nin, &out, &n, &st);
	free(insns);
	if (rc) {
		free(a.rodata);
		return rc;
	}
	size_t sites = 0;
	for (int i = 0; i < SBPF_KOPS__MAX; i++)
		sites += st.sites[i];
	if (a.lowered) {
		struct sbpf_kops_lowered low;
		struct sbpf_validate_error err = { 0 };
		if (sbpf_kops_lower(out, n, &low, &err)) {
			fprintf(stderr, "safebpf kops rewrite: lowering failed at slot %zu: %s\n", err.index, err.rule);
			free(out);
			free(a.rodata);
			return EXIT_FAIL;
		}
		free(out);
		out = low.insns;
		n = low.n;
		low.insns = NULL;
		sbpf_kops_lowered__free(&low);
	}
	rc = write_program(a.out, out, n) ? EXIT_FAIL : EXIT_OK;
	if (!rc && strcmp(a.out, "-"))
		printf("%s: %zu sites, %zu -> %zu slots (%zu lowered), about %ld native instructions saved\n",
		       a.out, sites, st.insns_in, st.insns_out, st.insns_lowered, st.saved);
	if (!rc && a.rodata && write_rodata(&a))
		rc = EXIT_FAIL;
	free(out);
	free(a.rodata);
	return rc;
}

/* One line per site of @insns for -v. */
static void list_sites(const struct sbpf_insn *insns, size_t n)
{
	for (size_t pc = 0; pc + 1 < n; pc++) {
		struct sbpf_kops_payload p;
		if (!sbpf_kops_is_site(insns, n, pc) || sbpf_kops_decode(insns, n, pc, &p))
			continue;
		printf("  %5zu  %-10s dst=r%d a=r%d b=r%d c=r%d imm=%d variant=0x%x\n", pc,
		       sbpf_kops_info(p.op) ? sbpf_kops_info(p.op)->name : "?", p.dst, p.a, p.b, p.c, p.imm, p.variant);
		pc++;
	}
}

int kops_cmd_stats(int argc, char **argv)
{
	struct rargs a;
	if (parse(argc, argv, &a))
		return EXIT_USAGE;
	struct sbpf_insn *out = NULL;
	size_t n = 0;
	struct sbpf_kops_stats st;
	int nref = 0;
	if (a.verbose) {
		a.pol.on_refuse = print_refusal;
		a.pol.arg = &nref;
	}
	size_t nin = 0;
	struct sbpf_insn *insns = load_input(&a, &nin);
	free(a.rodata); /* the recognizer does not read it */
	if (!insns)
		return EXIT_INPUT;
	int rc = recognize(&a, insns, nin, &out, &n, &st);
	free(insns);
	if (rc)
		return rc;
	printf("%-12s %6s %6s %8s\n", "operation", "found", "sites", "refused");
	size_t tf = 0, ts = 0, tr = 0;
	for (uint32_t id = 1; id < SBPF_KOPS__MAX; id++) {
		if (id == SBPF_KOPS_PREFETCH)
			continue; /* no idiom: clang drops __builtin_prefetch for BPF */
		printf("%-12s %6zu %6zu %8zu\n", sbpf_kops_info(id)->name, st.found[id], st.sites[id], st.refused[id]);
		tf += st.found[id], ts += st.sites[id], tr += st.refused[id];
	}
	printf("%-12s %6zu %6zu %8zu\n", "total", tf, ts, tr);
	printf("slots: %zu in, %zu with sites, %zu lowered; about %ld native instructions saved\n",
	       st.insns_in, st.insns_out, st.insns_lowered, st.saved);
	if (a.verbose && ts) {
		printf("sites (output slots):\n");
		list_sites(out, n);
	}
	free(out);
	return EXIT_OK;
}
