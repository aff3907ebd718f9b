/* test_interp.c - edge cases of the reference interpreter (src/vm/), with
 * programs made by the instruction macros and the builder: arithmetic
 * corner cases of RFC 9669, every memory-safety check, calls, budget,
 * helpers and the pseudo forms user space refuses.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safebpf/isa.h"
#include "safebpf/vm.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Loads @p (must be valid), runs it on @mem, returns the run's return code;
 * r0 and the error go to *@r0 / *@err. */
static int run_on(const struct sbpf_insn *p, size_t n, void *mem, size_t len, uint64_t *r0,
		  struct sbpf_run_error *err, uint64_t budget)
{
	struct sbpf_vm_opts o = { .sz = sizeof(o), .insn_budget = budget };
	struct sbpf_validate_error verr = { 0 };
	struct sbpf_vm *vm = sbpf_vm__new(p, n, &o, &verr);
	cr_assert_not_null(vm, "program rejected: insn %zu: %s", verr.index, verr.rule);
	memset(err, 0, sizeof(*err));
	int rc = sbpf_vm__run(vm, mem, len, r0, err);
	sbpf_vm__free(vm);
	return rc;
}

/* Runs @p without memory and expects success; returns r0. */
static uint64_t r0_of(const struct sbpf_insn *p, size_t n)
{
	uint64_t r0 = 0xdead;
	struct sbpf_run_error err;
	int rc = run_on(p, n, NULL, 0, &r0, &err, 0);
	cr_assert_eq(rc, 0, "run failed at pc %zu: %s", err.pc, err.reason);
	return r0;
}

#define R0(...) ({ struct sbpf_insn p_[] = { __VA_ARGS__, SBPF_EXIT_INSN() }; r0_of(p_, ARRAY_LEN(p_)); })

/* r0 = a; r1 = b (both via lddw); r0 op= r1 (64 or 32-bit). */
#define BINOP(cls, op, a, b)                                                       \
	R0(SBPF_LD_IMM64_LO(0, 0, a), SBPF_LD_IMM64_HI(a), SBPF_LD_IMM64_LO(1, 0, b), \
	   SBPF_LD_IMM64_HI(b), SBPF_INSN(cls | (op) | SBPF_X, 0, 1, 0, 0))
#define SOP(cls, op, a, b)                                                         \
	R0(SBPF_LD_IMM64_LO(0, 0, a), SBPF_LD_IMM64_HI(a), SBPF_LD_IMM64_LO(1, 0, b), \
	   SBPF_LD_IMM64_HI(b), SBPF_INSN(cls | (op) | SBPF_X, 0, 1, 1, 0))

Test(interp, alu32_results_are_zero_extended)
{
	cr_assert_eq(R0(SBPF_MOV32_IMM(0, -1)), 0xffffffffull);
	cr_assert_eq(R0(SBPF_MOV64_IMM(0, -1), SBPF_ALU32_IMM(SBPF_ADD, 0, 1)), 0);
	cr_assert_eq(R0(SBPF_MOV64_IMM(0, -1), SBPF_ALU32_IMM(SBPF_ADD, 0, 0)), 0xffffffffull);
	cr_assert_eq(R0(SBPF_MOV64_IMM(0, 5), SBPF_ALU32_IMM(SBPF_NEG, 0, 0)), 0xfffffffbull);
	cr_assert_eq(R0(SBPF_MOV64_IMM(0, 5), SBPF_ALU64_IMM(SBPF_NEG, 0, 0)), (uint64_t)-5);
	cr_assert_eq(R0(SBPF_MOV64_IMM(1, -2), SBPF_MOV32_REG(0, 1)), 0xfffffffeull);
}

Test(interp, unsigned_division_and_modulo_by_zero)
{
	cr_assert_eq(BINOP(SBPF_ALU64, SBPF_DIV, 42, 0), 0);
	cr_assert_eq(BINOP(SBPF_ALU64, SBPF_MOD, 42, 0), 42);
	cr_assert_eq(BINOP(SBPF_ALU, SBPF_DIV, 42, 0), 0);
	/* 32-bit modulo by zero keeps the low half and zeroes the upper one */
	cr_assert_eq(BINOP(SBPF_ALU, SBPF_MOD, 0x123456789ull, 0), 0x23456789ull);
	cr_assert_eq(BINOP(SBPF_ALU64, SBPF_MOD, 0x123456789ull, 0), 0x123456789ull);
	/* 64-bit immediate divisors are sign-extended, then unsigned */
	cr_assert_eq(R0(SBPF_MOV64_IMM(0, -1), SBPF_ALU64_IMM(SBPF_DIV, 0, -1)), 1);
	cr_assert_eq(R0(SBPF_MOV64_IMM(0, 7), SBPF_ALU64_IMM(SBPF_DIV, 0, -1)), 0);
	/* 32-bit immediate divisors are unsigned 32-bit */
	cr_assert_eq(R0(SBPF_MOV32_IMM(0, -1), SBPF_ALU32_IMM(SBPF_DIV, 0, -1)), 1);
	/* the 32-bit forms ignore the upper halves */
	cr_assert_eq(BINOP(SBPF_ALU, SBPF_DIV, 0x100000010ull, 0x100000002ull), 8);
}

Test(interp, signed_division_edges)
{
	const uint64_t min64 = 0x8000000000000000ull;
	cr_assert_eq(SOP(SBPF_ALU64, SBPF_DIV, (uint64_t)-7, 2), (uint64_t)-3); /* toward zero */
	cr_assert_eq(SOP(SBPF_ALU64, SBPF_MOD, (uint64_t)-7, 2), (uint64_t)-1); /* sign of dividend */
	cr_assert_eq(SOP(SBPF_ALU64, SBPF_MOD, 7, (uint64_t)-2), 1);
	cr_assert_eq(SOP(SBPF_ALU64, SBPF_DIV, min64, (uint64_t)-1), min64);
	cr_assert_eq(SOP(SBPF_ALU64, SBPF_MOD, min64, (uint64_t)-1), 0);
	cr_assert_eq(SOP(SBPF_ALU64, SBPF_DIV, (uint64_t)-9, 0), 0);
	cr_assert_eq(SOP(SBPF_ALU64, SBPF_MOD, (uint64_t)-9, 0), (uint64_t)-9);
	cr_assert_eq(SOP(SBPF_ALU, SBPF_DIV, 0x80000000ull, 0xffffffffull), 0x80000000ull);
	cr_assert_eq(SOP(SBPF_ALU, SBPF_MOD, 0x80000000ull, 0xffffffffull), 0);
	cr_assert_eq(SOP(SBPF_ALU, SBPF_DIV, 0xfffffff9ull, 2), 0xfffffffdull);
	cr_assert_eq(SOP(SBPF_ALU, SBPF_MOD, 0xfffffff9ull, 2), 0xffffffffull);
	cr_assert_eq(SOP(SBPF_ALU, SBPF_MOD, 0xaaaaaaaafffffff9ull, 0), 0xfffffff9ull);
	cr_assert_eq(SOP(SBPF_ALU, SBPF_DIV, 0xaaaaaaaafffffff9ull, 0), 0);
	/* immediate forms: sdiv64 by imm -1 sign-extends */
	cr_assert_eq(R0(SBPF_MOV64_IMM(0, 10), SBPF_INSN(SBPF_ALU64 | SBPF_DIV | SBPF_K, 0, 0, 1, -3)),
		     (uint64_t)-3);
	cr_assert_eq(R0(SBPF_MOV32_IMM(0, 10), SBPF_INSN(SBPF_ALU | SBPF_MOD | SBPF_K, 0, 0, 1, -3)), 1);
}

Test(interp, shifts_are_masked_to_the_width)
{
	cr_assert_eq(R0(SBPF_MOV64_IMM(0, 1), SBPF_ALU64_IMM(SBPF_LSH, 0, 65)), 2);
	cr_assert_eq(R0(SBPF_MOV64_IMM(0, 1), SBPF_ALU32_IMM(SBPF_LSH, 0, 33)), 2);
	cr_assert_eq(R0(SBPF_MOV64_IMM(0, -8), SBPF_ALU64_IMM(SBPF_ARSH, 0, 1)), (uint64_t)-4);
	cr_assert_eq(R0(SBPF_MOV64_IMM(0, -8), SBPF_ALU32_IMM(SBPF_ARSH, 0, 1)), 0xfffffffcull);
	cr_assert_eq(R0(SBPF_MOV64_IMM(0, -8), SBPF_ALU32_IMM(SBPF_RSH, 0, 1)), 0x7ffffffcull);
	cr_assert_eq(R0(SBPF_MOV64_IMM(0, -1), SBPF_MOV64_IMM(1, 64 + 60), SBPF_ALU64_REG(SBPF_RSH, 0, 1)), 0xf);
}

Test(interp, movsx_and_byte_swaps)
{
	cr_assert_eq(R0(SBPF_MOV64_IMM(1, 0x180), SBPF_INSN(0xbf, 0, 1, 8, 0)), (uint64_t)-128);
	cr_assert_eq(R0(SBPF_MOV64_IMM(1, 0x18000), SBPF_INSN(0xbf, 0, 1, 16, 0)), (uint64_t)-32768);
	cr_assert_eq(R0(SBPF_MOV32_IMM(1, -2), SBPF_INSN(0xbf, 0, 1, 32, 0)), (uint64_t)-2);
	cr_assert_eq(R0(SBPF_MOV64_IMM(1, 0x80), SBPF_INSN(0xbc, 0, 1, 8, 0)), 0xffffff80ull);
	cr_assert_eq(R0(SBPF_MOV64_IMM(1, 0x8000), SBPF_INSN(0xbc, 0, 1, 16, 0)), 0xffff8000ull);
	uint64_t v = 0x0123456789abcdefull;
#define SWAP(code, width) R0(SBPF_LD_IMM64_LO(0, 0, v), SBPF_LD_IMM64_HI(v), SBPF_INSN(code, 0, 0, 0, width))
	cr_assert_eq(SWAP(0xd4, 16), 0xcdefull);
	cr_assert_eq(SWAP(0xd4, 32), 0x89abcdefull);
	cr_assert_eq(SWAP(0xd4, 64), v);
	cr_assert_eq(SWAP(0xdc, 16), 0xefcdull);
	cr_assert_eq(SWAP(0xdc, 32), 0xefcdab89ull);
	cr_assert_eq(SWAP(0xdc, 64), 0xefcdab8967452301ull);
	cr_assert_eq(SWAP(0xd7, 16), 0xefcdull);
	cr_assert_eq(SWAP(0xd7, 32), 0xefcdab89ull);
	cr_assert_eq(SWAP(0xd7, 64), 0xefcdab8967452301ull);
#undef SWAP
}

Test(interp, jmp32_compares_low_halves)
{
	/* r1 = 0x1_00000000: equal to 0 in 32 bits, not in 64 */
	cr_assert_eq(R0(SBPF_MOV64_IMM(0, 0), SBPF_MOV64_IMM(1, 1), SBPF_ALU64_IMM(SBPF_LSH, 1, 32),
			SBPF_JMP32_IMM(SBPF_JEQ, 1, 0, 1), SBPF_EXIT_INSN(), SBPF_MOV64_IMM(0, 1)), 1);
	cr_assert_eq(R0(SBPF_MOV64_IMM(0, 0), SBPF_MOV64_IMM(1, 1), SBPF_ALU64_IMM(SBPF_LSH, 1, 32),
			SBPF_JMP_IMM(SBPF_JEQ, 1, 0, 1), SBPF_EXIT_INSN(), SBPF_MOV64_IMM(0, 1)), 0);
	/* signed 32-bit: 0xffffffff is -1 < 0 */
	cr_assert_eq(R0(SBPF_MOV64_IMM(0, 0), SBPF_MOV32_IMM(1, -1), SBPF_JMP32_IMM(SBPF_JSLT, 1, 0, 1),
			SBPF_EXIT_INSN(), SBPF_MOV64_IMM(0, 1)), 1);
	/* ... but as a 64-bit value it is positive */
	cr_assert_eq(R0(SBPF_MOV64_IMM(0, 0), SBPF_MOV32_IMM(1, -1), SBPF_JMP_IMM(SBPF_JSLT, 1, 0, 1),
			SBPF_EXIT_INSN(), SBPF_MOV64_IMM(0, 1)), 0);
}

Test(interp, loads_at_the_bounds_of_mem)
{
	uint8_t mem[8] = { 1, 2, 3, 4, 0xf5, 0xf6, 0xf7, 0xf8 };
	uint64_t r0;
	struct sbpf_run_error err;
	struct sbpf_insn ok[] = { SBPF_INSN(0x81, 0, 1, 4, 0), SBPF_EXIT_INSN() }; /* ldxsw r0, [r1+4] */
	cr_assert_eq(run_on(ok, 2, mem, sizeof(mem), &r0, &err, 0), 0);
	cr_assert_eq(r0, 0xfffffffff8f7f6f5ull);
	struct sbpf_insn over[] = { SBPF_INSN(0x81, 0, 1, 5, 0), SBPF_EXIT_INSN() };
	cr_assert_eq(run_on(over, 2, mem, sizeof(mem), &r0, &err, 0), -EFAULT);
	cr_assert_eq(err.pc, 0);
	cr_assert(strstr(err.reason, "out-of-bounds 4-byte load at mem+5 (mem is 8 bytes)"), "%s", err.reason);
	struct sbpf_insn under[] = { SBPF_MOV64_IMM(0, 0), SBPF_LDX_MEM(SBPF_B, 0, 1, -1), SBPF_EXIT_INSN() };
	cr_assert_eq(run_on(under, 3, mem, sizeof(mem), &r0, &err, 0), -EFAULT);
	cr_assert_eq(err.pc, 1);
	cr_assert(strstr(err.reason, "at mem-1"), "%s", err.reason);
	/* a huge offset that wraps around the address space is refused, not followed */
	struct sbpf_insn wrap[] = { SBPF_LD_IMM64_LO(2, 0, -1ll), SBPF_LD_IMM64_HI(-1ll),
				    SBPF_ALU64_REG(SBPF_ADD, 1, 2), SBPF_LDX_MEM(SBPF_B, 0, 1, 2), SBPF_EXIT_INSN() };
	cr_assert_eq(run_on(wrap, ARRAY_LEN(wrap), mem, sizeof(mem), &r0, &err, 0), 0);
	cr_assert_eq(r0, 2);
	struct sbpf_insn far[] = { SBPF_LD_IMM64_LO(2, 0, 1ull << 40), SBPF_LD_IMM64_HI(1ull << 40),
				   SBPF_ALU64_REG(SBPF_ADD, 1, 2), SBPF_LDX_MEM(SBPF_DW, 0, 1, 0), SBPF_EXIT_INSN() };
	cr_assert_eq(run_on(far, ARRAY_LEN(far), mem, sizeof(mem), &r0, &err, 0), -EFAULT);
	cr_assert(strstr(err.reason, "invalid 8-byte load at address 0x"), "%s", err.reason);
}

Test(interp, no_memory_means_null_r1)
{
	uint64_t r0;
	struct sbpf_run_error err;
	struct sbpf_insn p[] = { SBPF_LDX_MEM(SBPF_W, 0, 1, 0), SBPF_EXIT_INSN() };
	cr_assert_eq(run_on(p, 2, NULL, 0, &r0, &err, 0), -EFAULT);
	cr_assert(strstr(err.reason, "at address 0x0 (not in stack)"), "%s", err.reason);
	struct sbpf_insn len[] = { SBPF_MOV64_REG(0, 2), SBPF_EXIT_INSN() };
	cr_assert_eq(run_on(len, 2, NULL, 0, &r0, &err, 0), 0);
	cr_assert_eq(r0, 0);
}

Test(interp, stores_are_checked_and_in_place)
{
	uint8_t mem[4] = { 0 };
	uint64_t r0;
	struct sbpf_run_error err;
	struct sbpf_insn p[] = { SBPF_ST_MEM(SBPF_H, 1, 2, 0x1234), SBPF_MOV64_IMM(0, 0), SBPF_EXIT_INSN() };
	cr_assert_eq(run_on(p, 3, mem, sizeof(mem), &r0, &err, 0), 0);
	cr_assert_eq(mem[2], 0x34);
	cr_assert_eq(mem[3], 0x12);
	struct sbpf_insn bad[] = { SBPF_ST_MEM(SBPF_W, 1, 1, 7), SBPF_EXIT_INSN() };
	cr_assert_eq(run_on(bad, 2, mem, sizeof(mem), &r0, &err, 0), -EFAULT);
	cr_assert(strstr(err.reason, "out-of-bounds 4-byte store at mem+1"), "%s", err.reason);
	cr_assert_eq(mem[1], 0, "a refused store must not write");
}

Test(interp, stack_bounds)
{
	uint64_t r0;
	struct sbpf_run_error err;
	struct sbpf_insn ok[] = { SBPF_ST_MEM(SBPF_DW, 10, -512, 7), SBPF_ST_MEM(SBPF_DW, 10, -8, 9),
				  SBPF_LDX_MEM(SBPF_DW, 0, 10, -512), SBPF_LDX_MEM(SBPF_DW, 1, 10, -8),
				  SBPF_ALU64_REG(SBPF_ADD, 0, 1), SBPF_EXIT_INSN() };
	cr_assert_eq(run_on(ok, ARRAY_LEN(ok), NULL, 0, &r0, &err, 0), 0);
	cr_assert_eq(r0, 16);
	struct sbpf_insn below[] = { SBPF_ST_MEM(SBPF_B, 10, -513, 1), SBPF_EXIT_INSN() };
	cr_assert_eq(run_on(below, 2, NULL, 0, &r0, &err, 0), -EFAULT);
	cr_assert(strstr(err.reason, "out-of-bounds 1-byte store at fp-513 (the stack is fp-512..fp-1)"),
		  "%s", err.reason);
	struct sbpf_insn above[] = { SBPF_LDX_MEM(SBPF_DW, 0, 10, -4), SBPF_EXIT_INSN() };
	cr_assert_eq(run_on(above, 2, NULL, 0, &r0, &err, 0), -EFAULT);
	cr_assert(strstr(err.reason, "8-byte load at fp-4"), "%s", err.reason);
}

/* Loading @p fails with a rule containing @why (sbpf_validate_clobbers). */
static void refused(const struct sbpf_insn *p, size_t n, const char *why)
{
	struct sbpf_validate_error verr = { 0 };
	struct sbpf_vm *vm = sbpf_vm__new(p, n, NULL, &verr);
	cr_assert_null(vm, "accepted; expected: %s", why);
	cr_assert(strstr(verr.rule, why), "rule: %s", verr.rule);
}

/* Stack addresses are host addresses, placed differently by each engine:
 * none may leave the program. Inside it they stay usable. */
Test(interp, no_stack_address_leaves_the_program)
{
	struct sbpf_insn ret[] = { SBPF_MOV64_REG(0, 10), SBPF_EXIT_INSN() };
	refused(ret, 2, "returns a stack address in r0");
	struct sbpf_insn off[] = { SBPF_MOV64_REG(0, 10), SBPF_ALU64_IMM(SBPF_ADD, 0, -8),
				   SBPF_ALU64_IMM(SBPF_AND, 0, 0xfff), SBPF_EXIT_INSN() };
	refused(off, 4, "returns a stack address in r0");
	struct sbpf_insn w32[] = { SBPF_MOV32_REG(0, 10), SBPF_EXIT_INSN() };
	refused(w32, 2, "returns a stack address in r0");
	/* spilled and reloaded from the same slot */
	struct sbpf_insn spill[] = { SBPF_STX_MEM(SBPF_DW, 10, 10, -16), SBPF_LDX_MEM(SBPF_DW, 0, 10, -16),
				     SBPF_EXIT_INSN() };
	refused(spill, 3, "returns a stack address in r0");
	/* stored into the caller's memory (r1) */
	struct sbpf_insn out[] = { SBPF_STX_MEM(SBPF_DW, 1, 10, 0), SBPF_MOV64_IMM(0, 0), SBPF_EXIT_INSN() };
	refused(out, 3, "stores a stack address outside the stack");
	struct sbpf_insn out2[] = { SBPF_MOV64_REG(2, 10), SBPF_ALU64_IMM(SBPF_ADD, 2, -8),
				    SBPF_STX_MEM(SBPF_DW, 10, 2, -8), SBPF_LDX_MEM(SBPF_DW, 3, 10, -8),
				    SBPF_STX_MEM(SBPF_W, 1, 3, 0), SBPF_MOV64_IMM(0, 0), SBPF_EXIT_INSN() };
	refused(out2, 7, "stores a stack address outside the stack");
	/* a callee stores its frame's address through the caller's pointer;
	 * the caller reads it back and returns it */
	struct sbpf_insn via_call[] = {
		SBPF_MOV64_REG(1, 10), SBPF_ALU64_IMM(SBPF_ADD, 1, -8),
		SBPF_INSN(SBPF_JMP | SBPF_CALL, 0, SBPF_PSEUDO_CALL, 0, 2),
		SBPF_LDX_MEM(SBPF_DW, 0, 10, -8), SBPF_EXIT_INSN(),
		SBPF_STX_MEM(SBPF_DW, 1, 10, 0), SBPF_MOV64_IMM(0, 0), SBPF_EXIT_INSN(),
	};
	refused(via_call, ARRAY_LEN(via_call), "returns a stack address in r0");
	/* allowed: another slot, an overwritten slot, a distance, a comparison */
	uint64_t r0;
	struct sbpf_run_error err;
	struct sbpf_insn other[] = { SBPF_ST_MEM(SBPF_DW, 10, -8, 5), SBPF_STX_MEM(SBPF_DW, 10, 10, -16),
				     SBPF_LDX_MEM(SBPF_DW, 0, 10, -8), SBPF_EXIT_INSN() };
	cr_assert_eq(run_on(other, 4, NULL, 0, &r0, &err, 0), 0);
	cr_assert_eq(r0, 5);
	struct sbpf_insn over[] = { SBPF_STX_MEM(SBPF_DW, 10, 10, -8), SBPF_ST_MEM(SBPF_DW, 10, -8, 6),
				    SBPF_LDX_MEM(SBPF_DW, 0, 10, -8), SBPF_EXIT_INSN() };
	cr_assert_eq(run_on(over, 4, NULL, 0, &r0, &err, 0), 0);
	cr_assert_eq(r0, 6);
	struct sbpf_insn dist[] = { SBPF_MOV64_REG(2, 10), SBPF_ALU64_IMM(SBPF_ADD, 2, -24), SBPF_MOV64_REG(0, 10),
				    SBPF_ALU64_REG(SBPF_SUB, 0, 2), SBPF_EXIT_INSN() };
	cr_assert_eq(run_on(dist, 5, NULL, 0, &r0, &err, 0), 0);
	cr_assert_eq(r0, 24);
	struct sbpf_insn cmp[] = { SBPF_MOV64_REG(2, 10), SBPF_MOV64_IMM(0, 1),
				   SBPF_JMP_REG(SBPF_JEQ, 2, 10, 1), SBPF_MOV64_IMM(0, 2), SBPF_EXIT_INSN() };
	cr_assert_eq(run_on(cmp, 5, NULL, 0, &r0, &err, 0), 0);
	cr_assert_eq(r0, 1);
}

Test(interp, stack_starts_zeroed_on_every_run)
{
	struct sbpf_insn p[] = { SBPF_LDX_MEM(SBPF_DW, 0, 10, -8), SBPF_ST_MEM(SBPF_DW, 10, -8, 55),
				 SBPF_EXIT_INSN() };
	struct sbpf_vm *vm = sbpf_vm__new(p, 3, NULL, NULL);
	cr_assert_not_null(vm);
	uint64_t r0 = 1;
	cr_assert_eq(sbpf_vm__run(vm, NULL, 0, &r0, NULL), 0);
	cr_assert_eq(r0, 0);
	cr_assert_eq(sbpf_vm__run(vm, NULL, 0, &r0, NULL), 0);
	cr_assert_eq(r0, 0);
	cr_assert_eq(sbpf_vm__insn_count(vm), 3);
	sbpf_vm__free(vm);
}

/* Builds: main stores 77 at fp-8, calls f with r1 = fp-8; f returns *r1 + 1
 * after clobbering r6..r9; main checks r6 and r10 survived. */
Test(interp, local_call_frames)
{
	struct sbpf_builder *b = sbpf_builder__new();
	int f = sbpf_builder__new_label(b), bad = sbpf_builder__new_label(b);
	sbpf_builder__emit(b, SBPF_MOV64_IMM(6, 66));
	sbpf_builder__emit(b, SBPF_ST_MEM(SBPF_DW, 10, -8, 77));
	sbpf_builder__emit(b, SBPF_MOV64_REG(1, 10));
	sbpf_builder__emit(b, SBPF_ALU64_IMM(SBPF_ADD, 1, -8));
	sbpf_builder__emit(b, SBPF_MOV64_REG(7, 10));
	sbpf_builder__call_local(b, f);
	sbpf_builder__jump(b, SBPF_JMP_IMM(SBPF_JNE, 6, 66, 0), bad);
	sbpf_builder__jump(b, SBPF_JMP_REG(SBPF_JNE, 7, 10, 0), bad);
	sbpf_builder__emit(b, SBPF_EXIT_INSN());
	sbpf_builder__bind(b, bad);
	sbpf_builder__emit(b, SBPF_MOV64_IMM(0, -1));
	sbpf_builder__emit(b, SBPF_EXIT_INSN());
	sbpf_builder__bind(b, f);
	sbpf_builder__emit(b, SBPF_LDX_MEM(SBPF_DW, 0, 1, 0)); /* caller's frame via pointer */
	sbpf_builder__emit(b, SBPF_ALU64_IMM(SBPF_ADD, 0, 1));
	sbpf_builder__emit(b, SBPF_ST_MEM(SBPF_DW, 10, -512, 1)); /* own frame, bottom */
	sbpf_builder__emit(b, SBPF_MOV64_IMM(6, 0));
	sbpf_builder__emit(b, SBPF_MOV64_IMM(7, 0));
	sbpf_builder__emit(b, SBPF_EXIT_INSN());
	struct sbpf_insn *p;
	size_t n;
	struct sbpf_validate_error verr;
	cr_assert_eq(sbpf_builder__finish(b, &p, &n, &verr), 0, "%s", verr.rule);
	sbpf_builder__free(b);
	cr_assert_eq(r0_of(p, n), 78);
	free(p);
}

Test(interp, callee_frames_start_zeroed)
{
	/* f returns what it finds at fp-8 and leaves 55 there; called twice. */
	struct sbpf_insn p[] = {
		SBPF_INSN(SBPF_JMP | SBPF_CALL, 0, SBPF_PSEUDO_CALL, 0, 4),
		SBPF_MOV64_REG(6, 0),
		SBPF_INSN(SBPF_JMP | SBPF_CALL, 0, SBPF_PSEUDO_CALL, 0, 2),
		SBPF_ALU64_REG(SBPF_ADD, 0, 6),
		SBPF_EXIT_INSN(),
		SBPF_LDX_MEM(SBPF_DW, 0, 10, -8),
		SBPF_ST_MEM(SBPF_DW, 10, -8, 55),
		SBPF_EXIT_INSN(),
	};
	cr_assert_eq(r0_of(p, ARRAY_LEN(p)), 0);
}

/* f(depth) calls itself r1 times: depth SBPF_MAX_CALL_DEPTH works, one more fails. */
static int recurse(int64_t times, uint64_t *r0, struct sbpf_run_error *err)
{
	struct sbpf_builder *b = sbpf_builder__new();
	int f = sbpf_builder__new_label(b), base = sbpf_builder__new_label(b);
	sbpf_builder__emit(b, SBPF_MOV64_IMM(1, (int32_t)times));
	sbpf_builder__emit(b, SBPF_MOV64_IMM(0, 0));
	sbpf_builder__call_local(b, f);
	sbpf_builder__emit(b, SBPF_EXIT_INSN());
	sbpf_builder__bind(b, f);
	sbpf_builder__jump(b, SBPF_JMP_IMM(SBPF_JEQ, 1, 0, 0), base);
	sbpf_builder__emit(b, SBPF_ALU64_IMM(SBPF_SUB, 1, 1));
	sbpf_builder__emit(b, SBPF_ST_MEM(SBPF_DW, 10, -512, 3)); /* touch each frame's bottom */
	sbpf_builder__call_local(b, f);
	sbpf_builder__emit(b, SBPF_ALU64_IMM(SBPF_ADD, 0, 1));
	sbpf_builder__bind(b, base);
	sbpf_builder__emit(b, SBPF_EXIT_INSN());
	struct sbpf_insn *p;
	size_t n;
	cr_assert_eq(sbpf_builder__finish(b, &p, &n, NULL), 0);
	sbpf_builder__free(b);
	int rc = run_on(p, n, NULL, 0, r0, err, 0);
	free(p);
	return rc;
}

Test(interp, call_depth_limit)
{
	uint64_t r0;
	struct sbpf_run_error err;
	/* main -> f (depth 1) -> ... : times = MAX - 1 gives MAX nested calls */
	cr_assert_eq(recurse(SBPF_MAX_CALL_DEPTH - 1, &r0, &err), 0, "%s", err.reason);
	cr_assert_eq(r0, SBPF_MAX_CALL_DEPTH - 1);
	cr_assert_eq(recurse(SBPF_MAX_CALL_DEPTH, &r0, &err), -EINVAL);
	cr_assert(strstr(err.reason, "call depth limit exceeded"), "%s", err.reason);
}

Test(interp, callee_cannot_reach_below_its_frame)
{
	struct sbpf_insn p[] = {
		SBPF_INSN(SBPF_JMP | SBPF_CALL, 0, SBPF_PSEUDO_CALL, 0, 1),
		SBPF_EXIT_INSN(),
		SBPF_LDX_MEM(SBPF_DW, 0, 10, -520),
		SBPF_EXIT_INSN(),
	};
	uint64_t r0;
	struct sbpf_run_error err;
	cr_assert_eq(run_on(p, 4, NULL, 0, &r0, &err, 0), -EFAULT);
	cr_assert_eq(err.pc, 2);
	cr_assert(strstr(err.reason, "fp-520 (the stack is fp-512..fp+511, callers' frames included)"),
		  "%s", err.reason);
}

Test(interp, budget_stops_endless_loops)
{
	struct sbpf_insn p[] = { SBPF_MOV64_IMM(0, 0), SBPF_ALU64_IMM(SBPF_ADD, 0, 1), SBPF_JA(-2) };
	struct sbpf_vm_opts o = { .sz = sizeof(o), .insn_budget = 1000 };
	struct sbpf_vm *vm = sbpf_vm__new(p, 3, &o, NULL);
	cr_assert_not_null(vm);
	struct sbpf_run_error err;
	uint64_t r0 = 0;
	cr_assert_eq(sbpf_vm__run(vm, NULL, 0, &r0, &err), -E2BIG);
	cr_assert_eq(sbpf_vm__insn_count(vm), 1000);
	cr_assert(strstr(err.reason, "instruction budget of 1000 exhausted"), "%s", err.reason);
	sbpf_vm__free(vm);
}

Test(interp, old_opts_struct_gets_defaults)
{
	struct sbpf_insn p[] = { SBPF_MOV64_IMM(0, 3), SBPF_EXIT_INSN() };
	struct sbpf_vm_opts o = { .sz = offsetof(struct sbpf_vm_opts, insn_budget), .insn_budget = 1 };
	struct sbpf_vm *vm = sbpf_vm__new(p, 2, &o, NULL);
	uint64_t r0 = 0;
	cr_assert_eq(sbpf_vm__run(vm, NULL, 0, &r0, NULL), 0, "budget beyond sz must be ignored");
	cr_assert_eq(r0, 3);
	sbpf_vm__free(vm);
}

static uint64_t add5(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
	return a + b + c + d + e;
}

Test(interp, helpers)
{
	struct sbpf_insn p[] = { SBPF_MOV64_IMM(1, 1), SBPF_MOV64_IMM(2, 2), SBPF_MOV64_IMM(3, 3),
				 SBPF_MOV64_IMM(4, 4), SBPF_MOV64_IMM(5, 5), SBPF_CALL_HELPER(77),
				 SBPF_EXIT_INSN() };
	struct sbpf_vm *vm = sbpf_vm__new(p, ARRAY_LEN(p), NULL, NULL);
	struct sbpf_run_error err;
	uint64_t r0 = 0;
	cr_assert_eq(sbpf_vm__run(vm, NULL, 0, &r0, &err), -EINVAL);
	cr_assert_eq(err.pc, 5);
	cr_assert_str_eq(err.reason, "call to unknown helper 77");
	cr_assert_eq(sbpf_vm__set_helper(vm, 77, "add5", add5), 0);
	cr_assert_str_eq(sbpf_vm__helper_name(vm, 77), "add5");
	cr_assert_eq(sbpf_vm__run(vm, NULL, 0, &r0, &err), 0);
	cr_assert_eq(r0, 15);
	cr_assert_eq(sbpf_vm__set_helper(vm, SBPF_MAX_HELPERS, "x", add5), -EINVAL);
	cr_assert_not_null(sbpf_vm__helper(vm, SBPF_HELPER_IDENTITY));
	sbpf_vm__free(vm);
	cr_assert_eq(R0(SBPF_MOV64_IMM(1, -1), SBPF_CALL_HELPER(5)), (uint64_t)-1);
	uint64_t pid_tgid = R0(SBPF_CALL_HELPER(14));
	cr_assert_eq(pid_tgid >> 32, (uint64_t)getpid());
	struct sbpf_insn neg[] = { SBPF_CALL_HELPER(-1), SBPF_EXIT_INSN() };
	cr_assert_eq(run_on(neg, 2, NULL, 0, &r0, &err, 0), -EINVAL);
	cr_assert_str_eq(err.reason, "call to unknown helper -1");
}

Test(interp, atomics_on_mem)
{
	uint64_t mem[2] = { 10, 0x00000000fffffffeull };
	uint64_t r0;
	struct sbpf_run_error err;
	struct sbpf_insn p[] = {
		SBPF_MOV64_IMM(2, 5),
		SBPF_ATOMIC_OP(SBPF_DW, SBPF_ADD | SBPF_FETCH, 1, 2, 0), /* r2 = 10, mem0 = 15 */
		SBPF_MOV64_IMM(3, 3),
		SBPF_ATOMIC_OP(SBPF_W, SBPF_ADD | SBPF_FETCH, 1, 3, 8),  /* r3 = 0xfffffffe, mem1 = 1 (wraps in 32 bits) */
		SBPF_MOV64_IMM(0, 15),
		SBPF_MOV64_IMM(4, 99),
		SBPF_ATOMIC_OP(SBPF_DW, SBPF_CMPXCHG, 1, 4, 0),          /* equal: mem0 = 99, r0 = 15 */
		SBPF_ALU64_REG(SBPF_ADD, 0, 2),                          /* r0 = 25 */
		SBPF_ALU64_REG(SBPF_ADD, 0, 3),                          /* r0 = 25 + 0xfffffffe */
		SBPF_EXIT_INSN(),
	};
	cr_assert_eq(run_on(p, ARRAY_LEN(p), mem, sizeof(mem), &r0, &err, 0), 0, "%s", err.reason);
	cr_assert_eq(r0, 25 + 0xfffffffeull);
	cr_assert_eq(mem[0], 99);
	cr_assert_eq(mem[1], 1);

	uint64_t m2[1] = { 0xaaaaaaaa00000007ull };
	struct sbpf_insn q[] = {
		SBPF_LD_IMM64_LO(0, 0, 0x100000007ull), SBPF_LD_IMM64_HI(0x100000007ull),
		SBPF_MOV64_IMM(4, 8),
		SBPF_ATOMIC_OP(SBPF_W, SBPF_CMPXCHG, 1, 4, 0), /* low halves equal: store, r0 = 7 */
		SBPF_MOV64_IMM(5, 1),
		SBPF_ATOMIC_OP(SBPF_W, SBPF_XCHG, 1, 5, 4),    /* r5 = 0xaaaaaaaa, upper word = 1 */
		SBPF_ALU64_REG(SBPF_ADD, 0, 5),
		SBPF_EXIT_INSN(),
	};
	cr_assert_eq(run_on(q, ARRAY_LEN(q), m2, sizeof(m2), &r0, &err, 0), 0, "%s", err.reason);
	cr_assert_eq(r0, 7 + 0xaaaaaaaaull);
	cr_assert_eq(m2[0], 0x0000000100000008ull);

	struct sbpf_insn oob[] = { SBPF_ATOMIC_OP(SBPF_DW, SBPF_OR, 1, 1, 4), SBPF_EXIT_INSN() };
	cr_assert_eq(run_on(oob, 2, m2, sizeof(m2), &r0, &err, 0), -EFAULT);
	cr_assert(strstr(err.reason, "out-of-bounds 8-byte atomic at mem+4"), "%s", err.reason);
}

Test(interp, pseudo_forms_fail_at_run_time)
{
	uint64_t r0;
	struct sbpf_run_error err;
	struct sbpf_insn map[] = { SBPF_LD_IMM64_LO(1, SBPF_PSEUDO_MAP_FD, 3), SBPF_LD_IMM64_HI(3),
				   SBPF_MOV64_IMM(0, 0), SBPF_EXIT_INSN() };
	cr_assert_eq(run_on(map, 4, NULL, 0, &r0, &err, 0), -EINVAL);
	cr_assert_eq(err.pc, 0);
	cr_assert(strstr(err.reason, "lddw with src=1 (map_fd)"), "%s", err.reason);
	struct sbpf_insn kf[] = { SBPF_INSN(SBPF_JMP | SBPF_CALL, 0, SBPF_PSEUDO_KFUNC_CALL, 0, 1234),
				  SBPF_EXIT_INSN() };
	cr_assert_eq(run_on(kf, 2, NULL, 0, &r0, &err, 0), -EINVAL);
	cr_assert(strstr(err.reason, "kfunc call (BTF id 1234)"), "%s", err.reason);
}

Test(interp, invalid_programs_are_refused_at_load)
{
	struct sbpf_validate_error verr;
	struct sbpf_insn noexit[] = { SBPF_MOV64_IMM(0, 1) };
	errno = 0;
	cr_assert_null(sbpf_vm__new(noexit, 1, NULL, &verr));
	cr_assert_eq(errno, EINVAL);
	cr_assert(strstr(verr.rule, "last instruction"), "%s", verr.rule);
	cr_assert_null(sbpf_vm__new(noexit, 0, NULL, &verr));
	cr_assert(strstr(verr.rule, "empty"), "%s", verr.rule);
	struct sbpf_insn fetch_fp[] = { SBPF_ATOMIC_OP(SBPF_DW, SBPF_ADD | SBPF_FETCH, 1, 10, 0),
					SBPF_EXIT_INSN() };
	cr_assert_null(sbpf_vm__new(fetch_fp, 2, NULL, &verr));
	cr_assert(strstr(verr.rule, "r10 is the read-only frame pointer"), "%s", verr.rule);
	/* a non-fetch atomic only reads r10 (no write to it); it is refused
	 * for adding a host address into memory */
	struct sbpf_insn add_fp[] = { SBPF_ATOMIC_OP(SBPF_DW, SBPF_ADD, 1, 10, 0), SBPF_EXIT_INSN() };
	cr_assert_null(sbpf_vm__new(add_fp, 2, NULL, &verr));
	cr_assert(strstr(verr.rule, "hands a stack address to an atomic operation"), "%s", verr.rule);
	struct sbpf_vm_opts o = { .sz = sizeof(o), .type = (enum sbpf_prog_type)99 };
	struct sbpf_insn ok[] = { SBPF_EXIT_INSN() };
	cr_assert_null(sbpf_vm__new(ok, 1, &o, &verr));
}

Test(interp, prog_type_names)
{
	enum sbpf_prog_type t;
	cr_assert_eq(sbpf_prog_type__from_name("mem", &t), 0);
	cr_assert_eq(t, SBPF_PROG_MEM);
	cr_assert_eq(sbpf_prog_type__from_name("xdp", &t), 0);
	cr_assert_eq(t, SBPF_PROG_XDP);
	cr_assert_eq(sbpf_prog_type__from_name("tc", &t), -ENOENT);
	cr_assert_str_eq(sbpf_prog_type__name(SBPF_PROG_MEM), "mem");
	cr_assert_null(sbpf_prog_type__name(SBPF_PROG__COUNT));
}

/* Every form of opcodes.def has a case in the dispatch loop: a minimal
 * instance of each runs without reaching the "undecodable" fallback. */
Test(interp, every_form_is_dispatched)
{
	for (int op = 1; op < SBPF_OP__COUNT; op++) {
		const struct sbpf_op_info *f = sbpf_op_info((enum sbpf_op)op);
		struct sbpf_insn p[3] = { { .code = f->code }, SBPF_EXIT_INSN(), SBPF_EXIT_INSN() };
		struct sbpf_insn *in = &p[0];
		switch (f->fmt) {
		case SBPF_FMT_ALU_X: case SBPF_FMT_MOVSX: case SBPF_FMT_JCOND_X: in->src_reg = 1; break;
		case SBPF_FMT_LDX: in->src_reg = 10; in->off = -8; break;
		case SBPF_FMT_ST: in->dst_reg = 10; in->off = -8; break;
		case SBPF_FMT_STX: case SBPF_FMT_ATOMIC: in->dst_reg = 10; in->src_reg = 1; in->off = -8; break;
		case SBPF_FMT_LDDW: p[1] = SBPF_INSN(0, 0, 0, 0, 0); break;
		default: break;
		}
		if (f->key == SBPF_KEY_OFF) in->off = (int16_t)f->key_value;
		if (f->key == SBPF_KEY_IMM) in->imm = f->key_value;
		if (f->key == SBPF_KEY_SRC) in->src_reg = (uint8_t)f->key_value;
		size_t n = f->fmt == SBPF_FMT_LDDW ? 3 : 2;
		struct sbpf_validate_error verr = { 0 };
		struct sbpf_vm *vm = sbpf_vm__new(p, n, NULL, &verr);
		cr_assert_not_null(vm, "%s: %s", f->id, verr.rule);
		struct sbpf_run_error err = { 0 };
		uint64_t r0;
		int rc = sbpf_vm__run(vm, NULL, 0, &r0, &err);
		cr_assert(rc == 0 || !strstr(err.reason, "undecodable"), "%s: %s", f->id, err.reason);
		sbpf_vm__free(vm);
	}
}

Test(interp, profile_counts_each_slot_and_keeps_the_budget)
{
	/* r1 = 10; loop: r0 += 1; r1 -= 1; if r1 != 0 goto loop; exit */
	struct sbpf_insn p[] = {
		SBPF_MOV64_IMM(0, 0), SBPF_MOV64_IMM(1, 10), SBPF_ALU64_IMM(SBPF_ADD, 0, 1),
		SBPF_ALU64_IMM(SBPF_SUB, 1, 1), SBPF_JMP_IMM(SBPF_JNE, 1, 0, -3), SBPF_EXIT_INSN(),
	};
	struct sbpf_vm_opts o = { .sz = sizeof(o), .insn_budget = 20 };
	struct sbpf_vm *vm = sbpf_vm__new(p, 6, NULL, NULL);
	cr_assert_not_null(vm);
	uint64_t counts[6] = { 0 }, r0 = 0;
	sbpf_vm__set_profile(vm, counts);
	cr_assert_eq(sbpf_vm__run(vm, NULL, 0, &r0, NULL), 0);
	cr_assert_eq(r0, 10);
	const uint64_t want[6] = { 1, 1, 10, 10, 10, 1 };
	cr_assert_arr_eq(counts, want, sizeof(want));
	cr_assert_eq(sbpf_vm__insn_count(vm), 33);
	sbpf_vm__set_profile(vm, NULL); /* off: the counts stay */
	cr_assert_eq(sbpf_vm__run(vm, NULL, 0, &r0, NULL), 0);
	cr_assert_arr_eq(counts, want, sizeof(want));
	sbpf_vm__free(vm);
	/* the budget still stops a profiled run */
	vm = sbpf_vm__new(p, 6, &o, NULL);
	memset(counts, 0, sizeof(counts));
	sbpf_vm__set_profile(vm, counts);
	struct sbpf_run_error err;
	cr_assert_eq(sbpf_vm__run(vm, NULL, 0, &r0, &err), -E2BIG);
	cr_assert_eq(sbpf_vm__insn_count(vm), 20);
	cr_assert_eq(counts[0] + counts[1] + counts[2] + counts[3] + counts[4] + counts[5], 20);
	sbpf_vm__free(vm);
}
