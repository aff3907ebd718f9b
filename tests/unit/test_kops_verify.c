/* test_kops_verify.c - sbpf_kops_verify_kernel(): the running kernel's
 * verifier judges the lowered program (as XDP) before native operations are
 * trusted. Accepted: a site whose proof sequence is safe in context.
 * Refused, with the verifier's reason: the same operation reading the XDP
 * context at an offset the kernel forbids, and a site whose proof sequence
 * reads a packet pointer without a bounds check. Skipped, with the reason,
 * without the privileges to load programs. Read-only data goes with the
 * program (sbpf_kops_verify_kernel_opts): accepted with it, refused
 * without it.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "safebpf/kernel.h"
#include "safebpf/kops.h"

static void need_privileges(void)
{
	char why[128];
	if (sbpf_kernel_check_privileges(why, sizeof(why)))
		cr_skip_test("cannot load BPF programs here: %s", why);
}

/* Lowers "prefix; site @p; suffix" and asks the kernel; returns its verdict. */
static int verify(const struct sbpf_insn *pre, size_t npre, const struct sbpf_kops_payload *p,
		  const struct sbpf_insn *post, size_t npost, char *why, size_t whysz)
{
	struct sbpf_insn prog[32];
	size_t n = 0;
	for (size_t i = 0; i < npre; i++)
		prog[n++] = pre[i];
	sbpf_kops_encode(p, &prog[n]);
	n += 2;
	for (size_t i = 0; i < npost; i++)
		prog[n++] = post[i];
	struct sbpf_kops_lowered l;
	struct sbpf_validate_error err;
	cr_assert_eq(sbpf_kops_lower(prog, n, &l, &err), 0, "%s", err.rule);
	int rc = sbpf_kops_verify_kernel(&l, why, whysz);
	sbpf_kops_lowered__free(&l);
	return rc;
}

Test(kops_verify, accepts_a_safe_lowered_program)
{
	need_privileges();
	struct sbpf_insn pre[] = { SBPF_MOV64_IMM(1, 0x1234), SBPF_MOV64_IMM(3, 3) };
	struct sbpf_insn post[] = { SBPF_MOV64_IMM(0, 2), SBPF_EXIT_INSN() };
	char why[400] = "";
	int rc = verify(pre, 2, &(struct sbpf_kops_payload){ .op = SBPF_KOPS_ROTATE, .dst = 1, .c = 2, .imm = 5 },
			post, 2, why, sizeof(why));
	cr_assert_eq(rc, 0, "refused: %s", why);
}

Test(kops_verify, refuses_a_context_read_with_the_verifiers_reason)
{
	need_privileges();
	struct sbpf_insn post[] = { SBPF_EXIT_INSN() };
	char why[400] = "";
	int rc = verify(NULL, 0, &(struct sbpf_kops_payload){ .op = SBPF_KOPS_BSWAP_LOAD, .variant = 1, .dst = 0,
								   .a = 1, .imm = 100 }, post, 1, why, sizeof(why));
	cr_assert_lt(rc, 0);
	cr_assert(strstr(why, "kernel verifier rejected the lowered program") &&
		  strstr(why, "invalid bpf_context access"), "%s", why);
}

Test(kops_verify, refuses_an_unchecked_packet_read)
{
	need_privileges();
	/* r2 = ctx->data; bswap_load from it with no data_end check. */
	struct sbpf_insn pre[] = { SBPF_LDX_MEM(SBPF_W, 2, 1, 0) };
	struct sbpf_insn post[] = { SBPF_MOV64_IMM(0, 2), SBPF_EXIT_INSN() };
	char why[400] = "";
	int rc = verify(pre, 1, &(struct sbpf_kops_payload){ .op = SBPF_KOPS_BSWAP_LOAD, .variant = 2, .dst = 3,
							      .a = 2, .imm = 0 }, post, 2, why, sizeof(why));
	cr_assert_lt(rc, 0);
	cr_assert(strstr(why, "kernel verifier rejected the lowered program"), "%s", why);
	cr_log_info("verifier: %s", why);
}

Test(kops_verify, nothing_to_verify)
{
	char why[128];
	struct sbpf_kops_lowered empty = { 0 };
	cr_assert_eq(sbpf_kops_verify_kernel(&empty, why, sizeof(why)), -EINVAL);
}

Test(kops_verify, read_only_data_goes_with_the_program)
{
	need_privileges();
	/* r2 = &rodata[8]; r1 = *(u64 *)r2; a rotate of it; return its low byte */
	struct sbpf_insn pre[] = {
		SBPF_INSN(SBPF_LD | SBPF_DW | SBPF_IMM, 2, SBPF_PSEUDO_MAP_IDX_VALUE, 0, 0),
		SBPF_INSN(0, 0, 0, 0, 8),
		SBPF_LDX_MEM(SBPF_DW, 1, 2, 0),
	};
	struct sbpf_insn post[] = { SBPF_MOV64_REG(0, 1), SBPF_ALU64_IMM(SBPF_AND, 0, 0xff), SBPF_EXIT_INSN() };
	struct sbpf_insn prog[16];
	size_t n = 0;
	for (size_t i = 0; i < 3; i++)
		prog[n++] = pre[i];
	sbpf_kops_encode(&(struct sbpf_kops_payload){ .op = SBPF_KOPS_ROTATE, .dst = 1, .c = 3, .imm = 8 }, &prog[n]);
	n += 2;
	for (size_t i = 0; i < 3; i++)
		prog[n++] = post[i];
	struct sbpf_kops_lowered l;
	struct sbpf_validate_error err;
	cr_assert_eq(sbpf_kops_lower(prog, n, &l, &err), 0, "%s", err.rule);
	static const uint8_t ro[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	struct sbpf_kops_verify_opts vo = { .sz = sizeof(vo), .rodata = ro, .rodata_len = sizeof(ro) };
	char why[400] = "";
	cr_assert_eq(sbpf_kops_verify_kernel_opts(&l, &vo, why, sizeof(why)), 0, "refused: %s", why);
	/* without it the kernel has no map for the lddw */
	cr_assert_lt(sbpf_kops_verify_kernel(&l, why, sizeof(why)), 0);
	cr_log_info("without read-only data: %s", why);
	/* a read past its end is the verifier's to refuse */
	vo.rodata_len = 12;
	cr_assert_lt(sbpf_kops_verify_kernel_opts(&l, &vo, why, sizeof(why)), 0);
	sbpf_kops_lowered__free(&l);
}
