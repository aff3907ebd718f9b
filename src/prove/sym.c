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
