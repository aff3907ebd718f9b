/* selftest.c - the congestion-control DSL's MVSF self-test for `safebpf
 * selftest` (registered in src/dsl/mvsf.def): the MVSF plan's four
 * tcp_congestion_ops programs are generated and loaded (the verifier
 * judges them), registered as a struct_ops under a name unique to this
 * process, checked to be listed in net.ipv4.tcp_available_congestion_control,
 * unregistered, and checked to be gone (name, struct_ops map, link).
 * The MVSF does not depend on the program: any valid program has it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cc/ccInt.h"
#include "safebpf/kernel.h"

/* 1 when @name is in the kernel's list of available algorithms, 0 when
 * not, -errno when the list cannot be read. */
static int available(const char *name)
{
	char buf[4096];
	FILE *f = fopen("/proc/sys/net/ipv4/tcp_available_congestion_control", "re");
	if (!f)
		return -errno;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	for (char *t = strtok(buf, " \n"); t; t = strtok(NULL, " \n"))
		if (!strcmp(t, name))
			return 1;
	return 0;
}

/* One MVSF variant: that of programs like @src. */
static void check_one(const char *src, int verbose, struct dsl_mvsf_result *r);

void cc_mvsf_selftest(int verbose, struct dsl_mvsf_result *r)
{
	/* The MVSF has two forms: for programs that set the pacing rate, and
	 * for those that leave it to the kernel's default (docs/cc.md). */
	struct dsl_mvsf_result a = { 0 }, b = { 0 };
	check_one("algorithm selftest\nwhen 1 { set cwnd = 10 }\n", verbose, &a);
	check_one("algorithm selftest\nwhen 1 { set cwnd = 10\n set rate = 1M }\n", verbose, &b);
	*r = a.status ? a : b;
	r->programs = a.programs + b.programs;
	r->max_insns = a.max_insns > b.max_insns ? a.max_insns : b.max_insns;
	if (!a.status && !b.status)
		snprintf(r->detail, sizeof(r->detail), "both forms (default pacing, set rate) %.400s", a.detail);
}

static void check_one(const char *src, int verbose, struct dsl_mvsf_result *r)
{
	struct sbpf_diags d = { 0 };
	struct cc_prog *p = NULL;
	struct cc_handle *h = NULL;
	char err[400], name[16];
	struct cc_layout l;
	if (cc_layout_get(&l, err, sizeof(err))) {
		r->status = -EOPNOTSUPP;
		snprintf(r->detail, sizeof(r->detail), "%s", err);
		return;
	}
	if (cc_parse(src, "<selftest>", &d, &p)) {
		sbpf_diags__free(&d);
		r->status = -EINVAL;
		snprintf(r->detail, sizeof(r->detail), "the self-test program does not parse");
		return;
	}
	snprintf(name, sizeof(name), "sbpf_st%d", (int)(getpid() % 1000000));
	int e = cc_plan(p, CC_PLAN_MVSF, name, true, &h, err, sizeof(err));
	if (e) {
		r->status = e == -ENOENT && strstr(err, "no struct_ops") ? -EOPNOTSUPP : e;
		snprintf(r->detail, sizeof(r->detail), "%s", err);
		cc_prog_free(p);
		return;
	}
	r->programs = CC_NCB;
	for (int cb = 0; cb < CC_NCB; cb++)
		if (h->insns[cb] > r->max_insns)
			r->max_insns = h->insns[cb];
	uint32_t map_id = h->map_id, link_id = h->link_id;
	int listed = available(name);
	cc_handle_free(h);
	int gone = available(name);
	int map_left = sbpf_kernel_map_exists(map_id), link_left = sbpf_kernel_link_exists(link_id);
	/* The kernel frees a struct_ops map after an RCU grace period: wait. */
	for (int i = 0; i < 100 && map_left == 1; i++) {
		usleep(10000);
		map_left = sbpf_kernel_map_exists(map_id);
	}
	cc_prog_free(p);
	if (listed != 1 || gone != 0 || link_left != 0 || map_left != 0) {
		r->status = -EIO;
		snprintf(r->detail, sizeof(r->detail),
			 "registered as %s: listed %d, after unregistering listed %d, link %u left %d, map %u left %d",
			 name, listed, gone, link_id, link_left, map_id, map_left);
		return;
	}
	r->status = 0;
	snprintf(r->detail, sizeof(r->detail), "registered as tcp_congestion_ops %s, listed, unregistered, gone%s",
		 name, verbose ? " (cong_control reports each ACK to a ring buffer, applies the control map)" : "");
}
