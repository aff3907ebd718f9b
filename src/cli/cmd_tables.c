/* cmd_tables.c - `safebpf tables [NAME] [--all] [--markdown] [--usdt FILE]`:
 * the schema.
 * Without NAME, every stable table and whether this kernel can run it
 * (--all: then the generic table of every tracepoint of this kernel); with
 * NAME (a stable table or a tracepoint, oom.mark_victim), its columns
 * (type, alias, meaning, origin), tracepoints and notes; --markdown prints
 * the stable schema as docs/schema.md; --usdt FILE lists the USDT probes
 * of an ELF file (each one a usdt('FILE', 'provider:name') table) with
 * their argument operands.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "safebpf/diag.h"
#include "safebpf/kernel.h"
#include "dsl/dsl.h"
#include "sql/sqlInt.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: safebpf tables [NAME] [--all] [--markdown] [--usdt FILE]\n"
		"Lists the tables of kernel events and whether this kernel has their tracepoints;\n"
		"with NAME (a table, or a tracepoint as SUBSYSTEM.EVENT), its columns, tracepoints\n"
		"and notes.\n\n"
		"  --all        also list the generic table of every tracepoint of this kernel\n"
		"               (kernel-version-specific: columns come from its tracefs format)\n"
		"  --markdown   print the schema reference (docs/schema.md) instead\n"
		"  --usdt FILE  list the USDT probes of ELF file FILE (its .note.stapsdt): each is\n"
		"               a table usdt('FILE', 'provider:name') with columns arg0, arg1, ...\n");
}

static const char *type_name(enum sql_type t)
{
	switch (t) {
	case SQL_T_INT:      return "int";
	case SQL_T_UINT:     return "uint";
	case SQL_T_TIME:     return "time";
	case SQL_T_DURATION: return "duration";
	case SQL_T_BOOL:     return "bool";
	case SQL_T_STR:      return "string";
	default:             return "null";
	}
}

/* Describes one input: a helper call or "tracepoint.field[elem]". */
static void describe_input(const struct sql_table *t, const struct sql_input *in, char *out, size_t outsz)
{
	static const struct { const char *name, *text; } ctx[] = {
		{ "$ts", "bpf_ktime_get_ns()" },
		{ "$cpu", "bpf_get_smp_processor_id()" },
		{ "$pid", "bpf_get_current_pid_tgid() >> 32" },
		{ "$tid", "bpf_get_current_pid_tgid() & 0xffffffff" },
		{ "$uid", "bpf_get_current_uid_gid() & 0xffffffff" },
		{ "$gid", "bpf_get_current_uid_gid() >> 32" },
		{ "$cgroup", "bpf_get_current_cgroup_id()" },
		{ "$comm", "bpf_get_current_comm()" },
		{ "$task.exit_code", "current task_struct's exit_code (offset from BTF)" },
		{ "$runq", "current task's se.cfs_rq->rq->nr_running, less 1 (offsets from BTF)" },
	};
	const char *tp = in->probe < t->nprobes ? t->probes[in->probe].tp : "?";
	for (size_t i = 0; i < sizeof(ctx) / sizeof(ctx[0]); i++)
		if (!strcmp(in->name, ctx[i].name)) {
			if (t->nprobes > 1)
				snprintf(out, outsz, "%s at %s", ctx[i].text, tp);
			else
				snprintf(out, outsz, "%s", ctx[i].text);
			return;
		}
	if (in->elem >= 0)
		snprintf(out, outsz, "%s:%s[%d]", tp, in->name, in->elem);
	else
		snprintf(out, outsz, "%s:%s", tp, in->name);
}

/* Where column @c comes from, for people. */
static void describe_origin(const struct sql_table *t, const struct sql_column *c, char *out, size_t outsz)
{
	char a[160], b[160];
	describe_input(t, &c->src.in[0], a, sizeof(a));
	switch (c->src.conv) {
	case SQL_CONV_DIFF:
		describe_input(t, &c->src.in[1], b, sizeof(b));
		snprintf(out, outsz, "%s - %s", a, b);
		break;
	case SQL_CONV_DEV:        snprintf(out, outsz, "%s as major:minor", a); break;
	case SQL_CONV_FAMILY:     snprintf(out, outsz, "%s as a name", a); break;
	case SQL_CONV_TCP_STATE:  snprintf(out, outsz, "%s as a state name", a); break;
	case SQL_CONV_TASK_STATE: snprintf(out, outsz, "%s as a state letter", a); break;
	case SQL_CONV_SIGNAL:     snprintf(out, outsz, "%s as a signal name", a); break;
	case SQL_CONV_HEX:        snprintf(out, outsz, "%s as hex bytes", a); break;
	case SQL_CONV_EXIT_STATUS: snprintf(out, outsz, "(%s >> 8) & 0xff", a); break;
	case SQL_CONV_EXIT_SIGNAL: snprintf(out, outsz, "%s & 0x7f", a); break;
	case SQL_CONV_CORE_DUMP:  snprintf(out, outsz, "%s & 0x80", a); break;
	case SQL_CONV_ARGV:       snprintf(out, outsz, "the first %d strings of the user array %s", SQL_ARGV_MAX, a); break;
	case SQL_CONV_ARGC:       snprintf(out, outsz, "entries read from the user array %s (at most %d)", a, SQL_ARGV_MAX); break;
	case SQL_CONV_INET_ADDR:
		describe_input(t, &c->src.in[1], a, sizeof(a));
		describe_input(t, &c->src.in[2], b, sizeof(b));
		snprintf(out, outsz, "%s or %s by family", a, b);
		break;
	default:
		snprintf(out, outsz, "%s", a);
		break;
	}
}

static void pairing_text(const struct sql_table *t, char *out, size_t outsz)
{
	char k[128] = "";
	for (int i = 0; i < 2 && t->pair->lkey[i].name; i++) {
		const char *n = t->pair->lkey[i].name;
		snprintf(k + strlen(k), sizeof(k) - strlen(k), "%s%s", i ? ", " : "",
			 !strcmp(n, "$tid") ? "thread id" : n);
	}
	snprintf(out, outsz, "%s events are paired with the latest unmatched %s event of the same %s%s",
		 t->probes[1].tp, t->probes[0].tp, k,
		 t->pair->max_per_key == 1 ? " (one open event per key; a newer one replaces it, counted as evicted)"
					   : "");
}

static void list_tables(void)
{
	printf("%-16s %-9s %-9s %s\n", "TABLE", "ALIAS", "AVAILABLE", "DESCRIPTION");
	for (size_t i = 0; i < sql_catalog_count(); i++) {
		const struct sql_table *t = sql_catalog_get(i);
		char why[300];
		bool ok = sql_table_available(t, why, sizeof(why));
		printf("%-16s %-9s %-9s %s\n", t->name, t->alias ? t->alias : "-", ok ? "yes" : "NO", t->doc);
		if (!ok)
			printf("%-16s %-9s %-9s   (%s)\n", "", "", "", why);
	}
	printf("\nEvery table also has the context columns ts, cpu, pid, tid, comm, uid, gid, cgroup.\n"
	       "safebpf tables NAME shows a table's columns. Every tracepoint is a table too\n"
	       "(SUBSYSTEM.EVENT, e.g. oom.mark_victim): safebpf tables --all lists them.\n");
}

/* The generic tables: one line per tracepoint with its field columns. */
static int list_generic(void)
{
	char **tps;
	size_t n, bad = 0;
	int rc = sql_tptable_list(&tps, &n);
	if (rc) {
		fprintf(stderr, "safebpf tables: cannot list the tracepoints: %s\n", strerror(-rc));
		return EXIT_FAIL;
	}
	size_t nctx;
	sql_catalog_context(&nctx);
	printf("\n%-44s %s\n", "GENERIC TABLE (tracepoint.SUBSYSTEM.EVENT)", "COLUMNS BEYOND THE CONTEXT COLUMNS");
	for (size_t i = 0; i < n; i++) {
		char name[300], err[300];
		snprintf(name, sizeof(name), "%s", tps[i]);
		*strchr(name, '/') = '.';
		const struct sql_table *t = sql_tptable_find(name, err, sizeof(err));
		if (!t) {
			printf("%-44s (unreadable: %s)\n", name, err);
			bad++;
			continue;
		}
		printf("%-44s", name);
		for (size_t c = nctx; c < t->ncols; c++)
			printf("%s%s", c == nctx ? " " : ", ", t->cols[c].name);
		printf("\n");
	}
	printf("\n%zu tracepoints on this kernel (%s), %zu readable as tables. Generic tables are\n"
	       "kernel-version-specific; the stable tables above are the portable interface.\n",
	       n, dsl_kernel_release(), n - bad);
	sql_tptable_list_free(tps, n);
	return EXIT_OK;
}

static void show_table(const struct sql_table *t)
{
	char why[300], txt[400];
	bool ok = sql_table_available(t, why, sizeof(why));
	printf("%s%s%s%s: %s\n", t->name, t->alias ? " (alias " : "", t->alias ? t->alias : "", t->alias ? ")" : "",
	       t->doc);
	printf("available on this kernel: %s%s%s\n\ntracepoints:\n", ok ? "yes" : "NO (", ok ? "" : why, ok ? "" : ")");
	for (size_t p = 0; p < t->nprobes; p++) {
		enum sql_probe_kind k = sql_probe_kind(t->probes[p].tp);
		int id = k == SQL_PROBE_TRACEPOINT ? sbpf_kernel_tracepoint_id(t->probes[p].tp) : 0;
		if (k != SQL_PROBE_TRACEPOINT)
			printf("  %-28s %-8s %s\n", t->probes[p].tp, k == SQL_PROBE_CPU_CLOCK ? "perf" : k == SQL_PROBE_USDT ? "usdt" : "uprobe",
			       t->probes[p].doc);
		else if (id >= 0)
			printf("  %-28s id %-5d %s\n", t->probes[p].tp, id, t->probes[p].doc);
		else
			printf("  %-28s MISSING  %s\n", t->probes[p].tp, t->probes[p].doc);
	}
	if (t->pair) {
		pairing_text(t, txt, sizeof(txt));
		printf("pairing: %s\n", txt);
	}
	printf("\n%-15s %-13s %-9s %s\n", "COLUMN", "ALIAS", "TYPE", "MEANING");
	for (size_t c = 0; c < t->ncols; c++) {
		const struct sql_column *col = &t->cols[c];
		printf("%-15s %-13s %-9s %s\n", col->name, col->alias ? col->alias : "-", type_name(col->type), col->doc);
		describe_origin(t, col, txt, sizeof(txt));
		printf("%-15s %-13s %-9s   from %s\n", "", "", "", txt);
		if (ok && !sql_column_available(t, c, why, sizeof(why)))
			printf("%-15s %-13s %-9s   UNAVAILABLE here: %s\n", "", "", "", why);
	}
	if (t->notes)
		printf("\nnotes: %s\n", t->notes);
	if (t->attribution)
		printf("\nattribution: %s.\n", t->attribution);
}

/* Escapes '|' for a markdown table cell. */
static void md_cell(const char *s)
{
	for (; *s; s++)
		fputs(*s == '|' ? "\\|" : (char[]){ *s, 0 }, stdout);
}

static void markdown(void)
{
	printf("## Tables\n\n| table | alias | rows | tracepoints |\n|---|---|---|---|\n");
	for (size_t i = 0; i < sql_catalog_count(); i++) {
		const struct sql_table *t = sql_catalog_get(i);
		printf("| [`%s`](#%s) | %s%s%s | ", t->name, t->name, t->alias ? "`" : "", t->alias ? t->alias : "-",
		       t->alias ? "`" : "");
		md_cell(t->doc);
		printf(" |");
		for (size_t p = 0; p < t->nprobes; p++)
			printf(" %s`%s`", p ? "+ " : "", t->probes[p].tp);
		printf(" |\n");
	}
	for (size_t i = 0; i < sql_catalog_count(); i++) {
		const struct sql_table *t = sql_catalog_get(i);
		char txt[400];
		printf("\n### %s\n\n", t->name);
		if (t->alias)
			printf("Alias: `%s`. ", t->alias);
		printf("%c%s.\n\nTracepoints:\n\n", t->doc[0] - 'a' + 'A', t->doc + 1);
		for (size_t p = 0; p < t->nprobes; p++)
			printf("- `%s` — %s\n", t->probes[p].tp, t->probes[p].doc);
		if (t->pair) {
			pairing_text(t, txt, sizeof(txt));
			printf("\nPairing: %s.\n", txt);
		}
		printf("\n| column | alias | type | meaning | from |\n|---|---|---|---|---|\n");
		for (size_t c = 0; c < t->ncols; c++) {
			const struct sql_column *col = &t->cols[c];
			printf("| `%s` | %s%s%s | %s | ", col->name, col->alias ? "`" : "", col->alias ? col->alias : "-",
			       col->alias ? "`" : "", type_name(col->type));
			md_cell(col->doc);
			describe_origin(t, col, txt, sizeof(txt));
			printf(" | ");
			md_cell(txt);
			printf(" |\n");
		}
		if (t->notes)
			printf("\nNotes: %s\n", t->notes);
		if (t->attribution)
			printf("\nAttribution: %c%s.\n", t->attribution[0] - 'a' + 'A', t->attribution + 1);
	}
}

/* --usdt FILE: the probes, their sites, semaphores and arguments. */
static int list_usdt(const char *path)
{
	struct sql_usdt_probe *v;
	size_t n;
	char err[512];
	int rc = sql_usdt_list(path, &v, &n, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "safebpf: %s\n", err);
		return rc == -ENODATA ? EXIT_USAGE : EXIT_FAIL;
	}
	printf("USDT probes of %s: %zu (query one as usdt('%s', 'provider:name'))\n\n", path, n, path);
	printf("%-32s %5s %-9s %s\n", "PROBE", "SITES", "SEMAPHORE", "ARGUMENTS (column: operand, type)");
	for (size_t i = 0; i < n; i++) {
		const struct sql_usdt_probe *p = &v[i];
		char name[160];
		snprintf(name, sizeof(name), "%s:%s", p->provider, p->name);
		printf("%-32s %5zu %-9s", name, p->nsites, p->sema ? "yes" : "no");
		if (!p->nargs)
			printf(" (none)\n");
		for (size_t v = 0; v < p->nvariants && p->nargs; v++) {
			if (v)
				printf("%-32s %5s %-9s", "", "", "");
			for (size_t a = 0; a < p->nargs; a++) {
				const struct sql_usdt_arg *g = &p->args[v][a];
				printf("%s arg%zu: %s %s%u", a ? "," : "", a, g->text, g->is_signed ? "int" : "uint",
				       8 * g->size);
				if (g->loc == SQL_USDT_BAD)
					printf(" (UNREADABLE: %s)", g->why);
			}
			if (p->nvariants > 1)
				printf("  [sites in variant %zu]", v + 1);
			printf("\n");
		}
		if (p->mixed[0])
			printf("%-32s %5s %-9s NOT QUERYABLE: %s\n", "", "", "", p->mixed);
	}
	free(v);
	return EXIT_OK;
}

int cmd_tables(int argc, char **argv)
{
	const char *name = NULL, *usdt = NULL;
	int md = 0, all = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "--markdown")) {
			md = 1;
		} else if (!strcmp(argv[i], "--all")) {
			all = 1;
		} else if (!strcmp(argv[i], "--usdt") && i + 1 < argc) {
			usdt = argv[++i];
		} else if (argv[i][0] != '-' && !name) {
			name = argv[i];
		} else {
			fprintf(stderr, "safebpf tables: unexpected '%s'\n", argv[i]);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (md) {
		markdown();
		return EXIT_OK;
	}
	if (usdt)
		return list_usdt(usdt);
	if (!name) {
		list_tables();
		return all ? list_generic() : EXIT_OK;
	}
	const struct sql_table *t = sql_catalog_find(name);
	if (!t && strchr(name, '.')) {
		char err[300];
		sql_tptable_find(name, err, sizeof(err));
		fprintf(stderr, "safebpf: no table '%s': %s (safebpf tables --all lists the tracepoints)\n", name, err);
		return EXIT_USAGE;
	}
	if (!t) {
		const char *names[64];
		size_t n = 0;
		for (size_t i = 0; i < sql_catalog_count() && n < 63; i++) {
			names[n++] = sql_catalog_get(i)->name;
			if (sql_catalog_get(i)->alias && n < 63)
				names[n++] = sql_catalog_get(i)->alias;
		}
		const char *s = sbpf_suggest(name, names, n);
		fprintf(stderr, "safebpf: no table '%s'%s%s%s\n", name, s ? " — did you mean '" : "", s ? s : "",
			s ? "'?" : "");
		return EXIT_USAGE;
	}
	show_table(t);
	return EXIT_OK;
}
