/* spec_sem.c - the specification of every Kops operation as Z3 terms: the
 * same definitions as the plain-C `spec` of src/kops/ops/<op>.c, written
 * over symbolic registers and memory so that "proof sequence == spec" can
 * be proven rather than sampled. Each function mirrors its C twin line by
 * line (same order of reads and writes), reads registers only through the
 * payload's fields, and is compared with the C spec on random concrete
 * inputs by tests/unit/test_prove.c.
 */
#include <errno.h>

#include "kops/ops/ops.h"
#include "prove/proveInt.h"

/* rotate.c spec: k = amount & (w-1) (right: (w-k) & (w-1)); dst = rotl(dst, k) */
static void rotate(struct prove_z3 *z, const struct sbpf_kops_payload *p, struct prove_state *s)
{
	Z3_context c = z->c;
	bool is32 = p->variant & KOPS_ROT_32, right = p->variant & KOPS_ROT_RIGHT;
	unsigned int w = is32 ? 32 : 64;
	Z3_ast amount = (p->variant & KOPS_ROT_REG) ? s->reg[p->a] : prove_bv(z, (uint64_t)p->imm, 64);
	Z3_ast k = prove_low(z, Z3_mk_bvand(c, amount, prove_bv(z, w - 1, 64)), w);
	Z3_ast wb = prove_bv(z, w, w), mask = prove_bv(z, w - 1, w);
	if (right)
		k = Z3_mk_bvand(c, Z3_mk_bvsub(c, wb, k), mask);
	Z3_ast x = prove_low(z, s->reg[p->dst], w);
	Z3_ast rot = Z3_mk_bvor(c, Z3_mk_bvshl(c, x, k), Z3_mk_bvlshr(c, x, Z3_mk_bvsub(c, wb, k)));
	s->reg[p->dst] = prove_zext(z, prove_ite(z, prove_eq(z, k, prove_bv(z, 0, w)), x, rot), 64);
}

/* select.c holds(): the jump condition on concrete operands */
static Z3_ast holds(struct prove_z3 *z, int cond, bool is32, Z3_ast x, Z3_ast y)
{
	Z3_context c = z->c;
	if (is32) {
		x = prove_low(z, x, 32);
		y = prove_low(z, y, 32);
	}
	switch (cond << 4) {
	case SBPF_JEQ:  return prove_eq(z, x, y);
	case SBPF_JNE:  return prove_not(z, prove_eq(z, x, y));
	case SBPF_JGT:  return Z3_mk_bvugt(c, x, y);
	case SBPF_JGE:  return Z3_mk_bvuge(c, x, y);
	case SBPF_JLT:  return Z3_mk_bvult(c, x, y);
	case SBPF_JLE:  return Z3_mk_bvule(c, x, y);
	case SBPF_JSET: return prove_not(z, prove_eq(z, Z3_mk_bvand(c, x, y), prove_bv(z, 0, prove_width(z, x))));
	case SBPF_JSGT: return Z3_mk_bvsgt(c, x, y);
	case SBPF_JSGE: return Z3_mk_bvsge(c, x, y);
	case SBPF_JSLT: return Z3_mk_bvslt(c, x, y);
	case SBPF_JSLE: return Z3_mk_bvsle(c, x, y);
	default:        return prove_false(z);
	}
}

/* select.c spec: if (a COND rhs) dst = mov32 ? (u32)c : c */
static void select_(struct prove_z3 *z, const struct sbpf_kops_payload *p, struct prove_state *s)
{
	Z3_ast rhs = p->variant & KOPS_SEL_RHS_REG ? s->reg[p->b] : prove_bv(z, (uint64_t)(int64_t)p->imm, 64);
	Z3_ast cond = holds(z, p->variant & KOPS_SEL_COND_MASK, p->variant & KOPS_SEL_CMP32, s->reg[p->a], rhs);
	Z3_ast v = p->variant & KOPS_SEL_MOV32 ? prove_zext(z, prove_low(z, s->reg[p->c], 32), 64) : s->reg[p->c];
	s->reg[p->dst] = prove_ite(z, cond, v, s->reg[p->dst]);
}

/* extract.c spec: dst = (x >> shift) & (2^len - 1), x = a (32-bit: (u32)a) */
static void extract(struct prove_z3 *z, const struct sbpf_kops_payload *p, struct prove_state *s)
{
	Z3_context c = z->c;
	unsigned int shift = p->imm & 0xff, len = (p->imm >> 8) & 0xff;
	Z3_ast x = p->variant & KOPS_EXT_32 ? prove_zext(z, prove_low(z, s->reg[p->a], 32), 64) : s->reg[p->a];
	uint64_t mask = len >= 64 ? ~0ull : (1ull << len) - 1;
	s->reg[p->dst] = Z3_mk_bvand(c, Z3_mk_bvlshr(c, x, prove_bv(z, shift, 64)), prove_bv(z, mask, 64));
}

/* bswap_load.c spec: dst = the 2/4/8 bytes at a + off, first byte most significant */
static void bswap_load(struct prove_z3 *z, const struct sbpf_kops_payload *p, struct prove_state *s)
{
	Z3_context c = z->c;
	Z3_ast addr = Z3_mk_bvadd(c, s->reg[p->a], prove_bv(z, (uint64_t)(int64_t)p->imm, 64));
	unsigned int nbytes = 2u << p->variant;
	Z3_ast v = prove_read_byte(z, s->mem, addr);
	for (unsigned int i = 1; i < nbytes; i++)
		v = Z3_mk_concat(c, v, prove_read_byte(z, s->mem, Z3_mk_bvadd(c, addr, prove_bv(z, i, 64))));
	s->reg[p->dst] = prove_zext(z, v, 64);
}

/* bulk_copy.c spec: 8/4/2/1-byte chunks copied in ascending order; the
 * scratch ends holding the last chunk (zero-extended). The stores are
 * recorded like the semantics' (memory comparison needs every address
 * written). */
static int bulk_copy(struct prove_z3 *z, const struct sbpf_kops_payload *p, struct prove_state *s)
{
	Z3_context c = z->c;
	int16_t soff = (int16_t)((uint32_t)p->imm & 0xffff), doff = (int16_t)((uint32_t)p->imm >> 16);
	Z3_ast last = prove_bv(z, 0, 64);
	for (int done = 0; done < p->variant;) {
		int left = p->variant - done;
		unsigned int k = left >= 8 ? 8 : left >= 4 ? 4 : left >= 2 ? 2 : 1;
		/* (base + off) + done, the constants folded */
		Z3_ast src = Z3_mk_bvadd(c, s->reg[p->a], prove_bv(z, (uint64_t)((int64_t)soff + done), 64));
		Z3_ast dst = Z3_mk_bvadd(c, s->reg[p->dst], prove_bv(z, (uint64_t)((int64_t)doff + done), 64));
		Z3_ast v = prove_load(z, s->mem, src, k);
		int rc = prove_state_access(s, dst, k, true); /* (for mem_equal) */
		if (rc)
			return rc;
		s->mem = prove_store(z, s->mem, dst, v, k);
		last = prove_zext(z, v, 64);
		done += (int)k;
	}
	s->reg[p->c] = last;
	return 0;
}

/* lea.c spec: index = b << s; (dst == a: c = index); dst = a + index + imm */
static void lea(struct prove_z3 *z, const struct sbpf_kops_payload *p, struct prove_state *s)
{
	Z3_context c = z->c;
	Z3_ast index = Z3_mk_bvshl(c, s->reg[p->b], prove_bv(z, p->variant, 64));
	if (p->dst == p->a)
		s->reg[p->c] = index;
	s->reg[p->dst] = Z3_mk_bvadd(c, Z3_mk_bvadd(c, s->reg[p->a], index),
				     prove_bv(z, (uint64_t)(int64_t)p->imm, 64));
}

/* popcount.c spec: dst = popcount(a), of its low 32 bits for the 32-bit shapes */
static void popcount(struct prove_z3 *z, const struct sbpf_kops_payload *p, struct prove_state *s)
{
	s->reg[p->dst] = p->variant & KOPS_POP_32 ? prove_zext(z, prove_popcount(z, prove_low(z, s->reg[p->a], 32)), 64)
						  : prove_popcount(z, s->reg[p->a]);
}

/* wide_load.c spec: dst = the 2/4/8 bytes at a + off, the first byte least
 * (little-endian) or most (big-endian) significant */
static void wide_load(struct prove_z3 *z, const struct sbpf_kops_payload *p, struct prove_state *s)
{
	Z3_context c = z->c;
	Z3_ast addr = Z3_mk_bvadd(c, s->reg[p->a], prove_bv(z, (uint64_t)(int64_t)p->imm, 64));
	unsigned int nbytes = 2u << (p->variant & KOPS_WIDE_SIZE);
	Z3_ast v = NULL;
	for (unsigned int i = 0; i < nbytes; i++) {
		Z3_ast byte = prove_read_byte(z, s->mem, i ? Z3_mk_bvadd(c, addr, prove_bv(z, i, 64)) : addr);
		v = !v ? byte : p->variant & KOPS_WIDE_BE ? Z3_mk_concat(c, v, byte) : Z3_mk_concat(c, byte, v);
	}
	s->reg[p->dst] = prove_zext(z, v, 64);
}

int prove_spec(struct prove_z3 *z, const struct sbpf_kops_payload *p, struct prove_state *st)
{
	switch (p->op) {
	case SBPF_KOPS_ROTATE:     rotate(z, p, st); return 0;
	case SBPF_KOPS_SELECT:     select_(z, p, st); return 0;
	case SBPF_KOPS_EXTRACT:    extract(z, p, st); return 0;
	case SBPF_KOPS_BSWAP_LOAD: bswap_load(z, p, st); return 0;
	case SBPF_KOPS_PREFETCH:   return 0; /* a hint: no architectural effect */
	case SBPF_KOPS_BULK_COPY:  return bulk_copy(z, p, st);
	case SBPF_KOPS_LEA:        lea(z, p, st); return 0;
	case SBPF_KOPS_POPCOUNT:   popcount(z, p, st); return 0;
	case SBPF_KOPS_WIDE_LOAD:  wide_load(z, p, st); return 0;
	default:                   return -EINVAL;
	}
}
