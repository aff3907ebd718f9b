/* sym.c - symbolic evaluation of straight-line eBPF for the recognizer.
 *
 * Every value is a node of a small hash-consed DAG whose leaves are the
 * registers' values at the start of a window (or constants the forward
 * analysis proved). Nodes are built canonically - constants folded with the
 * interpreter's semantics, commutative operands ordered, 64-bit add chains
 * flattened and sorted, + and ^ of operands with no bit in common made |,
 * (x * c) << k made x * (c << k), shift amounts by register reduced to the
 * bits the shift reads, and a few exact identities applied - so that two
 * computations that are equal by those rules end up as the same node. The
 * recognizer evaluates a window and its replacement in one struct ksym and
 * compares registers node by node: equal nodes are equal values; different
 * nodes are *not proven* equal (never "proven different").
 */
#include <string.h>

#include "kops/kopsInt.h"

#define R(i) ((uint16_t)(1u << (i)))

/* ---- constant semantics (mirrors src/vm/interp.c) ------------------------ */

static uint64_t sdiv64(uint64_t a, uint64_t b)
{
	return !b ? 0 : b == UINT64_MAX ? 0 - a : (uint64_t)((int64_t)a / (int64_t)b);
}

static uint64_t smod64(uint64_t a, uint64_t b)
{
	return !b ? a : b == UINT64_MAX ? 0 : (uint64_t)((int64_t)a % (int64_t)b);
}

static uint32_t sdiv32(uint32_t a, uint32_t b)
{
	return !b ? 0 : b == UINT32_MAX ? 0 - a : (uint32_t)((int32_t)a / (int32_t)b);
}

static uint32_t smod32(uint32_t a, uint32_t b)
{
	return !b ? a : b == UINT32_MAX ? 0 : (uint32_t)((int32_t)a % (int32_t)b);
}

/* @op on @a (dst) and @b (src operand); @w 32 or 64; @x: signed division
 * (1), movsx width (8/16/32), or for END the width | 0x80 when swapping. */
static uint64_t fold(uint8_t op, int w, uint8_t x, uint64_t a, uint64_t b)
{
	if (op == SBPF_END) {
		int width = x & 0x7f;
		if (x & 0x80)
			return width == 16 ? __builtin_bswap16((uint16_t)a)
			       : width == 32 ? __builtin_bswap32((uint32_t)a) : __builtin_bswap64(a);
		return width == 16 ? (uint16_t)a : width == 32 ? (uint32_t)a : a;
	}
	if (w == 32) {
		uint32_t A = (uint32_t)a, B = (uint32_t)b;
		switch (op) {
		case SBPF_ADD: return (uint32_t)(A + B);
		case SBPF_SUB: return (uint32_t)(A - B);
		case SBPF_MUL: return (uint32_t)(A * B);
		case SBPF_DIV: return x ? sdiv32(A, B) : B ? A / B : 0;
		case SBPF_MOD: return x ? smod32(A, B) : B ? A % B : A;
		case SBPF_OR:  return A | B;
		case SBPF_AND: return A & B;
		case SBPF_XOR: return A ^ B;
		case SBPF_LSH: return (uint32_t)(A << (B & 31));
		case SBPF_RSH: return A >> (B & 31);
		case SBPF_ARSH: return (uint32_t)((int32_t)A >> (B & 31));
		case SBPF_NEG: return (uint32_t)(0u - A);
		case SBPF_MOV:
			return x == 8 ? (uint32_t)(int32_t)(int8_t)B : x == 16 ? (uint32_t)(int32_t)(int16_t)B : B;
		default: return 0;
		}
	}
	switch (op) {
	case SBPF_ADD: return a + b;
	case SBPF_SUB: return a - b;
	case SBPF_MUL: return a * b;
	case SBPF_DIV: return x ? sdiv64(a, b) : b ? a / b : 0;
	case SBPF_MOD: return x ? smod64(a, b) : b ? a % b : a;
	case SBPF_OR:  return a | b;
	case SBPF_AND: return a & b;
	case SBPF_XOR: return a ^ b;
	case SBPF_LSH: return a << (b & 63);
	case SBPF_RSH: return a >> (b & 63);
	case SBPF_ARSH: return (uint64_t)((int64_t)a >> (b & 63));
	case SBPF_NEG: return 0 - a;
	case SBPF_MOV:
		return x == 8 ? (uint64_t)(int64_t)(int8_t)b : x == 16 ? (uint64_t)(int64_t)(int16_t)b
		       : x == 32 ? (uint64_t)(int64_t)(int32_t)b : b;
	default: return 0;
	}
}

/* The END node's x for an END instruction. */
static uint8_t end_x(const struct sbpf_insn *in)
{
	int swap = SBPF_CLASS(in->code) == SBPF_ALU64 || (in->code & SBPF_TO_BE);
	return (uint8_t)(in->imm | (swap ? 0x80 : 0));
}

uint64_t kops_alu_eval(uint8_t code, int16_t off, int32_t imm, uint64_t dst, uint64_t src)
{
	uint8_t op = code & 0xf0;
	int w = SBPF_CLASS(code) == SBPF_ALU64 ? 64 : 32;
	if (op == SBPF_END) {
		struct sbpf_insn in = SBPF_INSN(code, 0, 0, off, imm);
		return fold(op, 64, end_x(&in), dst, 0);
	}
	uint8_t x = (op == SBPF_DIV || op == SBPF_MOD) ? (off == 1) : op == SBPF_MOV ? (uint8_t)off : 0;
	return fold(op, w, x, dst, src);
}

/* ---- nodes ---------------------------------------------------------------- */

static int find_or_add(struct ksym *st, const struct ksym_node *nd)
{
	for (int i = 0; i < st->nnodes; i++) {
		const struct ksym_node *o = &st->node[i];
		if (o->kind == nd->kind && o->op == nd->op && o->w == nd->w && o->x == nd->x &&
		    o->a == nd->a && o->b == nd->b && o->k == nd->k && o->sx == nd->sx)
			return i;
	}
	if (st->nnodes >= KSYM_MAX) {
		st->overflow = 1;
		return -1;
	}
	st->node[st->nnodes] = *nd;
	return st->nnodes++;
}

static int mk_const(struct ksym *st, uint64_t v)
{
	struct ksym_node nd = { .kind = KSYM_CONST, .a = -1, .b = -1, .k = v, .zext = !(v >> 32) };
	return find_or_add(st, &nd);
}

static int is_const(const struct ksym *st, int n, uint64_t *v)
{
	if (n < 0 || st->node[n].kind != KSYM_CONST)
		return 0;
	if (v)
		*v = st->node[n].k;
	return 1;
}

static const struct ksym_node *op_node(const struct ksym *st, int n, uint8_t op, int w)
{
	if (n < 0)
		return NULL;
	const struct ksym_node *nd = &st->node[n];
	return nd->kind == KSYM_OP && nd->op == op && nd->w == w ? nd : NULL;
}

static int zext_of(const struct ksym *st, int n)
{
	return n >= 0 && st->node[n].zext;
}

/* Whether a fresh op node has a zero upper half. */
static int op_zext(const struct ksym *st, uint8_t op, int w, uint8_t x, int a, int b)
{
	uint64_t k;
	if (w == 32)
		return 1;
	switch (op) {
	case SBPF_AND: return zext_of(st, a) || zext_of(st, b);
	case SBPF_OR:
	case SBPF_XOR: return zext_of(st, a) && zext_of(st, b);
	case SBPF_RSH: return zext_of(st, a) || (is_const(st, b, &k) && (k & 63) >= 32);
	case SBPF_DIV:
	case SBPF_MOD: return !x && zext_of(st, a);
	case SBPF_END: return (x & 0x7f) <= 32 || ((x & 0x80) == 0 && zext_of(st, a));
	default: return 0;
	}
}

static int raw_op(struct ksym *st, uint8_t op, int w, uint8_t x, int a, int b)
{
	struct ksym_node nd = { .kind = KSYM_OP, .op = op, .w = (uint8_t)w, .x = x, .a = a, .b = b,
				.zext = (uint8_t)op_zext(st, op, w, x, a, b) };
	return find_or_add(st, &nd);
}

static int mk_op(struct ksym *st, uint8_t op, int w, uint8_t x, int a, int b);

/* low32 wrapper: the value zero-extended from its low 32 bits. */
static int mk_mov32(struct ksym *st, int a)
{
	return mk_op(st, SBPF_MOV, 32, 0, -1, a);
}

/* Terms of a 64-bit add chain rooted at @n (constants summed into *@c);
 * more than 16 terms set *@poison. */
static void add_terms(const struct ksym *st, int n, int *terms, int *nt, uint64_t *c, int *poison)
{
	const struct ksym_node *nd = op_node(st, n, SBPF_ADD, 64);
	uint64_t v;
	if (nd) {
		add_terms(st, nd->a, terms, nt, c, poison);
		add_terms(st, nd->b, terms, nt, c, poison);
	} else if (is_const(st, n, &v)) {
		*c += v;
	} else if (*nt < 16) {
		terms[(*nt)++] = n;
	} else {
		*poison = 1;
	}
}

/* A flattened, sorted 64-bit add chain: t0 + t1 + ... + constant. */
static int mk_add64(struct ksym *st, int a, int b)
{
	int terms[16], nt = 0, poison = 0;
	uint64_t c = 0;
	add_terms(st, a, terms, &nt, &c, &poison);
	add_terms(st, b, terms, &nt, &c, &poison);
	if (poison)
		return raw_op(st, SBPF_ADD, 64, 0, a < b ? a : b, a < b ? b : a);
	for (int i = 1; i < nt; i++) /* insertion sort by node id */
		for (int j = i; j > 0 && terms[j - 1] > terms[j]; j--) {
			int t = terms[j];
			terms[j] = terms[j - 1];
			terms[j - 1] = t;
		}
	if (!nt)
		return mk_const(st, c);
	int acc = terms[0];
	for (int i = 1; i < nt && acc >= 0; i++)
		acc = raw_op(st, SBPF_ADD, 64, 0, acc, terms[i]);
	if (c && acc >= 0)
		acc = raw_op(st, SBPF_ADD, 64, 0, acc, mk_const(st, c));
	return acc;
}

static uint64_t ones(int bits)
{
	return bits >= 64 ? ~0ull : (1ull << bits) - 1;
}

/* Bits of node @n's value that may be set (a conservative superset). */
static uint64_t maybe_bits(const struct ksym *st, int n, int depth)
{
	if (n < 0 || depth > 12)
		return ~0ull;
	const struct ksym_node *nd = &st->node[n];
	uint64_t k, wm = nd->w == 32 ? 0xffffffffull : ~0ull;
	switch (nd->kind) {
	case KSYM_CONST: return nd->k;
	case KSYM_LOAD: return nd->sx ? ~0ull : ones(8 * nd->w);
	case KSYM_OP: break;
	default: return nd->zext ? 0xffffffffull : ~0ull;
	}
	switch (nd->op) {
	case SBPF_LSH:
		if (is_const(st, nd->b, &k) && k < 64)
			return (maybe_bits(st, nd->a, depth + 1) << k) & wm;
		break;
	case SBPF_RSH:
		if (is_const(st, nd->b, &k) && k < 64)
			return (maybe_bits(st, nd->a, depth + 1) & wm) >> k;
		break;
	case SBPF_AND:
		return maybe_bits(st, nd->a, depth + 1) & maybe_bits(st, nd->b, depth + 1) & wm;
	case SBPF_OR:
	case SBPF_XOR:
		return (maybe_bits(st, nd->a, depth + 1) | maybe_bits(st, nd->b, depth + 1)) & wm;
	case SBPF_MOV:
		if (!nd->x)
			return maybe_bits(st, nd->b, depth + 1) & wm;
		break;
	default:
		break;
	}
	return nd->zext ? 0xffffffffull : wm;
}

/* A shift amount @n of a @w-bit shift, which reads only its low log2(w)
 * bits, in a canonical form with the same low bits: masks keeping them
 * and zero-extensions dropped, -y and K - y (K a multiple of w) as the
 * 64-bit negation of y's canonical form. */
static int amount_canon(struct ksym *st, int n, int w, int depth)
{
	uint64_t k;
	while (n >= 0 && depth++ < 8) {
		const struct ksym_node *nd = &st->node[n];
		if (nd->kind != KSYM_OP)
			break;
		if (nd->op == SBPF_AND && is_const(st, nd->b, &k) && (k & (uint64_t)(w - 1)) == (uint64_t)(w - 1))
			n = nd->a;
		else if (nd->op == SBPF_MOV && nd->w == 32 && !nd->x)
			n = nd->b;
		else if (nd->op == SBPF_NEG)
			return raw_op(st, SBPF_NEG, 64, 0, amount_canon(st, nd->a, w, depth), -1);
		else if (nd->op == SBPF_SUB && is_const(st, nd->a, &k) && !(k % (uint64_t)w))
			return raw_op(st, SBPF_NEG, 64, 0, amount_canon(st, nd->b, w, depth), -1);
		else
			break;
	}
	return n;
}

/* Builds op(a, b) canonically (see the file comment). @a is the dst
 * operand (-1 for mov), @b the source operand (-1 for neg/end). */
static int mk_op(struct ksym *st, uint8_t op, int w, uint8_t x, int a, int b)
{
	if ((a < 0 && op != SBPF_MOV) || (b < 0 && op != SBPF_NEG && op != SBPF_END) || st->overflow)
		return -1;
	uint64_t av = 0, bv = 0, k;
	uint64_t wmask = ones(w);
	/* 32-bit operations read only the low halves: drop low32 wrappers and
	 * reduce constants. */
	if (w == 32 && op != SBPF_END) {
		const struct ksym_node *m;
		if ((m = op_node(st, a, SBPF_MOV, 32)) && !m->x)
			a = m->b;
		if ((m = op_node(st, b, SBPF_MOV, 32)) && !m->x)
			b = m->b;
		if (is_const(st, a, &k))
			a = mk_const(st, k & wmask);
		if (is_const(st, b, &k))
			b = mk_const(st, k & wmask);
	}
	int ca = a < 0 || is_const(st, a, &av), cb = b < 0 || is_const(st, b, &bv);
	if (ca && cb)
		return mk_const(st, fold(op, w, x, av, bv));
	/* shift amounts by register: only their low bits count */
	if ((op == SBPF_LSH || op == SBPF_RSH || op == SBPF_ARSH) && !cb)
		b = amount_canon(st, b, w, 0);
	/* shift amounts: the interpreter masks them */
	if ((op == SBPF_LSH || op == SBPF_RSH || op == SBPF_ARSH) && is_const(st, b, &bv)) {
		bv &= (uint64_t)(w - 1);
		b = mk_const(st, bv);
		if (!bv)
			return w == 64 ? a : mk_mov32(st, a);
		/* (x * c) << k is x * (c << k) (modulo 2^w): clang folds a rotate
		 * of a product that way */
		const struct ksym_node *mn = op_node(st, a, SBPF_MUL, w);
		uint64_t mc;
		if (op == SBPF_LSH && mn && is_const(st, mn->b, &mc))
			return mk_op(st, SBPF_MUL, w, 0, mn->a, mk_const(st, (mc << bv) & wmask));
	}
	switch (op) {
	case SBPF_MOV:
		if (w == 64 && !x)
			return b;
		if (w == 32 && !x) {
			if (zext_of(st, b))
				return b; /* already zero-extended */
			const struct ksym_node *m = &st->node[b];
			if (m->kind == KSYM_OP && m->w == 64 && m->op == SBPF_MOV && m->x == 32)
				b = m->b; /* movsx32 then low32 = low32 */
		}
		break;
	case SBPF_ADD:
		/* no bit set in both: + and ^ are | (no carry), so that
		 * (x << k) + (x >> (w - k)) is the rotate (x << k) | ... */
		if (!ca && !cb && !(maybe_bits(st, a, 0) & maybe_bits(st, b, 0) & wmask))
			return mk_op(st, SBPF_OR, w, 0, a, b);
		if (w == 64)
			return mk_add64(st, a, b);
		/* fall through */
	case SBPF_OR:
	case SBPF_XOR:
		if (is_const(st, b, &bv) && !bv)
			return w == 64 ? a : mk_mov32(st, a);
		if (op == SBPF_XOR && !ca && !cb && !(maybe_bits(st, a, 0) & maybe_bits(st, b, 0) & wmask))
			return mk_op(st, SBPF_OR, w, 0, a, b);
		break;
	case SBPF_SUB:
		if (is_const(st, b, &bv) && !bv)
			return w == 64 ? a : mk_mov32(st, a);
		if (w == 64 && is_const(st, b, &bv))
			return mk_add64(st, a, mk_const(st, 0 - bv));
		break;
	case SBPF_MUL:
		if (is_const(st, b, &bv) && bv == 1)
			return w == 64 ? a : mk_mov32(st, a);
		break;
	case SBPF_AND: {
		int c = is_const(st, a, &av) ? a : is_const(st, b, &bv) ? b : -1;
		int o = c == a ? b : a;
		if (c < 0)
			break;
		uint64_t m = st->node[c].k & wmask;
		if (m == wmask)
			return w == 64 ? o : mk_mov32(st, o);
		if (w == 64 && m == 0xffffffffull)
			return mk_mov32(st, o);
		/* (x >> s) & m where m keeps every bit the shift left: no-op */
		const struct ksym_node *sh = op_node(st, o, SBPF_RSH, w);
		uint64_t s;
		if (sh && is_const(st, sh->b, &s) && (m & (wmask >> s)) == (wmask >> s))
			return o;
		a = o;
		b = c;
		break;
	}
	case SBPF_RSH: {
		if (!is_const(st, b, &bv))
			break;
		/* (x & m) >> s where m keeps every bit the shift keeps: x >> s */
		const struct ksym_node *an = op_node(st, a, SBPF_AND, w);
		uint64_t m;
		if (an && is_const(st, an->b, &m) && ((m | ones((int)bv)) & wmask) == wmask)
			return mk_op(st, SBPF_RSH, w, 0, an->a, b);
		/* (x << l) >> r with r >= l: a field of x */
		const struct ksym_node *ln = op_node(st, a, SBPF_LSH, w);
		uint64_t l;
		if (ln && is_const(st, ln->b, &l) && bv >= l) {
			int inner = mk_op(st, SBPF_RSH, w, 0, ln->a, mk_const(st, bv - l));
			return mk_op(st, SBPF_AND, w, 0, inner, mk_const(st, wmask >> bv));
		}
		break;
	}
	default:
		break;
	}
	if ((op == SBPF_ADD || op == SBPF_MUL || op == SBPF_OR || op == SBPF_AND || op == SBPF_XOR) && a > b) {
		int t = a;
		a = b;
		b = t;
		/* keep a constant operand second */
		if (is_const(st, a, NULL)) {
			t = a;
			a = b;
			b = t;
		}
	}
	return raw_op(st, op, w, x, a, b);
}

/* ---- evaluation ----------------------------------------------------------- */

void kops_sym__start(struct ksym *st, const struct kops_regfacts *in)
{
	st->nnodes = 0;
	st->overflow = 0;
	for (int r = 0; r < SBPF_NREGS; r++) {
		if (in && (in->known & R(r))) {
			st->init[r] = mk_const(st, in->val[r]);
		} else {
			struct ksym_node nd = { .kind = KSYM_LEAF, .a = -1, .b = -1, .k = (uint64_t)r,
						.zext = (uint8_t)(in && (in->zext & R(r))) };
			st->init[r] = find_or_add(st, &nd);
		}
	}
	kops_sym__restart(st);
}

void kops_sym__restart(struct ksym *st)
{
	memcpy(st->reg, st->init, sizeof(st->reg));
	memset(st->contrib, 0, sizeof(st->contrib));
	st->written = 0;
}

int kops_sym__step(struct ksym *st, const struct sbpf_insn *insns, size_t n, size_t pc, int bit)
{
	const struct sbpf_insn *in = &insns[pc];
	const struct sbpf_op_info *f = sbpf_op_info(sbpf_decode(in));
	int d = in->dst_reg, s = in->src_reg;
	uint8_t cls = SBPF_CLASS(in->code), op = in->code & 0xf0;
	int w = cls == SBPF_ALU64 ? 64 : 32;
	uint32_t me = 1u << bit;
	int v = -1, slots = 1;
	uint32_t dep = me;
	if (st->overflow || d == SBPF_REG_FP || bit >= 32)
		return 0;
	st->load_base[bit] = -1;
	switch (f->fmt) {
	case SBPF_FMT_ALU_K:
		if (op == SBPF_MOV) {
			v = mk_const(st, w == 64 ? (uint64_t)(int64_t)in->imm : (uint32_t)in->imm);
		} else {
			uint8_t x = (op == SBPF_DIV || op == SBPF_MOD) && in->off == 1;
			v = mk_op(st, op, w, x, st->reg[d], mk_const(st, (uint64_t)(int64_t)in->imm));
			dep |= st->contrib[d];
		}
		break;
	case SBPF_FMT_ALU_X:
		if (op == SBPF_MOV) {
			v = mk_op(st, SBPF_MOV, w, 0, -1, st->reg[s]);
		} else {
			uint8_t x = (op == SBPF_DIV || op == SBPF_MOD) && in->off == 1;
			v = mk_op(st, op, w, x, st->reg[d], st->reg[s]);
			dep |= st->contrib[d];
		}
		dep |= st->contrib[s];
		break;
	case SBPF_FMT_MOVSX:
		v = mk_op(st, SBPF_MOV, w, (uint8_t)in->off, -1, st->reg[s]);
		dep |= st->contrib[s];
		break;
	case SBPF_FMT_NEG:
		v = mk_op(st, SBPF_NEG, w, 0, st->reg[d], -1);
		dep |= st->contrib[d];
		break;
	case SBPF_FMT_END: {
		uint8_t x = end_x(in);
		if (x == 64) /* le64: nothing happens */
			return 1;
		v = mk_op(st, SBPF_END, 64, x, st->reg[d], -1);
		dep |= st->contrib[d];
		break;
	}
	case SBPF_FMT_LDX: {
		static const uint8_t bytes[4] = { 4, 2, 1, 8 };
		struct ksym_node nd = { .kind = KSYM_LOAD, .w = bytes[(in->code >> 3) & 3], .a = st->reg[s], .b = -1,
					.k = (uint64_t)(int64_t)in->off, .sx = (in->code & 0xe0) == SBPF_MEMSX };
		nd.zext = nd.w < 8 && !nd.sx;
		v = find_or_add(st, &nd);
		dep |= st->contrib[s];
		st->load_base[bit] = nd.a;
		st->load_off[bit] = in->off;
		st->load_size[bit] = nd.w;
		break;
	}
	case SBPF_FMT_LDDW:
		if (in->src_reg || pc + 1 >= n)
			return 0;
		v = mk_const(st, (uint64_t)(uint32_t)in->imm | (uint64_t)(uint32_t)insns[pc + 1].imm << 32);
		slots = 2;
		break;
	default:
		return 0;
	}
	if (v < 0 || st->overflow)
		return 0;
	st->reg[d] = v;
	st->contrib[d] = dep;
	st->written |= R(d);
	return slots;
}

/* ---- addresses ------------------------------------------------------------ */

int kops_sym_base(const struct ksym *st, int n, int *reg, int64_t *off)
{
	const struct ksym_node *o = n >= 0 && n < st->nnodes ? &st->node[n] : NULL;
	uint64_t k;
	*off = 0;
	*reg = -1;
	if (o && o->kind == KSYM_LEAF) {
		*reg = (int)o->k;
		return 1;
	}
	if (o && o->kind == KSYM_OP && o->op == SBPF_ADD && o->w == 64 && is_const(st, o->b, &k) &&
	    o->a >= 0 && st->node[o->a].kind == KSYM_LEAF) {
		*reg = (int)st->node[o->a].k;
		*off = (int64_t)k;
		return 1;
	}
	return 0;
}

/* ---- comparisons ---------------------------------------------------------- */

int kops_sym__strip_const(const struct ksym *st, int n)
{
	const struct ksym_node *o = op_node(st, n, SBPF_ADD, 64);
	return o && is_const(st, o->b, NULL) ? o->a : n; /* canonical chains end with their constant */
}

int kops_sym__low32(struct ksym *st, int n)
{
	if (n < 0 || st->overflow)
		return -1;
	const struct ksym_node *nd = &st->node[n];
	uint64_t k;
	if (nd->kind == KSYM_CONST)
		return mk_const(st, nd->k & 0xffffffffull);
	if (nd->kind == KSYM_OP && nd->w == 32 && nd->op == SBPF_MOV && !nd->x)
		return kops_sym__low32(st, nd->b); /* low32(zero-extension of Y) = low32(Y) */
	if (nd->kind == KSYM_OP && nd->w == 64) {
		switch (nd->op) {
		case SBPF_ADD: case SBPF_SUB: case SBPF_MUL: case SBPF_OR: case SBPF_AND: case SBPF_XOR: {
			/* the low half of these depends only on the operands' low halves */
			uint8_t op = nd->op;
			int a = nd->a, b = nd->b;
			int la = kops_sym__low32(st, a), lb = kops_sym__low32(st, b);
			return mk_op(st, op, 32, 0, la, lb);
		}
		case SBPF_LSH:
			if (is_const(st, nd->b, &k)) {
				int a = nd->a;
				return k >= 32 ? mk_const(st, 0) : mk_op(st, SBPF_LSH, 32, 0, kops_sym__low32(st, a), nd->b);
			}
			break;
		case SBPF_RSH:
			if (is_const(st, nd->b, &k) && zext_of(st, nd->a) && k < 32) {
				int a = nd->a, b = nd->b;
				return mk_op(st, SBPF_RSH, 32, 0, kops_sym__low32(st, a), b);
			}
			break;
		case SBPF_NEG: {
			int a = nd->a;
			return mk_op(st, SBPF_NEG, 32, 0, kops_sym__low32(st, a), -1);
		}
		default:
			break;
		}
	}
	return mk_mov32(st, n);
}

/* Byte provenance (see kopsInt.h); @depth bounds the recursion. */
static int bytes_of(const struct ksym *st, int n, struct ksym_bytes *o, int depth)
{
	for (int i = 0; i < 8; i++)
		o->base[i] = -1, o->off[i] = 0;
	if (n < 0 || depth > 40)
		return -1;
	const struct ksym_node *nd = &st->node[n];
	struct ksym_bytes p, q;
	uint64_t k;
	switch (nd->kind) {
	case KSYM_CONST:
		return nd->k ? -1 : 0;
	case KSYM_LOAD: {
		if (nd->sx)
			return -1;
		/* (x + c) + off is x + (c + off): one address, one name */
		int base = nd->a;
		int64_t off = (int64_t)nd->k;
		const struct ksym_node *an = op_node(st, base, SBPF_ADD, 64);
		if (an && is_const(st, an->b, &k)) {
			base = an->a;
			off += (int64_t)k;
		}
		for (int i = 0; i < nd->w; i++)
			o->base[i] = base, o->off[i] = off + i;
		return 0;
	}
	case KSYM_OP:
		break;
	default:
		return -1;
	}
	int width = nd->w == 32 ? 4 : 8;
	switch (nd->op) {
	case SBPF_LSH:
	case SBPF_RSH:
		if (!is_const(st, nd->b, &k) || (k & 7) || bytes_of(st, nd->a, &p, depth + 1))
			return -1;
		k /= 8;
		for (int i = 0; i < width; i++) {
			int from = nd->op == SBPF_LSH ? i - (int)k : i + (int)k;
			if (from >= 0 && from < width)
				o->base[i] = p.base[from], o->off[i] = p.off[from];
		}
		return 0;
	case SBPF_OR:
	case SBPF_ADD: /* with no byte in both operands, + and ^ are | (no carry) */
	case SBPF_XOR:
		if (bytes_of(st, nd->a, &p, depth + 1) || bytes_of(st, nd->b, &q, depth + 1))
			return -1;
		for (int i = 0; i < width; i++) {
			if (p.base[i] >= 0 && q.base[i] >= 0)
				return -1;
			o->base[i] = p.base[i] >= 0 ? p.base[i] : q.base[i];
			o->off[i] = p.base[i] >= 0 ? p.off[i] : q.off[i];
		}
		return 0;
	case SBPF_AND:
		if (!is_const(st, nd->b, &k) || bytes_of(st, nd->a, &p, depth + 1))
			return -1;
		for (int i = 0; i < width; i++) {
			uint8_t m = (uint8_t)(k >> (8 * i));
			if (m != 0 && m != 0xff)
				return -1;
			if (m)
				o->base[i] = p.base[i], o->off[i] = p.off[i];
		}
		return 0;
	case SBPF_MOV:
		if (nd->x || bytes_of(st, nd->b, &p, depth + 1))
			return -1;
		for (int i = 0; i < width; i++)
			o->base[i] = p.base[i], o->off[i] = p.off[i];
		return 0;
	case SBPF_END: {
		int bytes = (nd->x & 0x7f) / 8;
		if (bytes_of(st, nd->a, &p, depth + 1))
			return -1;
		for (int i = 0; i < bytes; i++) {
			int from = nd->x & 0x80 ? bytes - 1 - i : i;
			o->base[i] = p.base[from], o->off[i] = p.off[from];
		}
		return 0;
	}
	default:
		return -1;
	}
}

int kops_sym__bytes(struct ksym *st, int n, struct ksym_bytes *out)
{
	return bytes_of(st, n, out, 0);
}

int kops_sym__same(struct ksym *st, int a, int b)
{
	if (a < 0 || b < 0 || st->overflow)
		return 0;
	if (a == b)
		return 1;
	if (st->node[a].zext && st->node[b].zext) {
		/* both upper halves are zero: the low halves decide */
		int la = kops_sym__low32(st, a), lb = kops_sym__low32(st, b);
		if (la >= 0 && la == lb && !st->overflow)
			return 1;
	}
	struct ksym_bytes p, q;
	if (bytes_of(st, a, &p, 0) || bytes_of(st, b, &q, 0))
		return 0;
	for (int i = 0; i < 8; i++)
		if (p.base[i] != q.base[i] || (p.base[i] >= 0 && p.off[i] != q.off[i]))
			return 0;
	return 1;
}

int kops_sym__same_low32(struct ksym *st, int a, int b)
{
	if (kops_sym__same(st, a, b))
		return 1;
	int la = kops_sym__low32(st, a), lb = kops_sym__low32(st, b);
	return la >= 0 && lb >= 0 && !st->overflow && la == lb;
}
