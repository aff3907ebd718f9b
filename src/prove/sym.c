/* sym.c - the Z3 context wrapper and the symbolic machine state shared by
 * the eBPF and x86-64 semantics: term helpers, state copy and merge at
 * control-flow joins, and the memory footprint. (Memory reads and writes:
 * mem.c.)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prove/proveInt.h"

/* Z3 reports errors through a handler (by default it would abort); the
 * count lets an obligation notice a term it built wrongly and refuse to
 * call itself proven. One prover runs per thread. */
static _Thread_local unsigned long z3_errors;

static void on_error(Z3_context c, Z3_error_code e)
{
	(void)c;
	(void)e;
	z3_errors++;
}

unsigned long prove_z3_errors(void)
{
	return z3_errors;
}

int prove_z3_init(struct prove_z3 *z)
{
	memset(z, 0, sizeof(*z));
	Z3_config cfg = Z3_mk_config();
	if (!cfg)
		return -ENOMEM;
	Z3_set_param_value(cfg, "model", "true");
	z->c = Z3_mk_context(cfg);
	Z3_del_config(cfg);
	if (!z->c)
		return -ENOMEM;
	Z3_set_error_handler(z->c, on_error);
	z->bool_s = Z3_mk_bool_sort(z->c);
	static const unsigned widths[] = { 1, 8, 16, 32, 64 };
	for (size_t i = 0; i < sizeof(widths) / sizeof(widths[0]); i++)
		z->bv[widths[i]] = Z3_mk_bv_sort(z->c, widths[i]);
	z->mem_s = Z3_mk_array_sort(z->c, z->bv[64], z->bv[8]);
	/* the plain SMT solver: building the default (tactic) solver costs
	 * milliseconds per query, more than solving these small ones */
	z->solver = Z3_mk_simple_solver(z->c);
	Z3_solver_inc_ref(z->c, z->solver);
	Z3_params prm = Z3_mk_params(z->c);
	Z3_params_inc_ref(z->c, prm);
	Z3_params_set_uint(z->c, prm, Z3_mk_string_symbol(z->c, "timeout"), 60000);
	Z3_solver_set_params(z->c, z->solver, prm);
	Z3_params_dec_ref(z->c, prm);
	return 0;
}

void prove_z3_fini(struct prove_z3 *z)
{
	prove_mem_reset(z);
	free(z->reads);
	z->reads = NULL;
	z->reads_cap = 0;
	if (z->solver)
		Z3_solver_dec_ref(z->c, z->solver);
	z->solver = NULL;
	if (z->c)
		Z3_del_context(z->c);
	z->c = NULL;
}

static Z3_sort bv_sort(struct prove_z3 *z, unsigned int bits)
{
	if (bits <= 64 && z->bv[bits])
		return z->bv[bits];
	return Z3_mk_bv_sort(z->c, bits);
}

Z3_ast prove_bv(struct prove_z3 *z, uint64_t v, unsigned int bits)
{
	if (bits < 64)
		v &= (1ull << bits) - 1;
	return Z3_mk_unsigned_int64(z->c, v, bv_sort(z, bits));
}

Z3_ast prove_var(struct prove_z3 *z, const char *name, unsigned int bits)
{
	Z3_sort s = bits ? bv_sort(z, bits) : z->bool_s;
	return Z3_mk_const(z->c, Z3_mk_string_symbol(z->c, name), s);
}

Z3_ast prove_fresh(struct prove_z3 *z, const char *what, unsigned int bits)
{
	char name[64];
	snprintf(name, sizeof(name), "undef_%s_%u", what, z->fresh++);
	return prove_var(z, name, bits);
}

Z3_ast prove_true(struct prove_z3 *z) { return Z3_mk_true(z->c); }
Z3_ast prove_false(struct prove_z3 *z) { return Z3_mk_false(z->c); }

Z3_ast prove_and2(struct prove_z3 *z, Z3_ast a, Z3_ast b)
{
	Z3_ast args[2] = { a, b };
	return Z3_mk_and(z->c, 2, args);
}

Z3_ast prove_or2(struct prove_z3 *z, Z3_ast a, Z3_ast b)
{
	Z3_ast args[2] = { a, b };
	return Z3_mk_or(z->c, 2, args);
}

Z3_ast prove_not(struct prove_z3 *z, Z3_ast a) { return Z3_mk_not(z->c, a); }
Z3_ast prove_eq(struct prove_z3 *z, Z3_ast a, Z3_ast b)
{
	return a == b ? Z3_mk_true(z->c) : Z3_mk_eq(z->c, a, b); /* the same term (hash-consed) */
}

Z3_ast prove_ite(struct prove_z3 *z, Z3_ast c, Z3_ast t, Z3_ast e)
{
	return t == e ? t : Z3_mk_ite(z->c, c, t, e);
}

unsigned int prove_width(struct prove_z3 *z, Z3_ast t)
{
	return Z3_get_bv_sort_size(z->c, Z3_get_sort(z->c, t));
}

Z3_decl_kind prove_kind(struct prove_z3 *z, Z3_ast t)
{
	if (Z3_get_ast_kind(z->c, t) != Z3_APP_AST)
		return Z3_OP_UNINTERPRETED;
	return Z3_get_decl_kind(z->c, Z3_get_app_decl(z->c, Z3_to_app(z->c, t)));
}

Z3_ast prove_arg(struct prove_z3 *z, Z3_ast t, unsigned int i)
{
	return Z3_get_app_arg(z->c, Z3_to_app(z->c, t), i);
}

unsigned int prove_nargs(struct prove_z3 *z, Z3_ast t)
{
	return Z3_get_ast_kind(z->c, t) == Z3_APP_AST ? Z3_get_app_num_args(z->c, Z3_to_app(z->c, t)) : 0;
}

/* Low @bits of @t. Taking back exactly the part a zero extension or a
 * concatenation put there returns that part itself (the same term the
 * other semantics builds, so equal values stay syntactically equal). */
Z3_ast prove_low(struct prove_z3 *z, Z3_ast t, unsigned int bits)
{
	if (prove_width(z, t) == bits)
		return t;
	Z3_decl_kind k = prove_kind(z, t);
	if (k == Z3_OP_ZERO_EXT || k == Z3_OP_SIGN_EXT || k == Z3_OP_CONCAT) {
		Z3_ast inner = prove_arg(z, t, k == Z3_OP_CONCAT ? prove_nargs(z, t) - 1 : 0);
		unsigned int w = prove_width(z, inner);
		if (w == bits)
			return inner;
		if (w > bits)
			return prove_low(z, inner, bits);
	}
	return Z3_mk_extract(z->c, bits - 1, 0, t);
}

Z3_ast prove_zext(struct prove_z3 *z, Z3_ast t, unsigned int bits)
{
	unsigned int w = prove_width(z, t);
	return w == bits ? t : w > bits ? prove_low(z, t, bits) : Z3_mk_zero_ext(z->c, bits - w, t);
}

Z3_ast prove_sext(struct prove_z3 *z, Z3_ast t, unsigned int bits)
{
	unsigned int w = prove_width(z, t);
	return w == bits ? t : w > bits ? prove_low(z, t, bits) : Z3_mk_sign_ext(z->c, bits - w, t);
}

Z3_ast prove_bit(struct prove_z3 *z, Z3_ast t, unsigned int i)
{
	return prove_eq(z, Z3_mk_extract(z->c, i, i, t), prove_bv(z, 1, 1));
}

Z3_ast prove_bswap(struct prove_z3 *z, Z3_ast t)
{
	unsigned int w = prove_width(z, t);
	Z3_ast r = Z3_mk_extract(z->c, 7, 0, t);
	for (unsigned int i = 1; i < w / 8; i++) /* low byte becomes the most significant */
		r = Z3_mk_concat(z->c, r, Z3_mk_extract(z->c, 8 * i + 7, 8 * i, t));
	return r;
}

Z3_ast prove_mul(struct prove_z3 *z, Z3_ast d, Z3_ast s)
{
	Z3_context c = z->c;
	unsigned int bits = prove_width(z, d);
	uint64_t k;
	if (!Z3_is_numeral_ast(c, s) || !Z3_get_numeral_uint64(c, s, &k) || !k || __builtin_popcountll(k) > 8)
		return Z3_mk_bvmul(c, d, s);
	Z3_ast sum = NULL;
	for (unsigned int i = 0; i < bits; i++)
		if (k >> i & 1) {
			Z3_ast t = i ? Z3_mk_bvshl(c, d, prove_bv(z, i, bits)) : d;
			sum = sum ? Z3_mk_bvadd(c, sum, t) : t;
		}
	return sum;
}

/* A balanced tree of 8-bit adds over the @n 8-bit terms of @v (overwritten). */
static Z3_ast sum8(struct prove_z3 *z, Z3_ast *v, unsigned int n)
{
	while (n > 1) {
		unsigned int m = 0;
		for (unsigned int i = 0; i + 1 < n; i += 2)
			v[m++] = Z3_mk_bvadd(z->c, v[i], v[i + 1]);
		if (n & 1)
			v[m++] = v[n - 1];
		n = m;
	}
	return v[0];
}

/* The number of ones of byte @i of @t, 8 bits wide: the sum of its bits. */
static Z3_ast byte_ones(struct prove_z3 *z, Z3_ast t, unsigned int i)
{
	Z3_ast v[8];
	for (unsigned int k = 0; k < 8; k++)
		v[k] = prove_zext(z, Z3_mk_extract(z->c, 8 * i + k, 8 * i + k, t), 8);
	return sum8(z, v, 8);
}

/* Byte @i of @t. */
static Z3_ast byte_of(struct prove_z3 *z, Z3_ast t, unsigned int i)
{
	return Z3_mk_extract(z->c, 8 * i + 7, 8 * i, t);
}

/* The definition: the number of ones in @t, the sum over its bytes of
 * the sum of each byte's bits (8-bit adds: a count fits 7 bits),
 * zero-extended to @t's width. */
static Z3_ast bitsum(struct prove_z3 *z, Z3_ast t)
{
	unsigned int w = prove_width(z, t);
	Z3_ast v[8];
	for (unsigned int i = 0; i < w / 8; i++)
		v[i] = byte_ones(z, t, i);
	Z3_ast r = sum8(z, v, w / 8);
	return w == 8 ? r : prove_zext(z, r, w);
}

/* The first three steps of the SWAR count of a 32- or 64-bit @x,
 * operation for operation the ones clang emits for
 * __builtin_popcount(ll) (src/kops/ops/popcount.c): pairs, nibbles, bytes. */
static Z3_ast swar_bytes(struct prove_z3 *z, Z3_ast x, unsigned int w)
{
	Z3_context c = z->c;
	uint64_t m = w == 64 ? ~0ull : 0xffffffffull;
#define K(v) prove_bv(z, (v) & m, w)
	Z3_ast y = Z3_mk_bvsub(c, x, Z3_mk_bvand(c, Z3_mk_bvlshr(c, x, K(1)), K(0x5555555555555555ull)));
	Z3_ast q = Z3_mk_bvadd(c, Z3_mk_bvand(c, y, K(0x3333333333333333ull)),
			       Z3_mk_bvand(c, Z3_mk_bvlshr(c, y, K(2)), K(0x3333333333333333ull)));
	return Z3_mk_bvand(c, Z3_mk_bvadd(c, q, Z3_mk_bvlshr(c, q, K(4))), K(0x0f0f0f0f0f0f0f0full));
}

/* Its last step: the byte sum, a multiply by 0x0101..01 and a shift. */
static Z3_ast swar_sum(struct prove_z3 *z, Z3_ast b, unsigned int w)
{
	uint64_t m = w == 64 ? ~0ull : 0xffffffffull;
	return Z3_mk_bvlshr(z->c, prove_mul(z, b, K(0x0101010101010101ull)), K(w - 8));
#undef K
}

/* 1 when @claim holds under @hyp (NULL: none) for every value of its
 * variables, on a solver of its own (the obligation's is in use). */
static int valid(struct prove_z3 *z, Z3_ast hyp, Z3_ast claim)
{
	Z3_context c = z->c;
	Z3_solver s = Z3_mk_simple_solver(c);
	Z3_solver_inc_ref(c, s);
	if (hyp)
		Z3_solver_assert(c, s, hyp);
	Z3_solver_assert(c, s, Z3_mk_not(c, claim));
	int ok = Z3_solver_check(c, s) == Z3_L_FALSE;
	Z3_solver_dec_ref(c, s);
	return ok;
}

/* Proves swar_sum(swar_bytes(x)) == bitsum(x) for every @w-bit x, in two
 * lemmas that SAT decides quickly (the whole at once takes minutes for 64
 * bits):
 *   1. byte i of swar_bytes(x) == byte_ones(x, i), for every i;
 *   2. swar_sum(B) == the sum of B's bytes, for every B whose bytes are
 *      at most 8.
 * By 1 the bytes of swar_bytes(x) are byte counts (at most 8), so 2
 * applies to B = swar_bytes(x), and the sum of the byte counts is bitsum(x)
 * (the same sum8 tree over the same terms). 1 when both are proven. */
static int swar_lemma(struct prove_z3 *z, unsigned int w)
{
	Z3_context c = z->c;
	unsigned int n = w / 8;
	Z3_ast x = prove_fresh(z, "popcount_x", w), b = prove_fresh(z, "popcount_b", w);
	Z3_ast sb = swar_bytes(z, x, w), eq[8], le[8], v[8];
	for (unsigned int i = 0; i < n; i++) {
		eq[i] = prove_eq(z, byte_of(z, sb, i), byte_ones(z, x, i));
		le[i] = Z3_mk_bvule(c, byte_of(z, b, i), prove_bv(z, 8, 8));
		v[i] = byte_of(z, b, i);
	}
	Z3_ast bytesum = prove_zext(z, sum8(z, v, n), w);
	return valid(z, NULL, Z3_mk_and(c, n, eq)) &&
	       valid(z, Z3_mk_and(c, n, le), prove_eq(z, swar_sum(z, b, w), bytesum));
}

/* The number of ones in @t, a term of @t's width. For 32 and 64 bits the
 * term is the SWAR count, which Z3 decides quickly against the SWAR proof
 * sequences, once the lemma swar == bitsum (the definition) is proven in
 * this context (once per width; a failed lemma counts as a Z3 error, which
 * fails every obligation using it). Other widths: the definition. */
Z3_ast prove_popcount(struct prove_z3 *z, Z3_ast t)
{
	unsigned int w = prove_width(z, t);
	if (w != 32 && w != 64)
		return bitsum(z, t);
	int *lemma = &z->popcount_lemma[w == 64];
	if (!*lemma)
		*lemma = swar_lemma(z, w) ? 1 : -1;
	if (*lemma < 0)
		z3_errors++;
	return swar_sum(z, swar_bytes(z, t, w), w);
}

/* ---- state ---------------------------------------------------------------- */

int prove_state_copy(struct prove_state *dst, const struct prove_state *src)
{
	*dst = *src;
	dst->acc = NULL;
	dst->cap = dst->nacc = 0;
	if (src->nacc) {
		dst->acc = malloc(src->nacc * sizeof(*dst->acc));
		if (!dst->acc)
			return -ENOMEM;
		memcpy(dst->acc, src->acc, src->nacc * sizeof(*dst->acc));
		dst->nacc = dst->cap = src->nacc;
	}
	return 0;
}

void prove_state_free(struct prove_state *s)
{
	free(s->acc);
	s->acc = NULL;
	s->nacc = s->cap = 0;
}

int prove_state_access(struct prove_state *s, Z3_ast addr, unsigned int size, bool write)
{
	if (s->nacc == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 16;
		struct prove_access *a = realloc(s->acc, cap * sizeof(*a));
		if (!a)
			return -ENOMEM;
		s->acc = a;
		s->cap = cap;
	}
	s->acc[s->nacc++] = (struct prove_access){ s->path, addr, (uint16_t)size, write };
	return 0;
}

int prove_state_merge(struct prove_z3 *z, struct prove_state *into, const struct prove_state *from)
{
	Z3_ast c = from->path;
	for (int i = 0; i < PROVE_NREGS; i++)
		if (into->reg[i])
			into->reg[i] = prove_ite(z, c, from->reg[i], into->reg[i]);
	for (int i = 0; i < PF__N; i++)
		if (into->flag[i])
			into->flag[i] = prove_ite(z, c, from->flag[i], into->flag[i]);
	for (int i = 0; i < 16; i++)
		if (into->xmm[i])
			into->xmm[i] = prove_ite(z, c, from->xmm[i], into->xmm[i]);
	into->mem = prove_ite(z, c, from->mem, into->mem);
	into->path = prove_or2(z, into->path, from->path);
	/* Both paths copied a common prefix of accesses; keep it once. */
	size_t common = 0;
	while (common < into->nacc && common < from->nacc &&
	       !memcmp(&into->acc[common], &from->acc[common], sizeof(*into->acc)))
		common++;
	for (size_t i = common; i < from->nacc; i++) {
		struct prove_access a = from->acc[i];
		Z3_ast save = into->path;
		into->path = a.guard;
		int rc = prove_state_access(into, a.addr, a.size, a.write);
		into->path = save;
		if (rc)
			return rc;
	}
	return 0;
}

int prove_state_flow(struct prove_z3 *z, struct prove_state *pend, bool *has, size_t target, struct prove_state *s)
{
	if (!has[target]) {
		pend[target] = *s;
		has[target] = true;
		return 0;
	}
	int rc = prove_state_merge(z, &pend[target], s);
	prove_state_free(s);
	return rc;
}
