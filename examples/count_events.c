/* count_events.c - an example of embedding libsafebpf: runs a command and
 * counts its system calls by name with a SQL query, reading the result as
 * typed rows (struct sbpf_value) instead of text.
 *
 *   cc count_events.c $(pkg-config --cflags --libs safebpf) -o count_events
 *   sudo ./count_events ls -l /
 *
 * The command is forked stopped (blocked on a pipe) and released only once
 * the query's programs are attached, so no call is missed; the run ends
 * when it exits, after every event it caused has been read. Prints one
 * line per system call name, "name count", then "total N".
 */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <safebpf/sql.h>

struct state {
	pid_t child;      /* the command */
	int go;           /* write end of its start pipe */
	bool exited;      /* reaped */
	uint64_t total;   /* calls counted */
};

/* Typed rows: column 0 is the name (a string with its length), column 1 the count. */
static int on_row(void *ctx, const struct sbpf_row *row)
{
	struct state *s = ctx;
	const struct sbpf_value *name = &row->vals[0], *n = &row->vals[1];
	if (name->kind != SBPF_VALUE_STR || n->kind != SBPF_VALUE_S64)
		return -EINVAL;
	printf("%.*s %" PRId64 "\n", (int)name->str.len, name->str.ptr, n->s64);
	s->total += (uint64_t)n->s64;
	return 0;
}

/* Every program is attached: let the command run. */
static int on_attached(void *ctx)
{
	struct state *s = ctx;
	int rc = write(s->go, "g", 1) == 1 ? 0 : -1;
	close(s->go);
	return rc;
}

/* Checked between polls: the run ends once the command has exited. */
static bool should_stop(void *ctx)
{
	struct state *s = ctx;
	if (!s->exited && waitpid(s->child, NULL, WNOHANG) == s->child)
		s->exited = true;
	return s->exited;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s COMMAND [ARGS...]\n", argv[0]);
		return 2;
	}
	struct sbpf_diags diags = { 0 };
	struct sbpf_query *q;
	struct sbpf_query_opts qo = { .sz = sizeof(qo), .file = "count_events" };
	int rc = sbpf_query__compile("SELECT syscall_name(syscall_number) AS name, COUNT(*) AS calls "
				     "FROM system_calls GROUP BY name ORDER BY calls DESC, name",
				     &qo, &q, &diags);
	if (rc) {
		char *text = sbpf_diags__format(&diags);
		fprintf(stderr, "%s", text ? text : "cannot compile the query\n");
		free(text);
		sbpf_diags__free(&diags);
		return 3;
	}
	int fds[2];
	if (pipe2(fds, O_CLOEXEC))
		return 1;
	struct state s = { .go = fds[1] };
	if ((s.child = fork()) == 0) {
		char c;
		close(fds[1]);
		if (read(fds[0], &c, 1) != 1)
			_exit(127);
		execvp(argv[1], argv + 1);
		_exit(127);
	}
	close(fds[0]);
	struct sbpf_query_run_opts ro = {
		.sz = sizeof(ro), .pid = s.child, .follow_forks = true, .attached = on_attached,
		.should_stop = should_stop, .row = on_row, .ctx = &s,
	};
	char err[512] = "";
	rc = sbpf_query__run(q, &ro, err, sizeof(err));
	if (!s.exited)
		waitpid(s.child, NULL, 0);
	if (rc)
		fprintf(stderr, "count_events: %s\n", err);
	else
		printf("total %" PRIu64 "\n", s.total);
	sbpf_query__free(q);
	return rc == -EPERM ? 4 : rc ? 1 : 0;
}
