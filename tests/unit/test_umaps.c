/* test_umaps.c - user-space maps mirrored into the kernel (src/kernel/umaps.c):
 * contents copied in come back out unchanged for each type with entries,
 * and a program the kernel runs with BPF_PROG_TEST_RUN updates the copy as
 * the interpreter updates the user-space map. Skips, saying why, without
 * the privileges to create maps. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safebpf/kernel.h"
#include "safebpf/maps.h"
#include "safebpf/vm.h"

static void need_kernel(void)
{
	char why[128];
	if (sbpf_kernel_check_privileges(why, sizeof(why)))
		cr_skip_test("%s", why);
}

static struct sbpf_maps *four_maps(void)
{
	static const struct sbpf_map_def defs[] = {
		{ .name = "arr", .type = SBPF_MAP_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 8 },
		{ .name = "pca", .type = SBPF_MAP_PERCPU_ARRAY, .key_size = 4, .value_size = 4, .max_entries = 2 },
		{ .name = "hsh", .type = SBPF_MAP_HASH, .key_size = 2, .value_size = 4, .max_entries = 16 },
		{ .name = "lpm", .type = SBPF_MAP_LPM_TRIE, .key_size = 8, .value_size = 4, .max_entries = 4,
		  .flags = 1 /* BPF_F_NO_PREALLOC */ },
	};
	struct sbpf_maps *m = sbpf_maps__new();
	char why[200];
	for (size_t i = 0; i < 4; i++)
		cr_assert_geq(sbpf_maps__add(m, &defs[i], why, sizeof(why)), 0, "%s", why);
	return m;
}

Test(umaps, contents_round_trip)
{
	need_kernel();
	struct sbpf_maps *m = four_maps();
	char why[300] = "";
	const char *json = "{\"arr\": {\"entries\": [{\"key\": \"03000000\", \"value\": \"0102030405060708\"}]},"
			   " \"pca\": {\"entries\": [{\"key\": \"01000000\", \"value\": \"09000000\"}]},"
			   " \"hsh\": {\"entries\": [{\"key\": \"0a0b\", \"value\": \"11223344\"},"
			   "                         {\"key\": \"0001\", \"value\": \"55667788\"}]},"
			   " \"lpm\": {\"entries\": [{\"key\": \"180000000a010200\", \"value\": \"18000000\"}]}}";
	cr_assert_eq(sbpf_maps__load_json(m, json, why, sizeof(why)), 0, "%s", why);
	char *before = sbpf_maps__dump_json(m);
	int fds[SBPF_MAX_MAPS];
	cr_assert_eq(sbpf_kernel_maps_create(m, fds, why, sizeof(why)), 0, "%s", why);
	sbpf_maps__reset(m);
	cr_assert_eq(sbpf_kernel_maps_read(m, fds, why, sizeof(why)), 0, "%s", why);
	char *after = sbpf_maps__dump_json(m);
	cr_assert_str_eq(after, before);
	sbpf_kernel_maps_close(m, fds);
	free(before);
	free(after);
	sbpf_maps__free(m);
}

/* arr[0] += 5 through map_lookup_elem, as XDP: r0 = XDP_PASS. */
static const struct sbpf_insn add5[] = {
	{ .code = 0x62, .dst_reg = 10, .off = -4, .imm = 0 },
	{ .code = 0xbf, .dst_reg = 2, .src_reg = 10 },
	{ .code = 0x07, .dst_reg = 2, .imm = -4 },
	{ .code = 0x18, .dst_reg = 1, .src_reg = 1, .imm = 0 }, { 0 },
	{ .code = 0x85, .imm = 1 },
	{ .code = 0x15, .dst_reg = 0, .off = 3, .imm = 0 },
	{ .code = 0x79, .dst_reg = 1, .src_reg = 0 },
	{ .code = 0x07, .dst_reg = 1, .imm = 5 },
	{ .code = 0x7b, .dst_reg = 0, .src_reg = 1 },
	{ .code = 0xb7, .dst_reg = 0, .imm = 2 },
	{ .code = 0x95 },
};

Test(umaps, kernel_run_matches_interpreter)
{
	need_kernel();
	struct sbpf_maps *user = four_maps(), *kern = four_maps();
	size_t n = sizeof(add5) / sizeof(add5[0]);
	uint8_t pkt[64] = { 0 };
	struct sbpf_vm_opts vo = { .sz = sizeof(vo), .type = SBPF_PROG_XDP, .maps = user };
	struct sbpf_vm *vm = sbpf_vm__new(add5, n, &vo, NULL);
	cr_assert_not_null(vm);
	uint64_t r0 = 0;
	cr_assert_eq(sbpf_vm__run(vm, pkt, sizeof(pkt), &r0, NULL), 0);
	cr_assert_eq(r0, 2);
	int fds[SBPF_MAX_MAPS];
	char why[300] = "", log[4096] = "";
	cr_assert_eq(sbpf_kernel_maps_create(kern, fds, why, sizeof(why)), 0, "%s", why);
	struct sbpf_kload_opts lo = { .sz = sizeof(lo), .type = SBPF_KPROG_XDP, .name = "umaps_test",
				      .log_buf = log, .log_size = sizeof(log), .map_fds = fds, .nmap_fds = 4 };
	int pfd = sbpf_kernel_load(add5, n, &lo);
	cr_assert_geq(pfd, 0, "verifier: %s", log);
	struct sbpf_ktest_opts to = { .sz = sizeof(to), .data_in = pkt, .data_len = sizeof(pkt) };
	struct sbpf_ktest_result res = { 0 };
	cr_assert_eq(sbpf_kernel_test_run(pfd, &to, &res), 0);
	cr_assert_eq(res.retval, 2);
	cr_assert_eq(sbpf_kernel_maps_read(kern, fds, why, sizeof(why)), 0, "%s", why);
	char *a = sbpf_maps__dump_json(user), *b = sbpf_maps__dump_json(kern);
	cr_assert_str_eq(a, b);
	cr_assert(strstr(a, "\"0500000000000000\""), "%s", a);
	free(a);
	free(b);
	close(pfd);
	sbpf_kernel_maps_close(kern, fds);
	sbpf_vm__free(vm);
	sbpf_maps__free(user);
	sbpf_maps__free(kern);
}

/* Runs @insns as XDP on the interpreter (with an empty map set: the
 * runtime helpers) and in the kernel on the same 64-byte packet; returns
 * the interpreter's r0 after checking that the kernel's is the same. */
static uint64_t both(const struct sbpf_insn *insns, size_t n)
{
	struct sbpf_maps *m = sbpf_maps__new();
	uint8_t pkt[64], kpkt[64];
	for (int i = 0; i < 64; i++)
		pkt[i] = kpkt[i] = (uint8_t)(i * 7 + 1);
	struct sbpf_vm_opts vo = { .sz = sizeof(vo), .type = SBPF_PROG_XDP, .maps = m };
	struct sbpf_validate_error verr = { 0 };
	struct sbpf_vm *vm = sbpf_vm__new(insns, n, &vo, &verr);
	cr_assert_not_null(vm, "%s", verr.rule);
	uint64_t r0 = 0;
	struct sbpf_run_error err = { 0 };
	cr_assert_eq(sbpf_vm__run(vm, pkt, sizeof(pkt), &r0, &err), 0, "%s", err.reason);
	char log[8192] = "";
	struct sbpf_kload_opts lo = { .sz = sizeof(lo), .type = SBPF_KPROG_XDP, .name = "umaps_helper",
				      .log_buf = log, .log_size = sizeof(log) };
	struct sbpf_ktest_opts to = { .sz = sizeof(to), .data_in = kpkt, .data_len = sizeof(kpkt) };
	struct sbpf_ktest_result res = { 0 };
	cr_assert_eq(sbpf_kernel_run_xdp(insns, n, &lo, &to, &res), 0, "kernel: %s", log);
	cr_assert_eq(res.retval, (uint32_t)r0, "kernel r0 %u, interpreter %llu", res.retval, (unsigned long long)r0);
	sbpf_vm__free(vm);
	sbpf_maps__free(m);
	return r0;
}

Test(umaps, csum_diff_matches_kernel)
{
	need_kernel();
	const struct sbpf_insn p[] = {
		{ .code = 0x18, .dst_reg = 1, .imm = 0x11223344 }, { .imm = 0x55667788 },
		{ .code = 0x7b, .dst_reg = 10, .src_reg = 1, .off = -16 },
		{ .code = 0x18, .dst_reg = 1, .imm = (int32_t)0x99aabbcc }, { .imm = (int32_t)0xddeeff00 },
		{ .code = 0x7b, .dst_reg = 10, .src_reg = 1, .off = -8 },
		{ .code = 0xbf, .dst_reg = 1, .src_reg = 10 }, { .code = 0x07, .dst_reg = 1, .imm = -16 },
		{ .code = 0xb7, .dst_reg = 2, .imm = 8 },
		{ .code = 0xbf, .dst_reg = 3, .src_reg = 10 }, { .code = 0x07, .dst_reg = 3, .imm = -8 },
		{ .code = 0xb7, .dst_reg = 4, .imm = 8 },
		{ .code = 0xb7, .dst_reg = 5, .imm = 0x1234 },
		{ .code = 0x85, .imm = 28 },
		{ .code = 0x95 },
	};
	uint64_t r0 = both(p, sizeof(p) / sizeof(p[0]));
	cr_assert_neq(r0, 0);
}

Test(umaps, redirect_and_adjust_tail_match_kernel)
{
	need_kernel();
	const struct sbpf_insn redir[] = {
		{ .code = 0xb7, .dst_reg = 1, .imm = 1 }, { .code = 0xb7, .dst_reg = 2, .imm = 0 },
		{ .code = 0x85, .imm = 23 }, { .code = 0x95 },
	};
	cr_assert_eq(both(redir, 4), 4); /* XDP_REDIRECT */
	const struct sbpf_insn tail[] = {
		{ .code = 0xbf, .dst_reg = 6, .src_reg = 1 },
		{ .code = 0xb7, .dst_reg = 2, .imm = -4 },
		{ .code = 0x85, .imm = 65 },                       /* xdp_adjust_tail(ctx, -4) */
		{ .code = 0x61, .dst_reg = 2, .src_reg = 6, .off = 4 }, /* data_end */
		{ .code = 0x61, .dst_reg = 3, .src_reg = 6, .off = 0 }, /* data */
		{ .code = 0xbf, .dst_reg = 0, .src_reg = 2 },
		{ .code = 0x1f, .dst_reg = 0, .src_reg = 3 },      /* r0 = data_end - data */
		{ .code = 0x95 },
	};
	cr_assert_eq(both(tail, 8), 60);
}

Test(umaps, prandom_is_seeded)
{
	const struct sbpf_insn p[] = { { .code = 0x85, .imm = 7 }, { .code = 0x95 } };
	uint64_t r[2];
	for (int i = 0; i < 2; i++) {
		struct sbpf_maps *m = sbpf_maps__new();
		sbpf_maps__set_seed(m, 42);
		struct sbpf_vm_opts vo = { .sz = sizeof(vo), .maps = m };
		struct sbpf_vm *vm = sbpf_vm__new(p, 2, &vo, NULL);
		cr_assert_eq(sbpf_vm__run(vm, NULL, 0, &r[i], NULL), 0);
		sbpf_vm__free(vm);
		sbpf_maps__free(m);
	}
	cr_assert_eq(r[0], r[1]);
}
