/* test_recognize.c - the Kops recognizer (src/kops/recognize.c): hand-written
 * snippets that must be rewritten (and stay equivalent once lowered), near
 * misses that must not be (live temporaries, jumps into the middle, wrong
 * masks, 32-bit traps), the policy, and the clang-compiled programs of
 * tests/kops (built by `make asan` into build/kops): sites found per
 * operation, lowered program equal to the original on the interpreter for
 * random packets, and accepted by the kernel verifier as XDP with the same
 * r0 (skipped, with the reason, without CAP_BPF).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safebpf/asm.h"
#include "safebpf/elf.h"
#include "safebpf/jit.h"
#include "safebpf/kernel.h"
#include "safebpf/kops.h"
#include "safebpf/vm.h"

#define MEM 256

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

/* Result of recognizing a program. */
struct result {
	struct sbpf_insn *out;          /* program with sites */
	size_t n;
	struct sbpf_insn *low;          /* lowered again */
	size_t nlow;
	struct sbpf_kops_stats st;
};

static void recognize_with(const struct sbpf_insn *p, size_t n, const struct sbpf_kops_policy *pol, struct result *r)
{
	struct sbpf_validate_error err = { 0 };
	memset(r, 0, sizeof(*r));
	int rc = sbpf_kops_recognize(p, n, pol, &r->out, &r->n, &r->st, &err);
	cr_assert_eq(rc, 0, "recognize: %d at %zu: %s", rc, err.index, err.rule);
	struct sbpf_kops_lowered low;
	cr_assert_eq(sbpf_kops_lower(r->out, r->n, &low, &err), 0, "lower: %zu: %s", err.index, err.rule);
	r->low = low.insns;
	r->nlow = low.n;
	low.insns = NULL;
	sbpf_kops_lowered__free(&low);
	cr_assert_eq(r->st.insns_lowered, r->nlow);
}

static void result_free(struct result *r)
{
	free(r->out);
	free(r->low);
}

static size_t total_sites(const struct sbpf_kops_stats *st)
{
	size_t t = 0;
	for (int i = 0; i < SBPF_KOPS__MAX; i++)
		t += st->sites[i];
	return t;
}

static uint64_t rnd(void)
{
	return (uint64_t)random() << 40 ^ (uint64_t)random() << 20 ^ (uint64_t)random();
}

/* 1: same_behaviour() compares only the low 32 bits of r0 (policy ret32). */
static int r0_low32;

/* Runs @a and @b (type @type) on the same random memory, at the same
 * address, @rounds times: same result code, r0 and memory. */
static void same_behaviour(const struct sbpf_insn *a, size_t na, const struct sbpf_insn *b, size_t nb,
			   enum sbpf_prog_type type, size_t len, int rounds)
{
	struct sbpf_vm_opts o = { .sz = sizeof(o), .type = type };
	struct sbpf_validate_error e1, e2;
	struct sbpf_vm *va = sbpf_vm__new(a, na, &o, &e1), *vb = sbpf_vm__new(b, nb, &o, &e2);
	cr_assert_not_null(va, "original: %s", e1.rule);
	cr_assert_not_null(vb, "lowered: %s at %zu", e2.rule, e2.index);
	uint8_t *init = malloc(len), *buf = malloc(len), *after = malloc(len);
	for (int round = 0; round < rounds; round++) {
		for (size_t i = 0; i < len; i++)
			init[i] = (uint8_t)(round % 4 == 0 ? (i * 7 + (size_t)round) : rnd());
		uint64_t ra = 0, rb = 0;
		struct sbpf_run_error ea, eb;
		memcpy(buf, init, len);
		int ca = sbpf_vm__run(va, buf, len, &ra, &ea);
		memcpy(after, buf, len);
		memcpy(buf, init, len);
		int cb = sbpf_vm__run(vb, buf, len, &rb, &eb);
		cr_assert_eq(ca, cb, "round %d: original %s, lowered %s", round, ca ? ea.reason : "ok", cb ? eb.reason : "ok");
		if (ca)
			continue;
		if (r0_low32) {
			ra = (uint32_t)ra;
			rb = (uint32_t)rb;
		}
		cr_assert_eq(ra, rb, "round %d: r0 0x%llx original, 0x%llx lowered", round, (unsigned long long)ra,
			     (unsigned long long)rb);
		cr_assert_arr_eq(after, buf, len, "round %d: memory differs", round);
	}
	free(init);
	free(buf);
	free(after);
	sbpf_vm__free(va);
	sbpf_vm__free(vb);
}

/* Recognizes @text with the default policy, checks the sites per operation
 * (@want[op]) and that the lowered program behaves as the original. */
static void expect_sites(const char *text, const size_t want[SBPF_KOPS__MAX], const struct sbpf_kops_policy *pol)
{
	size_t n;
	struct sbpf_insn *p = assemble(text, &n);
	struct result r;
	recognize_with(p, n, pol, &r);
	for (int op = 1; op < SBPF_KOPS__MAX; op++)
		cr_assert_eq(r.st.sites[op], want[op], "%s: %zu sites, want %zu\n%s", sbpf_kops_info((uint32_t)op)->name,
			     r.st.sites[op], want[op], text);
	same_behaviour(p, n, r.low, r.nlow, SBPF_PROG_MEM, MEM, 300);
	free(p);
	result_free(&r);
}

static void expect_one(const char *text, int op)
{
	size_t want[SBPF_KOPS__MAX] = { 0 };
	want[op] = 1;
	expect_sites(text, want, NULL);
}

static void expect_none(const char *text)
{
	size_t want[SBPF_KOPS__MAX] = { 0 };
	expect_sites(text, want, NULL);
}

/* ---- exact matches -------------------------------------------------------- */

Test(recognize, rotate64_as_clang_writes_it)
{
	/* r2 = rotl(r4, 13) with two destinations: a mov joins the site */
	expect_one("ldxdw %r4, [%r1+0]\n"
		   "mov %r3, %r4\n"
		   "rsh %r3, 51\n"
		   "mov %r2, %r4\n"
		   "lsh %r2, 13\n"
		   "or %r2, %r3\n"
		   "stxdw [%r1+8], %r2\n"
		   "mov %r0, 0\n"
		   "exit\n", SBPF_KOPS_ROTATE);
	/* in place, operands swapped, another instruction scheduled inside */
	expect_one("ldxdw %r7, [%r1+0]\n"
		   "ldxdw %r8, [%r1+8]\n"
		   "mov %r1, %r7\n"
		   "rsh %r1, 47\n"
		   "add %r8, %r7\n"
		   "lsh %r7, 17\n"
		   "or %r7, %r1\n"
		   "mov %r0, %r7\n"
		   "xor %r0, %r8\n"
		   "exit\n", SBPF_KOPS_ROTATE);
}

/* The halves of a rotate have no bit in common: + and ^ join them as | does
 * (sym.c makes them |), 64-bit and ALU32. */
Test(recognize, rotate_joined_by_add_or_xor)
{
	expect_one("ldxdw %r4, [%r1+0]\n"
		   "mov %r3, %r4\n"
		   "rsh %r3, 51\n"
		   "lsh %r4, 13\n"
		   "add %r4, %r3\n"
		   "mov %r0, %r4\n"
		   "exit\n", SBPF_KOPS_ROTATE);
	expect_one("ldxdw %r4, [%r1+0]\n"
		   "mov %r3, %r4\n"
		   "lsh %r3, 7\n"
		   "rsh %r4, 57\n"
		   "xor %r4, %r3\n"
		   "mov %r0, %r4\n"
		   "exit\n", SBPF_KOPS_ROTATE);
	expect_one("ldxdw %r1, [%r1+0]\n"
		   "mov32 %r2, %r1\n"
		   "rsh32 %r2, 28\n"
		   "lsh32 %r1, 4\n"
		   "add32 %r1, %r2\n"
		   "mov %r0, %r1\n"
		   "exit\n", SBPF_KOPS_ROTATE);
	/* near miss: the halves overlap (13 + 52 = 65): a carry, no rotate */
	expect_none("ldxdw %r4, [%r1+0]\n"
		    "mov %r3, %r4\n"
		    "rsh %r3, 50\n"
		    "lsh %r4, 13\n"
		    "add %r4, %r3\n"
		    "mov %r0, %r4\n"
		    "exit\n");
}

/* clang folds rotl(t * c, k) into (t * (c << k)) | ((t * c) >> (64 - k)):
 * two multiplies become one and a rotate. */
Test(recognize, rotate_of_a_product)
{
	/* rotl(t * 0x9e3779b97f4a7c15, 31), as clang 14 -O2 writes it */
	expect_one("ldxdw %r1, [%r1+0]\n"
		   "mov %r0, %r1\n"
		   "lddw %r1, 0xbfa53e0a80000000\n"
		   "mov %r2, %r0\n"
		   "mul %r2, %r1\n"
		   "lddw %r1, 0x9e3779b97f4a7c15\n"
		   "mul %r0, %r1\n"
		   "rsh %r0, 33\n"
		   "or %r0, %r2\n"
		   "exit\n", SBPF_KOPS_ROTATE);
	/* a constant that fits an immediate: rotl(t * 31, 8) */
	expect_one("ldxdw %r1, [%r1+0]\n"
		   "mov %r2, %r1\n"
		   "mul %r2, 7936\n"
		   "mul %r1, 31\n"
		   "rsh %r1, 56\n"
		   "or %r1, %r2\n"
		   "mov %r0, %r1\n"
		   "exit\n", SBPF_KOPS_ROTATE);
	/* near miss: the constants do not match (c << k is 7937 here) */
	expect_none("ldxdw %r1, [%r1+0]\n"
		    "mov %r2, %r1\n"
		    "mul %r2, 7937\n"
		    "mul %r1, 31\n"
		    "rsh %r1, 56\n"
		    "or %r1, %r2\n"
		    "mov %r0, %r1\n"
		    "exit\n");
}

/* Rotates by a register as clang 14 -O2 writes rotl(x, n) and rotr(x, n):
 * (x << (n & 63)) | (x >> (-n & 63)), the `64 - n` form, ALU32 forms. */
Test(recognize, rotate_by_register)
{
	/* rotl64 (clang: mov; and 63; mov; lsh; neg; and 63; rsh; or) */
	expect_one("ldxdw %r1, [%r1+0]\n"
		   "ldxdw %r2, [%r10-8]\n"
		   "mov %r3, %r2\n"
		   "and %r3, 63\n"
		   "mov %r0, %r1\n"
		   "lsh %r0, %r3\n"
		   "neg %r2\n"
		   "and %r2, 63\n"
		   "rsh %r1, %r2\n"
		   "or %r0, %r1\n"
		   "exit\n", SBPF_KOPS_ROTATE);
	/* n &= 63; (x << n) | (x >> (64 - n)), ALU32 amounts (-mcpu=v3) */
	expect_one("ldxdw %r1, [%r1+0]\n"
		   "ldxdw %r2, [%r10-8]\n"
		   "mov %r0, %r1\n"
		   "and32 %r2, 63\n"
		   "mov32 %r1, 64\n"
		   "sub32 %r1, %r2\n"
		   "mov %r3, %r0\n"
		   "lsh %r3, %r2\n"
		   "rsh %r0, %r1\n"
		   "or %r0, %r3\n"
		   "exit\n", SBPF_KOPS_ROTATE);
	/* rotr64 with a 32-bit negation */
	expect_one("ldxdw %r1, [%r1+0]\n"
		   "ldxdw %r2, [%r10-8]\n"
		   "mov %r3, %r2\n"
		   "and %r3, 63\n"
		   "mov %r0, %r1\n"
		   "rsh %r0, %r3\n"
		   "neg32 %r2\n"
		   "and %r2, 63\n"
		   "lsh %r1, %r2\n"
		   "or %r0, %r1\n"
		   "exit\n", SBPF_KOPS_ROTATE);
	/* rotl32, ALU32 */
	expect_one("ldxdw %r1, [%r1+0]\n"
		   "ldxdw %r2, [%r10-8]\n"
		   "mov32 %r3, %r2\n"
		   "and32 %r3, 31\n"
		   "mov32 %r0, %r1\n"
		   "lsh32 %r0, %r3\n"
		   "neg32 %r2\n"
		   "and32 %r2, 31\n"
		   "rsh32 %r1, %r2\n"
		   "or32 %r0, %r1\n"
		   "exit\n", SBPF_KOPS_ROTATE);
	/* near misses: a 64-bit rotate whose amounts are masked with 31 (not a
	 * rotate for n >= 32); the right shift by n, not -n */
	expect_none("ldxdw %r1, [%r1+0]\n"
		    "ldxdw %r2, [%r10-8]\n"
		    "mov %r3, %r2\n"
		    "and %r3, 31\n"
		    "mov %r0, %r1\n"
		    "lsh %r0, %r3\n"
		    "neg %r2\n"
		    "and %r2, 31\n"
		    "rsh %r1, %r2\n"
		    "or %r0, %r1\n"
		    "exit\n");
	expect_none("ldxdw %r1, [%r1+0]\n"
		    "ldxdw %r2, [%r10-8]\n"
		    "mov %r0, %r1\n"
		    "lsh %r0, %r2\n"
		    "rsh %r1, %r2\n"
		    "or %r0, %r1\n"
		    "exit\n");
}

Test(recognize, rotate32_alu32_and_zero_extended)
{
	/* ALU32 (clang -mcpu=v3) */
	expect_one("ldxdw %r1, [%r1+0]\n"
		   "mov32 %r2, %r1\n"
		   "rsh32 %r2, 28\n"
		   "mov32 %r4, %r1\n"
		   "lsh32 %r4, 4\n"
		   "or32 %r4, %r2\n"
		   "mov %r0, %r4\n"
		   "exit\n", SBPF_KOPS_ROTATE);
	/* 64-bit shifts of a zero-extended word; only the low half is stored */
	expect_one("ldxw %r4, [%r1+0]\n"
		   "mov %r3, %r4\n"
		   "rsh %r3, 25\n"
		   "mov %r2, %r4\n"
		   "lsh %r2, 7\n"
		   "or %r2, %r3\n"
		   "stxw [%r1+8], %r2\n"
		   "mov %r0, 0\n"
		   "exit\n", SBPF_KOPS_ROTATE);
	/* 64-bit value masked to the word's top bits first (lddw mask) */
	expect_one("ldxdw %r4, [%r1+0]\n"
		   "lddw %r5, 0xfe000000\n"
		   "mov %r3, %r4\n"
		   "and %r3, %r5\n"
		   "rsh %r3, 25\n"
		   "mov %r2, %r4\n"
		   "lsh %r2, 7\n"
		   "or %r2, %r3\n"
		   "and %r2, 0xfff\n" /* not 0xffff: that and the mov after it are a movzx site */
		   "mov %r0, %r2\n"
		   "exit\n", SBPF_KOPS_ROTATE);
}

/* clang's default CPU: 32-bit values live in 64-bit registers with
 * whatever upper half, zero-extended (lsh 32; rsh 32) where 64 bits are
 * used. */
Test(recognize, rotate32_default_cpu_zero_extensions)
{
	/* the result zero-extended in place before a 64-bit store: folded
	 * into one 32-bit rotate, exact in all 64 bits */
	expect_one("ldxdw %r4, [%r1+0]\n"
		   "mul %r4, 3\n"
		   "lddw %r5, 0xfe000000\n"
		   "mov %r3, %r4\n"
		   "and %r3, %r5\n"
		   "rsh %r3, 25\n"
		   "lsh %r4, 7\n"
		   "or %r4, %r3\n"
		   "lsh %r4, 32\n"
		   "rsh %r4, 32\n"
		   "stxdw [%r1+8], %r4\n"
		   "mov %r0, 0\n"
		   "exit\n", SBPF_KOPS_ROTATE);
	/* the operand zero-extended first, only the low half stored */
	expect_one("ldxdw %r4, [%r1+0]\n"
		   "lsh %r4, 32\n"
		   "rsh %r4, 32\n"
		   "mov %r3, %r4\n"
		   "rsh %r3, 25\n"
		   "lsh %r4, 7\n"
		   "or %r4, %r3\n"
		   "stxw [%r1+8], %r4\n"
		   "mov %r0, 0\n"
		   "exit\n", SBPF_KOPS_ROTATE);
	/* shifted left by 32 afterwards: the upper half is shifted out */
	expect_one("ldxw %r4, [%r1+0]\n"
		   "mov %r3, %r4\n"
		   "rsh %r3, 25\n"
		   "lsh %r4, 7\n"
		   "or %r4, %r3\n"
		   "lsh %r4, 32\n"
		   "stxdw [%r1+8], %r4\n"
		   "mov %r0, 0\n"
		   "exit\n", SBPF_KOPS_ROTATE);
}

Test(recognize, rotate32_default_cpu_near_misses)
{
	/* shifted left by 31: bit 32 of the rotated value shows */
	expect_none("ldxw %r4, [%r1+0]\n"
		    "mov %r3, %r4\n"
		    "rsh %r3, 25\n"
		    "lsh %r4, 7\n"
		    "or %r4, %r3\n"
		    "lsh %r4, 31\n"
		    "stxdw [%r1+8], %r4\n"
		    "mov %r0, 0\n"
		    "exit\n");
	/* a full 64-bit value, no mask: its low half takes bits of the upper
	 * one, no rotate even zero-extended (the zero-extension alone is an
	 * extract) */
	size_t want[SBPF_KOPS__MAX] = { 0 };
	want[SBPF_KOPS_EXTRACT] = 1;
	expect_sites("ldxdw %r4, [%r1+0]\n"
		     "mov %r3, %r4\n"
		     "rsh %r3, 25\n"
		     "lsh %r4, 7\n"
		     "or %r4, %r3\n"
		     "lsh %r4, 32\n"
		     "rsh %r4, 32\n"
		     "stxdw [%r1+8], %r4\n"
		     "mov %r0, 0\n"
		     "exit\n", want, NULL);
	/* a mask that misses a bit the rotate needs (clang's when a later
	 * shift drops it): not a rotate */
	expect_sites("ldxdw %r4, [%r1+0]\n"
		     "lddw %r5, 0xfc000000\n"
		     "mov %r3, %r4\n"
		     "and %r3, %r5\n"
		     "rsh %r3, 25\n"
		     "lsh %r4, 7\n"
		     "or %r4, %r3\n"
		     "lsh %r4, 32\n"
		     "rsh %r4, 32\n"
		     "stxdw [%r1+8], %r4\n"
		     "mov %r0, 0\n"
		     "exit\n", want, NULL);
}

/* A 32-bit hash returned as the XDP verdict (xxhash32, murmur3, jhash
 * built for the default CPU): the garbage upper half reaches only r0 at
 * exit, which the kernel truncates to 32 bits (policy ret32). */
#define RET_HASH "ldxdw %r4, [%r1+0]\n" \
		 "mul %r4, 3\n" \
		 "lddw %r5, 0xfe000000\n" \
		 "mov %r3, %r4\n" \
		 "and %r3, %r5\n" \
		 "rsh %r3, 25\n" \
		 "lsh %r4, 7\n" \
		 "or %r4, %r3\n" \
		 "mul %r4, 5\n"

Test(recognize, rotate32_returned_with_ret32)
{
	size_t none[SBPF_KOPS__MAX] = { 0 }, one[SBPF_KOPS__MAX] = { 0 };
	one[SBPF_KOPS_ROTATE] = 1;
	struct sbpf_kops_policy pol;
	sbpf_kops_policy__init(&pol);
	/* all 64 bits of r0 kept (default): refused */
	expect_sites(RET_HASH "mov %r0, %r4\nexit\n", none, &pol);
	pol.ret32 = 1;
	r0_low32 = 1;
	expect_sites(RET_HASH "mov %r0, %r4\nexit\n", one, &pol);
	/* near misses: also stored whole; returned by a subprogram (its
	 * caller reads all of r0) */
	expect_sites(RET_HASH "stxdw [%r1+8], %r4\nmov %r0, %r4\nexit\n", none, &pol);
	expect_sites("call local sub\nexit\nsub:\n" RET_HASH "mov %r0, %r4\nexit\n", none, &pol);
	r0_low32 = 0;
}

/* A 32-bit rotate whose garbage upper half is spilled and reloaded (chacha
 * built for the default CPU keeps its state in stack slots): the spill
 * slot's upper half is followed to the reloads. */
Test(recognize, rotate32_spilled_upper_half_followed)
{
	size_t none[SBPF_KOPS__MAX] = { 0 }, one[SBPF_KOPS__MAX] = { 0 };
	one[SBPF_KOPS_ROTATE] = 1;
	struct sbpf_kops_policy pol;
	sbpf_kops_policy__init(&pol);
	pol.ret32 = 1;
	r0_low32 = 1;
	/* spilled, reloaded, only its low half observed (a 32-bit store) */
	expect_sites(RET_HASH "stxdw [%r10-16], %r4\nmov %r4, 0\nldxdw %r2, [%r10-16]\n"
		     "stxw [%r1+8], %r2\nmov %r0, %r2\nexit\n", one, &pol);
	/* overwritten whole before anyone reads the slot */
	expect_sites(RET_HASH "stxdw [%r10-16], %r4\nstdw [%r10-16], 7\nldxdw %r2, [%r10-16]\n"
		     "stxdw [%r1+8], %r2\nmov %r0, %r4\nexit\n", one, &pol);
	/* near misses: the reload is stored whole, compared with a 64-bit
	 * jump, or the upper bytes are read by a narrow load */
	expect_sites(RET_HASH "stxdw [%r10-16], %r4\nldxdw %r2, [%r10-16]\n"
		     "stxdw [%r1+8], %r2\nmov %r0, 0\nexit\n", none, &pol);
	expect_sites(RET_HASH "stxdw [%r10-16], %r4\nldxdw %r2, [%r10-16]\nmov %r0, 0\n"
		     "jgt %r2, 1000, out\nmov %r0, 1\nout:\nexit\n", none, &pol);
	expect_sites(RET_HASH "stxdw [%r10-16], %r4\nldxw %r2, [%r10-12]\nmov %r0, %r2\nexit\n",
		     none, &pol);
	/* a pointer to the slot escapes into a subprogram */
	expect_sites(RET_HASH "stxdw [%r10-16], %r4\nmov %r1, %r10\nadd %r1, -16\ncall local sub\n"
		     "exit\nsub:\nldxdw %r0, [%r1+0]\nexit\n", none, &pol);
	r0_low32 = 0;
}

Test(recognize, select_jump_over_mov)
{
	static const char *conds[] = { "jgt", "jge", "jlt", "jle", "jeq", "jne", "jsgt", "jsge", "jslt", "jsle" };
	for (size_t i = 0; i < sizeof(conds) / sizeof(conds[0]); i++) {
		char text[512];
		for (int w = 0; w < 2; w++) {
			snprintf(text, sizeof(text),
				 "ldxdw %%r2, [%%r1+0]\n"
				 "ldxdw %%r3, [%%r1+8]\n"
				 "ldxdw %%r0, [%%r1+16]\n"
				 "%s%s %%r2, %%r3, skip\n"
				 "%s %%r0, %%r3\n"
				 "skip:\n"
				 "exit\n", conds[i], w ? "32" : "", w ? "mov32" : "mov");
			expect_one(text, SBPF_KOPS_SELECT);
		}
		/* against an immediate, dst also the compared register: exact,
		 * but a cmov chain (d = d < c ? ...: a running min/max) the
		 * policy leaves to the branch predictor */
		snprintf(text, sizeof(text),
			 "ldxdw %%r0, [%%r1+0]\n"
			 "ldxdw %%r3, [%%r1+8]\n"
			 "%s %%r0, -3, skip\n"
			 "mov %%r0, %%r3\n"
			 "skip:\n"
			 "exit\n", conds[i]);
		size_t none[SBPF_KOPS__MAX] = { 0 }, one[SBPF_KOPS__MAX] = { 0 };
		one[SBPF_KOPS_SELECT] = 1;
		struct sbpf_kops_policy pol;
		sbpf_kops_policy__init(&pol);
		expect_sites(text, none, &pol);
		pol.min_saved = -100;
		expect_sites(text, one, &pol);
	}
}

/* Selects in a chain: the value a select wrote reaches the compare of the
 * next select (a leading-zero cascade), or a select compares its own
 * destination. The policy leaves them as branches; an independent select
 * after them is still written. */
Test(recognize, select_chains_left_to_branches)
{
	size_t none[SBPF_KOPS__MAX] = { 0 }, one[SBPF_KOPS__MAX] = { 0 };
	one[SBPF_KOPS_SELECT] = 1;
	struct sbpf_kops_policy pol;
	sbpf_kops_policy__init(&pol);
	/* cascade: r2 = r2 < 0x10000 ? r2 << 16 : r2, then r2 compared again */
	expect_sites("ldxdw %r2, [%r1+0]\n"
		     "ldxdw %r0, [%r1+8]\n"
		     "mov %r3, %r2\n"
		     "lsh %r3, 16\n"
		     "jgt %r2, 0xffff, a\n"
		     "mov %r2, %r3\n"
		     "a:\n"
		     "mov %r4, %r2\n"
		     "lsh %r4, 8\n"
		     "jgt %r2, 0xffffff, b\n"
		     "mov %r0, %r4\n"
		     "b:\n"
		     "exit\n", one, &pol); /* the second, whose result no select compares */
	/* independent selects: both written */
	size_t two[SBPF_KOPS__MAX] = { 0 };
	two[SBPF_KOPS_SELECT] = 2;
	expect_sites("ldxdw %r2, [%r1+0]\n"
		     "ldxdw %r3, [%r1+8]\n"
		     "ldxdw %r0, [%r1+16]\n"
		     "ldxdw %r5, [%r1+24]\n"
		     "ldxdw %r4, [%r1+32]\n"
		     "jgt %r2, %r3, a\n"
		     "mov %r0, %r3\n"
		     "a:\n"
		     "jgt %r3, %r4, b\n"
		     "mov %r5, %r2\n"
		     "b:\n"
		     "add %r0, %r5\n"
		     "exit\n", two, &pol);
	(void)none;
}

Test(recognize, extract_shapes)
{
	expect_one("ldxdw %r2, [%r1+0]\n"
		   "mov %r3, %r2\n"
		   "rsh %r3, 17\n"
		   "and %r3, 4095\n"
		   "mov %r0, %r3\n"
		   "exit\n", SBPF_KOPS_EXTRACT);
	expect_one("ldxdw %r2, [%r1+0]\n"
		   "mov32 %r3, %r2\n"
		   "rsh32 %r3, 9\n"
		   "and32 %r3, 1023\n"
		   "mov %r0, %r3\n"
		   "exit\n", SBPF_KOPS_EXTRACT);
	/* (x << 32) >> 32: a zero-extension */
	expect_one("ldxdw %r3, [%r1+0]\n"
		   "lsh %r3, 32\n"
		   "rsh %r3, 32\n"
		   "mov %r0, %r3\n"
		   "exit\n", SBPF_KOPS_EXTRACT);
	/* (x << 20) >> 40: bits 20..43 */
	expect_one("ldxdw %r3, [%r1+0]\n"
		   "mov %r4, %r3\n"
		   "lsh %r4, 20\n"
		   "rsh %r4, 40\n"
		   "mov %r0, %r4\n"
		   "exit\n", SBPF_KOPS_EXTRACT);
}

Test(recognize, bswap_loads)
{
	expect_one("ldxw %r2, [%r1+6]\n"
		   "be32 %r2\n"
		   "mov %r0, %r2\n"
		   "exit\n", SBPF_KOPS_BSWAP_LOAD);
	expect_one("ldxdw %r2, [%r1+3]\n"
		   "be64 %r2\n"
		   "mov %r0, %r2\n"
		   "exit\n", SBPF_KOPS_BSWAP_LOAD);
	/* p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3], as clang orders it */
	expect_one("ldxb %r2, [%r1+16]\n"
		   "lsh %r2, 24\n"
		   "ldxb %r4, [%r1+17]\n"
		   "lsh %r4, 16\n"
		   "or %r4, %r2\n"
		   "ldxb %r2, [%r1+18]\n"
		   "lsh %r2, 8\n"
		   "or %r4, %r2\n"
		   "ldxb %r2, [%r1+19]\n"
		   "or %r4, %r2\n"
		   "mov %r0, %r4\n"
		   "exit\n", SBPF_KOPS_BSWAP_LOAD);
	/* through a computed pointer (p = data + 14), which dies */
	expect_one("mov %r2, %r1\n"
		   "add %r2, 14\n"
		   "ldxb %r3, [%r2+0]\n"
		   "lsh %r3, 8\n"
		   "ldxb %r4, [%r2+1]\n"
		   "or %r4, %r3\n"
		   "mov %r0, %r4\n"
		   "exit\n", SBPF_KOPS_BSWAP_LOAD);
	/* an aligned stack word */
	expect_one("ldxdw %r2, [%r1+0]\n"
		   "stxdw [%r10-8], %r2\n"
		   "ldxw %r3, [%r10-8]\n"
		   "be32 %r3\n"
		   "mov %r0, %r3\n"
		   "exit\n", SBPF_KOPS_BSWAP_LOAD);
}

Test(recognize, wide_loads)
{
	/* p[0] | p[1] << 8 | p[2] << 16 | p[3] << 24, as clang orders it */
	expect_one("ldxb %r0, [%r1+1]\n"
		   "lsh %r0, 8\n"
		   "ldxb %r2, [%r1+0]\n"
		   "or %r0, %r2\n"
		   "ldxb %r2, [%r1+2]\n"
		   "lsh %r2, 16\n"
		   "or %r0, %r2\n"
		   "ldxb %r1, [%r1+3]\n"
		   "lsh %r1, 24\n"
		   "or %r0, %r1\n"
		   "exit\n", SBPF_KOPS_WIDE_LOAD);
	/* 8 bytes at an odd offset, sums instead of ors */
	expect_one("ldxb %r0, [%r1+5]\n"
		   "ldxb %r2, [%r1+6]\n"
		   "lsh %r2, 8\n"
		   "add %r0, %r2\n"
		   "ldxb %r2, [%r1+7]\n"
		   "lsh %r2, 16\n"
		   "add %r0, %r2\n"
		   "ldxb %r2, [%r1+8]\n"
		   "lsh %r2, 24\n"
		   "add %r0, %r2\n"
		   "ldxb %r2, [%r1+9]\n"
		   "lsh %r2, 32\n"
		   "add %r0, %r2\n"
		   "ldxb %r2, [%r1+10]\n"
		   "lsh %r2, 40\n"
		   "add %r0, %r2\n"
		   "ldxb %r2, [%r1+11]\n"
		   "lsh %r2, 48\n"
		   "add %r0, %r2\n"
		   "ldxb %r2, [%r1+12]\n"
		   "lsh %r2, 56\n"
		   "add %r0, %r2\n"
		   "exit\n", SBPF_KOPS_WIDE_LOAD);
	/* 16 bits with xor, ALU32 */
	expect_one("ldxb %r3, [%r1+21]\n"
		   "lsh32 %r3, 8\n"
		   "ldxb %r0, [%r1+20]\n"
		   "xor32 %r0, %r3\n"
		   "exit\n", SBPF_KOPS_WIDE_LOAD);
	/* the result replaces the base (dst == a: two scratch registers) */
	expect_one("ldxb %r2, [%r1+1]\n"
		   "lsh %r2, 8\n"
		   "ldxb %r3, [%r1+0]\n"
		   "or %r2, %r3\n"
		   "ldxb %r3, [%r1+2]\n"
		   "lsh %r3, 16\n"
		   "or %r2, %r3\n"
		   "ldxb %r1, [%r1+3]\n"
		   "lsh %r1, 24\n"
		   "or %r1, %r2\n"
		   "mov %r0, %r1\n"
		   "exit\n", SBPF_KOPS_WIDE_LOAD);
	/* near misses: a gap between the bytes; a byte counted twice (a carry
	 * in the sum); two different bases; a half-word load among the bytes */
	expect_none("ldxb %r0, [%r1+0]\n"
		    "ldxb %r2, [%r1+2]\n"
		    "lsh %r2, 8\n"
		    "or %r0, %r2\n"
		    "exit\n");
	expect_none("ldxb %r0, [%r1+0]\n"
		    "ldxb %r2, [%r1+1]\n"
		    "lsh %r2, 7\n"
		    "add %r0, %r2\n"
		    "exit\n");
	expect_none("ldxb %r0, [%r1+0]\n"
		    "ldxb %r2, [%r3+1]\n"
		    "lsh %r2, 8\n"
		    "or %r0, %r2\n"
		    "exit\n");
	expect_none("ldxh %r0, [%r1+0]\n"
		    "ldxb %r2, [%r1+2]\n"
		    "lsh %r2, 16\n"
		    "or %r0, %r2\n"
		    "ldxb %r2, [%r1+3]\n"
		    "lsh %r2, 24\n"
		    "or %r0, %r2\n"
		    "exit\n");
}

Test(recognize, bulk_copy_runs)
{
	expect_one("ldxdw %r2, [%r1+0]\n"
		   "stxdw [%r10-32], %r2\n"
		   "ldxdw %r2, [%r1+8]\n"
		   "stxdw [%r10-24], %r2\n"
		   "ldxdw %r2, [%r1+16]\n"
		   "stxdw [%r10-16], %r2\n"
		   "ldxdw %r2, [%r1+24]\n"
		   "stxdw [%r10-8], %r2\n"
		   "ldxdw %r0, [%r10-24]\n"
		   "ldxdw %r3, [%r10-8]\n"
		   "stxdw [%r1+64], %r3\n"
		   "exit\n", SBPF_KOPS_BULK_COPY);
	/* 15 bytes chunked 8, 4, 2, 1 - the proof sequence's own chunking */
	expect_one("ldxdw %r3, [%r1+0]\n"
		   "stxdw [%r1+100], %r3\n"
		   "ldxw %r3, [%r1+8]\n"
		   "stxw [%r1+108], %r3\n"
		   "ldxh %r3, [%r1+12]\n"
		   "stxh [%r1+112], %r3\n"
		   "ldxb %r3, [%r1+14]\n"
		   "stxb [%r1+114], %r3\n"
		   "mov %r0, 0\n"
		   "exit\n", SBPF_KOPS_BULK_COPY);
}

Test(recognize, lea_shapes)
{
	expect_one("ldxb %r2, [%r1+0]\n"
		   "mov %r3, %r2\n"
		   "lsh %r3, 3\n"
		   "add %r3, %r1\n"
		   "add %r3, 16\n"
		   "ldxdw %r0, [%r3+0]\n"
		   "exit\n", SBPF_KOPS_LEA);
	/* in place: the scaled index dies */
	expect_one("ldxb %r2, [%r1+0]\n"
		   "mov %r5, %r1\n"
		   "lsh %r2, 2\n"
		   "add %r5, %r2\n"
		   "add %r5, 8\n"
		   "ldxw %r0, [%r5+0]\n"
		   "exit\n", SBPF_KOPS_LEA);
}

/* ---- near misses ---------------------------------------------------------- */

/* Every register but r10 stored after the idiom: all of them live. */
#define STORE_ALL "stxdw [%r6+64], %r0\nstxdw [%r6+72], %r1\nstxdw [%r6+80], %r2\nstxdw [%r6+88], %r3\n" \
		  "stxdw [%r6+96], %r4\nstxdw [%r6+104], %r5\nstxdw [%r6+112], %r7\nstxdw [%r6+120], %r8\n" \
		  "stxdw [%r6+128], %r9\nmov %r0, 0\nexit\n"
#define LOAD_ALL "mov %r6, %r1\nldxdw %r0, [%r6+0]\nldxdw %r1, [%r6+8]\nldxdw %r2, [%r6+16]\nldxdw %r3, [%r6+24]\n" \
		 "ldxdw %r4, [%r6+32]\nldxdw %r5, [%r6+40]\nldxdw %r7, [%r6+48]\nldxdw %r8, [%r6+56]\nldxdw %r9, [%r6+60]\n"

Test(recognize, near_miss_live_temporaries)
{
	/* the rotate's temporary r3 is live and no register is free for the
	 * site's scratch */
	expect_none(LOAD_ALL
		    "mov %r3, %r4\n"
		    "rsh %r3, 51\n"
		    "lsh %r4, 13\n"
		    "or %r4, %r3\n"
		    STORE_ALL);
	/* a select of a constant with no dead register to hold it */
	size_t want[SBPF_KOPS__MAX] = { 0 };
	struct sbpf_kops_policy pol;
	sbpf_kops_policy__init(&pol);
	pol.min_saved = -100;
	expect_sites(LOAD_ALL
		     "jgt %r2, %r3, skip\n"
		     "mov %r4, 7\n"
		     "skip:\n"
		     STORE_ALL, want, &pol);
	/* bulk copy whose temporary is read afterwards */
	expect_none("ldxdw %r2, [%r1+0]\n"
		    "stxdw [%r10-16], %r2\n"
		    "ldxdw %r2, [%r1+8]\n"
		    "stxdw [%r10-8], %r2\n"
		    "mov %r0, %r2\n"
		    "exit\n");
}

Test(recognize, near_miss_jumps_into_the_middle)
{
	/* a jump lands between the rotate's halves */
	expect_none("ldxdw %r4, [%r1+0]\n"
		    "ldxdw %r5, [%r1+8]\n"
		    "mov %r3, %r4\n"
		    "rsh %r3, 51\n"
		    "jeq %r5, 0, mid\n"
		    "mov %r3, 0\n"
		    "mid:\n"
		    "mov %r2, %r4\n"
		    "lsh %r2, 13\n"
		    "or %r2, %r3\n"
		    "mov %r0, %r2\n"
		    "exit\n");
	/* a jump lands on the select's mov */
	expect_none("ldxdw %r2, [%r1+0]\n"
		    "ldxdw %r3, [%r1+8]\n"
		    "ldxdw %r0, [%r1+16]\n"
		    "jeq %r0, 5, mov\n"
		    "jgt %r2, %r3, out\n"
		    "mov:\n"
		    "mov %r0, %r3\n"
		    "out:\n"
		    "exit\n");
	/* a jump lands inside a copy run */
	expect_none("ldxdw %r3, [%r1+24]\n"
		    "ldxdw %r2, [%r1+0]\n"
		    "stxdw [%r10-16], %r2\n"
		    "jeq %r3, 0, half\n"
		    "ldxdw %r2, [%r1+8]\n"
		    "half:\n"
		    "stxdw [%r10-8], %r2\n"
		    "ldxdw %r0, [%r10-8]\n"
		    "exit\n");
}

Test(recognize, near_miss_wrong_masks_and_shapes)
{
	/* mask is not 2^len - 1 */
	expect_none("ldxdw %r2, [%r1+0]\n"
		    "mov %r3, %r2\n"
		    "rsh %r3, 5\n"
		    "and %r3, 0x5f\n"
		    "mov %r0, %r3\n"
		    "exit\n");
	/* shift amounts do not add up to the width */
	expect_none("ldxdw %r4, [%r1+0]\n"
		    "mov %r3, %r4\n"
		    "rsh %r3, 50\n"
		    "mov %r2, %r4\n"
		    "lsh %r2, 13\n"
		    "or %r2, %r3\n"
		    "mov %r0, %r2\n"
		    "exit\n");
	/* two different sources */
	expect_none("ldxdw %r4, [%r1+0]\n"
		    "ldxdw %r5, [%r1+8]\n"
		    "mov %r3, %r4\n"
		    "rsh %r3, 51\n"
		    "mov %r2, %r5\n"
		    "lsh %r2, 13\n"
		    "or %r2, %r3\n"
		    "mov %r0, %r2\n"
		    "exit\n");
	/* little-endian byte order is a plain load, not a bswap */
	expect_none("ldxb %r2, [%r1+19]\n"
		    "lsh %r2, 24\n"
		    "ldxb %r4, [%r1+18]\n"
		    "lsh %r4, 16\n"
		    "or %r4, %r2\n"
		    "ldxb %r2, [%r1+17]\n"
		    "lsh %r2, 8\n"
		    "or %r4, %r2\n"
		    "ldxb %r2, [%r1+15]\n" /* and a byte from elsewhere */
		    "or %r4, %r2\n"
		    "mov %r0, %r4\n"
		    "exit\n");
	/* a misaligned stack word: the kernel would refuse bswap_load's wide
	 * load; wide_load keeps the byte loads for the kernel */
	expect_one("ldxdw %r2, [%r1+0]\n"
		   "stxdw [%r10-8], %r2\n"
		   "ldxb %r3, [%r10-7]\n"
		   "lsh %r3, 8\n"
		   "ldxb %r4, [%r10-6]\n"
		   "or %r4, %r3\n"
		   "mov %r0, %r4\n"
		   "exit\n", SBPF_KOPS_WIDE_LOAD);
	/* scale 16 is not an x86 addressing mode */
	expect_none("ldxb %r2, [%r1+0]\n"
		    "mov %r3, %r2\n"
		    "lsh %r3, 4\n"
		    "add %r3, %r1\n"
		    "ldxdw %r0, [%r3+16]\n"
		    "exit\n");
	/* jset has no inverse a select can express */
	expect_none("ldxdw %r2, [%r1+0]\n"
		    "ldxdw %r0, [%r1+8]\n"
		    "jset %r2, 4, skip\n"
		    "mov %r0, %r2\n"
		    "skip:\n"
		    "exit\n");
	/* chunks that are not the proof sequence's (4-byte chunks of 8 bytes) */
	expect_none("ldxw %r2, [%r1+0]\n"
		    "stxw [%r1+64], %r2\n"
		    "ldxw %r2, [%r1+4]\n"
		    "stxw [%r1+68], %r2\n"
		    "mov %r0, 0\n"
		    "exit\n");
}

Test(recognize, near_miss_32bit_traps)
{
	/* 64-bit shifts of a full 64-bit value: neither a 64- nor a 32-bit rotate */
	expect_none("ldxdw %r4, [%r1+0]\n"
		    "mov %r3, %r4\n"
		    "rsh %r3, 25\n"
		    "mov %r2, %r4\n"
		    "lsh %r2, 7\n"
		    "or %r2, %r3\n"
		    "stxw [%r1+8], %r2\n"
		    "mov %r0, 0\n"
		    "exit\n");
	/* zero-extended word, but all 64 bits of the result are stored */
	expect_none("ldxw %r4, [%r1+0]\n"
		    "mov %r3, %r4\n"
		    "rsh %r3, 25\n"
		    "mov %r2, %r4\n"
		    "lsh %r2, 7\n"
		    "or %r2, %r3\n"
		    "stxdw [%r1+8], %r2\n"
		    "mov %r0, 0\n"
		    "exit\n");
	/* ... or returned (r0 is observed whole) */
	expect_none("ldxw %r4, [%r1+0]\n"
		    "mov %r3, %r4\n"
		    "rsh %r3, 25\n"
		    "mov %r0, %r4\n"
		    "lsh %r0, 7\n"
		    "or %r0, %r3\n"
		    "exit\n");
	/* ... or compared with 64-bit jumps */
	expect_none("ldxw %r4, [%r1+0]\n"
		    "mov %r3, %r4\n"
		    "rsh %r3, 25\n"
		    "mov %r2, %r4\n"
		    "lsh %r2, 7\n"
		    "or %r2, %r3\n"
		    "mov %r0, 0\n"
		    "jgt %r2, 1000, out\n"
		    "mov %r0, 1\n"
		    "out:\n"
		    "exit\n");
	/* the mask keeps a bit above the word */
	expect_none("ldxdw %r4, [%r1+0]\n"
		    "lddw %r5, 0x1fe000000\n"
		    "mov %r3, %r4\n"
		    "and %r3, %r5\n"
		    "rsh %r3, 25\n"
		    "mov %r2, %r4\n"
		    "lsh %r2, 7\n"
		    "or %r2, %r3\n"
		    "and %r2, 0xfff\n" /* not 0xffff: that and the mov after it are a movzx site */
		    "mov %r0, %r2\n"
		    "exit\n");
}

/* ---- policy and errors ---------------------------------------------------- */

Test(recognize, policy_rules)
{
	const char *inplace = "ldxdw %r2, [%r1+0]\n"
			      "rsh %r2, 5\n"
			      "and %r2, 63\n"
			      "stxdw [%r1+8], %r2\n"
			      "mov %r0, 0\n"
			      "exit\n";
	size_t none[SBPF_KOPS__MAX] = { 0 }, one[SBPF_KOPS__MAX] = { 0 };
	one[SBPF_KOPS_EXTRACT] = 1;
	/* rsh; and in place saves nothing by the estimate: found, not written */
	expect_sites(inplace, none, NULL);
	struct sbpf_kops_policy pol;
	sbpf_kops_policy__init(&pol);
	pol.min_saved = 0;
	expect_sites(inplace, one, &pol);
	/* an operation switched off */
	sbpf_kops_policy__init(&pol);
	pol.ops &= ~(1u << SBPF_KOPS_EXTRACT);
	expect_sites("ldxdw %r2, [%r1+0]\nmov %r3, %r2\nrsh %r3, 5\nand %r3, 63\nmov %r0, %r3\nexit\n", none, &pol);
	/* a select of a constant needs a scratch mov: no saving by default */
	const char *selimm = "ldxdw %r2, [%r1+0]\n"
			     "ldxdw %r0, [%r1+8]\n"
			     "jgt %r2, 10, skip\n"
			     "mov %r0, 7\n"
			     "skip:\n"
			     "exit\n";
	size_t sel[SBPF_KOPS__MAX] = { 0 };
	sel[SBPF_KOPS_SELECT] = 1;
	expect_sites(selimm, none, NULL);
	sbpf_kops_policy__init(&pol);
	pol.min_saved = 0;
	expect_sites(selimm, sel, &pol);
	/* found counts exact rewrites whatever the policy */
	size_t n;
	struct sbpf_insn *p = assemble(inplace, &n);
	struct result r;
	recognize_with(p, n, NULL, &r);
	cr_assert_eq(r.st.found[SBPF_KOPS_EXTRACT], 1);
	cr_assert_eq(r.st.sites[SBPF_KOPS_EXTRACT], 0);
	free(p);
	result_free(&r);
}

static int refusals;
static void count_refusal(void *arg, size_t slot, uint32_t op, const char *why)
{
	(void)arg;
	(void)slot;
	cr_assert_eq(op, SBPF_KOPS_ROTATE);
	cr_assert(strstr(why, "upper half"), "reason: %s", why);
	refusals++;
}

Test(recognize, refusal_reasons)
{
	size_t n;
	struct sbpf_insn *p = assemble("ldxw %r4, [%r1+0]\n"
				       "mov %r3, %r4\n"
				       "rsh %r3, 25\n"
				       "mov %r0, %r4\n"
				       "lsh %r0, 7\n"
				       "or %r0, %r3\n"
				       "exit\n", &n);
	struct sbpf_kops_policy pol;
	sbpf_kops_policy__init(&pol);
	pol.on_refuse = count_refusal;
	struct result r;
	refusals = 0;
	recognize_with(p, n, &pol, &r);
	cr_assert_eq(refusals, 1);
	cr_assert_eq(r.st.refused[SBPF_KOPS_ROTATE], 1);
	cr_assert_eq(total_sites(&r.st), 0);
	free(p);
	result_free(&r);
}

Test(recognize, refuses_bad_input)
{
	struct sbpf_insn site[3];
	sbpf_kops_encode(&(struct sbpf_kops_payload){ .op = SBPF_KOPS_ROTATE, .dst = 0, .c = 1, .imm = 3 }, site);
	site[2] = SBPF_EXIT_INSN();
	struct sbpf_insn *out = NULL;
	size_t n = 0;
	struct sbpf_validate_error err = { 0 };
	cr_assert_eq(sbpf_kops_recognize(site, 3, NULL, &out, &n, NULL, &err), -EINVAL);
	cr_assert(strstr(err.rule, "already"), "%s", err.rule);
	cr_assert_null(out);
	struct sbpf_insn bad[] = { SBPF_MOV64_IMM(0, 0) }; /* no exit */
	cr_assert_eq(sbpf_kops_recognize(bad, 1, NULL, &out, &n, NULL, &err), -EINVAL);
	struct sbpf_insn ok[] = { SBPF_MOV64_IMM(0, 0), SBPF_EXIT_INSN() };
	cr_assert_eq(sbpf_kops_recognize(ok, 2, NULL, &out, &n, NULL, &err), 0);
	cr_assert_eq(n, 2);
	cr_assert_arr_eq(out, ok, sizeof(ok));
	free(out);
}

Test(recognize, jumps_around_sites_are_retargeted)
{
	/* a loop whose body holds a rotate and a bulk copy; jumps before,
	 * across and back over the rewritten windows */
	expect_sites("mov %r6, %r1\n"
		     "mov %r7, 0\n"
		     "ldxdw %r0, [%r6+0]\n"
		     "loop:\n"
		     "mov %r3, %r0\n"
		     "rsh %r3, 51\n"
		     "lsh %r0, 13\n"
		     "or %r0, %r3\n"
		     "ldxdw %r2, [%r6+8]\n"
		     "stxdw [%r6+128], %r2\n"
		     "ldxdw %r2, [%r6+16]\n"
		     "stxdw [%r6+136], %r2\n"
		     "ldxdw %r2, [%r6+24]\n"
		     "stxdw [%r6+144], %r2\n"
		     "add %r7, 1\n"
		     "jlt %r7, 5, loop\n"
		     "exit\n",
		     (size_t[SBPF_KOPS__MAX]){ [SBPF_KOPS_ROTATE] = 1, [SBPF_KOPS_BULK_COPY] = 1 }, NULL);
}

/* ---- clang-compiled programs (tests/kops) --------------------------------- */

static struct sbpf_insn *load_obj(const char *file, size_t *n)
{
	char path[256];
	snprintf(path, sizeof(path), "build/kops/%s", file);
	cr_assert_eq(access(path, R_OK), 0, "%s missing: run make asan first", path);
	struct sbpf_elf_error err = { "" };
	struct sbpf_elf *obj = sbpf_elf__open(path, &err);
	cr_assert_not_null(obj, "%s: %s", path, err.msg);
	struct sbpf_insn *insns = NULL;
	cr_assert_eq(sbpf_elf__prog_insns(obj, 0, &insns, n, &err), 0, "%s: %s", path, err.msg);
	sbpf_elf__close(obj);
	return insns;
}

/* The sites each program must get at least (default policy). */
static const struct {
	const char *name;
	int op;
	size_t min;
} programs[] = {
	{ "rotate", SBPF_KOPS_ROTATE, 16 },
	{ "select", SBPF_KOPS_SELECT, 4 },
	{ "extract", SBPF_KOPS_EXTRACT, 2 },
	{ "bswap", SBPF_KOPS_BSWAP_LOAD, 4 },
	{ "copy", SBPF_KOPS_BULK_COPY, 3 },
	{ "lea", SBPF_KOPS_LEA, 3 },
	{ "popcount", SBPF_KOPS_POPCOUNT, 3 },
	{ "wide", SBPF_KOPS_WIDE_LOAD, 4 },
};

#define PKT 192

Test(recognize, clang_programs_sites_and_interpreter)
{
	srandom(7);
	for (size_t i = 0; i < sizeof(programs) / sizeof(programs[0]); i++)
		for (int v3 = 0; v3 < 2; v3++) {
			char file[64];
			snprintf(file, sizeof(file), "%s%s.o", programs[i].name, v3 ? ".v3" : "");
			size_t n;
			struct sbpf_insn *p = load_obj(file, &n);
			struct result r;
			recognize_with(p, n, NULL, &r);
			cr_assert_geq(r.st.sites[programs[i].op], programs[i].min, "%s: %zu %s sites, want >= %zu", file,
				      r.st.sites[programs[i].op], sbpf_kops_info((uint32_t)programs[i].op)->name,
				      programs[i].min);
			/* a popcount's proof sequence loads its constants again where
			 * clang kept them in registers shared by several counts */
			cr_assert_lt(r.nlow, n + 8 + 10 * r.st.sites[SBPF_KOPS_POPCOUNT],
				     "%s: lowered program grew to %zu from %zu", file, r.nlow, n);
			cr_log_info("%s: %zu sites, %zu -> %zu slots, %zu lowered", file, total_sites(&r.st), n, r.n, r.nlow);
			same_behaviour(p, n, r.low, r.nlow, SBPF_PROG_XDP, PKT, 200);
			free(p);
			result_free(&r);
		}
}

Test(recognize, clang_programs_pass_the_kernel_verifier)
{
	char why[160];
	if (sbpf_kernel_check_privileges(why, sizeof(why)))
		cr_skip_test("kernel tests skipped: %s", why);
	srandom(11);
	for (size_t i = 0; i < sizeof(programs) / sizeof(programs[0]); i++)
		for (int v3 = 0; v3 < 2; v3++) {
			char file[64];
			snprintf(file, sizeof(file), "%s%s.o", programs[i].name, v3 ? ".v3" : "");
			size_t n;
			struct sbpf_insn *p = load_obj(file, &n);
			struct result r;
			recognize_with(p, n, NULL, &r);
			struct sbpf_vm_opts o = { .sz = sizeof(o), .type = SBPF_PROG_XDP };
			struct sbpf_vm *vm = sbpf_vm__new(p, n, &o, NULL);
			cr_assert_not_null(vm);
			for (int round = 0; round < 5; round++) {
				uint8_t pkt[PKT], scratch[PKT];
				for (size_t k = 0; k < PKT; k++)
					pkt[k] = (uint8_t)rnd();
				memcpy(scratch, pkt, PKT);
				uint64_t want = 0;
				cr_assert_eq(sbpf_vm__run(vm, scratch, PKT, &want, NULL), 0);
				char log[8192] = "";
				struct sbpf_kload_opts lo = { .sz = sizeof(lo), .name = "kops_rec", .log_buf = log, .log_size = sizeof(log) };
				struct sbpf_ktest_opts to = { .sz = sizeof(to), .data_in = pkt, .data_len = PKT };
				struct sbpf_ktest_result res = { 0 };
				int rc = sbpf_kernel_run_xdp(r.low, r.nlow, &lo, &to, &res);
				char reason[256] = "";
				if (rc)
					sbpf_kernel_log_reason(log, reason, sizeof(reason));
				cr_assert_eq(rc, 0, "%s lowered: kernel refused (%d): %s", file, rc, reason);
				cr_assert_eq(res.retval, (uint32_t)want, "%s: kernel r0 0x%x, interpreter (original) 0x%llx", file,
					     res.retval, (unsigned long long)want);
			}
			sbpf_vm__free(vm);
			free(p);
			result_free(&r);
		}
}

/* The sites the recognizer writes run as native operations in the JIT
 * (--kops) with the interpreter's results on the original program, and -
 * once the kernel verifier accepted the lowered program - the kernel's. */
Test(recognize, clang_programs_on_the_kops_jit)
{
	char why[256];
	int kernel = !sbpf_kernel_check_privileges(why, sizeof(why));
	if (!kernel)
		cr_log_warn("kernel comparison skipped: %s", why);
	srandom(13);
	size_t native = 0;
	for (size_t i = 0; i < sizeof(programs) / sizeof(programs[0]); i++)
		for (int v3 = 0; v3 < 2; v3++) {
			char file[64];
			snprintf(file, sizeof(file), "%s%s.o", programs[i].name, v3 ? ".v3" : "");
			size_t n;
			struct sbpf_insn *p = load_obj(file, &n);
			struct result r;
			recognize_with(p, n, NULL, &r);
			struct sbpf_kops_lowered low;
			struct sbpf_validate_error err;
			cr_assert_eq(sbpf_kops_lower(r.out, r.n, &low, &err), 0, "%s: %s", file, err.rule);
			if (kernel)
				cr_assert_eq(sbpf_kops_verify_kernel(&low, why, sizeof(why)), 0, "%s: verifier: %s", file, why);
			struct sbpf_vm_opts vo = { .sz = sizeof(vo), .type = SBPF_PROG_XDP };
			struct sbpf_vm *vm = sbpf_vm__new(p, n, &vo, NULL);
			cr_assert_not_null(vm);
			for (int unchecked = 0; unchecked < 2; unchecked++) {
				struct sbpf_jit_opts jo = { .sz = sizeof(jo), .type = SBPF_PROG_XDP, .unchecked = unchecked,
							    .kops = &low };
				struct sbpf_jit *jit = sbpf_jit__new(low.insns, low.n, &jo, &err);
				cr_assert_not_null(jit, "%s: jit: %s", file, err.rule);
				cr_assert_eq(sbpf_jit__compile(jit), 0);
				for (size_t s = 0; s < low.nsites; s++) {
					size_t from, to;
					native += sbpf_jit__kops_site(jit, s, &from, &to) == 1;
				}
				for (int round = 0; round < 20; round++) {
					uint8_t pkt[PKT], a[PKT], b[PKT];
					for (size_t k = 0; k < PKT; k++)
						pkt[k] = (uint8_t)rnd();
					memcpy(a, pkt, PKT);
					memcpy(b, pkt, PKT);
					uint64_t want = 0, got = 0;
					cr_assert_eq(sbpf_vm__run(vm, a, PKT, &want, NULL), 0);
					struct sbpf_run_error re;
					cr_assert_eq(sbpf_jit__run(jit, b, PKT, &got, &re), 0, "%s: %s", file, re.reason);
					cr_assert_eq(got, want, "%s (%s): kops JIT r0 0x%llx, interpreter 0x%llx", file,
						     unchecked ? "unchecked" : "checked", (unsigned long long)got,
						     (unsigned long long)want);
					cr_assert_arr_eq(a, b, PKT, "%s: packet differs", file);
					if (kernel && unchecked && round < 3) {
						struct sbpf_ktest_opts to = { .sz = sizeof(to), .data_in = pkt, .data_len = PKT };
						struct sbpf_ktest_result res = { 0 };
						cr_assert_eq(sbpf_kernel_run_xdp(p, n, NULL, &to, &res), 0);
						cr_assert_eq(res.retval, (uint32_t)got, "%s: kernel 0x%x, kops JIT 0x%llx", file,
							     res.retval, (unsigned long long)got);
					}
				}
				sbpf_jit__free(jit);
			}
			sbpf_vm__free(vm);
			sbpf_kops_lowered__free(&low);
			free(p);
			result_free(&r);
		}
	cr_log_info("kops JIT: %zu site compilations ran their native emit", native);
	cr_assert_gt(native, 50);
}

/* The benchmarks whose 32-bit rotates clang's default CPU writes with
 * 64-bit registers (bench/micro, built by make asan): with ret32 (the
 * bench's XDP policy) the recognizer finds as many rotates in the
 * default-CPU build as in the -mcpu=v3 one, and the lowered program
 * returns the original's low 32 bits on random packets. */
static struct sbpf_insn *load_bench(const char *path, size_t *n, uint8_t **ro, size_t *rolen)
{
	cr_assert_eq(access(path, R_OK), 0, "%s missing: run make asan first", path);
	struct sbpf_elf_error err = { "" };
	struct sbpf_elf *obj = sbpf_elf__open(path, &err);
	cr_assert_not_null(obj, "%s: %s", path, err.msg);
	struct sbpf_insn *insns = NULL;
	cr_assert_eq(sbpf_elf__prog_insns_rodata(obj, 0, &insns, n, ro, rolen, &err), 0, "%s: %s", path, err.msg);
	sbpf_elf__close(obj);
	return insns;
}

Test(recognize, bench_default_cpu_rotates_with_ret32)
{
	static const struct {
		const char *name;
		size_t rotates;
	} progs[] = { { "xxhash32", 8 }, { "murmur3", 1 }, { "jhash", 7 }, { "maglev", 7 } };
	srandom(17);
	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		size_t got[2];
		for (int v3 = 0; v3 < 2; v3++) {
			char path[128];
			snprintf(path, sizeof(path), "build/bench/micro/%s%s.o", v3 ? "v3/" : "", progs[i].name);
			size_t n, rolen;
			uint8_t *ro;
			struct sbpf_insn *p = load_bench(path, &n, &ro, &rolen);
			struct sbpf_kops_policy pol;
			sbpf_kops_policy__init(&pol);
			pol.ret32 = 1;
			struct result r;
			recognize_with(p, n, &pol, &r);
			got[v3] = r.st.sites[SBPF_KOPS_ROTATE];
			if (!v3) {
				struct sbpf_kops_policy off;
				struct result r64;
				sbpf_kops_policy__init(&off);
				recognize_with(p, n, &off, &r64);
				cr_log_info("%s: %zu rotates with ret32, %zu without", path, got[0], r64.st.sites[SBPF_KOPS_ROTATE]);
				result_free(&r64);
			}
			struct sbpf_vm_opts o = { .sz = sizeof(o), .type = SBPF_PROG_XDP, .rodata = ro, .rodata_len = rolen };
			struct sbpf_vm *va = sbpf_vm__new(p, n, &o, NULL), *vb = sbpf_vm__new(r.low, r.nlow, &o, NULL);
			cr_assert(va && vb);
			for (int round = 0; round < 20; round++) {
				uint8_t a[320], b[320];
				for (size_t k = 0; k < sizeof(a); k++)
					a[k] = b[k] = (uint8_t)rnd();
				uint64_t ra = 0, rb = 0;
				cr_assert_eq(sbpf_vm__run(va, a, sizeof(a), &ra, NULL), 0);
				cr_assert_eq(sbpf_vm__run(vb, b, sizeof(b), &rb, NULL), 0);
				cr_assert_eq((uint32_t)ra, (uint32_t)rb, "%s: r0 0x%llx, lowered 0x%llx", path,
					     (unsigned long long)ra, (unsigned long long)rb);
			}
			sbpf_vm__free(va);
			sbpf_vm__free(vb);
			result_free(&r);
			free(p);
			free(ro);
		}
		cr_assert_eq(got[0], progs[i].rotates, "%s: %zu rotates (default CPU), want %zu", progs[i].name, got[0],
			     progs[i].rotates);
		/* v3 may have more: the ALU32 rotate of a product (murmur3's
		 * rotl32(k * c1, 15)) is recognized; its default-CPU form (64-bit
		 * multiplies, the low word masked) is not yet */
		cr_assert_geq(got[1], got[0], "%s: %zu rotates (default CPU), %zu (v3)", progs[i].name, got[0], got[1]);
	}
}
