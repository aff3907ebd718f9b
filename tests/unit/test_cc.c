/* test_cc.c - unit tests of the congestion-control DSL (src/cc/): the
 * parser's diagnostics, the reference semantics (division by zero, shifts,
 * cbrt against a slow search), and the in-kernel plan's generated eBPF run
 * in the interpreter against the reference semantics on random ACK traces
 * (cc_replay: kernel plan vs MVSF plan). Needs vmlinux BTF for layouts, no
 * privileges.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc/ccInt.h"

static struct cc_prog *parse_ok(const char *src)
{
	struct sbpf_diags d = { 0 };
	struct cc_prog *p = NULL;
	int r = cc_parse(src, "t.cc", &d, &p);
	char *msg = sbpf_diags__format(&d);
	cr_assert_eq(r, 0, "parse failed: %s", msg ? msg : "");
	free(msg);
	sbpf_diags__free(&d);
	return p;
}

static char *parse_err(const char *src)
{
	struct sbpf_diags d = { 0 };
	struct cc_prog *p = NULL;
	cr_assert_neq(cc_parse(src, "t.cc", &d, &p), 0);
	cr_assert_null(p);
	char *msg = sbpf_diags__format(&d);
	sbpf_diags__free(&d);
	return msg;
}

Test(cc, errors_point_at_the_problem)
{
	char *m = parse_err("state wnd = 1\nwhen 1 { set cwnd = wnd + ackd }\n");
	cr_assert(strstr(m, "t.cc:2:27: error: unknown name 'ackd'"), "%s", m);
	cr_assert(strstr(m, "did you mean 'acked'?"), "%s", m);
	free(m);
	m = parse_err("fold { report }\n");
	cr_assert(strstr(m, "action inside a fold"), "%s", m);
	free(m);
	m = parse_err("state a = 1\nstate a = 2\nwhen 1 { set cwnd = a }\n");
	cr_assert(strstr(m, "declared twice"), "%s", m);
	free(m);
	m = parse_err("when 1 { set window = 3 }\n");
	cr_assert(strstr(m, "unknown control variable"), "%s", m);
	free(m);
	m = parse_err("state rtt = 1\n");
	cr_assert(strstr(m, "measurement names are taken"), "%s", m);
	free(m);
	m = parse_err("");
	cr_assert(strstr(m, "no folds or rules"), "%s", m);
	free(m);
}

Test(cc, semantics)
{
	struct cc_prog *p = parse_ok("state a = 7\nstate b = 0\nstate c = 0\nstate d = 0\nstate e = 0\n"
				     "fold { b = a / 0\n c = a % 0\n d = 1 << 65\n e = (3 < 2) || !0 }\n"
				     "when 1 { set cwnd = 0 }\n");
	uint64_t st[CC_MAX_STATE], m[CC_NMEAS] = { 0 };
	memcpy(st, p->state_init, sizeof(st));
	struct cc_effect eff = { 0 };
	cc_eval_items(p, 0, p->nitems, st, m, &eff);
	cr_assert_eq(st[1], 0);
	cr_assert_eq(st[2], 7);
	cr_assert_eq(st[3], 2);
	cr_assert_eq(st[4], 1);
	cr_assert_eq(eff.cwnd, 1); /* clamped */
	cc_prog_free(p);
	cr_assert_eq(cc_cbrt(0), 0);
	cr_assert_eq(cc_cbrt(UINT64_MAX), 2642245);
	for (uint64_t x = 0; x < 100000; x += 7) {
		uint64_t y = cc_cbrt(x);
		cr_assert(y * y * y <= x && (y + 1) * (y + 1) * (y + 1) > x, "cbrt(%llu) = %llu",
			  (unsigned long long)x, (unsigned long long)y);
	}
	for (uint64_t x = 1; x < (1ull << 62); x = x * 3 + 1) {
		uint64_t y = cc_cbrt(x);
		cr_assert(y * y * y <= x && (y + 1) * (y + 1) * (y + 1) > x);
	}
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Random but plausible ACK records, written as run --record does. */
static FILE *trace(uint64_t seed, int n)
{
	FILE *f = tmpfile();
	uint64_t now = 1000000;
	for (int i = 0; i < n; i++) {
		uint64_t m[CC_NMEAS] = { 0 };
		m[CC_M_ACKED] = rnd(&seed) % 4;
		m[CC_M_RTT] = rnd(&seed) % 3 ? 100 + rnd(&seed) % 20000 : 0;
		m[CC_M_SRTT] = 100 + rnd(&seed) % 20000;
		m[CC_M_MIN_RTT] = 50 + rnd(&seed) % 200;
		m[CC_M_LOSS] = rnd(&seed) % 50 == 0 ? 1 + rnd(&seed) % 5 : 0;
		uint64_t st = rnd(&seed) % 20;
		m[CC_M_TIMEOUT] = st == 0;
		m[CC_M_RECOVERY] = st == 1 || st == 2;
		m[CC_M_ECN] = rnd(&seed) % 30 == 0;
		m[CC_M_INFLIGHT] = rnd(&seed) % 200;
		m[CC_M_DELIVERED] = rnd(&seed) % 100;
		m[CC_M_INTERVAL] = rnd(&seed) % 10 ? rnd(&seed) % 30000 : 0;
		m[CC_M_MSS] = 1448;
		m[CC_M_RATE] = m[CC_M_INTERVAL] ? m[CC_M_DELIVERED] * 1448 * 1000000 / m[CC_M_INTERVAL] : 0;
		now += rnd(&seed) % 500;
		m[CC_M_NOW] = now;
		m[CC_M_CWND] = 10;
		m[CC_M_APP_LIMITED] = rnd(&seed) % 10 == 0;
		cc_record_line(f, (uint32_t)(1 + rnd(&seed) % 3), m);
	}
	rewind(f);
	return f;
}

static char *slurp(FILE *f, size_t *len)
{
	rewind(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	rewind(f);
	char *b = calloc(1, (size_t)n + 1);
	cr_assert_eq(fread(b, 1, (size_t)n, f), (size_t)n);
	*len = (size_t)n;
	return b;
}

static void differential(const char *path)
{
	char err[300];
	struct cc_layout l;
	if (cc_layout_get(&l, err, sizeof(err)))
		cr_skip_test("no vmlinux BTF: %s", err);
	char *src;
	{
		FILE *f = fopen(path, "r");
		cr_assert_not_null(f, "%s", path);
		size_t n;
		src = slurp(f, &n);
		fclose(f);
	}
	struct cc_prog *p = parse_ok(src);
	free(src);
	for (uint64_t seed = 1; seed <= 5; seed++) {
		FILE *in = trace(seed * 0x9e3779b97f4a7c15ull, 3000), *a = tmpfile(), *b = tmpfile();
		cr_assert_eq(cc_replay(p, CC_PLAN_MVSF, in, a, err, sizeof(err)), 3000, "%s", err);
		rewind(in);
		cr_assert_eq(cc_replay(p, CC_PLAN_KERNEL, in, b, err, sizeof(err)), 3000, "%s", err);
		size_t na, nb;
		char *x = slurp(a, &na), *y = slurp(b, &nb);
		cr_assert(na == nb && !memcmp(x, y, na), "%s: plans differ on trace %llu", path,
			  (unsigned long long)seed);
		free(y);
		if (cc_split_point(p, NULL)) {
			FILE *c = tmpfile();
			rewind(in);
			cr_assert_eq(cc_replay(p, CC_PLAN_FOLDS, in, c, err, sizeof(err)), 3000, "%s", err);
			size_t nc;
			char *z = slurp(c, &nc);
			cr_assert(na == nc && !memcmp(x, z, na), "%s: folds plan differs on trace %llu", path,
				  (unsigned long long)seed);
			free(z);
			fclose(c);
		}
		free(x);
		fclose(in);
		fclose(a);
		fclose(b);
	}
	cc_prog_free(p);
}

Test(cc, kernel_plan_equals_reference_reno) { differential("examples/cc/reno.cc"); }
Test(cc, kernel_plan_equals_reference_cubic) { differential("examples/cc/cubic.cc"); }
Test(cc, kernel_plan_equals_reference_bbr) { differential("examples/cc/bbr.cc"); }
Test(cc, kernel_plan_equals_reference_pulse) { differential("tests/cc/pulse.cc"); }

Test(cc, split_point)
{
	/* folds first, their state not assigned by the rules: a split after them */
	struct cc_prog *p = parse_ok("state a = 0\nstate b = 0\nfold { a = a + acked }\nfold { b = max(b, rtt) }\n"
				     "when a > 10 { set cwnd = a }\n");
	bool owned[CC_MAX_STATE];
	cr_assert_eq(cc_split_point(p, owned), 2);
	cr_assert(owned[0] && owned[1]);
	cc_prog_free(p);
	/* a rule assigns what the second fold uses: only the first fold splits off */
	p = parse_ok("state a = 0\nstate b = 0\nfold { a = a + acked }\nfold { b = max(b, rtt) }\n"
		     "when a > 10 { b = 0\n set cwnd = a }\n");
	cr_assert_eq(cc_split_point(p, owned), 1);
	cr_assert(owned[0] && !owned[1]);
	cc_prog_free(p);
	/* a rule first, or only folds: no split */
	p = parse_ok("state a = 0\nwhen 1 { set cwnd = 2 }\nfold { a = 1 }\n");
	cr_assert_eq(cc_split_point(p, NULL), 0);
	cc_prog_free(p);
}
