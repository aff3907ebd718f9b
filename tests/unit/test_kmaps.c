/* test_kmaps.c - the kernel layer added for event sources (maps.c,
 * ringbuf.c, attach.c) against the running kernel: map element access and
 * iteration, per-CPU sums, a raw-tracepoint program feeding a ring buffer,
 * and links that are gone after destroy. Each test skips, saying why,
 * without CAP_BPF.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "safebpf/isa.h"
#include "safebpf/kernel.h"
#include "sql/sqlInt.h"

static void need_bpf(void)
{
	char why[200];
	if (sbpf_kernel_check_privileges(why, sizeof(why)))
		cr_skip_test("%s", why);
}

Test(kmaps, hash_access_and_iteration)
{
	need_bpf();
	struct sbpf_kmap_opts o = { .sz = sizeof(o), .type = SBPF_KMAP_HASH, .name = "t_hash",
				    .key_size = 4, .value_size = 8, .max_entries = 16 };
	int fd = sbpf_kmap_create(&o);
	cr_assert(fd >= 0, "create: %s", strerror(-fd));
	for (uint32_t k = 1; k <= 5; k++) {
		uint64_t v = k * 100;
		cr_assert_eq(sbpf_kmap_update(fd, &k, &v, BPF_ANY), 0);
	}
	uint32_t k = 3, next;
	uint64_t v = 0;
	cr_assert_eq(sbpf_kmap_lookup(fd, &k, &v), 0);
	cr_assert_eq(v, 300);
	cr_assert_eq(sbpf_kmap_delete(fd, &k), 0);
	cr_assert_eq(sbpf_kmap_lookup(fd, &k, &v), -ENOENT);
	cr_assert_eq(sbpf_kmap_delete(fd, &k), -ENOENT);
	int n = 0;
	uint64_t keysum = 0;
	for (int rc = sbpf_kmap_next_key(fd, NULL, &next); rc == 0; rc = sbpf_kmap_next_key(fd, &k, &next)) {
		n++;
		keysum += next;
		k = next;
	}
	cr_assert_eq(n, 4);
	cr_assert_eq(keysum, 1 + 2 + 4 + 5);
	close(fd);
}

Test(kmaps, percpu_sum)
{
	need_bpf();
	struct sbpf_kmap_opts o = { .sz = sizeof(o), .type = SBPF_KMAP_PERCPU_ARRAY, .key_size = 4,
				    .value_size = 8, .max_entries = 2 };
	int fd = sbpf_kmap_create(&o);
	cr_assert(fd >= 0);
	int ncpus = sbpf_kernel_ncpus();
	cr_assert(ncpus >= 1);
	uint64_t *vals = calloc((size_t)ncpus, 8), sum = 99;
	cr_assert_eq(sbpf_kmap_percpu_sum(fd, 1, &sum), 0);
	cr_assert_eq(sum, 0);
	for (int i = 0; i < ncpus; i++)
		vals[i] = (uint64_t)i + 1;
	uint32_t key = 1;
	cr_assert_eq(sbpf_kmap_update(fd, &key, vals, BPF_ANY), 0);
	cr_assert_eq(sbpf_kmap_percpu_sum(fd, 1, &sum), 0);
	cr_assert_eq(sum, (uint64_t)ncpus * (ncpus + 1) / 2);
	cr_assert_eq(sbpf_kmap_percpu_sum(fd, 5, &sum), -ENOENT);
	free(vals);
	close(fd);
}

static int count_getppid(void *ctx, const void *data, size_t len)
{
	cr_assert_eq(len, 8);
	uint64_t id;
	memcpy(&id, data, 8);
	if (id == SYS_getppid)
		(*(int *)ctx)++;
	return 0;
}

/* A raw tracepoint program on sys_enter that sends this process's syscall
 * numbers to a ring buffer: exactly the getppid calls made come back. */
Test(kmaps, raw_tracepoint_to_ringbuf)
{
	need_bpf();
	struct sbpf_kmap_opts o = { .sz = sizeof(o), .type = SBPF_KMAP_RINGBUF, .max_entries = 1 << 16 };
	int rb = sbpf_kmap_create(&o);
	cr_assert(rb >= 0, "ringbuf: %s", strerror(-rb));
	struct sbpf_builder *b = sbpf_builder__new();
	int out = sbpf_builder__new_label(b);
	sbpf_builder__emit(b, SBPF_LDX_MEM(SBPF_DW, 6, 1, 8));      /* r6 = ctx->args[1] (syscall id) */
	sbpf_builder__emit(b, SBPF_CALL_HELPER(BPF_FUNC_get_current_pid_tgid));
	sbpf_builder__emit(b, SBPF_ALU64_IMM(SBPF_RSH, 0, 32));
	sbpf_builder__jump(b, SBPF_JMP_IMM(SBPF_JNE, 0, getpid(), 0), out);
	sbpf_builder__emit(b, SBPF_STX_MEM(SBPF_DW, SBPF_REG_FP, 6, -8));
	sbpf_builder__emit_lddw(b, 1, SBPF_PSEUDO_MAP_FD, (uint64_t)rb);
	sbpf_builder__emit(b, SBPF_MOV64_REG(2, SBPF_REG_FP));
	sbpf_builder__emit(b, SBPF_ALU64_IMM(SBPF_ADD, 2, -8));
	sbpf_builder__emit(b, SBPF_MOV64_IMM(3, 8));
	sbpf_builder__emit(b, SBPF_MOV64_IMM(4, 0));
	sbpf_builder__emit(b, SBPF_CALL_HELPER(BPF_FUNC_ringbuf_output));
	sbpf_builder__bind(b, out);
	sbpf_builder__emit(b, SBPF_MOV64_IMM(0, 0));
	sbpf_builder__emit(b, SBPF_EXIT_INSN());
	struct sbpf_insn *prog;
	size_t n;
	cr_assert_eq(sbpf_builder__finish(b, &prog, &n, NULL), 0);
	sbpf_builder__free(b);
	static char log[1 << 16];
	struct sbpf_kload_opts lo = { .sz = sizeof(lo), .type = SBPF_KPROG_RAW_TRACEPOINT, .name = "t_rawtp",
				      .log_buf = log, .log_size = sizeof(log) };
	int pfd = sbpf_kernel_load(prog, n, &lo);
	cr_assert(pfd >= 0, "load: %s\n%s", strerror(-pfd), log);
	char err[256];
	struct sbpf_klink *l = sbpf_klink__raw_tracepoint(pfd, "sys_enter", err, sizeof(err));
	cr_assert_not_null(l, "%s", err);
	uint32_t lid = sbpf_klink__id(l);
	cr_assert_eq(sbpf_kernel_link_exists(lid), 1);
	int got = 0;
	struct sbpf_kringbuf *r = sbpf_kringbuf__new(rb, count_getppid, &got);
	cr_assert_not_null(r);
	for (int i = 0; i < 7; i++)
		syscall(SYS_getppid);
	uint64_t cons, prod;
	cr_assert_eq(sbpf_kringbuf__positions(r, &cons, &prod), 0);
	cr_assert(prod > cons);
	cr_assert(sbpf_kringbuf__poll(r, 0) >= 7);
	cr_assert_eq(got, 7);
	sbpf_klink__destroy(l);
	cr_assert_eq(sbpf_kernel_link_exists(lid), 0);
	struct sbpf_kprog_info info;
	cr_assert_eq(sbpf_kernel_prog_info(pfd, &info), 0);
	cr_assert_eq(sbpf_kernel_prog_exists(info.id), 1);
	close(pfd);
	/* A raw tracepoint link drops its program after an RCU grace period. */
	cr_assert_eq(sbpf_kernel_prog_wait_gone(info.id, 2000), 0);
	sbpf_kringbuf__free(r);
	close(rb);
	free(prog);
}

Test(kmaps, missing_tracepoint_is_an_error_not_a_crash)
{
	static const char *const tps[] = { "nosuchsys/nosuchevent", NULL };
	static const struct sql_probe probes[] = { { "nosuchsys/nosuchevent", "test" } };
	static const struct sql_column cols[] = {
		{ "ts", NULL, SQL_T_TIME, "t", { .conv = SQL_CONV_NUM, .in = { { 0, -1, "$ts" } } } },
	};
	static const struct sql_table t = { "ghost", NULL, "a table whose tracepoint is missing", cols, 1, tps,
					    probes, 1, NULL, NULL };
	char why[300] = "";
	cr_assert_not(sql_table_available(&t, why, sizeof(why)));
	cr_assert_neq(why[0], '\0');
	char err[300] = "";
	cr_assert_null(sql_source_open(&t, NULL, err, sizeof(err)));
	cr_assert_neq(err[0], '\0');
	cr_assert(sbpf_kernel_tracepoint_id("nosuchsys/nosuchevent") < 0);
	cr_assert_eq(sbpf_kernel_tracepoint_id("../../etc/passwd"), -EINVAL);
	if (!sbpf_kernel_check_privileges(why, sizeof(why))) /* else the privilege check speaks first */
		cr_assert(strstr(err, "does not exist"), "%s", err);
}
