/* cost.c - the optimizer's cost model: what a candidate plan costs per
 * event of its table, in nanoseconds, split into eBPF work, bytes handed to
 * user space, user-space work and contention on shared maps. The machine
 * constants (struct sql_costk) have defaults and are replaced by the file
 * `safebpf calibrate` writes (calibrate.c) into the cache directory.
 *
 * Event rates are unknown when a query starts, so costs are per event of
 * the table (a paired table: per opening + closing pair), and selectivities
 * of filters are the classic guesses: = 5%, range 30%, IN k*5%, LIKE 10%,
 * a process filter 5% of the system's events.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsl/dsl.h"
#include "sql/sqlInt.h"

#define COSTK_FILE "cost-model.conf"

static const struct {
	const char *name;       /* key in the file */
	size_t off;             /* field */
	double def;             /* default (ns) */
} fields[] = {
	{ "prog", offsetof(struct sql_costk, prog), 30 },
	{ "helper", offsetof(struct sql_costk, helper), 12 },
	{ "copy8", offsetof(struct sql_costk, copy8), 1 },
	{ "lookup", offsetof(struct sql_costk, lookup), 25 },
	{ "update", offsetof(struct sql_costk, update), 60 },
	{ "percpu", offsetof(struct sql_costk, percpu), 4 },
	{ "reserve", offsetof(struct sql_costk, reserve), 45 },
	{ "wakeup", offsetof(struct sql_costk, wakeup), 2500 },
	{ "user_rec", offsetof(struct sql_costk, user_rec), 250 },
	{ "user_byte", offsetof(struct sql_costk, user_byte), 0.5 },
	{ "user_pair", offsetof(struct sql_costk, user_pair), 120 },
};

static double *field(struct sql_costk *k, size_t i)
{
	return (double *)((char *)k + fields[i].off);
}

static int costk_path(char *path, size_t sz)
{
	const char *dir = dsl_cache_dir();
	if (!dir)
		return -ENOENT;
	snprintf(path, sz, "%s/%s", dir, COSTK_FILE);
	return 0;
}

void sql_costk_load(struct sql_costk *k)
{
	memset(k, 0, sizeof(*k));
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		*field(k, i) = fields[i].def;
	snprintf(k->source, sizeof(k->source), "defaults (run `safebpf calibrate` to measure this machine)");
	char path[512];
	if (costk_path(path, sizeof(path)))
		return;
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	char line[256], release[128] = "";
	int got = 0;
	while (fgets(line, sizeof(line), f)) {
		char key[64];
		double v;
		if (sscanf(line, "release %127s", release) == 1)
			continue;
		if (sscanf(line, "%63s %lf", key, &v) != 2 || v < 0 || v > 1e7)
			continue;
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
			if (!strcmp(key, fields[i].name)) {
				*field(k, i) = v;
				got++;
			}
	}
	fclose(f);
	if (got) {
		k->calibrated = true;
		snprintf(k->source, sizeof(k->source), "%s (measured on kernel %s)", path,
			 release[0] ? release : "?");
	}
}

int sql_costk_save(const struct sql_costk *k, char *path, size_t pathsz)
{
	int rc = costk_path(path, pathsz);
	if (rc)
		return rc;
	char tmp[600];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f, "# safebpf cost model constants (ns), written by `safebpf calibrate`\n");
	fprintf(f, "release %s\n", dsl_kernel_release());
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		fprintf(f, "%s %.2f\n", fields[i].name, *field((struct sql_costk *)k, i));
	if (fclose(f) || rename(tmp, path))
		return -errno;
	return 0;
}

/* ---- estimates ------------------------------------------------------------ */

/* Bytes a column takes in a record (a guess good enough to compare plans). */
static double column_bytes(const struct sql_column *c)
{
	if (c->type != SQL_T_STR)
		return 8;
	if (c->src.in[0].name && !strcmp(c->src.in[0].name, "$comm"))
		return 16;
	if (c->src.conv != SQL_CONV_STR && !sql_column_is_derived(c))
		return 8; /* formatted in user space from a number */
	return c->src.strmax ? c->src.strmax : 64;
}

static double selectivity(const struct sql_expr *e)
{
	switch (e->kind) {
	case SQL_E_BINARY:
		switch (e->op) {
		case SQL_OP_AND: return selectivity(e->a) * selectivity(e->b);
		case SQL_OP_OR: {
			double a = selectivity(e->a), b = selectivity(e->b);
			return a + b - a * b;
		}
		case SQL_OP_EQ: return 0.05;
		case SQL_OP_NE: return 0.95;
		default: return 0.3;
		}
	case SQL_E_UNARY:
		return e->op == SQL_OP_NOT ? 1 - selectivity(e->a) : 0.5;
	case SQL_E_IN: {
		double s = 0.05 * (double)e->nlist;
		s = s > 0.5 ? 0.5 : s;
		return e->negated ? 1 - s : s;
	}
	case SQL_E_BETWEEN: return e->negated ? 0.75 : 0.25;
	case SQL_E_LIKE: return e->negated ? 0.9 : 0.1;
	default: return 0.5;
	}
}

/* Operations in an expression (each about a nanosecond in eBPF). */
static double ops(const struct sql_expr *e)
{
	if (!e)
		return 0;
	double n = 1 + ops(e->a) + ops(e->b) + ops(e->c);
	for (size_t i = 0; i < e->nlist; i++)
		n += ops(e->list[i]);
	return n;
}

static double sum_bytes(const struct sql_table *t, const bool *cols)
{
	double b = 8; /* header */
	for (size_t c = 0; cols && c < t->ncols; c++)
		if (cols[c])
			b += column_bytes(&t->cols[c]);
	return b;
}

/* Cost of one side of a candidate. */
static void side_cost(const struct sql_plan *p, int s, const struct sql_cand *c, bool pid_filter,
		      const struct sql_costk *k, struct sql_cost *out)
{
	const struct sql_table *t = p->q->tables[s];
	double probes = (double)t->nprobes;
	const bool *staged = c->kernel[s] ? c->spec[s].kneeded : p->needed[s];
	double stage = sum_bytes(t, staged);
	size_t nstaged = 0;
	for (size_t i = 0; staged && i < t->ncols; i++)
		nstaged += staged[i];
	/* Every probe runs and stages what it needs (about half the bytes each
	 * for a paired table). */
	out->kernel += probes * (k->prog + k->percpu) + nstaged * k->helper * 0.5 + stage / 8 * k->copy8;
	if (!c->kernel[s]) {
		/* MVSF: every event goes to user space. */
		double rec = stage / probes + 8;
		out->kernel += probes * (k->reserve + rec / 8 * k->copy8);
		out->bytes += probes * rec;
		out->user += probes * (k->user_rec + rec * k->user_byte + k->wakeup / 8) + 10 * ops(p->q->where);
		if (t->pair)
			out->user += k->user_pair;
		out->contention += probes * k->reserve * 0.1;
		return;
	}
	const struct sql_kspec *sp = &c->spec[s];
	double sel = 1;
	if (sp->pidset) {
		out->kernel += probes * k->lookup;
		sel *= 0.05;
		/* untraced events stop here: only traced ones pay what follows */
		out->kernel -= (1 - sel) * (nstaged * k->helper * 0.5 + stage / 8 * k->copy8);
	}
	for (size_t i = 0; i < sp->npre; i++) {
		out->kernel += ops(sp->pre[i]);
		sel *= selectivity(sp->pre[i]);
	}
	if (sp->kpair) {
		/* open: update (or delete when filtered); close: lookup + copy + delete */
		double opened = sp->pidset ? 0.05 : 1;
		out->kernel += opened * k->update + sel * (k->lookup + k->update + stage / 16 * k->copy8);
		out->contention += k->update * 0.05;
	}
	for (size_t i = 0; i < sp->npost; i++) {
		out->kernel += sel * ops(sp->post[i]);
		sel *= selectivity(sp->post[i]);
	}
	if (sp->kagg) {
		double aggops = 0;
		for (size_t i = 0; i < p->q->naggs; i++)
			aggops += 4 + ops(p->q->aggs[i].arg);
		out->kernel += sel * (2 * k->percpu + k->lookup + aggops);
		return; /* groups are read once per window: nothing per event */
	}
	/* Streaming: records of the rows that pass. */
	double rec = sum_bytes(t, sp->uneeded) + (t->pair && !sp->kpair ? 8 : 0);
	double nrec = sp->kpair || !t->pair ? sel : probes * sel;
	double batch = sp->batch > 1 ? (double)sp->batch : 8;
	out->kernel += nrec * (k->reserve + rec / 8 * k->copy8 + (sp->batch > 1 ? k->helper : 0));
	out->bytes += nrec * rec;
	out->user += nrec * (k->user_rec + rec * k->user_byte + k->wakeup / batch + 10 * ops(c->uq.where));
	if (t->pair && !sp->kpair)
		out->user += sel * k->user_pair;
	out->contention += nrec * k->reserve * 0.1;
	(void)pid_filter;
}

void sql_cost_estimate(const struct sql_plan *p, struct sql_cand *c, bool pid_filter, const struct sql_costk *k)
{
	memset(&c->cost, 0, sizeof(c->cost));
	for (int s = 0; s < p->q->ntables; s++)
		side_cost(p, s, c, pid_filter, k, &c->cost);
	/* With a process filter in user space, the MVSF side pays for every
	 * event of the system (already counted); kernel sides only for theirs. */
	c->cost.total = c->cost.kernel + c->cost.user + c->cost.contention;
}
