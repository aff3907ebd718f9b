/* test_recognize_verifier.c - the recognizer's view of the kernel verifier
 * (facts.c provenance, recognize.c lea rules): a lea is fused only on
 * values the verifier still follows once fused. Each case is an XDP
 * program in assembly:
 *   - kept: lea on a packet pointer with no other copy, on a stack
 *     pointer (also with a live copy), on a read-only map value, on
 *     numbers; the kernel verifier accepts every lowered program, which
 *     returns the original's r0;
 *   - refused: lea that would cut the verifier's link between two packet
 *     pointers (also through a spill), between two linked numbers, or
 *     between values of unknown kind (a pointer reloaded through a
 *     computed stack address); with the rules switched off
 *     (policy.no_verifier_rules) the recognizer does write it - it is
 *     exact - and the kernel then refuses the lowered program, so the rule
 *     is needed;
 *   - and the bench programs: every lowered program passes the verifier.
 * Kernel checks skip with the reason without the privileges.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safebpf/asm.h"
#include "safebpf/elf.h"
#include "safebpf/kernel.h"
#include "safebpf/kops.h"
#include "safebpf/vm.h"

#define PKT 128

static struct sbpf_insn *assemble(const char *text, size_t *n)
{
	struct sbpf_insn *p = NULL;
	struct sbpf_diags d = { 0 };
	int rc = sbpf_assemble(text, "snippet", &p, n, &d);
	char *msg = rc ? sbpf_diags__format(&d) : NULL;
	cr_assert_eq(rc, 0, "assembly failed: %s", msg ? msg : "?");
	sbpf_diags__free(&d);
	return p;
}

static char refusal[256];
static void keep_refusal(void *arg, size_t slot, uint32_t op, const char *why)
{
	(void)arg;
	(void)slot;
	if (op == SBPF_KOPS_LEA)
		snprintf(refusal, sizeof(refusal), "%s", why);
}

/* Recognizes @text (lea only, every exact rewrite); returns the lowered
 * program in *@low and the number of lea sites. */
static size_t leas(const struct sbpf_insn *p, size_t n, int no_rules, struct sbpf_kops_lowered *low)
{
	struct sbpf_kops_policy pol;
	sbpf_kops_policy__init(&pol);
	pol.ops = 1u << SBPF_KOPS_LEA;
	pol.min_saved = -100;
	pol.no_verifier_rules = no_rules;
	pol.on_refuse = keep_refusal;
	refusal[0] = 0;
	struct sbpf_insn *out = NULL;
	size_t nout = 0;
	struct sbpf_kops_stats st;
	struct sbpf_validate_error err = { 0 };
	cr_assert_eq(sbpf_kops_recognize(p, n, &pol, &out, &nout, &st, &err), 0, "%s", err.rule);
	cr_assert_eq(sbpf_kops_lower(out, nout, low, &err), 0, "%s", err.rule);
	free(out);
	return st.sites[SBPF_KOPS_LEA];
}

static const uint8_t rodata[64] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20 };

static int privileged(void)
{
	char why[128];
	if (sbpf_kernel_check_privileges(why, sizeof(why))) {
		cr_log_warn("kernel checks skipped: %s", why);
		return 0;
	}
	return 1;
}

/* The kernel verifier's verdict on @p (XDP, with read-only data @ro). */
static int kernel_accepts_ro(const struct sbpf_insn *p, size_t n, const void *ro, size_t rolen, char *why,
			     size_t whysz)
{
	static char log[1 << 20];
	log[0] = 0;
	struct sbpf_kload_opts lo = { .sz = sizeof(lo), .type = SBPF_KPROG_XDP, .name = "kops_view",
				      .log_buf = log, .log_size = sizeof(log), .rodata = ro, .rodata_len = rolen };
	int fd = sbpf_kernel_load(p, n, &lo);
	if (fd < 0) {
		sbpf_kernel_log_reason(log, why, whysz);
		return 0;
	}
	close(fd);
	return 1;
}

static int kernel_accepts(const struct sbpf_insn *p, size_t n, char *why, size_t whysz)
{
	return kernel_accepts_ro(p, n, rodata, sizeof(rodata), why, whysz);
}

/* The lowered program returns what the original returns (interpreter). */
static void same_r0(const struct sbpf_insn *a, size_t na, const struct sbpf_insn *b, size_t nb)
{
	struct sbpf_vm_opts o = { .sz = sizeof(o), .type = SBPF_PROG_XDP, .rodata = rodata,
				  .rodata_len = sizeof(rodata) };
	struct sbpf_vm *va = sbpf_vm__new(a, na, &o, NULL), *vb = sbpf_vm__new(b, nb, &o, NULL);
	cr_assert(va && vb);
	for (int round = 0; round < 50; round++) {
		uint8_t pa[PKT], pb[PKT];
		for (int i = 0; i < PKT; i++)
			pa[i] = pb[i] = (uint8_t)(round * 37 + i * 11);
		uint64_t ra = 0, rb = 0;
		struct sbpf_run_error ea, eb;
		int ca = sbpf_vm__run(va, pa, PKT, &ra, &ea), cb = sbpf_vm__run(vb, pb, PKT, &rb, &eb);
		cr_assert_eq(ca, cb, "%s / %s", ca ? ea.reason : "ok", cb ? eb.reason : "ok");
		cr_assert_eq(ra, rb, "round %d: r0 0x%llx, lowered 0x%llx", round, (unsigned long long)ra,
			     (unsigned long long)rb);
	}
	sbpf_vm__free(va);
	sbpf_vm__free(vb);
}

/* Prologue: r2 = data, r3 = data_end, 64 bytes checked, r0 = 0. */
#define PROLOGUE "ldxw %r2, [%r1+0]\nldxw %r3, [%r1+4]\nmov %r0, 0\nmov %r4, %r2\nadd %r4, 64\n" \
		 "jgt %r4, %r3, out\n"

/* A lea the verifier follows: the recognizer writes it, the kernel
 * accepts the lowered program, and it returns the original's r0. */
static void kept(const char *what, const char *text)
{
	size_t n;
	struct sbpf_insn *p = assemble(text, &n);
	struct sbpf_kops_lowered low;
	cr_assert_eq(leas(p, n, 0, &low), 1, "%s: no lea site (refused: %s)", what, refusal);
	same_r0(p, n, low.insns, low.n);
	char why[256] = "";
	if (privileged()) {
		cr_assert(kernel_accepts(p, n, why, sizeof(why)), "%s: original refused: %s", what, why);
		cr_assert(kernel_accepts(low.insns, low.n, why, sizeof(why)), "%s: lowered refused: %s", what, why);
	}
	sbpf_kops_lowered__free(&low);
	free(p);
}

Test(recognize_verifier, lea_kept_on_a_packet_pointer_without_copies)
{
	/* r6 = data + (p[0] & 15) * 4 + 8; r7 = r6 + 4 is derived afterwards
	 * (it shares r6's identity in the lowered program too) */
	kept("packet", PROLOGUE
	     "ldxb %r5, [%r2+0]\n"
	     "and %r5, 15\n"
	     "mov %r6, %r5\n"
	     "lsh %r6, 2\n"
	     "add %r6, %r2\n"
	     "add %r6, 8\n"
	     "mov %r7, %r6\n"
	     "add %r7, 4\n"
	     "jgt %r7, %r3, out\n"
	     "ldxw %r0, [%r6+0]\n"
	     "out:\n"
	     "exit\n");
}

Test(recognize_verifier, lea_kept_on_stack_map_value_and_numbers)
{
	kept("stack", PROLOGUE
	     "stdw [%r10-64], 1\nstdw [%r10-56], 2\nstdw [%r10-48], 3\nstdw [%r10-40], 4\n"
	     "stdw [%r10-32], 5\nstdw [%r10-24], 6\nstdw [%r10-16], 7\nstdw [%r10-8], 8\n"
	     "ldxb %r5, [%r2+0]\n"
	     "and %r5, 7\n"
	     "mov %r6, %r5\n"
	     "lsh %r6, 3\n"
	     "add %r6, %r10\n"
	     "add %r6, -64\n"
	     "ldxdw %r0, [%r6+0]\n"
	     "out:\n"
	     "exit\n");
	kept("read-only map value", PROLOGUE
	     "lddw %r7, map_idx_value 0\n"
	     "ldxb %r5, [%r2+0]\n"
	     "and %r5, 7\n"
	     "mov %r6, %r5\n"
	     "lsh %r6, 2\n"
	     "add %r6, %r7\n"
	     "add %r6, 16\n"
	     "ldxw %r0, [%r6+0]\n"
	     "out:\n"
	     "exit\n");
	kept("numbers", PROLOGUE
	     "ldxb %r5, [%r2+0]\n"
	     "ldxb %r4, [%r2+1]\n"
	     "mov %r6, %r5\n"
	     "lsh %r6, 3\n"
	     "add %r6, %r4\n"
	     "add %r6, 100\n"
	     "mov %r0, %r6\n"
	     "out:\n"
	     "exit\n");
}

/* A lea that would cut a link the verifier relies on: refused with the
 * reason; exact all the same (written with the rules off, and equal on
 * the interpreter), and then the kernel refuses the lowered program. */
static void refused(const char *what, const char *text, const char *reason, int kernel_refuses)
{
	size_t n;
	struct sbpf_insn *p = assemble(text, &n);
	struct sbpf_kops_lowered low;
	cr_assert_eq(leas(p, n, 0, &low), 0, "%s: lea written", what);
	cr_assert(strstr(refusal, reason), "%s: reason '%s', want '%s'", what, refusal, reason);
	sbpf_kops_lowered__free(&low);
	if (!kernel_refuses) {
		free(p);
		return;
	}
	cr_assert_eq(leas(p, n, 1, &low), 1, "%s: without the rules the lea is exact and written", what);
	same_r0(p, n, low.insns, low.n);
	char why[256] = "";
	if (privileged()) {
		cr_assert(kernel_accepts(p, n, why, sizeof(why)), "%s: original refused: %s", what, why);
		cr_assert(!kernel_accepts(low.insns, low.n, why, sizeof(why)),
			  "%s: the kernel accepted the lea that cuts the link", what);
		cr_log_info("%s without the rule: the kernel says \"%s\"", what, why);
	}
	sbpf_kops_lowered__free(&low);
	free(p);
}

Test(recognize_verifier, lea_refused_when_it_cuts_a_packet_link)
{
	/* parse_hdrs: r6 = data + var; r7 = r6 + 20 is bounds-checked and r6
	 * is dereferenced: r7 as a lea would have its own identity */
	refused("packet link", PROLOGUE
		"ldxb %r5, [%r2+0]\n"
		"and %r5, 60\n"
		"mov %r6, %r2\n"
		"add %r6, %r5\n"
		"mov %r7, %r6\n"
		"add %r7, 20\n"
		"jgt %r7, %r3, out\n"
		"ldxb %r0, [%r6+12]\n"
		"out:\n"
		"exit\n", "link between r7 and r6", 1);
	/* the same through a spill: the pointer comes back from the stack */
	refused("packet link through a spill", PROLOGUE
		"stxdw [%r10-8], %r2\n"
		"ldxb %r5, [%r2+0]\n"
		"and %r5, 60\n"
		"ldxdw %r8, [%r10-8]\n"
		"mov %r6, %r8\n"
		"add %r6, %r5\n"
		"mov %r7, %r6\n"
		"add %r7, 20\n"
		"jgt %r7, %r3, out\n"
		"ldxb %r0, [%r6+12]\n"
		"out:\n"
		"exit\n", "one packet pointer", 1);
}

Test(recognize_verifier, lea_refused_when_it_cuts_a_scalar_link)
{
	/* r6 = r0 + 20 is bounded by the compare and so, linked, is r0,
	 * which then indexes the stack */
	refused("scalar link", PROLOGUE
		"stdw [%r10-64], 1\nstdw [%r10-56], 2\nstdw [%r10-48], 3\nstdw [%r10-40], 4\n"
		"stdw [%r10-32], 5\nstdw [%r10-24], 6\nstdw [%r10-16], 7\nstdw [%r10-8], 8\n"
		"ldxb %r5, [%r2+0]\n"
		"ldxb %r4, [%r2+1]\n"
		"mov %r0, %r4\n"
		"add %r0, %r5\n"
		"mov %r6, %r0\n"
		"add %r6, 20\n"
		"jgt %r6, 60, out\n"
		"mov %r7, %r10\n"
		"add %r7, %r0\n"
		"ldxb %r0, [%r7-64]\n"
		"out:\n"
		"exit\n", "linked numbers", 1);
}

Test(recognize_verifier, lea_on_stack_keeps_copies_and_unknown_kinds_do_not)
{
	/* into the stack, another register holding the sum - 8 stays live:
	 * the verifier bounds stack pointers by their offsets at each access,
	 * no link to cut */
	kept("stack with a copy", PROLOGUE
	     "stdw [%r10-64], 1\nstdw [%r10-56], 2\nstdw [%r10-48], 3\nstdw [%r10-40], 4\n"
	     "stdw [%r10-32], 5\nstdw [%r10-24], 6\nstdw [%r10-16], 7\nstdw [%r10-8], 8\n"
	     "ldxb %r5, [%r2+0]\n"
	     "and %r5, 6\n"
	     "mov %r6, %r5\n"
	     "lsh %r6, 3\n"
	     "add %r6, %r10\n"
	     "mov %r7, %r6\n"
	     "add %r7, -56\n"
	     "add %r6, -64\n"
	     "ldxdw %r0, [%r6+0]\n"
	     "ldxdw %r4, [%r7+0]\n"
	     "add %r0, %r4\n"
	     "out:\n"
	     "exit\n");
	/* a pointer reloaded through a computed stack address is of unknown
	 * kind: it may be a packet pointer, so the link counts */
	refused("unknown kind", PROLOGUE
		"stxdw [%r10-8], %r2\n"
		"mov %r8, %r10\n"
		"add %r8, -8\n"
		"ldxdw %r9, [%r8+0]\n"
		"ldxb %r5, [%r2+0]\n"
		"and %r5, 60\n"
		"mov %r6, %r9\n"
		"add %r6, %r5\n"
		"mov %r7, %r6\n"
		"add %r7, 20\n"
		"jgt %r7, %r3, out\n"
		"ldxb %r0, [%r6+12]\n"
		"out:\n"
		"exit\n", "unknown kind", 1);
}

/* The finding of the benchmark suite: with clang's programs of
 * bench/micro (default CPU and -mcpu=v3), every program the recognizer
 * writes with the default policy passes the kernel verifier (before the
 * lea rules, parse_hdrs and flow_hash -mcpu=v3 did not: "R0 offset is
 * outside of the packet"); parse_hdrs' linked lea is refused. */
Test(recognize_verifier, bench_programs_pass_the_kernel_verifier)
{
	char why[256];
	if (sbpf_kernel_check_privileges(why, sizeof(why)))
		cr_skip_test("kernel tests skipped: %s", why);
	static const char *names[] = {
		"crc32", "siphash", "xxhash32", "xxhash64", "murmur3", "fnv1a", "jhash", "toeplitz", "inet_csum",
		"ipv4_csum", "flow_hash", "parse_hdrs", "bitfields", "popcount", "bitmap_scan", "bsearch", "memcmp",
		"memcpy", "strsearch", "lb_select", "maglev", "token_bucket", "counters", "acl_match", "hll", "bloom",
	};
	size_t leas_total = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		for (int v3 = 0; v3 < 2; v3++) {
			char path[256];
			snprintf(path, sizeof(path), "build/bench/micro/%s%s.o", v3 ? "v3/" : "", names[i]);
			struct sbpf_elf_error err = { "" };
			struct sbpf_elf *obj = sbpf_elf__open(path, &err);
			cr_assert_not_null(obj, "%s: %s (run make asan first)", path, err.msg);
			struct sbpf_insn *p = NULL;
			uint8_t *ro = NULL;
			size_t n = 0, rolen = 0;
			cr_assert_eq(sbpf_elf__prog_insns_rodata(obj, 0, &p, &n, &ro, &rolen, &err), 0, "%s", err.msg);
			sbpf_elf__close(obj);
			struct sbpf_kops_policy pol;
			sbpf_kops_policy__init(&pol);
			pol.on_refuse = keep_refusal;
			pol.ret32 = 1; /* as the bench's EInsn engine */
			refusal[0] = 0;
			struct sbpf_insn *out = NULL;
			size_t nout = 0;
			struct sbpf_kops_stats st;
			struct sbpf_validate_error verr = { 0 };
			cr_assert_eq(sbpf_kops_recognize(p, n, &pol, &out, &nout, &st, &verr), 0, "%s: %s", path, verr.rule);
			struct sbpf_kops_lowered low;
			cr_assert_eq(sbpf_kops_lower(out, nout, &low, &verr), 0, "%s: %s", path, verr.rule);
			cr_assert(kernel_accepts_ro(low.insns, low.n, ro, rolen, why, sizeof(why)), "%s: %s", path, why);
			if (!strcmp(names[i], "parse_hdrs"))
				cr_assert(strstr(refusal, "link"), "%s: lea refusal '%s'", path, refusal);
			leas_total += st.sites[SBPF_KOPS_LEA];
			sbpf_kops_lowered__free(&low);
			free(out);
			free(p);
			free(ro);
		}
	cr_log_info("bench programs: %zu lea sites, every lowered program accepted", leas_total);
	cr_assert_gt(leas_total, 20);
}

/* ---- the safety net: sbpf_kops_rewrite_verified() ------------------------- */

/* With the rules off, a linked lea is written; the kernel refuses it and
 * the net finds it by bisection, leaves it out, keeps the other sites,
 * and says what it dropped. Site 1 (r6 = r4 + r5 + 20) cuts the link
 * that bounds r0; site 2 (r7 = r0 + r2 + 14) then fails inside its own
 * proof sequence, which the log names: dropped first, tried back once
 * site 1 is found, and kept. */
#define TWO_LEAS "mov %r9, 0\n" PROLOGUE \
	"ldxdw %r4, [%r2+0]\n" \
	"ldxdw %r5, [%r2+8]\n" \
	"mov %r0, %r4\n" \
	"add %r0, %r5\n" \
	"mov %r6, %r0\n" \
	"add %r6, 20\n" \
	"jgt %r6, 60, out\n" \
	"jlt %r6, 20, out\n" \
	"mov %r7, %r0\n" \
	"add %r7, %r2\n" \
	"add %r7, 14\n" \
	"mov %r8, %r7\n" \
	"add %r8, 1\n" \
	"jgt %r8, %r3, out\n" \
	"ldxb %r9, [%r7+0]\n" \
	"ldxdw %r1, [%r2+16]\n" \
	"mov %r3, %r1\n" \
	"rsh %r3, 57\n" \
	"lsh %r1, 7\n" \
	"or %r1, %r3\n" \
	"xor %r9, %r1\n" \
	"out:\n" \
	"mov %r0, %r9\n" \
	"exit\n"

static void need_kernel(void)
{
	char why[128];
	if (sbpf_kernel_check_privileges(why, sizeof(why)))
		cr_skip_test("kernel tests skipped: %s", why);
}

Test(recognize_verifier, net_drops_only_what_the_verifier_refuses)
{
	need_kernel();
	size_t n;
	struct sbpf_insn *p = assemble(TWO_LEAS, &n);
	struct sbpf_kops_policy pol;
	sbpf_kops_policy__init(&pol);
	pol.no_verifier_rules = 1;
	pol.min_saved = -100;
	struct sbpf_kops_verify_opts vo = { .sz = sizeof(vo), .name = "kops_net" };
	struct sbpf_kops_verified v;
	char why[300] = "";
	cr_assert_eq(sbpf_kops_rewrite_verified(p, n, &pol, &vo, &v, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(v.ndrops, 1, "%zu drops", v.ndrops);
	cr_assert_eq(v.drops[0].op, SBPF_KOPS_LEA);
	cr_assert(v.drops[0].bisected);
	cr_assert_eq(v.drops[0].start, 9, "dropped window %zu..%zu", v.drops[0].start, v.drops[0].end);
	cr_log_info("dropped lea at slots %zu..%zu: %s (%u loads)", v.drops[0].start, v.drops[0].end, v.drops[0].why,
		    v.loads);
	cr_assert_eq(v.stats.sites[SBPF_KOPS_LEA], 1, "the second lea stays");
	cr_assert_eq(v.stats.sites[SBPF_KOPS_ROTATE], 1, "the rotate stays");
	char w2[200];
	cr_assert_eq(sbpf_kops_verify_kernel(&v.lowered, w2, sizeof(w2)), 0, "%s", w2);
	same_r0(p, n, v.lowered.insns, v.lowered.n);
	sbpf_kops_verified__free(&v);
	/* with the rules on, nothing to drop: the recognizer left the lea out */
	sbpf_kops_policy__init(&pol);
	pol.min_saved = -100;
	cr_assert_eq(sbpf_kops_rewrite_verified(p, n, &pol, &vo, &v, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(v.ndrops, 0);
	cr_assert_eq(v.loads, 1);
	cr_assert_eq(v.stats.sites[SBPF_KOPS_LEA], 1);
	sbpf_kops_verified__free(&v);
	free(p);
}

Test(recognize_verifier, net_on_parse_hdrs_without_the_rules)
{
	need_kernel();
	struct sbpf_elf_error err = { "" };
	struct sbpf_elf *obj = sbpf_elf__open("build/bench/micro/parse_hdrs.o", &err);
	cr_assert_not_null(obj, "%s (run make asan first)", err.msg);
	struct sbpf_insn *p = NULL;
	uint8_t *ro = NULL;
	size_t n = 0, rolen = 0;
	cr_assert_eq(sbpf_elf__prog_insns_rodata(obj, 0, &p, &n, &ro, &rolen, &err), 0, "%s", err.msg);
	sbpf_elf__close(obj);
	struct sbpf_kops_policy pol;
	sbpf_kops_policy__init(&pol);
	pol.no_verifier_rules = 1;
	struct sbpf_kops_verify_opts vo = { .sz = sizeof(vo), .rodata = ro, .rodata_len = rolen };
	struct sbpf_kops_verified v;
	char why[300] = "";
	cr_assert_eq(sbpf_kops_rewrite_verified(p, n, &pol, &vo, &v, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(v.ndrops, 1);
	cr_assert_eq(v.drops[0].op, SBPF_KOPS_LEA);
	cr_assert(strstr(v.drops[0].why, "outside of the packet"), "%s", v.drops[0].why);
	cr_assert_eq(v.stats.sites[SBPF_KOPS_BSWAP_LOAD], 10, "bswap_load sites kept");
	cr_log_info("parse_hdrs: dropped lea at %zu..%zu (%s), %u loads", v.drops[0].start, v.drops[0].end,
		    v.drops[0].why, v.loads);
	sbpf_kops_verified__free(&v);
	free(p);
	free(ro);
}

Test(recognize_verifier, net_reports_a_program_refused_without_sites)
{
	need_kernel();
	/* reads the packet without a bounds check: no rewrite can help */
	size_t n;
	struct sbpf_insn *p = assemble("ldxw %r2, [%r1+0]\n"
				       "ldxw %r0, [%r2+0]\n"
				       "mov %r3, %r0\n"
				       "rsh %r3, 51\n"
				       "lsh %r0, 13\n"
				       "or %r0, %r3\n"
				       "exit\n", &n);
	struct sbpf_kops_verified v;
	char why[300] = "";
	cr_assert_eq(sbpf_kops_rewrite_verified(p, n, NULL, NULL, &v, why, sizeof(why)), -ENOEXEC);
	cr_assert(strstr(why, "without sites is refused too"), "%s", why);
	cr_assert_eq(v.ndrops, 0);
	sbpf_kops_verified__free(&v);
	free(p);
}
