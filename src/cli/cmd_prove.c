/* cmd_prove.c - `safebpf prove`: prove every Kops native emit of the JIT
 * equivalent to its proof sequence (and the proof sequence to the
 * operation's specification) with Z3, for every register assignment. One
 * row per obligation group, a counterexample with the native code under a
 * failed row, a total line; exit 1 on any failure.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "safebpf/kops.h"
#include "safebpf/prove.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: safebpf prove [--op NAME] [--group TEXT] [--arch x86_64|arm64] [-j N] [--quiet]\n"
		"\n"
		"Proves, with Z3, that the native code the JIT emits for each Kops operation\n"
		"computes what its proof sequence (the eBPF the kernel verifier checks)\n"
		"computes, and that the proof sequence meets the operation's specification:\n"
		"for every register assignment (aliasing included), every variant, the\n"
		"immediate classes of docs/kops.md, and every CPU feature set the emits use.\n"
		"Each row is one obligation group; a failed row shows a counterexample and\n"
		"the native code.\n"
		"\n"
		"  --op NAME     only this operation (rotate, select, extract, bswap_load,\n"
		"                prefetch, bulk_copy, lea)\n"
		"  --group TEXT  only the groups whose label contains TEXT (\"length 1..8\")\n"
		"  --arch A      JIT target whose emits are proven: x86_64 (default) or\n"
		"                arm64 (the AArch64 backend's emits, proven on any host)\n"
		"  -j, --jobs N  prove on N threads (default: one per CPU); the time of a\n"
		"                row is summed over threads, the total's is wall time\n"
		"  --quiet       only failed rows and the total\n"
		"\n"
		"Exit: 0 all proven, 1 some obligation failed, 2 usage.\n");
}

struct prove_args {
	struct sbpf_prove_opts opts;  /* what to prove */
	int quiet;                    /* --quiet */
	int header_done;              /* the table header is printed */
	const char *arch;             /* target name for the header */
};

static int parse_args(int argc, char **argv, struct prove_args *a)
{
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
			usage(stdout);
			return EXIT_OK;
		} else if (!strcmp(arg, "--op") && i + 1 < argc) {
			a->opts.op = argv[++i];
		} else if (!strcmp(arg, "--group") && i + 1 < argc) {
			a->opts.group = argv[++i];
		} else if (!strcmp(arg, "--arch") && i + 1 < argc) {
			a->opts.arch = argv[++i];
		} else if ((!strcmp(arg, "--jobs") || !strcmp(arg, "-j")) && i + 1 < argc) {
			char *end;
			long n = strtol(argv[++i], &end, 10);
			if (*end || n < 1 || n > 64) {
				fprintf(stderr, "safebpf prove: --jobs wants 1..64, not '%s'\n", argv[i]);
				return EXIT_USAGE;
			}
			a->opts.jobs = (int)n;
		} else if (!strcmp(arg, "--quiet") || !strcmp(arg, "-q")) {
			a->quiet = 1;
		} else {
			fprintf(stderr, "safebpf prove: unexpected argument '%s'\n", arg);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	return -1;
}

/* Prints one group's row (and its report when it failed). */
static int print_row(const struct sbpf_prove_row *r, void *arg)
{
	struct prove_args *a = arg;
	if (!a->header_done) {
		printf("Kops native emits vs proof sequences vs specifications, %s, Z3 %s\n", a->arch,
		       sbpf_prove_z3_version());
		printf("%-11s %-32s %11s %7s %11s %8s  %s\n", "op", "group", "obligations", "by Z3",
		       "by renaming", "time", "result");
		a->header_done = 1;
	}
	if (a->quiet && !r->failed)
		return 0;
	printf("%-11s %-32s %11lu %7lu %11lu %7.2fs  ", r->op, r->group, r->obligations, r->solved,
	       r->renamed, r->seconds);
	if (r->failed)
		printf("FAILED (%lu)\n", r->failed);
	else
		printf("proved\n");
	if (r->report) {
		/* indent the report under the row */
		const char *s = r->report;
		while (*s) {
			const char *nl = strchr(s, '\n');
			int len = nl ? (int)(nl - s) : (int)strlen(s);
			printf("    %.*s\n", len, s);
			s += len + (nl != NULL);
		}
	}
	fflush(stdout);
	return 0;
}

int cmd_prove(int argc, char **argv)
{
	struct prove_args a = { .opts = { .sz = sizeof(struct sbpf_prove_opts) } };
	int rc = parse_args(argc, argv, &a);
	if (rc >= 0)
		return rc;
	if (a.opts.op && sbpf_kops_by_name(a.opts.op) < 0) {
		fprintf(stderr, "safebpf prove: unknown operation '%s' (rotate, select, extract, bswap_load, "
			"prefetch, bulk_copy, lea)\n", a.opts.op);
		return EXIT_USAGE;
	}
	a.arch = "x86_64";
	if (a.opts.arch && (!strcmp(a.opts.arch, "arm64") || !strcmp(a.opts.arch, "aarch64")))
		a.arch = "arm64";
	else if (a.opts.arch && strcmp(a.opts.arch, "x86_64")) {
		fprintf(stderr, "safebpf prove: no JIT target '%s' (x86_64, arm64)\n", a.opts.arch);
		return EXIT_USAGE;
	}
	struct sbpf_prove_total t;
	rc = sbpf_prove(&a.opts, print_row, &a, &t);
	if (rc == -ENOTSUP) {
		fprintf(stderr, "safebpf prove: the %s JIT has no Kops native emits to prove\n", a.arch);
		return EXIT_FAIL;
	}
	if (rc) {
		fprintf(stderr, "safebpf prove: %s\n", strerror(-rc));
		return EXIT_FAIL;
	}
	if (!t.groups) {
		fprintf(stderr, "safebpf prove: no group matches '%s'\n", a.opts.group ? a.opts.group : "");
		return EXIT_USAGE;
	}
	printf("total: %lu obligations in %u groups (%lu proved by Z3, %lu by register renaming), "
	       "%lu failed in %u groups, %.1fs\n", t.obligations, t.groups, t.solved, t.renamed, t.failed,
	       t.failed_groups, t.seconds);
	return t.failed ? EXIT_FAIL : EXIT_OK;
}
