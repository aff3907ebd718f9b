/* mem.c - symbolic memory shared by the eBPF and x86-64 semantics: one
 * byte-addressed little-endian memory, a Z3 array term built by stores
 * (and if-then-else where paths merge) over the initial memory.
 *
 * Reads resolve reads-over-writes here, exactly as the array axioms say
 * (select(store(m, i, v), a) = a == i ? v : select(m, a)), but with the
 * address comparisons decided where they can be: an address is a base term
 * plus a constant offset, so two addresses on the same base are equal or
 * different by their offsets. Addresses on two different base registers
 * can alias; an obligation with exactly one such pair (x, y) is built with
 * y's initial value written as x + d for a fresh d (a bijective change of
 * variables, see obligation.c), and then every aliasing question is
 * "d == constant". A read is then a *chain*: if-then-else on d == c over
 * distinct constants, sorted, each value specialized to its d, ending in
 * the value for every other d. Because the conditions exclude each other,
 * the order does not change the value; because it is canonical, two
 * programs that compute the same bytes build the same terms, and the
 * solver is left with little or nothing. Reads of the initial memory are
 * byte variables, one per address (obligation.c reconciles variables whose
 * addresses turn out equal).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prove/proveInt.h"

/* ---- addresses ------------------------------------------------------------- */

static Z3_ast addr_plus(struct prove_z3 *z, Z3_ast addr, unsigned int i)
{
	return i ? Z3_mk_bvadd(z->c, addr, prove_bv(z, i, 64)) : addr;
}

static bool numeral(struct prove_z3 *z, Z3_ast t, uint64_t *v)
{
	return Z3_get_ast_kind(z->c, t) == Z3_NUMERAL_AST && Z3_get_numeral_uint64(z->c, t, v);
}

/* addr_split() results by term, per obligation (the same addresses are
 * split again for every read through every store). */
struct prove_split_cache {
	struct { Z3_ast a, base; uint64_t off; } *e; /* open addressing; a NULL = free */
	size_t cap, n;
};

static size_t split_slot(struct prove_z3 *z, const struct prove_split_cache *sc, Z3_ast a)
{
	size_t i = (size_t)Z3_get_ast_id(z->c, a) * 0x9e3779b97f4a7c15ull % sc->cap;
	while (sc->e[i].a && sc->e[i].a != a)
		i = (i + 1) % sc->cap;
	return i;
}

static void split_uncached(struct prove_z3 *z, Z3_ast a, Z3_ast *base, uint64_t *off);

/* @a as base + constant offset (base NULL for a numeral). */
static void addr_split(struct prove_z3 *z, Z3_ast a, Z3_ast *base, uint64_t *off)
{
	struct prove_split_cache *sc = z->split_cache;
	if (!sc && (sc = calloc(1, sizeof(*sc))) && !(sc->e = calloc(sc->cap = 1024, sizeof(*sc->e)))) {
		free(sc);
		sc = NULL;
	}
	z->split_cache = sc;
	if (!sc) {
		split_uncached(z, a, base, off);
		return;
	}
	size_t i = split_slot(z, sc, a);
	if (sc->e[i].a) {
		*base = sc->e[i].base;
		*off = sc->e[i].off;
		return;
	}
	split_uncached(z, a, base, off);
	if (2 * (sc->n + 1) > sc->cap) {
		struct prove_split_cache big = { calloc(2 * sc->cap, sizeof(*sc->e)), 2 * sc->cap, sc->n };
		if (!big.e)
			return; /* not cached */
		for (size_t k = 0; k < sc->cap; k++)
			if (sc->e[k].a)
				big.e[split_slot(z, &big, sc->e[k].a)] = sc->e[k];
		free(sc->e);
		*sc = big;
		i = split_slot(z, sc, a);
	}
	sc->e[i].a = a;
	sc->e[i].base = *base;
	sc->e[i].off = *off;
	sc->n++;
}

void prove_addr_split(struct prove_z3 *z, Z3_ast a, Z3_ast *base, uint64_t *off)
{
	addr_split(z, a, base, off);
}

static void split_uncached(struct prove_z3 *z, Z3_ast a, Z3_ast *base, uint64_t *off)
{
	uint64_t v;
	*off = 0;
	for (;;) {
		if (numeral(z, a, &v)) {
			*off += v;
			*base = NULL;
			return;
		}
		if (prove_kind(z, a) != Z3_OP_BADD || prove_nargs(z, a) != 2)
			break;
		Z3_ast l = prove_arg(z, a, 0), r = prove_arg(z, a, 1);
		if (numeral(z, r, &v)) {
			*off += v;
			a = l;
		} else if (numeral(z, l, &v)) {
			*off += v;
			a = r;
		} else {
			break;
		}
	}
	*base = a;
}

/* @base as root + e * d (e 0 or 1) for the obligation's difference d. */
static int delta_of(struct prove_z3 *z, Z3_ast base, Z3_ast *root)
{
	*root = base;
	if (!z->delta || !base || prove_kind(z, base) != Z3_OP_BADD || prove_nargs(z, base) != 2)
		return 0;
	Z3_ast l = prove_arg(z, base, 0), r = prove_arg(z, base, 1);
	if (r == z->delta) {
		*root = l;
		return 1;
	}
	if (l == z->delta) {
		*root = r;
		return 1;
	}
	return 0;
}

static bool is_variable(struct prove_z3 *z, Z3_ast t)
{
	return prove_nargs(z, t) == 0 && Z3_get_ast_kind(z->c, t) == Z3_APP_AST &&
	       prove_kind(z, t) == Z3_OP_UNINTERPRETED;
}

/* Records that addresses on bases @x and @y were compared (obligation.c
 * decides from it whether to rebuild with y = x + d). */
static void note_alias(struct prove_z3 *z, Z3_ast x, Z3_ast y)
{
	if (!x || !y || !is_variable(z, x) || !is_variable(z, y)) {
		z->alias_many = true;
		return;
	}
	if (!z->alias_x) {
		z->alias_x = x;
		z->alias_y = y;
	} else if (!((z->alias_x == x && z->alias_y == y) || (z->alias_x == y && z->alias_y == x))) {
		z->alias_many = true;
	}
}

/* Compares addresses @a and @b: 1 equal, 0 different, 2 equal exactly
 * when d == *c, -1 unknown. */
static int addr_cmp(struct prove_z3 *z, Z3_ast a, Z3_ast b, uint64_t *c)
{
	if (a == b)
		return 1;
	Z3_ast ba, bb, ra, rb;
	uint64_t oa, ob;
	addr_split(z, a, &ba, &oa);
	addr_split(z, b, &bb, &ob);
	if (ba == bb)
		return oa == ob;
	int ea = delta_of(z, ba, &ra), eb = delta_of(z, bb, &rb);
	if (ra && ra == rb && ea != eb) {
		/* ra + ea*d + oa == ra + eb*d + ob */
		*c = ea ? ob - oa : oa - ob;
		return 2;
	}
	note_alias(z, ba, bb);
	return -1;
}

/* ---- chains ------------------------------------------------------------------ */

/* A read value as a case map on d: sorted distinct constants, values, and
 * the value for every other d. */
struct chain {
	uint64_t *c;        /* constants, ascending */
	Z3_ast *v;          /* values */
	size_t n, cap;
	Z3_ast def;         /* value when d is none of c */
};

static void chain_free(struct chain *ch)
{
	free(ch->c);
	free(ch->v);
	memset(ch, 0, sizeof(*ch));
}

/* Appends (c, v); constants must come ascending. */
static int chain_push(struct chain *ch, uint64_t c, Z3_ast v)
{
	if (ch->n == ch->cap) {
		size_t cap = ch->cap ? 2 * ch->cap : 16;
		uint64_t *nc = realloc(ch->c, cap * sizeof(*nc));
		if (!nc)
			return -ENOMEM;
		ch->c = nc;
		Z3_ast *nv = realloc(ch->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		ch->v = nv;
		ch->cap = cap;
	}
	ch->c[ch->n] = c;
	ch->v[ch->n++] = v;
	return 0;
}

/* The conditions d == c of chains, by c, per obligation (numerals are
 * slow to make, and every chain repeats them). */
#define ATOM_SLOTS 4096
struct prove_atom_cache {
	struct { uint64_t c; Z3_ast t; } e[ATOM_SLOTS]; /* open addressing; t NULL = free */
};

static Z3_ast is_d(struct prove_z3 *z, uint64_t c)
{
	if (!z->atom_cache)
		z->atom_cache = calloc(1, sizeof(*z->atom_cache));
	struct prove_atom_cache *ac = z->atom_cache;
	size_t h = (size_t)(c * 0x9e3779b97f4a7c15ull >> 20) % ATOM_SLOTS;
	for (size_t k = 0; ac && k < 32; k++) {
		size_t i = (h + k) % ATOM_SLOTS;
		if (ac->e[i].t && ac->e[i].c == c)
			return ac->e[i].t;
		if (!ac->e[i].t) {
			ac->e[i].c = c;
			return ac->e[i].t = prove_eq(z, z->delta, prove_bv(z, c, 64));
		}
	}
	return prove_eq(z, z->delta, prove_bv(z, c, 64));
}

/* Reads chain term @t into @ch (a term that is no chain: no entries). */
static int chain_parse(struct prove_z3 *z, Z3_ast t, struct chain *ch)
{
	memset(ch, 0, sizeof(*ch));
	while (z->delta && prove_kind(z, t) == Z3_OP_ITE) {
		Z3_ast cond = prove_arg(z, t, 0);
		uint64_t c;
		if (prove_kind(z, cond) != Z3_OP_EQ || prove_arg(z, cond, 0) != z->delta ||
		    !numeral(z, prove_arg(z, cond, 1), &c) || (ch->n && c <= ch->c[ch->n - 1]))
			break;
		if (chain_push(ch, c, prove_arg(z, t, 1)))
			return -ENOMEM;
		t = prove_arg(z, t, 2);
	}
	ch->def = t;
	return 0;
}

/* Parsed chains by term, per obligation (a chain is read again for every
 * byte that reads through it). */
struct prove_chain_cache {
	struct { Z3_ast t; struct chain ch; } *e; /* open addressing; t NULL = free */
	size_t cap, n;
};

static void chain_cache_free(struct prove_z3 *z)
{
	struct prove_chain_cache *cc = z->chain_cache;
	if (!cc)
		return;
	for (size_t i = 0; i < cc->cap; i++)
		if (cc->e[i].t)
			chain_free(&cc->e[i].ch);
	free(cc->e);
	free(cc);
	z->chain_cache = NULL;
}

static size_t chain_slot(struct prove_z3 *z, struct prove_chain_cache *cc, Z3_ast t)
{
	size_t i = (size_t)Z3_get_ast_id(z->c, t) * 0x9e3779b97f4a7c15ull % cc->cap;
	while (cc->e[i].t && cc->e[i].t != t)
		i = (i + 1) % cc->cap;
	return i;
}

/* @t parsed (cached); NULL when out of memory. */
static const struct chain *chain_get(struct prove_z3 *z, Z3_ast t)
{
	struct prove_chain_cache *cc = z->chain_cache;
	if (!cc) {
		if (!(cc = calloc(1, sizeof(*cc))) || !(cc->e = calloc(cc->cap = 1024, sizeof(*cc->e)))) {
			free(cc);
			return NULL;
		}
		z->chain_cache = cc;
	}
	size_t i = chain_slot(z, cc, t);
	if (cc->e[i].t)
		return &cc->e[i].ch;
	if (2 * (cc->n + 1) > cc->cap) { /* grow */
		struct prove_chain_cache big = { calloc(2 * cc->cap, sizeof(*cc->e)), 2 * cc->cap, cc->n };
		if (!big.e)
			return NULL;
		for (size_t k = 0; k < cc->cap; k++)
			if (cc->e[k].t)
				big.e[chain_slot(z, &big, cc->e[k].t)] = cc->e[k];
		free(cc->e);
		*cc = big;
		i = chain_slot(z, cc, t);
	}
	if (chain_parse(z, t, &cc->e[i].ch)) {
		chain_free(&cc->e[i].ch);
		return NULL;
	}
	cc->e[i].t = t;
	cc->n++;
	return &cc->e[i].ch;
}

/* The entry of @ch for @c, or NULL. */
static Z3_ast chain_find(const struct chain *ch, uint64_t c)
{
	size_t lo = 0, hi = ch->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (ch->c[mid] == c)
			return ch->v[mid];
		if (ch->c[mid] < c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The term of @ch: if-then-else from the largest constant inwards. */
static Z3_ast chain_term(struct prove_z3 *z, const struct chain *ch)
{
	Z3_ast t = ch->def;
	for (size_t i = ch->n; i-- > 0;)
		t = prove_ite(z, is_d(z, ch->c[i]), ch->v[i], t);
	return t;
}

/* Results of specialize() by substitution, per obligation: the same guard
 * is evaluated at the same constants for every byte read. */
#define SPEC_SLOTS 8192
struct prove_spec_cache {
	struct { Z3_ast v; uint64_t c; Z3_ast r; } e[SPEC_SLOTS]; /* open addressing, v NULL = free */
};

static Z3_ast spec_lookup(struct prove_z3 *z, Z3_ast v, uint64_t c, Z3_ast r)
{
	if (!z->spec_cache && !(z->spec_cache = calloc(1, sizeof(*z->spec_cache))))
		return r;
	size_t h = ((size_t)Z3_get_ast_id(z->c, v) * 0x9e3779b97f4a7c15ull ^ c * 0xbf58476d1ce4e5b9ull) % SPEC_SLOTS;
	for (size_t k = 0; k < 16; k++) {
		size_t i = (h + k) % SPEC_SLOTS;
		if (z->spec_cache->e[i].v == v && z->spec_cache->e[i].c == c)
			return z->spec_cache->e[i].r;
		if (!z->spec_cache->e[i].v) {
			if (r) /* insert */
				z->spec_cache->e[i].v = v, z->spec_cache->e[i].c = c, z->spec_cache->e[i].r = r;
			return r;
		}
	}
	return r; /* full around here: not cached */
}

/* The value of @v when d == @c. */
static Z3_ast specialize(struct prove_z3 *z, Z3_ast v, uint64_t c)
{
	if (!z->delta || prove_nargs(z, v) == 0)
		return v; /* variables and numerals */
	if (prove_kind(z, v) == Z3_OP_ITE) {
		const struct chain *ch = chain_get(z, v);
		if (!ch) {
			z->reads_err = -ENOMEM;
			return v;
		}
		if (ch->n) {
			Z3_ast r = chain_find(ch, c);
			return r ? r : specialize(z, ch->def, c);
		}
	}
	Z3_ast r = spec_lookup(z, v, c, NULL);
	if (r)
		return r;
	Z3_ast to = prove_bv(z, c, 64);
	r = Z3_simplify(z->c, Z3_substitute(z->c, v, 1, &z->delta, &to));
	return spec_lookup(z, v, c, r);
}

/* @top (entries found above, taking precedence) over the value @below
 * (a chain or not) for every other d. */
static Z3_ast overlay(struct prove_z3 *z, struct chain *top, Z3_ast below)
{
	if (!top->n)
		return below;
	struct chain out = { 0 };
	const struct chain *lo = chain_get(z, below);
	if (!lo) {
		z->reads_err = -ENOMEM;
		return below;
	}
	size_t i = 0, j = 0;
	int rc = 0;
	while (!rc && (i < top->n || j < lo->n)) {
		if (j == lo->n || (i < top->n && top->c[i] < lo->c[j]))
			rc = chain_push(&out, top->c[i], top->v[i]), i++;
		else if (i == top->n || lo->c[j] < top->c[i])
			rc = chain_push(&out, lo->c[j], lo->v[j]), j++;
		else
			rc = chain_push(&out, top->c[i], top->v[i]), i++, j++;
	}
	out.def = lo->def;
	Z3_ast t = rc ? below : chain_term(z, &out);
	if (rc)
		z->reads_err = -ENOMEM;
	chain_free(&out);
	return t;
}

/* The value of ite(@g, @r1, @r2) as one chain: for each constant of
 * either, the guard evaluated at that d. */
static Z3_ast merge(struct prove_z3 *z, Z3_ast g, Z3_ast r1, Z3_ast r2)
{
	if (r1 == r2)
		return r1;
	struct chain out = { 0 };
	const struct chain *a = z->delta ? chain_get(z, r1) : NULL, *b = a ? chain_get(z, r2) : NULL;
	if (!a || !b) {
		if (z->delta)
			z->reads_err = -ENOMEM;
		return prove_ite(z, g, r1, r2);
	}
	size_t i = 0, j = 0;
	int rc = 0;
	while (!rc && (i < a->n || j < b->n)) {
		uint64_t c = j == b->n || (i < a->n && a->c[i] <= b->c[j]) ? a->c[i] : b->c[j];
		Z3_ast v1 = i < a->n && a->c[i] == c ? a->v[i++] : specialize(z, a->def, c);
		Z3_ast v2 = j < b->n && b->c[j] == c ? b->v[j++] : specialize(z, b->def, c);
		Z3_ast gc = specialize(z, g, c);
		Z3_lbool k = Z3_get_bool_value(z->c, gc);
		rc = chain_push(&out, c, k == Z3_L_TRUE ? v1 : k == Z3_L_FALSE ? v2 : prove_ite(z, gc, v1, v2));
	}
	out.def = prove_ite(z, g, a->def, b->def);
	Z3_ast t = rc ? prove_ite(z, g, r1, r2) : chain_term(z, &out);
	if (rc)
		z->reads_err = -ENOMEM;
	chain_free(&out);
	return t;
}

/* ---- initial memory ------------------------------------------------------------ */

/* The variable for the initial memory's byte at @a: one per address
 * (base + constant offset), so that the same address read twice, however
 * its term was built, is the same byte. */
static Z3_ast initial_byte(struct prove_z3 *z, Z3_ast a)
{
	Z3_ast base;
	uint64_t off;
	addr_split(z, a, &base, &off);
	for (size_t i = 0; i < z->nreads; i++)
		if (z->reads[i].base == base && z->reads[i].off == off)
			return z->reads[i].var;
	if (z->nreads == z->reads_cap) {
		size_t cap = z->reads_cap ? 2 * z->reads_cap : 64;
		struct prove_read *v = realloc(z->reads, cap * sizeof(*v));
		if (!v) {
			z->reads_err = -ENOMEM;
			return Z3_mk_select(z->c, z->mem0, a);
		}
		z->reads = v;
		z->reads_cap = cap;
	}
	char name[32];
	snprintf(name, sizeof(name), "mem_%zu", z->nreads);
	Z3_ast var = prove_var(z, name, 8);
	z->reads[z->nreads++] = (struct prove_read){ a, base, off, var };
	return var;
}

void prove_mem_reset(struct prove_z3 *z)
{
	free(z->spec_cache); /* its terms die with the obligation's solver scope */
	z->spec_cache = NULL;
	free(z->atom_cache);
	z->atom_cache = NULL;
	if (z->split_cache)
		free(z->split_cache->e);
	free(z->split_cache);
	z->split_cache = NULL;
	chain_cache_free(z);
	z->mem0 = NULL;
	z->nreads = 0;
	z->reads_err = 0;
	z->delta = NULL;
	z->alias_x = z->alias_y = NULL;
	z->alias_many = false;
}

/* ---- reads and writes ------------------------------------------------------------ */

Z3_ast prove_read_byte(struct prove_z3 *z, Z3_ast mem, Z3_ast a)
{
	struct chain top = { 0 };
	Z3_ast below;
	for (;;) {
		Z3_decl_kind k = prove_kind(z, mem);
		if (k == Z3_OP_STORE) {
			Z3_ast idx = prove_arg(z, mem, 1), val = prove_arg(z, mem, 2), inner = prove_arg(z, mem, 0);
			uint64_t c;
			int same = addr_cmp(z, a, idx, &c);
			if (same == 1) {
				below = val; /* the latest store to a: every d not claimed above */
				break;
			}
			if (same == 2) {
				/* a == idx exactly when d == c: the first (latest) such store wins */
				size_t i = 0;
				while (i < top.n && top.c[i] < c)
					i++;
				if (i == top.n || top.c[i] != c) {
					if (chain_push(&top, 0, NULL)) { /* grow, then insert in order */
						z->reads_err = -ENOMEM;
						below = prove_read_byte(z, inner, a);
						break;
					}
					memmove(&top.c[i + 1], &top.c[i], (top.n - 1 - i) * sizeof(*top.c));
					memmove(&top.v[i + 1], &top.v[i], (top.n - 1 - i) * sizeof(*top.v));
					top.c[i] = c;
					top.v[i] = specialize(z, val, c);
				}
			}
			if (same == -1 && z->probe && z->alias_x && !z->alias_many) {
				/* probing for the aliasing pair: found, this build is abandoned */
				below = val;
				break;
			}
			if (same == -1) {
				/* an address comparison no chain can express */
				below = prove_ite(z, prove_eq(z, a, idx), val, prove_read_byte(z, inner, a));
				break;
			}
			mem = inner;
			continue;
		}
		if (k == Z3_OP_ITE) {
			below = merge(z, prove_arg(z, mem, 0), prove_read_byte(z, prove_arg(z, mem, 1), a),
				      prove_read_byte(z, prove_arg(z, mem, 2), a));
			break;
		}
		below = mem == z->mem0 && mem ? initial_byte(z, a) : Z3_mk_select(z->c, mem, a);
		break;
	}
	Z3_ast t = overlay(z, &top, below);
	chain_free(&top);
	return t;
}

/* Byte @i of value @v, taking it back out of concatenations and
 * extensions where it is there as a whole (the byte stored is then the
 * byte read, the same term). */
static Z3_ast byte_of(struct prove_z3 *z, Z3_ast v, unsigned int i)
{
	for (;;) {
		unsigned int w = prove_width(z, v);
		if (w == 8 && i == 0)
			return v;
		Z3_decl_kind k = prove_kind(z, v);
		if (k == Z3_OP_CONCAT && prove_nargs(z, v) == 2) {
			Z3_ast hi = prove_arg(z, v, 0), lo = prove_arg(z, v, 1);
			unsigned int wl = prove_width(z, lo);
			if (wl % 8)
				break;
			if (8 * i < wl) {
				v = lo;
			} else {
				i -= wl / 8;
				v = hi;
			}
			continue;
		}
		if (k == Z3_OP_ZERO_EXT) {
			Z3_ast x = prove_arg(z, v, 0);
			unsigned int wx = prove_width(z, x);
			if (wx % 8)
				break;
			if (8 * i >= wx)
				return prove_bv(z, 0, 8);
			v = x;
			continue;
		}
		if (k == Z3_OP_EXTRACT) {
			Z3_func_decl d = Z3_get_app_decl(z->c, Z3_to_app(z->c, v));
			unsigned int lo = (unsigned int)Z3_get_decl_int_parameter(z->c, d, 1);
			if (lo % 8)
				break;
			i += lo / 8;
			v = prove_arg(z, v, 0);
			continue;
		}
		break;
	}
	return Z3_mk_extract(z->c, 8 * i + 7, 8 * i, v);
}

Z3_ast prove_load(struct prove_z3 *z, Z3_ast mem, Z3_ast addr, unsigned int size)
{
	Z3_ast v = prove_read_byte(z, mem, addr_plus(z, addr, size - 1));
	for (int i = (int)size - 2; i >= 0; i--) /* little endian: byte 0 is least significant */
		v = Z3_mk_concat(z->c, v, prove_read_byte(z, mem, addr_plus(z, addr, (unsigned)i)));
	return v;
}

Z3_ast prove_store(struct prove_z3 *z, Z3_ast mem, Z3_ast addr, Z3_ast val, unsigned int size)
{
	for (unsigned int i = 0; i < size; i++)
		mem = Z3_mk_store(z->c, mem, addr_plus(z, addr, i), byte_of(z, val, i));
	return mem;
}
