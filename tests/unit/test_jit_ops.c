/* test_jit_ops.c - every eBPF instruction form executes identically on the
 * JIT and the interpreter: each ALU/jump/memory/atomic form, on every
 * register pair (dst == src and r10 as a source included) and on edge-case
 * operands (shifts by 0/31/32/63, INT_MIN, -1, zero divisors...). Every
 * register is snapshotted into memory after each operation, so a clobbered
 * bystander register (rax/rdx around a division, rcx around a shift) fails
 * too. Also seeded random programs.
 */
#include "jit_diff.h"

/* 64-bit operand values. */
static const uint64_t vals[] = {
	0, 1, 2, 7, 31, 32, 63, 64,
	0xffffffffffffffffull, 0xfffffffffffffff9ull, 0x7fffffffull, 0x80000000ull,
	0xffffffffull, 0x100000000ull, 0x8000000000000000ull, 0x7fffffffffffffffull,
	0x123456789abcdef0ull, 0xffffffff80000000ull, 0x00000001ffffffffull, 0xfedcba9876543210ull,
};

/* Immediates. */
static const int32_t imms[] = {
	0, 1, -1, 2, 7, 31, 32, 33, 63, 64, 127, 128, -128, -129,
	0x7fffffff, INT32_MIN, 0xff, 0x100, 16, -7,
};

/* (a, b) pairs for the all-register-pairs sweep. */
static const uint64_t pairs[][2] = {
	{ 0x123456789abcdef0ull, 7 },
	{ 0x8000000000000000ull, 0xffffffffffffffffull },  /* INT64_MIN, -1 */
	{ 0xffffffff80000000ull, 0xffffffffull },          /* INT32_MIN, -1 (32-bit) */
	{ 42, 0 },                                         /* zero divisor */
	{ 0xfedcba9876543210ull, 63 },
	{ 0x00000001ffffffffull, 32 },
	{ 0xfffffffffffffff9ull, 0x100000003ull },
};

#define SNAP_BYTES 88 /* r0..r9 and the jump flag */

static uint64_t background(int r)
{
	return 0xa5a5a5a500000000ull | (uint64_t)(r * 0x01010101u + 0x10203);
}

/* Program prologue: save r1 (mem) at fp-88, give every register a value. */
static void begin(struct prog *p)
{
	put(p, SBPF_STX_MEM(SBPF_DW, 10, 1, -88));
	put(p, SBPF_ST_MEM(SBPF_DW, 10, -96, 0));
	for (int r = 0; r <= 9; r++)
		put_lddw(p, r, background(r));
}

/* Copies r0..r9 and the flag at fp-96 into mem slot @slot; leaves r1 and r2
 * at their background values again. */
static void snapshot(struct prog *p, int slot)
{
	for (int r = 0; r <= 9; r++)
		put(p, SBPF_STX_MEM(SBPF_DW, 10, r, (int16_t)(-8 * (r + 1))));
	put(p, SBPF_LDX_MEM(SBPF_DW, 1, 10, -88));
	for (int r = 0; r <= 10; r++) {
		put(p, SBPF_LDX_MEM(SBPF_DW, 2, 10, (int16_t)(-8 * (r + 1) - (r == 10 ? 8 : 0))));
		put(p, SBPF_STX_MEM(SBPF_DW, 1, 2, (int16_t)(slot * SNAP_BYTES + 8 * r)));
	}
	put_lddw(p, 1, background(1));
	put_lddw(p, 2, background(2));
}

static void finish_and_check(struct prog *p, int slots)
{
	put(p, SBPF_MOV64_IMM(0, 0));
	put(p, SBPF_EXIT_INSN());
	size_t len = (size_t)slots * SNAP_BYTES;
	uint8_t *mem = calloc(1, len);
	int rc = agree(p->v, p->n, mem, len, NULL);
	cr_assert_eq(rc, 0, "program failed on the interpreter\n%s", listing(p->v, p->n));
	free(mem);
	p->n = 0;
}

/* The instruction of form @op with dst @d, src @s and immediate @imm. */
static struct sbpf_insn form(enum sbpf_op op, int d, int s, int32_t imm)
{
	const struct sbpf_op_info *f = sbpf_op_info(op);
	struct sbpf_insn in = SBPF_INSN(f->code, d, 0, 0, 0);
	if (f->fmt == SBPF_FMT_ALU_K || f->fmt == SBPF_FMT_JCOND_K)
		in.imm = imm;
	if (f->fmt == SBPF_FMT_ALU_X || f->fmt == SBPF_FMT_MOVSX || f->fmt == SBPF_FMT_JCOND_X)
		in.src_reg = (uint8_t)(s & 15);
	if (f->key == SBPF_KEY_OFF)
		in.off = (int16_t)f->key_value;
	if (f->key == SBPF_KEY_IMM)
		in.imm = f->key_value;
	return in;
}

static bool is_alu(const struct sbpf_op_info *f)
{
	return f->fmt == SBPF_FMT_ALU_K || f->fmt == SBPF_FMT_ALU_X || f->fmt == SBPF_FMT_MOVSX ||
	       f->fmt == SBPF_FMT_NEG || f->fmt == SBPF_FMT_END;
}

static bool uses_src(const struct sbpf_op_info *f)
{
	return f->fmt == SBPF_FMT_ALU_X || f->fmt == SBPF_FMT_MOVSX || f->fmt == SBPF_FMT_JCOND_X;
}

static bool uses_imm(const struct sbpf_op_info *f)
{
	return f->fmt == SBPF_FMT_ALU_K || f->fmt == SBPF_FMT_JCOND_K;
}

/* Appends one block: set dst (and src) to @a (@b), run @in (an ALU form, or
 * a conditional jump that sets the flag), snapshot. */
static void block(struct prog *p, struct sbpf_insn in, uint64_t a, uint64_t b, int slot)
{
	const struct sbpf_op_info *f = sbpf_op_info(sbpf_decode(&in));
	put_lddw(p, in.dst_reg, a);
	if (uses_src(f) && in.src_reg != in.dst_reg)
		put_lddw(p, in.src_reg, b);
	if (f->fmt == SBPF_FMT_JCOND_K || f->fmt == SBPF_FMT_JCOND_X) {
		put(p, SBPF_ST_MEM(SBPF_DW, 10, -96, 0));
		in.off = 1;
		put(p, in);
		put(p, SBPF_JA(1));
		put(p, SBPF_ST_MEM(SBPF_DW, 10, -96, 1));
	} else {
		put(p, in);
	}
	snapshot(p, slot);
}

/* Every binary form (register source) on every register pair. */
static void sweep_pairs(bool jumps)
{
	struct prog p = { 0 };
	int forms = 0;
	for (int op = 1; op < SBPF_OP__COUNT; op++) {
		const struct sbpf_op_info *f = sbpf_op_info((enum sbpf_op)op);
		if (!uses_src(f) || (f->fmt == SBPF_FMT_JCOND_X) != jumps)
			continue;
		forms++;
		for (int d = 0; d <= 9; d++)
			for (int s = 0; s <= 9; s++) {
				begin(&p);
				for (size_t k = 0; k < ARRAY_LEN(pairs); k++)
					block(&p, form((enum sbpf_op)op, d, s, 0), pairs[k][0], pairs[k][1], (int)k);
				finish_and_check(&p, (int)ARRAY_LEN(pairs));
			}
	}
	cr_assert_gt(forms, jumps ? 20 : 25);
	free(p.v);
}

Test(jit_ops, alu_register_forms_on_all_register_pairs, .timeout = 300)
{
	sweep_pairs(false);
}

Test(jit_ops, jump_register_forms_on_all_register_pairs, .timeout = 300)
{
	sweep_pairs(true);
}

/* Every binary form on the full cross product of operand values, for the
 * register pairs the backend treats specially (rax, rdx, rcx). */
static void sweep_values(bool jumps)
{
	static const int regpairs[][2] = { { 1, 2 }, { 0, 3 }, { 3, 4 }, { 4, 0 } };
	struct prog p = { 0 };
	for (int op = 1; op < SBPF_OP__COUNT; op++) {
		const struct sbpf_op_info *f = sbpf_op_info((enum sbpf_op)op);
		if (!uses_src(f) || (f->fmt == SBPF_FMT_JCOND_X) != jumps)
			continue;
		for (size_t rp = 0; rp < ARRAY_LEN(regpairs); rp++) {
			int slot = 0;
			begin(&p);
			for (size_t i = 0; i < ARRAY_LEN(vals); i++)
				for (size_t j = 0; j < ARRAY_LEN(vals); j++) {
					block(&p, form((enum sbpf_op)op, regpairs[rp][0], regpairs[rp][1], 0),
					      vals[i], vals[j], slot++);
					if (slot == 100) {
						finish_and_check(&p, slot);
						slot = 0;
						begin(&p);
					}
				}
			finish_and_check(&p, slot);
		}
	}
	free(p.v);
}

Test(jit_ops, alu_register_forms_on_edge_values, .timeout = 300)
{
	sweep_values(false);
}

Test(jit_ops, jump_register_forms_on_edge_values, .timeout = 300)
{
	sweep_values(true);
}

/* Every immediate and unary form, every dst register, edge immediates and
 * values. */
static void sweep_imm(bool jumps)
{
	struct prog p = { 0 };
	int forms = 0;
	for (int op = 1; op < SBPF_OP__COUNT; op++) {
		const struct sbpf_op_info *f = sbpf_op_info((enum sbpf_op)op);
		bool jump = f->fmt == SBPF_FMT_JCOND_K;
		if (jump != jumps || (!jump && (!is_alu(f) || uses_src(f))))
			continue;
		forms++;
		for (int d = 0; d <= 9; d++) {
			int slot = 0;
			begin(&p);
			size_t nimm = uses_imm(f) ? ARRAY_LEN(imms) : 1;
			for (size_t k = 0; k < nimm; k++)
				for (size_t i = 0; i < ARRAY_LEN(vals); i += uses_imm(f) ? 3 : 1)
					block(&p, form((enum sbpf_op)op, d, 0, imms[k]), vals[(i + k) % ARRAY_LEN(vals)],
					      0, slot++);
			finish_and_check(&p, slot);
		}
	}
	cr_assert_gt(forms, jumps ? 10 : 30);
	free(p.v);
}

Test(jit_ops, alu_immediate_and_unary_forms, .timeout = 300)
{
	sweep_imm(false);
}

Test(jit_ops, jump_immediate_forms, .timeout = 300)
{
	sweep_imm(true);
}

/* r10 as a source: pointer arithmetic and comparisons (results are made
 * address-independent before they are compared). */
Test(jit_ops, r10_as_a_source)
{
	struct prog p = { 0 };
	for (int d = 0; d <= 9; d++) {
		begin(&p);
		/* d = r10; d -= r10 -> 0 */
		put(&p, SBPF_MOV64_REG(d, 10));
		put(&p, SBPF_ALU64_REG(SBPF_SUB, d, 10));
		snapshot(&p, 0);
		/* d = 5; d += r10; d -= r10 -> 5 */
		put(&p, SBPF_MOV64_IMM(d, 5));
		put(&p, SBPF_ALU64_REG(SBPF_ADD, d, 10));
		put(&p, SBPF_ALU64_REG(SBPF_SUB, d, 10));
		snapshot(&p, 1);
		/* d = r10 - 16; store through it, load through r10 */
		put(&p, SBPF_MOV64_REG(d, 10));
		put(&p, SBPF_ALU64_IMM(SBPF_ADD, d, -16));
		put(&p, SBPF_ST_MEM(SBPF_DW, d, 0, 0x1234));
		put(&p, SBPF_LDX_MEM(SBPF_DW, d, 10, -16));
		snapshot(&p, 2);
		/* comparisons against r10 */
		static const enum sbpf_op jops[] = { SBPF_OP_JEQ_REG, SBPF_OP_JGT_REG, SBPF_OP_JLT_REG,
						     SBPF_OP_JSGE_REG, SBPF_OP_JNE32_REG };
		for (size_t k = 0; k < ARRAY_LEN(jops); k++) {
			put(&p, SBPF_ST_MEM(SBPF_DW, 10, -96, 0));
			put(&p, SBPF_MOV64_REG(d, 10));
			put(&p, SBPF_ALU64_IMM(SBPF_ADD, d, (int32_t)k - 2));
			struct sbpf_insn j = form(jops[k], d, 10, 0);
			j.off = 1;
			put(&p, j);
			put(&p, SBPF_JA(1));
			put(&p, SBPF_ST_MEM(SBPF_DW, 10, -96, 1));
			put(&p, SBPF_MOV64_IMM(d, 0)); /* drop the address before the snapshot */
			snapshot(&p, 3 + (int)k);
		}
		finish_and_check(&p, 3 + (int)ARRAY_LEN(jops));
	}
	free(p.v);
}

/* ---- memory ---- */

static const uint8_t pattern[64] = {
	0x80, 0x81, 0x7f, 0xff, 0x01, 0x02, 0x03, 0x04, 0xf0, 0xde, 0xbc, 0x9a, 0x78, 0x56, 0x34, 0x12,
	0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
	0xfe, 0xfd, 0xfc, 0xfb, 0xfa, 0xf9, 0xf8, 0xf7, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80,
	0x90, 0xa0, 0xb0, 0xc0, 0xd0, 0xe0, 0xf0, 0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78, 0x87,
};

/* Loads and stores of every size through every base register at offsets
 * around the edges of the buffer (in and out of bounds). */
Test(jit_ops, loads_and_stores_at_the_bounds_of_mem, .timeout = 300)
{
	static const enum sbpf_op ops[] = {
		SBPF_OP_LDXB, SBPF_OP_LDXH, SBPF_OP_LDXW, SBPF_OP_LDXDW, SBPF_OP_LDXSB, SBPF_OP_LDXSH,
		SBPF_OP_LDXSW, SBPF_OP_STB, SBPF_OP_STH, SBPF_OP_STW, SBPF_OP_STDW, SBPF_OP_STXB,
		SBPF_OP_STXH, SBPF_OP_STXW, SBPF_OP_STXDW,
	};
	static const int16_t offs[] = { -1, 0, 3, 56, 60, 62, 63, 64, -32768, 32767 };
	struct prog p = { 0 };
	int faults = 0, oks = 0;
	for (size_t k = 0; k < ARRAY_LEN(ops); k++) {
		const struct sbpf_op_info *f = sbpf_op_info(ops[k]);
		for (int base = 0; base <= 9; base++)
			for (int other = 0; other <= 9; other += 3)
				for (size_t o = 0; o < ARRAY_LEN(offs); o++) {
					if (other == base && f->fmt == SBPF_FMT_STX)
						continue; /* would store the address */
					p.n = 0;
					for (int r = 0; r <= 9; r++)
						if (r != 1)
							put_lddw(&p, r, background(r));
					put(&p, SBPF_MOV64_REG(base, 1));
					if (base != 1)
						put_lddw(&p, 1, background(1));
					struct sbpf_insn in = SBPF_INSN(f->code, 0, 0, offs[o], 0);
					if (f->fmt == SBPF_FMT_LDX) {
						in.dst_reg = (uint8_t)other;
						in.src_reg = (uint8_t)base;
					} else {
						in.dst_reg = (uint8_t)base;
						in.src_reg = f->fmt == SBPF_FMT_STX ? (uint8_t)other : 0;
						in.imm = f->fmt == SBPF_FMT_ST ? (int32_t)0x89abcdef : 0;
					}
					put(&p, in);
					if (f->fmt == SBPF_FMT_LDX)
						put(&p, SBPF_MOV64_REG(0, other));
					else
						put(&p, SBPF_MOV64_IMM(0, 0));
					put(&p, SBPF_EXIT_INSN());
					int rc = agree(p.v, p.n, pattern, sizeof(pattern), NULL);
					if (rc == -EFAULT)
						faults++;
					else if (rc == 0)
						oks++;
				}
	}
	cr_assert_gt(faults, 500);
	cr_assert_gt(oks, 500);
	free(p.v);
}

/* Stack accesses: through r10 and through copies of it, at the frame's
 * edges, from callees into their callers' frames, and below the frame. */
Test(jit_ops, stack_bounds_and_frames)
{
	static const int16_t offs[] = { -520, -513, -512, -509, -8, -4, -1, 0, 8, 504, 512 };
	static const int sizes[] = { SBPF_B, SBPF_H, SBPF_W, SBPF_DW };
	struct prog p = { 0 };
	int faults = 0, oks = 0;
	for (size_t s = 0; s < ARRAY_LEN(sizes); s++)
		for (size_t o = 0; o < ARRAY_LEN(offs); o++)
			for (int via = 0; via < 3; via++) {
				/* via 0: [r10+off]; via 1: [r3+off], r3 = r10; via 2: in a callee */
				p.n = 0;
				put(&p, SBPF_MOV64_IMM(0, 0));
				put(&p, SBPF_ST_MEM(SBPF_DW, 10, -8, 0x5555));
				if (via == 2) {
					put(&p, SBPF_INSN(SBPF_JMP | SBPF_CALL, 0, SBPF_PSEUDO_CALL, 0, 1));
					put(&p, SBPF_EXIT_INSN());
				}
				int base = via == 0 ? 10 : 3;
				if (via)
					put(&p, SBPF_MOV64_REG(3, 10));
				put(&p, SBPF_ST_MEM(sizes[s], base, offs[o], 0x7a));
				put(&p, SBPF_LDX_MEM(sizes[s], 0, base, offs[o]));
				put(&p, SBPF_LDX_MEM(SBPF_B, 4, 10, -8));
				put(&p, SBPF_ALU64_REG(SBPF_ADD, 0, 4));
				put(&p, SBPF_EXIT_INSN());
				int rc = agree_on(p.v, p.n, NULL, 0, NULL, DIFF_CHECKED | DIFF_NO_BMI2);
				if (rc == -EFAULT)
					faults++;
				else if (rc == 0)
					oks++;
			}
	cr_assert_gt(faults, 20);
	cr_assert_gt(oks, 20);
	free(p.v);
}

/* Every atomic form, every (dst, src) pair, with r0 matching the memory
 * (cmpxchg succeeds) or not. */
Test(jit_ops, atomics_on_all_register_pairs, .timeout = 300)
{
	struct prog p = { 0 };
	int forms = 0;
	for (int op = 1; op < SBPF_OP__COUNT; op++) {
		const struct sbpf_op_info *f = sbpf_op_info((enum sbpf_op)op);
		if (f->fmt != SBPF_FMT_ATOMIC)
			continue;
		forms++;
		for (int d = 0; d <= 9; d++)
			for (int s = 0; s <= 9; s++) {
				if (s == d)
					continue;
				for (int match = 0; match < 2; match++) {
					p.n = 0;
					put(&p, SBPF_STX_MEM(SBPF_DW, 10, 1, -88));
					put(&p, SBPF_ST_MEM(SBPF_DW, 10, -96, 0));
					for (int r = 0; r <= 9; r++)
						if (r != 1)
							put_lddw(&p, r, background(r) ^ 0x80000000u);
					put(&p, SBPF_MOV64_REG(d, 1));    /* d = mem */
					put_lddw(&p, s, 0xf0f0f0f00ff00ff1ull);
					if (match && d != 0)               /* r0 = the old value */
						put(&p, SBPF_LDX_MEM(SBPF_DW, 0, d, 8));
					put(&p, SBPF_INSN(f->code, d, s, 8, f->key_value));
					put(&p, SBPF_MOV64_IMM(d, 0));     /* drop the address */
					if (d != 1 && s != 1)
						put_lddw(&p, 1, background(1));
					snapshot(&p, 1);
					put(&p, SBPF_MOV64_IMM(0, 0));
					put(&p, SBPF_EXIT_INSN());
					uint8_t mem[2 * SNAP_BYTES];
					memcpy(mem, pattern, 16);
					memset(mem + 16, 0, sizeof(mem) - 16);
					int rc = agree(p.v, p.n, mem, sizeof(mem), NULL);
					cr_assert_eq(rc, 0, "%s", listing(p.v, p.n));
				}
			}
	}
	cr_assert_eq(forms, 20);
	free(p.v);
}

/* ---- random programs ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Random straight-line-and-forward-jump programs over ALU, jump, memory
 * and atomic forms with random registers and edge operands; loads and
 * stores go to mem or the stack, sometimes out of bounds. */
Test(jit_ops, random_programs, .timeout = 300)
{
	struct prog p = { 0 };
	int ok = 0, faults = 0;
	for (int iter = 0; iter < 1500; iter++) {
		p.n = 0;
		put(&p, SBPF_MOV64_REG(9, 1)); /* r9: mem (kept) */
		for (int r = 0; r <= 8; r++)
			put_lddw(&p, r, vals[rnd() % ARRAY_LEN(vals)]);
		int len = 20 + (int)(rnd() % 40);
		for (int i = 0; i < len; i++) {
			int kind = (int)(rnd() % 10);
			int d = (int)(rnd() % 9), s = (int)(rnd() % 9);
			if (kind < 5) {
				enum sbpf_op op;
				do
					op = (enum sbpf_op)(1 + rnd() % (SBPF_OP__COUNT - 1));
				while (!is_alu(sbpf_op_info(op)));
				put(&p, form(op, d, s, imms[rnd() % ARRAY_LEN(imms)]));
			} else if (kind < 7) {
				enum sbpf_op op;
				const struct sbpf_op_info *f;
				do {
					op = (enum sbpf_op)(1 + rnd() % (SBPF_OP__COUNT - 1));
					f = sbpf_op_info(op);
				} while (f->fmt != SBPF_FMT_JCOND_K && f->fmt != SBPF_FMT_JCOND_X);
				struct sbpf_insn j = form(op, d, s, imms[rnd() % ARRAY_LEN(imms)]);
				j.off = (int16_t)(rnd() % 6);
				put(&p, j);
			} else if (kind < 9) {
				static const int sz[] = { SBPF_B, SBPF_H, SBPF_W, SBPF_DW };
				int base = rnd() % 2 ? 9 : 10;
				int16_t off = base == 9 ? (int16_t)(rnd() % 70) - 3 : -(int16_t)(rnd() % 520);
				int z = sz[rnd() % 4];
				int k = (int)(rnd() % 3);
				if (k == 0)
					put(&p, SBPF_LDX_MEM(z, d, base, off));
				else if (k == 1)
					put(&p, SBPF_STX_MEM(z, base, s, off));
				else
					put(&p, SBPF_INSN(SBPF_LDX | SBPF_MEMSX | (z == SBPF_DW ? SBPF_W : z), d, base, off, 0));
			} else {
				static const int aops[] = { 0x00, 0x01, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1 };
				int w = rnd() % 2;
				int16_t off = (int16_t)(rnd() % 64) - 2;
				put(&p, SBPF_INSN(SBPF_STX | SBPF_ATOMIC | (w ? SBPF_DW : SBPF_W), 9, s, off,
						  aops[rnd() % ARRAY_LEN(aops)]));
			}
		}
		/* make the jumps land inside the program */
		put(&p, SBPF_MOV64_IMM(9, 0));
		for (int i = 0; i < 6; i++)
			put(&p, SBPF_ALU64_IMM(SBPF_ADD, 0, i));
		put(&p, SBPF_EXIT_INSN());
		uint8_t mem[64];
		memcpy(mem, pattern, sizeof(mem));
		int rc = agree_on(p.v, p.n, mem, sizeof(mem), NULL, DIFF_CHECKED | DIFF_NO_BMI2);
		if (rc == 0)
			ok++;
		else if (rc == -EFAULT)
			faults++;
	}
	cr_assert_gt(ok, 100);
	cr_assert_gt(faults, 100);
	free(p.v);
}
