/* minimize.c - shrinking programs on which engines disagree: dropping slots
 * with jump fix-ups, the fairness check (everything read was written, no
 * host pointer used as a value) that keeps candidates comparable, and the
 * delta-debugging loop (see safebpf/testgen.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "safebpf/testgen.h"

/* ---- dropping slots ---------------------------------------------------------- */

/* Where the jump or call in slot @pc goes, or -1 when it is not one. */
static long target_of(const struct sbpf_insn *in, size_t pc)
{
	const struct sbpf_op_info *info = sbpf_op_info(sbpf_decode(in));
	if (!info)
		return -1;
	switch (info->fmt) {
	case SBPF_FMT_JA: case SBPF_FMT_JCOND_K: case SBPF_FMT_JCOND_X:
		return (long)pc + 1 + in->off;
	case SBPF_FMT_JA32: case SBPF_FMT_CALL_LOCAL:
		return (long)pc + 1 + in->imm;
	default:
		return -1;
	}
}

/* 1 for slots that are the second half of an lddw. */
static unsigned char *second_slots(const struct sbpf_insn *insns, size_t n)
{
	unsigned char *second = calloc(n + 1, 1);
	if (!second)
		return NULL;
	for (size_t pc = 0; pc < n; pc++)
		if (sbpf_op_slots(sbpf_decode(&insns[pc])) == 2 && pc + 1 < n)
			second[++pc] = 1;
	return second;
}

int sbpf_gen_drop(struct sbpf_insn *insns, size_t *n, size_t at, size_t count)
{
	size_t len = *n;
	if (!count || at >= len || count > len - at)
		return -EINVAL;
	unsigned char *second = second_slots(insns, len);
	if (!second)
		return -ENOMEM;
	int splits = second[at] || second[at + count];
	free(second);
	if (splits)
		return -EINVAL;
	size_t end = at + count;
	for (size_t pc = 0; pc < len; pc++) {
		if (pc >= at && pc < end)
			continue;
		long t = target_of(&insns[pc], pc);
		if (t < 0)
			continue;
		long npc = pc < at ? (long)pc : (long)(pc - count);
		long nt = t < (long)at ? t : (t >= (long)end ? t - (long)count : (long)at);
		long delta = nt - npc - 1;
		const struct sbpf_op_info *info = sbpf_op_info(sbpf_decode(&insns[pc]));
		if (info->fmt == SBPF_FMT_JA32 || info->fmt == SBPF_FMT_CALL_LOCAL)
			insns[pc].imm = (int32_t)delta;
		else
			insns[pc].off = (int16_t)delta;
	}
	memmove(insns + at, insns + end, (len - end) * sizeof(*insns));
	*n = len - count;
	return 0;
}

/* ---- fairness: definite initialisation and no pointer leaks -------------- */

struct istate {
	uint16_t regs;                         /* bit r: register r written on every path */
	uint16_t ptrs;                         /* bit r: register r may hold a host pointer */
	uint8_t stack[SBPF_STACK_SIZE / 8];    /* bit per byte below r10 (byte 0 = r10-512) */
	uint8_t seen;                          /* reached */
};

static int reg_ok(const struct istate *s, int r)
{
	return (s->regs >> r) & 1;
}

static int is_ptr(const struct istate *s, int r)
{
	return (s->ptrs >> r) & 1;
}

/* Marks @r written, holding a pointer or not. */
static void set_reg(struct istate *s, int r, int ptr)
{
	s->regs |= (uint16_t)(1u << r);
	if (ptr)
		s->ptrs |= (uint16_t)(1u << r);
	else
		s->ptrs &= (uint16_t)~(1u << r);
}

static int access_bytes(uint8_t code)
{
	switch (code & 0x18) {
	case SBPF_B: return 1;
	case SBPF_H: return 2;
	case SBPF_W: return 4;
	default:     return 8;
	}
}

/* Stack bytes [off, off+size) below r10: all written (@set = 0) or mark
 * them written (@set = 1). Out-of-frame ranges count as unwritten. */
static int stack_bytes(struct istate *s, int off, int size, int set)
{
	for (int b = off; b < off + size; b++) {
		int at = b + SBPF_STACK_SIZE;
		if (at < 0 || at >= SBPF_STACK_SIZE)
			return 0;
		if (set)
			s->stack[at / 8] |= (uint8_t)(1u << (at % 8));
		else if (!(s->stack[at / 8] & (1u << (at % 8))))
			return 0;
	}
	return 1;
}

/* Merges @in into @out (written: intersection; pointers: union); returns
 * 1 when @out changed. */
static int meet(struct istate *out, const struct istate *in)
{
	if (!out->seen) {
		*out = *in;
		out->seen = 1;
		return 1;
	}
	int changed = 0;
	uint16_t r = out->regs & in->regs, p = out->ptrs | in->ptrs;
	changed |= r != out->regs || p != out->ptrs;
	out->regs = r;
	out->ptrs = p;
	for (size_t i = 0; i < sizeof(out->stack); i++) {
		uint8_t v = out->stack[i] & in->stack[i];
		changed |= v != out->stack[i];
		out->stack[i] = v;
	}
	return changed;
}

/* A scalar operand: written and not a pointer. */
static int scalar(const struct istate *s, int r)
{
	return reg_ok(s, r) && !is_ptr(s, r);
}

/* Applies @in to @s; returns 0 when it reads something unwritten or uses a
 * pointer as a value. */
static int step(const struct sbpf_insn *in, struct istate *s)
{
	enum sbpf_op op = sbpf_decode(in);
	const struct sbpf_op_info *info = sbpf_op_info(op);
	if (!info)
		return 0;
	int bytes = access_bytes(in->code);
	int d = in->dst_reg, r = in->src_reg;
	int is64 = SBPF_CLASS(in->code) == SBPF_ALU64;
	switch (info->fmt) {
	case SBPF_FMT_ALU_K:
		if (op == SBPF_OP_MOV64_IMM || op == SBPF_OP_MOV32_IMM) {
			set_reg(s, d, 0);
			return 1;
		}
		if (!reg_ok(s, d))
			return 0;
		if (is_ptr(s, d)) /* only ptr +/- constant stays fair */
			return is64 && (op == SBPF_OP_ADD64_IMM || op == SBPF_OP_SUB64_IMM);
		set_reg(s, d, 0);
		return 1;
	case SBPF_FMT_ALU_X:
		if (!reg_ok(s, r))
			return 0;
		if (op == SBPF_OP_MOV64_REG) {
			set_reg(s, d, is_ptr(s, r));
			return 1;
		}
		if (op != SBPF_OP_MOV32_REG && !reg_ok(s, d))
			return 0;
		if (op == SBPF_OP_ADD64_REG && is_ptr(s, d) + is_ptr(s, r) == 1) {
			set_reg(s, d, 1); /* pointer + scalar */
			return 1;
		}
		if (is_ptr(s, r) || (op != SBPF_OP_MOV32_REG && is_ptr(s, d)))
			return 0;
		set_reg(s, d, 0);
		return 1;
	case SBPF_FMT_MOVSX:
		if (!scalar(s, r))
			return 0;
		set_reg(s, d, 0);
		return 1;
	case SBPF_FMT_NEG: case SBPF_FMT_END:
		return scalar(s, d);
	case SBPF_FMT_LDX:
		if (!reg_ok(s, r))
			return 0;
		if (r == SBPF_REG_FP && !stack_bytes(s, in->off, bytes, 0))
			return 0;
		set_reg(s, d, 0);
		return 1;
	case SBPF_FMT_ST: case SBPF_FMT_STX:
		if (!reg_ok(s, d) || (info->fmt == SBPF_FMT_STX && !scalar(s, r)))
			return 0;
		if (d == SBPF_REG_FP)
			stack_bytes(s, in->off, bytes, 1);
		return 1;
	case SBPF_FMT_ATOMIC:
		if (!reg_ok(s, d) || !scalar(s, r) || (in->imm == SBPF_CMPXCHG && !scalar(s, 0)))
			return 0;
		if (d == SBPF_REG_FP && !stack_bytes(s, in->off, bytes, 0))
			return 0;
		if (in->imm == SBPF_CMPXCHG)
			set_reg(s, 0, 0);
		else if (in->imm & SBPF_FETCH)
			set_reg(s, r, 0);
		return 1;
	case SBPF_FMT_LDDW:
		set_reg(s, d, 0);
		return 1;
	case SBPF_FMT_JCOND_K:
		return scalar(s, d);
	case SBPF_FMT_JCOND_X:
		return scalar(s, d) && scalar(s, r);
	case SBPF_FMT_CALL: case SBPF_FMT_CALL_LOCAL:
		s->regs &= (uint16_t)~0x3eu; /* r1..r5 clobbered */
		s->ptrs &= (uint16_t)~0x3eu;
		set_reg(s, 0, 0);
		return 1;
	case SBPF_FMT_EXIT:
		return scalar(s, 0);
	default:
		return 1;
	}
}

int sbpf_gen_check_fair(const struct sbpf_insn *insns, size_t n, size_t start, size_t *bad_pc)
{
	if (start >= n)
		return -EINVAL;
	struct istate *st = calloc(n + 1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st[start].seen = 1;
	if (start == 0) {
		st[0].regs = (1u << 1) | (1u << 2) | (1u << SBPF_REG_FP);
		st[0].ptrs = (1u << 1) | (1u << SBPF_REG_FP);
	} else {
		st[start].regs = st[start].ptrs = (1u << 9) | (1u << SBPF_REG_FP);
	}
	int rc = 0;
	for (int changed = 1; changed && !rc;) {
		changed = 0;
		for (size_t pc = start; pc < n && !rc; pc++) {
			if (!st[pc].seen)
				continue;
			const struct sbpf_insn *in = &insns[pc];
			enum sbpf_op op = sbpf_decode(in);
			const struct sbpf_op_info *info = sbpf_op_info(op);
			struct istate s = st[pc];
			if (!step(in, &s)) {
				if (bad_pc)
					*bad_pc = pc;
				rc = -EINVAL;
				break;
			}
			size_t next = pc + (size_t)sbpf_op_slots(op);
			switch (info->fmt) {
			case SBPF_FMT_EXIT:
				break;
			case SBPF_FMT_JA:
				changed |= meet(&st[pc + 1 + in->off], &s);
				break;
			case SBPF_FMT_JA32:
				changed |= meet(&st[pc + 1 + in->imm], &s);
				break;
			case SBPF_FMT_JCOND_K: case SBPF_FMT_JCOND_X:
				changed |= meet(&st[pc + 1 + in->off], &s);
				changed |= meet(&st[next], &s);
				break;
			case SBPF_FMT_CALL_LOCAL: {
				struct istate entry = { .seen = 1 };
				entry.regs = (uint16_t)((st[pc].regs & 0x3eu) | (1u << SBPF_REG_FP));
				entry.ptrs = (uint16_t)((st[pc].ptrs & 0x3eu) | (1u << SBPF_REG_FP));
				changed |= meet(&st[pc + 1 + in->imm], &entry);
				changed |= meet(&st[next], &s);
				break;
			}
			default:
				if (next < n)
					changed |= meet(&st[next], &s);
				break;
			}
		}
	}
	free(st);
	return rc;
}

/* ---- delta debugging ------------------------------------------------------------- */

unsigned sbpf_gen_minimize(struct sbpf_insn *insns, size_t *n, size_t keep_head,
			   sbpf_gen_still_fails fails, void *arg)
{
	unsigned tries = 0;
	struct sbpf_insn *cand = malloc(*n * sizeof(*cand));
	if (!cand || *n <= keep_head) {
		free(cand);
		return 0;
	}
	size_t chunk = (*n - keep_head) / 2;
	while (chunk >= 1 && tries < 4000) {
		int progress = 0;
		for (size_t at = keep_head; at < *n && tries < 4000;) {
			size_t cn = *n, bad;
			size_t count = chunk <= cn - at ? chunk : cn - at;
			memcpy(cand, insns, cn * sizeof(*cand));
			if (sbpf_gen_drop(cand, &cn, at, count) ||
			    sbpf_validate(cand, cn, NULL) ||
			    sbpf_gen_check_fair(cand, cn, keep_head, &bad)) {
				at += chunk;
				continue;
			}
			tries++;
			if (fails(cand, cn, arg)) {
				memcpy(insns, cand, cn * sizeof(*cand));
				*n = cn;
				progress = 1;
			} else {
				at += chunk;
			}
		}
		if (!progress)
			chunk /= 2;
	}
	free(cand);
	return tries;
}
