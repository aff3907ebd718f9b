/* cmd_explain.c - `safebpf explain 'SQL'`: the bound query, its plan, the
 * eBPF programs that run in the kernel (generated, loaded so the verifier
 * judges them, not attached, and disassembled) and the user-space operators.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "safebpf/kernel.h"
#include "safebpf/sql.h"

static void usage(FILE *f)
{
	fputs("usage: safebpf explain [--no-kernel] [--plan auto|mvsf|kernel-max] ('SQL' | --file FILE | -- 'SQL')\n"
	      "Shows how a query runs: the bound query, the plan, the eBPF programs loaded per\n"
	      "tracepoint (disassembled; loading needs CAP_BPF and CAP_PERFMON) and what runs in\n"
	      "user space.\n\n"
	      "  --file FILE   read the query from FILE (- for standard input); any argument\n"
	      "                that is not an option is the query, also after --\n"
	      "  --no-kernel   do not load and show the eBPF programs\n"
	      "  --plan P      optimizer strategy: auto (default), mvsf, kernel-max; every\n"
	      "                candidate plan is listed with its estimated cost and the\n"
	      "                verifier's verdict (and reason, when it refused one)\n"
	      "  -h, --help    this help\n",
	      f);
}

int cmd_explain(int argc, char **argv)
{
	const char *sql = NULL, *qfile = NULL;
	bool more = false;
	unsigned flags = SBPF_EXPLAIN_KERNEL;
	enum sbpf_plan_strategy plan = SBPF_PLAN_AUTO;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "--plan")) {
			if (i + 1 >= argc || sbpf_plan_strategy_parse(argv[i + 1], &plan)) {
				fprintf(stderr, "safebpf: --plan needs auto, mvsf or kernel-max\n");
				return EXIT_USAGE;
			}
			i++;
		} else if (!strcmp(argv[i], "--no-kernel")) {
			flags &= ~(unsigned)SBPF_EXPLAIN_KERNEL;
		} else if (!strcmp(argv[i], "--file")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "safebpf: --file needs a file name (- for standard input)\n");
				return EXIT_USAGE;
			}
			more |= qfile || sql;
			qfile = argv[++i];
		} else if (!strcmp(argv[i], "--")) {
			/* End of options: what follows is the query. */
			for (i++; i < argc; i++) {
				more |= qfile || sql;
				sql = argv[i];
			}
		} else if (cli_is_option(argv[i])) {
			fprintf(stderr, "safebpf: unknown option %s (see safebpf explain --help)\n", argv[i]);
			return EXIT_USAGE;
		} else {
			more |= qfile || sql;
			sql = argv[i];
		}
	}
	if (more) {
		fprintf(stderr, "safebpf: one query at a time (quote it: safebpf explain 'SELECT ...', or use --file)\n");
		return EXIT_USAGE;
	}
	if (!sql && !qfile) {
		usage(stderr);
		return EXIT_USAGE;
	}
	struct sbpf_query *q;
	char *owned = NULL;
	const char *qname;
	if (!(sql = cli_query_text(sql, qfile, &owned, &qname)))
		return EXIT_INPUT;
	int rc = cli_compile_query(sql, qname, plan, &q);
	free(owned);
	if (rc != EXIT_OK)
		return rc;
	char err[256] = "";
	rc = sbpf_query__explain(q, stdout, flags, err, sizeof(err));
	sbpf_query__free(q);
	if (rc) {
		fprintf(stderr, "safebpf: %s\n", err[0] ? err : strerror(-rc));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}
