/* engine.h - execution engines for the CLI commands that run programs
 * (run, test-data, conformance-plugin): one table (engines.def) and one
 * option parser, so a new engine or engine option is added in one place and
 * every command gets it.
 */
#ifndef SAFEBPF_CLI_ENGINE_H
#define SAFEBPF_CLI_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "safebpf/isa.h"
#include "safebpf/maps.h"
#include "safebpf/vm.h"

/* How to load and run a program; filled by cli_engine_parse_opt(). */
struct cli_engine_opts {
	size_t sz;                 /* sizeof(struct cli_engine_opts) */
	enum sbpf_prog_type type;  /* --type (default mem) */
	uint64_t budget;           /* --budget: instructions per run (0: engine default) */
	int type_set;              /* --type was given (not just the default) */
	int verbose;               /* the command's --verbose: engines may print load logs
				    * (kernel: the verifier's) to stderr */
	const void *rodata;        /* the program's read-only data (vm.h SBPF_RODATA_PSEUDO), or NULL */
	size_t rodata_len;         /* its bytes */
	int kops;                  /* --kops / --kops-unverified: CLI_KOPS_* (JIT engines only) */
	int unverified;            /* --unsafe-unverified (tests only): jit-unchecked and llvm
				    * run a program the kernel verifier has not accepted */
	/* The lowered program's sites when the command lowered the program
	 * itself (cli_kops_prepare) and passes the lowered program to load();
	 * NULL: load() lowers a program with sites on its own. */
	const struct sbpf_kops_lowered *lowered;
	int kops_verified;         /* the command's kernel verifier accepted @lowered */
	int checked;               /* --checked: a verifier-accepted --kops program on the
				    * "jit" engine keeps its checks (default: unchecked) */
	struct sbpf_maps *maps;    /* the program's maps (safebpf/maps.h), or NULL; the
				    * kernel engine copies them in at load and reads its
				    * copies back into them after each run */
};

/* One engine. A handle from load() runs any number of times. */
struct cli_engine {
	const char *name;     /* as given to --engine */
	const char *summary;  /* one line for --help */
	/* Loads (validates, compiles...) @insns. Returns a handle, or NULL with
	 * a reason for people in @why; a program that fails validation gives
	 * "invalid program: instruction N: rule". */
	void *(*load)(const struct sbpf_insn *insns, size_t n, const struct cli_engine_opts *o,
		      char *why, size_t whysz);
	/* Runs on @mem/@len (in place). Returns 0 with *@r0 set, or a negative
	 * errno with @err filled. */
	int (*run)(void *h, void *mem, size_t len, uint64_t *r0, struct sbpf_run_error *err);
	void (*unload)(void *h);
	/* Optional (NULL: cli_engine_run_repeat() times run() in a loop): runs
	 * @repeat times on @mem and reports the engine's own time per run in
	 * *@ns_per_run; engines whose runs cannot be timed from user space
	 * (kernel: BPF_PROG_TEST_RUN) provide it. */
	int (*run_timed)(void *h, void *mem, size_t len, uint64_t repeat, uint64_t *r0,
			 double *ns_per_run, struct sbpf_run_error *err);
};

#define ENGINE(name, prefix, summary)                                                      \
	void *prefix##_load(const struct sbpf_insn *insns, size_t n,                       \
			    const struct cli_engine_opts *o, char *why, size_t whysz);     \
	int prefix##_run(void *h, void *mem, size_t len, uint64_t *r0,                    \
			 struct sbpf_run_error *err);                                      \
	void prefix##_unload(void *h);
/* An engine with its own timing: also provides prefix_run_timed(). */
#define ENGINE_TIMED(name, prefix, summary)                                                \
	ENGINE(name, prefix, summary)                                                      \
	int prefix##_run_timed(void *h, void *mem, size_t len, uint64_t repeat,           \
			       uint64_t *r0, double *ns_per_run, struct sbpf_run_error *err);
#include "engines.def"

/* The engine selection a command works with. */
struct cli_exec {
	const struct cli_engine *engine; /* --engine (default: first in engines.def) */
	struct cli_engine_opts opts;     /* options passed to it */
};

/* Defaults: first engine, type mem, default budget. */
void cli_exec_init(struct cli_exec *x);

/* The engine called @name, or NULL. */
const struct cli_engine *cli_engine_find(const char *name);

/* If argv[*i] is an engine option (--engine NAME, --type TYPE, --budget N,
 * --kops/--einsn, --kops-unverified, --checked, --unsafe-unverified),
 * consumes it and its value (advancing *i to the last argument used) and
 * returns 1; returns 0 when it is not one; prints the problem and returns
 * -1 on a bad value. */
int cli_engine_parse_opt(int argc, char **argv, int *i, struct cli_exec *x);

/* Runs the loaded handle @h of engine @e @repeat times (at least once) on
 * @mem and stores r0 of the last run and the time per run in ns: the
 * engine's own figure when it has one (run_timed), else the time of the
 * whole loop divided by @repeat, measured as this thread's CPU time
 * (CLOCK_THREAD_CPUTIME_ID: like the kernel's test-run clock, it does not
 * count time the loop spent preempted). Returns 0 or the
 * first run's error. */
int cli_engine_run_repeat(const struct cli_engine *e, void *h, void *mem, size_t len,
			  uint64_t repeat, uint64_t *r0, double *ns_per_run,
			  struct sbpf_run_error *err);

/* Writes the help lines for the engine options to @f. */
void cli_engine_usage(FILE *f);

#endif
