/* test_dsl.c - unit tests of src/dsl/: the order candidates are tried in
 * (cheapest first, MVSF last), DSL-guided iteration with a fake judge (no
 * kernel: the judge's verdicts are scripted), the test knob, and the
 * verdict cache keyed by fingerprint and kernel release.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dsl/dsl.h"

struct script {
	int verdict[8];     /* what load() returns per candidate index */
	int loads[8];       /* load() calls per candidate index */
	int fps[8];         /* fingerprint() calls per candidate index */
	struct dsl_candidate *base;
};

static int fake_fp(void *ctx, struct dsl_candidate *c, uint64_t *fp, char *reason, size_t rsz)
{
	struct script *s = ctx;
	size_t i = (size_t)(c - s->base);
	(void)reason, (void)rsz;
	s->fps[i]++;
	*fp = dsl_hash(DSL_HASH_INIT ^ (uint64_t)getpid(), c->name, strlen(c->name));
	return 0;
}

static int fake_load(void *ctx, struct dsl_candidate *c, char *reason, size_t rsz)
{
	struct script *s = ctx;
	size_t i = (size_t)(c - s->base);
	s->loads[i]++;
	if (s->verdict[i])
		snprintf(reason, rsz, "R%zu", i);
	return s->verdict[i];
}

static char cache_dir[64];  /* this test's cache directory ("" when none) */

static void fresh_cache(void)
{
	snprintf(cache_dir, sizeof(cache_dir), "/tmp/sbpf-dsl-XXXXXX");
	cr_assert_not_null(mkdtemp(cache_dir));
	setenv("SAFEBPF_CACHE_DIR", cache_dir, 1);
}

/* Removes the cache file and directory a test made. */
static void drop_cache(void)
{
	char path[128];
	if (!cache_dir[0])
		return;
	snprintf(path, sizeof(path), "%s/dsl-verdicts-%s", cache_dir, dsl_kernel_release());
	unlink(path);
	rmdir(cache_dir);
}

Test(dsl, order_cheapest_first_mvsf_last)
{
	struct dsl_candidate c[4] = {
		{ .name = "mvsf", .cost = 0.5, .mvsf = true },
		{ .name = "b", .cost = 3 },
		{ .name = "a", .cost = 1 },
		{ .name = "c", .cost = 3 },
	};
	size_t o[4];
	dsl_try_order(c, 4, o);
	cr_assert_eq(o[0], 2);
	cr_assert_eq(o[1], 1); /* equal costs keep their order */
	cr_assert_eq(o[2], 3);
	cr_assert_eq(o[3], 0);
}

Test(dsl, iterate_falls_back_and_caches_refusals, .fini = drop_cache)
{
	fresh_cache();
	struct dsl_candidate c[3] = {
		{ .name = "kernel", .cost = 1 },
		{ .name = "mvsf", .cost = 9, .mvsf = true },
		{ .name = "half", .cost = 2 },
	};
	struct script s = { .verdict = { -EACCES, 0, -EINVAL }, .base = c };
	struct dsl_judge j = { .sz = sizeof(j), .fingerprint = fake_fp, .load = fake_load };
	cr_assert_eq(dsl_iterate(c, 3, &j, &s), 1);
	cr_assert_eq(c[0].verdict, DSL_VERDICT_REJECTED);
	cr_assert_str_eq(c[0].reason, "R0");
	cr_assert_eq(c[2].verdict, DSL_VERDICT_REJECTED);
	cr_assert_eq(c[1].verdict, DSL_VERDICT_ACCEPTED);
	cr_assert(!c[0].cached);
	/* Second run: the refusals come from the cache, without loading. */
	cr_assert_eq(dsl_iterate(c, 3, &j, &s), 1);
	cr_assert_eq(s.loads[0], 1);
	cr_assert_eq(s.loads[2], 1);
	cr_assert_eq(s.loads[1], 2); /* accepted plans are loaded every time */
	cr_assert(c[0].cached);
	cr_assert_str_eq(c[0].reason, "R0");
	enum dsl_verdict v;
	char why[64];
	cr_assert(dsl_vcache_get("dsl-verdicts", c[1].fp, &v, why, sizeof(why)));
	cr_assert_eq(v, DSL_VERDICT_ACCEPTED);
}

Test(dsl, other_errors_are_not_cached, .fini = drop_cache)
{
	fresh_cache();
	struct dsl_candidate c[2] = { { .name = "kernel", .cost = 1 }, { .name = "mvsf", .mvsf = true } };
	struct script s = { .verdict = { -ENOMEM, 0 }, .base = c };
	struct dsl_judge j = { .sz = sizeof(j), .fingerprint = fake_fp, .load = fake_load };
	cr_assert_eq(dsl_iterate(c, 2, &j, &s), 1);
	cr_assert_eq(dsl_iterate(c, 2, &j, &s), 1);
	cr_assert_eq(s.loads[0], 2);
}

Test(dsl, test_knob_refuses_by_name, .fini = drop_cache)
{
	fresh_cache();
	setenv("SBPF_TEST_KNOB", "x,kernel", 1);
	struct dsl_candidate c[2] = { { .name = "kernel", .cost = 1 }, { .name = "mvsf", .mvsf = true } };
	struct script s = { .base = c };
	struct dsl_judge j = { .sz = sizeof(j), .fingerprint = fake_fp, .load = fake_load,
			       .test_reject_env = "SBPF_TEST_KNOB" };
	cr_assert_eq(dsl_iterate(c, 2, &j, &s), 1);
	cr_assert_eq(s.loads[0], 0);
	cr_assert(strstr(c[0].reason, "test knob"));
	setenv("SBPF_TEST_KNOB", "kern", 1); /* names match whole */
	cr_assert_eq(dsl_iterate(c, 2, &j, &s), 0);
}

Test(dsl, all_refused_is_enoent, .fini = drop_cache)
{
	fresh_cache();
	struct dsl_candidate c[1] = { { .name = "mvsf", .mvsf = true } };
	struct script s = { .verdict = { -EACCES }, .base = c };
	struct dsl_judge j = { .sz = sizeof(j), .fingerprint = fake_fp, .load = fake_load };
	cr_assert_eq(dsl_iterate(c, 1, &j, &s), -ENOENT);
}

Test(dsl, hash_ignores_map_fds)
{
	struct sbpf_insn a[2] = { SBPF_LD_IMM64_LO(1, SBPF_PSEUDO_MAP_FD, 5), SBPF_LD_IMM64_HI(0) };
	struct sbpf_insn b[2] = { SBPF_LD_IMM64_LO(1, SBPF_PSEUDO_MAP_FD, 9), SBPF_LD_IMM64_HI(0) };
	struct sbpf_insn c[2] = { SBPF_LD_IMM64_LO(1, 0, 9), SBPF_LD_IMM64_HI(0) };
	cr_assert_eq(dsl_hash_insns(DSL_HASH_INIT, a, 2), dsl_hash_insns(DSL_HASH_INIT, b, 2));
	cr_assert_neq(dsl_hash_insns(DSL_HASH_INIT, b, 2), dsl_hash_insns(DSL_HASH_INIT, c, 2));
}

Test(dsl, registry_lists_every_row)
{
	size_t n;
	const struct dsl_mvsf *m = dsl_mvsfs(&n);
	for (size_t i = 0; i < n; i++) {
		cr_assert_not_null(m[i].check);
		cr_assert_eq(dsl_mvsf_find(m[i].dsl), &m[i]);
	}
	cr_assert_null(dsl_mvsf_find("no-such-dsl"));
}
