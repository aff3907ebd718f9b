/* cmd_cc.c - `safebpf cc`: the congestion-control DSL (docs/cc.md).
 *   check FILE      parse and check a program (caret errors)
 *   explain FILE    plan it on this kernel: every candidate with its cost and
 *                   the verifier's verdict, the chosen plan, program sizes
 *   run FILE        register it as a tcp_congestion_ops and drive it until
 *                   Ctrl-C / SIGTERM or until the command after -- exits
 *   replay FILE T   feed recorded ACKs (run --record) to a plan, print cwnds
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cc/ccInt.h"
#include "cli.h"
#include "safebpf/asm.h"
#include "safebpf/kernel.h"

static void usage(FILE *f)
{
	fputs("usage: safebpf cc check FILE\n"
	      "       safebpf cc explain [--plan auto|mvsf|folds|kernel] [--disasm] FILE\n"
	      "       safebpf cc run [--plan P] [--name NAME] [--record FILE] [--reports FILE]\n"
	      "                      FILE [-- COMMAND ARGS...]\n"
	      "       safebpf cc replay [--plan mvsf|folds|kernel] FILE TRACE\n"
	      "The congestion-control DSL (docs/cc.md): per-ACK folds into declared state,\n"
	      "`when` rules, actions (set cwnd, set rate, report).\n\n"
	      "  check     parse and check FILE; print its state, folds and rules\n"
	      "  explain   plan FILE on this kernel (programs loaded, not registered): each\n"
	      "            candidate plan, its cost, the verifier's verdict and reason;\n"
	      "            --disasm also prints the chosen plan's programs (verifier-log style)\n"
	      "  run       register FILE as a tcp_congestion_ops named NAME (default: its\n"
	      "            `algorithm` name), usable with setsockopt(TCP_CONGESTION) and\n"
	      "            sysctl net.ipv4.tcp_congestion_control; runs until Ctrl-C or\n"
	      "            SIGTERM, or until COMMAND exits (its exit status is returned);\n"
	      "            unregisters on the way out\n"
	      "  replay    run plan P of FILE on the ACK records in TRACE (from run --record\n"
	      "            under the MVSF plan) and print one line per ACK: flow cwnd rate\n"
	      "  --plan P      auto (default: cheapest plan the verifier accepts), mvsf, folds\n"
	      "                (leading folds in the kernel, rules in user space), kernel\n"
	      "  --record F    write every ACK record to F (MVSF plan)\n"
	      "  --reports F   write report lines to F (default: standard output)\n"
	      "Exit status: 0 ok, 1 failure, 2 usage, 3 bad program, 4 no privileges.\n",
	      f);
}

static volatile int stop_flag;    /* set by SIGINT / SIGTERM */

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static int parse_plan(const char *s, enum cc_plan_mode *m)
{
	if (!strcmp(s, "auto"))
		*m = CC_PLAN_AUTO;
	else if (!strcmp(s, "mvsf"))
		*m = CC_PLAN_MVSF;
	else if (!strcmp(s, "kernel"))
		*m = CC_PLAN_KERNEL;
	else if (!strcmp(s, "folds"))
		*m = CC_PLAN_FOLDS;
	else
		return -1;
	return 0;
}

/* Reads and parses @path; prints diagnostics. */
static int compile(const char *path, struct cc_prog **p)
{
	char *src = cli_read_file(path, NULL);
	if (!src)
		return EXIT_INPUT;
	struct sbpf_diags d = { 0 };
	int r = cc_parse(src, path, &d, p);
	if (r)
		cli_print_diags(&d);
	sbpf_diags__free(&d);
	free(src);
	if (r == -ENOMEM) {
		fprintf(stderr, "safebpf cc: out of memory\n");
		return EXIT_FAIL;
	}
	return r ? EXIT_INPUT : EXIT_OK;
}

static int privileged(void)
{
	char why[300];
	if (sbpf_kernel_check_privileges(why, sizeof(why))) {
		fprintf(stderr, "safebpf cc: cannot load programs: %s\n", why);
		return EXIT_PERM;
	}
	return EXIT_OK;
}

static int do_check(struct cc_prog *p)
{
	printf("algorithm %s: %d state variables, %zu items\n", p->name[0] ? p->name : "(unnamed)", p->nstate,
	       p->nitems);
	for (int i = 0; i < p->nstate; i++)
		printf("  state %s = %llu\n", p->state_name[i], (unsigned long long)p->state_init[i]);
	for (size_t i = 0; i < p->nitems; i++)
		printf("  line %d: %s\n", p->items[i].line, p->items[i].fold ? "fold" : "when rule");
	return EXIT_OK;
}

static void explain(const struct cc_handle *h, bool disasm)
{
	size_t order[sizeof(h->cand) / sizeof(h->cand[0])];
	dsl_try_order(h->cand, h->ncand, order);
	printf("algorithm %s: %d state variables, %zu folds and rules\n", h->name, h->prog->nstate,
	       h->prog->nitems);
	printf("candidate plans, in the order tried (kernel %s):\n", dsl_kernel_release());
	for (size_t k = 0; k < h->ncand; k++) {
		size_t i = order[k];
		const struct dsl_candidate *c = &h->cand[i];
		const char *v = !c->tried ? "not tried (a cheaper plan was accepted)"
				: c->verdict == DSL_VERDICT_ACCEPTED ? "accepted by the verifier"
								     : "refused";
		printf("  %-7s cost %6.1f  %s%s%s%s\n", c->name, c->cost, v, c->cached ? " (cached verdict)" : "",
		       c->reason[0] ? ": " : "", c->reason);
		if (!strcmp(c->name, "kernel"))
			printf("          folds and rules in cong_control (%zu of %zu items); per ACK no record to "
			       "user space%s\n", h->info[i].kernel_items, h->prog->nitems,
			       h->prog->uses_report ? ", a record per report" : "");
		else if (!strcmp(c->name, "folds"))
			printf("          the first %zu of %zu items (folds) in cong_control, on every ACK; each ACK's "
			       "record carries their state; the rules run in user space\n",
			       h->info[i].kernel_items, h->prog->nitems);
		else
			printf("          MVSF: cong_control sends every ACK's %d measurements to user space and "
			       "applies the cwnd/rate user space wrote; folds and rules run in user space\n",
			       CC_NMEAS);
		if (c->tried && h->info[i].insns)
			printf("          cong_control: %zu instructions\n", h->info[i].insns);
	}
	printf("chosen: %s; programs: cong_control %zu, ssthresh %zu, undo_cwnd %zu, release %zu "
	       "instructions\n", h->cand[h->chosen].name, h->insns[CC_CB_CONG_CONTROL], h->insns[CC_CB_SSTHRESH],
	       h->insns[CC_CB_UNDO_CWND], h->insns[CC_CB_RELEASE]);
	for (int cb = 0; disasm && cb < CC_NCB; cb++) {
		printf("\n%s (%zu instructions):\n", cc_cb_member(cb), h->gen[h->chosen].n[cb]);
		fflush(stdout);
		sbpf_disasm(h->gen[h->chosen].insns[cb], h->gen[h->chosen].n[cb], SBPF_DISASM_KERNEL, stdout);
	}
}

static int do_run(struct cc_prog *p, enum cc_plan_mode mode, const char *name, const char *record,
		  const char *reports, char **cmd)
{
	int rc = privileged();
	if (rc)
		return rc;
	FILE *rec = NULL, *rep = stdout;
	if (record && !(rec = fopen(record, "w"))) {
		fprintf(stderr, "safebpf cc: %s: %s\n", record, strerror(errno));
		return EXIT_FAIL;
	}
	if (reports && !(rep = fopen(reports, "w"))) {
		fprintf(stderr, "safebpf cc: %s: %s\n", reports, strerror(errno));
		if (rec)
			fclose(rec);
		return EXIT_FAIL;
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	struct cc_handle *h = NULL;
	char err[400];
	int r = cc_plan(p, mode, name, true, &h, err, sizeof(err));
	if (r) {
		fprintf(stderr, "safebpf cc: %s\n", err);
		rc = EXIT_FAIL;
		goto out;
	}
	if (record && h->kernel)
		fprintf(stderr, "safebpf cc: note: --record needs the MVSF plan (the kernel plan sends no ACK "
			"records); use --plan mvsf\n");
	printf("registered %s (plan %s, struct_ops map %u, link %u)\n", h->name, h->cand[h->chosen].name, h->map_id,
	       h->link_id);
	fflush(stdout);
	pid_t child = -1;
	int pidfd = -1;
	if (cmd && cmd[0]) {
		child = fork();
		if (child == 0) {
			execvp(cmd[0], cmd);
			fprintf(stderr, "safebpf cc: %s: %s\n", cmd[0], strerror(errno));
			_exit(127);
		}
		if (child < 0 || (pidfd = (int)syscall(SYS_pidfd_open, child, 0)) < 0) {
			fprintf(stderr, "safebpf cc: cannot start %s: %s\n", cmd[0], strerror(errno));
			rc = EXIT_FAIL;
			goto out;
		}
	}
	struct cc_run_opts o = { .sz = sizeof(o), .record = rec, .reports = rep, .stop = &stop_flag,
				 .child_pidfd = pidfd };
	struct cc_run_stats st;
	r = cc_run(h, &o, &st);
	if (r)
		fprintf(stderr, "safebpf cc: %s\n", strerror(-r));
	if (child > 0) {
		int status = 0;
		waitpid(child, &status, 0);
		close(pidfd);
		rc = WIFEXITED(status) && WEXITSTATUS(status) == 0 && !r ? EXIT_OK : EXIT_FAIL;
	} else {
		rc = r ? EXIT_FAIL : EXIT_OK;
	}
	fprintf(stderr, "safebpf cc: %s: %llu ACKs in user space, %llu control writes, %llu reports, %llu flows, "
		"%llu records lost; unregistered\n", h->name, (unsigned long long)st.acks,
		(unsigned long long)st.control_writes, (unsigned long long)st.reports, (unsigned long long)st.flows,
		(unsigned long long)st.lost);
out:
	cc_handle_free(h);
	if (rec)
		fclose(rec);
	if (rep != stdout)
		fclose(rep);
	return rc;
}

int cmd_cc(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	const char *sub = argv[1], *name = NULL, *record = NULL, *reports = NULL;
	const char *files[2] = { NULL, NULL };
	int nfiles = 0;
	char **cmd = NULL;
	enum cc_plan_mode mode = CC_PLAN_AUTO;
	bool kmode_given = false, disasm = false;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			cmd = argv + i + 1;
			break;
		} else if (!strcmp(a, "--plan") && i + 1 < argc) {
			if (parse_plan(argv[++i], &mode)) {
				fprintf(stderr, "safebpf cc: --plan needs auto, mvsf, folds or kernel\n");
				return EXIT_USAGE;
			}
			kmode_given = true;
		} else if (!strcmp(a, "--disasm")) {
			disasm = true;
		} else if (!strcmp(a, "--name") && i + 1 < argc) {
			name = argv[++i];
			if (strlen(name) > 15) {
				fprintf(stderr, "safebpf cc: --name: at most 15 characters\n");
				return EXIT_USAGE;
			}
		} else if (!strcmp(a, "--record") && i + 1 < argc) {
			record = argv[++i];
		} else if (!strcmp(a, "--reports") && i + 1 < argc) {
			reports = argv[++i];
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "safebpf cc: unknown option '%s' (or missing value)\n", a);
			return EXIT_USAGE;
		} else if (nfiles < 2) {
			files[nfiles++] = a;
		} else {
			fprintf(stderr, "safebpf cc: too many arguments\n");
			return EXIT_USAGE;
		}
	}
	bool replay = !strcmp(sub, "replay");
	if (strcmp(sub, "check") && strcmp(sub, "explain") && strcmp(sub, "run") && !replay) {
		fprintf(stderr, "safebpf cc: unknown subcommand '%s'\n", sub);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (nfiles != (replay ? 2 : 1) || (cmd && strcmp(sub, "run"))) {
		usage(stderr);
		return EXIT_USAGE;
	}
	struct cc_prog *p = NULL;
	int rc = compile(files[0], &p);
	if (rc)
		return rc;
	if (!strcmp(sub, "check")) {
		rc = do_check(p);
	} else if (!strcmp(sub, "explain")) {
		struct cc_handle *h = NULL;
		char err[400];
		if (!(rc = privileged())) {
			int r = cc_plan(p, mode, name, false, &h, err, sizeof(err));
			if (r) {
				fprintf(stderr, "safebpf cc: %s\n", err);
				rc = EXIT_FAIL;
			} else {
				explain(h, disasm);
			}
			cc_handle_free(h);
		}
	} else if (!strcmp(sub, "run")) {
		rc = do_run(p, mode, name, record, reports, cmd);
	} else {
		FILE *in = fopen(files[1], "r");
		char err[300];
		if (!in) {
			fprintf(stderr, "safebpf cc: %s: %s\n", files[1], strerror(errno));
			rc = EXIT_FAIL;
		} else {
			long n = cc_replay(p, kmode_given ? mode : CC_PLAN_MVSF, in, stdout, err, sizeof(err));
			fclose(in);
			if (n < 0) {
				fprintf(stderr, "safebpf cc: replay: %s\n", err);
				rc = EXIT_FAIL;
			}
		}
	}
	cc_prog_free(p);
	return rc;
}
