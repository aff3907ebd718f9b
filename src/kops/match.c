/* match.c - the recognizer's idiom patterns, one matcher per operation.
 *
 * Symbolic matchers (rotate, extract, lea, bswap_load, popcount, wide_load)
 * look at the value a register holds after a window of straight-line code,
 * as a canonical expression over the registers' values at the window's
 * start (sym.c), and
 * recognize the operation's idiom in it whatever order clang scheduled the
 * instructions in. Shape matchers (select, bulk_copy) match instructions
 * directly: their proof sequence *is* clang's code, so the match is exact
 * by construction. Matching only proposes a rewrite; recognize.c proves it
 * exact (liveness, demanded bits, symbolic comparison, interpreter runs)
 * before using it.
 */
#include <string.h>

#include "kops/kopsInt.h"
#include "kops/ops/ops.h"

#define R(i) ((uint16_t)(1u << (i)))

static const struct ksym_node *nd(const struct ksym *st, int n)
{
	return n >= 0 && n < st->nnodes ? &st->node[n] : NULL;
}

/* Register of a leaf node, or -1. */
static int leaf_reg(const struct ksym *st, int n)
{
	const struct ksym_node *x = nd(st, n);
	return x && x->kind == KSYM_LEAF ? (int)x->k : -1;
}

static int const_of(const struct ksym *st, int n, uint64_t *v)
{
	const struct ksym_node *x = nd(st, n);
	if (!x || x->kind != KSYM_CONST)
		return 0;
	*v = x->k;
	return 1;
}

/* @n == op(w)(X, constant): X in *@x, the constant in *@k. */
static int op_k(const struct ksym *st, int n, uint8_t op, int w, int *x, uint64_t *k)
{
	const struct ksym_node *o = nd(st, n);
	if (!o || o->kind != KSYM_OP || o->op != op || o->w != w || !const_of(st, o->b, k))
		return 0;
	*x = o->a;
	return 1;
}

static void pre_mov(struct kops_cand *c, int dst, int src)
{
	c->npre = 0;
	if (dst != src)
		c->pre[c->npre++] = SBPF_MOV64_REG(dst, src);
}

/* ---- rotate ---------------------------------------------------------------
 * d = (X << k) | (X >> (w - k)) in either operand order, 64- or 32-bit
 * (ALU32 shifts). clang's 32-bit rotates done with 64-bit shifts,
 * (X << k) | (X >> (32 - k)), are 32-bit rotates in the low half only when
 * X's upper half is zero or the right operand is masked to the low word
 * ((X & m) >> (32 - k)); the upper half then differs, which recognize.c
 * allows only when nothing observes it - unless the window ends with the
 * result's zero-extension, which makes the two equal in all 64 bits. */
/* A zero-extension (low 32 bits of X: `mov32`, `lsh 32; rsh 32`, `and
 * 0xffffffff`): X in *@x. */
static int zext_of_node(const struct ksym *st, int n, int *x)
{
	const struct ksym_node *o = nd(st, n);
	if (!o || o->kind != KSYM_OP || o->op != SBPF_MOV || o->w != 32 || o->x)
		return 0;
	*x = o->b;
	return 1;
}

/* Rotate by a register: (X << n) | (X >> -n) in either order, the
 * amounts as sym.c canonicalizes them (clang's `& 63` masks, `64 - n` and
 * a 32-bit negation all become the 64-bit negation of n), w-bit shifts of
 * one leaf X; n a leaf too. The left shift's amount is n: a left rotate;
 * the right one's: a right rotate. */
static int rotate_by_reg(struct ksym *st, int d, const struct ksym_node *o, struct kops_cand *c)
{
	int w = o->w;
	for (int swap = 0; swap < 2; swap++) {
		const struct ksym_node *l = nd(st, swap ? o->b : o->a), *r = nd(st, swap ? o->a : o->b);
		if (!l || !r || l->kind != KSYM_OP || r->kind != KSYM_OP || l->op != SBPF_LSH || r->op != SBPF_RSH ||
		    l->w != w || r->w != w || l->a != r->a)
			continue;
		int xr = leaf_reg(st, l->a), right;
		const struct ksym_node *nl = nd(st, l->b), *nr = nd(st, r->b);
		int amount;
		if (nr && nr->kind == KSYM_OP && nr->op == SBPF_NEG && nr->a == l->b) {
			amount = l->b, right = 0;
		} else if (nl && nl->kind == KSYM_OP && nl->op == SBPF_NEG && nl->a == r->b) {
			amount = r->b, right = 1;
		} else {
			continue;
		}
		int ar = leaf_reg(st, amount);
		if (xr < 0 || ar < 0 || (ar == d && xr != d))
			continue; /* the mov into dst would overwrite the amount */
		c->p = (struct sbpf_kops_payload){ .op = SBPF_KOPS_ROTATE, .dst = (uint8_t)d, .a = (uint8_t)ar,
						   .variant = (uint16_t)(KOPS_ROT_REG | (w == 32 ? KOPS_ROT_32 : 0) |
									 (right ? KOPS_ROT_RIGHT : 0)) };
		c->scratch = KOPS_SCRATCH_B | KOPS_SCRATCH_C;
		c->prefer = 4; /* r4 is rcx: a scratch there spares saving it around rol cl */
		pre_mov(c, d, xr);
		return 1;
	}
	return 0;
}

/* clang folds rotl(t * c, k) into (t * (c << k)) | ((t * c) >> (w - k)):
 * two multiplies. The site multiplies once (pre: dst = t; dst *= c, the
 * constant through the rotate's scratch when it does not fit an
 * immediate) and rotates; sym.c makes the proof sequence's (t * c) << k
 * the same node as clang's t * (c << k). */
static int rotate_of_product(struct ksym *st, int d, const struct ksym_node *o, struct kops_cand *c)
{
	int w = o->w;
	uint64_t wmask = w == 64 ? ~0ull : 0xffffffffull;
	for (int swap = 0; swap < 2; swap++) {
		int l = swap ? o->b : o->a, r = swap ? o->a : o->b, y, t, t2;
		uint64_t kr, c1, c0;
		if (!op_k(st, r, SBPF_RSH, w, &y, &kr) || kr < 1 || kr >= (uint64_t)w ||
		    !op_k(st, y, SBPF_MUL, w, &t, &c0) || !op_k(st, l, SBPF_MUL, w, &t2, &c1) || t2 != t)
			continue;
		uint64_t k = (uint64_t)w - kr;
		int tr = leaf_reg(st, t);
		if (tr < 0 || ((c0 << k) & wmask) != c1 || !c0)
			continue;
		c->p = (struct sbpf_kops_payload){ .op = SBPF_KOPS_ROTATE, .dst = (uint8_t)d, .imm = (int32_t)k,
						   .variant = w == 32 ? KOPS_ROT_32 : 0 };
		c->scratch = KOPS_SCRATCH_C;
		c->prefer = -1;
		pre_mov(c, d, tr);
		if (w == 32 || (int64_t)c0 == (int64_t)(int32_t)c0) {
			c->pre[c->npre++] = w == 32 ? SBPF_ALU32_IMM(SBPF_MUL, d, (int32_t)c0)
						    : SBPF_ALU64_IMM(SBPF_MUL, d, (int32_t)c0);
		} else {
			c->pre[c->npre++] = SBPF_LD_IMM64_LO(KOPS_PRE_SCRATCH, 0, c0);
			c->pre[c->npre++] = SBPF_LD_IMM64_HI(c0);
			c->pre[c->npre++] = SBPF_ALU64_REG(SBPF_MUL, d, KOPS_PRE_SCRATCH);
			c->pre_scratch = 1;
		}
		return 1;
	}
	return 0;
}

int kops_match_rotate(struct ksym *st, int d, struct kops_cand *c)
{
	int top = st->reg[d], inner, wrapped = 0;
	/* clang's default CPU zero-extends a 32-bit result with lsh 32; rsh
	 * 32: the zero-extension of a 32-bit rotate done with 64-bit shifts
	 * is the 32-bit rotate variant itself, exact in all 64 bits */
	if (zext_of_node(st, top, &inner)) {
		top = inner;
		wrapped = 1;
	}
	const struct ksym_node *o = nd(st, top);
	if (!o || o->kind != KSYM_OP || o->op != SBPF_OR)
		return 0;
	if (!wrapped && (rotate_by_reg(st, d, o, c) || rotate_of_product(st, d, o, c)))
		return 1;
	int w = o->w;
	for (int swap = 0; swap < 2; swap++) {
		int l = swap ? o->b : o->a, r = swap ? o->a : o->b, x, y, zx;
		uint64_t kl, kr, m;
		if (!op_k(st, l, SBPF_LSH, w, &x, &kl) || !op_k(st, r, SBPF_RSH, w, &y, &kr))
			continue;
		/* the operand may be a zero-extended register (lsh 32; rsh 32
		 * first): the 32-bit rotate reads the register's low half */
		int xr = leaf_reg(st, x), is32;
		if (xr < 0 && w == 64 && zext_of_node(st, x, &zx))
			xr = leaf_reg(st, zx);
		if (xr < 0 || kl < 1)
			continue;
		if (y == x && kl + kr == (uint64_t)w) {
			is32 = w == 32;
		} else if (w == 64 && kl + kr == 32 && kl < 32 &&
			   ((y == x && nd(st, x)->zext) ||
			    (op_k(st, y, SBPF_AND, 64, &y, &m) && y == x && !(m >> 32) &&
			     ((m | ((1ull << kr) - 1)) & 0xffffffffull) == 0xffffffffull))) {
			is32 = 1;
		} else {
			continue;
		}
		if (wrapped && !is32)
			continue; /* the low half of a 64-bit rotate is no rotate */
		c->p = (struct sbpf_kops_payload){ .op = SBPF_KOPS_ROTATE, .dst = (uint8_t)d, .imm = (int32_t)kl,
						   .variant = is32 ? KOPS_ROT_32 : 0 };
		c->scratch = 1;
		c->prefer = -1;
		pre_mov(c, d, xr);
		return 1;
	}
	return 0;
}

/* ---- extract --------------------------------------------------------------
 * d = (X >> s) & (2^len - 1), 64-bit or ALU32; the canonical forms also
 * cover (X << l) >> r and a zero-extension (X << 32) >> 32. */
int kops_match_extract(struct ksym *st, int d, struct kops_cand *c)
{
	const struct ksym_node *o = nd(st, st->reg[d]);
	if (!o || o->kind != KSYM_OP)
		return 0;
	int x = -1, w = o->w;
	uint64_t s = 0, m = 0;
	unsigned len;
	if (o->op == SBPF_AND && const_of(st, o->b, &m)) {
		if (!m || (m & (m + 1)) || m > 0xffffffffull)
			return 0;
		if (!op_k(st, o->a, SBPF_RSH, w, &x, &s)) {
			x = o->a; /* a field at bit 0 */
			s = 0;
		}
		len = (unsigned)__builtin_popcountll(m);
	} else if (o->op == SBPF_MOV && w == 32 && !o->x) {
		/* low 32 bits of X >> s (or of X itself): the 64-bit variant,
		 * whose proof sequence is shifts (extract.c: the kernel verifier
		 * treats a mov32 differently from the lsh 32; rsh 32 clang
		 * writes; an ALU32 `mov32` alone saves nothing and is not
		 * written by the default policy) */
		if (!op_k(st, o->b, SBPF_RSH, 64, &x, &s)) {
			x = o->b;
			s = 0;
		}
		len = 32;
		w = 64;
	} else {
		return 0;
	}
	int xr = leaf_reg(st, x);
	/* at bit 0 only the widths one movzx / mov r32 takes: a plain `and`
	 * of another width is no field extract worth a site */
	if (xr < 0 || (s == 0 && len != 8 && len != 16 && len != 32) || s + len > (unsigned)w)
		return 0;
	c->p = (struct sbpf_kops_payload){ .op = SBPF_KOPS_EXTRACT, .dst = (uint8_t)d, .a = (uint8_t)xr,
					   .imm = (int32_t)(s | len << 8), .variant = w == 32 ? KOPS_EXT_32 : 0 };
	c->npre = 0;
	c->scratch = 0;
	return 1;
}

/* ---- lea ------------------------------------------------------------------
 * d = A + (B << s) + imm with s in 0..3 (a 64-bit add chain of two
 * registers, one possibly shifted, and a displacement). Plain `A + B` is
 * left alone: it is an add, not address arithmetic. */
int kops_match_lea(struct ksym *st, int d, struct kops_cand *c)
{
	int terms[8], nt = 0, stack[16], sp = 0;
	uint64_t imm = 0, v;
	stack[sp++] = st->reg[d];
	const struct ksym_node *top = nd(st, st->reg[d]);
	if (!top || top->kind != KSYM_OP || top->op != SBPF_ADD || top->w != 64)
		return 0;
	while (sp) {
		int n = stack[--sp];
		const struct ksym_node *o = nd(st, n);
		if (o && o->kind == KSYM_OP && o->op == SBPF_ADD && o->w == 64) {
			if (sp > 13)
				return 0;
			stack[sp++] = o->a;
			stack[sp++] = o->b;
		} else if (const_of(st, n, &v)) {
			imm += v;
		} else if (nt < 8) {
			terms[nt++] = n;
		} else {
			return 0;
		}
	}
	if (nt != 2 || (int64_t)imm != (int64_t)(int32_t)imm)
		return 0;
	int reg[2], sh[2];
	for (int i = 0; i < 2; i++) {
		uint64_t k;
		int x;
		sh[i] = 0;
		reg[i] = leaf_reg(st, terms[i]);
		if (reg[i] < 0 && op_k(st, terms[i], SBPF_LSH, 64, &x, &k) && k >= 1 && k <= 3) {
			reg[i] = leaf_reg(st, x);
			sh[i] = (int)k;
		}
		if (reg[i] < 0)
			return 0;
	}
	if (sh[0] && sh[1])
		return 0;
	if (!sh[0] && !sh[1] && !imm)
		return 0;
	/* b is the shifted register; with no shift, prefer a == d (in place) */
	int bi = sh[1] ? 1 : sh[0] ? 0 : (reg[0] == d ? 1 : 0);
	int a = reg[1 - bi], b = reg[bi];
	c->p = (struct sbpf_kops_payload){ .op = SBPF_KOPS_LEA, .dst = (uint8_t)d, .a = (uint8_t)a, .b = (uint8_t)b,
					   .variant = (uint16_t)sh[bi], .imm = (int32_t)imm };
	c->npre = 0;
	c->scratch = a == d;   /* the scaled index is built in c (may be b) */
	c->prefer = b;
	return 1;
}

/* ---- bswap_load -----------------------------------------------------------
 * d = the 2, 4 or 8 bytes at A + off in big-endian order, however it was
 * assembled: a load then `be`, or byte loads shifted and or-ed. */
int kops_match_bswap(struct ksym *st, int d, const struct kops_regfacts *in, struct kops_cand *c)
{
	struct ksym_bytes map;
	if (kops_sym__bytes(st, st->reg[d], &map))
		return 0;
	int nbytes = 0;
	while (nbytes < 8 && map.base[nbytes] >= 0)
		nbytes++;
	if (nbytes != 2 && nbytes != 4 && nbytes != 8)
		return 0;
	for (int i = nbytes; i < 8; i++)
		if (map.base[i] >= 0)
			return 0;
	for (int i = 0; i < nbytes; i++)
		if (map.base[i] != map.base[0] || map.off[i] != map.off[nbytes - 1] + (nbytes - 1 - i))
			return 0;
	int reg;
	int64_t boff;
	if (!kops_sym_base(st, map.base[0], &reg, &boff))
		return 0;
	int64_t off = boff + map.off[nbytes - 1];
	if (off < INT16_MIN || off > INT16_MAX)
		return 0;
	/* the kernel insists on aligned stack accesses; a base reloaded from a
	 * spill slot is "maybe a stack pointer" to the offset facts, but the
	 * kinds know whether that slot ever held one (a spilled packet
	 * pointer does not) */
	if (reg == SBPF_REG_FP || (in->fpknown & R(reg))) {
		int64_t at = (reg == SBPF_REG_FP ? 0 : in->fpoff[reg]) + off;
		if (at % nbytes)
			return 0;
	} else if ((in->maybe_fp & R(reg)) && (in->kind[reg] & KOPS_K_STACK)) {
		return 0;
	}
	c->p = (struct sbpf_kops_payload){ .op = SBPF_KOPS_BSWAP_LOAD, .dst = (uint8_t)d, .a = (uint8_t)reg,
					   .imm = (int32_t)off,
					   .variant = nbytes == 2 ? KOPS_BSL_16 : nbytes == 4 ? KOPS_BSL_32 : KOPS_BSL_64 };
	c->npre = 0;
	c->scratch = 0;
	return 1;
}

/* ---- wide_load ------------------------------------------------------------
 * d = the 2, 4 or 8 bytes at A + off, each read by its own one-byte load,
 * shifted into place little- or big-endian and combined with or (or with
 * + or ^, equal when the bytes do not overlap: sym.c's byte provenance
 * checks that). */
/* 1 when every load @n depends on is a zero-extending one-byte load and
 * there are at least two; *@loads counts them. */
static int byte_loads_only(const struct ksym *st, int n, int *loads, int *budget)
{
	const struct ksym_node *o = nd(st, n);
	if (!o || --*budget < 0)
		return 0;
	if (o->kind == KSYM_LOAD) {
		++*loads;
		return o->w == 1 && !o->sx;
	}
	if (o->kind != KSYM_OP)
		return 1;
	return (o->a < 0 || byte_loads_only(st, o->a, loads, budget)) &&
	       (o->b < 0 || byte_loads_only(st, o->b, loads, budget));
}

int kops_match_wide(struct ksym *st, int d, struct kops_cand *c)
{
	struct ksym_bytes map;
	int loads = 0, budget = 200;
	if (kops_sym__bytes(st, st->reg[d], &map) || !byte_loads_only(st, st->reg[d], &loads, &budget) || loads < 2)
		return 0;
	int n = 0;
	while (n < 8 && map.base[n] >= 0)
		n++;
	if (n != 2 && n != 4 && n != 8)
		return 0;
	for (int i = n; i < 8; i++)
		if (map.base[i] >= 0)
			return 0;
	int le = 1, be = 1;
	for (int i = 0; i < n; i++) {
		if (map.base[i] != map.base[0])
			return 0;
		le &= map.off[i] == map.off[0] + i;
		be &= map.off[i] == map.off[n - 1] + (n - 1 - i);
	}
	if (!le && !be)
		return 0;
	int reg;
	int64_t boff;
	if (!kops_sym_base(st, map.base[0], &reg, &boff))
		return 0;
	int64_t off = boff + (le ? map.off[0] : map.off[n - 1]);
	if (off < INT16_MIN || off + n - 1 > INT16_MAX)
		return 0;
	c->p = (struct sbpf_kops_payload){ .op = SBPF_KOPS_WIDE_LOAD, .dst = (uint8_t)d, .a = (uint8_t)reg,
					   .imm = (int32_t)off,
					   .variant = (uint16_t)((n == 2 ? KOPS_WIDE_16 : n == 4 ? KOPS_WIDE_32 : KOPS_WIDE_64) |
								 (le ? 0 : KOPS_WIDE_BE)) };
	c->npre = 0;
	c->scratch = KOPS_SCRATCH_B | (d == reg && n > 2 ? KOPS_SCRATCH_C : 0);
	c->prefer = -1;
	return 1;
}

/* ---- select ---------------------------------------------------------------
 * `if COND goto +1; mov d, v` is `d = !COND ? v : d`: a select with the
 * inverse condition, whose proof sequence is the very same two
 * instructions. A constant v needs a dead scratch register to hold it.
 * JSET has no inverse condition a select can express: left alone. */
int kops_match_select(const struct sbpf_insn *insns, size_t n, size_t pc,
		      const struct kops_facts *f, struct kops_cand *c)
{
	if (pc + 2 > n || f->second[pc] || f->target[pc + 1])
		return 0;
	const struct sbpf_insn *j = &insns[pc], *mv = &insns[pc + 1];
	const struct sbpf_op_info *jf = sbpf_op_info(sbpf_decode(j)), *mf = sbpf_op_info(sbpf_decode(mv));
	if ((jf->fmt != SBPF_FMT_JCOND_K && jf->fmt != SBPF_FMT_JCOND_X) || j->off != 1)
		return 0;
	if ((mf->fmt != SBPF_FMT_ALU_K && mf->fmt != SBPF_FMT_ALU_X) || (mv->code & 0xf0) != SBPF_MOV || mv->off)
		return 0;
	int cond = kops_inverse_cond(j->code >> 4);
	int is_x = jf->fmt == SBPF_FMT_JCOND_X, mov_x = mf->fmt == SBPF_FMT_ALU_X;
	int mov32 = SBPF_CLASS(mv->code) == SBPF_ALU;
	if (cond < 0 || (mov_x && mv->src_reg == mv->dst_reg))
		return 0;
	c->start = pc;
	c->end = pc + 2;
	c->p = (struct sbpf_kops_payload){
		.op = SBPF_KOPS_SELECT, .dst = mv->dst_reg, .a = j->dst_reg, .b = is_x ? j->src_reg : 0,
		.c = mov_x ? mv->src_reg : 0, .imm = is_x ? 0 : j->imm,
		.variant = (uint16_t)(cond | (is_x ? KOPS_SEL_RHS_REG : 0) |
				      (SBPF_CLASS(j->code) == SBPF_JMP32 ? KOPS_SEL_CMP32 : 0) |
				      (mov32 ? KOPS_SEL_MOV32 : 0)),
	};
	c->npre = 0;
	c->differs = 0;
	c->cone = 0;
	c->sym = 0;
	c->scratch = 0;
	if (!mov_x) {
		/* the constant goes through a register that is dead afterwards */
		uint16_t live = kops_facts__live_at(f, pc + 2);
		uint16_t busy = (uint16_t)(R(j->dst_reg) | (is_x ? R(j->src_reg) : 0) | R(mv->dst_reg) | R(SBPF_REG_FP) | live);
		int s = -1;
		for (int r = 0; r < SBPF_REG_FP && s < 0; r++)
			if (!(busy & R(r)))
				s = r;
		if (s < 0)
			return 0;
		c->p.c = (uint8_t)s;
		c->pre[c->npre++] = mov32 ? SBPF_MOV32_IMM(s, mv->imm) : SBPF_MOV64_IMM(s, mv->imm);
		c->differs = R(s);
	}
	return 1;
}

/* ---- bulk_copy ------------------------------------------------------------
 * A run of `ldx t, [a + so + i]; stx [d + do + i], t` pairs with ascending
 * contiguous offsets, one temporary t and unchanged bases, whose chunk
 * sizes are exactly the proof sequence's (8-byte chunks, then 4, 2, 1):
 * the proof sequence is then the run itself. */
static int chunk_size(int done, int len)
{
	int left = len - done;
	return left >= 8 ? 8 : left >= 4 ? 4 : left >= 2 ? 2 : 1;
}

static int ldst_size(uint8_t code)
{
	static const int bytes[4] = { 4, 2, 1, 8 };
	return bytes[(code >> 3) & 3];
}

int kops_match_copy(const struct sbpf_insn *insns, size_t n, size_t pc,
		    const struct kops_facts *f, struct kops_cand *c)
{
	int sizes[KOPS_COPY_MAX], npairs = 0, total = 0;
	int a = -1, d = -1, t = -1, so = 0, doff = 0;
	for (size_t i = pc; i + 1 < n && total < KOPS_COPY_MAX; i += 2) {
		const struct sbpf_insn *ld = &insns[i], *stx = &insns[i + 1];
		if (f->second[i] || (i > pc && f->target[i]) || f->target[i + 1])
			break;
		if (SBPF_CLASS(ld->code) != SBPF_LDX || (ld->code & 0xe0) != SBPF_MEM ||
		    SBPF_CLASS(stx->code) != SBPF_STX || (stx->code & 0xe0) != SBPF_MEM)
			break;
		int sz = ldst_size(ld->code);
		if (ldst_size(stx->code) != sz || stx->src_reg != ld->dst_reg || total + sz > KOPS_COPY_MAX)
			break;
		if (!npairs) {
			a = ld->src_reg, d = stx->dst_reg, t = ld->dst_reg;
			so = ld->off, doff = stx->off;
			if (t == a || t == d || t == SBPF_REG_FP)
				return 0;
		} else if (ld->src_reg != a || stx->dst_reg != d || ld->dst_reg != t ||
			   ld->off != so + total || stx->off != doff + total) {
			break;
		}
		sizes[npairs++] = sz;
		total += sz;
	}
	/* the longest prefix chunked as the proof sequence chunks it */
	while (npairs >= 2) {
		int len = 0, ok = 1;
		for (int i = 0; i < npairs; i++)
			len += sizes[i];
		for (int i = 0, done = 0; i < npairs && ok; done += sizes[i], i++)
			ok = sizes[i] == chunk_size(done, len);
		if (ok && so + len <= INT16_MAX && doff + len <= INT16_MAX) {
			c->start = pc;
			c->end = pc + 2 * (size_t)npairs;
			c->p = (struct sbpf_kops_payload){
				.op = SBPF_KOPS_BULK_COPY, .dst = (uint8_t)d, .a = (uint8_t)a, .c = (uint8_t)t,
				.imm = (int32_t)((uint32_t)(uint16_t)so | (uint32_t)(uint16_t)doff << 16),
				.variant = (uint16_t)len,
			};
			c->npre = 0;
			c->differs = 0;
			c->cone = 0;
			c->sym = 0;
			c->scratch = 0;
			return 1;
		}
		npairs--;
	}
	return 0;
}

/* ---- popcount -------------------------------------------------------------
 * clang's SWAR count of __builtin_popcount(ll) (popcount.c shows its three
 * shapes) ends in d = (S * 0x0101..01) >> 56 (64-bit), ((S * 0x01010101) &
 * 0xff000000) >> 24 (32-bit value, 64-bit ops) or w(S * 0x01010101) >> 24
 * (ALU32). The matcher only checks that end and finds the counted
 * register, the one leaf the value depends on; recognize.c then proves
 * the whole expression equal to the proof sequence's, node for node. */
/* The leaf registers @n depends on (bit r), at most @budget nodes visited. */
static uint16_t leaves(const struct ksym *st, int n, int *budget)
{
	const struct ksym_node *o = nd(st, n);
	if (!o || --*budget < 0)
		return 0xffff;
	if (o->kind == KSYM_LEAF)
		return R(o->k);
	if (o->kind != KSYM_OP)
		return o->kind == KSYM_CONST ? 0 : 0xffff;
	return (uint16_t)((o->a >= 0 ? leaves(st, o->a, budget) : 0) | (o->b >= 0 ? leaves(st, o->b, budget) : 0));
}

int kops_match_popcount(struct ksym *st, int d, struct kops_cand *c)
{
	int x, y, budget = 200;
	uint64_t k, m;
	uint16_t variant;
	if (op_k(st, st->reg[d], SBPF_RSH, 64, &x, &k) && k == 56 && op_k(st, x, SBPF_MUL, 64, &y, &m) &&
	    m == 0x0101010101010101ull)
		variant = 0;
	else if (op_k(st, st->reg[d], SBPF_RSH, 64, &x, &k) && k == 24 && op_k(st, x, SBPF_AND, 64, &x, &m) &&
		 m == 0xff000000ull && op_k(st, x, SBPF_MUL, 64, &y, &m) && m == 0x01010101)
		variant = KOPS_POP_32;
	else if (op_k(st, st->reg[d], SBPF_RSH, 32, &x, &k) && k == 24 && op_k(st, x, SBPF_MUL, 32, &y, &m) &&
		 m == 0x01010101)
		variant = KOPS_POP_32 | KOPS_POP_ALU32;
	else
		return 0;
	uint16_t l = leaves(st, y, &budget);
	if (budget < 0 || !l || (l & (l - 1)))
		return 0;
	c->p = (struct sbpf_kops_payload){ .op = SBPF_KOPS_POPCOUNT, .dst = (uint8_t)d,
					   .a = (uint8_t)__builtin_ctz(l), .variant = variant };
	c->npre = 0;
	c->scratch = variant & KOPS_POP_ALU32 ? KOPS_SCRATCH_B : KOPS_SCRATCH_B | KOPS_SCRATCH_C;
	c->prefer = -1;
	return 1;
}
