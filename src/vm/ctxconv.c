/* ctxconv.c - load-time context conversion (see safebpf/ctx.h): find every
 * load through the XDP context pointer and rewrite it into a load from
 * struct sbpf_xdp_ctx, the user-space context both the interpreter and the
 * JIT give a program in r1.
 *
 * The analysis is a forward data-flow fixpoint over the instructions. For
 * each register and each 8-byte slot of the current stack frame it keeps
 * which kinds of value may be there: the context pointer itself, a pointer
 * computed from it, or anything else. Local calls pass r1..r5 to the callee
 * (its entry state joins all call sites); helpers and calls clobber r0..r5.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safebpf/ctx.h"

/* Kinds of value a location may hold (a set: bits are OR-ed at joins). */
enum {
	K_CTX = 1,     /* the context pointer r1 had on entry */
	K_OTHER = 2,   /* a scalar or any other pointer */
	K_DERIVED = 4, /* the context pointer after arithmetic */
};

#define NSLOTS (SBPF_STACK_SIZE / 8)

struct cstate {
	uint8_t reg[SBPF_NREGS];  /* kinds per register */
	uint8_t slot[NSLOTS];     /* kinds per 8-byte stack slot, slot 0 at r10-512 */
	uint8_t seen;             /* 1 once the instruction is reachable */
};

void sbpf_xdp_ctx__init(struct sbpf_xdp_ctx *ctx, void *pkt, size_t len)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->data = (uint64_t)(uintptr_t)pkt;
	ctx->data_end = ctx->data + len;
	ctx->data_meta = ctx->data;
	ctx->ingress_ifindex = 1;
}

static int fail(struct sbpf_validate_error *err, size_t pc, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		err->index = pc;
		vsnprintf(err->rule, sizeof(err->rule), fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Joins @in into @out; returns 1 when @out grew. */
static int join(struct cstate *out, const struct cstate *in)
{
	int changed = !out->seen;
	out->seen = 1;
	for (int r = 0; r < SBPF_NREGS; r++) {
		uint8_t v = out->reg[r] | in->reg[r];
		changed |= v != out->reg[r];
		out->reg[r] = v;
	}
	for (int s = 0; s < NSLOTS; s++) {
		uint8_t v = out->slot[s] | in->slot[s];
		changed |= v != out->slot[s];
		out->slot[s] = v;
	}
	return changed;
}

/* A state where everything is "other" except what the caller sets. */
static void plain_state(struct cstate *s)
{
	memset(s->reg, K_OTHER, sizeof(s->reg));
	memset(s->slot, K_OTHER, sizeof(s->slot));
	s->seen = 1;
}

static int access_size(uint8_t code)
{
	switch (code & 0x18) {
	case SBPF_B:  return 1;
	case SBPF_H:  return 2;
	case SBPF_W:  return 4;
	default:      return 8;
	}
}

/* Marks the stack bytes [off, off+size) below r10 as holding "other". */
static void clobber_stack(struct cstate *s, int off, int size)
{
	for (int b = off; b < off + size; b++) {
		int at = b + SBPF_STACK_SIZE;
		if (at >= 0 && at < SBPF_STACK_SIZE)
			s->slot[at / 8] = K_OTHER;
	}
}

/* Stack slot of an aligned 8-byte access at r10+@off, or -1. */
static int dw_slot(int off)
{
	int at = off + SBPF_STACK_SIZE;
	return off < 0 && at >= 0 && at % 8 == 0 ? at / 8 : -1;
}

/* Applies instruction @in (form @op) to @s, in place. */
static void transfer(const struct sbpf_insn *in, enum sbpf_op op, struct cstate *s)
{
	const struct sbpf_op_info *info = sbpf_op_info(op);
	uint8_t cls = SBPF_CLASS(in->code);
	switch (info->fmt) {
	case SBPF_FMT_ALU_K: case SBPF_FMT_ALU_X: case SBPF_FMT_MOVSX:
	case SBPF_FMT_NEG: case SBPF_FMT_END: {
		uint8_t old = s->reg[in->dst_reg];
		if (op == SBPF_OP_MOV64_REG) {
			s->reg[in->dst_reg] = s->reg[in->src_reg];
		} else if (op == SBPF_OP_MOV64_IMM || cls == SBPF_ALU || info->fmt == SBPF_FMT_MOVSX) {
			s->reg[in->dst_reg] = K_OTHER; /* a scalar: 32-bit results cut pointers */
		} else {
			uint8_t srck = info->fmt == SBPF_FMT_ALU_X ? s->reg[in->src_reg] : 0;
			uint8_t ptr = (old | srck) & (K_CTX | K_DERIVED);
			uint8_t v = (uint8_t)((old & K_OTHER) | (ptr ? K_DERIVED : 0));
			s->reg[in->dst_reg] = v ? v : K_OTHER;
		}
		break;
	}
	case SBPF_FMT_LDX: {
		uint8_t v = K_OTHER;
		int slot = dw_slot(in->off);
		if (in->src_reg == SBPF_REG_FP && op == SBPF_OP_LDXDW && slot >= 0)
			v = s->slot[slot];
		s->reg[in->dst_reg] = v;
		break;
	}
	case SBPF_FMT_ST: case SBPF_FMT_STX:
		if (in->dst_reg == SBPF_REG_FP) {
			int slot = dw_slot(in->off);
			if (op == SBPF_OP_STXDW && slot >= 0)
				s->slot[slot] = s->reg[in->src_reg];
			else
				clobber_stack(s, in->off, access_size(in->code));
		}
		break;
	case SBPF_FMT_ATOMIC:
		if (in->dst_reg == SBPF_REG_FP)
			clobber_stack(s, in->off, access_size(in->code));
		if (in->imm == SBPF_CMPXCHG)
			s->reg[0] = K_OTHER;
		else if (in->imm & SBPF_FETCH)
			s->reg[in->src_reg] = K_OTHER;
		break;
	case SBPF_FMT_LDDW:
		s->reg[in->dst_reg] = K_OTHER;
		break;
	case SBPF_FMT_CALL: case SBPF_FMT_CALL_LOCAL:
		for (int r = 0; r <= 5; r++)
			s->reg[r] = K_OTHER;
		break;
	default:
		break;
	}
}

/* Runs the analysis to its fixpoint; @st has one state per slot. */
static void analyse(const struct sbpf_insn *insns, size_t n, struct cstate *st)
{
	plain_state(&st[0]);
	st[0].reg[1] = K_CTX;
	for (int changed = 1; changed;) {
		changed = 0;
		for (size_t pc = 0; pc < n; pc++) {
			if (!st[pc].seen)
				continue;
			const struct sbpf_insn *in = &insns[pc];
			enum sbpf_op op = sbpf_decode(in);
			const struct sbpf_op_info *info = sbpf_op_info(op);
			if (!info)
				continue;
			struct cstate s = st[pc];
			transfer(in, op, &s);
			size_t next = pc + (size_t)sbpf_op_slots(op);
			switch (info->fmt) {
			case SBPF_FMT_EXIT:
				break;
			case SBPF_FMT_JA:
				changed |= join(&st[pc + 1 + in->off], &s);
				break;
			case SBPF_FMT_JA32:
				changed |= join(&st[pc + 1 + in->imm], &s);
				break;
			case SBPF_FMT_JCOND_K: case SBPF_FMT_JCOND_X:
				changed |= join(&st[pc + 1 + in->off], &s);
				changed |= join(&st[next], &s);
				break;
			case SBPF_FMT_CALL_LOCAL: {
				struct cstate entry;
				plain_state(&entry);
				for (int r = 1; r <= 5; r++)
					entry.reg[r] = st[pc].reg[r];
				changed |= join(&st[pc + 1 + in->imm], &entry);
				changed |= join(&st[next], &s);
				break;
			}
			default:
				if (next < n)
					changed |= join(&st[next], &s);
				break;
			}
		}
	}
}

/* The sbpf_xdp_ctx load that replaces a 4-byte xdp_md load at @off:
 * fills *@code (the new opcode) and *@noff; returns -1 for a bad offset. */
static int xdp_field(int off, uint8_t *code, int16_t *noff)
{
	switch (off) {
	case 0:  *code = SBPF_LDX | SBPF_MEM | SBPF_DW; *noff = 0;  return 0;  /* data */
	case 4:  *code = SBPF_LDX | SBPF_MEM | SBPF_DW; *noff = 8;  return 0;  /* data_end */
	case 8:  *code = SBPF_LDX | SBPF_MEM | SBPF_DW; *noff = 16; return 0;  /* data_meta */
	case 12: *code = SBPF_LDX | SBPF_MEM | SBPF_W;  *noff = 24; return 0;  /* ingress_ifindex */
	case 16: *code = SBPF_LDX | SBPF_MEM | SBPF_W;  *noff = 28; return 0;  /* rx_queue_index */
	case 20: *code = SBPF_LDX | SBPF_MEM | SBPF_W;  *noff = 32; return 0;  /* egress_ifindex */
	default: return -1;
	}
}

/* Checks and rewrites instruction @in (slot @pc) given the state before it. */
static int convert(struct sbpf_insn *in, size_t pc, const struct cstate *s,
		   struct sbpf_validate_error *err)
{
	enum sbpf_op op = sbpf_decode(in);
	const struct sbpf_op_info *info = sbpf_op_info(op);
	if (!info)
		return 0;
	int base;
	switch (info->fmt) {
	case SBPF_FMT_LDX:
		base = in->src_reg;
		break;
	case SBPF_FMT_ST: case SBPF_FMT_STX: case SBPF_FMT_ATOMIC:
		base = in->dst_reg;
		break;
	default:
		return 0;
	}
	uint8_t k = s->reg[base];
	if (!(k & (K_CTX | K_DERIVED)))
		return 0;
	if (k & K_DERIVED)
		return fail(err, pc, "memory access through r%d, a modified context pointer "
			    "(read xdp_md fields through the unmodified pointer)", base);
	if (k & K_OTHER)
		return fail(err, pc, "r%d is the context pointer on some paths and other memory on others "
			    "(the kernel refuses this too)", base);
	if (info->fmt != SBPF_FMT_LDX)
		return fail(err, pc, "write into the xdp context (struct xdp_md is read-only)");
	uint8_t code;
	int16_t noff;
	if (op != SBPF_OP_LDXW || in->off < 0 || in->off % 4 || xdp_field(in->off, &code, &noff))
		return fail(err, pc, "invalid xdp_md access at offset %d, size %d: fields are read with "
			    "aligned 4-byte loads at offsets 0..20", in->off, access_size(in->code));
	in->code = code;
	in->off = noff;
	return 0;
}

int sbpf_ctx_rewrite(enum sbpf_prog_type type, struct sbpf_insn *insns, size_t n,
		     struct sbpf_validate_error *err)
{
	if (type != SBPF_PROG_XDP || n == 0)
		return 0;
	struct cstate *st = calloc(n + 1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	analyse(insns, n, st);
	int rc = 0;
	for (size_t pc = 0; pc < n && !rc; pc++)
		if (st[pc].seen)
			rc = convert(&insns[pc], pc, &st[pc], err);
	free(st);
	return rc;
}
