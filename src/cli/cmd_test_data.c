/* cmd_test_data.c - `safebpf test-data`: runs .data instruction test files
 * (bpf_conformance format, see safebpf/datafile.h) on an engine and checks
 * r0 against "-- result" or the failure against "-- error".
 *
 * Files in a directory named "negative" (or every file, with --negative)
 * must NOT pass: bad assembly, invalid bytecode, a wrong expected value or
 * an empty program all count as the expected failure.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "engine.h"
#include "safebpf/datafile.h"

/* Files the suite does not run, each with the reason. Keep this empty
 * unless an engine truly cannot run a test; every entry is reported. */
static const struct {
	const char *name;  /* file name (basename) */
	const char *why;   /* reason, printed when skipped */
} excluded[] = {
	{ NULL, NULL },
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: safebpf test-data [--negative] [-v] [engine options] PATH...\n"
		"\n"
		"Runs every .data file in PATH (files or directories, recursively). A file\n"
		"passes when r0 equals its -- result, or when the failure message contains\n"
		"its -- error text. Files under a directory named 'negative' (all files with\n"
		"--negative) must fail instead. Prints one line per failure and ends with\n"
		"'N passed, N failed'.\n"
		"\n"
		"  --negative        every file given must fail\n"
		"  -v, --verbose     also print passing files (and why negative ones fail)\n");
	cli_engine_usage(f);
}

/* A list of test files to run. */
struct file_list {
	char **path;      /* malloc'ed paths */
	size_t n, cap;    /* used / allocated */
};

static int list_add(struct file_list *l, const char *path)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 64;
		char **np = realloc(l->path, ncap * sizeof(*np));
		if (!np)
			return -ENOMEM;
		l->path = np;
		l->cap = ncap;
	}
	if (!(l->path[l->n] = strdup(path)))
		return -ENOMEM;
	l->n++;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcmp(s + n - m, suffix);
}

/* Adds @path (a .data file, or a directory searched recursively, in name
 * order). Returns 0, or -1 after printing why. */
static int collect(struct file_list *l, const char *path)
{
	struct stat st;
	if (stat(path, &st)) {
		fprintf(stderr, "safebpf test-data: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return list_add(l, path) ? -1 : 0;
	DIR *d = opendir(path);
	if (!d) {
		fprintf(stderr, "safebpf test-data: %s: %s\n", path, strerror(errno));
		return -1;
	}
	struct file_list here = { 0 };
	struct dirent *e;
	int rc = 0;
	while (!rc && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char *sub;
		if (asprintf(&sub, "%s/%s", path, e->d_name) < 0) {
			rc = -1;
			break;
		}
		struct stat sst;
		if (!stat(sub, &sst) && (S_ISDIR(sst.st_mode) || ends_with(sub, ".data")))
			rc = list_add(&here, sub) ? -1 : 0;
		free(sub);
	}
	closedir(d);
	if (here.n)
		qsort(here.path, here.n, sizeof(*here.path), cmp_str);
	for (size_t i = 0; i < here.n; i++) {
		if (!rc)
			rc = collect(l, here.path[i]);
		free(here.path[i]);
	}
	free(here.path);
	return rc;
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

static const char *excluded_reason(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	for (size_t i = 0; excluded[i].name; i++)
		if (!strcmp(excluded[i].name, base))
			return excluded[i].why;
	return NULL;
}

/* "line:col: message" of the first diagnostic, into @buf. */
static void first_diag(const struct sbpf_diags *d, char *buf, size_t sz)
{
	if (d->n)
		snprintf(buf, sz, "%d:%d: %s", d->items[0].line, d->items[0].col, d->items[0].message);
	else
		snprintf(buf, sz, "(no details)");
}

/* Runs one test file. Returns 1 when it passes, 0 when it fails; either way
 * @why says what happened. */
static int check_file(const struct cli_exec *x, const char *path, char *why, size_t whysz)
{
	char *text = cli_read_file(path, NULL);
	if (!text) {
		snprintf(why, whysz, "cannot read the file");
		return 0;
	}
	struct sbpf_datafile df;
	struct sbpf_diags diags = { 0 };
	struct sbpf_insn *insns = NULL;
	size_t n = 0;
	char msg[256];
	int pass = 0;
	int rc = sbpf_datafile__parse(text, path, &df, &diags);
	if (rc) {
		first_diag(&diags, msg, sizeof(msg));
		snprintf(why, whysz, "bad test file: %s", msg);
		goto out;
	}
	rc = sbpf_datafile__program(&df, path, &insns, &n, &diags);
	if (rc == -ENOENT) {
		snprintf(why, whysz, "no program (no -- asm or -- raw section, or it is empty)");
		goto out;
	} else if (rc) {
		first_diag(&diags, msg, sizeof(msg));
		snprintf(why, whysz, "assembly failed: %s", msg);
		goto out;
	}
	void *h = x->engine->load(insns, n, &x->opts, msg, sizeof(msg));
	if (!h) {
		pass = df.error && strstr(msg, df.error);
		snprintf(why, whysz, "%s", msg);
		goto out;
	}
	uint64_t r0 = 0;
	struct sbpf_run_error err = { 0 };
	rc = x->engine->run(h, df.mem, df.mem_len, &r0, &err);
	x->engine->unload(h);
	if (rc) {
		snprintf(msg, sizeof(msg), "error at pc %zu: %s", err.pc, err.reason);
		pass = df.error && strstr(msg, df.error);
		snprintf(why, whysz, "%s%s%s%s", msg, df.error && !pass ? " (expected an error containing '" : "",
			 df.error && !pass ? df.error : "", df.error && !pass ? "')" : "");
	} else if (df.error) {
		snprintf(why, whysz, "r0 = 0x%" PRIx64 ", but an error containing '%s' was expected", r0, df.error);
	} else if (!df.has_result) {
		snprintf(why, whysz, "r0 = 0x%" PRIx64 ", but the file has no -- result or -- error to check", r0);
	} else {
		pass = r0 == df.result;
		snprintf(why, whysz, "r0 = 0x%" PRIx64 "%s0x%" PRIx64, r0, pass ? " == " : ", expected ", df.result);
	}
out:
	free(insns);
	sbpf_diags__free(&diags);
	sbpf_datafile__free(&df);
	free(text);
	return pass;
}

int cmd_test_data(int argc, char **argv)
{
	struct cli_exec x;
	cli_exec_init(&x);
	int negative = 0, verbose = 0;
	struct file_list files = { 0 };
	int status = EXIT_OK;
	for (int i = 1; i < argc && status == EXIT_OK; i++) {
		int rc = cli_engine_parse_opt(argc, argv, &i, &x);
		if (rc < 0) {
			status = EXIT_USAGE;
		} else if (rc > 0) {
			continue;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			status = -1;
		} else if (!strcmp(argv[i], "--negative")) {
			negative = 1;
		} else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
			verbose = 1;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "safebpf test-data: unknown option %s\n", argv[i]);
			status = EXIT_USAGE;
		} else if (collect(&files, argv[i])) {
			status = EXIT_INPUT;
		}
	}
	if (status == EXIT_OK && !files.n) {
		usage(stderr);
		status = EXIT_USAGE;
	}
	if (status != EXIT_OK) {
		for (size_t i = 0; i < files.n; i++)
			free(files.path[i]);
		free(files.path);
		return status < 0 ? EXIT_OK : status;
	}

	size_t passed = 0, failed = 0, skipped = 0;
	for (size_t i = 0; i < files.n; i++) {
		const char *path = files.path[i];
		const char *skip = excluded_reason(path);
		if (skip) {
			printf("SKIP %s: %s\n", path, skip);
			skipped++;
			continue;
		}
		char why[512];
		int neg = negative || in_negative_dir(path);
		int ok = check_file(&x, path, why, sizeof(why)) != neg;
		if (ok) {
			passed++;
			if (verbose)
				printf("ok   %s: %s%s\n", path, neg ? "fails as expected: " : "", why);
		} else {
			failed++;
			printf("FAIL %s: %s%s\n", path, neg ? "negative test passed: " : "", why);
		}
		free(files.path[i]);
	}
	free(files.path);
	if (skipped)
		printf("%zu passed, %zu failed, %zu skipped\n", passed, failed, skipped);
	else
		printf("%zu passed, %zu failed\n", passed, failed);
	return failed ? EXIT_FAIL : EXIT_OK;
}
