/* test_ctx.c - the xdp program type: context conversion (src/vm/ctxconv.c)
 * on the shapes clang emits and on what the kernel refuses, and xdp runs on
 * the interpreter and the JIT (checked and unchecked) over the same packet.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "safebpf/ctx.h"
#include "safebpf/jit.h"
#include "safebpf/vm.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define LDXW(d, s, o) SBPF_LDX_MEM(SBPF_W, d, s, o)

/* Rewrites @p in place as xdp; returns the result code. */
static int rewrite(struct sbpf_insn *p, size_t n, struct sbpf_validate_error *err)
{
	cr_assert_eq(sbpf_validate(p, n, NULL), 0, "test program invalid");
	return sbpf_ctx_rewrite(SBPF_PROG_XDP, p, n, err);
}

static void assert_load(const struct sbpf_insn *in, uint8_t size, int16_t off)
{
	cr_assert_eq(in->code, SBPF_LDX | SBPF_MEM | size, "code 0x%02x", in->code);
	cr_assert_eq(in->off, off, "off %d, want %d", in->off, off);
}

Test(ctx, fields_become_loads_of_the_user_space_context)
{
	struct sbpf_insn p[] = {
		LDXW(2, 1, 0), LDXW(3, 1, 4), LDXW(4, 1, 8), LDXW(5, 1, 12), LDXW(6, 1, 16),
		LDXW(7, 1, 20), SBPF_MOV64_IMM(0, 0), SBPF_EXIT_INSN(),
	};
	cr_assert_eq(rewrite(p, N(p), NULL), 0);
	assert_load(&p[0], SBPF_DW, 0);
	assert_load(&p[1], SBPF_DW, 8);
	assert_load(&p[2], SBPF_DW, 16);
	assert_load(&p[3], SBPF_W, 24);
	assert_load(&p[4], SBPF_W, 28);
	assert_load(&p[5], SBPF_W, 32);
	cr_assert_eq(offsetof(struct sbpf_xdp_ctx, data_end), 8);
	cr_assert_eq(offsetof(struct sbpf_xdp_ctx, ingress_ifindex), 24);
	cr_assert_eq(offsetof(struct sbpf_xdp_ctx, egress_ifindex), 32);
}

Test(ctx, follows_moves_spills_and_calls)
{
	struct sbpf_insn p[] = {
		SBPF_MOV64_REG(6, 1),                       /* 0 */
		SBPF_STX_MEM(SBPF_DW, SBPF_REG_FP, 6, -16), /* 1 spill */
		SBPF_MOV64_IMM(1, 7),                       /* 2 r1 no longer ctx */
		SBPF_LDX_MEM(SBPF_DW, 7, SBPF_REG_FP, -16), /* 3 fill */
		LDXW(2, 7, 4),                              /* 4 via the filled copy */
		LDXW(3, 6, 0),                              /* 5 via the moved copy */
		SBPF_MOV64_REG(1, 6),                       /* 6 */
		SBPF_INSN(SBPF_JMP | SBPF_CALL, 0, SBPF_PSEUDO_CALL, 0, 2), /* 7 call 10 */
		SBPF_ALU64_REG(SBPF_SUB, 0, 0),             /* 8 */
		SBPF_EXIT_INSN(),                           /* 9 */
		LDXW(0, 1, 12),                             /* 10 callee: r1 is the ctx */
		SBPF_EXIT_INSN(),                           /* 11 */
	};
	cr_assert_eq(rewrite(p, N(p), NULL), 0);
	assert_load(&p[4], SBPF_DW, 8);
	assert_load(&p[5], SBPF_DW, 0);
	assert_load(&p[10], SBPF_W, 24);
}

Test(ctx, packet_loads_are_left_alone)
{
	struct sbpf_insn p[] = {
		LDXW(2, 1, 0), LDXW(0, 2, 0), LDXW(3, 2, 4), SBPF_EXIT_INSN(),
	};
	cr_assert_eq(rewrite(p, N(p), NULL), 0);
	assert_load(&p[1], SBPF_W, 0);
	assert_load(&p[2], SBPF_W, 4);
}

Test(ctx, mem_type_is_unchanged)
{
	struct sbpf_insn p[] = { LDXW(0, 1, 4), SBPF_EXIT_INSN() }, copy[2];
	memcpy(copy, p, sizeof(p));
	cr_assert_eq(sbpf_ctx_rewrite(SBPF_PROG_MEM, p, N(p), NULL), 0);
	cr_assert_eq(memcmp(p, copy, sizeof(p)), 0);
}

/* Expects a refusal at @pc whose reason contains @what. */
static void refused(struct sbpf_insn *p, size_t n, size_t pc, const char *what)
{
	struct sbpf_validate_error err = { 0 };
	cr_assert_eq(rewrite(p, n, &err), -EINVAL, "accepted, want refusal: %s", what);
	cr_assert_eq(err.index, pc, "refused at %zu, want %zu (%s)", err.index, pc, err.rule);
	cr_assert(strstr(err.rule, what), "reason '%s' lacks '%s'", err.rule, what);
}

Test(ctx, refuses_what_the_kernel_refuses)
{
	struct sbpf_insn store[] = { SBPF_ST_MEM(SBPF_W, 1, 0, 5), SBPF_MOV64_IMM(0, 0), SBPF_EXIT_INSN() };
	refused(store, N(store), 0, "read-only");
	struct sbpf_insn narrow[] = { SBPF_LDX_MEM(SBPF_H, 0, 1, 0), SBPF_EXIT_INSN() };
	refused(narrow, N(narrow), 0, "size 2");
	struct sbpf_insn wide[] = { SBPF_LDX_MEM(SBPF_DW, 0, 1, 0), SBPF_EXIT_INSN() };
	refused(wide, N(wide), 0, "size 8");
	struct sbpf_insn past[] = { LDXW(0, 1, 24), SBPF_EXIT_INSN() };
	refused(past, N(past), 0, "offset 24");
	struct sbpf_insn moved[] = { SBPF_ALU64_IMM(SBPF_ADD, 1, 4), LDXW(0, 1, 0), SBPF_EXIT_INSN() };
	refused(moved, N(moved), 1, "modified context pointer");
	struct sbpf_insn mixed[] = {
		SBPF_MOV64_REG(3, 10), SBPF_ALU64_IMM(SBPF_ADD, 3, -8),
		SBPF_ST_MEM(SBPF_DW, 10, -8, 0),
		SBPF_JMP_IMM(SBPF_JEQ, 2, 0, 1), SBPF_MOV64_REG(3, 1),
		LDXW(0, 3, 0), SBPF_EXIT_INSN(),
	};
	refused(mixed, N(mixed), 5, "some paths");
	struct sbpf_insn atomic[] = {
		SBPF_MOV64_IMM(2, 1), SBPF_ATOMIC_OP(SBPF_W, SBPF_ADD, 1, 2, 0), SBPF_MOV64_IMM(0, 0),
		SBPF_EXIT_INSN(),
	};
	refused(atomic, N(atomic), 1, "read-only");
}

/* An xdp program: r0 = (data_end - data) << 8 | ingress_ifindex; it also
 * writes 0xab into packet byte 3 when the packet has 4 bytes or more. */
static const struct sbpf_insn xdp_prog[] = {
	LDXW(2, 1, 0),                              /* r2 = data */
	LDXW(3, 1, 4),                              /* r3 = data_end */
	LDXW(4, 1, 12),                             /* r4 = ingress_ifindex */
	SBPF_MOV64_REG(0, 3),
	SBPF_ALU64_REG(SBPF_SUB, 0, 2),
	SBPF_ALU64_IMM(SBPF_LSH, 0, 8),
	SBPF_ALU64_REG(SBPF_OR, 0, 4),
	SBPF_MOV64_REG(5, 2),
	SBPF_ALU64_IMM(SBPF_ADD, 5, 4),
	SBPF_JMP_REG(SBPF_JGT, 5, 3, 1),
	SBPF_ST_MEM(SBPF_B, 2, 3, 0xab),
	SBPF_EXIT_INSN(),
};

Test(ctx, interpreter_and_jit_run_xdp_alike)
{
	for (int engine = 0; engine < 3; engine++) {
		uint8_t pkt[20] = { 0 };
		uint64_t r0 = 0;
		struct sbpf_run_error err = { 0 };
		int rc;
		if (engine == 0) {
			struct sbpf_vm_opts o = { .sz = sizeof(o), .type = SBPF_PROG_XDP };
			struct sbpf_vm *vm = sbpf_vm__new(xdp_prog, N(xdp_prog), &o, NULL);
			cr_assert_not_null(vm);
			rc = sbpf_vm__run(vm, pkt, sizeof(pkt), &r0, &err);
			sbpf_vm__free(vm);
		} else {
			struct sbpf_jit_opts o = { .sz = sizeof(o), .type = SBPF_PROG_XDP, .unchecked = engine == 2 };
			struct sbpf_jit *jit = sbpf_jit__new(xdp_prog, N(xdp_prog), &o, NULL);
			cr_assert_not_null(jit);
			rc = sbpf_jit__run(jit, pkt, sizeof(pkt), &r0, &err);
			sbpf_jit__free(jit);
		}
		cr_assert_eq(rc, 0, "engine %d: %s", engine, err.reason);
		cr_assert_eq(r0, (20u << 8) | 1, "engine %d: r0 0x%llx", engine, (unsigned long long)r0);
		cr_assert_eq(pkt[3], 0xab, "engine %d did not write the packet", engine);
	}
}

Test(ctx, packet_bounds_are_checked)
{
	/* reads data[8] without checking data_end */
	struct sbpf_insn p[] = { LDXW(2, 1, 0), SBPF_LDX_MEM(SBPF_B, 0, 2, 8), SBPF_EXIT_INSN() };
	uint8_t pkt[8] = { 0 };
	uint64_t r0;
	struct sbpf_run_error err = { 0 };
	struct sbpf_vm_opts vo = { .sz = sizeof(vo), .type = SBPF_PROG_XDP };
	struct sbpf_vm *vm = sbpf_vm__new(p, N(p), &vo, NULL);
	cr_assert_eq(sbpf_vm__run(vm, pkt, sizeof(pkt), &r0, &err), -EFAULT);
	cr_assert_eq(err.pc, 1);
	sbpf_vm__free(vm);
	struct sbpf_jit_opts jo = { .sz = sizeof(jo), .type = SBPF_PROG_XDP };
	struct sbpf_jit *jit = sbpf_jit__new(p, N(p), &jo, NULL);
	cr_assert_eq(sbpf_jit__run(jit, pkt, sizeof(pkt), &r0, &err), -EFAULT);
	cr_assert_eq(err.pc, 1);
	sbpf_jit__free(jit);
}

Test(ctx, engines_refuse_bad_context_access_at_load)
{
	struct sbpf_insn p[] = { SBPF_LDX_MEM(SBPF_H, 0, 1, 2), SBPF_EXIT_INSN() };
	struct sbpf_validate_error err = { 0 };
	struct sbpf_vm_opts vo = { .sz = sizeof(vo), .type = SBPF_PROG_XDP };
	cr_assert_null(sbpf_vm__new(p, N(p), &vo, &err));
	cr_assert_eq(errno, EINVAL);
	cr_assert(strstr(err.rule, "xdp_md"), "%s", err.rule);
	struct sbpf_jit_opts jo = { .sz = sizeof(jo), .type = SBPF_PROG_XDP };
	cr_assert_null(sbpf_jit__new(p, N(p), &jo, &err));
	cr_assert_eq(errno, EINVAL);
}
