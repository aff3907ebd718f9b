/* cmd_selftest.c - `safebpf selftest`: the exhaustive check behind "every
 * valid query runs". For every table, the minimum verifier-safe functions
 * of all its probes are generated and loaded into the running kernel (the
 * real verifier judges them) for every column alone, for no column (pairing
 * keys only) and for all columns; the last two are also attached, detached
 * and checked to be gone from the kernel. Because captures are independent straight-line code, these
 * column sets cover every projection a query can ask for.
 *
 * --all does the same for the generic table of every tracepoint of the
 * running kernel (tptable.c): all columns (loaded, attached, detached), no
 * column, and each tracepoint field alone (the context columns' capture
 * code is the stable tables'). The attached set is always loaded; the
 * load-only sets consult the verifier-verdict cache of this kernel release
 * first (vcache.c): a program this kernel already accepted is not loaded
 * again, so a second run is quick.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "dsl/dsl.h"
#include "safebpf/kernel.h"
#include "sql/sqlInt.h"

static bool use_cache;          /* --all without --no-cache: skip programs accepted before */

struct verdict {
	size_t programs;        /* programs loaded and attached */
	bool refused;           /* the kernel refuses to attach to this tracepoint (EPERM while
				   privileged: irq_vectors/irq_work_exit refuses sampling events) */
	size_t cached;          /* programs skipped: this kernel release accepted them before */
	size_t max_insns;       /* largest program */
	uint32_t max_record;    /* largest record */
	size_t unavailable;     /* columns this kernel cannot provide */
	int failed;             /* a load, attach or detach check failed */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: safebpf selftest [-v] [--all] [--no-cache] [TABLE|DSL...]\n"
		"Loads every minimum verifier-safe program of every table (or of the TABLEs\n"
		"named) into the running kernel (the verifier judges each), attaches and detaches\n"
		"two column sets per table, and prints one verdict per table; then the MVSF of\n"
		"every other DSL (cc: congestion control, ...), or of the DSLs named.\n"
		"Exits 0 when all pass, 1 on any failure, 4 without privileges.\n\n"
		"  -v          print every column set tried\n"
		"  --all       also the generic table of every tracepoint of this kernel (one line\n"
		"              per failure and a summary; -v: one line per table)\n"
		"  --no-cache  load every program, even those this kernel release accepted before\n");
}

/* Opens the source of @t reading the columns in @needed, checks what it
 * loaded, closes it and checks that it is gone. Returns 0 or -1 (printed). */
static int try_columns(const struct sql_table *t, const bool *needed, const char *what, bool attach,
		       int verbose, struct verdict *v)
{
	char err[600];
	/* The program shape without the self filter is tried with "no column". */
	bool rejected = false;
	struct sql_source_opts so = { .sz = sizeof(so), .needed = needed, .ringbuf_bytes = 64 << 10,
				      .load_only = !attach, .include_self = !strcmp(what, "no column"),
				      .rejected = &rejected };
	uint64_t fp = 0;
	if (!attach && use_cache && !sql_source_fingerprint(t, &so, &fp, err, sizeof(err))) {
		enum sql_verdict cv;
		char reason[8];
		if (sql_vcache_get(fp, &cv, reason, sizeof(reason)) && cv == SQL_VERDICT_ACCEPTED) {
			v->cached++;
			if (verbose)
				printf("  ok   %s, %s: accepted before on this kernel release (cached)\n", t->name, what);
			return 0;
		}
	}
	struct sql_source *s = sql_source_open(t, &so, err, sizeof(err));
	if (!s) {
		if (fp && rejected)
			sql_vcache_put(fp, SQL_VERDICT_REJECTED, err);
		if (attach && !rejected && strstr(err, "perf_event_open(") && strstr(err, "Operation not permitted")) {
			/* Privileged (checked before), so the tracepoint itself says no. */
			v->refused = true;
			if (verbose)
				printf("  n/a  %s, %s: %s\n", t->name, what, err);
			return -1;
		}
		printf("  FAIL %s, %s: %s\n", t->name, what, err);
		return -1;
	}
	if (fp)
		sql_vcache_put(fp, SQL_VERDICT_ACCEPTED, NULL);
	struct sql_source_info info;
	sql_source_info(s, &info);
	int bad = 0;
	for (size_t p = 0; p < info.nprobes; p++) {
		v->programs++;
		if (info.probe[p].ninsns > v->max_insns)
			v->max_insns = info.probe[p].ninsns;
		if (info.probe[p].record_bytes > v->max_record)
			v->max_record = info.probe[p].record_bytes;
		if (attach && sbpf_kernel_link_exists(info.probe[p].link_id) != 1) {
			printf("  FAIL %s, %s: %s is not attached\n", t->name, what, info.probe[p].tp);
			bad = 1;
		}
	}
	if (verbose)
		printf("  ok   %s, %s%s: %zu insns%s%zu, records %u%s%u bytes\n", t->name, what,
		       attach ? " (attached)" : "", info.probe[0].ninsns,
		       info.nprobes > 1 ? " + " : "", info.nprobes > 1 ? info.probe[1].ninsns : (size_t)0,
		       info.probe[0].record_bytes, info.nprobes > 1 ? " + " : "",
		       info.nprobes > 1 ? info.probe[1].record_bytes : 0);
	sql_source_close(s);
	for (size_t p = 0; p < info.nprobes; p++) {
		if ((attach && sbpf_kernel_link_exists(info.probe[p].link_id) != 0) ||
		    sbpf_kernel_prog_wait_gone(info.probe[p].prog_id, 1000) != 0) {
			printf("  FAIL %s, %s: program %u or link %u still in the kernel after close\n", t->name, what,
			       info.probe[p].prog_id, info.probe[p].link_id);
			bad = 1;
		}
	}
	return bad ? -1 : 0;
}

/* Every column set of one table. @quiet: no notes about unavailable columns.
 * @generic (--all): the context columns are not tried alone (their capture
 * code is the same in every table and the stable tables try it), and "no
 * column" is loaded but not attached; "all columns" is always attached. */
static struct verdict check_table(const struct sql_table *t, int verbose, bool quiet, bool generic)
{
	struct verdict v = { 0 };
	bool *needed = calloc(t->ncols, sizeof(bool));
	bool *avail = calloc(t->ncols, sizeof(bool));
	if (!needed || !avail) {
		v.failed = 1;
		goto out;
	}
	for (size_t c = 0; c < t->ncols; c++) {
		char why[300];
		avail[c] = sql_column_available(t, c, why, sizeof(why));
		if (!avail[c]) {
			v.unavailable++;
			if (!quiet || verbose)
				printf("  note %s.%s is unavailable on this kernel: %s\n", t->name, t->cols[c].name, why);
		}
	}
	if (try_columns(t, avail, "all columns", true, verbose, &v))
		v.failed = 1;
	if (try_columns(t, needed, "no column", !generic, verbose, &v))
		v.failed = 1;
	size_t nctx = 0;
	if (generic)
		sql_catalog_context(&nctx);
	for (size_t c = nctx; c < t->ncols; c++) {
		if (!avail[c])
			continue;
		char what[96];
		snprintf(what, sizeof(what), "column %s", t->cols[c].name);
		needed[c] = true;
		if (try_columns(t, needed, what, false, verbose, &v))
			v.failed = 1;
		needed[c] = false;
	}
out:
	free(needed);
	free(avail);
	return v;
}

/* --all: the generic table of every tracepoint. Adds to the counts;
 * returns the number of failures. */
static size_t check_all(int verbose, size_t *pass, size_t *unreadable, size_t *programs, size_t *cached)
{
	char **tps;
	size_t n, fail = 0;
	int rc = sql_tptable_list(&tps, &n);
	if (rc) {
		printf("FAIL cannot list the tracepoints of this kernel: %s\n", strerror(-rc));
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		char name[300], err[300];
		snprintf(name, sizeof(name), "tracepoint.%s", tps[i]);
		*strchr(name + 11, '/') = '.';
		const struct sql_table *t = sql_tptable_find(name, err, sizeof(err));
		if (!t) {
			/* A format this parser cannot read is not a table (said, not failed). */
			printf("n/a  %s: %s\n", name, err);
			(*unreadable)++;
			continue;
		}
		struct verdict v = check_table(t, verbose, true, true);
		*programs += v.programs;
		*cached += v.cached;
		if (v.refused) {
			printf("n/a  %s: the kernel refuses to attach programs to it here (perf_event_open: EPERM "
			       "while privileged; some tracepoints refuse sampling perf events)\n", t->name);
			(*unreadable)++;
		} else if (v.failed) {
			fail++;
			printf("FAIL %s\n", t->name);
		} else {
			(*pass)++;
			if (verbose)
				printf("PASS %s: %zu programs verified, %zu cached\n", t->name, v.programs, v.cached);
		}
	}
	sql_tptable_list_free(tps, n);
	return fail;
}

int cmd_selftest(int argc, char **argv)
{
	int verbose = 0, nnamed = 0, all = 0, no_cache = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "-v")) {
			verbose = 1;
		} else if (!strcmp(argv[i], "--all")) {
			all = 1;
		} else if (!strcmp(argv[i], "--no-cache")) {
			no_cache = 1;
		} else if (argv[i][0] != '-') {
			if (!sql_catalog_find(argv[i]) && !dsl_mvsf_find(argv[i])) {
				fprintf(stderr, "safebpf selftest: no table or DSL '%s' (see safebpf tables)\n", argv[i]);
				return EXIT_USAGE;
			}
			nnamed++;
		} else {
			fprintf(stderr, "safebpf selftest: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	char why[300];
	if (sbpf_kernel_check_privileges(why, sizeof(why))) {
		fprintf(stderr, "safebpf selftest: cannot load programs: %s\n", why);
		return EXIT_PERM;
	}
	if (!sbpf_kernel_tracefs()) {
		fprintf(stderr, "safebpf selftest: tracefs is not mounted and cannot be mounted (%s)\n",
			strerror(errno));
		return EXIT_FAIL;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	size_t pass = 0, fail = 0, missing = 0, programs = 0, cached = 0, unreadable = 0, gpass = 0;
	size_t ncat = sql_catalog_count();
	for (size_t i = 0; i < ncat + (size_t)argc; i++) {
		const struct sql_table *t;
		if (i < ncat) {
			t = sql_catalog_get(i);
			if (nnamed) {
				int named = 0;
				for (int a = 1; a < argc; a++)
					named |= sql_catalog_find(argv[a]) == t;
				if (!named)
					continue;
			}
		} else {
			/* Generic tables named on the command line. */
			const char *a = argv[i - ncat];
			if (a[0] == '-' || !strchr(a, '.') || !(t = sql_catalog_find(a)))
				continue;
		}
		if (!sql_table_available(t, why, sizeof(why))) {
			printf("n/a  %-16s unavailable on this kernel: %s\n", t->name, why);
			missing++;
			continue;
		}
		struct verdict v = check_table(t, verbose, false, false);
		programs += v.programs;
		if (v.failed) {
			fail++;
			printf("FAIL %-16s\n", t->name);
			continue;
		}
		pass++;
		printf("PASS %-16s %3zu programs verified (%zu column sets, 2 also attached and detached); "
		       "largest %zu insns, %u-byte records%s\n",
		       t->name, v.programs, t->ncols - v.unavailable + 2, v.max_insns, v.max_record,
		       v.unavailable ? " (some columns unavailable)" : "");
	}
	size_t ndsl, dpass = 0, dfail = 0, dmissing = 0;
	const struct dsl_mvsf *dsls = dsl_mvsfs(&ndsl);
	for (size_t i = 0; i < ndsl; i++) {
		if (nnamed) {
			int named = 0;
			for (int a = 1; a < argc; a++)
				named |= !strcmp(argv[a], dsls[i].dsl);
			if (!named)
				continue;
		}
		struct dsl_mvsf_result r = { 0 };
		dsls[i].check(verbose, &r);
		programs += r.programs;
		if (r.status == -EOPNOTSUPP) {
			printf("n/a  dsl %-10s %s: %s\n", dsls[i].dsl, dsls[i].what, r.detail);
			dmissing++;
		} else if (r.status) {
			printf("FAIL dsl %-10s %s: %s\n", dsls[i].dsl, dsls[i].what, r.detail);
			dfail++;
		} else {
			printf("PASS dsl %-10s %s: %zu programs verified, largest %zu insns; %s\n", dsls[i].dsl,
			       dsls[i].what, r.programs, r.max_insns, r.detail);
			dpass++;
		}
	}
	size_t gfail = 0;
	if (all) {
		struct timespec g0;
		clock_gettime(CLOCK_MONOTONIC, &g0);
		size_t gprog = 0;
		use_cache = !no_cache;
		gfail = check_all(verbose, &gpass, &unreadable, &gprog, &cached);
		use_cache = false;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		double gs = (double)(t1.tv_sec - g0.tv_sec) + (double)(t1.tv_nsec - g0.tv_nsec) / 1e9;
		printf("selftest --all: %zu tracepoint tables passed, %zu failed, %zu unavailable; %zu programs "
		       "loaded and %zu verdicts reused from the cache of kernel %s in %.1fs\n",
		       gpass, gfail, unreadable, gprog, cached, dsl_kernel_release(), gs);
		programs += gprog;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("selftest: %zu tables passed, %zu failed, %zu unavailable; DSL MVSFs %zu passed, %zu failed, "
	       "%zu unavailable; %zu programs in %.1fs\n",
	       pass + gpass, fail + gfail, missing, dpass, dfail, dmissing, programs, secs);
	return fail || dfail || gfail ? EXIT_FAIL : EXIT_OK;
}
