/* test_isa.c - the instruction table, decoder, validator and builder
 * (src/isa/): every opcodes.def form decodes back to itself, every
 * validation rule rejects a program that breaks it (checked by index and
 * message), and the builder resolves labels and keeps its first error.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "safebpf/isa.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Which fields a format uses (test's own statement of RFC 9669 layouts). */
enum { U_DST = 1, U_SRC = 2, U_OFF = 4, U_IMM = 8 };

static int uses(const struct sbpf_op_info *f)
{
	switch (f->fmt) {
	case SBPF_FMT_ALU_K: return U_DST | U_IMM;
	case SBPF_FMT_ALU_X: return U_DST | U_SRC;
	case SBPF_FMT_MOVSX: return U_DST | U_SRC;
	case SBPF_FMT_NEG: return U_DST;
	case SBPF_FMT_END: return U_DST;
	case SBPF_FMT_LDX: return U_DST | U_SRC | U_OFF;
	case SBPF_FMT_ST: return U_DST | U_OFF | U_IMM;
	case SBPF_FMT_STX: return U_DST | U_SRC | U_OFF;
	case SBPF_FMT_ATOMIC: return U_DST | U_SRC | U_OFF;
	case SBPF_FMT_LDDW: return U_DST | U_IMM;
	case SBPF_FMT_JA: return U_OFF;
	case SBPF_FMT_JA32: return U_IMM;
	case SBPF_FMT_JCOND_K: return U_DST | U_OFF | U_IMM;
	case SBPF_FMT_JCOND_X: return U_DST | U_SRC | U_OFF;
	case SBPF_FMT_CALL: return U_IMM;
	case SBPF_FMT_CALL_LOCAL: return U_IMM;
	default: return 0;
	}
}

/* An instance of form @op with every used field set (dst r1, src r2,
 * off 3, imm 4) and the key field holding the form's key value. */
static struct sbpf_insn sample(enum sbpf_op op)
{
	const struct sbpf_op_info *f = sbpf_op_info(op);
	int u = uses(f);
	struct sbpf_insn in = { .code = f->code };
	if (u & U_DST) in.dst_reg = 1;
	if (u & U_SRC) in.src_reg = 2;
	if (u & U_OFF) in.off = 3;
	if (u & U_IMM) in.imm = 4;
	if (f->key == SBPF_KEY_OFF) in.off = (int16_t)f->key_value;
	if (f->key == SBPF_KEY_IMM) in.imm = f->key_value;
	if (f->key == SBPF_KEY_SRC) in.src_reg = (uint8_t)f->key_value;
	return in;
}

Test(isa, table_is_complete_and_consistent)
{
	cr_assert_eq(SBPF_OP__COUNT - 1, 164, "opcodes.def has %d forms", SBPF_OP__COUNT - 1);
	cr_assert_null(sbpf_op_info(SBPF_OP__COUNT));
	cr_assert_null(sbpf_op_info((enum sbpf_op)-1));
	for (int op = 1; op < SBPF_OP__COUNT; op++) {
		const struct sbpf_op_info *f = sbpf_op_info((enum sbpf_op)op);
		cr_assert_not_null(f);
		cr_expect(f->id && f->mnemonic && f->symbol && f->mnemonic[0] && f->symbol[0],
			  "form %d lacks a name", op);
		cr_expect_eq(sbpf_op_slots((enum sbpf_op)op), f->fmt == SBPF_FMT_LDDW ? 2 : 1);
		/* No two forms share an encoding. */
		for (int o2 = 1; o2 < op; o2++) {
			const struct sbpf_op_info *g = sbpf_op_info((enum sbpf_op)o2);
			cr_expect(!(g->code == f->code && g->key == f->key &&
				    g->key_value == f->key_value),
				  "%s and %s share an encoding", f->id, g->id);
		}
	}
}

Test(isa, every_form_decodes_to_itself)
{
	for (int op = 1; op < SBPF_OP__COUNT; op++) {
		const struct sbpf_op_info *f = sbpf_op_info((enum sbpf_op)op);
		struct sbpf_insn bare = { .code = f->code };
		if (f->key == SBPF_KEY_OFF) bare.off = (int16_t)f->key_value;
		if (f->key == SBPF_KEY_IMM) bare.imm = f->key_value;
		if (f->key == SBPF_KEY_SRC) bare.src_reg = (uint8_t)f->key_value;
		cr_expect_eq(sbpf_decode(&bare), op, "bare %s decodes to %d", f->id,
			     sbpf_decode(&bare));
		struct sbpf_insn full = sample((enum sbpf_op)op);
		cr_expect_eq(sbpf_decode(&full), op, "%s with fields decodes to %d", f->id,
			     sbpf_decode(&full));
		/* The same form with a key value no form has does not decode. */
		if (f->key == SBPF_KEY_IMM) {
			struct sbpf_insn odd = full;
			odd.imm = 7;
			cr_expect_eq(sbpf_decode(&odd), SBPF_OP_INVALID, "%s imm=7", f->id);
		}
	}
}

Test(isa, every_form_in_a_program_validates)
{
	for (int op = 1; op < SBPF_OP__COUNT; op++) {
		struct sbpf_insn prog[8];
		size_t n = 0;
		prog[n++] = sample((enum sbpf_op)op);
		if (sbpf_op_slots((enum sbpf_op)op) == 2)
			prog[n++] = (struct sbpf_insn){ .imm = 5 };
		while (n < 8)
			prog[n++] = SBPF_EXIT_INSN(); /* targets of off/imm 3 land here */
		struct sbpf_validate_error err = { 0 };
		int rc = sbpf_validate(prog, n, &err);
		cr_expect_eq(rc, 0, "%s rejected: %s", sbpf_op_info((enum sbpf_op)op)->id, err.rule);
	}
}

Test(isa, opcode_bytes_without_forms_do_not_decode)
{
	int known[256] = { 0 };
	for (int op = 1; op < SBPF_OP__COUNT; op++)
		known[sbpf_op_info((enum sbpf_op)op)->code] = 1;
	int unknown = 0;
	for (int c = 0; c < 256; c++) {
		struct sbpf_insn in = { .code = (uint8_t)c };
		if (known[c])
			continue;
		unknown++;
		cr_expect_eq(sbpf_decode(&in), SBPF_OP_INVALID, "opcode 0x%02x decodes", c);
	}
	cr_expect_gt(unknown, 100);
}

/* ---------------------------------------------------------- validation */

struct rule_case {
	const char *name;          /* what the program breaks */
	struct sbpf_insn prog[6];  /* the program */
	size_t n;                  /* its length */
	size_t index;              /* slot the error must name */
	const char *rule;          /* exact message */
};

#define I SBPF_INSN
static const struct rule_case rule_cases[] = {
	{ "unknown opcode", { I(0xff, 0, 0, 0, 0), SBPF_EXIT_INSN() }, 2, 0,
	  "unknown opcode 0xff" },
	{ "no form for key", { I(0xd4, 1, 0, 0, 8), SBPF_EXIT_INSN() }, 2, 0,
	  "opcode 0xd4: no instruction form with off=0 imm=8 src=r0" },
	{ "no form for call src", { I(0x85, 0, 3, 0, 1), SBPF_EXIT_INSN() }, 2, 0,
	  "opcode 0x85: no instruction form with off=0 imm=1 src=r3" },
	{ "unused dst", { SBPF_MOV64_IMM(0, 0), I(0x85, 1, 0, 0, 5), SBPF_EXIT_INSN() }, 3, 1,
	  "call: unused dst_reg field must be zero (is 1)" },
	{ "unused src", { I(0x07, 0, 1, 0, 1), SBPF_EXIT_INSN() }, 2, 0,
	  "add: unused src_reg field must be zero (is 1)" },
	{ "unused off", { I(0x07, 0, 0, 1, 1), SBPF_EXIT_INSN() }, 2, 0,
	  "add: unused offset field must be zero (is 1)" },
	{ "unused imm", { I(0x0f, 0, 1, 0, 1), SBPF_EXIT_INSN() }, 2, 0,
	  "add: unused immediate field must be zero (is 1)" },
	{ "exit with imm", { SBPF_MOV64_IMM(0, 0), I(0x95, 0, 0, 0, 1) }, 2, 1,
	  "exit: unused immediate field must be zero (is 1)" },
	{ "dst out of range", { SBPF_MOV64_IMM(11, 1), SBPF_EXIT_INSN() }, 2, 0,
	  "mov: dst register r11 out of range (r0-r10)" },
	{ "src out of range", { SBPF_MOV64_REG(0, 12), SBPF_EXIT_INSN() }, 2, 0,
	  "mov: src register r12 out of range (r0-r10)" },
	{ "write to r10", { SBPF_MOV64_IMM(10, 1), SBPF_EXIT_INSN() }, 2, 0,
	  "mov: r10 is the read-only frame pointer" },
	{ "load into r10", { SBPF_LDX_MEM(SBPF_DW, 10, 1, 0), SBPF_EXIT_INSN() }, 2, 0,
	  "ldxdw: r10 is the read-only frame pointer" },
	{ "fetch into r10", { SBPF_ATOMIC_OP(SBPF_DW, SBPF_ADD | SBPF_FETCH, 1, 10, 0), SBPF_EXIT_INSN() },
	  2, 0, "lock fetch add: r10 is the read-only frame pointer (the fetch writes the source register)" },
	{ "xchg into r10", { SBPF_MOV64_IMM(0, 0), SBPF_ATOMIC_OP(SBPF_W, SBPF_XCHG, 1, 10, 0),
	  SBPF_EXIT_INSN() }, 3, 1,
	  "lock xchg32: r10 is the read-only frame pointer (the fetch writes the source register)" },
	{ "lddw without second slot", { SBPF_LD_IMM64_LO(0, 0, 1) }, 1, 0,
	  "lddw: missing second slot at end of program" },
	{ "lddw second slot with code", { SBPF_LD_IMM64_LO(0, 0, 1), I(0x07, 0, 0, 0, 0),
	  SBPF_EXIT_INSN() }, 3, 1, "lddw: second slot must have code, registers and offset zero" },
	{ "lddw second slot with offset", { SBPF_LD_IMM64_LO(0, 0, 1), I(0, 0, 0, 2, 0),
	  SBPF_EXIT_INSN() }, 3, 1, "lddw: second slot must have code, registers and offset zero" },
	{ "jump past the end", { SBPF_JA(5), SBPF_EXIT_INSN() }, 2, 0,
	  "ja: target 6 is outside the program (0..1)" },
	{ "jump before the start", { SBPF_MOV64_IMM(0, 0), SBPF_JMP_IMM(SBPF_JEQ, 0, 0, -3),
	  SBPF_EXIT_INSN() }, 3, 1, "jeq: target -1 is outside the program (0..2)" },
	{ "jump into lddw", { SBPF_JMP_IMM(SBPF_JEQ, 1, 0, 1), SBPF_LD_IMM64_LO(0, 0, 1),
	  SBPF_LD_IMM64_HI(1), SBPF_EXIT_INSN() }, 4, 0,
	  "jeq: target 2 is the second slot of an lddw" },
	{ "ja32 past the end", { I(0x06, 0, 0, 0, 9), SBPF_EXIT_INSN() }, 2, 0,
	  "ja32: target 10 is outside the program (0..1)" },
	{ "local call past the end", { I(0x85, 0, 1, 0, 4), SBPF_EXIT_INSN() }, 2, 0,
	  "call local: target 5 is outside the program (0..1)" },
	{ "falls off the end", { SBPF_MOV64_IMM(0, 0) }, 1, 0,
	  "last instruction must be exit or an unconditional jump" },
	{ "ends with a conditional jump", { SBPF_JMP_IMM(SBPF_JEQ, 0, 0, -1) }, 1, 0,
	  "last instruction must be exit or an unconditional jump" },
	{ "ends with lddw", { SBPF_LD_IMM64_LO(0, 0, 1), SBPF_LD_IMM64_HI(1) }, 2, 1,
	  "last instruction must be exit or an unconditional jump" },
};
#undef I

Test(isa, every_validation_rule)
{
	for (size_t i = 0; i < N(rule_cases); i++) {
		const struct rule_case *c = &rule_cases[i];
		struct sbpf_validate_error err = { .index = 999 };
		int rc = sbpf_validate(c->prog, c->n, &err);
		cr_expect_eq(rc, -EINVAL, "%s: accepted", c->name);
		cr_expect_eq(err.index, c->index, "%s: index %zu, want %zu", c->name, err.index,
			     c->index);
		cr_expect_str_eq(err.rule, c->rule, "%s: got '%s'", c->name, err.rule);
		/* A NULL error pointer is allowed. */
		cr_expect_eq(sbpf_validate(c->prog, c->n, NULL), -EINVAL);
	}
}

Test(isa, empty_and_oversized_programs)
{
	struct sbpf_validate_error err;
	struct sbpf_insn one = SBPF_EXIT_INSN();
	cr_assert_eq(sbpf_validate(&one, 0, &err), -EINVAL);
	cr_assert_str_eq(err.rule, "program is empty");
	/* The size check comes before any slot is read. */
	cr_assert_eq(sbpf_validate(&one, SBPF_MAX_INSNS + 1, &err), -EINVAL);
	cr_assert_str_eq(err.rule, "program has 1048577 instructions (limit 1048576)");
	cr_assert_eq(sbpf_validate(&one, 1, &err), 0);
}

Test(isa, atomics_without_fetch_may_use_r10_as_source)
{
	struct sbpf_insn prog[] = { SBPF_ATOMIC_OP(SBPF_DW, SBPF_ADD, 1, 10, 0),
				    SBPF_ATOMIC_OP(SBPF_DW, SBPF_CMPXCHG, 1, 10, 0), /* writes r0 */
				    SBPF_EXIT_INSN() };
	struct sbpf_validate_error err = { 0 };
	cr_assert_eq(sbpf_validate(prog, 3, &err), 0, "%s", err.rule);
}

Test(isa, kfunc_call_may_carry_a_btf_object_index)
{
	struct sbpf_insn prog[] = { SBPF_INSN(0x85, 0, SBPF_PSEUDO_KFUNC_CALL, 2, 77),
				    SBPF_EXIT_INSN() };
	cr_assert_eq(sbpf_validate(prog, 2, NULL), 0);
	cr_assert_eq(sbpf_decode(&prog[0]), SBPF_OP_CALL_KFUNC);
	prog[0].src_reg = 0; /* a helper call has no offset */
	cr_assert_eq(sbpf_validate(prog, 2, NULL), -EINVAL);
}

/* ---------------------------------------------------------------- builder */

Test(builder, forward_and_backward_labels)
{
	struct sbpf_builder *b = sbpf_builder__new();
	cr_assert_not_null(b);
	int top = sbpf_builder__new_label(b), out = sbpf_builder__new_label(b);
	cr_assert(top >= 0 && out >= 0 && top != out);
	cr_assert_eq(sbpf_builder__emit(b, SBPF_MOV64_IMM(0, 0)), 0);
	cr_assert_eq(sbpf_builder__bind(b, top), 0);                                /* slot 1 */
	cr_assert_eq(sbpf_builder__emit(b, SBPF_ALU64_IMM(SBPF_ADD, 0, 1)), 1);
	cr_assert_eq(sbpf_builder__jump(b, SBPF_JMP_IMM(SBPF_JGT, 0, 9, 0), out), 2); /* fwd */
	cr_assert_eq(sbpf_builder__jump(b, SBPF_JA(0), top), 3);                      /* back */
	cr_assert_eq(sbpf_builder__bind(b, out), 0);                                /* slot 4 */
	cr_assert_eq(sbpf_builder__emit(b, SBPF_EXIT_INSN()), 4);
	cr_assert_eq(sbpf_builder__len(b), 5);
	struct sbpf_insn *p = NULL;
	size_t n = 0;
	cr_assert_eq(sbpf_builder__finish(b, &p, &n, NULL), 0);
	cr_assert_eq(n, 5);
	cr_expect_eq(p[2].off, 1);  /* 2 + 1 + 1 = 4 */
	cr_expect_eq(p[3].off, -3); /* 3 + 1 - 3 = 1 */
	free(p);
	sbpf_builder__free(b);
}

Test(builder, ja32_and_local_call_use_the_immediate)
{
	struct sbpf_builder *b = sbpf_builder__new();
	int fn = sbpf_builder__new_label(b), end = sbpf_builder__new_label(b);
	sbpf_builder__call_local(b, fn);                                       /* 0 */
	sbpf_builder__jump(b, SBPF_INSN(SBPF_JMP32 | SBPF_JA, 0, 0, 0, 0), end); /* 1 */
	sbpf_builder__bind(b, fn);
	sbpf_builder__emit(b, SBPF_MOV64_IMM(0, 7));                           /* 2 */
	sbpf_builder__bind(b, end);
	sbpf_builder__emit(b, SBPF_EXIT_INSN());                               /* 3 */
	struct sbpf_insn *p;
	size_t n;
	struct sbpf_validate_error err;
	cr_assert_eq(sbpf_builder__finish(b, &p, &n, &err), 0, "%s", err.rule);
	cr_expect_eq(p[0].imm, 1);
	cr_expect_eq(p[0].src_reg, SBPF_PSEUDO_CALL);
	cr_expect_eq(p[1].imm, 1);
	cr_expect_eq(p[1].off, 0);
	free(p);
	sbpf_builder__free(b);
}

Test(builder, lddw_takes_two_slots)
{
	struct sbpf_builder *b = sbpf_builder__new();
	cr_assert_eq(sbpf_builder__emit_lddw(b, 1, 0, 0x1122334455667788ull), 0);
	cr_assert_eq(sbpf_builder__emit_lddw(b, 2, SBPF_PSEUDO_MAP_FD, 5), 2);
	cr_assert_eq(sbpf_builder__emit(b, SBPF_EXIT_INSN()), 4);
	struct sbpf_insn *p;
	size_t n;
	cr_assert_eq(sbpf_builder__finish(b, &p, &n, NULL), 0);
	cr_assert_eq(n, 5);
	cr_expect_eq(p[0].code, 0x18);
	cr_expect_eq((uint32_t)p[0].imm, 0x55667788u);
	cr_expect_eq((uint32_t)p[1].imm, 0x11223344u);
	cr_expect_eq(p[1].code, 0);
	cr_expect_eq(p[2].src_reg, SBPF_PSEUDO_MAP_FD);
	cr_expect_eq(sbpf_decode(&p[2]), SBPF_OP_LDDW_MAP_FD);
	free(p);
	sbpf_builder__free(b);
}

Test(builder, unbound_label_fails_at_finish)
{
	struct sbpf_builder *b = sbpf_builder__new();
	int l = sbpf_builder__new_label(b);
	sbpf_builder__jump(b, SBPF_JA(0), l);
	sbpf_builder__emit(b, SBPF_EXIT_INSN());
	struct sbpf_insn *p = NULL;
	size_t n = 0;
	struct sbpf_validate_error err;
	cr_assert_eq(sbpf_builder__finish(b, &p, &n, &err), -EINVAL);
	cr_assert_str_eq(err.rule, "jump to a label that was never bound");
	cr_assert_null(p);
	sbpf_builder__free(b);
}

Test(builder, first_error_sticks)
{
	struct sbpf_builder *b = sbpf_builder__new();
	int l = sbpf_builder__new_label(b);
	cr_assert_eq(sbpf_builder__bind(b, l), 0);
	cr_assert_eq(sbpf_builder__bind(b, l), -EINVAL); /* bound twice */
	cr_assert_eq(sbpf_builder__error(b), -EINVAL);
	/* Later calls do nothing and return the first error. */
	cr_assert_eq(sbpf_builder__emit(b, SBPF_EXIT_INSN()), -EINVAL);
	cr_assert_eq(sbpf_builder__new_label(b), -EINVAL);
	cr_assert_eq(sbpf_builder__jump(b, SBPF_MOV64_IMM(0, 0), 0), -EINVAL);
	cr_assert_eq(sbpf_builder__len(b), 0);
	struct sbpf_insn *p = NULL;
	size_t n;
	struct sbpf_validate_error err;
	cr_assert_eq(sbpf_builder__finish(b, &p, &n, &err), -EINVAL);
	cr_assert_str_eq(err.rule, "label bound twice");
	sbpf_builder__free(b);
}

Test(builder, jump_needs_a_jump_instruction)
{
	struct sbpf_builder *b = sbpf_builder__new();
	int l = sbpf_builder__new_label(b);
	cr_assert_eq(sbpf_builder__jump(b, SBPF_MOV64_IMM(0, 0), l), -EINVAL);
	cr_assert_eq(sbpf_builder__jump(b, SBPF_JA(0), 42), -EINVAL); /* sticky */
	sbpf_builder__free(b);
	b = sbpf_builder__new();
	cr_assert_eq(sbpf_builder__jump(b, SBPF_JA(0), 42), -EINVAL); /* unknown label */
	cr_assert_eq(sbpf_builder__bind(b, 3), -EINVAL);
	sbpf_builder__free(b);
}

Test(builder, long_jump_does_not_fit_16_bits)
{
	struct sbpf_builder *b = sbpf_builder__new();
	int l = sbpf_builder__new_label(b);
	sbpf_builder__jump(b, SBPF_JA(0), l);
	for (int i = 0; i < 40000; i++)
		sbpf_builder__emit(b, SBPF_MOV64_IMM(0, i));
	sbpf_builder__bind(b, l);
	sbpf_builder__emit(b, SBPF_EXIT_INSN());
	struct sbpf_insn *p = NULL;
	size_t n;
	struct sbpf_validate_error err;
	cr_assert_eq(sbpf_builder__finish(b, &p, &n, &err), -ERANGE);
	cr_assert_str_eq(err.rule, "jump distance does not fit in 16 bits (use ja32)");
	sbpf_builder__free(b);
}

Test(builder, finish_validates)
{
	struct sbpf_builder *b = sbpf_builder__new();
	sbpf_builder__emit(b, SBPF_MOV64_IMM(0, 0));
	struct sbpf_insn *p = NULL;
	size_t n;
	struct sbpf_validate_error err;
	cr_assert_eq(sbpf_builder__finish(b, &p, &n, &err), -EINVAL);
	cr_assert_eq(err.index, 0);
	cr_assert_str_eq(err.rule, "last instruction must be exit or an unconditional jump");
	cr_assert_null(p);
	sbpf_builder__free(b);
	sbpf_builder__free(NULL);
}
