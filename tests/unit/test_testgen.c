/* test_testgen.c - the differential-testing generator and minimizer
 * (src/testgen/): generated programs are deterministic, valid, fair and
 * terminate on the interpreter; slot dropping fixes jumps; the fairness
 * check catches unwritten reads and pointer leaks; minimization shrinks.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "safebpf/testgen.h"
#include "safebpf/vm.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

Test(testgen, deterministic_valid_fair_and_terminating)
{
	for (uint64_t seed = 1; seed <= 400; seed++) {
		struct sbpf_gen_opts o = { .sz = sizeof(o), .seed = seed, .kernel_safe = seed & 1 };
		struct sbpf_gen_prog a, b;
		char why[200] = "";
		cr_assert_eq(sbpf_gen_program(&o, &a, why, sizeof(why)), 0, "seed %llu: %s",
			     (unsigned long long)seed, why);
		cr_assert_eq(sbpf_gen_program(&o, &b, why, sizeof(why)), 0);
		cr_assert_eq(a.mem_n, b.mem_n);
		cr_assert_eq(memcmp(a.mem_insns, b.mem_insns, a.mem_n * sizeof(*a.mem_insns)), 0);
		cr_assert_eq(memcmp(a.mem, b.mem, sizeof(a.mem)), 0);
		cr_assert_eq(a.xdp_n, a.mem_n);
		/* the forms differ only in the prologue */
		cr_assert_eq(memcmp(a.mem_insns + a.prologue, a.xdp_insns + a.prologue,
				    (a.mem_n - a.prologue) * sizeof(*a.mem_insns)), 0);
		cr_assert_eq(sbpf_validate(a.mem_insns, a.mem_n, NULL), 0);
		cr_assert_eq(sbpf_validate(a.xdp_insns, a.xdp_n, NULL), 0);
		size_t pc;
		cr_assert_eq(sbpf_gen_check_fair(a.mem_insns, a.mem_n, 0, &pc), 0, "seed %llu slot %zu",
			     (unsigned long long)seed, pc);
		cr_assert_eq(sbpf_gen_check_fair(a.xdp_insns, a.xdp_n, a.prologue, &pc), 0);
		struct sbpf_vm *vm = sbpf_vm__new(a.mem_insns, a.mem_n, NULL, NULL);
		cr_assert_not_null(vm);
		uint8_t mem[SBPF_GEN_MEM_SIZE];
		memcpy(mem, a.mem, sizeof(mem));
		uint64_t r0;
		struct sbpf_run_error err = { 0 };
		cr_assert_eq(sbpf_vm__run(vm, mem, sizeof(mem), &r0, &err), 0, "seed %llu: pc %zu: %s",
			     (unsigned long long)seed, err.pc, err.reason);
		sbpf_vm__free(vm);
		sbpf_gen_prog__free(&a);
		sbpf_gen_prog__free(&b);
	}
}

Test(testgen, seeds_differ)
{
	struct sbpf_gen_opts o = { .sz = sizeof(o), .seed = 1 };
	struct sbpf_gen_prog a, b;
	cr_assert_eq(sbpf_gen_program(&o, &a, NULL, 0), 0);
	o.seed = 2;
	cr_assert_eq(sbpf_gen_program(&o, &b, NULL, 0), 0);
	cr_assert(a.mem_n != b.mem_n || memcmp(a.mem_insns, b.mem_insns, a.mem_n * 8));
	sbpf_gen_prog__free(&a);
	sbpf_gen_prog__free(&b);
}

Test(testgen, drop_fixes_jumps_and_calls)
{
	struct sbpf_insn p[] = {
		SBPF_MOV64_IMM(0, 1),                     /* 0 */
		SBPF_JMP_IMM(SBPF_JEQ, 0, 1, 3),          /* 1 -> 5 (across the gap) */
		SBPF_MOV64_IMM(0, 2),                     /* 2 dropped */
		SBPF_MOV64_IMM(0, 3),                     /* 3 dropped */
		SBPF_JA(-5),                              /* 4 -> 0 (backwards across) */
		SBPF_INSN(SBPF_JMP | SBPF_CALL, 0, SBPF_PSEUDO_CALL, 0, 1), /* 5 -> 7 */
		SBPF_EXIT_INSN(),                         /* 6 */
		SBPF_EXIT_INSN(),                         /* 7 */
	};
	size_t n = N(p);
	cr_assert_eq(sbpf_gen_drop(p, &n, 2, 2), 0);
	cr_assert_eq(n, 6);
	cr_assert_eq(p[1].off, 1);   /* 1 -> 3 (old 5) */
	cr_assert_eq(p[2].off, -3);  /* 2 -> 0 */
	cr_assert_eq(p[3].imm, 1);   /* 3 -> 5 (old 7) */
	/* a jump into the gap lands on the first slot after it */
	struct sbpf_insn q[] = {
		SBPF_JMP_IMM(SBPF_JEQ, 1, 0, 1), SBPF_MOV64_IMM(0, 1), SBPF_MOV64_IMM(0, 2), SBPF_EXIT_INSN(),
	};
	n = N(q);
	cr_assert_eq(sbpf_gen_drop(q, &n, 1, 2), 0);
	cr_assert_eq(q[0].off, 0);
	/* never split an lddw */
	struct sbpf_insn r[] = { SBPF_LD_IMM64_LO(0, 0, 5), SBPF_LD_IMM64_HI(5), SBPF_EXIT_INSN() };
	n = N(r);
	cr_assert_eq(sbpf_gen_drop(r, &n, 1, 1), -EINVAL);
	cr_assert_eq(sbpf_gen_drop(r, &n, 0, 1), -EINVAL);
	cr_assert_eq(sbpf_gen_drop(r, &n, 0, 2), 0);
	cr_assert_eq(n, 1);
}

Test(testgen, fairness_catches_unwritten_reads_and_pointer_leaks)
{
	size_t pc = 99;
	struct sbpf_insn uninit[] = { SBPF_MOV64_REG(0, 3), SBPF_EXIT_INSN() };
	cr_assert_eq(sbpf_gen_check_fair(uninit, N(uninit), 0, &pc), -EINVAL);
	cr_assert_eq(pc, 0);
	struct sbpf_insn stack[] = { SBPF_LDX_MEM(SBPF_W, 0, 10, -8), SBPF_EXIT_INSN() };
	cr_assert_eq(sbpf_gen_check_fair(stack, N(stack), 0, &pc), -EINVAL);
	struct sbpf_insn leak[] = { SBPF_MOV64_REG(0, 10), SBPF_EXIT_INSN() };
	cr_assert_eq(sbpf_gen_check_fair(leak, N(leak), 0, &pc), -EINVAL);
	cr_assert_eq(pc, 1);
	struct sbpf_insn cmp[] = {
		SBPF_MOV64_IMM(0, 0), SBPF_JMP_REG(SBPF_JGT, 1, 2, 0), SBPF_EXIT_INSN(),
	};
	cr_assert_eq(sbpf_gen_check_fair(cmp, N(cmp), 0, &pc), -EINVAL);
	cr_assert_eq(pc, 1);
	struct sbpf_insn store[] = { SBPF_STX_MEM(SBPF_DW, 10, 1, -8), SBPF_MOV64_IMM(0, 0), SBPF_EXIT_INSN() };
	cr_assert_eq(sbpf_gen_check_fair(store, N(store), 0, &pc), -EINVAL);
	struct sbpf_insn fine[] = {
		SBPF_MOV64_REG(3, 1), SBPF_ALU64_IMM(SBPF_ADD, 3, 8), SBPF_LDX_MEM(SBPF_B, 0, 3, 0),
		SBPF_STX_MEM(SBPF_DW, 10, 0, -8), SBPF_LDX_MEM(SBPF_W, 4, 10, -4), SBPF_EXIT_INSN(),
	};
	cr_assert_eq(sbpf_gen_check_fair(fine, N(fine), 0, &pc), 0, "slot %zu", pc);
}

/* Predicate for the minimizer: the program still multiplies by 12345. */
static int has_marker(const struct sbpf_insn *insns, size_t n, void *arg)
{
	(void)arg;
	for (size_t i = 0; i < n; i++)
		if (insns[i].code == (SBPF_ALU64 | SBPF_MUL | SBPF_K) && insns[i].imm == 12345)
			return 1;
	return 0;
}

Test(testgen, minimize_shrinks_and_keeps_the_prologue)
{
	struct sbpf_gen_opts o = { .sz = sizeof(o), .seed = 7 };
	struct sbpf_gen_prog g;
	cr_assert_eq(sbpf_gen_program(&o, &g, NULL, 0), 0);
	/* plant the marker right after the register initialisation */
	size_t n = g.mem_n + 1, at = g.prologue + 12;
	struct sbpf_insn *p = malloc(n * sizeof(*p));
	memcpy(p, g.mem_insns, at * sizeof(*p));
	p[at] = SBPF_ALU64_IMM(SBPF_MUL, 0, 12345);
	memcpy(p + at + 1, g.mem_insns + at, (g.mem_n - at) * sizeof(*p));
	size_t pc;
	if (sbpf_validate(p, n, NULL) || sbpf_gen_check_fair(p, n, g.prologue, &pc))
		cr_skip_test("marker landed inside an lddw; the generator changed");
	size_t before = n;
	unsigned tries = sbpf_gen_minimize(p, &n, g.prologue, has_marker, NULL);
	cr_assert_gt(tries, 0);
	cr_assert_lt(n, before / 4, "only shrank from %zu to %zu", before, n);
	cr_assert(has_marker(p, n, NULL));
	cr_assert_eq(sbpf_validate(p, n, NULL), 0);
	cr_assert_eq(sbpf_gen_check_fair(p, n, g.prologue, &pc), 0);
	/* the prologue stays (its last slot, the jump to "out", only moves) */
	cr_assert_eq(memcmp(p, g.mem_insns, (g.prologue - 1) * sizeof(*p)), 0, "prologue changed");
	cr_assert_eq(p[g.prologue - 1].code, g.mem_insns[g.prologue - 1].code, "prologue changed");
	free(p);
	sbpf_gen_prog__free(&g);
}
