/* gen.c - random valid, terminating eBPF programs for differential testing
 * (see safebpf/testgen.h), built with the builder.
 *
 * Layout of a generated program (main function first, callees after it):
 *
 *   prologue   5 slots; xdp form: r2 = data_end, r9 = data, and
 *              "if data + 128 > data_end goto out"; mem form: r9 = r1 and
 *              "if 128 > r2 goto out" (padded with ja +0 to the same length)
 *   init       r0..r8 from immediates or the input, 64 bytes of stack
 *   body       random blocks (below)
 *   epilogue   r0..r8 stored into the input, folded into r0, exit
 *   out:       r0 = 0, exit
 *   callees    f1..fN: init r0, r6..r9 and their own stack, body, fold, exit
 *
 * Register discipline keeps every program valid for the kernel verifier:
 * r9 holds the input pointer in main and is never a value; r10 is only a
 * base; everything else is a scalar that is initialised before use (r1..r5
 * are re-initialised after each local call); r8 is the counter of a bounded
 * loop while its body is generated. Branches go forward (if/else) except the
 * back edge of a bounded loop, so every program terminates.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safebpf/testgen.h"

#define MEMSZ SBPF_GEN_MEM_SIZE
#define STACK_USED 64        /* bytes of stack each function initialises and uses */
#define MAX_FN 3             /* callees per program */
#define PROLOGUE 5           /* slots of either prologue */
#define DUMP_AT (MEMSZ - 72) /* where the epilogue stores r0..r8 */

struct gen {
	struct sbpf_builder *b;  /* program being built */
	uint64_t s;              /* xorshift64* state */
	int kernel_safe;         /* restrict to what the verifier accepts */
	int kernel_fetch;        /* kernel_safe but fetching atomics allowed */
	int budget;              /* body slots left for the current function */
	int depth;               /* nesting of if/else and loops */
	int in_loop;             /* r8 is a live loop counter */
	int fn;                  /* current function: 0 = main, 1..nfn callees */
	int nfn;                 /* number of callees */
	int fn_label[MAX_FN + 1];/* entry label per callee */
	int out_label;           /* main's early exit when the input is short */
};

/* ---- randomness ---------------------------------------------------------- */

static uint64_t next(struct gen *g)
{
	uint64_t x = g->s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	g->s = x;
	return x * 0x2545f4914f6cdd1dull;
}

static unsigned below(struct gen *g, unsigned n)
{
	return n ? (unsigned)(next(g) >> 33) % n : 0;
}

static int chance(struct gen *g, unsigned percent)
{
	return below(g, 100) < percent;
}

/* An immediate biased towards edge cases. */
static int32_t rand_imm(struct gen *g)
{
	static const int32_t edge[] = {
		0, 1, -1, 2, 7, 8, 31, 32, 63, 64, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000,
		0xffff, 0x10000, INT32_MAX, INT32_MIN, INT32_MIN + 1, -2, -128, -32768,
	};
	switch (below(g, 4)) {
	case 0:  return (int32_t)below(g, 33) - 16;
	case 1:  return edge[below(g, sizeof(edge) / sizeof(edge[0]))];
	default: return (int32_t)(uint32_t)next(g);
	}
}

static uint64_t rand_imm64(struct gen *g)
{
	static const uint64_t edge[] = {
		0, 1, ~0ull, 0x8000000000000000ull, 0x7fffffffffffffffull, 0xffffffffull,
		0x100000000ull, 0x80000000ull, 0xffffffff00000000ull, 0x00ff00ff00ff00ffull,
	};
	if (chance(g, 40))
		return edge[below(g, sizeof(edge) / sizeof(edge[0]))];
	return next(g);
}

/* ---- registers ------------------------------------------------------------ */

/* Highest scalar register of the current function (main keeps r9). */
static int top_reg(const struct gen *g)
{
	return g->fn ? 9 : 8;
}

/* A register that may be read. */
static int src_reg(struct gen *g)
{
	return (int)below(g, (unsigned)top_reg(g) + 1);
}

/* A register that may be written (not r8 while it counts a loop). */
static int dst_reg(struct gen *g)
{
	for (;;) {
		int r = src_reg(g);
		if (!(g->in_loop && r == 8))
			return r;
	}
}

static void emit(struct gen *g, struct sbpf_insn in)
{
	sbpf_builder__emit(g->b, in);
}

/* ---- instruction kinds ------------------------------------------------------ */

static void gen_alu(struct gen *g)
{
	static const uint8_t ops[] = {
		SBPF_ADD, SBPF_SUB, SBPF_MUL, SBPF_DIV, SBPF_OR, SBPF_AND, SBPF_LSH, SBPF_RSH,
		SBPF_NEG, SBPF_MOD, SBPF_XOR, SBPF_MOV, SBPF_ARSH,
	};
	int is64 = chance(g, 60);
	uint8_t cls = is64 ? SBPF_ALU64 : SBPF_ALU;
	uint8_t op = ops[below(g, sizeof(ops))];
	int dst = dst_reg(g);
	int16_t off = 0;
	if ((op == SBPF_DIV || op == SBPF_MOD) && chance(g, 40))
		off = 1; /* sdiv / smod */
	if (op == SBPF_NEG) {
		emit(g, SBPF_INSN(cls | SBPF_NEG, dst, 0, 0, 0));
		return;
	}
	if (chance(g, 50)) {
		emit(g, SBPF_INSN(cls | op | SBPF_X, dst, src_reg(g), off, 0));
		return;
	}
	int32_t imm = rand_imm(g);
	if (op == SBPF_LSH || op == SBPF_RSH || op == SBPF_ARSH)
		imm = (int32_t)below(g, is64 ? 64 : 32);
	if ((op == SBPF_DIV || op == SBPF_MOD) && imm == 0)
		imm = chance(g, 50) ? -1 : 3;
	emit(g, SBPF_INSN(cls | op | SBPF_K, dst, 0, off, imm));
}

/* movsx, byte swaps, lddw. */
static void gen_special(struct gen *g)
{
	int dst = dst_reg(g);
	switch (below(g, 4)) {
	case 0: { /* movsx */
		static const int16_t w64[] = { 8, 16, 32 }, w32[] = { 8, 16 };
		if (chance(g, 50))
			emit(g, SBPF_INSN(SBPF_ALU64 | SBPF_MOV | SBPF_X, dst, src_reg(g), w64[below(g, 3)], 0));
		else
			emit(g, SBPF_INSN(SBPF_ALU | SBPF_MOV | SBPF_X, dst, src_reg(g), w32[below(g, 2)], 0));
		break;
	}
	case 1: { /* le / be / bswap */
		static const int32_t widths[] = { 16, 32, 64 };
		static const uint8_t codes[] = {
			SBPF_ALU | SBPF_END | SBPF_TO_LE, SBPF_ALU | SBPF_END | SBPF_TO_BE,
			SBPF_ALU64 | SBPF_END,
		};
		emit(g, SBPF_INSN(codes[below(g, 3)], dst, 0, 0, widths[below(g, 3)]));
		break;
	}
	case 2:
		sbpf_builder__emit_lddw(g->b, dst, 0, rand_imm64(g));
		break;
	default:
		emit(g, SBPF_MOV64_IMM(dst, rand_imm(g)));
		break;
	}
}

static const uint8_t sizes[] = { SBPF_B, SBPF_H, SBPF_W, SBPF_DW };

static int size_bytes(uint8_t sz)
{
	return sz == SBPF_B ? 1 : sz == SBPF_H ? 2 : sz == SBPF_W ? 4 : 8;
}

/* An aligned stack offset for an access of @bytes inside the used area. */
static int16_t stack_off(struct gen *g, int bytes)
{
	return (int16_t)(-(int)(below(g, STACK_USED / bytes) + 1) * bytes);
}

/* A constant input offset for an access of @bytes (aligned when asked). */
static int16_t mem_off(struct gen *g, int bytes, int aligned)
{
	if (aligned)
		return (int16_t)(below(g, MEMSZ / bytes) * bytes);
	return (int16_t)below(g, MEMSZ - bytes + 1);
}

/* Base register and offset of a variable-offset input access (mem form
 * only): rT = (rX & mask) + r9, with the mask keeping it in bounds. */
static int var_base(struct gen *g, int bytes, int16_t *off)
{
	int t = dst_reg(g);
	emit(g, SBPF_MOV64_REG(t, src_reg(g)));
	emit(g, SBPF_ALU64_IMM(SBPF_AND, t, MEMSZ / 2 - 8));
	emit(g, SBPF_ALU64_REG(SBPF_ADD, t, 9));
	*off = (int16_t)below(g, MEMSZ / 2 + 8 - bytes + 1);
	return t;
}

/* Overwrites a register that held a host pointer: pointers differ between
 * engines and must never reach a result. */
static void scrub(struct gen *g, int r)
{
	emit(g, SBPF_MOV64_IMM(r, rand_imm(g)));
}

static void gen_load(struct gen *g)
{
	uint8_t sz = sizes[below(g, 4)];
	int bytes = size_bytes(sz);
	uint8_t mode = sz != SBPF_DW && chance(g, 25) ? SBPF_MEMSX : SBPF_MEM;
	int dst = dst_reg(g);
	if (g->fn || chance(g, 35)) {
		emit(g, SBPF_INSN(SBPF_LDX | mode | sz, dst, SBPF_REG_FP, stack_off(g, bytes), 0));
		return;
	}
	if (!g->kernel_safe && chance(g, 30)) {
		int16_t off;
		int t = var_base(g, bytes, &off);
		emit(g, SBPF_INSN(SBPF_LDX | mode | sz, dst, t, off, 0));
		if (dst != t)
			scrub(g, t);
		return;
	}
	emit(g, SBPF_INSN(SBPF_LDX | mode | sz, dst, 9, mem_off(g, bytes, chance(g, 50)), 0));
}

static void gen_store(struct gen *g)
{
	uint8_t sz = sizes[below(g, 4)];
	int bytes = size_bytes(sz);
	int base = 9, t = -1;
	int16_t off;
	if (g->fn || chance(g, 40)) {
		base = SBPF_REG_FP;
		off = stack_off(g, bytes);
	} else if (!g->kernel_safe && chance(g, 30)) {
		t = base = var_base(g, bytes, &off);
	} else {
		off = mem_off(g, bytes, chance(g, 50));
	}
	if (chance(g, 40)) {
		emit(g, SBPF_INSN(SBPF_ST | SBPF_MEM | sz, base, 0, off, rand_imm(g)));
	} else {
		int src = src_reg(g);
		if (src == t) /* never store a pointer */
			src = t == 0 ? 1 : 0;
		emit(g, SBPF_INSN(SBPF_STX | SBPF_MEM | sz, base, src, off, 0));
	}
	if (t >= 0)
		scrub(g, t);
}

static void gen_atomic(struct gen *g)
{
	static const int32_t ops[] = {
		SBPF_ADD, SBPF_OR, SBPF_AND, SBPF_XOR,
		SBPF_ADD | SBPF_FETCH, SBPF_OR | SBPF_FETCH, SBPF_AND | SBPF_FETCH,
		SBPF_XOR | SBPF_FETCH, SBPF_XCHG, SBPF_CMPXCHG,
	};
	uint8_t sz = chance(g, 50) ? SBPF_W : SBPF_DW;
	int bytes = size_bytes(sz);
	/* the first four ops do not fetch */
	unsigned nops = g->kernel_safe && !g->kernel_fetch ? 4 : sizeof(ops) / sizeof(ops[0]);
	int32_t op = ops[below(g, nops)];
	int base = SBPF_REG_FP;
	int16_t off = stack_off(g, bytes);
	if (!g->fn && !g->kernel_safe && chance(g, 50)) {
		base = 9;
		off = mem_off(g, bytes, 1);
	}
	/* fetch forms write src: it must be writable */
	int src = (op & SBPF_FETCH) ? dst_reg(g) : src_reg(g);
	emit(g, SBPF_ATOMIC_OP(sz, op, base, src, off));
}

static void gen_block(struct gen *g, int len);

static void gen_if(struct gen *g)
{
	static const uint8_t conds[] = {
		SBPF_JEQ, SBPF_JGT, SBPF_JGE, SBPF_JSET, SBPF_JNE, SBPF_JSGT, SBPF_JSGE,
		SBPF_JLT, SBPF_JLE, SBPF_JSLT, SBPF_JSLE,
	};
	uint8_t cls = chance(g, 40) ? SBPF_JMP32 : SBPF_JMP;
	uint8_t op = conds[below(g, sizeof(conds))];
	struct sbpf_insn j = chance(g, 50)
		? SBPF_INSN(cls | op | SBPF_X, src_reg(g), src_reg(g), 0, 0)
		: SBPF_INSN(cls | op | SBPF_K, src_reg(g), 0, 0, rand_imm(g));
	int l_else = sbpf_builder__new_label(g->b), l_end = -1;
	sbpf_builder__jump(g->b, j, l_else);
	g->depth++;
	gen_block(g, 1 + (int)below(g, 6));
	if (chance(g, 50)) {
		l_end = sbpf_builder__new_label(g->b);
		struct sbpf_insn ja = chance(g, 25) ? SBPF_INSN(SBPF_JMP32 | SBPF_JA, 0, 0, 0, 0) : SBPF_JA(0);
		sbpf_builder__jump(g->b, ja, l_end);
		sbpf_builder__bind(g->b, l_else);
		gen_block(g, 1 + (int)below(g, 5));
		sbpf_builder__bind(g->b, l_end);
	} else {
		sbpf_builder__bind(g->b, l_else);
	}
	g->depth--;
}

/* A counted loop: r8 = N; do { body } while (--r8 != 0). */
static void gen_loop(struct gen *g)
{
	if (g->in_loop || g->depth > 1) {
		gen_alu(g);
		return;
	}
	int n = 1 + (int)below(g, 4);
	emit(g, chance(g, 50) ? SBPF_MOV64_IMM(8, n) : SBPF_MOV32_IMM(8, n));
	int top = sbpf_builder__new_label(g->b);
	sbpf_builder__bind(g->b, top);
	g->in_loop = 1;
	g->depth++;
	gen_block(g, 2 + (int)below(g, 6));
	g->depth--;
	g->in_loop = 0;
	switch (below(g, 3)) {
	case 0:
		emit(g, SBPF_ALU64_IMM(SBPF_SUB, 8, 1));
		sbpf_builder__jump(g->b, SBPF_JMP_IMM(SBPF_JNE, 8, 0, 0), top);
		break;
	case 1:
		emit(g, SBPF_ALU32_IMM(SBPF_ADD, 8, -1));
		sbpf_builder__jump(g->b, SBPF_JMP32_IMM(SBPF_JSGT, 8, 0, 0), top);
		break;
	default:
		emit(g, SBPF_ALU64_IMM(SBPF_ADD, 8, -1));
		sbpf_builder__jump(g->b, SBPF_JMP_IMM(SBPF_JGT, 8, 0, 0), top);
		break;
	}
}

/* Re-initialises r1..r5 (unreadable after a call for the verifier). */
static void reinit_args(struct gen *g)
{
	for (int r = 1; r <= 5; r++) {
		if (chance(g, 50))
			emit(g, SBPF_MOV64_IMM(r, rand_imm(g)));
		else
			emit(g, SBPF_MOV64_REG(r, chance(g, 50) ? 0 : 6 + (int)below(g, 2)));
	}
}

static void gen_call(struct gen *g)
{
	if (g->fn >= g->nfn) {
		gen_alu(g);
		return;
	}
	int target = g->fn + 1 + (int)below(g, (unsigned)(g->nfn - g->fn));
	sbpf_builder__call_local(g->b, g->fn_label[target]);
	reinit_args(g);
}

/* Emits about @len slots of random code. */
static void gen_block(struct gen *g, int len)
{
	while (len > 0 && g->budget > 0 && !sbpf_builder__error(g->b)) {
		size_t before = sbpf_builder__len(g->b);
		unsigned k = below(g, 100);
		if (k < 38)
			gen_alu(g);
		else if (k < 48)
			gen_special(g);
		else if (k < 60)
			gen_load(g);
		else if (k < 70)
			gen_store(g);
		else if (k < 76)
			gen_atomic(g);
		else if (k < 90 && g->depth < 3)
			gen_if(g);
		else if (k < 94)
			gen_loop(g);
		else if (k < 98)
			gen_call(g);
		else
			gen_alu(g);
		int used = (int)(sbpf_builder__len(g->b) - before);
		len -= used;
		g->budget -= used;
	}
}

/* ---- frame set-up ------------------------------------------------------------ */

static void init_stack(struct gen *g)
{
	for (int off = -8; off >= -STACK_USED; off -= 8) {
		if (chance(g, 50))
			emit(g, SBPF_ST_MEM(SBPF_DW, SBPF_REG_FP, off, rand_imm(g)));
		else
			emit(g, SBPF_STX_MEM(SBPF_DW, SBPF_REG_FP, src_reg(g), off));
	}
}

/* r0 ^= every other scalar register, mixed so that order matters. */
static void fold_regs(struct gen *g)
{
	for (int r = 1; r <= top_reg(g); r++) {
		emit(g, SBPF_ALU64_IMM(SBPF_MUL, 0, 33));
		emit(g, SBPF_ALU64_REG(SBPF_XOR, 0, r));
	}
}

static void gen_main(struct gen *g, unsigned body_len)
{
	/* prologue, xdp form (sbpf_gen_swap_prologue makes the mem form) */
	emit(g, SBPF_LDX_MEM(SBPF_W, 2, 1, 4));
	emit(g, SBPF_LDX_MEM(SBPF_W, 9, 1, 0));
	emit(g, SBPF_MOV64_REG(3, 9));
	emit(g, SBPF_ALU64_IMM(SBPF_ADD, 3, MEMSZ));
	sbpf_builder__jump(g->b, SBPF_JMP_REG(SBPF_JGT, 3, 2, 0), g->out_label);

	for (int r = 0; r <= 8; r++) {
		switch (below(g, 4)) {
		case 0:  emit(g, SBPF_MOV64_IMM(r, rand_imm(g))); break;
		case 1:  sbpf_builder__emit_lddw(g->b, r, 0, rand_imm64(g)); break;
		default: {
			uint8_t sz = sizes[below(g, 4)];
			emit(g, SBPF_LDX_MEM(sz, r, 9, mem_off(g, size_bytes(sz), 0)));
		}
		}
	}
	init_stack(g);
	g->budget = (int)body_len;
	gen_block(g, (int)body_len);
	/* every callee is called at least once (the verifier refuses dead code) */
	for (int k = 1; k <= g->nfn; k++) {
		sbpf_builder__call_local(g->b, g->fn_label[k]);
		emit(g, SBPF_ALU64_REG(SBPF_XOR, 6, 0));
		reinit_args(g);
	}
	for (int r = 0; r <= 8; r++)
		emit(g, SBPF_STX_MEM(SBPF_DW, 9, r, DUMP_AT + 8 * r));
	fold_regs(g);
	emit(g, SBPF_MOV64_REG(1, 0));
	emit(g, SBPF_ALU64_IMM(SBPF_RSH, 1, 32));
	emit(g, SBPF_ALU64_REG(SBPF_XOR, 0, 1));
	emit(g, SBPF_EXIT_INSN());
	sbpf_builder__bind(g->b, g->out_label);
	emit(g, SBPF_MOV64_IMM(0, 0));
	emit(g, SBPF_EXIT_INSN());
}

static void gen_callee(struct gen *g, int k, unsigned body_len)
{
	g->fn = k;
	sbpf_builder__bind(g->b, g->fn_label[k]);
	emit(g, SBPF_MOV64_REG(0, 1 + (int)below(g, 5)));
	for (int r = 6; r <= 9; r++) {
		if (chance(g, 50))
			emit(g, SBPF_MOV64_IMM(r, rand_imm(g)));
		else
			emit(g, SBPF_MOV64_REG(r, 1 + (int)below(g, 5)));
	}
	init_stack(g);
	g->budget = (int)body_len;
	gen_block(g, (int)body_len);
	fold_regs(g);
	emit(g, SBPF_EXIT_INSN());
}

/* ---- public ---------------------------------------------------------------- */

void sbpf_gen_swap_prologue(struct sbpf_insn *insns, size_t n, size_t prologue,
			    enum sbpf_prog_type to)
{
	if (prologue != PROLOGUE || n < PROLOGUE)
		return;
	if (to == SBPF_PROG_XDP) {
		insns[0] = SBPF_LDX_MEM(SBPF_W, 2, 1, 4);
		insns[1] = SBPF_LDX_MEM(SBPF_W, 9, 1, 0);
		insns[2] = SBPF_MOV64_REG(3, 9);
		insns[3] = SBPF_ALU64_IMM(SBPF_ADD, 3, MEMSZ);
	} else {
		insns[0] = SBPF_MOV64_REG(9, 1);
		insns[1] = SBPF_MOV64_IMM(3, MEMSZ);
		insns[2] = SBPF_JA(0);
		insns[3] = SBPF_JA(0);
	}
}

static void gen_input(struct gen *g, uint8_t *mem)
{
	for (int i = 0; i < MEMSZ; i++) {
		switch (below(g, 6)) {
		case 0:  mem[i] = 0; break;
		case 1:  mem[i] = 0xff; break;
		case 2:  mem[i] = (uint8_t)(0x80 | below(g, 2)); break;
		default: mem[i] = (uint8_t)next(g); break;
		}
	}
}

int sbpf_gen_program(const struct sbpf_gen_opts *opts, struct sbpf_gen_prog *out,
		     char *why, size_t whysz)
{
	memset(out, 0, sizeof(*out));
	struct gen g = { .kernel_safe = opts->kernel_safe, .kernel_fetch = opts->kernel_fetch };
	/* splitmix64 of the seed: nearby seeds give unrelated streams */
	uint64_t z = opts->seed + 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	g.s = (z ^ (z >> 31)) | 1;
	unsigned body_len = opts->body_len ? opts->body_len : 48;

	g.b = sbpf_builder__new();
	if (!g.b)
		return -ENOMEM;
	gen_input(&g, out->mem);
	g.nfn = (int)below(&g, MAX_FN + 1);
	for (int k = 1; k <= g.nfn; k++)
		g.fn_label[k] = sbpf_builder__new_label(g.b);
	g.out_label = sbpf_builder__new_label(g.b);
	gen_main(&g, body_len);
	for (int k = 1; k <= g.nfn; k++)
		gen_callee(&g, k, body_len / 3 + 4);

	struct sbpf_validate_error verr;
	int rc = sbpf_builder__finish(g.b, &out->xdp_insns, &out->xdp_n, &verr);
	sbpf_builder__free(g.b);
	if (rc) {
		if (why)
			snprintf(why, whysz, "generator produced an invalid program (slot %zu: %s)",
				 verr.index, verr.rule);
		return rc;
	}
	out->mem_insns = malloc(out->xdp_n * sizeof(*out->mem_insns));
	if (!out->mem_insns) {
		sbpf_gen_prog__free(out);
		return -ENOMEM;
	}
	memcpy(out->mem_insns, out->xdp_insns, out->xdp_n * sizeof(*out->mem_insns));
	out->mem_n = out->xdp_n;
	out->prologue = PROLOGUE;
	sbpf_gen_swap_prologue(out->mem_insns, out->mem_n, PROLOGUE, SBPF_PROG_MEM);
	return 0;
}

void sbpf_gen_prog__free(struct sbpf_gen_prog *p)
{
	if (!p)
		return;
	free(p->mem_insns);
	free(p->xdp_insns);
	p->mem_insns = p->xdp_insns = NULL;
	p->mem_n = p->xdp_n = 0;
}
