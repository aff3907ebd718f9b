/* cmd_calibrate.c - `safebpf calibrate`: measures the optimizer's cost
 * model constants on this machine and writes them to the cache directory,
 * where every later query reads them (safebpf explain names the file).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sql/sqlInt.h"

static void usage(FILE *f)
{
	fputs("usage: safebpf calibrate [--dry-run]\n"
	      "Measures what eBPF operations and the user-space executor cost on this machine\n"
	      "(nanoseconds per operation) and saves them for the SQL optimizer's cost model.\n"
	      "Attaches small programs to raw_syscalls/sys_enter for a few seconds.\n\n"
	      "  --dry-run   print the constants without saving them\n"
	      "  -h, --help  this help\n",
	      f);
}

int cmd_calibrate(int argc, char **argv)
{
	bool dry = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "--dry-run")) {
			dry = true;
		} else {
			fprintf(stderr, "safebpf: unknown argument %s (see safebpf calibrate --help)\n", argv[i]);
			return EXIT_USAGE;
		}
	}
	struct sql_costk k, old;
	sql_costk_load(&old);
	char err[256] = "";
	fprintf(stderr, "measuring");
	int rc = sql_calibrate(&k, stderr, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "safebpf: %s\n", err[0] ? err : strerror(-rc));
		return rc == -EPERM ? EXIT_PERM : EXIT_FAIL;
	}
	static const struct {
		const char *name, *what;
		size_t off;
	} rows[] = {
		{ "prog", "running an attached tracepoint program", offsetof(struct sql_costk, prog) },
		{ "helper", "a cheap helper call (time, ids)", offsetof(struct sql_costk, helper) },
		{ "copy8", "copying 8 bytes", offsetof(struct sql_costk, copy8) },
		{ "percpu", "per-CPU array lookup", offsetof(struct sql_costk, percpu) },
		{ "lookup", "hash map lookup", offsetof(struct sql_costk, lookup) },
		{ "update", "hash map update or delete", offsetof(struct sql_costk, update) },
		{ "reserve", "ring buffer reserve + submit", offsetof(struct sql_costk, reserve) },
		{ "wakeup", "waking the reader (per record)", offsetof(struct sql_costk, wakeup) },
		{ "user_rec", "user space: one record through the executor", offsetof(struct sql_costk, user_rec) },
		{ "user_pair", "user space: pairing one event", offsetof(struct sql_costk, user_pair) },
	};
	printf("%-10s %10s %10s  %s\n", "constant", "ns", "before", "what");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		printf("%-10s %10.1f %10.1f  %s\n", rows[i].name, *(double *)((char *)&k + rows[i].off),
		       *(double *)((char *)&old + rows[i].off), rows[i].what);
	if (dry)
		return EXIT_OK;
	char path[600];
	if ((rc = sql_costk_save(&k, path, sizeof(path)))) {
		fprintf(stderr, "safebpf: cannot save the constants: %s\n", strerror(-rc));
		return EXIT_FAIL;
	}
	printf("saved to %s\n", path);
	return EXIT_OK;
}
