/* test_kops_policy.c - the recognizer's select policy tuned from the bench
 * ablation (src/kops/recognize.c, SELECT_ADDR_PENALTY): a select whose
 * result becomes part of a memory address is found but not written by the
 * default policy; the same select feeding only arithmetic is written; and
 * min_saved low enough (like `kops rewrite --all`) still writes the first.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "safebpf/asm.h"
#include "safebpf/kops.h"

/* A conditional jump over a register mov (what clang makes of
 * `r3 = a > b ? r3 : r5`), then @tail. */
static void assemble(const char *tail, struct sbpf_insn **insns, size_t *n)
{
	static const char head[] =
		"ldxw %r0, [%r1+0]\n"
		"ldxw %r2, [%r1+4]\n"
		"ldxw %r3, [%r1+8]\n"
		"ldxw %r5, [%r1+12]\n"
		"and %r3, 60\n"
		"and %r5, 60\n"
		"jgt %r0, %r2, +1\n"
		"mov %r3, %r5\n";
	char text[1024];
	snprintf(text, sizeof(text), "%s%sexit\n", head, tail);
	struct sbpf_diags d = { 0 };
	int rc = sbpf_assemble(text, "policy.s", insns, n, &d);
	char *msg = sbpf_diags__format(&d);
	cr_assert_eq(rc, 0, "%s", msg ? msg : "");
	free(msg);
	sbpf_diags__free(&d);
}

/* Select sites found / written for @tail under min_saved @min_saved. */
static void recognize(const char *tail, int min_saved, size_t *found, size_t *sites)
{
	struct sbpf_insn *insns = NULL, *out = NULL;
	size_t n = 0, out_n = 0;
	assemble(tail, &insns, &n);
	struct sbpf_kops_policy pol;
	sbpf_kops_policy__init(&pol);
	pol.min_saved = min_saved;
	struct sbpf_kops_stats st;
	memset(&st, 0, sizeof(st));
	struct sbpf_validate_error err = { 0 };
	cr_assert_eq(sbpf_kops_recognize(insns, n, &pol, &out, &out_n, &st, &err), 0, "%s", err.rule);
	*found = st.found[SBPF_KOPS_SELECT];
	*sites = st.sites[SBPF_KOPS_SELECT];
	free(insns);
	free(out);
}

Test(kops_policy, select_feeding_an_address_is_left_a_branch)
{
	size_t found, sites;
	recognize("mov %r4, %r1\nadd %r4, %r3\nldxw %r0, [%r4+0]\n", 1, &found, &sites);
	cr_assert_eq(found, 1, "the select idiom should be recognized");
	cr_assert_eq(sites, 0, "a select feeding a load address should not be written by default");
	recognize("mov %r4, %r1\nadd %r4, %r3\nldxw %r0, [%r4+0]\n", -100, &found, &sites);
	cr_assert_eq(sites, 1, "min_saved -100 writes every exact rewrite");
}

Test(kops_policy, select_feeding_arithmetic_is_written)
{
	size_t found, sites;
	recognize("mov %r0, %r3\nadd %r0, %r2\n", 1, &found, &sites);
	cr_assert_eq(found, 1);
	cr_assert_eq(sites, 1, "a select whose result is only computed with is worth a cmov");
}

Test(kops_policy, store_through_a_selected_base_counts_too)
{
	size_t found, sites;
	recognize("mov %r4, %r1\nadd %r4, %r3\nstw [%r4+0], 7\nmov %r0, 0\n", 1, &found, &sites);
	cr_assert_eq(found, 1);
	cr_assert_eq(sites, 0);
}
