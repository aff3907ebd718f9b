/* test_kops_policy.c - the recognizer's select policy tuned from the bench
 * ablation (src/kops/recognize.c, SELECT_ADDR_PENALTY): a select whose
 * result becomes part of a memory address is found but not written by the
 * default policy; the same select feeding only arithmetic is written; and
 * min_saved low enough (like `kops rewrite --all`) still writes the first.
 * The extract policy (issue 17): zero-extensions keep clang's shifts as
 * proof sequence, a lone mov32 is not written, a field from another
 * register that only BEXTR would speed up is not written, bytes and
 * halfwords at bit 0 are (movzx), an in-place and is not.
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

/* The zero-extension of a 32-bit value (issue 17): written as one extract
 * site whose proof sequence is clang's own `lsh 32; rsh 32` (the lowered
 * program is the original instruction for instruction, so the kernel
 * verifier judges it as it judged the original; a `mov32` proof sequence
 * cost it state pruning), emitted as one `mov r32, r32`; an ALU32 `mov32`
 * alone saves nothing and is not written. Returns the extract sites
 * written for @body (a program: r2 = a 64-bit value, then @body, exit)
 * and stores the lowered program in *@low / *@nlow. */
static size_t zext_sites(const char *body, int min_saved, struct sbpf_insn **low, size_t *nlow,
			 struct sbpf_kops_payload *site)
{
	char text[512];
	snprintf(text, sizeof(text), "ldxdw %%r2, [%%r1+0]\nmul %%r2, 31\n%sexit\n", body);
	struct sbpf_insn *insns = NULL, *out = NULL;
	size_t n = 0, out_n = 0;
	struct sbpf_diags d = { 0 };
	cr_assert_eq(sbpf_assemble(text, "zext.s", &insns, &n, &d), 0);
	sbpf_diags__free(&d);
	struct sbpf_kops_policy pol;
	sbpf_kops_policy__init(&pol);
	pol.min_saved = min_saved;
	struct sbpf_kops_stats st;
	memset(&st, 0, sizeof(st));
	struct sbpf_validate_error err = { 0 };
	cr_assert_eq(sbpf_kops_recognize(insns, n, &pol, &out, &out_n, &st, &err), 0, "%s", err.rule);
	struct sbpf_kops_lowered l;
	cr_assert_eq(sbpf_kops_lower(out, out_n, &l, &err), 0, "%s", err.rule);
	if (l.nsites)
		*site = l.sites[0].p;
	*low = malloc(l.n * sizeof(**low));
	memcpy(*low, l.insns, l.n * sizeof(**low));
	*nlow = l.n;
	sbpf_kops_lowered__free(&l);
	free(insns);
	free(out);
	return st.sites[SBPF_KOPS_EXTRACT];
}

Test(kops_policy, zero_extension_keeps_the_original_shifts_as_proof_sequence)
{
	struct sbpf_insn *low = NULL;
	size_t nlow = 0;
	struct sbpf_kops_payload p = { 0 };
	size_t sites = zext_sites("mov %r0, %r2\nlsh %r0, 32\nrsh %r0, 32\n", 1, &low, &nlow, &p);
	cr_assert_eq(sites, 1, "mov; lsh 32; rsh 32 saves two instructions: written");
	cr_assert_eq(p.op, SBPF_KOPS_EXTRACT);
	cr_assert_eq(p.variant, 0, "the 64-bit variant (shifts), not the 32-bit one (mov32)");
	cr_assert_eq(p.imm, 32 << 8, "shift 0, len 32");
	/* lowered: ldxdw, mul, mov, lsh 32, rsh 32, exit: the original */
	cr_assert_eq(nlow, 6);
	cr_assert_eq(low[2].code, SBPF_ALU64 | SBPF_MOV | SBPF_X);
	cr_assert_eq(low[3].code, SBPF_ALU64 | SBPF_LSH | SBPF_K);
	cr_assert_eq(low[3].imm, 32);
	cr_assert_eq(low[4].code, SBPF_ALU64 | SBPF_RSH | SBPF_K);
	cr_assert_eq(low[4].imm, 32);
	for (size_t i = 0; i < nlow; i++)
		cr_assert_neq(low[i].code, SBPF_ALU | SBPF_MOV | SBPF_X, "no mov32 in the lowered program");
	free(low);
	/* in place: lsh 32; rsh 32, again two shifts by 32 and no mov32 */
	sites = zext_sites("lsh %r2, 32\nrsh %r2, 32\nmov %r0, %r2\n", 1, &low, &nlow, &p);
	cr_assert_eq(sites, 1);
	cr_assert_eq(p.variant, 0);
	int shifts = 0;
	for (size_t i = 0; i + 1 < nlow; i++) {
		cr_assert_neq(low[i].code, SBPF_ALU | SBPF_MOV | SBPF_X, "no mov32 in the lowered program");
		if (low[i].code == (SBPF_ALU64 | SBPF_LSH | SBPF_K) && low[i].imm == 32 &&
		    low[i + 1].code == (SBPF_ALU64 | SBPF_RSH | SBPF_K) && low[i + 1].imm == 32 &&
		    low[i].dst_reg == low[i + 1].dst_reg)
			shifts++;
	}
	cr_assert_eq(shifts, 1, "the lowered site is lsh 32; rsh 32");
	free(low);
}

Test(kops_policy, alu32_mov_alone_saves_nothing)
{
	struct sbpf_insn *low = NULL;
	size_t nlow = 0;
	struct sbpf_kops_payload p = { 0 };
	cr_assert_eq(zext_sites("mov32 %r0, %r2\n", 1, &low, &nlow, &p), 0,
		     "one mov32 is already one mov r32: no site");
	free(low);
}

/* Extract sites found / written for @body after r2 = a 64-bit value. */
static void extract_policy(const char *body, size_t *found, size_t *sites)
{
	char text[512];
	snprintf(text, sizeof(text), "ldxdw %%r2, [%%r1+0]\nmul %%r2, 31\n%sexit\n", body);
	struct sbpf_insn *insns = NULL, *out = NULL;
	size_t n = 0, out_n = 0;
	struct sbpf_diags d = { 0 };
	cr_assert_eq(sbpf_assemble(text, "extract.s", &insns, &n, &d), 0);
	sbpf_diags__free(&d);
	struct sbpf_kops_policy pol;
	sbpf_kops_policy__init(&pol);
	struct sbpf_kops_stats st;
	memset(&st, 0, sizeof(st));
	struct sbpf_validate_error err = { 0 };
	cr_assert_eq(sbpf_kops_recognize(insns, n, &pol, &out, &out_n, &st, &err), 0, "%s", err.rule);
	*found = st.found[SBPF_KOPS_EXTRACT];
	*sites = st.sites[SBPF_KOPS_EXTRACT];
	free(insns);
	free(out);
}

/* BEXTR is 2 µops on Intel: mov r11d, ctl; bextr is no cheaper there than
 * the mov; shr; and the JIT makes of the proof sequence, so a field taken
 * from another register is found but not written (the rewrite must not
 * depend on the host, and must never lose). */
Test(kops_policy, unaligned_field_from_another_register_is_not_written)
{
	size_t found, sites;
	extract_policy("mov %r0, %r2\nrsh %r0, 5\nand %r0, 63\nadd %r0, %r2\n", &found, &sites);
	cr_assert_eq(found, 1);
	cr_assert_eq(sites, 0, "bextr would be its only gain");
}

/* A byte or halfword at bit 0 from another register is one movzx instead
 * of mov; and: written. In place, `and r, 0xff` is one instruction either
 * way: not written. */
Test(kops_policy, aligned_field_at_bit0_is_a_movzx)
{
	size_t found, sites;
	extract_policy("mov %r0, %r2\nand %r0, 0xff\nadd %r0, %r2\n", &found, &sites);
	cr_assert_eq(found, 1);
	cr_assert_eq(sites, 1, "mov; and 0xff -> movzx saves one instruction");
	extract_policy("mov %r0, %r2\nand %r0, 0xffff\nadd %r0, %r2\n", &found, &sites);
	cr_assert_eq(sites, 1);
	extract_policy("and %r2, 0xff\nmov %r0, 5\nadd %r0, %r2\n", &found, &sites);
	cr_assert_eq(sites, 0, "an in-place and saves nothing");
	/* a width no movzx takes is no field extract at bit 0 */
	extract_policy("mov %r0, %r2\nand %r0, 0xfff\nadd %r0, %r2\n", &found, &sites);
	cr_assert_eq(found, 0);
}
