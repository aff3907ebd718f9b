/* test_sql_usdt.c - USDT probe notes (src/sql/usdt.c) read from the test
 * program build/e2e/usdtprog (tests/e2e/usdtprog.c, built by `make asan`
 * before the unit tests run): probe list, argument decoding (registers,
 * memory, sym(%rip), constants, sizes and signs), sites and their
 * variants, semaphores, and the errors of a lookup. No kernel needed.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sql/sqlInt.h"

#define PROG "build/e2e/usdtprog"

static struct sql_usdt_probe *find(const char *spec)
{
	static struct sql_usdt_probe p;
	char err[512];
	int rc = sql_usdt_find(PROG, spec, &p, err, sizeof(err));
	cr_assert_eq(rc, 0, "%s: %s", spec, err);
	return &p;
}

Test(usdt, lists_every_probe)
{
	struct sql_usdt_probe *v;
	size_t n;
	char err[512];
	cr_assert_eq(sql_usdt_list(PROG, &v, &n, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(n, 9);
	free(v);
}

Test(usdt, registers_with_size_and_sign)
{
	struct sql_usdt_probe *p = find("sbpf:regs");
	cr_assert_eq(p->nargs, 8);
	cr_expect_eq(p->nsites, 1);
	cr_expect_neq(p->sema, 0, "every probe of the program has a semaphore");
	static const unsigned sizes[] = { 1, 1, 2, 2, 4, 4, 8, 8 };
	for (size_t i = 0; i < 8; i++) {
		cr_expect_eq(p->args[0][i].loc, SQL_USDT_REG, "arg%zu %s", i, p->args[0][i].text);
		cr_expect_eq(p->args[0][i].size, sizes[i]);
		cr_expect_eq(p->args[0][i].is_signed, i % 2 == 0);
		cr_expect_lt(p->args[0][i].reg, 168);
	}
}

Test(usdt, memory_and_rip_relative)
{
	struct sql_usdt_probe *p = find("mem");
	cr_assert_eq(p->nargs, 8);
	for (size_t i = 0; i < 8; i++)
		cr_expect_eq(p->args[0][i].loc, SQL_USDT_MEM, "arg%zu %s", i, p->args[0][i].text);
	cr_expect(strstr(p->args[0][4].text, "sbpf_global(%rip)"), "%s", p->args[0][4].text);
	cr_expect_eq(p->args[0][4].reg, 128, "sym(%%rip) is read from pt_regs ip");
	cr_expect_eq(p->args[0][0].reg, 152, "stack slots from rsp");
}

Test(usdt, constants)
{
	struct sql_usdt_probe *p = find("sbpf:consts");
	cr_assert_eq(p->nargs, 8);
	cr_expect_eq(p->args[0][0].loc, SQL_USDT_CONST);
	cr_expect_eq(p->args[0][0].imm, -5);
	cr_expect_eq(p->args[0][6].imm, -5000000000LL);
	cr_expect_eq(p->args[0][7].imm, 123456789012LL);
	cr_expect_eq(p->args[0][7].is_signed, false);
}

Test(usdt, sites_and_variants)
{
	struct sql_usdt_probe *p = find("sbpf:twice");
	cr_expect_eq(p->nsites, 2);
	cr_expect_eq(p->nvariants, 1);
	cr_expect_neq(p->sites[0], p->sites[1]);
	p = find("sbpf:mixed");
	cr_expect_eq(p->nsites, 3);
	cr_expect_eq(p->nvariants, 3);
	cr_expect_eq(p->mixed[0], '\0');
	cr_expect_eq(p->site_variant[1], 1);
	p = find("sbpf:clash");
	cr_expect(strstr(p->mixed, "different types"), "%s", p->mixed);
}

Test(usdt, undecodable_operand_is_kept_with_a_reason)
{
	struct sql_usdt_probe *p = find("sbpf:odd");
	cr_assert_eq(p->nargs, 2);
	cr_expect_eq(p->sema, 0);
	cr_expect_eq(p->args[0][0].loc, SQL_USDT_BAD);
	cr_expect(strstr(p->args[0][0].why, "index register"), "%s", p->args[0][0].why);
	cr_expect_eq(p->args[0][1].loc, SQL_USDT_CONST);
	cr_expect_eq(p->args[0][1].imm, 7);
}

Test(usdt, lookup_errors)
{
	struct sql_usdt_probe p;
	char err[512];
	cr_expect_eq(sql_usdt_find(PROG, "regs", &p, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "sbpf:regs, sbpf2:regs"), "%s", err);
	cr_expect_eq(sql_usdt_find(PROG, "nosuch", &p, err, sizeof(err)), -ENOENT);
	cr_expect(strstr(err, "it has sbpf:regs"), "%s", err);
	cr_expect_eq(sql_usdt_find("/nonexistent/usdt", "a", &p, err, sizeof(err)), -ENOENT);
	cr_expect_eq(sql_usdt_find("tests/unit/test_sql_usdt.c", "a", &p, err, sizeof(err)), -ENOEXEC);
	cr_expect_eq(sql_usdt_find("build/asan/tests/test_sql_usdt", "a", &p, err, sizeof(err)), -ENODATA);
	cr_expect(strstr(err, "no .note.stapsdt"), "%s", err);
}
