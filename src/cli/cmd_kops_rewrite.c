/* cmd_kops_rewrite.c - the recognizer's subcommands of `safebpf kops`:
 *   kops rewrite IN -o OUT   find EInsn idioms and write the program with sites
 *   kops stats IN            sites per operation, before/after slot counts
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
#include "safebpf/kops.h"

int kops_cmd_rewrite(int argc, char **argv);
int kops_cmd_stats(int argc, char **argv);

struct rargs {
	const char *in;                /* input program */
	const char *out;               /* -o: output file (rewrite) */
	const char *prog;              /* --prog: program of an object file */
	int verbose;                   /* -v: list the sites (stats) */
	int lowered;                   /* --lowered: write the program lowered again (rewrite) */
	struct sbpf_kops_policy pol;   /* --ops, --min-saved */
};

static void usage(FILE *f, const char *cmd)
{
	if (!strcmp(cmd, "rewrite"))
		fprintf(f,
			"usage: safebpf kops rewrite IN -o OUT [--prog NAME] [--ops LIST] [--min-saved N] [--all]\n"
			"                             [--lowered]\n\n"
			"Finds the EInsn idioms clang emits in program IN (assembly, raw bytecode or a\n"
			"clang-compiled BPF object) and writes it with each idiom replaced by a Kops\n"
			"site, only where the rewrite is provably exact. OUT is assembly text when it\n"
			"ends in .s (sites as .raw lines), raw bytecode otherwise; run it with\n"
			"safebpf run OUT --type xdp --engine jit --kops.\n\n"
			"  --lowered       write the vanilla program the sites lower to (each site\n"
			"                  replaced by its proof sequence), e.g. for the kernel verifier\n");
	else
		fprintf(f,
			"usage: safebpf kops stats IN [--prog NAME] [--ops LIST] [--min-saved N] [--all] [-v]\n\n"
			"Prints, per operation, the idioms of IN the recognizer found (exact rewrites),\n"
			"the sites the policy writes, the idioms it refused as not provably exact, and\n"
			"the program's slots before, with sites, and lowered again.\n\n");
	fprintf(f,
		"  --prog NAME     the program (function name or section) of an object file\n"
		"  --ops LIST      operations to rewrite, comma-separated (default: all):\n"
		"                  rotate,select,extract,bswap_load,bulk_copy,lea\n"
		"  --min-saved N   rewrite a site only when it saves at least N native\n"
		"                  instructions by the estimate (default 1; see docs/kops.md)\n"
		"  --all           every exact rewrite (same as --min-saved -100)\n");
	if (strcmp(cmd, "rewrite"))
		fprintf(f, "  -v              list every site (slot, operation, operands)\n");
	fprintf(f, "\nExit: 0 ok, 2 usage, 3 bad program.\n");
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
		} else if (!strcmp(arg, "--lowered")) {
			a->lowered = 1;
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

static int is_elf_path(const char *path)
{
	unsigned char magic[4];
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	size_t got = fread(magic, 1, sizeof(magic), f);
	fclose(f);
	return sbpf_elf_is_elf(magic, got);
}

/* -v: one line per refused idiom (@arg counts them). */
static void print_refusal(void *arg, size_t slot, uint32_t op, const char *why)
{
	if (!(*(int *)arg)++)
		printf("refused idioms (input slots):\n");
	printf("  %5zu  %-10s %s\n", slot, sbpf_kops_info(op) ? sbpf_kops_info(op)->name : "?", why);
}

/* Loads the input and runs the recognizer; prints why on failure. */
static int recognize(const struct rargs *a, struct sbpf_insn **out, size_t *out_n, struct sbpf_kops_stats *st)
{
	size_t n = 0;
	struct sbpf_insn *insns = is_elf_path(a->in) ? cli_load_elf(a->in, a->prog, &n, NULL)
						       : cli_load_program(a->in, &n);
	if (!insns)
		return EXIT_INPUT;
	struct sbpf_validate_error err = { 0 };
	int rc = sbpf_kops_recognize(insns, n, &a->pol, out, out_n, st, &err);
	free(insns);
	if (rc) {
		fprintf(stderr, "safebpf kops: %s: %s%s (slot %zu)\n", a->in,
			rc == -ENOMEM ? "out of memory" : "cannot rewrite: ", rc == -ENOMEM ? "" : err.rule, err.index);
		return EXIT_INPUT;
	}
	return EXIT_OK;
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
	size_t n = 0;
	struct sbpf_kops_stats st;
	int rc = recognize(&a, &out, &n, &st);
	if (rc)
		return rc;
	size_t sites = 0;
	for (int i = 0; i < SBPF_KOPS__MAX; i++)
		sites += st.sites[i];
	if (a.lowered) {
		struct sbpf_kops_lowered low;
		struct sbpf_validate_error err = { 0 };
		if (sbpf_kops_lower(out, n, &low, &err)) {
			fprintf(stderr, "safebpf kops rewrite: lowering failed at slot %zu: %s\n", err.index, err.rule);
			free(out);
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
	free(out);
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
	int rc = recognize(&a, &out, &n, &st);
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
