/* test_sql_frontend.c - robustness of the SQL front end and of the public
 * API at its edges: the expression nesting limit (every shape of deep
 * expression either compiles, at the limit, or is refused with one caret
 * diagnostic just beyond it; nothing recurses without bound), NULL
 * arguments where the public headers say they may be NULL, the
 * formatting of diagnostics on very long source lines, and the integer
 * type rules (u64 / s64 arithmetic at 0, 2^63, 2^64-1 and negative s64,
 * aggregates) in the executor.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safebpf/ctx.h"
#include "safebpf/datafile.h"
#include "safebpf/diag.h"
#include "safebpf/elf.h"
#include "safebpf/isa.h"
#include "safebpf/jit.h"
#include "safebpf/kernel.h"
#include "safebpf/kops.h"
#include "safebpf/sql.h"
#include "safebpf/testgen.h"
#include "safebpf/vm.h"
#include "sql/sqlInt.h"

/* ---- nesting limit ---- */

/* Text of @n repetitions of @s (malloc'ed). */
static char *rep(const char *s, int n)
{
	size_t len = strlen(s);
	char *r = malloc(len * (size_t)(n > 0 ? n : 0) + 1);
	cr_assert(r);
	for (int i = 0; i < n; i++)
		memcpy(r + len * (size_t)i, s, len);
	r[len * (size_t)(n > 0 ? n : 0)] = '\0';
	return r;
}

/* A query whose WHERE (or select list) nests @depth levels deep in shape @shape. */
static char *deep_query(const char *shape, int depth)
{
	char *a = NULL, *b = NULL, *q = NULL;
	int rc = -1;
	if (!strcmp(shape, "parens")) {
		/* parentheses make no node: the column is one level, each '(' one more */
		a = rep("(", depth - 1), b = rep(")", depth - 1);
		rc = asprintf(&q, "SELECT COUNT(*) FROM system_calls WHERE %spid%s > 0", a, b);
	} else if (!strcmp(shape, "abs")) {
		a = rep("abs(", depth - 1), b = rep(")", depth - 1);
		rc = asprintf(&q, "SELECT %spid%s FROM system_calls", a, b);
	} else if (!strcmp(shape, "chain")) {
		a = rep(" + 1", depth - 1);
		rc = asprintf(&q, "SELECT pid%s FROM system_calls", a);
	} else if (!strcmp(shape, "neg")) {
		a = rep("- ", depth - 1);
		rc = asprintf(&q, "SELECT %spid FROM system_calls", a);
	} else if (!strcmp(shape, "not")) {
		/* NOT^(depth-2) (pid = 1): the comparison is two levels */
		a = rep("NOT ", depth - 2);
		rc = asprintf(&q, "SELECT pid FROM system_calls WHERE %spid = 1", a);
	} else if (!strcmp(shape, "or")) {
		/* OR chain of k comparisons: height k + 1 */
		a = rep(" OR pid = 1", depth - 2);
		rc = asprintf(&q, "SELECT pid FROM system_calls WHERE pid = 1%s", a);
	} else if (!strcmp(shape, "case")) {
		/* CASE over a comparison of a chain: the chain is depth - 2 high */
		a = rep(" + 1", depth - 3);
		rc = asprintf(&q, "SELECT CASE WHEN pid%s > 0 THEN 1 END FROM system_calls", a);
	}
	free(a);
	free(b);
	cr_assert(rc > 0, "shape %s", shape);
	return q;
}

static const char *const shapes[] = { "parens", "abs", "chain", "neg", "not", "or", "case" };

Test(sql_nesting, at_the_limit_compiles_and_explains)
{
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		char *q = deep_query(shapes[i], SQL_MAX_DEPTH);
		struct sbpf_diags d = { 0 };
		struct sbpf_query *sq = NULL;
		int rc = sbpf_query__compile(q, NULL, &sq, &d);
		char *msg = sbpf_diags__format(&d);
		cr_assert_eq(rc, 0, "%s at the limit refused: %s", shapes[i], msg);
		free(msg);
		FILE *f = fopen("/dev/null", "w");
		cr_assert(f);
		cr_expect_eq(sbpf_query__explain(sq, f, 0, NULL, 0), 0, "%s: explain", shapes[i]);
		fclose(f);
		sbpf_query__free(sq);
		sbpf_diags__free(&d);
		free(q);
	}
}

Test(sql_nesting, beyond_the_limit_one_caret_error)
{
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		for (int extra = 1; extra <= 20001; extra += 20000) {
			char *q = deep_query(shapes[i], SQL_MAX_DEPTH + extra);
			struct sbpf_diags d = { 0 };
			struct sbpf_query *sq = NULL;
			struct sbpf_query_opts o = { .sz = sizeof(o), .file = "deep.sql" };
			int rc = sbpf_query__compile(q, &o, &sq, &d);
			cr_assert_eq(rc, -EINVAL, "%s +%d accepted", shapes[i], extra);
			cr_assert_null(sq);
			cr_assert_eq(d.n, 1, "%s: %zu diagnostics", shapes[i], d.n);
			char want[64];
			snprintf(want, sizeof(want), "expression nested too deeply (limit %d)", SQL_MAX_DEPTH);
			cr_expect_str_eq(d.items[0].message, want, "%s", shapes[i]);
			cr_expect_str_eq(d.items[0].file, "deep.sql");
			cr_expect_eq(d.items[0].line, 1);
			cr_expect(d.items[0].col > 1 && (size_t)d.items[0].col <= strlen(q), "%s: col %d", shapes[i],
				  d.items[0].col);
			cr_expect_not_null(d.items[0].hint);
			sbpf_diags__free(&d);
			free(q);
		}
	}
}

/* The caret points at the first token beyond the limit: the start of the
 * expression at level 1001, the operator that makes the tree 1001 high. */
Test(sql_nesting, caret_position)
{
	char *q = deep_query("parens", SQL_MAX_DEPTH + 5);
	struct sbpf_diags d = { 0 };
	struct sbpf_query *sq = NULL;
	cr_assert_eq(sbpf_query__compile(q, NULL, &sq, &d), -EINVAL);
	/* "... WHERE " is 40 characters; the expression of WHERE is level 1, the
	 * one after the 1000th '(' (column 40 + 1000) is level 1001 */
	cr_expect_eq(d.items[0].col, 40 + SQL_MAX_DEPTH + 1, "col %d", d.items[0].col);
	char *msg = sbpf_diags__format(&d);
	/* the long line is cut around the caret */
	cr_expect(strstr(msg, "    1 | ...((((") != NULL, "%s", msg);
	cr_expect(strlen(msg) < 600, "%zu bytes of diagnostic", strlen(msg));
	free(msg);
	sbpf_diags__free(&d);
	free(q);

	q = deep_query("chain", SQL_MAX_DEPTH + 1);
	cr_assert_eq(sbpf_query__compile(q, NULL, &sq, &d), -EINVAL);
	/* "SELECT pid" then " + 1" per level: the 1000th '+' makes height 1001 */
	cr_expect_eq(d.items[0].col, 10 + 4 * (SQL_MAX_DEPTH - 1) + 2, "col %d", d.items[0].col);
	cr_expect_eq(d.items[0].len, 1);
	sbpf_diags__free(&d);
	free(q);
}

/* ---- NULL arguments where the headers allow them ---- */

Test(api_null, sql_compile_explain)
{
	struct sbpf_query *q = (struct sbpf_query *)1;
	/* diags NULL: the message is dropped, the error stays */
	cr_expect_eq(sbpf_query__compile("SELECT pdi FROM system_calls", NULL, &q, NULL), -EINVAL);
	cr_expect_null(q);
	cr_expect_eq(sbpf_query__compile("SELECT pid FROM", NULL, &q, NULL), -EINVAL);
	/* text NULL and out NULL are refused, not dereferenced */
	struct sbpf_diags d = { 0 };
	cr_expect_eq(sbpf_query__compile(NULL, NULL, &q, &d), -EINVAL);
	cr_expect_eq(sbpf_query__compile("SELECT pid FROM system_calls", NULL, NULL, &d), -EINVAL);
	/* opts NULL, opts->file NULL */
	struct sbpf_query_opts o = { .sz = sizeof(o), .file = NULL };
	cr_assert_eq(sbpf_query__compile("SELECT pdi FROM system_calls", &o, &q, &d), -EINVAL);
	cr_expect_str_eq(d.items[0].file, "<query>");
	sbpf_diags__free(&d);
	cr_assert_eq(sbpf_query__compile("SELECT pid FROM system_calls", NULL, &q, NULL), 0);
	/* explain with err NULL */
	FILE *f = fopen("/dev/null", "w");
	cr_assert(f);
	cr_expect_eq(sbpf_query__explain(q, f, 0, NULL, 0), 0);
	fclose(f);
	struct sbpf_query_plan_info pi;
	sbpf_query__plan_info(q, &pi);
	cr_expect_eq(pi.chosen, 0);
	sbpf_query__free(q);
	sbpf_query__free(NULL);
}

Test(api_null, diags)
{
	cr_expect_eq(sbpf_diags__add(NULL, "f", "x", 0, 1, NULL, "m"), -EINVAL);
	struct sbpf_diags d = { 0 };
	cr_expect_eq(sbpf_diags__add(&d, NULL, NULL, 5, 0, NULL, "no text"), 0);
	cr_expect_eq(d.items[0].line, 1);
	cr_expect_eq(d.items[0].col, 1);
	char *s = sbpf_diags__format(&d);
	cr_expect(s && strstr(s, "error: no text"), "%s", s);
	free(s);
	sbpf_diags__free(&d);
	sbpf_diags__free(NULL);
	s = sbpf_diags__format(NULL);
	cr_expect(s && !*s);
	free(s);
	cr_expect_null(sbpf_suggest("pid", NULL, 0));
}

static const struct sbpf_insn bad_prog[] = { SBPF_MOV64_IMM(0, 0) }; /* no exit */
static const struct sbpf_insn good_prog[] = { SBPF_MOV64_IMM(0, 7), SBPF_EXIT_INSN() };

Test(api_null, isa_vm_jit_ctx)
{
	cr_expect_eq(sbpf_validate(bad_prog, 1, NULL), -EINVAL);
	struct sbpf_builder *b = sbpf_builder__new();
	cr_assert(b);
	int l = sbpf_builder__new_label(b);
	sbpf_builder__jump(b, SBPF_JMP_IMM(SBPF_JEQ, 0, 0, 0), l); /* never bound */
	sbpf_builder__emit(b, SBPF_EXIT_INSN());
	struct sbpf_insn *out = NULL;
	size_t n = 0;
	cr_expect_eq(sbpf_builder__finish(b, &out, &n, NULL), -EINVAL);
	sbpf_builder__free(b);

	/* vm: opts NULL (defaults), err NULL on a bad program and a failing run */
	cr_expect_null(sbpf_vm__new(bad_prog, 1, NULL, NULL));
	struct sbpf_vm *vm = sbpf_vm__new(good_prog, 2, NULL, NULL);
	cr_assert(vm);
	uint64_t r0 = 0;
	cr_expect_eq(sbpf_vm__run(vm, NULL, 0, &r0, NULL), 0);
	cr_expect_eq(r0, 7);
	cr_expect_eq(sbpf_vm__set_helper(vm, SBPF_HELPER_IDENTITY, NULL, NULL), 0);
	cr_expect_null(sbpf_vm__helper(vm, SBPF_HELPER_IDENTITY));
	cr_expect_null(sbpf_vm__helper_name(vm, SBPF_HELPER_IDENTITY));
	sbpf_vm__free(vm);
	sbpf_vm__free(NULL);
	const struct sbpf_insn loadfar[] = { SBPF_LDX_MEM(SBPF_DW, 0, 1, 4096), SBPF_EXIT_INSN() };
	vm = sbpf_vm__new(loadfar, 2, NULL, NULL);
	cr_assert(vm);
	uint8_t mem[8] = { 0 };
	cr_expect_eq(sbpf_vm__run(vm, mem, sizeof(mem), &r0, NULL), -EFAULT);
	sbpf_vm__free(vm);

	/* jit: opts NULL (host target), err NULL */
	cr_expect_null(sbpf_jit__new(bad_prog, 1, NULL, NULL));
	struct sbpf_jit *j = sbpf_jit__new(good_prog, 2, NULL, NULL);
	cr_assert(j);
	size_t sz = 1;
	cr_expect_null(sbpf_jit__code(j, &sz));
	cr_expect_eq(sbpf_jit__run(j, mem, sizeof(mem), &r0, NULL), 0);
	cr_expect_eq(r0, 7);
	sbpf_jit__free(j);
	sbpf_jit__free(NULL);
	struct sbpf_jit_opts jo = { .sz = sizeof(jo), .target = NULL, .rodata = NULL };
	j = sbpf_jit__new(loadfar, 2, &jo, NULL);
	cr_assert(j);
	cr_expect_eq(sbpf_jit__run(j, mem, sizeof(mem), &r0, NULL), -EFAULT);
	sbpf_jit__free(j);

	/* ctx: err NULL on a refused context access (a store into it) */
	struct sbpf_insn st[] = { SBPF_STX_MEM(SBPF_W, 1, 0, 0), SBPF_MOV64_IMM(0, 0), SBPF_EXIT_INSN() };
	cr_expect_eq(sbpf_ctx_rewrite(SBPF_PROG_XDP, st, 3, NULL), -EINVAL);
}

Test(api_null, kops_testgen)
{
	struct sbpf_insn *out = NULL;
	size_t n = 0;
	/* pol, stats and err NULL */
	cr_expect_eq(sbpf_kops_recognize(good_prog, 2, NULL, &out, &n, NULL, NULL), 0);
	cr_expect_eq(n, 2);
	free(out);
	cr_expect_eq(sbpf_kops_recognize(bad_prog, 1, NULL, &out, &n, NULL, NULL), -EINVAL);
	/* why NULL */
	struct sbpf_gen_opts go = { .sz = sizeof(go), .seed = 1 };
	struct sbpf_gen_prog gp;
	cr_expect_eq(sbpf_gen_program(&go, &gp, NULL, 0), 0);
	sbpf_gen_prog__free(&gp);
}

Test(api_null, kernel_maps_and_loads)
{
	/* map name NULL, next_key from NULL (the first key) */
	struct sbpf_kmap_opts mo = { .sz = sizeof(mo), .type = SBPF_KMAP_HASH, .name = NULL, .key_size = 4,
				     .value_size = 8, .max_entries = 4 };
	int fd = sbpf_kmap_create(&mo);
	if (fd == -EPERM || fd == -EACCES) {
		cr_log_warn("skipped: cannot create maps (%s)", strerror(-fd));
		return;
	}
	cr_assert(fd >= 0, "map: %s", strerror(-fd));
	uint32_t k = 3, next = 0;
	uint64_t v = 9;
	cr_expect_eq(sbpf_kmap_next_key(fd, NULL, &next), -ENOENT);
	cr_assert_eq(sbpf_kmap_update(fd, &k, &v, 0), 0);
	cr_expect_eq(sbpf_kmap_next_key(fd, NULL, &next), 0);
	cr_expect_eq(next, 3);
	close(fd);
	/* load with log_buf NULL (refused and accepted), name NULL */
	struct sbpf_kload_opts lo = { .sz = sizeof(lo), .type = SBPF_KPROG_SOCKET_FILTER, .log_buf = NULL };
	const struct sbpf_insn noinit[] = { SBPF_EXIT_INSN() }; /* r0 not set: refused */
	int pfd = sbpf_kernel_load(noinit, 1, &lo);
	cr_expect(pfd < 0, "uninitialized r0 accepted");
	pfd = sbpf_kernel_load(good_prog, 2, &lo);
	cr_expect(pfd >= 0, "load: %s", strerror(-pfd));
	if (pfd >= 0)
		close(pfd);
	/* XDP run: lopts NULL, data_out NULL */
	uint8_t pkt[64] = { 0 };
	struct sbpf_ktest_opts to = { .sz = sizeof(to), .data_in = pkt, .data_len = sizeof(pkt) };
	struct sbpf_ktest_result res;
	cr_expect_eq(sbpf_kernel_run_xdp(good_prog, 2, NULL, &to, &res), 0);
	cr_expect_eq(res.retval, 7);
}

/* ---- integer type rules (docs/sql.md "Integer types") ---- */

struct tcase {
	const char *expr;      /* select item over system_calls */
	uint64_t arg1;         /* u64 column */
	int64_t ret;           /* s64 column */
	const char *want;      /* printed value ("NULL" for NULL) */
	enum sql_type type;    /* static type of the item */
};

#define U SQL_T_UINT
#define S SQL_T_INT
#define BIG 12345678901234567890ull
#define U63 9223372036854775808ull
#define UMAX 18446744073709551615ull

static const struct tcase tcases[] = {
	/* the example: u64 with a literal stays u64 */
	{ "arg1 / 10", BIG, 0, "1234567890123456789", U },
	{ "arg1 % 10", BIG, 0, "0", U },
	{ "arg1 - 1", BIG, 0, "12345678901234567889", U },
	{ "arg1 + 1", BIG, 0, "12345678901234567891", U },
	{ "arg1 * 2", BIG, 0, "6244613728759584164", U },            /* wraps modulo 2^64 */
	{ "arg1 & 255", BIG, 0, "210", U },
	{ "arg1 | 1", BIG, 0, "12345678901234567891", U },
	{ "arg1 / (5 + 5)", BIG, 0, "1234567890123456789", U },      /* folded constant adopts too */
	{ "arg1 / 0", BIG, 0, "NULL", U },
	{ "arg1 % (1 - 1)", BIG, 0, "NULL", U },
	{ "arg1 + 1 / 0", BIG, 0, "NULL", S },                      /* 1 / 0 is not folded: s64 */
	{ "CASE WHEN pid >= 0 THEN arg1 ELSE 0 END / 10", BIG, 0, "1234567890123456789", U },
	/* unary minus and signed(): s64, the same bits */
	{ "-arg1", BIG, 0, "6101065172474983726", S },
	{ "signed(arg1)", BIG, 0, "-6101065172474983726", S },
	{ "signed(arg1) / 10", BIG, 0, "-610106517247498372", S },   /* truncates toward zero */
	{ "signed(arg1) % 10", BIG, 0, "-6", S },                    /* sign of the dividend */
	/* u64 with s64 (not a non-negative literal): s64 */
	{ "arg1 / ret", BIG, 10, "-610106517247498372", S },
	{ "arg1 + -1", BIG, 0, "-6101065172474983727", S },
	{ "arg1 - ret", 3, 7, "-4", S },
	{ "arg1 / -2", 8, 0, "-4", S },
	/* comparisons are exact whatever the types */
	{ "arg1 > 0", BIG, 0, "true", SQL_T_BOOL },
	{ "arg1 > -1", BIG, 0, "true", SQL_T_BOOL },
	{ "arg1 > ret", UMAX, -1, "true", SQL_T_BOOL },
	{ "arg1 = 12345678901234567890", BIG, 0, "true", SQL_T_BOOL },
	{ "signed(arg1) < 0", BIG, 0, "true", SQL_T_BOOL },
	/* edges: 0, 2^63, 2^64-1 */
	{ "arg1 - 1", 0, 0, "18446744073709551615", U },
	{ "arg1 / 3", 0, 0, "0", U },
	{ "arg1 / 2", U63, 0, "4611686018427387904", U },
	{ "arg1 % 7", U63, 0, "1", U },
	{ "signed(arg1) / -1", U63, 0, "-9223372036854775808", S },  /* INT64_MIN / -1 wraps */
	{ "signed(arg1) % -1", U63, 0, "0", S },
	{ "-signed(arg1)", U63, 0, "-9223372036854775808", S },
	{ "arg1 / 1", UMAX, 0, "18446744073709551615", U },
	{ "arg1 % 10", UMAX, 0, "5", U },
	{ "arg1 + 1", UMAX, 0, "0", U },
	{ "-arg1", UMAX, 0, "1", S },
	{ "arg1 > 9223372036854775807", UMAX, 0, "true", SQL_T_BOOL },
	/* negative s64 */
	{ "ret / 10", 0, -7, "0", S },
	{ "ret % 10", 0, -7, "-7", S },
	{ "ret % -10", 0, -7, "-7", S },
	{ "ret / -2", 0, -7, "3", S },
	{ "-ret", 0, -7, "7", S },
	{ "abs(ret)", 0, -7, "7", S },
	{ "unsigned(ret) / 10", 0, -7, "1844674407370955160", U },
	{ "ret - 1", 0, INT64_MIN, "9223372036854775807", S },      /* wraps */
	/* literals */
	{ "18446744073709551615 / 10", 0, 0, "1844674407370955161", U },
	{ "-9223372036854775808 / -1", 0, 0, "-9223372036854775808", S },
	{ "9223372036854775808 - 1", 0, 0, "9223372036854775807", U },
	{ "hex(signed(arg1))", UMAX, 0, "0xffffffffffffffff", SQL_T_STR },
};

static void print_value(const struct sql_value *v, char *buf, size_t sz)
{
	switch (v->type) {
	case SQL_T_NULL: snprintf(buf, sz, "NULL"); break;
	case SQL_T_UINT: snprintf(buf, sz, "%llu", (unsigned long long)v->u); break;
	case SQL_T_BOOL: snprintf(buf, sz, "%s", v->i ? "true" : "false"); break;
	case SQL_T_STR: snprintf(buf, sz, "%s", v->s); break;
	default: snprintf(buf, sz, "%lld", (long long)v->i); break;
	}
}

Test(sql_types, unsigned_and_signed_arithmetic)
{
	for (size_t i = 0; i < sizeof(tcases) / sizeof(tcases[0]); i++) {
		const struct tcase *tc = &tcases[i];
		char text[256];
		snprintf(text, sizeof(text), "SELECT %s FROM system_calls", tc->expr);
		struct sql_arena a = { 0 };
		struct sbpf_diags d = { 0 };
		struct sql_stmt *st;
		struct sql_query q;
		int rc = sql_parse(text, "<t>", &a, &st, &d);
		if (!rc)
			rc = sql_bind(st, text, "<t>", &a, &q, &d);
		char *msg = sbpf_diags__format(&d);
		cr_assert_eq(rc, 0, "%s: %s", tc->expr, msg);
		free(msg);
		const struct sql_table *t = q.tables[0];
		struct sql_value *row = calloc(t->ncols, sizeof(*row));
		cr_assert(row);
		int c1 = sql_table_column(t, "arg1"), cr = sql_table_column(t, "ret"), cp = sql_table_column(t, "pid");
		row[c1] = (struct sql_value){ .type = SQL_T_UINT, .u = tc->arg1 };
		row[cr] = (struct sql_value){ .type = SQL_T_INT, .i = tc->ret };
		row[cp] = (struct sql_value){ .type = SQL_T_INT, .i = 1 };
		struct sql_arena scratch = { 0 };
		struct sql_evalctx c = { .scratch = &scratch };
		c.row[0] = row;
		struct sql_value v = sql_eval(&c, q.cols[0].e);
		char got[64];
		print_value(&v, got, sizeof(got));
		cr_expect_str_eq(got, tc->want, "%s with arg1 = %llu, ret = %lld", tc->expr,
				 (unsigned long long)tc->arg1, (long long)tc->ret);
		cr_expect_eq(q.cols[0].type, tc->type, "%s: type %s", tc->expr, sql_type_name(q.cols[0].type));
		if (v.type != SQL_T_NULL)
			cr_expect_eq(v.type, tc->type, "%s: value type follows the static type", tc->expr);
		free(row);
		sql_arena_reset(&scratch);
		sql_arena_reset(&a);
		sbpf_diags__free(&d);
	}
}

/* Aggregates keep the type of their argument: u64 order for MIN/MAX, u64
 * sums (modulo 2^64); COUNT is s64. */
Test(sql_types, aggregates)
{
	static const char text[] = "SELECT MIN(arg1), MAX(arg1), SUM(arg1), AVG(arg1), COUNT(*), MAX(signed(arg1)), "
				   "AVG(signed(arg1)) FROM system_calls";
	struct sql_arena a = { 0 };
	struct sbpf_diags d = { 0 };
	struct sql_stmt *st;
	struct sql_query q;
	cr_assert_eq(sql_parse(text, "<t>", &a, &st, &d), 0);
	cr_assert_eq(sql_bind(st, text, "<t>", &a, &q, &d), 0);
	cr_assert_eq(q.naggs, 7);
	static const uint64_t vals[] = { 1, UMAX, U63 };
	struct sql_aggstate s[7] = { 0 };
	for (size_t k = 0; k < 3; k++) {
		struct sql_value v = { .type = SQL_T_UINT, .u = vals[k] };
		for (size_t i = 0; i < 7; i++) {
			struct sql_value x = v;
			if (q.aggs[i].arg && q.aggs[i].arg->type == SQL_T_INT)
				x.type = SQL_T_INT; /* signed(arg1) */
			cr_assert_eq(sql_agg_step(&q.aggs[i], &s[i], &x), 0);
		}
	}
	struct sql_value r[7];
	for (size_t i = 0; i < 7; i++)
		r[i] = sql_agg_result(&q.aggs[i], &s[i]);
	cr_expect(r[0].type == SQL_T_UINT && r[0].u == 1, "MIN %llu", (unsigned long long)r[0].u);
	cr_expect(r[1].type == SQL_T_UINT && r[1].u == UMAX, "MAX %llu", (unsigned long long)r[1].u);
	cr_expect(r[2].type == SQL_T_UINT && r[2].u == U63, "SUM %llu", (unsigned long long)r[2].u); /* 1 + (2^64-1) + 2^63 */
	/* AVG sums in 128 bits: (1 + (2^64-1) + 2^63) / 3 = 2^63 exactly */
	cr_expect(r[3].type == SQL_T_UINT && r[3].u == U63, "AVG %llu", (unsigned long long)r[3].u);
	cr_expect(r[4].type == SQL_T_INT && r[4].i == 3);
	cr_expect(r[5].type == SQL_T_INT && r[5].i == 1, "MAX(signed) %lld", (long long)r[5].i); /* -1, INT64_MIN, 1 */
	/* (1 + -1 + INT64_MIN) / 3, toward zero */
	cr_expect(r[6].type == SQL_T_INT && r[6].i == -3074457345618258602ll, "AVG(signed) %lld", (long long)r[6].i);
	/* merging two partial states gives the same 128-bit sums */
	struct sql_aggstate m[2] = { 0 };
	for (size_t k = 0; k < 3; k++) {
		struct sql_aggstate part = { 0 };
		struct sql_value v = { .type = SQL_T_UINT, .u = vals[k] };
		cr_assert_eq(sql_agg_step(&q.aggs[3], &part, &v), 0);
		cr_assert_eq(sql_agg_merge(&q.aggs[3], &m[0], &part), 0);
		v.type = SQL_T_INT;
		struct sql_aggstate part2 = { 0 };
		cr_assert_eq(sql_agg_step(&q.aggs[6], &part2, &v), 0);
		cr_assert_eq(sql_agg_merge(&q.aggs[6], &m[1], &part2), 0);
	}
	struct sql_value mr = sql_agg_result(&q.aggs[3], &m[0]);
	cr_expect(mr.u == U63, "merged AVG %llu", (unsigned long long)mr.u);
	mr = sql_agg_result(&q.aggs[6], &m[1]);
	cr_expect(mr.i == -3074457345618258602ll, "merged AVG(signed) %lld", (long long)mr.i);
	for (size_t i = 0; i < 7; i++)
		sql_agg_free(&s[i]);
	sql_arena_reset(&a);
	sbpf_diags__free(&d);
}

/* sbpf_query__run with opts->out, opts->log and both callbacks NULL (rows
 * to stdout, no reports, nothing to start, never stopped early). */
Test(api_null, sql_run_defaults)
{
	struct sbpf_query *q = NULL;
	cr_assert_eq(sbpf_query__compile("SELECT COUNT(*) AS n FROM process_exit WHERE pid < 0", NULL, &q, NULL), 0);
	struct sbpf_query_run_opts ro = { .sz = sizeof(ro), .out = NULL, .log = NULL, .duration_ns = 20000000 };
	char err[256] = "";
	int rc = sbpf_query__run(q, &ro, err, sizeof(err));
	if (rc == -EPERM) {
		cr_log_warn("skipped: %s", err);
	} else {
		cr_expect_eq(rc, 0, "run: %s", err);
		struct sbpf_query_plan_info pi;
		sbpf_query__plan_info(q, &pi);
		cr_expect_geq(pi.chosen, 1);
	}
	sbpf_query__free(q);
}

/* Every __free / __close of the public API accepts NULL. */
Test(api_null, free_functions)
{
	sbpf_builder__free(NULL);
	sbpf_datafile__free(NULL);
	sbpf_diags__free(NULL);
	sbpf_elf__close(NULL);
	sbpf_gen_prog__free(NULL);
	sbpf_jit__free(NULL);
	sbpf_kops_lowered__free(NULL);
	sbpf_kops_verified__free(NULL);
	sbpf_kringbuf__free(NULL);
	sbpf_query__free(NULL);
	sbpf_vm__free(NULL);
}
