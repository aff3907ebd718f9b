/* test_testrun.c - the kernel baseline engine (src/kernel/testrun.c):
 * BPF_PROG_TEST_RUN of XDP programs on given packet bytes. Skipped, with the
 * reason, without CAP_BPF.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "safebpf/kernel.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void need_kernel(void)
{
	char why[160];
	if (sbpf_kernel_check_privileges(why, sizeof(why)))
		cr_skip_test("kernel tests skipped: %s", why);
}

/* r0 = data_end - data; packet byte 0 = 0x5a (after checking the length). */
static const struct sbpf_insn prog[] = {
	SBPF_LDX_MEM(SBPF_W, 2, 1, 0),
	SBPF_LDX_MEM(SBPF_W, 3, 1, 4),
	SBPF_MOV64_REG(0, 3),
	SBPF_ALU64_REG(SBPF_SUB, 0, 2),
	SBPF_MOV64_REG(4, 2),
	SBPF_ALU64_IMM(SBPF_ADD, 4, 1),
	SBPF_JMP_REG(SBPF_JGT, 4, 3, 1),
	SBPF_ST_MEM(SBPF_B, 2, 0, 0x5a),
	SBPF_EXIT_INSN(),
};

Test(testrun, returns_r0_packet_and_duration)
{
	need_kernel();
	uint8_t in[60] = { 1, 2, 3 }, out[60] = { 0 };
	struct sbpf_ktest_opts o = {
		.sz = sizeof(o), .data_in = in, .data_len = sizeof(in), .data_out = out,
		.data_out_size = sizeof(out), .repeat = 1000,
	};
	struct sbpf_ktest_result r = { 0 };
	int rc = sbpf_kernel_run_xdp(prog, N(prog), NULL, &o, &r);
	cr_assert_eq(rc, 0, "test run failed: %s", strerror(-rc));
	cr_assert_eq(r.retval, 60);
	cr_assert_eq(r.data_out_len, 60);
	cr_assert_eq(out[0], 0x5a);
	cr_assert_eq(out[1], 2);
	cr_assert_eq(in[0], 1, "the input must not change");
	cr_assert_gt(r.duration_ns, 0);
}

Test(testrun, refusals)
{
	need_kernel();
	uint8_t in[10] = { 0 };
	struct sbpf_ktest_opts o = { .sz = sizeof(o), .data_in = in, .data_len = sizeof(in) };
	struct sbpf_ktest_result r = { 0 };
	cr_assert_eq(sbpf_kernel_run_xdp(prog, N(prog), NULL, &o, &r), -EINVAL, "10-byte packet accepted");
	/* reads the packet without a bounds check: the verifier refuses */
	struct sbpf_insn bad[] = { SBPF_LDX_MEM(SBPF_W, 2, 1, 0), SBPF_LDX_MEM(SBPF_B, 0, 2, 0), SBPF_EXIT_INSN() };
	char log[65536] = "";
	struct sbpf_kload_opts lo = { .sz = sizeof(lo), .log_buf = log, .log_size = sizeof(log) };
	uint8_t pkt[64] = { 0 };
	o.data_in = pkt;
	o.data_len = sizeof(pkt);
	int rc = sbpf_kernel_run_xdp(bad, N(bad), &lo, &o, &r);
	cr_assert(rc == -EACCES || rc == -EINVAL, "rc %d", rc);
	cr_assert(strstr(log, "invalid access to packet"), "log: %s", log);
}
