/* cmd_events.c - `safebpf events TABLE`: open the MVSF-only source of one
 * table and print its raw rows (a debugging aid; queries come from the SQL
 * front end). With `-- CMD ARGS`, the command is started stopped, the
 * source attached, then the command released, and only its rows printed
 * until it exits and every event it caused has been read.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "safebpf/kernel.h"
#include "sql/sqlInt.h"

struct events_run {
	const struct sql_table *t;  /* table */
	const bool *needed;         /* printed columns */
	int pid_col;                /* column index of pid */
	long only_pid;              /* print rows of this process only (0: all) */
	long max_rows;              /* stop after this many rows (0: no limit) */
	long printed;               /* rows printed */
	char sep;                   /* column separator */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: safebpf events TABLE [options] [-- COMMAND [ARGS...]]\n"
		"Prints the rows of one table as the minimum verifier-safe programs deliver them.\n\n"
		"  -d, --duration D   stop after D (e.g. 500ms, 2s, 1m; default: until ^C or COMMAND exits)\n"
		"  -c, --columns LIST comma-separated columns to read and print (default: all)\n"
		"  -p, --pid PID      print rows of process PID only\n"
		"  -n, --rows N       stop after N rows\n"
		"      --csv          comma-separated output (default: tab-separated)\n"
		"      --ringbuf BYTES ring buffer size (default 4 MiB; rounded up to a power of 2)\n"
		"      --read-after   with COMMAND: read nothing until it exits (shows overflow: lost events)\n"
		"      --ids          print the kernel ids of programs and links, and check after\n"
		"                     closing that none of them is left in the kernel\n"
		"  -- COMMAND ARGS    run COMMAND (started after attaching) and print its rows only\n");
}

/* Parses "250ms", "2s", "1m", "3" (seconds) into milliseconds; -1 on error. */
static long parse_duration(const char *s)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || v < 0)
		return -1;
	double mul = 1000;
	if (!strcmp(end, "ms"))
		mul = 1;
	else if (!strcmp(end, "s") || !*end)
		mul = 1000;
	else if (!strcmp(end, "m"))
		mul = 60000;
	else
		return -1;
	return (long)(v * mul);
}

static void print_value(const struct sql_value *v, char sep)
{
	switch (v->type) {
	case SQL_T_NULL:
		fputs("NULL", stdout);
		break;
	case SQL_T_UINT:
		printf("%llu", (unsigned long long)v->u);
		break;
	case SQL_T_BOOL:
		fputs(v->i ? "true" : "false", stdout);
		break;
	case SQL_T_STR:
		for (const char *p = v->s; *p; p++)
			putchar(*p == sep || *p == '\n' || *p == '\t' ? '?' : *p);
		break;
	default:
		printf("%lld", (long long)v->i);
		break;
	}
}

static int on_row(void *ctx, const struct sql_value *row)
{
	struct events_run *r = ctx;
	if (r->only_pid && row[r->pid_col].i != r->only_pid)
		return 0;
	int first = 1;
	for (size_t c = 0; c < r->t->ncols; c++) {
		if (!r->needed[c])
			continue;
		if (!first)
			putchar(r->sep);
		first = 0;
		print_value(&row[c], r->sep);
	}
	putchar('\n');
	r->printed++;
	return r->max_rows && r->printed >= r->max_rows;
}

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* Forks COMMAND stopped: the child waits on a pipe until released. Returns
 * the child pid and the write end in *@go, or -1. */
static pid_t spawn_stopped(char **cmd, int *go)
{
	int fds[2];
	if (pipe(fds))
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		char c;
		close(fds[1]);
		if (read(fds[0], &c, 1) != 1)
			_exit(127); /* the parent gave up */
		close(fds[0]);
		execvp(cmd[0], cmd);
		fprintf(stderr, "safebpf: cannot run %s: %s\n", cmd[0], strerror(errno));
		_exit(127);
	}
	close(fds[0]);
	*go = fds[1];
	return pid;
}

/* Parses "-c a,b,c" into @needed; prints and fails on an unknown column. */
static int parse_columns(const struct sql_table *t, char *list, bool *needed)
{
	memset(needed, 0, t->ncols * sizeof(bool));
	for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
		int c = sql_table_column(t, tok);
		if (c < 0) {
			fprintf(stderr, "safebpf: table %s has no column '%s'\n", t->name, tok);
			return -1;
		}
		needed[c] = true;
	}
	return 0;
}

/* After close: every program and link the source had must be gone. */
static int check_gone(const struct sql_source_info *info)
{
	int left = 0;
	for (size_t p = 0; p < info->nprobes; p++) {
		if (sbpf_kernel_prog_wait_gone(info->probe[p].prog_id, 1000) != 0)
			left++, fprintf(stderr, "safebpf: program %u still loaded\n", info->probe[p].prog_id);
		if (sbpf_kernel_link_exists(info->probe[p].link_id) != 0)
			left++, fprintf(stderr, "safebpf: link %u still attached\n", info->probe[p].link_id);
	}
	fprintf(stderr, "detached: %s\n", left ? "no" : "yes (no program or link left)");
	return left;
}

int cmd_events(int argc, char **argv)
{
	const char *table = NULL, *cols = NULL;
	long duration = -1;
	int show_ids = 0, read_after = 0;
	size_t ringbuf = 0;
	char **cmd = NULL;
	struct events_run r = { .sep = '\t' };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return EXIT_OK;
		} else if (!strcmp(a, "--")) {
			cmd = argv + i + 1;
			break;
		} else if ((!strcmp(a, "-d") || !strcmp(a, "--duration")) && val) {
			if ((duration = parse_duration(val)) < 0) {
				fprintf(stderr, "safebpf: bad duration '%s' (e.g. 500ms, 2s)\n", val);
				return EXIT_USAGE;
			}
			i++;
		} else if ((!strcmp(a, "-c") || !strcmp(a, "--columns")) && val) {
			cols = val;
			i++;
		} else if ((!strcmp(a, "-p") || !strcmp(a, "--pid")) && val) {
			r.only_pid = strtol(val, NULL, 10);
			i++;
		} else if ((!strcmp(a, "-n") || !strcmp(a, "--rows")) && val) {
			r.max_rows = strtol(val, NULL, 10);
			i++;
		} else if (!strcmp(a, "--csv")) {
			r.sep = ',';
		} else if (!strcmp(a, "--ringbuf") && val) {
			ringbuf = (size_t)strtoull(val, NULL, 0);
			i++;
		} else if (!strcmp(a, "--read-after")) {
			read_after = 1;
		} else if (!strcmp(a, "--ids")) {
			show_ids = 1;
		} else if (a[0] != '-' && !table) {
			table = a;
		} else {
			fprintf(stderr, "safebpf events: unknown or incomplete option '%s'\n", a);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (!table || (cmd && !cmd[0])) {
		usage(stderr);
		return EXIT_USAGE;
	}
	r.t = sql_catalog_find(table);
	if (!r.t) {
		fprintf(stderr, "safebpf: no table '%s' (see safebpf tables)\n", table);
		return EXIT_USAGE;
	}
	bool *needed = calloc(r.t->ncols, sizeof(bool)), *read = calloc(r.t->ncols, sizeof(bool));
	if (!needed || !read) {
		free(needed);
		free(read);
		return EXIT_FAIL;
	}
	char *colbuf = cols ? strdup(cols) : NULL;
	int rc = EXIT_OK;
	if (cols && parse_columns(r.t, colbuf, needed)) {
		rc = EXIT_USAGE;
		goto out;
	}
	for (size_t c = 0; c < r.t->ncols; c++)
		read[c] = needed[c] = cols ? needed[c] : true;
	r.pid_col = sql_table_column(r.t, "pid");
	read[r.pid_col] = true; /* the pid filter reads it even when not printed */
	r.needed = needed;

	int go = -1;
	pid_t child = 0;
	if (cmd) {
		if ((child = spawn_stopped(cmd, &go)) < 0) {
			fprintf(stderr, "safebpf: cannot start %s: %s\n", cmd[0], strerror(errno));
			rc = EXIT_FAIL;
			goto out;
		}
		r.only_pid = child;
	}
	char err[512];
	struct sql_source_opts so = { .sz = sizeof(so), .needed = read, .ringbuf_bytes = ringbuf };
	struct sql_source *s = sql_source_open(r.t, &so, err, sizeof(err));
	if (!s) {
		fprintf(stderr, "safebpf: %s\n", err);
		rc = errno == EPERM ? EXIT_PERM : EXIT_FAIL;
		if (child > 0) {
			close(go); /* the child exits without running the command */
			waitpid(child, NULL, 0);
		}
		goto out;
	}
	struct sql_source_info info;
	sql_source_info(s, &info);
	if (show_ids)
		for (size_t p = 0; p < info.nprobes; p++)
			fprintf(stderr, "%s: prog id %u, link id %u, %zu insns, %u-byte records\n", info.probe[p].tp,
				info.probe[p].prog_id, info.probe[p].link_id, info.probe[p].ninsns,
				info.probe[p].record_bytes);
	int first = 1;
	for (size_t c = 0; c < r.t->ncols; c++)
		if (needed[c]) {
			printf("%s%s", first ? "" : (char[]){ r.sep, 0 }, r.t->cols[c].name);
			first = 0;
		}
	putchar('\n');
	if (child > 0 && write(go, "g", 1) != 1) {
		fprintf(stderr, "safebpf: cannot release %s\n", cmd[0]);
		rc = EXIT_FAIL;
	}
	if (go >= 0)
		close(go);
	signal(SIGINT, on_sigint);
	long deadline = duration >= 0 ? now_ms() + duration : -1;
	int status = 0, done = 0;
	while (!interrupted && !done && rc == EXIT_OK) {
		long left = deadline >= 0 ? deadline - now_ms() : 100;
		if (left <= 0)
			break;
		int n = 0;
		if (read_after && child > 0) {
			if (waitpid(child, &status, 0) == child) /* blocks: the test of overflow */
				child = 0;
			done = 1;
			continue;
		}
		n = sql_source_poll(s, left < 100 ? (int)left : 100, on_row, &r);
		if (n < 0) {
			fprintf(stderr, "safebpf: reading events: %s\n", strerror(-n));
			rc = EXIT_FAIL;
		}
		if (r.max_rows && r.printed >= r.max_rows)
			done = 1;
		if (child > 0 && waitpid(child, &status, WNOHANG) == child) {
			child = 0;
			done = 1;
		}
	}
	/* Everything that happened before now (the command's whole life). */
	if (rc == EXIT_OK && !(r.max_rows && r.printed >= r.max_rows)) {
		int n = sql_source_drain(s, 5000, on_row, &r);
		if (n < 0) {
			fprintf(stderr, "safebpf: draining events: %s\n", strerror(-n));
			rc = EXIT_FAIL;
		}
	}
	fflush(stdout);
	fprintf(stderr, "rows %ld, lost %llu, evicted %llu\n", r.printed,
		(unsigned long long)sql_source_lost(s), (unsigned long long)sql_source_evicted(s));
	sql_source_close(s);
	if (show_ids && check_gone(&info))
		rc = EXIT_FAIL;
	if (child > 0) {
		kill(child, SIGTERM);
		waitpid(child, &status, 0);
	} else if (cmd && (!WIFEXITED(status) || WEXITSTATUS(status))) {
		fprintf(stderr, "safebpf: %s exited with status %d\n", cmd[0],
			WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
		rc = EXIT_FAIL;
	}
out:
	free(colbuf);
	free(needed);
	free(read);
	return rc;
}
