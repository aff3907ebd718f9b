/* test_datafile.c - the .data test-file reader (src/vm/datafile.c):
 * sections, hex and number formats, comments, diagnostics with positions,
 * and the program taken from -- raw or the assembled -- asm.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "safebpf/datafile.h"

static int parse(const char *text, struct sbpf_datafile *df, struct sbpf_diags *d)
{
	memset(d, 0, sizeof(*d));
	return sbpf_datafile__parse(text, "t.data", df, d);
}

Test(datafile, sections_and_values)
{
	struct sbpf_datafile df;
	struct sbpf_diags d;
	const char *text =
		"# header comment\n"
		"-- asm\n"
		"mov %r0, 1 # trailing comment\n"
		"exit\n"
		"-- mem\n"
		"00 01\r\n"
		"ff  # comment\n"
		"-- c\n"
		"int main() { return 0x99; }\n"
		"-- no register offset\n"
		"zz\n"
		"-- result\n"
		"0x10\n";
	cr_assert_eq(parse(text, &df, &d), 0);
	cr_assert_eq(df.mem_len, 3);
	cr_assert_eq(df.mem[0], 0x00);
	cr_assert_eq(df.mem[2], 0xff);
	cr_assert(df.has_result);
	cr_assert_eq(df.result, 0x10);
	cr_assert_null(df.raw);
	cr_assert_null(df.error);
	/* asm keeps the file's line numbers: mov is on line 3 */
	cr_assert_str_eq(df.asm_text, "\n\nmov %r0, 1\nexit\n\n\n\n\n\n\n\n\n\n");
	struct sbpf_insn *p;
	size_t n;
	cr_assert_eq(sbpf_datafile__program(&df, "t.data", &p, &n, &d), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(p[0].code, 0xb7);
	cr_assert_eq(p[0].imm, 1);
	free(p);
	sbpf_datafile__free(&df);
	sbpf_diags__free(&d);
}

Test(datafile, raw_bytes_and_words_agree)
{
	struct sbpf_datafile a, b;
	struct sbpf_diags d;
	cr_assert_eq(parse("-- raw\nb7 00 00 00 2a 00 00 00\n95 00 00 00 00 00 00 00\n-- result\n42\n", &a, &d), 0);
	sbpf_diags__free(&d);
	cr_assert_eq(parse("-- raw\n0x0000002a000000b7\n0x0000000000000095\n-- result\n42\n", &b, &d), 0);
	sbpf_diags__free(&d);
	cr_assert_eq(a.raw_len, 16);
	cr_assert_eq(b.raw_len, 16);
	cr_assert_eq(memcmp(a.raw, b.raw, 16), 0);
	cr_assert_eq(a.result, 42);
	sbpf_datafile__free(&a);
	sbpf_datafile__free(&b);
}

Test(datafile, raw_wins_over_asm)
{
	struct sbpf_datafile df;
	struct sbpf_diags d;
	cr_assert_eq(parse("-- asm\nmov %r0, 1\nexit\n-- raw\n0x00000007000000b7\n0x95\n-- result\n7\n",
			   &df, &d), 0);
	struct sbpf_insn *p;
	size_t n;
	cr_assert_eq(sbpf_datafile__program(&df, "t.data", &p, &n, &d), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(p[0].imm, 7);
	free(p);
	sbpf_datafile__free(&df);
	sbpf_diags__free(&d);
}

Test(datafile, results_and_errors)
{
	struct sbpf_datafile df;
	struct sbpf_diags d;
	cr_assert_eq(parse("-- result\n-1\n-- error\n\n  first  \n  out-of-bounds load  \n\n", &df, &d), 0);
	cr_assert_eq(df.result, UINT64_MAX);
	cr_assert_str_eq(df.error, "out-of-bounds load", "the last non-empty line, trimmed");
	sbpf_datafile__free(&df);
	sbpf_diags__free(&d);
	cr_assert_eq(parse("-- result\n18446744073709551615\n-- error\n", &df, &d), 0);
	cr_assert_eq(df.result, UINT64_MAX);
	cr_assert_null(df.error, "an empty -- error section expects nothing");
	sbpf_datafile__free(&df);
	sbpf_diags__free(&d);
}

Test(datafile, problems_have_positions)
{
	struct sbpf_datafile df;
	struct sbpf_diags d;
	cr_assert_eq(parse("-- mem\n00 1g\n-- result\n0xZZ\n18446744073709551616\n-- raw\n95 00\n", &df, &d),
		     -EINVAL);
	cr_assert_eq(d.n, 4);
	cr_assert_eq(d.items[0].line, 2);
	cr_assert_eq(d.items[0].col, 4);
	cr_assert(strstr(d.items[0].message, "bad hex value"));
	cr_assert_eq(d.items[1].line, 4);
	cr_assert(strstr(d.items[1].message, "bad result value"));
	cr_assert_eq(d.items[2].line, 5, "a decimal above 2^64-1 is refused");
	cr_assert(strstr(d.items[3].message, "not a whole number of instructions"));
	cr_assert_eq(d.items[3].line, 6);
	sbpf_datafile__free(&df);
	sbpf_diags__free(&d);
	cr_assert_eq(parse("-- mem\n100\n", &df, &d), -EINVAL);
	cr_assert(strstr(d.items[0].message, "out of range"));
	sbpf_datafile__free(&df);
	sbpf_diags__free(&d);
}

Test(datafile, no_program)
{
	struct sbpf_datafile df;
	struct sbpf_diags d;
	struct sbpf_insn *p = NULL;
	size_t n;
	cr_assert_eq(parse("# nothing\n-- result\n0\n", &df, &d), 0);
	cr_assert_eq(sbpf_datafile__program(&df, "t.data", &p, &n, &d), -ENOENT);
	sbpf_datafile__free(&df);
	cr_assert_eq(parse("-- asm\n# only a comment\n\n-- result\n0\n", &df, &d), 0);
	cr_assert_eq(sbpf_datafile__program(&df, "t.data", &p, &n, &d), -ENOENT);
	sbpf_datafile__free(&df);
	cr_assert_eq(parse("-- raw\n-- result\n0\n", &df, &d), 0);
	cr_assert_eq(sbpf_datafile__program(&df, "t.data", &p, &n, &d), -ENOENT);
	sbpf_datafile__free(&df);
	sbpf_diags__free(&d);
}

Test(datafile, assembly_errors_point_into_the_file)
{
	struct sbpf_datafile df;
	struct sbpf_diags d;
	struct sbpf_insn *p = NULL;
	size_t n;
	cr_assert_eq(parse("# c\n-- asm\nmov %r0, 1\nmvo %r0, 2\nexit\n-- result\n1\n", &df, &d), 0);
	cr_assert_eq(sbpf_datafile__program(&df, "t.data", &p, &n, &d), -EINVAL);
	cr_assert_geq(d.n, 1);
	cr_assert_eq(d.items[0].line, 4);
	cr_assert_str_eq(d.items[0].file, "t.data");
	sbpf_datafile__free(&df);
	sbpf_diags__free(&d);
}
