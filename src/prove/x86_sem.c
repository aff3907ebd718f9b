/* x86_sem.c - symbolic x86-64 semantics for exactly the instructions that
 * native emits produce, over 16 64-bit registers, the flags conditions
 * read (CF PF ZF SF OF) and the same byte-addressed memory as the eBPF
 * side. Writes follow the architecture: a 32-bit destination zero-extends
 * into the whole register (cmov r32 too, whether or not it moves), 8- and
 * 16-bit destinations keep the other bits. A flag the manual leaves
 * undefined becomes a fresh unconstrained variable, so no proof can rely
 * on it. An instruction without a model here is an error, never skipped.
 *
 * Modelled: mov (every width, movabs), movzx, movsx, movsxd, lea, add,
 * sub, cmp, and, or, xor, test, neg, not, inc, dec, shl/sal, shr, sar,
 * rol, ror (by 1, imm8 or cl), rorx, shlx, shrx, sarx, bextr, bswap,
 * movbe (both directions), cmovcc, setcc, jcc/jmp forward inside the code,
 * xchg, nop, prefetcht0/t1/t2/nta/w (no architectural effect), and the
 * 16-byte moves movdqu/movups between xmm registers and memory.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <capstone/capstone.h>

#include "prove/proveInt.h"

/* What one instruction executes against. */
struct xexec {
	struct prove_z3 *z;                /* context */
	struct prove_state *s;             /* state it changes */
	const struct prove_x86_insn *in;   /* the instruction */
	char *why;                         /* error text */
	size_t whysz;
	int rc;                            /* first error */
};

static void xfail(struct xexec *x, const char *what)
{
	if (!x->rc)
		snprintf(x->why, x->whysz, "+%u %s: %s", x->in->offset, x->in->text, what);
	if (!x->rc)
		x->rc = -EINVAL;
}

/* Effective address of a memory operand: base + index * scale + disp. */
static Z3_ast ea(struct xexec *x, const struct prove_x86_opnd *o)
{
	Z3_context c = x->z->c;
	Z3_ast a = prove_bv(x->z, (uint64_t)o->val, 64);
	if (o->base != PX_NOREG)
		a = Z3_mk_bvadd(c, x->s->reg[o->base], a);
	if (o->index != PX_NOREG)
		a = Z3_mk_bvadd(c, a, Z3_mk_bvmul(c, x->s->reg[o->index], prove_bv(x->z, o->scale, 64)));
	return a;
}

/* Value of operand @o; @bits is the width wanted for an immediate
 * (sign-extended from what capstone reports, as the encodings do). */
static Z3_ast rd(struct xexec *x, const struct prove_x86_opnd *o, unsigned int bits)
{
	switch (o->kind) {
	case PX_REG: {
		if (o->reg >= 16)
			return x->s->xmm[o->reg - 16];
		Z3_ast r = x->s->reg[o->reg];
		return o->hi8 ? Z3_mk_extract(x->z->c, 15, 8, r) : prove_low(x->z, r, 8u * o->size);
	}
	case PX_IMM:
		return prove_bv(x->z, (uint64_t)o->val, bits);
	case PX_MEM: {
		Z3_ast a = ea(x, o);
		int rc = prove_state_access(x->s, a, o->size, false);
		if (rc && !x->rc)
			x->rc = rc;
		return prove_load(x->z, x->s->mem, a, o->size);
	}
	default:
		xfail(x, "missing operand");
		return prove_bv(x->z, 0, bits);
	}
}

/* Writes @v (8 * o->size bits) to operand @o. */
static void wr(struct xexec *x, const struct prove_x86_opnd *o, Z3_ast v)
{
	Z3_context c = x->z->c;
	if (o->kind == PX_MEM) {
		Z3_ast a = ea(x, o);
		int rc = prove_state_access(x->s, a, o->size, true);
		if (rc && !x->rc)
			x->rc = rc;
		x->s->mem = prove_store(x->z, x->s->mem, a, v, o->size);
		return;
	}
	if (o->kind != PX_REG) {
		xfail(x, "destination is not a register or memory");
		return;
	}
	if (o->reg >= 16) {
		x->s->xmm[o->reg - 16] = v; /* the whole 128 bits (legacy SSE encodings keep ymm's upper half, not modelled) */
		return;
	}
	Z3_ast old = x->s->reg[o->reg];
	if (o->hi8) {
		x->s->reg[o->reg] = Z3_mk_concat(c, Z3_mk_extract(c, 63, 16, old),
						 Z3_mk_concat(c, v, Z3_mk_extract(c, 7, 0, old)));
		return;
	}
	switch (o->size) {
	case 8: x->s->reg[o->reg] = v; break;
	case 4: x->s->reg[o->reg] = prove_zext(x->z, v, 64); break; /* 32-bit writes clear bits 32..63 */
	default: /* 8- and 16-bit writes keep the rest */
		x->s->reg[o->reg] = Z3_mk_concat(c, Z3_mk_extract(c, 63, 8u * o->size, old), v);
		break;
	}
}

static Z3_ast msb(struct xexec *x, Z3_ast v)
{
	return prove_bit(x->z, v, prove_width(x->z, v) - 1);
}

/* ZF, SF, PF from result @r (PF: even number of set bits in the low byte). */
static void set_szp(struct xexec *x, Z3_ast r)
{
	Z3_context c = x->z->c;
	unsigned int w = prove_width(x->z, r);
	x->s->flag[PF_ZF] = prove_eq(x->z, r, prove_bv(x->z, 0, w));
	x->s->flag[PF_SF] = msb(x, r);
	Z3_ast p = Z3_mk_extract(c, 0, 0, r);
	for (unsigned int i = 1; i < 8; i++)
		p = Z3_mk_bvxor(c, p, Z3_mk_extract(c, i, i, r));
	x->s->flag[PF_PF] = prove_eq(x->z, p, prove_bv(x->z, 0, 1));
}

static Z3_ast undef_flag(struct xexec *x, const char *name)
{
	return prove_fresh(x->z, name, 0);
}

/* The condition code of a cmovcc/setcc/jcc instruction, or NULL. */
static Z3_ast condition(struct xexec *x, unsigned int id)
{
	struct prove_z3 *z = x->z;
	Z3_ast *f = x->s->flag;
	Z3_ast lt = prove_not(z, prove_eq(z, f[PF_SF], f[PF_OF]));
	switch (id) {
	case X86_INS_CMOVO: case X86_INS_SETO: case X86_INS_JO: return f[PF_OF];
	case X86_INS_CMOVNO: case X86_INS_SETNO: case X86_INS_JNO: return prove_not(z, f[PF_OF]);
	case X86_INS_CMOVB: case X86_INS_SETB: case X86_INS_JB: return f[PF_CF];
	case X86_INS_CMOVAE: case X86_INS_SETAE: case X86_INS_JAE: return prove_not(z, f[PF_CF]);
	case X86_INS_CMOVE: case X86_INS_SETE: case X86_INS_JE: return f[PF_ZF];
	case X86_INS_CMOVNE: case X86_INS_SETNE: case X86_INS_JNE: return prove_not(z, f[PF_ZF]);
	case X86_INS_CMOVBE: case X86_INS_SETBE: case X86_INS_JBE: return prove_or2(z, f[PF_CF], f[PF_ZF]);
	case X86_INS_CMOVA: case X86_INS_SETA: case X86_INS_JA:
		return prove_and2(z, prove_not(z, f[PF_CF]), prove_not(z, f[PF_ZF]));
	case X86_INS_CMOVS: case X86_INS_SETS: case X86_INS_JS: return f[PF_SF];
	case X86_INS_CMOVNS: case X86_INS_SETNS: case X86_INS_JNS: return prove_not(z, f[PF_SF]);
	case X86_INS_CMOVP: case X86_INS_SETP: case X86_INS_JP: return f[PF_PF];
	case X86_INS_CMOVNP: case X86_INS_SETNP: case X86_INS_JNP: return prove_not(z, f[PF_PF]);
	case X86_INS_CMOVL: case X86_INS_SETL: case X86_INS_JL: return lt;
	case X86_INS_CMOVGE: case X86_INS_SETGE: case X86_INS_JGE: return prove_not(z, lt);
	case X86_INS_CMOVLE: case X86_INS_SETLE: case X86_INS_JLE: return prove_or2(z, f[PF_ZF], lt);
	case X86_INS_CMOVG: case X86_INS_SETG: case X86_INS_JG:
		return prove_and2(z, prove_not(z, f[PF_ZF]), prove_not(z, lt));
	default: return NULL;
	}
}

static bool is_cmov(unsigned int id)
{
	switch (id) {
	case X86_INS_CMOVO: case X86_INS_CMOVNO: case X86_INS_CMOVB: case X86_INS_CMOVAE:
	case X86_INS_CMOVE: case X86_INS_CMOVNE: case X86_INS_CMOVBE: case X86_INS_CMOVA:
	case X86_INS_CMOVS: case X86_INS_CMOVNS: case X86_INS_CMOVP: case X86_INS_CMOVNP:
	case X86_INS_CMOVL: case X86_INS_CMOVGE: case X86_INS_CMOVLE: case X86_INS_CMOVG:
		return true;
	default:
		return false;
	}
}

static bool is_setcc(unsigned int id)
{
	switch (id) {
	case X86_INS_SETO: case X86_INS_SETNO: case X86_INS_SETB: case X86_INS_SETAE:
	case X86_INS_SETE: case X86_INS_SETNE: case X86_INS_SETBE: case X86_INS_SETA:
	case X86_INS_SETS: case X86_INS_SETNS: case X86_INS_SETP: case X86_INS_SETNP:
	case X86_INS_SETL: case X86_INS_SETGE: case X86_INS_SETLE: case X86_INS_SETG:
		return true;
	default:
		return false;
	}
}

/* add, sub, cmp, and, or, xor, test (two operands, flags from the result). */
static void arith(struct xexec *x, unsigned int id)
{
	struct prove_z3 *z = x->z;
	Z3_context c = z->c;
	const struct prove_x86_opnd *d = &x->in->op[0];
	unsigned int bits = 8u * d->size;
	Z3_ast a = rd(x, d, bits), b = rd(x, &x->in->op[1], bits), r;
	Z3_ast *f = x->s->flag;
	switch (id) {
	case X86_INS_ADD:
		r = Z3_mk_bvadd(c, a, b);
		f[PF_CF] = Z3_mk_bvult(c, r, a);
		f[PF_OF] = prove_and2(z, prove_eq(z, msb(x, a), msb(x, b)),
				      prove_not(z, prove_eq(z, msb(x, r), msb(x, a))));
		break;
	case X86_INS_SUB: case X86_INS_CMP:
		r = Z3_mk_bvsub(c, a, b);
		f[PF_CF] = Z3_mk_bvult(c, a, b);
		f[PF_OF] = prove_and2(z, prove_not(z, prove_eq(z, msb(x, a), msb(x, b))),
				      prove_not(z, prove_eq(z, msb(x, r), msb(x, a))));
		break;
	case X86_INS_AND: case X86_INS_TEST: r = Z3_mk_bvand(c, a, b); goto logic;
	case X86_INS_OR: r = Z3_mk_bvor(c, a, b); goto logic;
	default: r = Z3_mk_bvxor(c, a, b);
	logic:
		f[PF_CF] = f[PF_OF] = prove_false(z);
		break;
	}
	set_szp(x, r);
	if (id != X86_INS_CMP && id != X86_INS_TEST)
		wr(x, d, r);
}

/* neg, not, inc, dec (one operand). */
static void unary(struct xexec *x, unsigned int id)
{
	struct prove_z3 *z = x->z;
	Z3_context c = z->c;
	const struct prove_x86_opnd *d = &x->in->op[0];
	unsigned int bits = 8u * d->size;
	Z3_ast a = rd(x, d, bits), r, *f = x->s->flag;
	Z3_ast min = prove_bv(z, 1ull << (bits - 1), bits);
	switch (id) {
	case X86_INS_NOT:
		wr(x, d, Z3_mk_bvnot(c, a));
		return;
	case X86_INS_NEG:
		r = Z3_mk_bvneg(c, a);
		f[PF_CF] = prove_not(z, prove_eq(z, a, prove_bv(z, 0, bits)));
		f[PF_OF] = prove_eq(z, a, min);
		break;
	case X86_INS_INC:
		r = Z3_mk_bvadd(c, a, prove_bv(z, 1, bits));
		f[PF_OF] = prove_eq(z, r, min);
		break;
	default: /* dec */
		r = Z3_mk_bvsub(c, a, prove_bv(z, 1, bits));
		f[PF_OF] = prove_eq(z, a, min);
		break;
	}
	set_szp(x, r);
	wr(x, d, r);
}

/* shl/sal, shr, sar, rol, ror: count from an immediate, cl, or 1. The
 * count is masked to 5 bits (6 for 64-bit operands); a masked count of 0
 * changes no flag. */
static void shift(struct xexec *x, unsigned int id)
{
	struct prove_z3 *z = x->z;
	Z3_context c = z->c;
	const struct prove_x86_opnd *d = &x->in->op[0];
	unsigned int n = 8u * d->size;
	Z3_ast a = rd(x, d, n), *f = x->s->flag;
	Z3_ast cnt = x->in->nops > 1 ? prove_zext(z, rd(x, &x->in->op[1], 8), n) : prove_bv(z, 1, n);
	cnt = Z3_mk_bvand(c, cnt, prove_bv(z, n == 64 ? 63 : 31, n));
	Z3_ast zero = prove_eq(z, cnt, prove_bv(z, 0, n)), one = prove_eq(z, cnt, prove_bv(z, 1, n));
	Z3_ast nb = prove_bv(z, n, n), one_bv = prove_bv(z, 1, n);
	Z3_ast r, cf, of;
	if (id == X86_INS_ROL || id == X86_INS_ROR) {
		/* rotate by cnt mod n; CF and OF only (OF defined for a count of 1) */
		Z3_ast k = Z3_mk_bvurem(c, cnt, nb);
		Z3_ast l = id == X86_INS_ROL ? k : Z3_mk_bvurem(c, Z3_mk_bvsub(c, nb, k), nb);
		r = Z3_mk_bvor(c, Z3_mk_bvshl(c, a, l), Z3_mk_bvlshr(c, a, Z3_mk_bvsub(c, nb, l)));
		if (id == X86_INS_ROL) {
			cf = prove_bit(z, r, 0);
			of = prove_not(z, prove_eq(z, msb(x, r), cf));
		} else {
			cf = msb(x, r);
			of = prove_not(z, prove_eq(z, msb(x, r), prove_bit(z, r, n - 2)));
		}
		f[PF_CF] = prove_ite(z, zero, f[PF_CF], cf);
		f[PF_OF] = prove_ite(z, zero, f[PF_OF], prove_ite(z, one, of, undef_flag(x, "of")));
		wr(x, d, r);
		return;
	}
	Z3_ast in_range = Z3_mk_bvule(c, cnt, nb); /* CF is undefined beyond the width */
	Z3_ast cm1 = Z3_mk_bvsub(c, cnt, one_bv);
	switch (id) {
	case X86_INS_SHL: case X86_INS_SAL:
		r = Z3_mk_bvshl(c, a, cnt);
		cf = prove_bit(z, Z3_mk_bvlshr(c, a, Z3_mk_bvsub(c, nb, cnt)), 0);
		of = prove_not(z, prove_eq(z, msb(x, r), cf));
		break;
	case X86_INS_SHR:
		r = Z3_mk_bvlshr(c, a, cnt);
		cf = prove_bit(z, Z3_mk_bvlshr(c, a, cm1), 0);
		of = msb(x, a);
		break;
	default: /* sar */
		r = Z3_mk_bvashr(c, a, cnt);
		cf = prove_bit(z, Z3_mk_bvashr(c, a, cm1), 0);
		of = prove_false(z);
		break;
	}
	Z3_ast old_z = f[PF_ZF], old_s = f[PF_SF], old_p = f[PF_PF];
	set_szp(x, r);
	f[PF_ZF] = prove_ite(z, zero, old_z, f[PF_ZF]);
	f[PF_SF] = prove_ite(z, zero, old_s, f[PF_SF]);
	f[PF_PF] = prove_ite(z, zero, old_p, f[PF_PF]);
	f[PF_CF] = prove_ite(z, zero, f[PF_CF], prove_ite(z, in_range, cf, undef_flag(x, "cf")));
	f[PF_OF] = prove_ite(z, zero, f[PF_OF], prove_ite(z, one, of, undef_flag(x, "of")));
	wr(x, d, r);
}

/* BMI: rorx (imm), shlx/shrx/sarx (count register), bextr; no flags
 * except bextr's (ZF from the result, CF = OF = 0, SF and PF undefined). */
static void bmi(struct xexec *x, unsigned int id)
{
	struct prove_z3 *z = x->z;
	Z3_context c = z->c;
	const struct prove_x86_opnd *d = &x->in->op[0];
	unsigned int n = 8u * d->size;
	Z3_ast a = rd(x, &x->in->op[1], n), r;
	if (id == X86_INS_RORX) {
		Z3_ast k = prove_bv(z, (uint64_t)x->in->op[2].val & (n - 1), n);
		Z3_ast l = Z3_mk_bvurem(c, Z3_mk_bvsub(c, prove_bv(z, n, n), k), prove_bv(z, n, n));
		r = Z3_mk_bvor(c, Z3_mk_bvshl(c, a, l), Z3_mk_bvlshr(c, a, Z3_mk_bvsub(c, prove_bv(z, n, n), l)));
	} else if (id == X86_INS_BEXTR) {
		Z3_ast ctl = rd(x, &x->in->op[2], n);
		Z3_ast start = prove_zext(z, Z3_mk_extract(c, 7, 0, ctl), n);
		Z3_ast len = prove_zext(z, Z3_mk_extract(c, 15, 8, ctl), n);
		/* shifts by n or more give 0, so the mask is all ones for len >= n */
		Z3_ast mask = Z3_mk_bvsub(c, Z3_mk_bvshl(c, prove_bv(z, 1, n), len), prove_bv(z, 1, n));
		r = Z3_mk_bvand(c, Z3_mk_bvlshr(c, a, start), mask);
		x->s->flag[PF_ZF] = prove_eq(z, r, prove_bv(z, 0, n));
		x->s->flag[PF_CF] = x->s->flag[PF_OF] = prove_false(z);
		x->s->flag[PF_SF] = undef_flag(x, "sf");
		x->s->flag[PF_PF] = undef_flag(x, "pf");
	} else {
		Z3_ast cnt = Z3_mk_bvand(c, rd(x, &x->in->op[2], n), prove_bv(z, n - 1, n));
		r = id == X86_INS_SHLX ? Z3_mk_bvshl(c, a, cnt)
		    : id == X86_INS_SHRX ? Z3_mk_bvlshr(c, a, cnt) : Z3_mk_bvashr(c, a, cnt);
	}
	wr(x, d, r);
}

/* popcnt, tzcnt, lzcnt dst, src. popcnt: ZF = (src == 0), CF = OF = SF =
 * PF = 0. tzcnt/lzcnt: the count of trailing/leading zeros, the width for
 * 0; CF = (src == 0), ZF = (dst == 0), OF, SF and PF undefined. */
static void bitcount(struct xexec *x, unsigned int id)
{
	struct prove_z3 *z = x->z;
	const struct prove_x86_opnd *d = &x->in->op[0];
	unsigned int n = 8u * d->size;
	Z3_ast a = rd(x, &x->in->op[1], n), r, *f = x->s->flag;
	Z3_ast zero = prove_eq(z, a, prove_bv(z, 0, n));
	if (id == X86_INS_POPCNT) {
		r = prove_popcount(z, a);
		f[PF_ZF] = zero;
		f[PF_CF] = f[PF_OF] = f[PF_SF] = f[PF_PF] = prove_false(z);
	} else {
		/* scan from the far end: the count of the first set bit's position */
		r = prove_bv(z, n, n);
		for (unsigned int i = n; i-- > 0;) {
			unsigned int bit = id == X86_INS_TZCNT ? i : n - 1 - i;
			r = prove_ite(z, prove_bit(z, a, bit), prove_bv(z, i, n), r);
		}
		f[PF_CF] = zero;
		f[PF_ZF] = prove_eq(z, r, prove_bv(z, 0, n));
		f[PF_OF] = undef_flag(x, "of");
		f[PF_SF] = undef_flag(x, "sf");
		f[PF_PF] = undef_flag(x, "pf");
	}
	wr(x, d, r);
}

/* One non-jump instruction. */
static void step(struct xexec *x)
{
	struct prove_z3 *z = x->z;
	const struct prove_x86_insn *in = x->in;
	const struct prove_x86_opnd *o = in->op;
	unsigned int id = in->id;
	unsigned int bits = in->nops ? 8u * o[0].size : 0;
	if (in->implicit_rd || in->implicit_wr) {
		xfail(x, "implicit general-register operands are not modelled");
		return;
	}
	bool has_xmm = false;
	for (int i = 0; i < in->nops; i++)
		has_xmm |= o[i].kind == PX_REG && o[i].reg >= 16;
	if (id == X86_INS_MOVDQU || id == X86_INS_MOVUPS) {
		/* unaligned 128-bit move: xmm <- xmm/m128 or m128 <- xmm */
		if (in->nops != 2 || o[0].size != 16 || o[1].size != 16)
			xfail(x, "unexpected operands");
		else
			wr(x, &o[0], rd(x, &o[1], 128));
		return;
	}
	if (has_xmm) {
		xfail(x, "xmm operands are modelled for movdqu/movups only");
		return;
	}
	switch (id) {
	case X86_INS_MOV: case X86_INS_MOVABS:
		wr(x, &o[0], rd(x, &o[1], bits));
		return;
	case X86_INS_MOVZX:
		wr(x, &o[0], prove_zext(z, rd(x, &o[1], bits), bits));
		return;
	case X86_INS_MOVSX: case X86_INS_MOVSXD:
		wr(x, &o[0], prove_sext(z, rd(x, &o[1], bits), bits));
		return;
	case X86_INS_LEA:
		if (o[1].kind != PX_MEM)
			break;
		wr(x, &o[0], prove_low(z, ea(x, &o[1]), bits)); /* address only: no access */
		return;
	case X86_INS_ADD: case X86_INS_SUB: case X86_INS_CMP: case X86_INS_AND:
	case X86_INS_OR: case X86_INS_XOR: case X86_INS_TEST:
		arith(x, id);
		return;
	case X86_INS_NEG: case X86_INS_NOT: case X86_INS_INC: case X86_INS_DEC:
		unary(x, id);
		return;
	case X86_INS_SHL: case X86_INS_SAL: case X86_INS_SHR: case X86_INS_SAR:
	case X86_INS_ROL: case X86_INS_ROR:
		shift(x, id);
		return;
	case X86_INS_RORX: case X86_INS_SHLX: case X86_INS_SHRX: case X86_INS_SARX: case X86_INS_BEXTR:
		bmi(x, id);
		return;
	case X86_INS_POPCNT: case X86_INS_TZCNT: case X86_INS_LZCNT:
		if (bits != 16 && bits != 32 && bits != 64)
			break;
		bitcount(x, id);
		return;
	case X86_INS_BSWAP:
		if (bits != 32 && bits != 64)
			break; /* bswap r16 is undefined */
		wr(x, &o[0], prove_bswap(z, rd(x, &o[0], bits)));
		return;
	case X86_INS_MOVBE: /* load or store with the bytes swapped; movbe r16 keeps bits 16..63 */
		wr(x, &o[0], prove_bswap(z, rd(x, &o[1], bits)));
		return;
	case X86_INS_XCHG: {
		Z3_ast a = rd(x, &o[0], bits), b = rd(x, &o[1], bits);
		wr(x, &o[0], b);
		wr(x, &o[1], a);
		return;
	}
	case X86_INS_NOP:
	case X86_INS_PREFETCHT0: case X86_INS_PREFETCHT1: case X86_INS_PREFETCHT2:
	case X86_INS_PREFETCHNTA: case X86_INS_PREFETCHW: case X86_INS_PREFETCH:
		return; /* hints: no architectural effect, never fault */
	default:
		break;
	}
	if (is_cmov(id)) {
		/* the source is read (a memory source even loaded) either way, and a
		 * 32-bit destination is zero-extended even when nothing moves */
		Z3_ast v = rd(x, &o[1], bits), old = rd(x, &o[0], bits);
		wr(x, &o[0], prove_ite(z, condition(x, id), v, old));
		return;
	}
	if (is_setcc(id)) {
		wr(x, &o[0], prove_ite(z, condition(x, id), prove_bv(z, 1, 8), prove_bv(z, 0, 8)));
		return;
	}
	xfail(x, "instruction not modelled");
}

static bool is_jcc(unsigned int id)
{
	switch (id) {
	case X86_INS_JO: case X86_INS_JNO: case X86_INS_JB: case X86_INS_JAE:
	case X86_INS_JE: case X86_INS_JNE: case X86_INS_JBE: case X86_INS_JA:
	case X86_INS_JS: case X86_INS_JNS: case X86_INS_JP: case X86_INS_JNP:
	case X86_INS_JL: case X86_INS_JGE: case X86_INS_JLE: case X86_INS_JG:
		return true;
	default:
		return false;
	}
}

int prove_x86_run(struct prove_z3 *z, const struct prove_x86_insn *insns, size_t n,
		  struct prove_state *st, char *why, size_t whysz)
{
	struct prove_state *pend = calloc(n + 1, sizeof(*pend));
	bool *has = calloc(n + 1, sizeof(*has));
	int rc = 0;
	if (!pend || !has) {
		free(pend);
		free(has);
		return -ENOMEM;
	}
	pend[0] = *st;
	has[0] = true;
	st->acc = NULL;
	for (size_t i = 0; i < n && !rc; i++) {
		if (!has[i])
			continue;
		struct prove_state s = pend[i];
		has[i] = false;
		struct xexec x = { z, &s, &insns[i], why, whysz, 0 };
		unsigned int id = insns[i].id;
		size_t next = i + 1;
		if (id == X86_INS_JMP || is_jcc(id)) {
			size_t target = (size_t)insns[i].op[0].val;
			if (target <= i) {
				xfail(&x, "backward jumps (loops) are not modelled");
			} else if (id == X86_INS_JMP) {
				next = target;
			} else {
				struct prove_state taken;
				Z3_ast cond = condition(&x, id);
				if ((x.rc = prove_state_copy(&taken, &s)) == 0) {
					taken.path = prove_and2(z, s.path, cond);
					s.path = prove_and2(z, s.path, prove_not(z, cond));
					x.rc = prove_state_flow(z, pend, has, target, &taken);
				}
			}
		} else {
			step(&x);
		}
		rc = x.rc;
		if (rc) {
			prove_state_free(&s);
			break;
		}
		rc = prove_state_flow(z, pend, has, next, &s);
	}
	if (!rc) {
		*st = pend[n];
		has[n] = false;
	}
	for (size_t i = 0; i <= n; i++)
		if (has[i])
			prove_state_free(&pend[i]);
	free(pend);
	free(has);
	return rc;
}
