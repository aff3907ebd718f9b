/* plan.c - logical and physical plans. The logical plan is the operator
 * chain of a bound query:
 *
 *   scan [+ scan -> join [+ scan -> join]] -> filter -> project | aggregate -> having
 *        -> distinct -> order -> limit          (the last three per window)
 *
 * The physical plan places every operator (kernel or user space) and says,
 * per table, which columns its source must read. sql_plan_build() makes the
 * MVSF-only plan: each source runs its minimum verifier-safe functions and
 * every operator runs in user space. The optimizer (part 2, optimize.c) takes
 * this plan and moves operators into eBPF by changing their place and the
 * source options; the executor runs whatever stays in user space.
 */
#include <errno.h>
#include <string.h>

#include "sql/sqlInt.h"

static const char *const node_names[] = {
	[SQL_N_SCAN] = "scan", [SQL_N_JOIN] = "join", [SQL_N_FILTER] = "filter",
	[SQL_N_PROJECT] = "project", [SQL_N_AGGREGATE] = "aggregate", [SQL_N_HAVING] = "having",
	[SQL_N_DISTINCT] = "distinct", [SQL_N_ORDER] = "order", [SQL_N_LIMIT] = "limit",
};

const char *sql_node_name(enum sql_node_kind k)
{
	return node_names[k];
}

/* Marks the columns @e reads. */
static void mark(const struct sql_query *q, const struct sql_expr *e, struct sql_plan *p)
{
	if (!e)
		return;
	if (e->kind == SQL_E_COLUMN && e->side >= 0 && !p->needed[e->side][e->col]) {
		p->needed[e->side][e->col] = true;
		p->nneeded[e->side]++;
	}
	if (e->kind == SQL_E_GROUPKEY || e->kind == SQL_E_AGGREF)
		return; /* keys and aggregate arguments are marked from the query's lists */
	mark(q, e->a, p);
	mark(q, e->b, p);
	mark(q, e->c, p);
	for (size_t i = 0; i < e->nlist; i++)
		mark(q, e->list[i], p);
}

static struct sql_node *add(struct sql_plan *p, enum sql_node_kind k, struct sql_node *in)
{
	struct sql_node *n = &p->nodes[p->nnodes++];
	n->kind = k;
	n->place = SQL_PLACE_USER;
	n->in[0] = in;
	n->side = -1;
	return n;
}

int sql_plan_build(const struct sql_query *q, struct sql_arena *a, struct sql_plan *p)
{
	memset(p, 0, sizeof(*p));
	p->q = q;
	if (!(p->nodes = sql_arena_alloc(a, 12 * sizeof(*p->nodes))))
		return -ENOMEM;
	for (int s = 0; s < q->ntables; s++)
		if (!(p->needed[s] = sql_arena_alloc(a, q->tables[s]->ncols * sizeof(bool))))
			return -ENOMEM;

	/* Columns each source must read. */
	mark(q, q->where, p);
	for (int k = 1; k < q->ntables; k++)
		for (size_t i = 0; i < q->join[k - 1].nkeys; i++) {
			mark(q, q->join[k - 1].lkeys[i], p);
			mark(q, q->join[k - 1].rkeys[i], p);
		}
	/* A join orders its streams by event time. */
	for (int s = 0; q->ntables > 1 && s < q->ntables; s++) {
		int ts = sql_table_column(q->tables[s], "ts");
		if (ts >= 0 && !p->needed[s][ts]) {
			p->needed[s][ts] = true;
			p->nneeded[s]++;
		}
	}
	for (size_t i = 0; i < q->nkeys; i++)
		mark(q, q->keys[i], p);
	for (size_t i = 0; i < q->naggs; i++)
		mark(q, q->aggs[i].arg, p);
	for (size_t i = 0; i < q->ncols; i++)
		mark(q, q->cols[i].e, p);
	for (size_t i = 0; i < q->norder; i++)
		mark(q, q->order[i].e, p);

	/* Operator chain. */
	struct sql_node *cur = p->scan[0] = add(p, SQL_N_SCAN, NULL);
	cur->side = 0;
	for (int k = 1; k < q->ntables; k++) {
		p->scan[k] = add(p, SQL_N_SCAN, NULL);
		p->scan[k]->side = k;
		cur = add(p, SQL_N_JOIN, cur);
		cur->in[1] = p->scan[k];
		cur->side = k; /* the step joining side k */
	}
	if (q->where)
		cur = add(p, SQL_N_FILTER, cur);
	cur = add(p, q->aggregate || q->distinct_groups ? SQL_N_AGGREGATE : SQL_N_PROJECT, cur);
	if (q->having)
		cur = add(p, SQL_N_HAVING, cur);
	if (q->distinct || q->distinct_groups)
		cur = add(p, SQL_N_DISTINCT, cur);
	if (q->norder)
		cur = add(p, SQL_N_ORDER, cur);
	if (q->limit >= 0)
		cur = add(p, SQL_N_LIMIT, cur);
	p->root = cur;
	return 0;
}

static void print_list(const struct sql_query *q, struct sql_expr *const *list, size_t n, FILE *f)
{
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputs(", ", f);
		sql_expr_print(q, list[i], f);
	}
}

/* One line describing node @n. */
static void describe(const struct sql_plan *p, const struct sql_node *n, FILE *f)
{
	const struct sql_query *q = p->q;
	fprintf(f, "%s", sql_node_name(n->kind));
	switch (n->kind) {
	case SQL_N_SCAN: {
		const struct sql_table *t = q->tables[n->side];
		fprintf(f, " %s", t->name);
		if (strcmp(q->names[n->side], t->name))
			fprintf(f, " AS %s", q->names[n->side]);
		fprintf(f, "  reads:");
		size_t k = 0;
		for (size_t c = 0; c < t->ncols; c++)
			if (p->needed[n->side][c])
				fprintf(f, "%s %s", k++ ? "," : "", t->cols[c].name);
		if (!k)
			fprintf(f, " (no column: counts events)");
		break;
	}
	case SQL_N_JOIN: {
		const struct sql_jstep *j = &q->join[n->side - 1];
		bool self = false;
		for (int s = 0; s < n->side; s++)
			self |= q->source[s] == q->source[n->side];
		fprintf(f, " on ");
		for (size_t i = 0; i < j->nkeys; i++) {
			fprintf(f, "%s", i ? " AND " : "");
			sql_expr_print(q, j->lkeys[i], f);
			fputs(" = ", f);
			sql_expr_print(q, j->rkeys[i], f);
		}
		const char *what = n->side > 1 ? "joined row" : "left row";
		if (j->left) {
			char d[32];
			sql_fmt_duration((int64_t)j->within_ns, d, sizeof(d));
			fprintf(f, "  (LEFT: latest unmatched %s per key at most %s older%s; %ss unmatched "
				"after %s go on with NULLs; at most %u kept)", what, d, self ? ", one stream" : "", what,
				d, SQL_MAX_JOIN);
		} else {
			fprintf(f, "  (latest unmatched %s per key%s; at most %u kept)", what,
				self ? ", one stream, earlier rows only" : "", SQL_MAX_JOIN);
		}
		break;
	}
	case SQL_N_FILTER:
		fputc(' ', f);
		sql_expr_print(q, q->where, f);
		break;
	case SQL_N_PROJECT:
		fputc(' ', f);
		for (size_t i = 0; i < q->ncols; i++) {
			fprintf(f, "%s", i ? ", " : "");
			sql_expr_print(q, q->cols[i].e, f);
		}
		break;
	case SQL_N_AGGREGATE:
		if (q->nkeys) {
			fputs(" by ", f);
			print_list(q, q->keys, q->nkeys, f);
		}
		if (q->naggs) {
			fputs(q->nkeys ? " computing " : " computing ", f);
			for (size_t i = 0; i < q->naggs; i++) {
				fprintf(f, "%s", i ? ", " : "");
				sql_expr_print(q, q->aggs[i].call, f);
			}
		}
		if (n->place == SQL_PLACE_KERNEL)
			fprintf(f, "  (per-CPU hash map in the kernel, at most %u groups; a row of a further "
				"group is lost: group map full)", sql_kagg_max_groups(q));
		else
			fprintf(f, "  (hash table, at most %u groups)", SQL_MAX_GROUPS);
		break;
	case SQL_N_HAVING:
		fputc(' ', f);
		sql_expr_print(q, q->having, f);
		break;
	case SQL_N_DISTINCT:
		break;
	case SQL_N_ORDER:
		fputs(" by ", f);
		for (size_t i = 0; i < q->norder; i++) {
			fprintf(f, "%s", i ? ", " : "");
			sql_expr_print(q, q->order[i].e, f);
			if (q->order[i].desc)
				fputs(" DESC", f);
		}
		break;
	case SQL_N_LIMIT:
		fprintf(f, " %lld", (long long)q->limit);
		break;
	}
	if (q->window_ns && (n->kind == SQL_N_AGGREGATE || n->kind == SQL_N_DISTINCT || n->kind == SQL_N_ORDER ||
			     n->kind == SQL_N_LIMIT || n->kind == SQL_N_HAVING))
		fputs("  [per window]", f);
	fprintf(f, "  @%s\n", n->place == SQL_PLACE_KERNEL ? "kernel" : "user");
}

static void print_node(const struct sql_plan *p, const struct sql_node *n, int depth, FILE *f)
{
	fprintf(f, "%*s%s", depth * 2, "", depth ? "<- " : "");
	describe(p, n, f);
	for (int i = 0; i < 2; i++)
		if (n->in[i])
			print_node(p, n->in[i], depth + 1, f);
}

void sql_plan_print(const struct sql_plan *p, FILE *f)
{
	const struct sql_query *q = p->q;
	if (q->window_ns) {
		char d[32];
		sql_fmt_duration((int64_t)q->window_ns, d, sizeof(d));
		if (q->every_ns) {
			char e[32];
			sql_fmt_duration((int64_t)q->every_ns, e, sizeof(e));
			fprintf(f, "window: sliding %s every %s (steps of %s counted apart, kernel epochs included, "
				"and merged), aligned to the wall clock\n", d, e, e);
		} else {
			fprintf(f, "window: tumbling %s, aligned to the wall clock\n", d);
		}
	} else {
		fprintf(f, "window: none (%s)\n", sql_query_streaming(q) ? "rows stream as they arrive"
									 : "results when the run ends");
	}
	print_node(p, p->root, 0, f);
}
