/* iterate.c - DSL-guided iteration: a DSL's candidate plans tried cheapest
 * first, the real kernel verifier as the judge, the MVSF last, verdicts
 * remembered per (program hash, kernel release) in the verdict cache.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsl/dsl.h"

/* The verdict file of the cc and sched DSLs (SQL keeps its own). */
static const char vcache_file[] = "dsl-verdicts";

uint64_t dsl_hash(uint64_t h, const void *p, size_t len)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < len; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h ? h : 1;
}

uint64_t dsl_hash_insns(uint64_t h, const struct sbpf_insn *insns, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct sbpf_insn x = insns[i];
		if (x.code == (SBPF_LD | SBPF_DW | SBPF_IMM) && x.src_reg == SBPF_PSEUDO_MAP_FD)
			x.imm = 0; /* an fd: differs between runs */
		h = dsl_hash(h, &x, sizeof(x));
	}
	return h;
}

void dsl_try_order(const struct dsl_candidate *c, size_t n, size_t *order)
{
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	/* Insertion sort: stable, and n is a handful. */
	for (size_t i = 1; i < n; i++) {
		size_t x = order[i], j = i;
		while (j > 0) {
			const struct dsl_candidate *a = &c[order[j - 1]], *b = &c[x];
			bool after = a->mvsf != b->mvsf ? a->mvsf : a->cost > b->cost;
			if (!after)
				break;
			order[j] = order[j - 1];
			j--;
		}
		order[j] = x;
	}
}

/* Whether @name is in the comma-separated list of environment variable @env. */
static bool test_rejected(const char *env, const char *name)
{
	const char *s = env ? getenv(env) : NULL;
	size_t len = strlen(name);
	while (s && *s) {
		size_t l = strcspn(s, ",");
		if (l == len && !strncmp(s, name, len))
			return true;
		s += l + (s[l] == ',');
	}
	return false;
}

int dsl_iterate(struct dsl_candidate *c, size_t n, const struct dsl_judge *j, void *ctx)
{
	if (!c || !n || !j || !j->fingerprint || !j->load)
		return -EINVAL;
	size_t *order = calloc(n, sizeof(*order));
	if (!order)
		return -ENOMEM;
	dsl_try_order(c, n, order);
	for (size_t i = 0; i < n; i++) {
		c[i].verdict = DSL_VERDICT_UNKNOWN;
		c[i].cached = c[i].tried = false;
		c[i].reason[0] = '\0';
		c[i].fp = 0;
	}
	int chosen = -ENOENT;
	for (size_t k = 0; k < n; k++) {
		struct dsl_candidate *x = &c[order[k]];
		x->tried = true;
		int err = j->fingerprint(ctx, x, &x->fp, x->reason, sizeof(x->reason));
		if (err) {
			x->verdict = DSL_VERDICT_REJECTED;
			if (!x->reason[0])
				snprintf(x->reason, sizeof(x->reason), "cannot generate: %s", strerror(-err));
			continue;
		}
		if (test_rejected(j->test_reject_env, x->name)) {
			x->verdict = DSL_VERDICT_REJECTED;
			snprintf(x->reason, sizeof(x->reason), "refused by %s (test knob)", j->test_reject_env);
			continue;
		}
		enum dsl_verdict v;
		if (dsl_vcache_get(vcache_file, x->fp, &v, x->reason, sizeof(x->reason)) && v == DSL_VERDICT_REJECTED) {
			x->verdict = v;
			x->cached = true;
			continue;
		}
		x->reason[0] = '\0';
		err = j->load(ctx, x, x->reason, sizeof(x->reason));
		if (!err) {
			x->verdict = DSL_VERDICT_ACCEPTED;
			dsl_vcache_put(vcache_file, x->fp, DSL_VERDICT_ACCEPTED, NULL);
			chosen = (int)order[k];
			break;
		}
		x->verdict = DSL_VERDICT_REJECTED;
		if (!x->reason[0])
			snprintf(x->reason, sizeof(x->reason), "load failed: %s", strerror(-err));
		if (err == -EACCES || err == -EINVAL)
			dsl_vcache_put(vcache_file, x->fp, DSL_VERDICT_REJECTED, x->reason);
	}
	free(order);
	return chosen;
}
