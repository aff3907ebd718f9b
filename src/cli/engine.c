/* engine.c - the engine table (from engines.def) and the engine options
 * every program-running command accepts: --engine, --type, --budget, --kops,
 * --unsafe-unverified.
 * To add an option: a field in struct cli_engine_opts, a branch in
 * cli_engine_parse_opt() and a line in cli_engine_usage().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "engine.h"

static const struct cli_engine engines[] = {
#define ENGINE(name, prefix, summary) { name, summary, prefix##_load, prefix##_run, prefix##_unload, NULL },
#define ENGINE_TIMED(name, prefix, summary) \
	{ name, summary, prefix##_load, prefix##_run, prefix##_unload, prefix##_run_timed },
#include "engines.def"
};
#define NENGINES (sizeof(engines) / sizeof(engines[0]))

void cli_exec_init(struct cli_exec *x)
{
	memset(x, 0, sizeof(*x));
	x->engine = &engines[0];
	x->opts.sz = sizeof(x->opts);
	x->opts.type = SBPF_PROG_MEM;
}

const struct cli_engine *cli_engine_find(const char *name)
{
	for (size_t i = 0; i < NENGINES; i++)
		if (!strcmp(engines[i].name, name))
			return &engines[i];
	return NULL;
}

/* Matches "--name VALUE" or "--name=VALUE" at argv[*i]: returns 1 with
 * *@val set (advancing *i past a separate value), 0 when argv[*i] is not
 * this option, -1 when the value is missing. */
static int opt_value(int argc, char **argv, int *i, const char *name, const char **val)
{
	size_t len = strlen(name);
	const char *a = argv[*i];
	if (strncmp(a, name, len))
		return 0;
	if (a[len] == '=') {
		*val = a + len + 1;
		return 1;
	}
	if (a[len])
		return 0;
	if (*i + 1 >= argc) {
		fprintf(stderr, "safebpf: %s needs a value\n", name);
		return -1;
	}
	*val = argv[++*i];
	return 1;
}

int cli_engine_parse_opt(int argc, char **argv, int *i, struct cli_exec *x)
{
	const char *v;
	int rc;
	if ((rc = opt_value(argc, argv, i, "--engine", &v)) != 0) {
		if (rc < 0)
			return -1;
		const struct cli_engine *e = cli_engine_find(v);
		if (!e) {
			fprintf(stderr, "safebpf: unknown engine '%s' (available:", v);
			for (size_t k = 0; k < NENGINES; k++)
				fprintf(stderr, " %s", engines[k].name);
			fprintf(stderr, ")\n");
			return -1;
		}
		x->engine = e;
		return 1;
	}
	if ((rc = opt_value(argc, argv, i, "--type", &v)) != 0) {
		if (rc < 0)
			return -1;
		if (sbpf_prog_type__from_name(v, &x->opts.type)) {
			fprintf(stderr, "safebpf: unknown program type '%s' (available:", v);
			for (int t = 0; t < SBPF_PROG__COUNT; t++)
				fprintf(stderr, " %s", sbpf_prog_type__name((enum sbpf_prog_type)t));
			fprintf(stderr, ")\n");
			return -1;
		}
		x->opts.type_set = 1;
		return 1;
	}
	if (!strcmp(argv[*i], "--checked")) {
		x->opts.checked = 1;
		return 1;
	}
	if (!strcmp(argv[*i], "--kops") || !strcmp(argv[*i], "--einsn")) {
		x->opts.kops = CLI_KOPS_ON;
		return 1;
	}
	if (!strcmp(argv[*i], "--kops-unverified")) {
		x->opts.kops = CLI_KOPS_UNVERIFIED;
		return 1;
	}
	if (!strcmp(argv[*i], "--unsafe-unverified")) {
		x->opts.unverified = 1;
		return 1;
	}
	if ((rc = opt_value(argc, argv, i, "--budget", &v)) != 0) {
		if (rc < 0)
			return -1;
		char *end;
		errno = 0;
		unsigned long long b = strtoull(v, &end, 0);
		if (errno || end == v || *end || v[0] == '-') {
			fprintf(stderr, "safebpf: --budget wants a number of instructions, not '%s'\n", v);
			return -1;
		}
		x->opts.budget = b;
		return 1;
	}
	return 0;
}

void cli_engine_usage(FILE *f)
{
	fprintf(f, "  --engine NAME     execution engine (default %s):\n", engines[0].name);
	for (size_t i = 0; i < NENGINES; i++)
		fprintf(f, "                      %-8s %s\n", engines[i].name, engines[i].summary);
	fprintf(f, "  --type TYPE       program type:");
	for (int t = 0; t < SBPF_PROG__COUNT; t++)
		fprintf(f, " %s", sbpf_prog_type__name((enum sbpf_prog_type)t));
	fprintf(f, " (default mem: r1 = input memory, r2 = its length)\n");
	fprintf(f, "  --budget N        stop a run after N instructions (default %llu)\n",
		(unsigned long long)SBPF_DEFAULT_BUDGET);
	fprintf(f, "  --kops, --einsn   JIT engines: run Kops sites as native operations, once the\n"
		   "                    kernel verifier accepts the lowered program (root); a\n"
		   "                    program without sites is first rewritten by the recognizer\n"
		   "                    (rewrites the verifier refuses are left out and reported).\n"
		   "                    An accepted xdp program runs unchecked; without --kops,\n"
		   "                    sites run their proof sequences\n"
		   "  --checked         with --kops: keep the JIT's bounds checks\n"
		   "  --kops-unverified as --kops without asking the kernel (tests only)\n"
		   "  --unsafe-unverified  jit-unchecked and llvm: run a program the kernel verifier\n"
		   "                    has not accepted (tests only: their code has no run-time\n"
		   "                    checks, so an unverified program can crash or hang the process)\n");
}

int cli_engine_run_repeat(const struct cli_engine *e, void *h, void *mem, size_t len,
			  uint64_t repeat, uint64_t *r0, double *ns_per_run,
			  struct sbpf_run_error *err)
{
	if (!repeat)
		repeat = 1;
	if (e->run_timed)
		return e->run_timed(h, mem, len, repeat, r0, ns_per_run, err);
	/* CPU time of this thread, not wall time: BPF_PROG_TEST_RUN also stops
	 * its clock while the test loop is rescheduled, and these machines are
	 * shared. */
	struct timespec t0, t1;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	for (uint64_t i = 0; i < repeat; i++) {
		int rc = e->run(h, mem, len, r0, err);
		if (rc)
			return rc;
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
	double ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
	*ns_per_run = ns / (double)repeat;
	return 0;
}
