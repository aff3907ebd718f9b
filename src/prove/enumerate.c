/* enumerate.c - what `safebpf prove` proves for each operation: the
 * obligation groups (one output row each), the variants in each, the
 * immediates each variant is proven for, and which payload fields each
 * variant reads. The driver (prove.c) crosses every group with every
 * register assignment the payload rules accept and every feature set of
 * the target.
 *
 * Immediates: every value where the domain is small (rotate amounts,
 * extract fields, lea shifts, bulk_copy lengths are variants); for 16- and
 * 32-bit offsets and operands, the values at every encoding boundary
 * (0, +-1, the imm8/disp8 limits, the extremes) plus two ordinary values -
 * see docs/kops.md for what that does and does not cover.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kops/ops/ops.h"
#include "prove/proveInt.h"

/* Boundary values of signed 32-bit immediates and displacements. */
static const int32_t imm32_classes[] = {
	0, 1, -1, 2, 0x7f, 0x80, 0xff, 0x100, -0x80, -0x81, 0x7fff, -0x8000,
	0x7fffffff, INT32_MIN, 0x12345678, -0x12345678,
};
/* Boundary values of 16-bit memory offsets. */
static const int32_t off16_classes[] = {
	0, 1, -1, 2, 0x7f, 0x80, -0x80, -0x81, 0x7fff, -0x8000, 0x1234,
};
/* bulk_copy source/destination offset pairs (soff, doff): equal, apart,
 * crossing the disp8 limits as the chunks advance, far apart; and with
 * one base register, the destination 1, 8, 15 and 16 bytes above the
 * source (where wide moves and chunks differ, and just past it). */
static const int16_t copy_offsets[][2] = {
	{ 0, 0 }, { 1, -1 }, { 0x78, -0x88 }, { -0x100, 0x1000 }, { 0x7000, -0x8000 },
	{ 0, 1 }, { 0, 8 }, { 0x10, 0x1f }, { -0x20, -0x10 },
};

static unsigned int f_dst_c(const struct sbpf_kops_payload *p) { (void)p; return PF_DST | PF_C; }
static unsigned int f_all(const struct sbpf_kops_payload *p) { (void)p; return PF_DST | PF_A | PF_B | PF_C; }
static unsigned int f_dst_a_c(const struct sbpf_kops_payload *p) { (void)p; return PF_DST | PF_A | PF_C; }
static unsigned int f_dst_a(const struct sbpf_kops_payload *p) { (void)p; return PF_DST | PF_A; }
static unsigned int f_a(const struct sbpf_kops_payload *p) { (void)p; return PF_A; }
static unsigned int f_lea(const struct sbpf_kops_payload *p)
{
	return PF_DST | PF_A | PF_B | (p->dst == p->a ? PF_C : 0u);
}

/* A growing list of groups. */
struct glist {
	struct prove_group *v;
	size_t n, cap;
	int err;
};

static struct prove_group *add(struct glist *l, uint32_t op, const char *label,
			       unsigned int (*fields)(const struct sbpf_kops_payload *))
{
	if (l->err)
		return NULL;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 32;
		struct prove_group *v = realloc(l->v, cap * sizeof(*v));
		if (!v) {
			l->err = -ENOMEM;
			return NULL;
		}
		l->v = v;
		l->cap = cap;
	}
	struct prove_group *g = &l->v[l->n++];
	memset(g, 0, sizeof(*g));
	g->op = op;
	g->fields = fields;
	snprintf(g->label, sizeof(g->label), "%s", label);
	return g;
}

static void add_variant(struct glist *l, struct prove_group *g, uint16_t v)
{
	if (!g)
		return;
	uint16_t *nv = realloc(g->variants, (g->nvariants + 1) * sizeof(*nv));
	if (!nv) {
		l->err = -ENOMEM;
		return;
	}
	g->variants = nv;
	g->variants[g->nvariants++] = v;
}

static void add_imm(struct glist *l, struct prove_group *g, int32_t imm)
{
	if (!g)
		return;
	int32_t *ni = realloc(g->imms, (g->nimms + 1) * sizeof(*ni));
	if (!ni) {
		l->err = -ENOMEM;
		return;
	}
	g->imms = ni;
	g->imms[g->nimms++] = imm;
}

static void add_imms(struct glist *l, struct prove_group *g, const int32_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		add_imm(l, g, v[i]);
}

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static void rotate(struct glist *l)
{
	for (unsigned int v = 0; v < 8; v++) {
		char label[48];
		int w = v & KOPS_ROT_32 ? 32 : 64;
		bool reg = v & KOPS_ROT_REG;
		snprintf(label, sizeof(label), "%d-bit %s by %s", w, v & KOPS_ROT_RIGHT ? "right" : "left",
			 reg ? "register" : "imm 1..w-1");
		struct prove_group *g = add(l, SBPF_KOPS_ROTATE, label, reg ? f_all : f_dst_c);
		add_variant(l, g, (uint16_t)v);
		if (reg)
			add_imm(l, g, 0);
		else
			for (int k = 1; k < w; k++)
				add_imm(l, g, k);
	}
}

static void select_(struct glist *l)
{
	static const struct { int cond; const char *name; } conds[] = {
		{ SBPF_JEQ, "jeq" }, { SBPF_JNE, "jne" }, { SBPF_JGT, "jgt" }, { SBPF_JGE, "jge" },
		{ SBPF_JLT, "jlt" }, { SBPF_JLE, "jle" }, { SBPF_JSET, "jset" }, { SBPF_JSGT, "jsgt" },
		{ SBPF_JSGE, "jsge" }, { SBPF_JSLT, "jslt" }, { SBPF_JSLE, "jsle" },
	};
	for (size_t i = 0; i < ARRAY_LEN(conds); i++)
		for (int reg = 0; reg < 2; reg++) {
			char label[48];
			snprintf(label, sizeof(label), "%s, rhs %s, cmp/mov 64/32", conds[i].name, reg ? "reg" : "imm");
			struct prove_group *g = add(l, SBPF_KOPS_SELECT, label, reg ? f_all : f_dst_a_c);
			for (int w = 0; w < 4; w++)
				add_variant(l, g, (uint16_t)(conds[i].cond >> 4 | (reg ? KOPS_SEL_RHS_REG : 0) |
							     (w & 1 ? KOPS_SEL_CMP32 : 0) | (w & 2 ? KOPS_SEL_MOV32 : 0)));
			if (reg)
				add_imm(l, g, 0);
			else
				add_imms(l, g, imm32_classes, ARRAY_LEN(imm32_classes));
		}
}

static void extract(struct glist *l)
{
	for (int is32 = 0; is32 < 2; is32++) {
		int w = is32 ? 32 : 64;
		struct prove_group *g = add(l, SBPF_KOPS_EXTRACT, is32 ? "32-bit, every field" : "64-bit, every field",
					    f_dst_a);
		add_variant(l, g, (uint16_t)is32);
		for (int len = 1; len <= 32; len++)
			for (int shift = 0; shift + len <= w; shift++)
				add_imm(l, g, shift | len << 8);
	}
}

static void bswap_load(struct glist *l)
{
	static const char *const names[] = { "16-bit", "32-bit", "64-bit" };
	for (int v = 0; v <= KOPS_BSL_64; v++) {
		struct prove_group *g = add(l, SBPF_KOPS_BSWAP_LOAD, names[v], f_dst_a);
		add_variant(l, g, (uint16_t)v);
		add_imms(l, g, off16_classes, ARRAY_LEN(off16_classes));
	}
}

static void prefetch(struct glist *l)
{
	struct prove_group *g = add(l, SBPF_KOPS_PREFETCH, "every base", f_a);
	add_variant(l, g, 0);
	add_imms(l, g, imm32_classes, ARRAY_LEN(imm32_classes));
}

static void bulk_copy(struct glist *l)
{
	static const int bounds[][2] = { { 1, 8 }, { 9, 16 }, { 17, 32 }, { 33, 64 }, { 65, 128 }, { 129, 256 } };
	for (size_t i = 0; i < ARRAY_LEN(bounds); i++) {
		char label[48];
		snprintf(label, sizeof(label), "length %d..%d", bounds[i][0], bounds[i][1]);
		struct prove_group *g = add(l, SBPF_KOPS_BULK_COPY, label, f_dst_a_c);
		for (int len = bounds[i][0]; len <= bounds[i][1]; len++)
			add_variant(l, g, (uint16_t)len);
		for (size_t k = 0; k < ARRAY_LEN(copy_offsets); k++)
			add_imm(l, g, (int32_t)((uint32_t)(uint16_t)copy_offsets[k][0] |
						(uint32_t)(uint16_t)copy_offsets[k][1] << 16));
	}
}

static void lea(struct glist *l)
{
	for (int s = 0; s < 4; s++) {
		char label[48];
		snprintf(label, sizeof(label), "shift %d", s);
		struct prove_group *g = add(l, SBPF_KOPS_LEA, label, f_lea);
		add_variant(l, g, (uint16_t)s);
		add_imms(l, g, imm32_classes, ARRAY_LEN(imm32_classes));
	}
}

static unsigned int f_popcount(const struct sbpf_kops_payload *p)
{
	return PF_DST | PF_A | PF_B | (p->variant & KOPS_POP_ALU32 ? 0u : PF_C);
}

static void popcount(struct glist *l)
{
	static const struct { uint16_t v; const char *label; } shapes[] = {
		{ 0, "64-bit" },
		{ KOPS_POP_32, "32-bit, 64-bit ops" },
		{ KOPS_POP_32 | KOPS_POP_ALU32, "32-bit, ALU32 ops" },
	};
	for (size_t i = 0; i < ARRAY_LEN(shapes); i++) {
		struct prove_group *g = add(l, SBPF_KOPS_POPCOUNT, shapes[i].label, f_popcount);
		add_variant(l, g, shapes[i].v);
		add_imm(l, g, 0);
	}
}

static unsigned int f_wide(const struct sbpf_kops_payload *p)
{
	return PF_DST | PF_A | PF_B | (p->dst == p->a && (p->variant & KOPS_WIDE_SIZE) ? PF_C : 0u);
}

static void wide_load(struct glist *l)
{
	static const char *const names[] = { "16-bit", "32-bit", "64-bit" };
	for (int be = 0; be < 2; be++)
		for (int v = 0; v <= KOPS_WIDE_64; v++) {
			char label[48];
			snprintf(label, sizeof(label), "%s %s-endian", names[v], be ? "big" : "little");
			struct prove_group *g = add(l, SBPF_KOPS_WIDE_LOAD, label, f_wide);
			add_variant(l, g, (uint16_t)(v | (be ? KOPS_WIDE_BE : 0)));
			/* the 16-bit offsets whose last byte still fits */
			for (size_t i = 0; i < ARRAY_LEN(off16_classes); i++)
				if (off16_classes[i] + (2 << v) - 1 <= INT16_MAX)
					add_imm(l, g, off16_classes[i]);
		}
}

int prove_groups(uint32_t op, struct prove_group **out, size_t *n)
{
	static void (*const makers[SBPF_KOPS__MAX])(struct glist *) = {
		[SBPF_KOPS_ROTATE] = rotate, [SBPF_KOPS_SELECT] = select_, [SBPF_KOPS_EXTRACT] = extract,
		[SBPF_KOPS_BSWAP_LOAD] = bswap_load, [SBPF_KOPS_PREFETCH] = prefetch,
		[SBPF_KOPS_BULK_COPY] = bulk_copy, [SBPF_KOPS_LEA] = lea, [SBPF_KOPS_POPCOUNT] = popcount,
		[SBPF_KOPS_WIDE_LOAD] = wide_load,
	};
	struct glist l = { 0 };
	for (uint32_t i = 1; i < SBPF_KOPS__MAX; i++)
		if ((!op || op == i) && makers[i])
			makers[i](&l);
	if (l.err) {
		prove_groups_free(l.v, l.n);
		return l.err;
	}
	*out = l.v;
	*n = l.n;
	return 0;
}

void prove_groups_free(struct prove_group *g, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(g[i].variants);
		free(g[i].imms);
	}
	free(g);
}
