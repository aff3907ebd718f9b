/* test_catalog.c - the event side of the SQL engine without a kernel:
 * tracefs format parsing (fixtures copied from this machine's tracefs in
 * tests/unit/data/tracefs/, plus hand-written edge cases), the catalog's
 * consistency, record layouts and row decoding, and the shape of the
 * generated MVSF programs.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safebpf/isa.h"
#include "sql/sqlInt.h"

#define FIXTURES "tests/unit/data/tracefs/"

static char *read_fixture(const char *tp)
{
	char path[256];
	const char *slash = strchr(tp, '/');
	cr_assert_not_null(slash);
	snprintf(path, sizeof(path), FIXTURES "%.*s__%s.format", (int)(slash - tp), tp, slash + 1);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "fixture %s", path);
	static char buf[1 << 16];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strdup(buf);
}

static void load_fixture(const char *tp, struct sql_tp_format *fmt)
{
	char err[256];
	if (sql_probe_kind(tp) != SQL_PROBE_TRACEPOINT) {
		/* a perf event or uprobe: its format is built in, no tracefs involved */
		cr_assert_eq(sql_tracefs_load(tp, fmt, err, sizeof(err)), 0, "%s: %s", tp, err);
		return;
	}
	char *text = read_fixture(tp);
	int rc = sql_tracefs_parse(text, fmt, err, sizeof(err));
	cr_assert_eq(rc, 0, "%s: %s", tp, err);
	free(text);
}

/* ---- tracefs parsing --------------------------------------------------- */

Test(tracefs, sys_enter_fields)
{
	struct sql_tp_format f;
	load_fixture("raw_syscalls/sys_enter", &f);
	cr_assert_str_eq(f.name, "sys_enter");
	cr_assert_eq(f.id, 443);
	cr_assert_eq(f.nfields, 6);
	const struct sql_tp_field *id = sql_tp_field(&f, "id");
	cr_assert(id && id->offset == 8 && id->size == 8 && id->is_signed && id->kind == SQL_FIELD_INT);
	const struct sql_tp_field *args = sql_tp_field(&f, "args");
	cr_assert(args && args->offset == 16 && args->size == 48 && args->nelem == 6 && !args->is_signed);
	cr_assert_str_eq(args->type, "unsigned long[6]");
	const struct sql_tp_field *ct = sql_tp_field(&f, "common_type");
	cr_assert(ct && ct->offset == 0 && ct->size == 2);
	cr_assert_null(sql_tp_field(&f, "nope"));
	sql_tp_format_free(&f);
}

Test(tracefs, kinds_of_fields)
{
	struct sql_tp_format f;
	load_fixture("sched/sched_process_exec", &f);
	const struct sql_tp_field *fn = sql_tp_field(&f, "filename");
	cr_assert(fn && fn->kind == SQL_FIELD_DATA_LOC && fn->offset == 8 && fn->size == 4);
	sql_tp_format_free(&f);

	load_fixture("sched/sched_switch", &f);
	const struct sql_tp_field *pc = sql_tp_field(&f, "prev_comm");
	cr_assert(pc && pc->kind == SQL_FIELD_CHARS && pc->size == 16 && pc->nelem == 16);
	const struct sql_tp_field *ps = sql_tp_field(&f, "prev_state");
	cr_assert(ps && ps->kind == SQL_FIELD_INT && ps->size == 8 && ps->is_signed);
	sql_tp_format_free(&f);

	load_fixture("syscalls/sys_enter_openat", &f);
	const struct sql_tp_field *path = sql_tp_field(&f, "filename");
	cr_assert(path && path->kind == SQL_FIELD_PTR && path->size == 8 && path->offset == 24);
	sql_tp_format_free(&f);

	load_fixture("sock/inet_sock_set_state", &f);
	const struct sql_tp_field *sa = sql_tp_field(&f, "saddr_v6");
	cr_assert(sa && sa->kind == SQL_FIELD_INT && sa->nelem == 16 && sa->size == 16);
	cr_assert_eq(sql_tp_field(&f, "skaddr")->kind, SQL_FIELD_PTR);
	sql_tp_format_free(&f);
}

Test(tracefs, rel_loc_and_old_formats)
{
	const char *text =
		"name: demo\nID: 7\nformat:\n"
		"\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
		"\tfield:__rel_loc char[] msg;\toffset:8;\tsize:4;\tsigned:0;\n"
		"\tfield:int old;\toffset:12;\tsize:4;\n" /* no signed: (very old kernels) */
		"\n\tfield:u8 raw[3];\toffset:16;\tsize:3;\tsigned:0;\n"
		"print fmt: \"%s\", __get_rel_str(msg)\n";
	struct sql_tp_format f;
	char err[128];
	cr_assert_eq(sql_tracefs_parse(text, &f, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(f.id, 7);
	cr_assert_eq(sql_tp_field(&f, "msg")->kind, SQL_FIELD_REL_LOC);
	cr_assert_eq(sql_tp_field(&f, "old")->is_signed, false);
	cr_assert_eq(sql_tp_field(&f, "raw")->nelem, 3);
	sql_tp_format_free(&f);
}

Test(tracefs, malformed_inputs_are_errors)
{
	static const char *bad[] = {
		"",
		"garbage",
		"name: x\nformat:\n\tfield:int a;\toffset:8;\tsize:4;\tsigned:1;\n", /* no ID */
		"name: x\nID: 1\nformat:\n",                                         /* no fields */
		"name: x\nID: abc\nformat:\n\tfield:int a;\toffset:8;\tsize:4;\n",
		"name: x\nID: 1\nformat:\n\tfield:int a;\toffset:8;\n",              /* no size */
		"name: x\nID: 1\nformat:\n\tfield:int a;\toffset:-8;\tsize:4;\n",
		"name: x\nID: 1\nformat:\n\tfield:int a;\toffset:8;\tsize:0;\n",
		"name: x\nID: 1\nformat:\n\tfield:int a;\toffset:70000;\tsize:4;\n",
		"name: x\nID: 1\nformat:\n\tfield:int ;\toffset:8;\tsize:4;\n",      /* no name */
		"name: x\nID: 1\nformat:\n\tfield:char a[3];\toffset:8;\tsize:4;\n", /* size vs count */
		"name: x\nID: 1\nformat:\n\tfield:char a[0];\toffset:8;\tsize:4;\n",
		"name: x\nID: 1\nformat:\n\tfield:__data_loc char[] s;\toffset:8;\tsize:8;\n",
		"name: x\nID: 1\nformat:\n\tfield:int a\toffset:8;\tsize:4;\n",      /* no ';' */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sql_tp_format f;
		char err[128] = "";
		cr_expect_eq(sql_tracefs_parse(bad[i], &f, err, sizeof(err)), -EINVAL, "case %zu accepted", i);
		cr_expect_neq(err[0], '\0', "case %zu: no reason", i);
		cr_expect_null(f.fields);
	}
}

/* Every prefix of a real format parses or fails cleanly (ASan watches). */
Test(tracefs, truncated_formats_never_crash)
{
	char *text = read_fixture("sock/inet_sock_set_state");
	size_t len = strlen(text), ok = 0;
	for (size_t cut = 0; cut <= len; cut++) {
		char *p = strndup(text, cut);
		struct sql_tp_format f;
		char err[128];
		if (sql_tracefs_parse(p, &f, err, sizeof(err)) == 0) {
			ok++;
			cr_assert(f.nfields >= 1);
			sql_tp_format_free(&f);
		}
		free(p);
	}
	cr_assert(ok > 0 && ok < len);
	free(text);
}

/* ---- catalog ------------------------------------------------------------- */

static const char *const context_cols[] = { "ts", "cpu", "pid", "tid", "comm", "uid", "gid", "cgroup" };

Test(catalog, required_tables_and_aliases)
{
	static const char *const names[] = { "system_calls", "syscalls", "sched_switch", "sched_wakeup",
		"process_exec", "process_exit", "process_fork", "block_io", "tcp_state", "page_faults",
		"signals", "file_opens", "SYSCALLS", "System_Calls" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		cr_expect_not_null(sql_catalog_find(names[i]), "%s", names[i]);
	cr_assert_eq(sql_catalog_find("syscalls"), sql_catalog_find("system_calls"));
	cr_assert_null(sql_catalog_find("nope"));
	cr_assert_null(sql_catalog_find(NULL));
	const struct sql_table *t = sql_catalog_find("syscalls");
	cr_assert_eq(sql_table_column(t, "syscall"), sql_table_column(t, "syscall_number"));
	cr_assert_eq(sql_table_column(t, "PID"), 2);
	cr_assert_eq(sql_table_column(t, "pdi"), -1);
	cr_assert_null(sql_catalog_get(sql_catalog_count()));
}

Test(catalog, every_table_is_consistent)
{
	for (size_t i = 0; i < sql_catalog_count(); i++) {
		const struct sql_table *t = sql_catalog_get(i);
		cr_assert(t->doc && t->doc[0], "%s", t->name);
		cr_assert(t->ncols > 8);
		for (size_t c = 0; c < 8; c++)
			cr_expect_str_eq(t->cols[c].name, context_cols[c], "%s", t->name);
		size_t ntp = 0;
		while (t->tracepoints[ntp])
			ntp++;
		cr_assert_eq(ntp, t->nprobes, "%s", t->name);
		for (size_t p = 0; p < t->nprobes; p++)
			cr_assert_str_eq(t->tracepoints[p], t->probes[p].tp);
		cr_assert_eq(t->pair != NULL, t->nprobes == 2, "%s", t->name);
		for (size_t c = 0; c < t->ncols; c++) {
			const struct sql_column *col = &t->cols[c];
			cr_expect(col->doc && col->doc[0], "%s.%s has no doc", t->name, col->name);
			cr_expect_not_null(col->src.in[0].name, "%s.%s", t->name, col->name);
			/* names and aliases are unique within a table */
			cr_expect_eq(sql_table_column(t, col->name), (int)c, "%s.%s", t->name, col->name);
			if (col->alias)
				cr_expect_eq(sql_table_column(t, col->alias), (int)c, "%s.%s", t->name, col->alias);
		}
	}
}

/* Loads the fixtures of every probe of @t. */
static void table_formats(const struct sql_table *t, struct sql_tp_format *fmts, const struct sql_tp_format **pf)
{
	for (size_t p = 0; p < t->nprobes; p++) {
		load_fixture(t->probes[p].tp, &fmts[p]);
		pf[p] = &fmts[p];
	}
}

static void free_formats(const struct sql_table *t, struct sql_tp_format *fmts)
{
	for (size_t p = 0; p < t->nprobes; p++)
		sql_tp_format_free(&fmts[p]);
}

/* The catalog agrees with this machine's tracepoint layouts, column by column. */
Test(catalog, every_column_binds_to_fixture_formats)
{
	for (size_t i = 0; i < sql_catalog_count(); i++) {
		const struct sql_table *t = sql_catalog_get(i);
		struct sql_tp_format fmts[SQL_MAX_PROBES];
		const struct sql_tp_format *pf[SQL_MAX_PROBES];
		table_formats(t, fmts, pf);
		for (size_t c = 0; c < t->ncols; c++) {
			char err[256];
			cr_expect_eq(sql_column_check(t, c, pf, err, sizeof(err)), 0, "%s", err);
		}
		free_formats(t, fmts);
	}
}

Test(catalog, missing_field_is_reported_not_crashed)
{
	const struct sql_table *t = sql_catalog_find("block_io");
	struct sql_tp_format fmts[2];
	const struct sql_tp_format *pf[2];
	table_formats(t, fmts, pf);
	/* Pretend an older kernel without block_rq_issue.bytes. */
	struct sql_tp_field *f = (struct sql_tp_field *)sql_tp_field(&fmts[0], "bytes");
	snprintf(f->name, sizeof(f->name), "renamed");
	char err[256];
	int col = sql_table_column(t, "bytes");
	cr_assert_eq(sql_column_check(t, (size_t)col, pf, err, sizeof(err)), -ENOENT);
	cr_assert(strstr(err, "block/block_rq_issue has no field 'bytes'"), "%s", err);
	cr_assert_eq(sql_column_check(t, (size_t)sql_table_column(t, "sector"), pf, err, sizeof(err)), 0);
	free_formats(t, fmts);
}

/* ---- record layouts and decoding ---------------------------------------- */

static int cap_of(const struct sql_layout *lay, enum sql_cap_kind k, const char *field)
{
	for (size_t i = 0; i < lay->ncaps; i++)
		if (lay->caps[i].kind == k && (!field || (lay->caps[i].field && !strcmp(lay->caps[i].field->name, field))))
			return (int)i;
	return -1;
}

Test(record, layouts_are_aligned_and_disjoint)
{
	for (size_t i = 0; i < sql_catalog_count(); i++) {
		const struct sql_table *t = sql_catalog_get(i);
		struct sql_tp_format fmts[SQL_MAX_PROBES];
		const struct sql_tp_format *pf[SQL_MAX_PROBES];
		table_formats(t, fmts, pf);
		struct sql_recplan rp;
		char err[256];
		cr_assert_eq(sql_recplan_build(&rp, t, NULL, pf, err, sizeof(err)), 0, "%s", err);
		for (size_t p = 0; p < t->nprobes; p++) {
			const struct sql_layout *lay = &rp.lay[p];
			cr_assert_eq(lay->size % 8, 0);
			cr_assert(lay->size <= SQL_MAX_RECORD);
			cr_assert_eq(lay->tp_id, fmts[p].id);
			for (size_t a = 0; a < lay->ncaps; a++) {
				const struct sql_cap *c = &lay->caps[a];
				cr_assert(c->off >= SQL_REC_HDR && c->off + c->size <= lay->size);
				if (c->kind == SQL_CAP_FIELD)
					cr_assert_eq(c->off % 8, c->field->offset % 8, "%s", t->name);
				for (size_t b = a + 1; b < lay->ncaps; b++)
					cr_assert(c->off + c->size <= lay->caps[b].off ||
						  lay->caps[b].off + lay->caps[b].size <= c->off, "%s overlap", t->name);
			}
		}
		sql_recplan_free(&rp);
		free_formats(t, fmts);
	}
}

Test(record, keys_are_captured_without_columns)
{
	const struct sql_table *t = sql_catalog_find("syscalls");
	struct sql_tp_format fmts[2];
	const struct sql_tp_format *pf[2];
	table_formats(t, fmts, pf);
	bool *none = calloc(t->ncols, sizeof(bool));
	struct sql_recplan rp;
	char err[256];
	cr_assert_eq(sql_recplan_build(&rp, t, none, pf, err, sizeof(err)), 0, "%s", err);
	for (int p = 0; p < 2; p++) {
		cr_assert_eq(rp.lay[p].ncaps, 1);
		cr_assert_eq(rp.lay[p].caps[0].kind, SQL_CAP_PID_TGID);
		cr_assert_eq(rp.lay[p].size, 16);
	}
	cr_assert_eq(rp.nkeys, 1);
	sql_recplan_free(&rp);
	free(none);
	free_formats(t, fmts);
}

static void put(void *rec, const struct sql_layout *lay, int cap, const void *v, size_t n)
{
	cr_assert(cap >= 0);
	memcpy((char *)rec + lay->caps[cap].off, v, n);
}

static void header(void *rec, const struct sql_layout *lay)
{
	memset(rec, 0, lay->size);
	memcpy(rec, &lay->tp_id, 4);
	memcpy((char *)rec + 4, &lay->size, 4);
}

Test(record, syscall_row_decodes)
{
	const struct sql_table *t = sql_catalog_find("syscalls");
	struct sql_tp_format fmts[2];
	const struct sql_tp_format *pf[2];
	table_formats(t, fmts, pf);
	struct sql_recplan rp;
	char err[256];
	cr_assert_eq(sql_recplan_build(&rp, t, NULL, pf, err, sizeof(err)), 0, "%s", err);
	const struct sql_layout *l0 = &rp.lay[0], *l1 = &rp.lay[1];
	char r0[SQL_MAX_RECORD], r1[SQL_MAX_RECORD];
	header(r0, l0);
	header(r1, l1);
	uint64_t enter = 1000, exit_ = 1750, pidtgid = (4242ull << 32) | 4243, uidgid = (7ull << 32) | 1000;
	uint64_t nr = 110, args[6] = { 1, 2, 3, 4, 5, ~0ull };
	int64_t ret = -14;
	put(r0, l0, cap_of(l0, SQL_CAP_TS, NULL), &enter, 8);
	put(r0, l0, cap_of(l0, SQL_CAP_PID_TGID, NULL), &pidtgid, 8);
	put(r0, l0, cap_of(l0, SQL_CAP_UID_GID, NULL), &uidgid, 8);
	put(r0, l0, cap_of(l0, SQL_CAP_COMM, NULL), "workload", 9);
	put(r0, l0, cap_of(l0, SQL_CAP_FIELD, "id"), &nr, 8);
	put(r0, l0, cap_of(l0, SQL_CAP_FIELD, "args"), args, 48);
	put(r1, l1, cap_of(l1, SQL_CAP_TS, NULL), &exit_, 8);
	put(r1, l1, cap_of(l1, SQL_CAP_FIELD, "ret"), &ret, 8);
	put(r1, l1, cap_of(l1, SQL_CAP_PID_TGID, NULL), &pidtgid, 8);
	cr_assert_eq(sql_recplan_probe(&rp, r0, l0->size), 0);
	cr_assert_eq(sql_recplan_probe(&rp, r1, l1->size), 1);
	uint64_t k0[2], k1[2];
	sql_recplan_key(&rp, 0, r0, k0);
	sql_recplan_key(&rp, 1, r1, k1);
	cr_assert_eq(k0[0], 4243);
	cr_assert_eq(k0[0], k1[0]);

	struct sql_value row[64];
	sql_recplan_row(&rp, r0, r1, row);
#define COL(n) row[sql_table_column(t, n)]
	cr_assert_eq(COL("ts").type, SQL_T_TIME);
	cr_assert_eq(COL("ts").i, 1750);
	cr_assert_eq(COL("pid").i, 4242);
	cr_assert_eq(COL("tid").i, 4243);
	cr_assert_eq(COL("uid").u, 1000);
	cr_assert_eq(COL("gid").u, 7);
	cr_assert_str_eq(COL("comm").s, "workload");
	cr_assert_eq(COL("syscall").i, 110);
	cr_assert_eq(COL("duration").type, SQL_T_DURATION);
	cr_assert_eq(COL("duration").i, 750);
	cr_assert_eq(COL("ret").i, -14);
	cr_assert_eq(COL("arg2").u, 3);
	cr_assert_eq(COL("arg5").u, ~0ull);
	cr_assert_eq(COL("enter_ts").i, 1000);
#undef COL
	/* Malformed headers are refused. */
	cr_assert_eq(sql_recplan_probe(&rp, r0, 4), -EINVAL);
	cr_assert_eq(sql_recplan_probe(&rp, r0, l0->size - 8), -EINVAL);
	uint32_t bogus = 99999;
	memcpy(r0, &bogus, 4);
	cr_assert_eq(sql_recplan_probe(&rp, r0, l0->size), -EINVAL);
	sql_recplan_free(&rp);
	free_formats(t, fmts);
}

/* Decodes one row of a one-probe table from field values set by @fill. */
static void one_row(const char *table, const bool *needed, void (*fill)(void *, const struct sql_layout *),
		    struct sql_value *row, struct sql_recplan *rp, struct sql_tp_format *fmt)
{
	const struct sql_table *t = sql_catalog_find(table);
	const struct sql_tp_format *pf[1];
	table_formats(t, fmt, pf);
	char err[256];
	cr_assert_eq(sql_recplan_build(rp, t, needed, pf, err, sizeof(err)), 0, "%s", err);
	static char rec[SQL_MAX_RECORD];
	header(rec, &rp->lay[0]);
	fill(rec, &rp->lay[0]);
	sql_recplan_row(rp, rec, NULL, row);
}

static void fill_tcp(void *rec, const struct sql_layout *l)
{
	uint16_t fam = 10 /* AF_INET6 */, sport = 443;
	int32_t olds = 2, news = 1;
	uint8_t v6[16] = { 0 };
	v6[15] = 1;
	put(rec, l, cap_of(l, SQL_CAP_FIELD, "family"), &fam, 2);
	put(rec, l, cap_of(l, SQL_CAP_FIELD, "sport"), &sport, 2);
	put(rec, l, cap_of(l, SQL_CAP_FIELD, "oldstate"), &olds, 4);
	put(rec, l, cap_of(l, SQL_CAP_FIELD, "newstate"), &news, 4);
	put(rec, l, cap_of(l, SQL_CAP_FIELD, "saddr_v6"), v6, 16);
	put(rec, l, cap_of(l, SQL_CAP_FIELD, "saddr"), "\x7f\0\0\x01", 4);
}

Test(record, tcp_state_names_and_addresses)
{
	struct sql_value row[64];
	struct sql_recplan rp;
	struct sql_tp_format fmt;
	one_row("tcp_state", NULL, fill_tcp, row, &rp, &fmt);
	const struct sql_table *t = rp.t;
	cr_assert_str_eq(row[sql_table_column(t, "family")].s, "inet6");
	cr_assert_str_eq(row[sql_table_column(t, "saddr")].s, "::1");
	cr_assert_str_eq(row[sql_table_column(t, "daddr")].s, "::");
	cr_assert_eq(row[sql_table_column(t, "sport")].u, 443);
	cr_assert_str_eq(row[sql_table_column(t, "oldstate")].s, "SYN_SENT");
	cr_assert_str_eq(row[sql_table_column(t, "new_state")].s, "ESTABLISHED");
	sql_recplan_free(&rp);
	sql_tp_format_free(&fmt);
}

static void fill_switch(void *rec, const struct sql_layout *l)
{
	int64_t state = 2; /* TASK_UNINTERRUPTIBLE */
	int32_t pid = -5;  /* a signed 4-byte field, sign-extended */
	put(rec, l, cap_of(l, SQL_CAP_FIELD, "prev_state"), &state, 8);
	put(rec, l, cap_of(l, SQL_CAP_FIELD, "next_pid"), &pid, 4);
	put(rec, l, cap_of(l, SQL_CAP_FIELD, "prev_comm"), "0123456789abcdef", 16); /* no NUL */
}

Test(record, sched_switch_state_sign_and_unterminated_strings)
{
	struct sql_value row[64];
	struct sql_recplan rp;
	struct sql_tp_format fmt;
	one_row("sched_switch", NULL, fill_switch, row, &rp, &fmt);
	const struct sql_table *t = rp.t;
	cr_assert_str_eq(row[sql_table_column(t, "prev_state")].s, "D");
	cr_assert_eq(row[sql_table_column(t, "next_tid")].i, -5);
	cr_assert_str_eq(row[sql_table_column(t, "prev_comm")].s, "0123456789abcdef");
	sql_recplan_free(&rp);
	sql_tp_format_free(&fmt);
}

static void fill_state(void *rec, const struct sql_layout *l)
{
	int64_t state = 0x100; /* preempted while runnable */
	put(rec, l, cap_of(l, SQL_CAP_FIELD, "prev_state"), &state, 8);
}

Test(record, unrequested_columns_are_null)
{
	const struct sql_table *t = sql_catalog_find("sched_switch");
	bool *needed = calloc(t->ncols, sizeof(bool));
	needed[sql_table_column(t, "prev_state")] = true;
	struct sql_value row[64];
	struct sql_recplan rp;
	struct sql_tp_format fmt;
	one_row("sched_switch", needed, fill_state, row, &rp, &fmt);
	cr_assert_eq(rp.lay[0].ncaps, 1);
	cr_assert_str_eq(row[sql_table_column(t, "prev_state")].s, "R+");
	for (size_t c = 0; c < t->ncols; c++)
		cr_assert_eq(row[c].type == SQL_T_NULL, !needed[c]);
	sql_recplan_free(&rp);
	sql_tp_format_free(&fmt);
	free(needed);
}

/* ---- generated programs ----------------------------------------------------- */

static int count_calls(const struct sbpf_insn *p, size_t n, int helper)
{
	int k = 0;
	for (size_t i = 0; i < n; i++)
		k += p[i].code == (SBPF_JMP | SBPF_CALL) && p[i].src_reg == 0 && p[i].imm == helper;
	return k;
}

Test(codegen, mvsf_shape_for_every_table)
{
	struct sql_mvsf_maps maps = { .ringbuf_fd = 11, .scratch_fd = 12, .lost_fd = 13, .epoch_fd = 14 };
	struct sql_mvsf_opts mo = { .sz = sizeof(mo), .skip_tgid = 77 };
	for (size_t i = 0; i < sql_catalog_count(); i++) {
		const struct sql_table *t = sql_catalog_get(i);
		struct sql_tp_format fmts[SQL_MAX_PROBES];
		const struct sql_tp_format *pf[SQL_MAX_PROBES];
		table_formats(t, fmts, pf);
		struct sql_recplan rp;
		char err[256];
		cr_assert_eq(sql_recplan_build(&rp, t, NULL, pf, err, sizeof(err)), 0, "%s", err);
		for (size_t p = 0; p < t->nprobes; p++) {
			struct sbpf_insn *prog;
			size_t n;
			cr_assert_eq(sql_codegen_mvsf(&rp.lay[p], &maps, &mo, &prog, &n), 0);
			cr_assert_eq(sbpf_validate(prog, n, NULL), 0);
			cr_assert_eq(count_calls(prog, n, BPF_FUNC_ringbuf_reserve), 1);
			cr_assert_eq(count_calls(prog, n, BPF_FUNC_ringbuf_submit), 1);
			cr_assert_eq(count_calls(prog, n, BPF_FUNC_map_lookup_elem), 3); /* epoch, counters, scratch */
			int maps_seen = 0;
			for (size_t k = 0; k < n; k++) {
				const struct sbpf_insn *in = &prog[k];
				if (in->code == (SBPF_LD | SBPF_DW | SBPF_IMM)) {
					if (in->src_reg == SBPF_PSEUDO_MAP_FD) {
						cr_assert(in->imm >= 11 && in->imm <= 14);
						maps_seen |= 1 << (in->imm - 11);
					}
					k++;
					continue;
				}
				/* No stack buffer: the stack holds the 4-byte map key,
				 * the accounting slots (epoch, counters pointer) and the
				 * two 8-byte slots of an argv reader (exec_calls). */
				int cls = SBPF_CLASS(in->code);
				bool acct = in->off == SQL_STK_EPOCH || in->off == SQL_STK_CNT || in->off == SQL_STK_ARGV ||
					    in->off == SQL_STK_ARGP;
				if ((cls == SBPF_ST || cls == SBPF_STX) && in->dst_reg == SBPF_REG_FP)
					cr_assert(in->off == -4 || acct, "%s: stack store at %d", t->name, in->off);
				if (cls == SBPF_LDX && in->src_reg == SBPF_REG_FP)
					cr_assert(acct, "%s: stack load at %d", t->name, in->off);
			}
			cr_assert_eq(maps_seen, 15);
			cr_assert_eq(prog[n - 1].code, SBPF_JMP | SBPF_EXIT);
			free(prog);
		}
		sql_recplan_free(&rp);
		free_formats(t, fmts);
	}
}

Test(codegen, strings_use_the_right_helpers)
{
	struct sql_mvsf_maps maps = { .ringbuf_fd = 3, .scratch_fd = 4, .lost_fd = 5, .epoch_fd = 6 };
	const struct { const char *table, *column; int helper; } cases[] = {
		{ "file_opens", "path", BPF_FUNC_probe_read_user_str },
		{ "process_exec", "filename", BPF_FUNC_probe_read_kernel_str },
		{ "sched_switch", "comm", BPF_FUNC_get_current_comm },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct sql_table *t = sql_catalog_find(cases[i].table);
		struct sql_tp_format fmts[SQL_MAX_PROBES];
		const struct sql_tp_format *pf[SQL_MAX_PROBES];
		table_formats(t, fmts, pf);
		bool needed[64] = { 0 };
		needed[sql_table_column(t, cases[i].column)] = true;
		struct sql_recplan rp;
		char err[256];
		cr_assert_eq(sql_recplan_build(&rp, t, needed, pf, err, sizeof(err)), 0, "%s", err);
		struct sbpf_insn *prog;
		size_t n;
		cr_assert_eq(sql_codegen_mvsf(&rp.lay[0], &maps, NULL, &prog, &n), 0);
		cr_assert_eq(count_calls(prog, n, cases[i].helper), 1, "%s.%s", cases[i].table, cases[i].column);
		/* Without a self filter there is no pid_tgid call unless a key needs it. */
		if (!t->pair)
			cr_assert_eq(count_calls(prog, n, BPF_FUNC_get_current_pid_tgid), 0);
		free(prog);
		sql_recplan_free(&rp);
		free_formats(t, fmts);
	}
}

/* Stack slots of generated programs (sqlInt.h, one table): within the
 * 512-byte frame and pairwise disjoint. */
Test(catalog, stack_slots_are_disjoint)
{
	const struct sql_stk_slot *sl;
	size_t n = sql_stack_slots(&sl);
	cr_assert_geq(n, 9);
	for (size_t i = 0; i < n; i++) {
		cr_assert(sl[i].off < 0 && sl[i].off >= -512 && sl[i].off + sl[i].size <= 0, "%s", sl[i].name);
		for (size_t j = i + 1; j < n; j++)
			cr_assert(sl[i].off + sl[i].size <= sl[j].off || sl[j].off + sl[j].size <= sl[i].off,
				  "stack slots %s [%d, %d) and %s [%d, %d) overlap", sl[i].name, sl[i].off,
				  sl[i].off + sl[i].size, sl[j].name, sl[j].off, sl[j].off + sl[j].size);
	}
}

/* ---- generic tracepoint tables (tptable.c) ------------------------------ */

Test(tptable, names_map_to_tracepoints)
{
	char tp[128];
	cr_assert_eq(sql_tptable_path("oom.mark_victim", tp, sizeof(tp)), 0);
	cr_assert_str_eq(tp, "oom/mark_victim");
	cr_assert_eq(sql_tptable_path("TRACEPOINT.sched.sched_switch", tp, sizeof(tp)), 0);
	cr_assert_str_eq(tp, "sched/sched_switch");
	static const char *const bad[] = { "system_calls", "a.b.c", ".x", "x.", "tracepoint.x", "a/b.c", "a.b/c",
					   "a..b", "", "tracepoint." };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(sql_tptable_path(bad[i], tp, sizeof(tp)), -EINVAL, "'%s' accepted", bad[i]);
	cr_assert_eq(sql_tptable_path(NULL, tp, sizeof(tp)), -EINVAL);
	/* Stable names are single words: none can be taken for a tracepoint. */
	for (size_t i = 0; i < sql_catalog_count(); i++)
		cr_expect_null(strchr(sql_catalog_get(i)->name, '.'), "%s", sql_catalog_get(i)->name);
}

/* Builds generic tables from this kernel's tracefs (skipped without it). */
Test(tptable, columns_follow_the_format)
{
	char err[300];
	const struct sql_table *t = sql_tptable_find("signal.signal_generate", err, sizeof(err));
	if (!t) {
		cr_log_warn("skipped: %s", err);
		return;
	}
	cr_assert_str_eq(t->name, "tracepoint.signal.signal_generate");
	cr_assert_str_eq(t->alias, "signal.signal_generate");
	cr_assert(sql_table_generic(t) && !sql_table_generic(sql_catalog_find("signals")));
	cr_assert_eq(sql_catalog_find("tracepoint.signal.signal_generate"), t, "one table per tracepoint");
	cr_assert_eq(sql_catalog_find("signal.signal_generate"), t);
	cr_assert_eq(t->nprobes, 1);
	cr_assert_null(t->pair);
	size_t nctx;
	const struct sql_column *ctx = sql_catalog_context(&nctx);
	cr_assert_eq(nctx, 8);
	for (size_t i = 0; i < nctx; i++)
		cr_assert_str_eq(t->cols[i].name, ctx[i].name);
	/* pid, comm: renamed (context columns); group: renamed (a keyword). */
	static const struct { const char *name; enum sql_type type; } want[] = {
		{ "sig", SQL_T_INT }, { "errno", SQL_T_INT }, { "code", SQL_T_INT }, { "event_comm", SQL_T_STR },
		{ "event_pid", SQL_T_INT }, { "event_group", SQL_T_INT }, { "result", SQL_T_INT },
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		int c = sql_table_column(t, want[i].name);
		cr_assert_geq(c, 0, "no column %s", want[i].name);
		cr_expect_eq(t->cols[c].type, want[i].type, "%s", want[i].name);
	}
	cr_assert_lt(sql_table_column(t, "group"), 0);
	/* Every column binds to the live format. */
	for (size_t c = 0; c < t->ncols; c++)
		cr_expect(sql_column_available(t, c, err, sizeof(err)), "%s: %s", t->cols[c].name, err);

	/* User strings behind syscalls/ pointers; hex byte arrays; array elements. */
	const struct sql_table *o = sql_catalog_find("syscalls.sys_enter_openat");
	cr_assert_not_null(o);
	int fc = sql_table_column(o, "filename");
	cr_assert(fc >= 0 && o->cols[fc].type == SQL_T_STR && o->cols[fc].src.conv == SQL_CONV_STR);
	const struct sql_table *r = sql_catalog_find("raw_syscalls.sys_enter");
	cr_assert_not_null(r);
	for (int i = 0; i < 6; i++) {
		char nm[32];
		snprintf(nm, sizeof(nm), "args_%d", i);
		int c = sql_table_column(r, nm);
		cr_assert(c >= 0 && r->cols[c].src.in[0].elem == i, "%s", nm);
	}
	const struct sql_table *s = sql_catalog_find("sock.inet_sock_set_state");
	if (s) {
		int c = sql_table_column(s, "saddr");
		cr_assert(c >= 0 && s->cols[c].src.conv == SQL_CONV_HEX && s->cols[c].type == SQL_T_STR);
	}
	cr_assert_null(sql_tptable_find("nosuch.tracepoint_here", err, sizeof(err)));
	cr_assert(strstr(err, "does not exist"), "%s", err);
}

/* Fields of unknown length are kept as opaque, so the others stay usable. */
Test(tracefs, flexible_arrays_are_opaque)
{
	struct sql_tp_format f;
	char err[128];
	cr_assert_eq(sql_tracefs_parse("name: x\nID: 1\nformat:\n\tfield:int a;\toffset:8;\tsize:4;\tsigned:1;\n"
				       "\tfield:unsigned long args[];\toffset:16;\tsize:0;\tsigned:0;\n",
				       &f, err, sizeof(err)), -EINVAL, "size 0 is still refused");
	cr_assert_eq(sql_tracefs_parse("name: x\nID: 1\nformat:\n\tfield:int a;\toffset:8;\tsize:4;\tsigned:1;\n"
				       "\tfield:char buf[];\toffset:12;\tsize:4;\tsigned:0;\n",
				       &f, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(sql_tp_field(&f, "buf")->kind, SQL_FIELD_OPAQUE);
	cr_assert_eq(sql_tp_field(&f, "a")->kind, SQL_FIELD_INT);
	sql_tp_format_free(&f);
}

/* A __data_loc array of numbers is captured as (length, bytes) and shown
 * as hex, cut at the capture; the length word bounds what is shown. */
Test(record, data_loc_bytes_decode_as_hex)
{
	static const char fmt_text[] = "name: x\nID: 7\nformat:\n"
				       "\tfield:int n;\toffset:8;\tsize:4;\tsigned:1;\n"
				       "\tfield:__data_loc u64[] addrs;\toffset:12;\tsize:4;\tsigned:0;\n";
	static const struct sql_probe probe = { "x/x", "test" };
	static const char *const tps[] = { "x/x", NULL };
	static const struct sql_column cols[] = {
		{ "addrs", NULL, SQL_T_STR, "hex", { .conv = SQL_CONV_HEX, .in = { { 0, -1, "addrs" } }, .strmax = 16 } },
	};
	static const struct sql_table t = { "x", NULL, "test", cols, 1, tps, &probe, 1, NULL, NULL, NULL, NULL };
	struct sql_tp_format f;
	char err[200];
	cr_assert_eq(sql_tracefs_parse(fmt_text, &f, err, sizeof(err)), 0, "%s", err);
	const struct sql_tp_format *pf[1] = { &f };
	struct sql_recplan rp;
	cr_assert_eq(sql_recplan_build(&rp, &t, NULL, pf, err, sizeof(err)), 0, "%s", err);
	const struct sql_cap *c = &rp.lay[0].caps[rp.cols[0].in[0].cap];
	cr_assert_eq(c->kind, SQL_CAP_LOC_BYTES);
	cr_assert_eq(c->size, 24);
	uint8_t rec[64] = { 0 };
	uint32_t len = 3;
	memcpy(rec + c->off, &len, 4);
	rec[c->off + 8] = 0x01, rec[c->off + 9] = 0xab, rec[c->off + 10] = 0xff, rec[c->off + 11] = 0x77;
	struct sql_value v;
	sql_recplan_row(&rp, rec, NULL, &v);
	cr_assert_eq(v.type, SQL_T_STR);
	cr_assert_str_eq(v.s, "01abff");
	len = 1000; /* longer than the capture: cut at its 16 bytes */
	memcpy(rec + c->off, &len, 4);
	sql_recplan_row(&rp, rec, NULL, &v);
	cr_assert_eq(strlen(v.s), 32);
	sql_recplan_free(&rp);
	sql_tp_format_free(&f);
}
