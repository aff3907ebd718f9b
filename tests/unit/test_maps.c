/* test_maps.c - the user-space runtime (safebpf/maps.h): each map type's
 * semantics, the JSON contents, map references and runtime helpers on the
 * interpreter and the checked JIT, and the refusal of kernel-only helpers. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "safebpf/jit.h"
#include "safebpf/maps.h"
#include "safebpf/vm.h"

static struct sbpf_maps *one(uint32_t type, uint32_t ks, uint32_t vs, uint32_t max, struct sbpf_map **m)
{
	struct sbpf_maps *s = sbpf_maps__new();
	char why[200] = "";
	struct sbpf_map_def d = { .name = "m", .type = type, .key_size = ks, .value_size = vs, .max_entries = max };
	cr_assert_eq(sbpf_maps__add(s, &d, why, sizeof(why)), 0, "%s", why);
	*m = sbpf_maps__get(s, 0);
	return s;
}

Test(maps, array)
{
	struct sbpf_map *m;
	struct sbpf_maps *s = one(SBPF_MAP_ARRAY, 4, 8, 4, &m);
	uint32_t k = 2, bad = 4;
	uint64_t v = 77;
	cr_assert_eq(sbpf_map__update(m, &k, &v, 0), 0);
	cr_assert_eq(*(uint64_t *)sbpf_map__lookup(m, &k), 77);
	cr_assert_null(sbpf_map__lookup(m, &bad));
	cr_assert_eq(sbpf_map__update(m, &bad, &v, 0), -E2BIG);
	cr_assert_eq(sbpf_map__update(m, &k, &v, 1), -EEXIST); /* BPF_NOEXIST on an array */
	cr_assert_eq(sbpf_map__delete(m, &k), -EINVAL);
	sbpf_maps__free(s);
}

Test(maps, percpu_array_sees_the_runtime_cpu)
{
	struct sbpf_map *m;
	struct sbpf_maps *s = one(SBPF_MAP_PERCPU_ARRAY, 4, 4, 2, &m);
	if (sbpf_maps__ncpus(s) < 2)
		cr_skip_test("one possible CPU");
	uint32_t k = 1, v = 5;
	sbpf_maps__set_cpu(s, 1);
	cr_assert_eq(sbpf_map__update(m, &k, &v, 0), 0);
	sbpf_maps__set_cpu(s, 0);
	cr_assert_eq(*(uint32_t *)sbpf_map__lookup(m, &k), 0);
	uint8_t *all = sbpf_map__values(m, &k);
	cr_assert_eq(all[8], 5); /* CPU 1's value, 8-byte stride */
	sbpf_maps__free(s);
}

Test(maps, hash_flags_full_and_order)
{
	struct sbpf_map *m;
	struct sbpf_maps *s = one(SBPF_MAP_HASH, 4, 4, 2, &m);
	uint32_t a = 9, b = 3, c = 5, v = 1, k;
	cr_assert_eq(sbpf_map__update(m, &a, &v, 2), -ENOENT); /* BPF_EXIST */
	cr_assert_eq(sbpf_map__update(m, &a, &v, 0), 0);
	cr_assert_eq(sbpf_map__update(m, &a, &v, 1), -EEXIST);
	cr_assert_eq(sbpf_map__update(m, &b, &v, 0), 0);
	cr_assert_eq(sbpf_map__update(m, &c, &v, 0), -E2BIG);
	cr_assert_eq(sbpf_map__next_key(m, NULL, &k), 0);
	cr_assert_eq(k, 3); /* ascending key bytes: 03 00 00 00 first */
	sbpf_maps__free(s);
}

Test(maps, lru_evicts_least_recently_used)
{
	struct sbpf_map *m;
	struct sbpf_maps *s = one(SBPF_MAP_LRU_HASH, 4, 4, 2, &m);
	uint32_t a = 1, b = 2, c = 3, v = 7;
	sbpf_map__update(m, &a, &v, 0);
	sbpf_map__update(m, &b, &v, 0);
	cr_assert_not_null(sbpf_map__lookup(m, &a)); /* a is now the more recent */
	cr_assert_eq(sbpf_map__update(m, &c, &v, 0), 0);
	cr_assert_null(sbpf_map__lookup(m, &b));
	cr_assert_not_null(sbpf_map__lookup(m, &a));
	sbpf_maps__free(s);
}

Test(maps, lpm_longest_prefix)
{
	struct sbpf_map *m;
	struct sbpf_maps *s = one(SBPF_MAP_LPM_TRIE, 8, 4, 8, &m);
	uint8_t k8[8] = { 8, 0, 0, 0, 10, 0, 0, 0 }, k24[8] = { 24, 0, 0, 0, 10, 1, 2, 0 };
	uint8_t q[8] = { 32, 0, 0, 0, 10, 1, 2, 3 }, q2[8] = { 32, 0, 0, 0, 10, 9, 9, 9 }, q3[8] = { 32, 0, 0, 0, 11, 1, 2, 3 };
	uint32_t v8 = 8, v24 = 24;
	cr_assert_eq(sbpf_map__update(m, k8, &v8, 0), 0);
	cr_assert_eq(sbpf_map__update(m, k24, &v24, 0), 0);
	cr_assert_eq(*(uint32_t *)sbpf_map__lookup(m, q), 24);
	cr_assert_eq(*(uint32_t *)sbpf_map__lookup(m, q2), 8);
	cr_assert_null(sbpf_map__lookup(m, q3));
	sbpf_maps__free(s);
}

Test(maps, ringbuf_records_and_bad_size)
{
	struct sbpf_maps *s = sbpf_maps__new();
	char why[200] = "";
	struct sbpf_map_def bad = { .name = "r", .type = SBPF_MAP_RINGBUF, .max_entries = 1000 };
	cr_assert_eq(sbpf_maps__add(s, &bad, why, sizeof(why)), -EINVAL);
	cr_assert(strstr(why, "power of 2"), "%s", why);
	struct sbpf_map_def d = { .name = "r", .type = SBPF_MAP_RINGBUF, .max_entries = 4096 };
	cr_assert_eq(sbpf_maps__add(s, &d, why, sizeof(why)), 0);
	struct sbpf_map *m = sbpf_maps__get(s, 0);
	cr_assert_eq(sbpf_map__ringbuf_push(m, "abc", 3), 0);
	cr_assert_eq(sbpf_map__ringbuf_count(m), 1);
	uint32_t len;
	cr_assert_eq(memcmp(sbpf_map__ringbuf_record(m, 0, &len), "abc", 3), 0);
	cr_assert_eq(len, 3);
	sbpf_maps__free(s);
}

Test(maps, json_round_trip_and_errors)
{
	struct sbpf_map *m;
	struct sbpf_maps *s = one(SBPF_MAP_HASH, 2, 2, 4, &m);
	char why[300] = "";
	cr_assert_eq(sbpf_maps__load_json(s, "{\"m\": {\"type\": \"hash\", \"entries\": ["
					      "{\"key\": \"0102\", \"value\": \"aabb\"}]}}", why, sizeof(why)), 0, "%s", why);
	char *out = sbpf_maps__dump_json(s);
	cr_assert(strstr(out, "{\"key\": \"0102\", \"value\": \"aabb\"}"), "%s", out);
	free(out);
	cr_assert_eq(sbpf_maps__load_json(s, "{\"nope\": {}}", why, sizeof(why)), -EINVAL);
	cr_assert(strstr(why, "no map named 'nope'"), "%s", why);
	cr_assert_eq(sbpf_maps__load_json(s, "{\"m\": {\"entries\": [{\"key\": \"01\", \"value\": \"aabb\"}]}}",
					  why, sizeof(why)), -EINVAL);
	cr_assert(strstr(why, "1:") && strstr(why, "2 bytes"), "%s", why);
	cr_assert_eq(sbpf_maps__load_json(s, "{\"m\": {\"type\": \"array\"}}", why, sizeof(why)), -EINVAL);
	sbpf_maps__free(s);
}

/* r0 = ++counts[0] through map_lookup_elem (lddw src=1 imm=0), then the
 * stored value is read back; the same on the interpreter and the JIT. */
static const struct sbpf_insn count_prog[] = {
	{ .code = 0x62, .dst_reg = 10, .off = -4, .imm = 0 },       /* *(u32 *)(r10-4) = 0 */
	{ .code = 0xbf, .dst_reg = 2, .src_reg = 10 },              /* r2 = r10 */
	{ .code = 0x07, .dst_reg = 2, .imm = -4 },                  /* r2 += -4 */
	{ .code = 0x18, .dst_reg = 1, .src_reg = 1, .imm = 0 }, { 0 }, /* r1 = map 0 */
	{ .code = 0x85, .imm = 1 },                                 /* call map_lookup_elem */
	{ .code = 0x15, .dst_reg = 0, .off = 3, .imm = 0 },         /* if r0 == 0 goto +3 */
	{ .code = 0x79, .dst_reg = 1, .src_reg = 0 },               /* r1 = *(u64 *)(r0) */
	{ .code = 0x07, .dst_reg = 1, .imm = 1 },                   /* r1 += 1 */
	{ .code = 0x7b, .dst_reg = 0, .src_reg = 1 },               /* *(u64 *)(r0) = r1 */
	{ .code = 0x95 },                                           /* exit */
};

Test(maps, interp_and_jit_share_map_state)
{
	struct sbpf_map *m;
	struct sbpf_maps *s = one(SBPF_MAP_ARRAY, 4, 8, 1, &m);
	size_t n = sizeof(count_prog) / sizeof(count_prog[0]);
	struct sbpf_vm_opts vo = { .sz = sizeof(vo), .maps = s };
	struct sbpf_validate_error verr = { 0 };
	struct sbpf_vm *vm = sbpf_vm__new(count_prog, n, &vo, &verr);
	cr_assert_not_null(vm, "%s", verr.rule);
	uint64_t r0 = 0;
	cr_assert_eq(sbpf_vm__run(vm, NULL, 0, &r0, NULL), 0);
	struct sbpf_jit_opts jo = { .sz = sizeof(jo), .maps = s };
	struct sbpf_jit *jit = sbpf_jit__new(count_prog, n, &jo, &verr);
	cr_assert_not_null(jit, "%s", verr.rule);
	cr_assert_eq(sbpf_jit__helpers_from_vm(jit, vm), 0);
	struct sbpf_run_error err = { 0 };
	cr_assert_eq(sbpf_jit__run(jit, NULL, 0, &r0, &err), 0, "%s", err.reason);
	uint32_t k = 0;
	cr_assert_eq(*(uint64_t *)sbpf_map__lookup(m, &k), 2);
	sbpf_jit__free(jit);
	sbpf_vm__free(vm);
	sbpf_maps__free(s);
}

Test(maps, kernel_only_helper_refused_with_its_name)
{
	struct sbpf_maps *s = sbpf_maps__new();
	const struct sbpf_insn prog[] = { { .code = 0x85, .imm = 6 }, { .code = 0x95 } };
	struct sbpf_vm_opts vo = { .sz = sizeof(vo), .maps = s };
	struct sbpf_validate_error verr = { 0 };
	cr_assert_null(sbpf_vm__new(prog, 2, &vo, &verr));
	cr_assert(strstr(verr.rule, "helper 6 (bpf_trace_printk)") && strstr(verr.rule, "kernel-only"), "%s", verr.rule);
	sbpf_maps__free(s);
}

Test(maps, helper_refuses_a_key_outside_program_memory)
{
	struct sbpf_map *m;
	struct sbpf_maps *s = one(SBPF_MAP_HASH, 4, 4, 4, &m);
	/* r1 = map; r2 = 0x1000 (not program memory); call lookup -> NULL */
	const struct sbpf_insn prog[] = {
		{ .code = 0x18, .dst_reg = 1, .src_reg = 1 }, { 0 },
		{ .code = 0xb7, .dst_reg = 2, .imm = 0x1000 },
		{ .code = 0x85, .imm = 1 },
		{ .code = 0x95 },
	};
	struct sbpf_vm_opts vo = { .sz = sizeof(vo), .maps = s };
	struct sbpf_vm *vm = sbpf_vm__new(prog, 5, &vo, NULL);
	cr_assert_not_null(vm);
	uint64_t r0 = 1;
	cr_assert_eq(sbpf_vm__run(vm, NULL, 0, &r0, NULL), 0);
	cr_assert_eq(r0, 0);
	sbpf_vm__free(vm);
	sbpf_maps__free(s);
}

Test(maps, ringbuf_header_overwritten_by_the_program_is_bounded)
{
	struct sbpf_maps *s = sbpf_maps__new();
	char why[200] = "";
	struct sbpf_map_def d = { .name = "r", .type = SBPF_MAP_RINGBUF, .max_entries = 4096 };
	cr_assert_eq(sbpf_maps__add(s, &d, why, sizeof(why)), 0);
	struct sbpf_map *m = sbpf_maps__get(s, 0);
	cr_assert_eq(sbpf_map__ringbuf_push(m, "abcd", 4), 0);
	void *base;
	size_t len;
	cr_assert_eq(sbpf_map__region(m, &base, &len), 0);
	uint32_t lie = 0x3fffffff; /* a program wrote the record header: a huge length */
	memcpy(base, &lie, 4);
	cr_assert_eq(sbpf_map__ringbuf_count(m), 0);
	char *out = sbpf_maps__dump_json(s); /* must not read past the ring */
	cr_assert_not_null(out);
	free(out);
	sbpf_maps__free(s);
}
