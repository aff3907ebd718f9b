/* cmd_query.c - `safebpf query 'SQL'`: compile a query, run it on the live
 * kernel, print rows as a table, CSV or JSON lines. With -c the command is
 * started stopped (waiting on a pipe), released once every program is
 * attached, traced with its descendants, and the run ends when it exits and
 * every event it caused has been read. Ctrl-C ends the run the same way:
 * the last window is printed and everything is detached.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "safebpf/sql.h"

static void usage(FILE *f)
{
	fputs("usage: safebpf query [options] 'SQL' [-- COMMAND [ARGS...]]\n"
	      "       safebpf query [options] --file FILE [-- COMMAND [ARGS...]]\n"
	      "       safebpf query [options] -- 'SQL' [COMMAND [ARGS...]]\n"
	      "Runs a SQL query over kernel events (tables: `safebpf tables`; language: docs/sql.md).\n"
	      "Any argument that is not an option is the query (it may start with a -- comment).\n\n"
	      "      --file FILE    read the query from FILE (- for standard input)\n"
	      "  -d, --duration D   stop after D (10s, 500ms, 1m; default: until Ctrl-C or COMMAND exits)\n"
	      "  -f, --format F     table (default), csv (RFC 4180) or json (NDJSON: one object per\n"
	      "                     line; integers beyond 2^53 as strings), folded (flame-graph lines\n"
	      "                     \"frame;frame;... count\": the columns, the last one the count) or\n"
	      "                     svg (a flame graph of those lines; default for -o FILE.svg)\n"
	      "      --freq HZ      cpu_samples: samples per second on each CPU (default 99)\n"
	      "      --time T       time columns in csv/json: boot (default: nanoseconds since boot)\n"
	      "                     or wall (RFC 3339 UTC with nanoseconds)\n"
	      "  -o, --output FILE  write rows to FILE instead of standard output\n"
	      "  -p, --pid PID      only events of process PID; the run ends when it exits\n"
	      "  -c, --command CMD  run CMD (split into words, no shell), trace it and its children,\n"
	      "                     stop when it exits; `-- COMMAND ARGS` does the same\n"
	      "                     (after `--`, the query comes first when not given yet)\n"
	      "      --plan P       where operators run: auto (default: the cheapest plan the kernel\n"
	      "                     verifier accepts), mvsf (every operator in user space), or\n"
	      "                     kernel-max (as much as possible in the kernel)\n"
	      "      --show-plan    say on standard error which plan ran (safebpf explain shows all)\n"
	      "  -h, --help         this help\n\n"
	      "Exit status: with a command, the command's own status (128+N when signal N ended\n"
	      "it, as timeout(1) and strace report it); else 0. safebpf's own failures: 1 failure\n"
	      "while running, 2 bad command line, 3 bad query, 4 missing privileges.\n\n"
	      "examples:\n"
	      "  safebpf query -d 5s 'SELECT syscall_name(syscall_number) AS syscall, COUNT(*) AS calls,\n"
	      "                       P99(duration) AS p99 FROM system_calls GROUP BY syscall\n"
	      "                       ORDER BY calls DESC LIMIT 10'\n"
	      "  safebpf query 'SELECT comm, path, errno_name(ret) AS err FROM file_opens'\n"
	      "  safebpf query -c 'make -j2' 'SELECT comm, COUNT(*) FROM process_exec GROUP BY comm'\n",
	      f);
}

/* ---- the traced command ---- */

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t child_exited;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void on_sigchld(int sig)
{
	(void)sig;
	child_exited = 1;
}

struct traced {
	pid_t pid;          /* the command (0: none) */
	int go;             /* write end of the start pipe */
	int status;         /* wait status once reaped */
	bool reaped;        /* status is valid */
	pid_t watch;        /* -p: end the run when this process is gone */
};

/* Splits @s into words: blanks separate, quotes group, backslash escapes.
 * Returns a NULL-terminated malloc'ed array of malloc'ed words, or NULL. */
static char **split_words(const char *s)
{
	size_t cap = 8, n = 0;
	char **argv = calloc(cap, sizeof(*argv));
	char *w = malloc(strlen(s) + 1);
	if (!argv || !w)
		goto fail;
	for (;;) {
		while (isspace((unsigned char)*s))
			s++;
		if (!*s)
			break;
		size_t k = 0;
		char q = 0;
		for (; *s && (q || !isspace((unsigned char)*s)); s++) {
			if (q && *s == q)
				q = 0;
			else if (!q && (*s == '\'' || *s == '"'))
				q = *s;
			else if (*s == '\\' && s[1] && q != '\'')
				w[k++] = *++s;
			else
				w[k++] = *s;
		}
		if (q) {
			fprintf(stderr, "safebpf: unterminated quote in -c command\n");
			goto fail;
		}
		w[k] = '\0';
		if (n + 2 > cap) {
			char **na = realloc(argv, (cap *= 2) * sizeof(*na));
			if (!na)
				goto fail;
			argv = na;
		}
		if (!(argv[n++] = strdup(w)))
			goto fail;
		argv[n] = NULL;
	}
	free(w);
	if (!n) {
		fprintf(stderr, "safebpf: -c needs a command\n");
		free(argv);
		return NULL;
	}
	return argv;
fail:
	for (size_t i = 0; argv && i < n; i++)
		free(argv[i]);
	free(argv);
	free(w);
	return NULL;
}

/* Whether @cmd can be executed (searched in PATH without a slash). */
static bool executable(const char *cmd)
{
	if (strchr(cmd, '/'))
		return access(cmd, X_OK) == 0;
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/bin:/bin";
	char buf[4096];
	for (const char *p = path; *p;) {
		const char *end = strchr(p, ':');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, len ? p : ".", cmd);
		struct stat st;
		if (stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0)
			return true;
		if (!end)
			break;
		p = end + 1;
	}
	return false;
}

/* Forks @argv stopped: the child blocks reading a pipe until released (or
 * exits at once if the pipe closes without a byte). No sleeping. */
static int spawn_stopped(char **argv, struct traced *t)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(fds[0]);
		close(fds[1]);
		return -e;
	}
	if (pid == 0) {
		char c;
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		close(fds[1]);
		if (read(fds[0], &c, 1) != 1)
			_exit(127);
		execvp(argv[0], argv);
		fprintf(stderr, "safebpf: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fds[0]);
	t->pid = pid;
	t->go = fds[1];
	return 0;
}

static int release(void *ctx)
{
	struct traced *t = ctx;
	/* Scripts may wait for this line before starting a workload. */
	fprintf(stderr, "safebpf: attached; %s\n",
		t->pid ? "starting the command" : t->watch ? "tracing until the process exits or Ctrl-C"
							   : "Ctrl-C to end");
	if (!t->pid)
		return 0;
	ssize_t n = write(t->go, "g", 1);
	close(t->go);
	t->go = -1;
	return n == 1 ? 0 : -EIO;
}

static bool should_stop(void *ctx)
{
	struct traced *t = ctx;
	if (stop_requested)
		return true;
	if (t->watch && kill(t->watch, 0) && errno == ESRCH)
		return true;
	/* SIGCHLD only interrupts the poll; waitpid says whether it was ours. */
	child_exited = 0;
	if (t->pid && !t->reaped) {
		pid_t r = waitpid(t->pid, &t->status, WNOHANG);
		if (r == t->pid)
			t->reaped = true;
	}
	return t->reaped;
}

/* After the run: the command is told to stop if still running, and reaped. */
static void finish_command(struct traced *t, bool kill_it)
{
	if (!t->pid)
		return;
	if (t->go >= 0)
		close(t->go); /* never released: it exits at once */
	if (!t->reaped) {
		if (kill_it)
			kill(t->pid, SIGTERM);
		if (waitpid(t->pid, &t->status, 0) == t->pid)
			t->reaped = true;
	}
	if (t->reaped && WIFEXITED(t->status) && WEXITSTATUS(t->status))
		fprintf(stderr, "safebpf: command exited with status %d\n", WEXITSTATUS(t->status));
	else if (t->reaped && WIFSIGNALED(t->status) && WTERMSIG(t->status) != SIGTERM)
		fprintf(stderr, "safebpf: command killed by signal %d\n", WTERMSIG(t->status));
}

/* Exit status of a successful run: the traced command's own status, as
 * timeout(1) and strace report it (its exit code, or 128 + N when signal N
 * ended it); EXIT_OK without a command. */
static int command_status(const struct traced *t)
{
	if (!t->pid || !t->reaped)
		return EXIT_OK;
	if (WIFEXITED(t->status))
		return WEXITSTATUS(t->status);
	if (WIFSIGNALED(t->status))
		return 128 + WTERMSIG(t->status);
	return EXIT_FAIL;
}

static void install_signals(void)
{
	struct sigaction sa = { 0 };
	sa.sa_handler = on_stop_signal; /* no SA_RESTART: a signal interrupts the poll */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_sigchld;
	sigaction(SIGCHLD, &sa, NULL);
}

static void free_words(char **w)
{
	for (size_t i = 0; w && w[i]; i++)
		free(w[i]);
	free(w);
}

int cmd_query(int argc, char **argv)
{
	const char *sql = NULL, *outpath = NULL, *cmdline = NULL, *qfile = NULL;
	bool fmt_given = false;
	char **cmd = NULL;
	struct sbpf_query_run_opts ro = { .sz = sizeof(ro), .format = SBPF_QUERY_TABLE, .log = stderr };
	enum sbpf_plan_strategy plan = SBPF_PLAN_AUTO;
	bool show_plan = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return EXIT_OK;
		} else if (!strcmp(a, "--show-plan")) {
			show_plan = true;
			continue;
		} else if (!strcmp(a, "--")) {
			/* End of options: the query (unless given already), then the command. */
			char **rest = argv + i + 1;
			bool had_query = sql || qfile;
			if (!had_query && *rest)
				sql = *rest++;
			if (*rest) {
				cmd = rest;
			} else if (had_query) {
				fprintf(stderr, "safebpf: -- needs a command\n");
				return EXIT_USAGE;
			}
			break;
		} else if (cli_is_option(a) && !val) {
			fprintf(stderr, "safebpf: option %s needs a value (see safebpf query --help)\n", a);
			return EXIT_USAGE;
		} else if (!strcmp(a, "-d") || !strcmp(a, "--duration")) {
			if (sbpf_parse_duration(val, &ro.duration_ns) || !ro.duration_ns) {
				fprintf(stderr, "safebpf: bad duration '%s' (e.g. 500ms, 5s, 1m)\n", val);
				return EXIT_USAGE;
			}
			i++;
		} else if (!strcmp(a, "-f") || !strcmp(a, "--format")) {
			fmt_given = true;
			if (!strcmp(val, "table"))
				ro.format = SBPF_QUERY_TABLE;
			else if (!strcmp(val, "csv"))
				ro.format = SBPF_QUERY_CSV;
			else if (!strcmp(val, "json"))
				ro.format = SBPF_QUERY_JSON;
			else if (!strcmp(val, "folded"))
				ro.format = SBPF_QUERY_FOLDED;
			else if (!strcmp(val, "svg"))
				ro.format = SBPF_QUERY_SVG;
			else {
				fprintf(stderr, "safebpf: unknown format '%s' (table, csv, json, folded or svg)\n", val);
				return EXIT_USAGE;
			}
			i++;
		} else if (!strcmp(a, "--freq")) {
			char *end;
			long hz = strtol(val, &end, 10);
			if (*end || hz < 1 || hz > 10000) {
				fprintf(stderr, "safebpf: bad --freq '%s' (samples per second per CPU, 1..10000)\n", val);
				return EXIT_USAGE;
			}
			ro.sample_hz = (unsigned)hz;
			i++;
		} else if (!strcmp(a, "--time")) {
			if (!strcmp(val, "wall") || !strcmp(val, "boot")) {
				ro.time = !strcmp(val, "wall") ? SBPF_TIME_WALL : SBPF_TIME_BOOT;
			} else {
				fprintf(stderr, "safebpf: unknown time format '%s' (wall or boot)\n", val);
				return EXIT_USAGE;
			}
			i++;
		} else if (!strcmp(a, "--file")) {
			if (qfile || sql) {
				fprintf(stderr, "safebpf: one query at a time (give it with --file or as an argument)\n");
				return EXIT_USAGE;
			}
			qfile = val;
			i++;
		} else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
			outpath = val;
			i++;
		} else if (!strcmp(a, "-p") || !strcmp(a, "--pid")) {
			char *end;
			long pid = strtol(val, &end, 10);
			if (*end || pid <= 0 || pid > 0x3fffffff) {
				fprintf(stderr, "safebpf: bad pid '%s'\n", val);
				return EXIT_USAGE;
			}
			if (kill((pid_t)pid, 0) && errno == ESRCH) {
				fprintf(stderr, "safebpf: no process %ld\n", pid);
				return EXIT_USAGE;
			}
			ro.pid = (int)pid;
			i++;
		} else if (!strcmp(a, "-c") || !strcmp(a, "--command")) {
			cmdline = val;
			i++;
		} else if (!strcmp(a, "--plan")) {
			if (sbpf_plan_strategy_parse(val, &plan)) {
				fprintf(stderr, "safebpf: unknown plan '%s' (auto, mvsf or kernel-max)\n", val);
				return EXIT_USAGE;
			}
			i++;
		} else if (cli_is_option(a)) {
			fprintf(stderr, "safebpf: unknown option %s (see safebpf query --help)\n", a);
			return EXIT_USAGE;
		} else if (!sql && !qfile) {
			sql = a;
		} else {
			fprintf(stderr, "safebpf: one query at a time (quote it: safebpf query 'SELECT ...')\n");
			return EXIT_USAGE;
		}
	}
	if (!sql && !qfile) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if ((cmd || cmdline) && ro.pid) {
		fprintf(stderr, "safebpf: -p and a command exclude each other\n");
		return EXIT_USAGE;
	}
	if (cmd && cmdline) {
		fprintf(stderr, "safebpf: give the command with -c or after --, not both\n");
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

	char **words = NULL;
	if (cmdline && !(cmd = words = split_words(cmdline))) {
		sbpf_query__free(q);
		return EXIT_USAGE;
	}
	if (cmd && !executable(cmd[0])) {
		fprintf(stderr, "safebpf: command not found: %s\n", cmd[0]);
		free_words(words);
		sbpf_query__free(q);
		return EXIT_USAGE;
	}
	FILE *out = stdout;
	size_t plen = outpath ? strlen(outpath) : 0;
	if (!fmt_given && plen > 4 && !strcmp(outpath + plen - 4, ".svg"))
		ro.format = SBPF_QUERY_SVG;
	if (outpath && !(out = fopen(outpath, "w"))) {
		fprintf(stderr, "safebpf: cannot write %s: %s\n", outpath, strerror(errno));
		free_words(words);
		sbpf_query__free(q);
		return EXIT_USAGE;
	}
	ro.out = out;

	install_signals();
	struct traced t = { .go = -1 };
	if (cmd) {
		if ((rc = spawn_stopped(cmd, &t))) {
			fprintf(stderr, "safebpf: cannot start %s: %s\n", cmd[0], strerror(-rc));
			free_words(words);
			sbpf_query__free(q);
			return EXIT_FAIL;
		}
		ro.pid = t.pid;
		ro.follow_forks = true;
	}
	if (!cmd)
		t.watch = ro.pid;
	ro.attached = release;
	ro.should_stop = should_stop;
	ro.ctx = &t;
	char err[512] = "";
	rc = sbpf_query__run(q, &ro, err, sizeof(err));
	finish_command(&t, true);
	if (rc)
		fprintf(stderr, "safebpf: %s\n", err[0] ? err : strerror(-rc));
	if (show_plan) {
		struct sbpf_query_plan_info pi;
		sbpf_query__plan_info(q, &pi);
		if (pi.chosen)
			fprintf(stderr, "plan: #%d of %d (%d loaded): %s\n", pi.chosen, pi.ncands, pi.tried, pi.placement);
		if (pi.tried > 1)
			sbpf_query__explain(q, stderr, SBPF_EXPLAIN_OPTIMIZER, NULL, 0);
	}
	if (out != stdout && fclose(out)) {
		fprintf(stderr, "safebpf: cannot write %s: %s\n", outpath, strerror(errno));
		rc = rc ? rc : -EIO;
	}
	free_words(words);
	sbpf_query__free(q);
	if (rc)
		return rc == -EPERM ? EXIT_PERM : EXIT_FAIL;
	return command_status(&t);
}
