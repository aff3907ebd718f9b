/* insn.c - decoding and validation of eBPF instructions.
 *
 * The form table is generated from opcodes.def; decoding maps an opcode byte
 * plus its key field (offset, immediate or src_reg) to one form, and
 * validation applies the per-format rules about which fields must be zero.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safebpf/isa.h"

static const struct sbpf_op_info op_table[SBPF_OP__COUNT] = {
	[SBPF_OP_INVALID] = { "INVALID", "?", "?", 0, SBPF_KEY_NONE, 0, 0 },
#define OP(id, code, key, kv, mn, fmt, sym) \
	[SBPF_OP_##id] = { #id, mn, sym, code, SBPF_KEY_##key, kv, SBPF_FMT_##fmt },
#include "safebpf/opcodes.def"
};

/* For each opcode byte, the first form with that byte; forms sharing a byte
 * are adjacent in opcodes.def except where noted by the linear fallback. */
static uint8_t first_form[256];
static int first_form_ready;

static void build_index(void)
{
	for (int op = SBPF_OP__COUNT - 1; op > 0; op--)
		first_form[op_table[op].code] = (uint8_t)op;
	first_form_ready = 1;
}

const struct sbpf_op_info *sbpf_op_info(enum sbpf_op op)
{
	if ((int)op < 0 || op >= SBPF_OP__COUNT)
		return NULL;
	return &op_table[op];
}

static int key_matches(const struct sbpf_op_info *f, const struct sbpf_insn *insn)
{
	switch (f->key) {
	case SBPF_KEY_OFF: return insn->off == f->key_value;
	case SBPF_KEY_IMM: return insn->imm == f->key_value;
	case SBPF_KEY_SRC: return insn->src_reg == f->key_value;
	default: return 1;
	}
}

enum sbpf_op sbpf_decode(const struct sbpf_insn *insn)
{
	if (!first_form_ready)
		build_index();
	int op = first_form[insn->code];
	if (!op)
		return SBPF_OP_INVALID;
	for (; op < SBPF_OP__COUNT; op++) {
		if (op_table[op].code != insn->code)
			continue;
		if (key_matches(&op_table[op], insn))
			return (enum sbpf_op)op;
	}
	return SBPF_OP_INVALID;
}

static int fail(struct sbpf_validate_error *err, size_t idx, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		err->index = idx;
		va_start(ap, fmt);
		vsnprintf(err->rule, sizeof(err->rule), fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

int sbpf_op_operands(enum sbpf_op op)
{
	const struct sbpf_op_info *f = sbpf_op_info(op);
	enum { D = SBPF_FIELD_DST, S = SBPF_FIELD_SRC, O = SBPF_FIELD_OFF, I = SBPF_FIELD_IMM };
	switch (f ? f->fmt : -1) {
	case SBPF_FMT_ALU_K:      return D | I;
	case SBPF_FMT_ALU_X:      return D | S;
	case SBPF_FMT_MOVSX:      return D | S;
	case SBPF_FMT_NEG:        return D;
	case SBPF_FMT_END:        return D;
	case SBPF_FMT_LDX:        return D | S | O;
	case SBPF_FMT_ST:         return D | O | I;
	case SBPF_FMT_STX:        return D | S | O;
	case SBPF_FMT_ATOMIC:     return D | S | O;
	case SBPF_FMT_LDDW:       return D | I;
	case SBPF_FMT_JA:         return O;
	case SBPF_FMT_JA32:       return I;
	case SBPF_FMT_JCOND_K:    return D | O | I;
	case SBPF_FMT_JCOND_X:    return D | S | O;
	case SBPF_FMT_CALL:       return I | (op == SBPF_OP_CALL_KFUNC ? O : 0);
	case SBPF_FMT_CALL_LOCAL: return I;
	default:                  return 0;
	}
}

static int writes_dst(const struct sbpf_op_info *f)
{
	switch (f->fmt) {
	case SBPF_FMT_ALU_K: case SBPF_FMT_ALU_X: case SBPF_FMT_MOVSX:
	case SBPF_FMT_NEG: case SBPF_FMT_END: case SBPF_FMT_LDX: case SBPF_FMT_LDDW:
		return 1;
	default:
		return 0;
	}
}

/* Checks one instruction in isolation (not its jump target). */
static int validate_one(const struct sbpf_insn *in, size_t i, struct sbpf_validate_error *err)
{
	enum sbpf_op op = sbpf_decode(in);
	if (op == SBPF_OP_INVALID) {
		if (first_form[in->code]) /* a known opcode byte with a key no form has */
			return fail(err, i, "opcode 0x%02x: no instruction form with off=%d imm=%d src=r%d",
				    in->code, in->off, in->imm, in->src_reg);
		return fail(err, i, "unknown opcode 0x%02x", in->code);
	}
	const struct sbpf_op_info *f = sbpf_op_info(op);
	int used = sbpf_op_operands(op);
	/* The key field is part of the opcode, never "unused". */
	if (f->key == SBPF_KEY_OFF) used |= SBPF_FIELD_OFF;
	if (f->key == SBPF_KEY_IMM) used |= SBPF_FIELD_IMM;
	if (f->key == SBPF_KEY_SRC) used |= SBPF_FIELD_SRC;

	if (!(used & SBPF_FIELD_DST) && in->dst_reg)
		return fail(err, i, "%s: unused dst_reg field must be zero (is %d)", f->mnemonic, in->dst_reg);
	if (!(used & SBPF_FIELD_SRC) && in->src_reg)
		return fail(err, i, "%s: unused src_reg field must be zero (is %d)", f->mnemonic, in->src_reg);
	if (!(used & SBPF_FIELD_OFF) && in->off)
		return fail(err, i, "%s: unused offset field must be zero (is %d)", f->mnemonic, in->off);
	if (!(used & SBPF_FIELD_IMM) && in->imm)
		return fail(err, i, "%s: unused immediate field must be zero (is %d)", f->mnemonic, in->imm);
	if (in->dst_reg > SBPF_REG_FP)
		return fail(err, i, "%s: dst register r%d out of range (r0-r10)", f->mnemonic, in->dst_reg);
	if ((used & SBPF_FIELD_SRC) && f->key != SBPF_KEY_SRC && in->src_reg > SBPF_REG_FP)
		return fail(err, i, "%s: src register r%d out of range (r0-r10)", f->mnemonic, in->src_reg);
	if (writes_dst(f) && in->dst_reg == SBPF_REG_FP)
		return fail(err, i, "%s: r10 is the read-only frame pointer", f->mnemonic);
	if (f->fmt == SBPF_FMT_ATOMIC && (in->imm & SBPF_FETCH) && in->imm != SBPF_CMPXCHG &&
	    in->src_reg == SBPF_REG_FP)
		return fail(err, i, "%s: r10 is the read-only frame pointer (the fetch writes the source register)",
			    f->mnemonic);
	return 0;
}

/* Pass 1: each instruction alone; marks the second slots of lddw. */
static int check_slots(const struct sbpf_insn *insns, size_t n, unsigned char *second_slot,
		       struct sbpf_validate_error *err)
{
	for (size_t i = 0; i < n; i++) {
		int rc = validate_one(&insns[i], i, err);
		if (rc)
			return rc;
		if (sbpf_op_info(sbpf_decode(&insns[i]))->fmt != SBPF_FMT_LDDW)
			continue;
		if (i + 1 >= n)
			return fail(err, i, "lddw: missing second slot at end of program");
		const struct sbpf_insn *hi = &insns[i + 1];
		if (hi->code || hi->dst_reg || hi->src_reg || hi->off)
			return fail(err, i + 1, "lddw: second slot must have code, registers and offset zero");
		second_slot[++i] = 1;
	}
	return 0;
}

/* Pass 2: control flow stays inside the program and ends properly. */
static int check_targets(const struct sbpf_insn *insns, size_t n, const unsigned char *second_slot,
			 struct sbpf_validate_error *err)
{
	for (size_t i = 0; i < n; i++) {
		if (second_slot[i])
			continue;
		const struct sbpf_op_info *f = sbpf_op_info(sbpf_decode(&insns[i]));
		long long target;
		switch (f->fmt) {
		case SBPF_FMT_JA: case SBPF_FMT_JCOND_K: case SBPF_FMT_JCOND_X:
			target = (long long)i + 1 + insns[i].off;
			break;
		case SBPF_FMT_JA32: case SBPF_FMT_CALL_LOCAL:
			target = (long long)i + 1 + insns[i].imm;
			break;
		default:
			continue;
		}
		if (target < 0 || target >= (long long)n)
			return fail(err, i, "%s: target %lld is outside the program (0..%zu)", f->mnemonic, target, n - 1);
		if (second_slot[target])
			return fail(err, i, "%s: target %lld is the second slot of an lddw", f->mnemonic, target);
	}
	enum sbpf_op last = second_slot[n - 1] ? SBPF_OP_INVALID : sbpf_decode(&insns[n - 1]);
	if (last != SBPF_OP_EXIT && last != SBPF_OP_JA && last != SBPF_OP_JA32)
		return fail(err, n - 1, "last instruction must be exit or an unconditional jump");
	return 0;
}

int sbpf_validate(const struct sbpf_insn *insns, size_t n, struct sbpf_validate_error *err)
{
	if (n == 0)
		return fail(err, 0, "program is empty");
	if (n > SBPF_MAX_INSNS)
		return fail(err, 0, "program has %zu instructions (limit %u)", n, SBPF_MAX_INSNS);
	unsigned char *second_slot = calloc(n, 1);
	if (!second_slot)
		return -ENOMEM;
	int rc = check_slots(insns, n, second_slot, err);
	if (!rc)
		rc = check_targets(insns, n, second_slot, err);
	free(second_slot);
	return rc;
}
