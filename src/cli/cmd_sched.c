/* cmd_sched.c - `safebpf sched`: socket-scheduling policies (docs/sched.md).
 *   check    compile a policy, print diagnostics
 *   explain  the candidate plans, the verifier's verdicts, the program
 *   eval     the reference semantics on a trace of requests
 *   run      a demo multi-socket server with the policy attached
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "schedcli.h"
#include "sched/schedInt.h"

static void usage(FILE *f)
{
	fputs("usage: safebpf sched check   (POLICY | -e TEXT)\n"
	      "       safebpf sched explain (POLICY | -e TEXT) --workers N [--plan auto|mvsf]\n"
	      "       safebpf sched eval    (POLICY | -e TEXT) --workers N [--tcp] [--load handled] < TRACE\n"
	      "       safebpf sched run     (POLICY | -e TEXT) --port P --workers N [options]\n"
	      "Socket-scheduling policies for SO_REUSEPORT groups (docs/sched.md): each connection\n"
	      "or datagram goes to one of N sockets. Every valid policy runs: the optimizer moves\n"
	      "it into an SK_REUSEPORT program when the kernel verifier accepts it, and otherwise\n"
	      "runs it in user space behind the minimum verifier-safe program (MVSF).\n\n"
	      "  -e TEXT          the policy text itself instead of a file\n"
	      "  --workers N      executors (sockets) in the group, 1 to 64\n"
	      "  --plan P         auto (default: cheapest plan the verifier accepts) or mvsf\n"
	      "eval reads one request a line, \"SRC_PORT [PAYLOAD_HEX]\" (127.0.0.1 to 127.0.0.1,\n"
	      "destination port --port), and prints the executor the policy chooses for each,\n"
	      "as a server answering them one at a time would see it.\n"
	      "run options:\n"
	      "  --port P         127.0.0.1 port of the group (UDP unless --tcp)\n"
	      "  --tcp            TCP connections (one request each) instead of UDP datagrams\n"
	      "  --work US        microseconds each request takes (default 0)\n"
	      "  --slow W:US      worker W takes US microseconds per request\n"
	      "  --load MODE      what workers publish into the policy's first map after each\n"
	      "                   request: handled (requests so far), inflight (1 + waiting while\n"
	      "                   busy), none (default: inflight when the policy has a map)\n"
	      "  --count K        stop after K requests (default: at SIGINT/SIGTERM)\n"
	      "  --kernel-default attach nothing: the kernel's own reuseport hashing (baseline)\n"
	      "run prints \"ready port=P ...\" once the policy is attached, and per-worker counts\n"
	      "(\"served N0 N1 ...\") when it stops.\n",
	      f);
}

/* Compiles the policy of @file (or @text), printing diagnostics. An exit code. */
static int compile(const char *file, const char *text, struct sbpf_sched_policy **p)
{
	char *buf = NULL;
	if (!text) {
		size_t len;
		if (!(buf = cli_read_file(file, &len)))
			return EXIT_INPUT;
		text = buf;
	}
	struct sbpf_diags d = { 0 };
	int e = sbpf_sched_policy__compile(text, file ? file : "<policy>", p, &d);
	if (e) {
		char *msg = sbpf_diags__format(&d);
		fprintf(stderr, "%s", msg ? msg : "safebpf sched: out of memory\n");
		free(msg);
	}
	sbpf_diags__free(&d);
	free(buf);
	return e ? EXIT_INPUT : EXIT_OK;
}

/* `eval`: the reference semantics over the requests on standard input, one
 * executor per line, as a server answering them one at a time (publishing
 * requests handled into the first map with @handled) would see them. */
static int eval_trace(const struct sbpf_sched_policy *p, unsigned n, bool tcp, bool handled, uint16_t port)
{
	struct sched_state st = { .n = n, .nb = sched_buckets(p, n) };
	static uint64_t vec[SCHED_MAX_MAPS][SBPF_SCHED_MAX_EXECUTORS];
	uint64_t *load = NULL;  /* the first map: what a --load handled server publishes */
	uint32_t *sticky = malloc(sizeof(uint32_t) * st.nb);
	if (!sticky)
		return EXIT_FAIL;
	for (uint32_t k = 0; k < st.nb; k++)
		sticky[k] = SCHED_EMPTY;
	st.sticky = sticky;
	for (size_t i = 0; i < p->nmaps; i++) {
		st.maps[i] = vec[i];
		if (!p->counter[i] && !load)
			load = vec[i];
	}
	char line[4096];
	while (fgets(line, sizeof(line), stdin)) {
		unsigned sport;
		char hex[4000] = "";
		if (sscanf(line, "%u %3999s", &sport, hex) < 1)
			continue;
		uint8_t payload[2000];
		size_t plen = 0;
		for (size_t k = 0; hex[k] && hex[k + 1] && plen < sizeof(payload); k += 2) {
			unsigned b;
			if (sscanf(hex + k, "%2x", &b) != 1)
				break;
			payload[plen++] = (uint8_t)b;
		}
		struct sbpf_sched_input in = { .src_ip = htonl(INADDR_LOOPBACK), .dst_ip = htonl(INADDR_LOOPBACK),
					       .src_port = (uint16_t)sport, .dst_port = port,
					       .proto = tcp ? 6 : 17, .payload = tcp ? NULL : payload,
					       .payload_len = tcp ? 0 : plen };
		unsigned e = sched_decide(p, p->sel, &st, sbpf_sched_policy__key_hash(p, &in), true);
		sched_account(p, &st, e);
		if (handled && load)
			load[e]++;
		printf("%u\n", e);
	}
	free(sticky);
	return EXIT_OK;
}

int cmd_sched(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	const char *sub = argv[1], *file = NULL, *text = NULL;
	struct sched_server_opts o = { .slow_worker = -1, .load = SCHED_LOAD_INFLIGHT };
	bool load_set = false;
	unsigned long port = 0, workers = 0;
	if (strcmp(sub, "check") && strcmp(sub, "explain") && strcmp(sub, "eval") && strcmp(sub, "run")) {
		fprintf(stderr, "safebpf sched: unknown subcommand '%s' (check, explain, eval, run)\n", sub);
		return EXIT_USAGE;
	}
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return EXIT_OK;
		} else if (!strcmp(a, "--tcp")) {
			o.tcp = true;
		} else if (!strcmp(a, "--kernel-default")) {
			o.kernel_default = true;
		} else if (a[0] == '-' && a[1] && !v) {
			fprintf(stderr, "safebpf sched: %s needs a value\n", a);
			return EXIT_USAGE;
		} else if (!strcmp(a, "-e")) {
			text = argv[++i];
		} else if (!strcmp(a, "--workers")) {
			workers = strtoul(argv[++i], NULL, 10);
		} else if (!strcmp(a, "--port")) {
			port = strtoul(argv[++i], NULL, 10);
		} else if (!strcmp(a, "--plan")) {
			if (sbpf_sched_plan_parse(argv[++i], &o.plan)) {
				fprintf(stderr, "safebpf sched: --plan is auto or mvsf, not '%s'\n", argv[i]);
				return EXIT_USAGE;
			}
		} else if (!strcmp(a, "--work")) {
			o.work_us = strtoull(argv[++i], NULL, 10);
		} else if (!strcmp(a, "--slow")) {
			unsigned w;
			unsigned long long us;
			if (sscanf(argv[++i], "%u:%llu", &w, &us) != 2) {
				fprintf(stderr, "safebpf sched: --slow takes WORKER:MICROSECONDS\n");
				return EXIT_USAGE;
			}
			o.slow_worker = (int)w;
			o.slow_us = us;
		} else if (!strcmp(a, "--load")) {
			load_set = true;
			const char *m = argv[++i];
			if (!strcmp(m, "handled"))
				o.load = SCHED_LOAD_HANDLED;
			else if (!strcmp(m, "inflight"))
				o.load = SCHED_LOAD_INFLIGHT;
			else if (!strcmp(m, "none"))
				o.load = SCHED_LOAD_NONE;
			else {
				fprintf(stderr, "safebpf sched: --load is handled, inflight or none\n");
				return EXIT_USAGE;
			}
		} else if (!strcmp(a, "--count")) {
			o.count = strtoull(argv[++i], NULL, 10);
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "safebpf sched: unknown option '%s'\n", a);
			usage(stderr);
			return EXIT_USAGE;
		} else if (!file) {
			file = a;
		} else {
			fprintf(stderr, "safebpf sched: one policy at a time ('%s')\n", a);
			return EXIT_USAGE;
		}
	}
	(void)load_set;
	if (!file == !text) {
		fprintf(stderr, "safebpf sched %s: give a policy file or -e TEXT\n", sub);
		return EXIT_USAGE;
	}
	struct sbpf_sched_policy *p = NULL;
	int rc = compile(file, text, &p);
	if (rc)
		return rc;
	if (!workers)
		workers = p->executors;
	if (!strcmp(sub, "check")) {
		printf("policy %s: ok\n", p->name);
		goto out;
	}
	if (!workers || workers > SBPF_SCHED_MAX_EXECUTORS || (p->executors && p->executors != workers)) {
		fprintf(stderr, "safebpf sched %s: --workers must be 1 to %d%s\n", sub, SBPF_SCHED_MAX_EXECUTORS,
			p->executors ? " and match the policy's executors" : "");
		rc = EXIT_USAGE;
		goto out;
	}
	char err[400];
	if (!strcmp(sub, "eval")) {
		rc = eval_trace(p, (unsigned)workers, o.tcp, o.load == SCHED_LOAD_HANDLED && load_set, (uint16_t)port);
	} else if (!strcmp(sub, "explain")) {
		struct sbpf_sched_opts so = { .sz = sizeof(so), .plan = o.plan };
		int e = sbpf_sched_policy__explain(p, (unsigned)workers, &so, stdout, err, sizeof(err));
		if (e) {
			fprintf(stderr, "safebpf sched explain: %s\n", err);
			rc = e == -EPERM ? EXIT_PERM : EXIT_FAIL;
		}
	} else {
		if (!port || port > 65535) {
			fprintf(stderr, "safebpf sched run: --port 1..65535 is required\n");
			rc = EXIT_USAGE;
			goto out;
		}
		o.port = (uint16_t)port;
		o.workers = (unsigned)workers;
		for (size_t i = 0; i < p->nmaps && !o.load_map; i++)
			if (!p->counter[i])
				o.load_map = p->maps[i];
		int e = sched_serve(p, &o, stdout, err, sizeof(err));
		if (e) {
			fprintf(stderr, "safebpf sched run: %s\n", err);
			rc = e == -EPERM ? EXIT_PERM : EXIT_FAIL;
		}
	}
out:
	sbpf_sched_policy__free(p);
	return rc;
}
