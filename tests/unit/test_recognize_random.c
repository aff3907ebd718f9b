/* test_recognize_random.c - the recognizer on random programs: idiom-rich
 * programs composed from the shapes clang emits (every operation, with
 * random registers - aliases included -, random noise scheduled around
 * them, random forward jumps landing anywhere, and random liveness at the
 * end), and the generic random programs of src/testgen. Every rewrite,
 * lowered, must behave exactly as the original on random inputs.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safebpf/jit.h"
#include "safebpf/kops.h"
#include "safebpf/testgen.h"
#include "safebpf/vm.h"

#define MEM 256
#define BASE 9 /* r9 holds the buffer */

static uint64_t state;

static uint64_t rnd(void)
{
	state ^= state >> 12;
	state ^= state << 25;
	state ^= state >> 27;
	return state * 0x2545f4914f6cdd1dull;
}

static int pick(int n)
{
	return (int)(rnd() % (uint64_t)n);
}

/* A random value register (r0..r8); @avoid is a mask of registers not to pick. */
static int reg(unsigned avoid)
{
	for (;;) {
		int r = pick(9);
		if (!(avoid >> r & 1))
			return r;
	}
}

/* A forward jump waiting for its target: bound before the countdown-th
 * next instruction, so targets land anywhere, inside idioms too. */
static int pending = -1, countdown;

static void emit(struct sbpf_builder *b, struct sbpf_insn insn)
{
	if (pending >= 0 && --countdown <= 0) {
		sbpf_builder__bind(b, pending);
		pending = -1;
	}
	sbpf_builder__emit(b, insn);
}

#define E(insn) emit(b, insn)

static void noise(struct sbpf_builder *b)
{
	static const uint8_t ops[] = { SBPF_ADD, SBPF_SUB, SBPF_MUL, SBPF_OR, SBPF_AND, SBPF_XOR, SBPF_LSH, SBPF_RSH, SBPF_MOV };
	uint8_t op = ops[pick(sizeof(ops))];
	int d = reg(0), s = reg(0);
	switch (pick(5)) {
	case 0: E(SBPF_ALU64_REG(op, d, s)); break;
	case 1: E(SBPF_ALU64_IMM(op, d, op == SBPF_LSH || op == SBPF_RSH ? pick(64) : (int32_t)rnd())); break;
	case 2: E(SBPF_ALU32_REG(op, d, s)); break;
	case 3: E(SBPF_LDX_MEM(pick(2) ? SBPF_W : SBPF_DW, d, BASE, (int16_t)(8 * pick(14)))); break;
	default: E(SBPF_ALU32_IMM(op, d, op == SBPF_LSH || op == SBPF_RSH ? pick(32) : (int32_t)rnd())); break;
	}
}

/* One idiom with random registers. */
static void idiom(struct sbpf_builder *b)
{
	int x = reg(0), t = reg(1u << x), d = reg(1u << t);
	int k = 1 + pick(31);
	switch (pick(14)) {
	case 0: /* rotate 64, two destinations */
		k = 1 + pick(63);
		E(SBPF_MOV64_REG(t, x));
		E(SBPF_ALU64_IMM(SBPF_RSH, t, 64 - k));
		if (pick(3) == 0)
			noise(b);
		E(SBPF_MOV64_REG(d, x));
		E(SBPF_ALU64_IMM(SBPF_LSH, d, k));
		E(SBPF_ALU64_REG(SBPF_OR, d, t));
		break;
	case 1: /* rotate 64 in place, or with the operands swapped */
		k = 1 + pick(63);
		E(SBPF_MOV64_REG(t, x));
		E(SBPF_ALU64_IMM(SBPF_LSH, t, k));
		E(SBPF_ALU64_IMM(SBPF_RSH, x, 64 - k));
		E(SBPF_ALU64_REG(SBPF_OR, pick(2) ? x : t, pick(2) ? t : x));
		break;
	case 2: /* rotate 32 in ALU32 */
		E(SBPF_MOV32_REG(t, x));
		E(SBPF_ALU32_IMM(SBPF_RSH, t, 32 - k));
		E(SBPF_MOV32_REG(d, x));
		E(SBPF_ALU32_IMM(SBPF_LSH, d, k));
		E(SBPF_ALU32_REG(SBPF_OR, d, t));
		break;
	case 3: /* rotate 32 with 64-bit shifts: zero-extended or not, truncated or not */
		if (pick(2)) {
			E(SBPF_ALU64_IMM(SBPF_LSH, x, 32));
			E(SBPF_ALU64_IMM(SBPF_RSH, x, 32));
		}
		E(SBPF_MOV64_REG(t, x));
		if (pick(2)) {
			int m = reg((1u << x) | (1u << t));
			sbpf_builder__emit_lddw(b, m, 0, pick(4) ? (uint64_t)(0xffffffffu << (32 - k)) : 0x1ffffffffull);
			E(SBPF_ALU64_REG(SBPF_AND, t, m));
		}
		E(SBPF_ALU64_IMM(SBPF_RSH, t, 32 - k));
		E(SBPF_MOV64_REG(d, x));
		E(SBPF_ALU64_IMM(SBPF_LSH, d, k));
		E(SBPF_ALU64_REG(SBPF_OR, d, t));
		if (pick(2))
			E(SBPF_MOV32_REG(d, d));
		break;
	case 4: { /* extract */
		int s = 1 + pick(40), len = 1 + pick(32);
		if (pick(2))
			E(SBPF_MOV64_REG(d, x));
		else
			d = x;
		if (pick(2)) {
			E(SBPF_ALU64_IMM(SBPF_RSH, d, s));
			E(SBPF_ALU64_IMM(SBPF_AND, d, (int32_t)((1ull << len) - 1 + (pick(5) == 0))));
		} else {
			E(SBPF_ALU64_IMM(SBPF_LSH, d, pick(40)));
			E(SBPF_ALU64_IMM(SBPF_RSH, d, 32 + pick(32)));
		}
		break;
	}
	case 5: /* extract 32 */
		E(SBPF_MOV32_REG(d, x));
		E(SBPF_ALU32_IMM(SBPF_RSH, d, 1 + pick(30)));
		E(SBPF_ALU32_IMM(SBPF_AND, d, (int32_t)((1u << (1 + pick(20))) - 1)));
		break;
	case 6: { /* load + be */
		static const uint8_t sz[] = { SBPF_H, SBPF_W, SBPF_DW };
		static const int bits[] = { 16, 32, 64 };
		int i = pick(3);
		E(SBPF_LDX_MEM(sz[i], d, BASE, (int16_t)pick(100)));
		if (pick(4) == 0)
			noise(b);
		E(SBPF_INSN(SBPF_ALU | SBPF_END | SBPF_TO_BE, d, 0, 0, bits[i]));
		break;
	}
	case 7: { /* big-endian bytes, maybe out of order */
		int n = pick(2) ? 4 : 2, off = pick(100), swap = pick(6) == 0;
		E(SBPF_LDX_MEM(SBPF_B, t, BASE, (int16_t)off));
		E(SBPF_ALU64_IMM(SBPF_LSH, t, 8 * (n - 1)));
		E(SBPF_LDX_MEM(SBPF_B, d, BASE, (int16_t)(off + 1)));
		if (n > 1)
			E(SBPF_ALU64_IMM(SBPF_LSH, d, 8 * (n - 2)));
		E(SBPF_ALU64_REG(SBPF_OR, d, t));
		for (int i = 2; i < n; i++) {
			E(SBPF_LDX_MEM(SBPF_B, t, BASE, (int16_t)(off + (swap && i == 2 ? 3 : i))));
			if (n - 1 - i)
				E(SBPF_ALU64_IMM(SBPF_LSH, t, 8 * (n - 1 - i)));
			E(SBPF_ALU64_REG(SBPF_OR, d, t));
		}
		break;
	}
	case 8: { /* select: a conditional jump over a mov */
		static const uint8_t conds[] = { SBPF_JEQ, SBPF_JNE, SBPF_JGT, SBPF_JGE, SBPF_JLT, SBPF_JLE,
						 SBPF_JSGT, SBPF_JSGE, SBPF_JSLT, SBPF_JSLE, SBPF_JSET };
		uint8_t cls = pick(2) ? SBPF_JMP : SBPF_JMP32, c = conds[pick(sizeof(conds))];
		int a = reg(0), v = reg(0);
		if (pick(2))
			E(SBPF_INSN(cls | c | SBPF_X, a, reg(0), 1, 0));
		else
			E(SBPF_INSN(cls | c | SBPF_K, a, 0, 1, (int32_t)(rnd() % 200) - 100));
		switch (pick(3)) {
		case 0: E(SBPF_MOV64_REG(d, v)); break;
		case 1: E(SBPF_MOV32_REG(d, v)); break;
		default: E(SBPF_MOV64_IMM(d, pick(1000))); break;
		}
		break;
	}
	case 9: { /* copy run to the stack (and read part of it back) */
		int n = 2 + pick(4), so = 8 * pick(8), dst = -8 * (n + pick(20));
		for (int i = 0; i < n; i++) {
			E(SBPF_LDX_MEM(SBPF_DW, t, BASE, (int16_t)(so + 8 * i)));
			E(SBPF_STX_MEM(SBPF_DW, SBPF_REG_FP, t, (int16_t)(dst + 8 * i)));
		}
		E(SBPF_LDX_MEM(SBPF_DW, d, SBPF_REG_FP, (int16_t)(dst + 8 * pick(n))));
		break;
	}
	case 10: /* lea: d = a + (b << s) + imm */
		E(SBPF_MOV64_REG(d, x));
		E(SBPF_ALU64_IMM(SBPF_LSH, d, pick(5)));
		E(SBPF_ALU64_REG(SBPF_ADD, d, t));
		if (pick(3))
			E(SBPF_ALU64_IMM(SBPF_ADD, d, (int32_t)(rnd() % 4096) - 2048));
		break;
	case 11: /* lea in place: the scaled index is x */
		E(SBPF_ALU64_IMM(SBPF_LSH, x, 1 + pick(3)));
		E(SBPF_ALU64_REG(SBPF_ADD, d, x));
		E(SBPF_ALU64_IMM(SBPF_ADD, d, (int32_t)(rnd() % 100)));
		break;
	case 12: { /* little-endian bytes joined by or, + or ^, maybe with a gap */
		static const uint8_t join[] = { SBPF_OR, SBPF_ADD, SBPF_XOR };
		int n = 2 << pick(3), off = pick(100), gap = pick(8) == 0, j = join[pick(3)];
		E(SBPF_LDX_MEM(SBPF_B, d, BASE, (int16_t)off));
		for (int i = 1; i < n; i++) {
			E(SBPF_LDX_MEM(SBPF_B, t, BASE, (int16_t)(off + i + (gap && i == n - 1))));
			E(SBPF_ALU64_IMM(SBPF_LSH, t, 8 * i));
			E(SBPF_ALU64_REG(j, d, t));
		}
		break;
	}
	default:
		noise(b);
		break;
	}
}

/* A random idiom-rich mem program: r9 = buffer; r0..r8 from it; items;
 * some registers stored at the end. */
static struct sbpf_insn *make_program(size_t *n)
{
	struct sbpf_builder *b = sbpf_builder__new();
	E(SBPF_MOV64_REG(BASE, 1));
	for (int r = 0; r < 9; r++)
		E(SBPF_LDX_MEM(pick(3) ? SBPF_DW : SBPF_W, r, BASE, (int16_t)(8 * r)));
	int items = 4 + pick(12);
	pending = -1;
	for (int i = 0; i < items; i++) {
		if (pending < 0 && pick(4) == 0) {
			int label = sbpf_builder__new_label(b);
			sbpf_builder__jump(b, SBPF_JMP_IMM(SBPF_JGT, reg(0), (int32_t)(rnd() % 1000), 0), label);
			pending = label;
			countdown = 1 + pick(12);
		}
		idiom(b);
		if (pick(3) == 0)
			noise(b);
	}
	if (pending >= 0) {
		sbpf_builder__bind(b, pending);
		pending = -1;
	}
	unsigned stored = (unsigned)rnd();
	for (int r = 1; r < 9; r++)
		if (stored >> r & 1)
			E(SBPF_STX_MEM(pick(2) ? SBPF_DW : SBPF_W, BASE, r, (int16_t)(128 + 8 * r)));
	E(SBPF_EXIT_INSN());
	struct sbpf_insn *p = NULL;
	struct sbpf_validate_error err;
	cr_assert_eq(sbpf_builder__finish(b, &p, n, &err), 0, "generator: %s", err.rule);
	sbpf_builder__free(b);
	return p;
}

/* Same result code, r0 and buffer for @a and @b on @rounds random buffers
 * (at the same address). */
static void same_behaviour(const struct sbpf_insn *a, size_t na, const struct sbpf_insn *b, size_t nb, int rounds,
			   const char *what)
{
	struct sbpf_validate_error e1, e2;
	struct sbpf_vm *va = sbpf_vm__new(a, na, NULL, &e1), *vb = sbpf_vm__new(b, nb, NULL, &e2);
	cr_assert_not_null(va, "%s original: %s", what, e1.rule);
	cr_assert_not_null(vb, "%s lowered: %s", what, e2.rule);
	uint8_t init[MEM], buf[MEM], after[MEM];
	for (int round = 0; round < rounds; round++) {
		for (size_t i = 0; i < MEM; i++)
			init[i] = (uint8_t)(round == 0 ? 0 : round == 1 ? 0xff : rnd());
		uint64_t ra = 0, rb = 0;
		memcpy(buf, init, MEM);
		int ca = sbpf_vm__run(va, buf, MEM, &ra, NULL);
		memcpy(after, buf, MEM);
		memcpy(buf, init, MEM);
		int cb = sbpf_vm__run(vb, buf, MEM, &rb, NULL);
		cr_assert_eq(ca, cb, "%s round %d: result codes %d and %d", what, round, ca, cb);
		if (ca)
			continue;
		cr_assert_eq(ra, rb, "%s round %d: r0 0x%llx and 0x%llx", what, round, (unsigned long long)ra,
			     (unsigned long long)rb);
		cr_assert_arr_eq(after, buf, MEM, "%s round %d: memory differs", what, round);
	}
	sbpf_vm__free(va);
	sbpf_vm__free(vb);
}

/* The JIT running @low's sites as native operations (checked mode) agrees
 * with the interpreter on the original @p. */
static void same_on_kops_jit(const struct sbpf_insn *p, size_t n, const struct sbpf_kops_lowered *low, int rounds,
			     const char *what)
{
	struct sbpf_validate_error e1, e2;
	struct sbpf_vm *va = sbpf_vm__new(p, n, NULL, &e1);
	struct sbpf_jit_opts jo = { .sz = sizeof(jo), .kops = low };
	struct sbpf_jit *jit = sbpf_jit__new(low->insns, low->n, &jo, &e2);
	cr_assert_not_null(va);
	cr_assert_not_null(jit, "%s: jit: %s", what, e2.rule);
	cr_assert_eq(sbpf_jit__compile(jit), 0, "%s: compile", what);
	uint8_t init[MEM], buf[MEM], after[MEM];
	for (int round = 0; round < rounds; round++) {
		for (size_t i = 0; i < MEM; i++)
			init[i] = (uint8_t)rnd();
		uint64_t ra = 0, rb = 0;
		memcpy(buf, init, MEM);
		int ca = sbpf_vm__run(va, buf, MEM, &ra, NULL);
		memcpy(after, buf, MEM);
		memcpy(buf, init, MEM);
		int cb = sbpf_jit__run(jit, buf, MEM, &rb, NULL);
		cr_assert_eq(ca, cb, "%s round %d: interpreter %d, kops JIT %d", what, round, ca, cb);
		if (ca)
			continue;
		cr_assert_eq(ra, rb, "%s round %d: r0 0x%llx interpreter, 0x%llx kops JIT", what, round,
			     (unsigned long long)ra, (unsigned long long)rb);
		cr_assert_arr_eq(after, buf, MEM, "%s round %d: memory differs on the kops JIT", what, round);
	}
	sbpf_jit__free(jit);
	sbpf_vm__free(va);
}

/* Recognizes (every exact rewrite), lowers, compares; returns the sites. */
static size_t check(const struct sbpf_insn *p, size_t n, int every, const char *what, size_t per_op[SBPF_KOPS__MAX])
{
	struct sbpf_kops_policy pol;
	sbpf_kops_policy__init(&pol);
	if (every)
		pol.min_saved = -100;
	pol.check_rounds = 8; /* the comparison below is the real check here */
	struct sbpf_insn *out = NULL;
	size_t nout = 0;
	struct sbpf_kops_stats st;
	struct sbpf_validate_error err = { 0 };
	int rc = sbpf_kops_recognize(p, n, &pol, &out, &nout, &st, &err);
	cr_assert_eq(rc, 0, "%s: recognize failed at %zu: %s", what, err.index, err.rule);
	struct sbpf_kops_lowered low;
	cr_assert_eq(sbpf_kops_lower(out, nout, &low, &err), 0, "%s: lower: %s", what, err.rule);
	same_behaviour(p, n, low.insns, low.n, 12, what);
	same_on_kops_jit(p, n, &low, 6, what);
	size_t sites = 0;
	for (int i = 0; i < SBPF_KOPS__MAX; i++) {
		sites += st.sites[i];
		per_op[i] += st.sites[i];
	}
	sbpf_kops_lowered__free(&low);
	free(out);
	return sites;
}

Test(recognize_random, idiom_rich_programs, .timeout = 600)
{
	size_t per_op[SBPF_KOPS__MAX] = { 0 }, total = 0;
	for (int i = 0; i < 400; i++) {
		state = 0x1234567ull + (uint64_t)i * 0x9e3779b97f4a7c15ull;
		size_t n;
		struct sbpf_insn *p = make_program(&n);
		char what[64];
		snprintf(what, sizeof(what), "program %d", i);
		total += check(p, n, i % 2, what, per_op);
		free(p);
	}
	cr_log_info("idiom-rich programs: %zu sites (rotate %zu, select %zu, extract %zu, bswap_load %zu, "
		    "bulk_copy %zu, lea %zu, wide_load %zu)", total, per_op[1], per_op[2], per_op[3], per_op[4], per_op[6],
		    per_op[7], per_op[SBPF_KOPS_WIDE_LOAD]);
	/* the generator makes every operation often: each must be found
	 * (popcount is not generated yet: test_recognize.c and the clang
	 * programs cover its shapes) */
	for (int op = 1; op < SBPF_KOPS__MAX; op++)
		if (op != SBPF_KOPS_PREFETCH && op != SBPF_KOPS_POPCOUNT)
			cr_assert_gt(per_op[op], 20, "%s: only %zu sites in 400 programs", sbpf_kops_info((uint32_t)op)->name,
				     per_op[op]);
}

Test(recognize_random, testgen_programs, .timeout = 600)
{
	size_t per_op[SBPF_KOPS__MAX] = { 0 };
	for (uint64_t seed = 1; seed <= 150; seed++) {
		struct sbpf_gen_opts o = { .sz = sizeof(o), .seed = seed, .body_len = 64 };
		struct sbpf_gen_prog g;
		char why[160];
		cr_assert_eq(sbpf_gen_program(&o, &g, why, sizeof(why)), 0, "%s", why);
		size_t pc;
		if (sbpf_gen_check_fair(g.mem_insns, g.mem_n, 0, &pc) == 0) {
			char what[64];
			snprintf(what, sizeof(what), "testgen seed %llu", (unsigned long long)seed);
			check(g.mem_insns, g.mem_n, (int)(seed % 2), what, per_op);
		}
		sbpf_gen_prog__free(&g);
	}
}
