/* ebpf_sem.c - symbolic eBPF semantics (RFC 9669): every instruction a
 * proof sequence may contain, as Z3 bit-vector terms over a register file
 * r0..r10 and one byte-addressed memory. ALU32 results are zero-extended,
 * shift amounts masked to the operand width, division by zero gives 0 and
 * modulo by zero keeps the dividend (signed forms: x / -1 = -x, x % -1 = 0),
 * loads zero- or sign-extend, atomics are single read-modify-write steps.
 * Control flow: forward jumps, followed on both sides and merged where the
 * paths meet. The interpreter (src/vm/interp.c) is the reference; the unit
 * tests compare the two on random concrete inputs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prove/proveInt.h"

/* Result of ALU operation @op (SBPF_ADD..) on @d and @s, both @bits wide;
 * @is_signed for sdiv/smod. NULL for an operation that has no result here. */
static Z3_ast alu_op(struct prove_z3 *z, int op, bool is_signed, Z3_ast d, Z3_ast s, unsigned int bits)
{
	Z3_context c = z->c;
	Z3_ast zero = prove_bv(z, 0, bits);
	Z3_ast s_is0 = prove_eq(z, s, zero);
	switch (op) {
	case SBPF_ADD: return Z3_mk_bvadd(c, d, s);
	case SBPF_SUB: return Z3_mk_bvsub(c, d, s);
	case SBPF_MUL: return prove_mul(z, d, s);
	case SBPF_OR:  return Z3_mk_bvor(c, d, s);
	case SBPF_AND: return Z3_mk_bvand(c, d, s);
	case SBPF_XOR: return Z3_mk_bvxor(c, d, s);
	case SBPF_MOV: return s;
	case SBPF_LSH: return Z3_mk_bvshl(c, d, Z3_mk_bvand(c, s, prove_bv(z, bits - 1, bits)));
	case SBPF_RSH: return Z3_mk_bvlshr(c, d, Z3_mk_bvand(c, s, prove_bv(z, bits - 1, bits)));
	case SBPF_ARSH: return Z3_mk_bvashr(c, d, Z3_mk_bvand(c, s, prove_bv(z, bits - 1, bits)));
	case SBPF_NEG: return Z3_mk_bvneg(c, d);
	case SBPF_DIV:
		/* SMT-LIB's bvsdiv wraps INT_MIN / -1 to INT_MIN = -INT_MIN, as eBPF does */
		return prove_ite(z, s_is0, zero, is_signed ? Z3_mk_bvsdiv(c, d, s) : Z3_mk_bvudiv(c, d, s));
	case SBPF_MOD:
		/* bvsrem takes the sign of the dividend and gives 0 for -1 */
		return prove_ite(z, s_is0, d, is_signed ? Z3_mk_bvsrem(c, d, s) : Z3_mk_bvurem(c, d, s));
	default:
		return NULL;
	}
}

Z3_ast prove_ebpf_cond(struct prove_z3 *z, int jop, bool is32, Z3_ast d, Z3_ast s)
{
	Z3_context c = z->c;
	if (is32) {
		d = prove_low(z, d, 32);
		s = prove_low(z, s, 32);
	}
	switch (jop) {
	case SBPF_JEQ:  return prove_eq(z, d, s);
	case SBPF_JNE:  return prove_not(z, prove_eq(z, d, s));
	case SBPF_JGT:  return Z3_mk_bvugt(c, d, s);
	case SBPF_JGE:  return Z3_mk_bvuge(c, d, s);
	case SBPF_JLT:  return Z3_mk_bvult(c, d, s);
	case SBPF_JLE:  return Z3_mk_bvule(c, d, s);
	case SBPF_JSGT: return Z3_mk_bvsgt(c, d, s);
	case SBPF_JSGE: return Z3_mk_bvsge(c, d, s);
	case SBPF_JSLT: return Z3_mk_bvslt(c, d, s);
	case SBPF_JSLE: return Z3_mk_bvsle(c, d, s);
	case SBPF_JSET: return prove_not(z, prove_eq(z, Z3_mk_bvand(c, d, s), prove_bv(z, 0, prove_width(z, d))));
	default:        return NULL;
	}
}

/* ALU, ALU64 (including movsx and neg) and the byte swaps. */
static int alu(struct prove_z3 *z, const struct sbpf_insn *in, enum sbpf_op form, int fmt,
	       struct prove_state *s, char *why, size_t whysz)
{
	bool w64 = SBPF_CLASS(in->code) == SBPF_ALU64;
	unsigned int bits = w64 ? 64 : 32;
	int op = in->code & 0xf0;
	Z3_ast d = s->reg[in->dst_reg], r;
	if (fmt == SBPF_FMT_END) {
		unsigned int width = (unsigned int)in->imm;
		bool swap = w64 || (in->code & SBPF_TO_BE);
		Z3_ast v = prove_low(z, d, width);
		s->reg[in->dst_reg] = prove_zext(z, swap && width > 8 ? prove_bswap(z, v) : v, 64);
		return 0;
	}
	if (fmt == SBPF_FMT_MOVSX) {
		Z3_ast v = prove_sext(z, prove_low(z, s->reg[in->src_reg], (unsigned int)in->off), bits);
		s->reg[in->dst_reg] = prove_zext(z, v, 64);
		return 0;
	}
	Z3_ast src;
	if (in->code & SBPF_X)
		src = prove_low(z, s->reg[in->src_reg], bits);
	else /* ALU64 immediates are sign-extended, ALU32 ones taken as 32 bits */
		src = prove_bv(z, (uint64_t)(int64_t)in->imm, bits);
	bool is_signed = (op == SBPF_DIV || op == SBPF_MOD) && in->off == 1;
	r = alu_op(z, op, is_signed, prove_low(z, d, bits), src, bits);
	if (!r) {
		snprintf(why, whysz, "eBPF form %d has no model", (int)form);
		return -EINVAL;
	}
	s->reg[in->dst_reg] = prove_zext(z, r, 64);
	return 0;
}

static unsigned int access_bytes(uint8_t code)
{
	static const unsigned int sizes[4] = { 4, 2, 1, 8 };
	return sizes[(code >> 3) & 3];
}

/* Loads, stores and atomics. */
static int memory(struct prove_z3 *z, const struct sbpf_insn *in, int fmt, struct prove_state *s)
{
	Z3_context c = z->c;
	unsigned int size = access_bytes(in->code);
	Z3_ast off = prove_bv(z, (uint64_t)(int64_t)in->off, 64);
	int rc;
	if (fmt == SBPF_FMT_LDX) {
		Z3_ast addr = Z3_mk_bvadd(c, s->reg[in->src_reg], off);
		if ((rc = prove_state_access(s, addr, size, false)))
			return rc;
		Z3_ast v = prove_load(z, s->mem, addr, size);
		s->reg[in->dst_reg] = (in->code & 0xe0) == SBPF_MEMSX ? prove_sext(z, v, 64) : prove_zext(z, v, 64);
		return 0;
	}
	Z3_ast addr = Z3_mk_bvadd(c, s->reg[in->dst_reg], off);
	if (fmt == SBPF_FMT_ST || fmt == SBPF_FMT_STX) {
		Z3_ast v = fmt == SBPF_FMT_ST ? prove_bv(z, (uint64_t)(int64_t)in->imm, 64) : s->reg[in->src_reg];
		if ((rc = prove_state_access(s, addr, size, true)))
			return rc;
		s->mem = prove_store(z, s->mem, addr, prove_low(z, v, 8 * size), size);
		return 0;
	}
	/* atomic: old = *addr; *addr = old op src; fetch forms return old */
	unsigned int bits = 8 * size;
	if ((rc = prove_state_access(s, addr, size, false)) || (rc = prove_state_access(s, addr, size, true)))
		return rc;
	Z3_ast old = prove_load(z, s->mem, addr, size);
	Z3_ast src = prove_low(z, s->reg[in->src_reg], bits), nv;
	switch (in->imm & ~SBPF_FETCH) {
	case SBPF_ADD: nv = Z3_mk_bvadd(c, old, src); break;
	case SBPF_OR:  nv = Z3_mk_bvor(c, old, src); break;
	case SBPF_AND: nv = Z3_mk_bvand(c, old, src); break;
	case SBPF_XOR: nv = Z3_mk_bvxor(c, old, src); break;
	case SBPF_XCHG & ~SBPF_FETCH: nv = src; break;
	default: { /* cmpxchg: compare with r0 (low 32 bits for the 32-bit form) */
		Z3_ast expect = prove_low(z, s->reg[0], bits);
		nv = prove_ite(z, prove_eq(z, old, expect), src, old);
		s->reg[0] = prove_zext(z, old, 64);
		break;
	}
	}
	s->mem = prove_store(z, s->mem, addr, nv, size);
	if ((in->imm & SBPF_FETCH) && in->imm != SBPF_CMPXCHG)
		s->reg[in->src_reg] = prove_zext(z, old, 64);
	return 0;
}

int prove_ebpf_run(struct prove_z3 *z, const struct sbpf_insn *insns, size_t n,
		   struct prove_state *st, char *why, size_t whysz)
{
	struct prove_state *pend = calloc(n + 1, sizeof(*pend));
	bool *has = calloc(n + 1, sizeof(*has)), *second = calloc(n + 1, sizeof(*second));
	int rc = 0;
	if (!pend || !has || !second) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t pc = 0; pc < n; pc++) /* second slots of lddw: not jump targets */
		if (sbpf_op_slots(sbpf_decode(&insns[pc])) == 2)
			second[++pc] = true;
	pend[0] = *st;
	has[0] = true;
	st->acc = NULL;
	for (size_t pc = 0; pc < n && !rc; pc++) {
		if (!has[pc])
			continue; /* unreachable (or the second slot of an lddw) */
		struct prove_state s = pend[pc];
		has[pc] = false;
		const struct sbpf_insn *in = &insns[pc];
		enum sbpf_op form = sbpf_decode(in);
		const struct sbpf_op_info *info = sbpf_op_info(form);
		size_t next = pc + 1;
		if (form == SBPF_OP_INVALID || !info) {
			snprintf(why, whysz, "slot %zu: not an instruction (code 0x%02x)", pc, in->code);
			prove_state_free(&s);
			rc = -EINVAL;
			break;
		}
		switch (info->fmt) {
		case SBPF_FMT_ALU_K: case SBPF_FMT_ALU_X: case SBPF_FMT_MOVSX: case SBPF_FMT_NEG:
		case SBPF_FMT_END:
			rc = alu(z, in, form, info->fmt, &s, why, whysz);
			break;
		case SBPF_FMT_LDX: case SBPF_FMT_ST: case SBPF_FMT_STX: case SBPF_FMT_ATOMIC:
			rc = memory(z, in, info->fmt, &s);
			break;
		case SBPF_FMT_LDDW:
			if (in->src_reg || pc + 1 >= n) {
				snprintf(why, whysz, "slot %zu: pseudo or truncated lddw is not a proof-sequence instruction", pc);
				rc = -EINVAL;
				break;
			}
			s.reg[in->dst_reg] = prove_bv(z, (uint64_t)(uint32_t)in->imm |
						      (uint64_t)(uint32_t)insns[pc + 1].imm << 32, 64);
			next = pc + 2;
			break;
		case SBPF_FMT_JA: case SBPF_FMT_JA32: case SBPF_FMT_JCOND_K: case SBPF_FMT_JCOND_X: {
			long off = info->fmt == SBPF_FMT_JA32 ? in->imm : in->off;
			long target = (long)pc + 1 + off;
			if (off < 0 || target > (long)n || second[target]) {
				snprintf(why, whysz, "slot %zu: jump to %ld leaves the sequence or goes backward", pc, target);
				rc = -EINVAL;
				break;
			}
			if (info->fmt == SBPF_FMT_JA || info->fmt == SBPF_FMT_JA32) {
				next = (size_t)target;
				break;
			}
			Z3_ast rhs = info->fmt == SBPF_FMT_JCOND_X ? s.reg[in->src_reg]
								  : prove_bv(z, (uint64_t)(int64_t)in->imm, 64);
			Z3_ast cond = prove_ebpf_cond(z, in->code & 0xf0, SBPF_CLASS(in->code) == SBPF_JMP32,
						      s.reg[in->dst_reg], rhs);
			struct prove_state taken;
			if ((rc = prove_state_copy(&taken, &s)))
				break;
			taken.path = prove_and2(z, s.path, cond);
			s.path = prove_and2(z, s.path, prove_not(z, cond));
			rc = prove_state_flow(z, pend, has, (size_t)target, &taken);
			break;
		}
		default:
			snprintf(why, whysz, "slot %zu: %s is not a proof-sequence instruction", pc, info->mnemonic);
			rc = -EINVAL;
			break;
		}
		if (rc) {
			prove_state_free(&s);
			break;
		}
		rc = prove_state_flow(z, pend, has, next, &s);
	}
	if (!rc) {
		*st = pend[n]; /* the end is always reached: jumps only go forward */
		has[n] = false;
	}
out:
	if (pend)
		for (size_t i = 0; i <= n; i++)
			if (has[i])
				prove_state_free(&pend[i]);
	free(pend);
	free(has);
	free(second);
	return rc;
}
