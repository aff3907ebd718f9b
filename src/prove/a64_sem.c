/* a64_sem.c - symbolic AArch64 semantics for the instruction classes of
 * a64_decode.c, over x0..x30, sp (reg[31]), the NZCV flags (flag[PA_*])
 * and the same byte-addressed little-endian memory as the eBPF side.
 * Follows the Arm Architecture Reference Manual's pseudocode: register
 * field 31 is the zero register, except as the base of a load/store and
 * the source (and, without flag setting, the destination) of add/sub
 * immediate and the destination of a logical immediate, where it is sp; a
 * W-register write zeroes bits 63:32; shift-by-register amounts are taken
 * modulo the width; division by zero gives 0. An instruction without a
 * model here is an error, never skipped; the cross-check against real
 * execution under qemu-aarch64 is tests/unit/test_prove_arm64.c.
 *
 * Modelled: add/adds/sub/subs (shifted register, immediate), and/bic/orr/
 * orn/eor/eon/ands/bics (shifted register incl. ror), and/orr/eor/ands
 * (bitmask immediate), movn/movz/movk, sbfm/bfm/ubfm (lsl, lsr, asr, ubfx,
 * sxtb/h/w, uxtb/h, bfi...), extr (ror #), udiv, sdiv, lslv, lsrv, asrv, rorv,
 * rbit, rev16, rev32, rev, clz, cls, csel/csinc/csinv/csneg, ldr/ldrb/
 * ldrh/ldrsb/ldrsh/ldrsw/str/strb/strh (unsigned offset, unscaled, register offset
 * with uxtw/lsl/sxtw/sxtx), ldp/stp (offset form), prfm/prfum (hints: no
 * architectural effect), b.cond and b forward inside the code, nop.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prove/proveInt.h"

/* What one instruction executes against. */
struct aexec {
	struct prove_z3 *z;                /* context */
	struct prove_state *s;             /* state it changes */
	const struct prove_a64_insn *in;   /* the instruction */
	char *why;                         /* error text */
	size_t whysz;
	int rc;                            /* first error */
};

static void afail(struct aexec *x, const char *what)
{
	if (!x->rc) {
		snprintf(x->why, x->whysz, "+%u %s: %s", x->in->offset, x->in->text, what);
		x->rc = -EINVAL;
	}
}

static unsigned int width(const struct prove_a64_insn *in)
{
	return in->sf ? 64 : 32;
}

/* Register field @r read at the instruction's width: 31 is sp when @sp,
 * else zero. */
static Z3_ast rreg(struct aexec *x, uint8_t r, bool sp)
{
	unsigned int w = width(x->in);
	if (r == 31 && !sp)
		return prove_bv(x->z, 0, w);
	if (r > 31) {
		afail(x, "missing register operand");
		return prove_bv(x->z, 0, w);
	}
	return prove_low(x->z, x->s->reg[r], w);
}

/* Writes @v (the instruction's width) to register field @r: 31 is sp when
 * @sp, else the write is discarded; a W write zeroes bits 63:32. */
static void wreg(struct aexec *x, uint8_t r, Z3_ast v, bool sp)
{
	if (r == 31 && !sp)
		return;
	if (r > 31) {
		afail(x, "missing register operand");
		return;
	}
	x->s->reg[r] = prove_zext(x->z, v, 64);
}

static Z3_ast num(struct aexec *x, uint64_t v)
{
	return prove_bv(x->z, v, width(x->in));
}

/* @v shifted as a shifted-register operand: 0 lsl, 1 lsr, 2 asr, 3 ror. */
static Z3_ast shifted(struct aexec *x, Z3_ast v, unsigned int kind, unsigned int amount)
{
	Z3_context c = x->z->c;
	if (!amount)
		return v;
	switch (kind) {
	case 0: return Z3_mk_bvshl(c, v, num(x, amount));
	case 1: return Z3_mk_bvlshr(c, v, num(x, amount));
	case 2: return Z3_mk_bvashr(c, v, num(x, amount));
	default: return Z3_mk_rotate_right(c, amount, v);
	}
}

static Z3_ast msb(struct aexec *x, Z3_ast v)
{
	return prove_bit(x->z, v, prove_width(x->z, v) - 1);
}

/* @a + @b or @a - @b, setting NZCV when @flags. */
static Z3_ast addsub(struct aexec *x, Z3_ast a, Z3_ast b, bool sub, bool flags)
{
	struct prove_z3 *z = x->z;
	Z3_context c = z->c;
	Z3_ast r;
	uint64_t k;
	if (sub && Z3_get_ast_kind(c, b) == Z3_NUMERAL_AST && Z3_get_numeral_uint64(c, b, &k))
		r = Z3_mk_bvadd(c, a, num(x, -k)); /* base + constant, as mem.c splits addresses */
	else
		r = sub ? Z3_mk_bvsub(c, a, b) : Z3_mk_bvadd(c, a, b);
	if (flags) {
		Z3_ast *f = x->s->flag;
		unsigned int w = prove_width(z, r);
		f[PA_N] = msb(x, r);
		f[PA_Z] = prove_eq(z, r, prove_bv(z, 0, w));
		if (sub) {
			f[PA_C] = Z3_mk_bvuge(c, a, b); /* no borrow */
			f[PA_V] = prove_and2(z, prove_not(z, prove_eq(z, msb(x, a), msb(x, b))),
					     prove_not(z, prove_eq(z, msb(x, r), msb(x, a))));
		} else {
			f[PA_C] = Z3_mk_bvult(c, r, a);
			f[PA_V] = prove_and2(z, prove_eq(z, msb(x, a), msb(x, b)),
					     prove_not(z, prove_eq(z, msb(x, r), msb(x, a))));
		}
	}
	return r;
}

/* and/orr/eor/ands (@op 0..3) of @a and @b; ands sets N and Z, clears C
 * and V. */
static Z3_ast logic(struct aexec *x, unsigned int op, Z3_ast a, Z3_ast b)
{
	struct prove_z3 *z = x->z;
	Z3_context c = z->c;
	Z3_ast r = op == 1 ? Z3_mk_bvor(c, a, b) : op == 2 ? Z3_mk_bvxor(c, a, b) : Z3_mk_bvand(c, a, b);
	if (op == 3) {
		Z3_ast *f = x->s->flag;
		f[PA_N] = msb(x, r);
		f[PA_Z] = prove_eq(z, r, prove_bv(z, 0, prove_width(z, r)));
		f[PA_C] = f[PA_V] = prove_false(z);
	}
	return r;
}

/* ConditionHolds(@cond) on the current flags. */
static Z3_ast condition(struct aexec *x, unsigned int cond)
{
	struct prove_z3 *z = x->z;
	Z3_ast *f = x->s->flag, r;
	switch (cond >> 1) {
	case 0: r = f[PA_Z]; break;
	case 1: r = f[PA_C]; break;
	case 2: r = f[PA_N]; break;
	case 3: r = f[PA_V]; break;
	case 4: r = prove_and2(z, f[PA_C], prove_not(z, f[PA_Z])); break;
	case 5: r = prove_eq(z, f[PA_N], f[PA_V]); break;
	case 6: r = prove_and2(z, prove_eq(z, f[PA_N], f[PA_V]), prove_not(z, f[PA_Z])); break;
	default: r = prove_true(z); break;
	}
	if ((cond & 1) && cond != 15)
		r = prove_not(z, r);
	return r;
}

static uint64_t ones(unsigned int n)
{
	return n >= 64 ? ~0ull : (1ull << n) - 1;
}

/* sbfm (0), bfm (1), ubfm (2) with immr @r, imms @s: the Arm ARM's
 * bitfield move with the masks of DecodeBitMasks(N, imms, immr, FALSE). */
static void bitfield(struct aexec *x)
{
	struct prove_z3 *z = x->z;
	Z3_context c = z->c;
	const struct prove_a64_insn *in = x->in;
	unsigned int w = width(in), r = in->shift, s = in->amount;
	uint64_t wm = ones(s + 1);
	if (r)
		wm = ((wm >> r) | (wm << (w - r))) & ones(w);
	uint64_t tm = ones(((s - r) & (w - 1)) + 1);
	Z3_ast src = rreg(x, in->rn, false);
	Z3_ast dst = in->opc == 1 ? rreg(x, in->rd, false) : num(x, 0);
	Z3_ast rot = r ? Z3_mk_rotate_right(c, r, src) : src;
	Z3_ast bot = Z3_mk_bvor(c, Z3_mk_bvand(c, dst, num(x, ~wm)), Z3_mk_bvand(c, rot, num(x, wm)));
	Z3_ast top = in->opc == 0 ? Z3_mk_bvashr(c, Z3_mk_bvshl(c, src, num(x, w - 1 - s)), num(x, w - 1)) : dst;
	wreg(x, in->rd, Z3_mk_bvor(c, Z3_mk_bvand(c, top, num(x, ~tm)), Z3_mk_bvand(c, bot, num(x, tm))), false);
}

/* Count of leading zero bits of @v (a term of its width). */
static Z3_ast clz(struct aexec *x, Z3_ast v)
{
	unsigned int w = prove_width(x->z, v);
	Z3_ast r = prove_bv(x->z, w, w);
	for (unsigned int i = 0; i < w; i++) /* the highest set bit decides: build from bit 0 up */
		r = prove_ite(x->z, prove_bit(x->z, v, i), prove_bv(x->z, w - 1 - i, w), r);
	return r;
}

static void dp1(struct aexec *x)
{
	struct prove_z3 *z = x->z;
	Z3_context c = z->c;
	const struct prove_a64_insn *in = x->in;
	unsigned int w = width(in);
	Z3_ast v = rreg(x, in->rn, false), r;
	switch (in->opc) {
	case 0: /* rbit */
		r = Z3_mk_extract(c, 0, 0, v);
		for (unsigned int i = 1; i < w; i++)
			r = Z3_mk_concat(c, r, Z3_mk_extract(c, i, i, v));
		break;
	case 1: /* rev16: the bytes of each halfword */
		r = NULL;
		for (unsigned int i = 0; i < w; i += 16) {
			Z3_ast h = prove_bswap(z, Z3_mk_extract(c, i + 15, i, v));
			r = r ? Z3_mk_concat(c, h, r) : h;
		}
		break;
	case 2: /* rev32 (X: the bytes of each word), rev (W) */
		r = in->sf ? Z3_mk_concat(c, prove_bswap(z, Z3_mk_extract(c, 63, 32, v)),
					  prove_bswap(z, Z3_mk_extract(c, 31, 0, v)))
			   : prove_bswap(z, v);
		break;
	case 3: /* rev (X) */
		r = prove_bswap(z, v);
		break;
	case 4: /* clz */
		r = clz(x, v);
		break;
	default: /* cls: leading bits equal to the sign bit, the sign bit not counted */
		r = clz(x, Z3_mk_concat(c, Z3_mk_bvxor(c, Z3_mk_extract(c, w - 1, 1, v), Z3_mk_extract(c, w - 2, 0, v)),
					prove_bv(z, 1, 1)));
		break;
	}
	wreg(x, in->rd, r, false);
}

static void dp2(struct aexec *x)
{
	struct prove_z3 *z = x->z;
	Z3_context c = z->c;
	const struct prove_a64_insn *in = x->in;
	unsigned int w = width(in);
	Z3_ast a = rreg(x, in->rn, false), b = rreg(x, in->rm, false), r;
	Z3_ast zero = num(x, 0), amt = Z3_mk_bvand(c, b, num(x, w - 1));
	switch (in->opc) {
	case 2: r = prove_ite(z, prove_eq(z, b, zero), zero, Z3_mk_bvudiv(c, a, b)); break;
	case 3: r = prove_ite(z, prove_eq(z, b, zero), zero, Z3_mk_bvsdiv(c, a, b)); break;
	case 8: r = Z3_mk_bvshl(c, a, amt); break;
	case 9: r = Z3_mk_bvlshr(c, a, amt); break;
	case 10: r = Z3_mk_bvashr(c, a, amt); break;
	default: /* rorv */
		r = Z3_mk_bvor(c, Z3_mk_bvlshr(c, a, amt),
			       Z3_mk_bvshl(c, a, Z3_mk_bvand(c, Z3_mk_bvsub(c, num(x, w), amt), num(x, w - 1))));
		r = prove_ite(z, prove_eq(z, amt, zero), a, r);
		break;
	}
	wreg(x, in->rd, r, false);
}

/* Address of a load/store: base (sp for 31) + offset or extended index. */
static Z3_ast address(struct aexec *x)
{
	struct prove_z3 *z = x->z;
	Z3_context c = z->c;
	const struct prove_a64_insn *in = x->in;
	Z3_ast base = x->s->reg[in->rn];
	if (in->rm == 0xff)
		return in->imm ? Z3_mk_bvadd(c, base, prove_bv(z, (uint64_t)in->imm, 64)) : base;
	Z3_ast idx = in->rm == 31 ? prove_bv(z, 0, 64) : x->s->reg[in->rm];
	switch (in->shift) {
	case 2: idx = prove_zext(z, prove_low(z, idx, 32), 64); break; /* uxtw */
	case 6: idx = prove_sext(z, prove_low(z, idx, 32), 64); break; /* sxtw */
	default: break;                                                 /* lsl / uxtx, sxtx */
	}
	if (in->cond)
		idx = Z3_mk_bvshl(c, idx, prove_bv(z, in->cond, 64));
	return Z3_mk_bvadd(c, base, idx);
}

static void note_access(struct aexec *x, Z3_ast a, unsigned int size, bool write)
{
	int rc = prove_state_access(x->s, a, size, write);
	if (rc && !x->rc)
		x->rc = rc;
}

static void ldst(struct aexec *x)
{
	struct prove_z3 *z = x->z;
	const struct prove_a64_insn *in = x->in;
	unsigned int size = 1u << in->amount;
	Z3_ast a = address(x);
	note_access(x, a, size, in->opc == 0);
	if (in->opc == 0) { /* store the low bits of rt (zr: zero) */
		Z3_ast v = in->rd == 31 ? prove_bv(z, 0, 8 * size) : prove_low(z, x->s->reg[in->rd], 8 * size);
		x->s->mem = prove_store(z, x->s->mem, a, v, size);
		return;
	}
	Z3_ast v = prove_load(z, x->s->mem, a, size);
	if (in->opc == 2)
		v = prove_sext(z, v, 64);
	else if (in->opc == 3)
		v = prove_zext(z, prove_sext(z, v, 32), 64);
	if (in->rd != 31)
		x->s->reg[in->rd] = prove_zext(z, v, 64);
}

static void ldstp(struct aexec *x)
{
	struct prove_z3 *z = x->z;
	Z3_context c = z->c;
	const struct prove_a64_insn *in = x->in;
	unsigned int size = in->sf ? 8 : 4;
	Z3_ast a = x->s->reg[in->rn];
	if (in->imm)
		a = Z3_mk_bvadd(c, a, prove_bv(z, (uint64_t)in->imm, 64));
	Z3_ast a2 = Z3_mk_bvadd(c, a, prove_bv(z, size, 64));
	if (in->opc) {
		if (in->rd == in->ra) {
			afail(x, "ldp to one register twice is unpredictable");
			return;
		}
		note_access(x, a, size, false);
		note_access(x, a2, size, false);
		Z3_ast v1 = prove_load(z, x->s->mem, a, size), v2 = prove_load(z, x->s->mem, a2, size);
		if (in->rd != 31)
			x->s->reg[in->rd] = prove_zext(z, v1, 64);
		if (in->ra != 31)
			x->s->reg[in->ra] = prove_zext(z, v2, 64);
		return;
	}
	Z3_ast v1 = in->rd == 31 ? prove_bv(z, 0, 8 * size) : prove_low(z, x->s->reg[in->rd], 8 * size);
	Z3_ast v2 = in->ra == 31 ? prove_bv(z, 0, 8 * size) : prove_low(z, x->s->reg[in->ra], 8 * size);
	note_access(x, a, size, true);
	note_access(x, a2, size, true);
	x->s->mem = prove_store(z, x->s->mem, a, v1, size);
	x->s->mem = prove_store(z, x->s->mem, a2, v2, size);
}

/* One non-branch instruction. */
static void step(struct aexec *x)
{
	struct prove_z3 *z = x->z;
	Z3_context c = z->c;
	const struct prove_a64_insn *in = x->in;
	switch (in->cls) {
	case PA_ADDSUB_SR: {
		Z3_ast b = shifted(x, rreg(x, in->rm, false), in->shift, in->amount);
		wreg(x, in->rd, addsub(x, rreg(x, in->rn, false), b, in->opc & 2, in->opc & 1), false);
		return;
	}
	case PA_LOGIC_SR: {
		Z3_ast b = shifted(x, rreg(x, in->rm, false), in->shift, in->amount);
		if (in->opc & 1)
			b = Z3_mk_bvnot(c, b);
		wreg(x, in->rd, logic(x, in->opc >> 1, rreg(x, in->rn, false), b), false);
		return;
	}
	case PA_ADDSUB_IMM: {
		bool s = in->opc & 1;
		wreg(x, in->rd, addsub(x, rreg(x, in->rn, true), num(x, (uint64_t)in->imm), in->opc & 2, s), !s);
		return;
	}
	case PA_LOGIC_IMM:
		wreg(x, in->rd, logic(x, in->opc, rreg(x, in->rn, false), num(x, (uint64_t)in->imm)), in->opc != 3);
		return;
	case PA_MOVW: {
		uint64_t v = (uint64_t)in->imm << in->amount;
		if (in->opc == 0)
			wreg(x, in->rd, num(x, ~v), false);
		else if (in->opc == 2)
			wreg(x, in->rd, num(x, v), false);
		else
			wreg(x, in->rd, Z3_mk_bvor(c, Z3_mk_bvand(c, rreg(x, in->rd, false), num(x, ~(0xffffull << in->amount))),
						 num(x, v)), false);
		return;
	}
	case PA_BFM:
		bitfield(x);
		return;
	case PA_EXTR: {
		unsigned int w = width(in);
		Z3_ast both = Z3_mk_concat(c, rreg(x, in->rn, false), rreg(x, in->rm, false));
		wreg(x, in->rd, Z3_mk_extract(c, in->amount + w - 1, in->amount, both), false);
		return;
	}
	case PA_DP2:
		dp2(x);
		return;
	case PA_DP1:
		dp1(x);
		return;
	case PA_CSEL: {
		Z3_ast b = rreg(x, in->rm, false);
		if (in->opc == 1)
			b = Z3_mk_bvadd(c, b, num(x, 1));
		else if (in->opc == 2)
			b = Z3_mk_bvnot(c, b);
		else if (in->opc == 3)
			b = Z3_mk_bvneg(c, b);
		wreg(x, in->rd, prove_ite(z, condition(x, in->cond), rreg(x, in->rn, false), b), false);
		return;
	}
	case PA_LDST:
		ldst(x);
		return;
	case PA_LDSTP:
		ldstp(x);
		return;
	case PA_PRFM: case PA_NOP:
		return; /* hints: no architectural effect, never fault */
	default:
		afail(x, "instruction not modelled");
		return;
	}
}

int prove_a64_run(struct prove_z3 *z, const struct prove_a64_insn *insns, size_t n,
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
		struct aexec x = { z, &s, &insns[i], why, whysz, 0 };
		size_t next = i + 1;
		if (insns[i].cls == PA_B || insns[i].cls == PA_BCOND) {
			size_t target = (size_t)insns[i].imm;
			if (target <= i || target > n) {
				afail(&x, "branch target not forward inside the code");
			} else if (insns[i].cls == PA_B || insns[i].cond >= 14) {
				next = target;
			} else {
				struct prove_state taken;
				Z3_ast cond = condition(&x, insns[i].cond);
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
