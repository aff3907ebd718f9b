/* test_kops_x86.c - Kops native emits on x86-64.
 *
 * The main property: for every operation, every variant and every register
 * assignment the payload rules accept (r10 included where it may be a
 * memory base), the JIT running the site's native emit and the interpreter
 * running its proof sequence end with the same registers (all but the
 * declared clobbers) and the same memory, on boundary and random inputs, in
 * checked and unchecked mode, and with BMI1 and MOVBE switched off (the
 * fallback emits). Sites are tested in batches: one program holds many
 * blocks "load every register from the input; site; store every register
 * the site does not clobber", so one compile covers many assignments.
 *
 * Also: deliberately wrong emits (test-only mutants, one per soundness
 * trap) are caught by the same comparison; the encodings of the new
 * instruction forms (bytes from GNU as); the host registers each emit
 * writes (capstone); every register a proof sequence writes is dst or a
 * declared clobber; size bounds; the JIT's own re-check of the sites; and
 * checked-mode faults of bswap_load stop where the interpreter stops.
 */
#include <capstone/capstone.h>
#include <cpuid.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jit/jitInt.h"
#include "jit/x86_64/kops_x86.h"
#include "kops/kopsInt.h"
#include "kops/ops/ops.h"
#include "safebpf/jit.h"
#include "safebpf/vm.h"

#include "../common/kops_batch.h"

/* Engines a batch runs on besides the interpreter. */
struct mode {
	const char *name;
	int unchecked;
	unsigned int features;   /* SBPF_JIT_NO_* */
};

static const struct mode modes_all[] = {
	{ "checked", 0, 0 },
	{ "unchecked", 0 + 1, 0 },
	{ "checked, no BMI1/MOVBE/POPCNT", 0, SBPF_JIT_NO_BMI1 | SBPF_JIT_NO_MOVBE | SBPF_JIT_NO_POPCNT },
	{ "unchecked, no BMI1/MOVBE/POPCNT", 1, SBPF_JIT_NO_BMI1 | SBPF_JIT_NO_MOVBE | SBPF_JIT_NO_POPCNT },
};

/* Whether op @id has CPU-feature dependent emits (then the fallback modes run). */
static int feature_dependent(uint32_t id)
{
	return id == SBPF_KOPS_EXTRACT || id == SBPF_KOPS_BSWAP_LOAD || id == SBPF_KOPS_POPCOUNT ||
	       id == SBPF_KOPS_WIDE_LOAD;
}

static void describe(const struct sbpf_kops_payload *p, char *buf, size_t sz)
{
	snprintf(buf, sz, "%s variant 0x%x dst=r%d a=r%d b=r%d c=r%d imm=%d", sbpf_kops_info(p->op)->name,
		 p->variant, p->dst, p->a, p->b, p->c, p->imm);
}

/* Compares block outputs of @got (JIT) with @want (interpreter); returns
 * the number of differing blocks and describes the first in @why. Pointer
 * registers the op leaves alone are compared relative to each engine's
 * buffer, fp-derived ones relative to each engine's r10. */
static int compare_blocks(const struct blk *blks, size_t nb, const uint8_t *got, const uint8_t *want,
			  char *why, size_t whysz)
{
	int wm = writes_memory(&blks[0].p), bad = 0;
	size_t out_size = REGS_OUT + (wm ? MEM_OUT : 0);
	for (size_t j = 0; j < nb; j++) {
		const struct blk *bk = &blks[j];
		const uint8_t *g = got + OUT_OFF + j * out_size, *w = want + OUT_OFF + j * out_size;
		uint16_t clob = sbpf_kops_clobbers(&bk->p);
		uint64_t gr[11], wr[11];
		memcpy(gr, g, sizeof(gr));
		memcpy(wr, w, sizeof(wr));
		int diff = -1;
		for (int r = 0; r <= 9 && diff < 0; r++) {
			if (clob >> r & 1)
				continue;
			uint64_t gv = gr[r], wv = wr[r];
			int written = kops_op(bk->p.op)->writes_dst && r == bk->p.dst;
			if (bk->ptr[r] != NOPTR && !written) {
				gv -= (uintptr_t)got;
				wv -= (uintptr_t)want;
			}
			if (bk->p.op == SBPF_KOPS_LEA && bk->p.a == SBPF_REG_FP && r == bk->p.dst) {
				gv -= gr[10]; /* fp-relative: the engines' stacks differ */
				wv -= wr[10];
			}
			if (gv != wv)
				diff = r;
		}
		int mdiff = wm ? memcmp(g + REGS_OUT, w + REGS_OUT, MEM_OUT) : 0;
		if (diff >= 0 || mdiff) {
			if (!bad++) {
				char d[128];
				describe(&bk->p, d, sizeof(d));
				if (diff >= 0)
					snprintf(why, whysz, "%s: r%d = 0x%llx, proof sequence 0x%llx", d, diff,
						 (unsigned long long)gr[diff], (unsigned long long)wr[diff]);
				else
					snprintf(why, whysz, "%s: memory after the copy differs", d);
			}
		}
	}
	return bad;
}

/* Runs the batch @blks[0..@nb) on the interpreter and on the JIT in each
 * mode of @modes (bit i = modes_all[i]; 0: all that apply) with @mutant emits; returns the number of block mismatches,
 * the first described in @why, and counts block comparisons in *@cmps. */
static int run_batch(const struct blk *blks, size_t nb, int mutant, unsigned modes, long *cmps, char *why,
		     size_t whysz)
{
	struct prog pg = { 0 };
	build(blks, nb, &pg);
	struct sbpf_kops_lowered l;
	struct sbpf_validate_error verr = { 0 };
	int rc = sbpf_kops_lower(pg.v, pg.n, &l, &verr);
	cr_assert_eq(rc, 0, "lowering refused the batch: slot %zu: %s", verr.index, verr.rule);
	cr_assert_eq(l.nsites, nb);
	struct sbpf_vm *vm = sbpf_vm__new(l.insns, l.n, NULL, &verr);
	cr_assert_not_null(vm, "interpreter refused: %s", verr.rule);
	size_t nmodes = feature_dependent(blks[0].p.op) ? 4 : 2;
	struct sbpf_jit *jits[4] = { NULL };
	for (size_t m = 0; m < nmodes; m++) {
		if (modes && !(modes >> m & 1))
			continue;
		struct sbpf_jit_opts jo = { .sz = sizeof(jo), .unchecked = modes_all[m].unchecked,
					    .features = modes_all[m].features, .kops = &l };
		jits[m] = sbpf_jit__new(l.insns, l.n, &jo, &verr);
		cr_assert_not_null(jits[m], "JIT refused the sites: %s", verr.rule);
		jit_set_kops_mutant(jits[m], mutant);
		cr_assert_eq(sbpf_jit__compile(jits[m]), 0, "compile failed");
		/* The emits really ran: every site native (bulk_copy: not in checked
		 * mode; popcount: not without POPCNT, where its proof sequence runs). */
		int want_native = !(blks[0].p.op == SBPF_KOPS_BULK_COPY && !modes_all[m].unchecked) &&
				  !(blks[0].p.op == SBPF_KOPS_POPCOUNT && (modes_all[m].features & SBPF_JIT_NO_POPCNT));
		for (size_t i = 0; i < nb; i++) {
			size_t from, to;
			cr_assert_eq(sbpf_jit__kops_site(jits[m], i, &from, &to), want_native,
				     "site %zu: native %d expected in mode %s", i, want_native, modes_all[m].name);
		}
	}
	size_t out_size = REGS_OUT + (writes_memory(&blks[0].p) ? MEM_OUT : 0);
	size_t len = OUT_OFF + nb * out_size;
	uint8_t *init = calloc(1, len), *want = malloc(len), *got = malloc(len);
	cr_assert(init && want && got);
	int bad = 0;
	for (int k = 0; k < ROUNDS && !bad; k++) {
		for (int i = 0; i < DATA_LEN; i++)
			init[i] = (uint8_t)(k % 2 ? random() : i * 37 + 11);
		for (int i = 0; i < STK_LEN; i++)
			init[PRIS_OFF + DATA_LEN + i] = (uint8_t)(k % 2 ? random() : i * 91 + 5);
		memcpy(init + PRIS_OFF, init, DATA_LEN);
		uint64_t same = boundary[(size_t)k % NBOUND];
		for (int r = 0; r < 10; r++) {
			uint64_t v = value(k, r, same);
			memcpy(init + IN_OFF + 8 * r, &v, 8);
		}
		memcpy(want, init, len);
		uint64_t r0 = 1;
		struct sbpf_run_error err = { 0 };
		rc = sbpf_vm__run(vm, want, len, &r0, &err);
		cr_assert_eq(rc, 0, "interpreter failed at %zu: %s", err.pc, err.reason);
		for (size_t m = 0; m < nmodes && !bad; m++) {
			if (!jits[m])
				continue;
			memcpy(got, init, len);
			rc = sbpf_jit__run(jits[m], got, len, &r0, &err);
			cr_assert_eq(rc, 0, "JIT (%s) failed at %zu: %s", modes_all[m].name, err.pc, err.reason);
			bad = compare_blocks(blks, nb, got, want, why, whysz);
			if (!bad && memcmp(got, want, OUT_OFF)) {
				bad = 1;
				snprintf(why, whysz, "%s: data area differs", sbpf_kops_info(blks[0].p.op)->name);
			}
			if (bad)
				snprintf(why + strlen(why), whysz - strlen(why), " [%s, round %d]",
					 modes_all[m].name, k);
			*cmps += (long)nb;
		}
	}
	free(init);
	free(want);
	free(got);
	for (size_t m = 0; m < nmodes; m++)
		sbpf_jit__free(jits[m]);
	sbpf_vm__free(vm);
	sbpf_kops_lowered__free(&l);
	free(pg.v);
	return bad;
}

/* ---- enumerating assignments -------------------------------------------- */

/* A set of blocks being collected; flushed in batches. */
struct sweep {
	struct blk *v;
	size_t n, cap;
	int mutant;           /* KOPS_MUT_* for every batch */
	unsigned modes;       /* modes to run (run_batch), 0: all that apply */
	long cmps;            /* block comparisons done */
	int bad;              /* mismatching blocks found */
	char why[256];        /* the first mismatch */
	long assignments;     /* register assignments accepted */
};

static void flush(struct sweep *s)
{
	if (!s->n)
		return;
	size_t batch = writes_memory(&s->v[0].p) ? 48 : 256;
	for (size_t i = 0; i < s->n; i += batch) {
		size_t nb = s->n - i < batch ? s->n - i : batch;
		char why[256] = "";
		int bad = run_batch(&s->v[i], nb, s->mutant, s->modes, &s->cmps, why, sizeof(why));
		if (bad && !s->bad)
			snprintf(s->why, sizeof(s->why), "%s", why);
		s->bad += bad;
	}
	s->n = 0;
}

static void add(struct sweep *s, const struct blk *b)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 512;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		cr_assert_not_null(s->v);
	}
	s->v[s->n++] = *b;
}

/* Register fields an op reads or writes (bit 0 dst, 1 a, 2 b, 3 c) and
 * those that may be r10 (memory bases, and lea's base, compared
 * fp-relative): r10 as a plain value would differ between engines. */
static void fields(const struct sbpf_kops_payload *p, int *used, int *fp_ok)
{
	*fp_ok = 0;
	switch (p->op) {
	case SBPF_KOPS_ROTATE:     *used = p->variant & KOPS_ROT_REG ? 0xf : 0x9; break;
	case SBPF_KOPS_SELECT:     *used = p->variant & KOPS_SEL_RHS_REG ? 0xf : 0xb; break;
	case SBPF_KOPS_EXTRACT:    *used = 0x3; break;
	case SBPF_KOPS_BSWAP_LOAD: *used = 0x3; *fp_ok = 0x2; break;
	case SBPF_KOPS_PREFETCH:   *used = 0x2; *fp_ok = 0x2; break;
	case SBPF_KOPS_BULK_COPY:  *used = 0xb; *fp_ok = 0x3; break;
	case SBPF_KOPS_POPCOUNT:   *used = p->variant & KOPS_POP_ALU32 ? 0x7 : 0xf; break;
	case SBPF_KOPS_WIDE_LOAD:  *used = 0xf; *fp_ok = 0x2; break;
	default:                   *used = 0xf; *fp_ok = 0x2; break; /* lea */
	}
}

/* Memory placement of one test case: the access offsets relative to the
 * data area (or to the stack area when the base is r10) and where the
 * pointer registers point. */
struct place {
	int src_off, dst_off;   /* bytes into the area the access touches */
	int ptr_bias;           /* pointer = area + off + bias, displacement = -bias */
};

/* The pointer value and payload displacement for base register @r
 * accessing byte @off of its area. */
static void point(struct blk *b, int r, int off, int bias, int32_t *disp)
{
	if (r == SBPF_REG_FP) {
		*disp = STK + off;
	} else {
		b->ptr[r] = off + bias;
		*disp = -bias;
	}
}

/* Every assignment of r0..r9 (r10 where allowed) to @p's fields that the
 * payload rules accept, placed by @pl for memory operations, with @imms
 * cycling over assignments when given. */
static void sweep_assignments(struct sweep *s, struct sbpf_kops_payload p, const struct place *pl,
			      const int32_t *imms, size_t nimms)
{
	int used, fp_ok;
	fields(&p, &used, &fp_ok);
	int top[4];
	for (int f = 0; f < 4; f++)
		top[f] = !(used >> f & 1) ? 1 : (fp_ok >> f & 1) ? 11 : 10;
	char why[128];
	long k = 0;
	for (int dst = 0; dst < top[0]; dst++)
		for (int a = 0; a < top[1]; a++)
			for (int bb = 0; bb < top[2]; bb++)
				for (int c = 0; c < top[3]; c++) {
					struct blk b;
					for (int r = 0; r < 11; r++)
						b.ptr[r] = NOPTR;
					b.p = p;
					b.p.dst = (uint8_t)dst, b.p.a = (uint8_t)a, b.p.b = (uint8_t)bb, b.p.c = (uint8_t)c;
					if (p.op == SBPF_KOPS_LEA && dst != a && c)
						continue; /* c is used only when dst == a */
					if (p.op == SBPF_KOPS_WIDE_LOAD && (dst != a || !(p.variant & KOPS_WIDE_SIZE)) && c)
						continue; /* the same for wide_load (32/64 bits) */
					if (imms)
						b.p.imm = imms[k % (long)nimms];
					if (p.op == SBPF_KOPS_BSWAP_LOAD || p.op == SBPF_KOPS_PREFETCH ||
					    p.op == SBPF_KOPS_WIDE_LOAD) {
						point(&b, a, pl->src_off, pl->ptr_bias, &b.p.imm);
					} else if (p.op == SBPF_KOPS_BULK_COPY) {
						int32_t so, dof;
						if (a == dst && a != SBPF_REG_FP) {
							b.ptr[a] = 0; /* one base: offsets relative to the data area */
							so = pl->src_off, dof = pl->dst_off;
						} else {
							point(&b, a, pl->src_off, 0, &so);
							point(&b, dst, pl->dst_off, 0, &dof);
							if (a != SBPF_REG_FP && dst != SBPF_REG_FP) {
								b.ptr[a] = 0; /* same area: the offsets overlap as given */
								b.ptr[dst] = 0;
								so = pl->src_off, dof = pl->dst_off;
							}
						}
						b.p.imm = (int32_t)((uint32_t)(uint16_t)so | (uint32_t)(uint16_t)dof << 16);
					}
					if (sbpf_kops_check_payload(&b.p, why, sizeof(why)))
						continue;
					k++;
					s->assignments++;
					add(s, &b);
				}
}

static void finish(struct sweep *s, const char *what)
{
	flush(s);
	free(s->v);
	s->v = NULL;
	cr_assert_eq(s->bad, 0, "%s: %d mismatching blocks; first: %s", what, s->bad, s->why);
	cr_assert_gt(s->assignments, 0);
	cr_log_info("%s: %ld register assignments, %ld native-vs-proof comparisons", what, s->assignments,
		    s->cmps);
}

/* ---- the equivalence sweeps, one per operation --------------------------- */

static void sweep_rotate(struct sweep *s)
{
	for (int v = 0; v < 8; v++) {
		int width = v & KOPS_ROT_32 ? 32 : 64;
		struct sbpf_kops_payload p = { .op = SBPF_KOPS_ROTATE, .variant = (uint16_t)v, .imm = 1 };
		if (v & KOPS_ROT_REG) {
			sweep_assignments(s, p, NULL, NULL, 0);
		} else {
			int32_t amounts[] = { 1, 7, width / 2, width - 1 };
			sweep_assignments(s, p, NULL, amounts, 4);
		}
	}
}

Test(kops_x86, rotate_every_variant_and_assignment)
{
	struct sweep s = { 0 };
	srandom(11);
	sweep_rotate(&s);
	finish(&s, "rotate");
}

static const int conds[] = { 1, 2, 3, 4, 5, 6, 7, 0xa, 0xb, 0xc, 0xd };
static const int32_t sel_imms[] = { -2, 0, 0x7f, 0xff, INT32_MIN, 1, -1, 0x100 };

/* select: @rhs_reg chooses the variants with a register rhs (10x the
 * assignments) or an immediate one. */
static void sweep_select(struct sweep *s, int rhs_reg)
{
	for (size_t ci = 0; ci < sizeof(conds) / sizeof(conds[0]); ci++)
		for (int flags = 0; flags < 8; flags++) {
			if (!(flags & 1) != !rhs_reg)
				continue;
			uint16_t v = (uint16_t)(conds[ci] | flags << 4);
			sweep_assignments(s, (struct sbpf_kops_payload){ .op = SBPF_KOPS_SELECT, .variant = v },
					  NULL, rhs_reg ? NULL : sel_imms, rhs_reg ? 0 : 8);
		}
}

Test(kops_x86, select_rhs_imm_every_variant_and_assignment)
{
	struct sweep s = { 0 };
	srandom(12);
	sweep_select(&s, 0);
	finish(&s, "select (rhs imm)");
}

/* 440,000 assignments: unchecked mode only. A select has no memory operand,
 * so its emit is the same in both modes; the rhs-imm and mutant sweeps run
 * every variant in checked mode too. */
Test(kops_x86, select_rhs_reg_every_variant_and_assignment)
{
	struct sweep s = { .modes = 1u << 1 };
	srandom(13);
	sweep_select(&s, 1);
	finish(&s, "select (rhs reg)");
}

static const int ext_fields[][2] = {
	{ 0, 1 }, { 5, 6 }, { 0, 32 }, { 31, 1 }, { 12, 20 }, { 40, 24 }, { 32, 32 }, { 63, 1 },
	{ 0, 31 }, { 1, 31 }, { 33, 31 }, { 8, 8 },
};

Test(kops_x86, extract_every_variant_and_assignment)
{
	struct sweep s = { 0 };
	srandom(14);
	char why[128];
	for (int v = 0; v < 2; v++)
		for (size_t f = 0; f < sizeof(ext_fields) / sizeof(ext_fields[0]); f++) {
			struct sbpf_kops_payload p = { .op = SBPF_KOPS_EXTRACT, .variant = (uint16_t)v,
						       .imm = ext_fields[f][0] | ext_fields[f][1] << 8, .dst = 1, .a = 2 };
			if (sbpf_kops_check_payload(&p, why, sizeof(why)))
				continue; /* too wide for 32 bits */
			sweep_assignments(&s, p, NULL, NULL, 0);
		}
	finish(&s, "extract");
}

Test(kops_x86, bswap_load_every_variant_and_assignment)
{
	static const struct place places[] = {
		{ 19, 0, -16 }, /* pointer 16 below the field: displacement +16 */
		{ 59, 0, 5 },   /* pointer 5 above: displacement -5 */
		{ 0, 0, 0 },    /* first byte of the area */
		{ 120, 0, 0 },  /* last 8 bytes of the stack area */
		{ 77, 0, 1000 },/* a displacement beyond disp8 */
	};
	struct sweep s = { 0 };
	srandom(15);
	for (int v = 0; v <= KOPS_BSL_64; v++)
		for (size_t i = 0; i < sizeof(places) / sizeof(places[0]); i++)
			sweep_assignments(&s, (struct sbpf_kops_payload){ .op = SBPF_KOPS_BSWAP_LOAD, .variant = (uint16_t)v },
					  &places[i], NULL, 0);
	finish(&s, "bswap_load");
}

Test(kops_x86, prefetch_every_assignment_changes_nothing)
{
	static const struct place places[] = { { 64, 0, 0 }, { 0, 0, 100000 }, { 3, 0, -70000 } };
	struct sweep s = { 0 };
	srandom(16);
	for (size_t i = 0; i < 3; i++)
		sweep_assignments(&s, (struct sbpf_kops_payload){ .op = SBPF_KOPS_PREFETCH }, &places[i], NULL, 0);
	finish(&s, "prefetch");
}

Test(kops_x86, bulk_copy_every_assignment_and_overlap)
{
	/* length, source offset, destination offset (in one area when the two
	 * bases point at the same memory): disjoint, destination below the
	 * source, 1..15 bytes above (chunked), 16 and more above (wide), equal,
	 * short copies, tails of every chunk size. */
	static const int cases[][3] = {
		{ 37, 0, 64 }, { 24, 8, 0 }, { 24, 0, 8 }, { 40, 0, 16 }, { 48, 3, 20 }, { 16, 0, 15 },
		{ 64, 60, 0 }, { 1, 5, 9 }, { 15, 0, 7 }, { 100, 0, 1 }, { 127, 0, 0 }, { 33, 17, 32 },
		{ 31, 40, 45 }, { 17, 2, 1 },
	};
	struct sweep s = { 0 };
	srandom(17);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct place pl = { cases[i][1], cases[i][2], 0 };
		sweep_assignments(&s, (struct sbpf_kops_payload){ .op = SBPF_KOPS_BULK_COPY, .variant = (uint16_t)cases[i][0] },
				  &pl, NULL, 0);
	}
	finish(&s, "bulk_copy");
}

Test(kops_x86, bulk_copy_long_in_memory)
{
	/* Up to the maximum length, data area only (r1 and r2 as bases, and r1 alone). */
	static const int cases[][3] = { { 256, 0, 0 }, { 200, 0, 56 }, { 200, 56, 0 }, { 250, 0, 5 }, { 240, 0, 16 } };
	struct sweep s = { 0 };
	srandom(18);
	for (size_t i = 0; i < 5; i++)
		for (int same = 0; same < 2; same++) {
			struct blk b;
			for (int r = 0; r < 11; r++)
				b.ptr[r] = NOPTR;
			b.p = (struct sbpf_kops_payload){ .op = SBPF_KOPS_BULK_COPY, .variant = (uint16_t)cases[i][0],
							 .dst = 1, .a = same ? 1 : 2, .c = 3,
							 .imm = cases[i][1] | cases[i][2] << 16 };
			b.ptr[1] = 0;
			b.ptr[2] = 0;
			add(&s, &b);
			s.assignments++;
		}
	finish(&s, "bulk_copy (long)");
}

Test(kops_x86, lea_every_variant_and_assignment)
{
	static const int32_t imms[] = { 16, 0, -1, 0x7fffffff, INT32_MIN, 1000 };
	struct sweep s = { 0 };
	srandom(19);
	for (int sh = 0; sh < 4; sh++)
		sweep_assignments(&s, (struct sbpf_kops_payload){ .op = SBPF_KOPS_LEA, .variant = (uint16_t)sh },
				  NULL, imms, 6);
	finish(&s, "lea");
}

Test(kops_x86, popcount_every_variant_and_assignment)
{
	static const uint16_t shapes[] = { 0, KOPS_POP_32, KOPS_POP_32 | KOPS_POP_ALU32 };
	struct sweep s = { 0 };
	srandom(23);
	for (int v = 0; v < 3; v++)
		sweep_assignments(&s, (struct sbpf_kops_payload){ .op = SBPF_KOPS_POPCOUNT, .variant = shapes[v] },
				  NULL, NULL, 0);
	finish(&s, "popcount");
}

/* ---- mutants: each soundness trap, deliberately fallen into, is caught ---- */

/* Runs @fill's sweep with @mutant emits and asserts a mismatch is found. */
static void expect_caught(int mutant, void (*fill)(struct sweep *), const char *trap)
{
	struct sweep s = { .mutant = mutant };
	srandom(21);
	fill(&s);
	flush(&s);
	free(s.v);
	cr_assert_gt(s.bad, 0, "mutant %d (%s) was not caught", mutant, trap);
	cr_log_info("mutant %s: caught (%d blocks; first: %s)", trap, s.bad, s.why);
}

static void fill_rot_reg(struct sweep *s)
{
	for (int v = KOPS_ROT_REG; v < 8; v = (v + 1) | KOPS_ROT_REG)
		sweep_assignments(s, (struct sbpf_kops_payload){ .op = SBPF_KOPS_ROTATE, .variant = (uint16_t)v }, NULL, NULL, 0);
}

static void fill_rot_imm(struct sweep *s)
{
	sweep_assignments(s, (struct sbpf_kops_payload){ .op = SBPF_KOPS_ROTATE, .imm = 13 }, NULL, NULL, 0);
}

static void fill_sel(struct sweep *s)
{
	for (size_t ci = 0; ci < 3; ci++)
		for (int flags = 0; flags < 8; flags += 2)
			sweep_assignments(s, (struct sbpf_kops_payload){ .op = SBPF_KOPS_SELECT,
					  .variant = (uint16_t)(conds[ci] | flags << 4), .imm = -2 }, NULL, NULL, 0);
}

static void fill_ext(struct sweep *s)
{
	sweep_assignments(s, (struct sbpf_kops_payload){ .op = SBPF_KOPS_EXTRACT, .imm = 0 | 32 << 8 }, NULL, NULL, 0);
}

static void fill_bsl16(struct sweep *s)
{
	static const struct place pl = { 19, 0, -16 };
	sweep_assignments(s, (struct sbpf_kops_payload){ .op = SBPF_KOPS_BSWAP_LOAD, .variant = KOPS_BSL_16 }, &pl, NULL, 0);
}

static void fill_copy(struct sweep *s)
{
	static const struct place pl = { 0, 8, 0 };
	sweep_assignments(s, (struct sbpf_kops_payload){ .op = SBPF_KOPS_BULK_COPY, .variant = 40 }, &pl, NULL, 0);
}

static void fill_lea(struct sweep *s)
{
	sweep_assignments(s, (struct sbpf_kops_payload){ .op = SBPF_KOPS_LEA, .variant = 2, .imm = 8 }, NULL, NULL, 0);
}

Test(kops_x86, mutant_rotate_forgets_rcx)
{
	expect_caught(KOPS_MUT_ROT_CL, fill_rot_reg, "rotate by register clobbers rcx = r4");
}

Test(kops_x86, mutant_undeclared_temporary)
{
	expect_caught(KOPS_MUT_SCRATCH, fill_rot_imm, "emit writes an undeclared eBPF register");
}

Test(kops_x86, mutant_select_flags_leak)
{
	expect_caught(KOPS_MUT_SEL_NOCMP, fill_sel, "select reads flags of earlier code");
}

Test(kops_x86, mutant_select_cmov32_writes_untaken)
{
	expect_caught(KOPS_MUT_SEL_CMOV32, fill_sel, "a failed 32-bit cmov still writes dst");
}

Test(kops_x86, mutant_select_dst_aliases_lhs)
{
	expect_caught(KOPS_MUT_SEL_ALIAS, fill_sel, "select writes dst before comparing (dst == a)");
}

Test(kops_x86, mutant_extract_upper_half)
{
	/* The fallback path only: the mutant is in the emit without BMI1,
	 * which the batch's no-BMI1 modes run. */
	expect_caught(KOPS_MUT_EXT_NOZX, fill_ext, "64-bit extract of 32 bits keeps the upper half");
}

Test(kops_x86, mutant_bswap16_no_zero_extension)
{
	unsigned int eax, ebx, ecx, edx;
	if (!(__get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 22))))
		cr_skip_test("this CPU has no MOVBE: the mutant is in the MOVBE emit");
	expect_caught(KOPS_MUT_BSL16_NOZX, fill_bsl16, "movbe r16 leaves the upper bits");
}

Test(kops_x86, mutant_bulk_copy_ignores_overlap)
{
	expect_caught(KOPS_MUT_COPY_OVERLAP, fill_copy, "wide moves on overlapping ranges");
}

Test(kops_x86, mutant_lea_32bit)
{
	expect_caught(KOPS_MUT_LEA32, fill_lea, "32-bit lea truncates");
}

/* ---- static properties of every emit ------------------------------------- */

static const uint8_t regmap[SBPF_NREGS] = { /* the x86-64 backend's map (docs/jit.md) */
	X64_RAX, X64_RDI, X64_RSI, X64_RDX, X64_RCX, X64_R8,
	X64_RBX, X64_R13, X64_R14, X64_R15, X64_RBP,
};

/* x86 register number (0-15, 16 + n for xmm n, 32 for flags) of a
 * capstone register name, or -1. */
static int host_reg(const char *name)
{
	static const char *const gpr[16][4] = {
		{ "rax", "eax", "ax", "al" }, { "rcx", "ecx", "cx", "cl" }, { "rdx", "edx", "dx", "dl" },
		{ "rbx", "ebx", "bx", "bl" }, { "rsp", "esp", "sp", "spl" }, { "rbp", "ebp", "bp", "bpl" },
		{ "rsi", "esi", "si", "sil" }, { "rdi", "edi", "di", "dil" }, { "r8", "r8d", "r8w", "r8b" },
		{ "r9", "r9d", "r9w", "r9b" }, { "r10", "r10d", "r10w", "r10b" }, { "r11", "r11d", "r11w", "r11b" },
		{ "r12", "r12d", "r12w", "r12b" }, { "r13", "r13d", "r13w", "r13b" },
		{ "r14", "r14d", "r14w", "r14b" }, { "r15", "r15d", "r15w", "r15b" },
	};
	for (int r = 0; r < 16; r++)
		for (int k = 0; k < 4; k++)
			if (!strcmp(name, gpr[r][k]))
				return r;
	if (!strncmp(name, "xmm", 3))
		return 16 + atoi(name + 3);
	if (!strcmp(name, "rflags") || !strcmp(name, "eflags") || !strcmp(name, "flags"))
		return 32;
	return -1;
}

/* mem_check for standalone emits: unchecked emits never call it. */
static int fake_mem_check(struct kops_x86 *x, size_t slot, int32_t *disp)
{
	(void)x;
	(void)slot;
	(void)disp;
	cr_assert_fail("mem_check called by an unchecked emit");
	return -1;
}

/* Emits @p standalone (unchecked, features @f, mutant none) into @b; 0 or the emit's error. */
static int emit_alone(const struct sbpf_kops_payload *p, unsigned int f, struct jit_buf *b)
{
	struct kops_x86 x = { .b = b, .reg = regmap, .features = f, .checked = false,
			      .mem_check = fake_mem_check };
	return kops_op(p->op)->emit_x86_64(p, &x);
}

/* Host registers an emit of @p may write: its dst and clobbers (mapped),
 * the op's declared scratch, and the flags. */
static uint64_t allowed_writes(const struct sbpf_kops_payload *p)
{
	const struct kops_op *o = kops_op(p->op);
	uint64_t m = 1ull << 32;
	uint16_t clob = o->clobbers(p) | (o->writes_dst ? 1u << p->dst : 0);
	for (int r = 0; r < SBPF_NREGS; r++)
		if (clob >> r & 1)
			m |= 1ull << regmap[r];
	for (int i = 0; i < 32; i++)
		if (o->x86_scratch >> i & 1)
			m |= 1ull << i;
	return m;
}

/* The single register @insn reads and the single one it writes besides
 * flags (a plain register move), as host numbers; 0 when it is not that. */
static int plain_move(csh cs, const cs_insn *insn, int *from, int *to)
{
	cs_regs rr, ww;
	uint8_t nr = 0, nw = 0;
	if (strcmp(insn->mnemonic, "mov") || cs_regs_access(cs, insn, rr, &nr, ww, &nw) != CS_ERR_OK ||
	    nr != 1 || nw != 1)
		return 0;
	*from = host_reg(cs_reg_name(cs, rr[0]));
	*to = host_reg(cs_reg_name(cs, ww[0]));
	return *from >= 0 && *to >= 0;
}

/* Disassembles @b and asserts every register written is in @allowed, or
 * borrowed: saved into an allowed register by the first instruction and
 * restored from it by the last (rcx for a rotate by register; the
 * differential sweeps check the value survives). Counts instructions. */
static void check_writes(csh cs, const struct jit_buf *b, uint64_t allowed, const struct sbpf_kops_payload *p,
			 long *ninsns)
{
	cs_insn *ins;
	size_t count = cs_disasm(cs, b->p, b->len, 0, 0, &ins);
	char d[128];
	describe(p, d, sizeof(d));
	int s1, t1, s2, t2;
	if (count >= 2 && plain_move(cs, &ins[0], &s1, &t1) && plain_move(cs, &ins[count - 1], &s2, &t2) &&
	    s1 == t2 && t1 == s2 && (allowed >> t1 & 1) && !(allowed >> s1 & 1))
		allowed |= 1ull << s1;
	size_t bytes = 0;
	for (size_t i = 0; i < count; i++) {
		cs_regs rr, ww;
		uint8_t nr = 0, nw = 0;
		cr_assert_eq(cs_regs_access(cs, &ins[i], rr, &nr, ww, &nw), CS_ERR_OK);
		for (int k = 0; k < nw; k++) {
			const char *name = cs_reg_name(cs, ww[k]);
			int h = host_reg(name);
			cr_assert(h >= 0 && (allowed >> h & 1), "%s: %s %s writes %s, which it may not",
				  d, ins[i].mnemonic, ins[i].op_str, name);
		}
		bytes += ins[i].size;
	}
	cr_assert_eq(bytes, b->len, "%s: capstone could not decode all %zu bytes", d, b->len);
	*ninsns += (long)count;
	cs_free(ins, count);
}

/* Variants worth enumerating for op @id: every flag combination, or for
 * bulk_copy (variant = length) lengths around each chunk and wide-move size. */
static size_t variants(uint32_t id, int *out)
{
	static const int lengths[] = { 1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 100, 255, 256 };
	size_t n = 0;
	if (id == SBPF_KOPS_BULK_COPY) {
		for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++)
			out[n++] = lengths[i];
		return n;
	}
	for (int v = 0; v < 128; v++)
		out[n++] = v;
	return n;
}

/* Every op, a spread of variants and assignments: the emit writes only
 * allowed registers, stays within its size bound, and when it declines
 * (bulk_copy in checked mode) emits nothing. */
Test(kops_x86, emits_write_only_dst_clobbers_and_declared_scratch)
{
	csh cs;
	cr_assert_eq(cs_open(CS_ARCH_X86, CS_MODE_64, &cs), CS_ERR_OK);
	cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
	long emits = 0, ninsns = 0;
	char why[128];
	for (uint32_t op = 1; op < SBPF_KOPS__MAX; op++) {
		const struct kops_op *o = kops_op(op);
		cr_assert_not_null(o->emit_x86_64, "%s has no x86-64 emit", o->name);
		cr_assert_eq(o->x86_scratch & 0xffff & ~(KOPS_X86_SCRATCH_GPR(X64_R9) | KOPS_X86_SCRATCH_GPR(X64_R10) |
							 KOPS_X86_SCRATCH_GPR(X64_R11)), 0,
			     "%s declares scratch registers the JIT relies on", o->name);
		int vs[128];
		size_t nv = variants(op, vs);
		for (size_t vi = 0; vi < nv; vi++)
			for (int k = 0; k < 110; k++) {
				struct sbpf_kops_payload p = o->example;
				int v = vs[vi];
				p.variant = (uint16_t)v;
				p.dst = (uint8_t)(k % 10), p.a = (uint8_t)(k / 10 % 11), p.b = (uint8_t)((k * 7) % 10);
				p.c = (uint8_t)((k * 3 + 1) % 10);
				if (sbpf_kops_check_payload(&p, why, sizeof(why)))
					continue;
				for (unsigned f = 0; f < 2; f++) {
					struct jit_buf b = { 0 };
					int rc = emit_alone(&p, f ? KOPS_X86_F_BMI1 | KOPS_X86_F_FAST_BEXTR | KOPS_X86_F_MOVBE |
								 KOPS_X86_F_POPCNT : 0, &b);
					if (o->id == SBPF_KOPS_POPCOUNT && !f) { /* without POPCNT: declines, emits nothing */
						cr_assert(rc == -EOPNOTSUPP && b.len == 0);
						continue;
					}
					cr_assert_eq(rc, 0);
					cr_assert_leq(b.len, (size_t)o->native_max_x86_64, "%s: %zu bytes > bound %d",
						      o->name, b.len, o->native_max_x86_64);
					if (o->id != SBPF_KOPS_PREFETCH)
						cr_assert_gt(b.len, 0);
					check_writes(cs, &b, allowed_writes(&p), &p, &ninsns);
					free(b.p);
					emits++;
				}
			}
	}
	/* Checked mode: bulk_copy declines without emitting. */
	struct jit_buf b = { 0 };
	struct kops_x86 x = { .b = &b, .reg = regmap, .checked = true, .mem_check = fake_mem_check };
	cr_assert_eq(kops_op(SBPF_KOPS_BULK_COPY)->emit_x86_64(&kops_op(SBPF_KOPS_BULK_COPY)->example, &x), -EOPNOTSUPP);
	cr_assert_eq(b.len, 0);
	cs_close(&cs);
	cr_log_info("%ld emits (%ld instructions) write only allowed registers", emits, ninsns);
}

/* The registers each proof sequence writes are dst and its declared
 * clobbers: what rule 4 (clobbers dead after the site) relies on. */
Test(kops_x86, proof_sequences_write_only_dst_and_declared_clobbers)
{
	char why[128];
	long checked = 0;
	for (uint32_t op = 1; op < SBPF_KOPS__MAX; op++) {
		const struct kops_op *o = kops_op(op);
		int vs[128];
		size_t nv = variants(op, vs);
		for (size_t vi = 0; vi < nv; vi++)
			for (int k = 0; k < 1000; k += 3) {
				struct sbpf_kops_payload p = o->example;
				int v = vs[vi];
				p.variant = (uint16_t)v;
				p.dst = (uint8_t)(k % 10), p.a = (uint8_t)(k / 10 % 10), p.b = (uint8_t)(k / 100 % 10);
				p.c = (uint8_t)((k * 7 + 3) % 10);
				if (sbpf_kops_check_payload(&p, why, sizeof(why)))
					continue;
				struct sbpf_builder *b = sbpf_builder__new();
				cr_assert_geq(sbpf_kops_instantiate(&p, b), 0);
				sbpf_builder__emit(b, SBPF_EXIT_INSN());
				struct sbpf_insn *seq;
				size_t n;
				cr_assert_eq(sbpf_builder__finish(b, &seq, &n, NULL), 0);
				sbpf_builder__free(b);
				uint16_t may = o->clobbers(&p) | (o->writes_dst ? 1u << p.dst : 0);
				for (size_t i = 0; i + 1 < n; i++) {
					int cls = SBPF_CLASS(seq[i].code);
					int writes = cls == SBPF_ALU || cls == SBPF_ALU64 || cls == SBPF_LDX;
					if (writes)
						cr_assert(may >> seq[i].dst_reg & 1, "%s variant 0x%x: proof writes r%d, undeclared",
							  o->name, v, seq[i].dst_reg);
				}
				cr_assert_leq(n - 1, (size_t)o->max_proof_len, "%s: proof longer than its bound", o->name);
				free(seq);
				checked++;
			}
	}
	cr_log_info("%ld proof sequences write only dst and declared clobbers", checked);
}

/* ---- encodings of the new instruction forms (bytes from GNU as) ---------- */

static char *hex(const uint8_t *p, size_t n)
{
	static char buf[256];
	buf[0] = '\0';
	for (size_t i = 0; i < n && 3 * i + 3 < sizeof(buf); i++)
		sprintf(buf + 3 * i, "%02x ", p[i]);
	return buf;
}

#define ENC(call, ...)                                                                   \
	do {                                                                             \
		struct jit_buf b_ = { 0 };                                               \
		struct jit_buf *b = &b_;                                                 \
		call;                                                                    \
		const uint8_t e_[] = { __VA_ARGS__ };                                    \
		cr_expect(b_.len == sizeof(e_) && !memcmp(b_.p, e_, sizeof(e_)),         \
			  "%s: got %s", #call, hex(b_.p, b_.len));                       \
		free(b_.p);                                                              \
	} while (0)

Test(kops_x86, encodings)
{
	ENC(emit_cmov(b, 1, X64_CC_NE, X64_RDI, X64_RSI), 0x48, 0x0f, 0x45, 0xfe);
	ENC(emit_cmov(b, 1, X64_CC_A, X64_R15, X64_R11), 0x4d, 0x0f, 0x47, 0xfb);
	ENC(emit_cmov(b, 0, X64_CC_L, X64_RAX, X64_R8), 0x41, 0x0f, 0x4c, 0xc0);
	ENC(emit_bextr(b, 1, X64_RAX, X64_RDI, X64_R11), 0xc4, 0xe2, 0xa0, 0xf7, 0xc7);
	ENC(emit_bextr(b, 0, X64_R13, X64_R14, X64_R11), 0xc4, 0x42, 0x20, 0xf7, 0xee);
	ENC(emit_movbe_load(b, 2, X64_RAX, X64_RDI, 3), 0x66, 0x0f, 0x38, 0xf0, 0x47, 0x03);
	ENC(emit_movbe_load(b, 4, X64_R14, X64_RBP, -5), 0x44, 0x0f, 0x38, 0xf0, 0x75, 0xfb);
	ENC(emit_movbe_load(b, 8, X64_RBX, X64_R13, 0), 0x49, 0x0f, 0x38, 0xf0, 0x5d, 0x00);
	ENC(emit_prefetcht0(b, X64_RDI, 64), 0x0f, 0x18, 0x4f, 0x40);
	ENC(emit_prefetcht0(b, X64_R13, 0), 0x41, 0x0f, 0x18, 0x4d, 0x00);
	ENC(emit_movdqu_load(b, 0, X64_R10, 16), 0xf3, 0x41, 0x0f, 0x6f, 0x42, 0x10);
	ENC(emit_movdqu_store(b, X64_R11, 240, 0), 0xf3, 0x41, 0x0f, 0x7f, 0x83, 0xf0, 0x00, 0x00, 0x00);
	ENC(emit_movdqu_load(b, 0, X64_RSI, 0), 0xf3, 0x0f, 0x6f, 0x06);
	ENC(emit_lea_sib(b, 1, X64_RAX, X64_RDI, X64_RSI, 3, 16), 0x48, 0x8d, 0x44, 0xf7, 0x10);
	ENC(emit_lea_sib(b, 1, X64_RBX, X64_RBP, X64_R13, 0, 0), 0x4a, 0x8d, 0x5c, 0x2d, 0x00);
	ENC(emit_lea_sib(b, 1, X64_R15, X64_R13, X64_RBP, 2, -1000), 0x4d, 0x8d, 0xbc, 0xad, 0x18, 0xfc, 0xff, 0xff);
	ENC(emit_lea_sib(b, 0, X64_RAX, X64_RDI, X64_RSI, 1, 0), 0x8d, 0x04, 0x77);
}

/* The emits the JIT picks, by their bytes: the forms the issue names. */
Test(kops_x86, native_forms)
{
	struct { struct sbpf_kops_payload p; unsigned f; const char *mnemonic; } cases[] = {
		{ { .op = SBPF_KOPS_ROTATE, .dst = 1, .c = 2, .imm = 8 }, 0, "rol" },
		{ { .op = SBPF_KOPS_ROTATE, .variant = KOPS_ROT_RIGHT | KOPS_ROT_32, .dst = 1, .c = 2, .imm = 8 }, 0, "ror" },
		{ { .op = SBPF_KOPS_SELECT, .variant = 2 | KOPS_SEL_RHS_REG, .dst = 0, .a = 1, .b = 2, .c = 3 }, 0, "cmova" },
		{ { .op = SBPF_KOPS_EXTRACT, .dst = 0, .a = 1, .imm = 4 | 8 << 8 },
		  KOPS_X86_F_BMI1 | KOPS_X86_F_FAST_BEXTR, "bextr" },
		{ { .op = SBPF_KOPS_EXTRACT, .dst = 0, .a = 1, .imm = 4 | 8 << 8 }, 0, "shr" },
		/* BMI1 where BEXTR is 2 µops (Intel): mov, shr, and */
		{ { .op = SBPF_KOPS_EXTRACT, .dst = 0, .a = 1, .imm = 4 | 8 << 8 }, KOPS_X86_F_BMI1, "shr" },
		{ { .op = SBPF_KOPS_BSWAP_LOAD, .variant = 2, .dst = 0, .a = 1 }, KOPS_X86_F_MOVBE, "movbe" },
		{ { .op = SBPF_KOPS_BSWAP_LOAD, .variant = 2, .dst = 0, .a = 1 }, 0, "bswap" },
		{ { .op = SBPF_KOPS_PREFETCH, .a = 1, .imm = 64 }, 0, "prefetcht0" },
		{ { .op = SBPF_KOPS_BULK_COPY, .variant = 32, .dst = 1, .a = 1, .c = 3, .imm = 64 << 16 }, 0, "movdqu" },
		{ { .op = SBPF_KOPS_LEA, .variant = 3, .dst = 0, .a = 1, .b = 2, .imm = 16 }, 0, "lea" },
	};
	csh cs;
	cr_assert_eq(cs_open(CS_ARCH_X86, CS_MODE_64, &cs), CS_ERR_OK);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jit_buf b = { 0 };
		cr_assert_eq(emit_alone(&cases[i].p, cases[i].f, &b), 0);
		cs_insn *ins;
		size_t count = cs_disasm(cs, b.p, b.len, 0, 0, &ins);
		int found = 0;
		for (size_t k = 0; k < count; k++)
			found |= !strcmp(ins[k].mnemonic, cases[i].mnemonic);
		cr_expect(found, "case %zu: no %s in the emit", i, cases[i].mnemonic);
		for (size_t k = 0; k < count; k++)
			cr_expect(strcmp(ins[k].mnemonic, "bextr") || (cases[i].f & KOPS_X86_F_FAST_BEXTR),
				  "case %zu: bextr where it is 2 µops", i);
		cs_free(ins, count);
		free(b.p);
	}
	cs_close(&cs);
}

/* ---- the JIT's own checks of the sites it is given ------------------------ */

static void one_site_program(struct prog *pg, const struct sbpf_kops_payload *p)
{
	struct sbpf_insn site[2];
	put(pg, SBPF_MOV64_IMM(1, 5));
	put(pg, SBPF_MOV64_IMM(2, 3));
	sbpf_kops_encode(p, site);
	put(pg, site[0]);
	put(pg, site[1]);
	put(pg, SBPF_MOV64_REG(0, 1));
	put(pg, SBPF_EXIT_INSN());
}

Test(kops_x86, jit_rechecks_sites)
{
	struct prog pg = { 0 };
	one_site_program(&pg, &(struct sbpf_kops_payload){ .op = SBPF_KOPS_ROTATE, .dst = 1, .c = 3, .imm = 8 });
	struct sbpf_kops_lowered l;
	struct sbpf_validate_error verr;
	cr_assert_eq(sbpf_kops_lower(pg.v, pg.n, &l, &verr), 0, "%s", verr.rule);
	struct sbpf_jit_opts jo = { .sz = sizeof(jo), .kops = &l };
	struct sbpf_jit *jit = sbpf_jit__new(l.insns, l.n, &jo, &verr);
	cr_assert_not_null(jit);
	uint64_t r0;
	cr_assert_eq(sbpf_jit__run(jit, NULL, 0, &r0, NULL), 0);
	cr_assert_eq(r0, 5ull << 8);
	size_t from, to;
	cr_assert_eq(sbpf_jit__kops_site(jit, 0, &from, &to), 1);
	cr_assert_eq(to - from, 4, "rol rdi, 8 is 4 bytes (got %zu)", to - from);
	cr_assert_eq(sbpf_jit__kops_site(jit, 1, &from, &to), -1);
	sbpf_jit__free(jit);

	/* A different program than the sites came from. */
	struct sbpf_insn other[8];
	memcpy(other, l.insns, l.n * sizeof(*other));
	other[0].imm = 6;
	errno = 0;
	cr_assert_null(sbpf_jit__new(other, l.n, &jo, &verr));
	cr_assert_eq(errno, EINVAL);
	cr_assert(strstr(verr.rule, "another program"), "%s", verr.rule);

	/* A region that is not the payload's proof sequence. */
	struct sbpf_kops_lowered bad = l;
	struct sbpf_kops_site s = l.sites[0];
	s.p.imm = 9;
	bad.sites = &s;
	cr_assert_null(sbpf_jit__new(l.insns, l.n, &(struct sbpf_jit_opts){ .sz = sizeof(jo), .kops = &bad }, &verr));
	cr_assert(strstr(verr.rule, "does not hold the proof sequence"), "%s", verr.rule);

	/* A region shifted by one slot. */
	s = l.sites[0];
	s.lowered_start++;
	cr_assert_null(sbpf_jit__new(l.insns, l.n, &(struct sbpf_jit_opts){ .sz = sizeof(jo), .kops = &bad }, &verr));

	/* A malformed payload. */
	s = l.sites[0];
	s.p.c = 1; /* scratch == dst */
	cr_assert_null(sbpf_jit__new(l.insns, l.n, &(struct sbpf_jit_opts){ .sz = sizeof(jo), .kops = &bad }, &verr));
	cr_assert(strstr(verr.rule, "malformed site"), "%s", verr.rule);

	/* A clobbered register live after the region (r3 read by the exit path). */
	struct sbpf_insn live[8];
	memcpy(live, l.insns, l.n * sizeof(*live));
	live[l.n - 2] = SBPF_MOV64_REG(0, 3);
	struct sbpf_kops_lowered lv = l;
	lv.insns = live;
	cr_assert_null(sbpf_jit__new(live, l.n, &(struct sbpf_jit_opts){ .sz = sizeof(jo), .kops = &lv }, &verr));
	cr_assert(strstr(verr.rule, "clobbers r3"), "%s", verr.rule);

	/* A jump into the middle of the region. */
	struct sbpf_insn into[9];
	into[0] = SBPF_JMP_IMM(SBPF_JEQ, 1, 0, 3);
	memcpy(into + 1, l.insns, l.n * sizeof(*into));
	struct sbpf_kops_lowered jl = l;
	struct sbpf_kops_site js = l.sites[0];
	js.lowered_start++;
	jl.insns = into;
	jl.n = l.n + 1;
	jl.sites = &js;
	cr_assert_null(sbpf_jit__new(into, jl.n, &(struct sbpf_jit_opts){ .sz = sizeof(jo), .kops = &jl }, &verr));
	cr_assert(strstr(verr.rule, "enters the middle"), "%s", verr.rule);

	sbpf_kops_lowered__free(&l);
	free(pg.v);
}

Test(kops_x86, wide_load_every_variant_and_assignment)
{
	static const struct place places[] = {
		{ 19, 0, -16 }, /* pointer 16 below the field: displacement +16 */
		{ 59, 0, 5 },   /* pointer 5 above: displacement -5 */
		{ 3, 0, 0 },    /* an odd byte of the area */
		{ 120, 0, 0 },  /* last 8 bytes of the stack area */
		{ 77, 0, 1000 },/* a displacement beyond disp8 */
	};
	struct sweep s = { 0 };
	srandom(29);
	for (int be = 0; be < 2; be++)
		for (int v = 0; v <= KOPS_WIDE_64; v++)
			for (size_t i = 0; i < sizeof(places) / sizeof(places[0]); i++)
				sweep_assignments(&s, (struct sbpf_kops_payload){ .op = SBPF_KOPS_WIDE_LOAD,
										  .variant = (uint16_t)(v | (be ? KOPS_WIDE_BE : 0)) },
						  &places[i], NULL, 0);
	finish(&s, "wide_load");
}

/* Runs @pg (one site, then exit) lowered on the interpreter and on the
 * checked JIT with and without MOVBE, on 64 bytes of memory: the same
 * return code, and on a fault the same pc and message, else the same r0.
 * @v and @i name the case in messages. */
static void faults_like_the_interpreter(const struct prog *pg, int v, size_t i)
{
	struct sbpf_kops_lowered l;
	struct sbpf_validate_error verr;
	cr_assert_eq(sbpf_kops_lower(pg->v, pg->n, &l, &verr), 0, "%s", verr.rule);
	uint8_t mem[64], m2[64];
	for (int k = 0; k < 64; k++)
		mem[k] = m2[k] = (uint8_t)(k * 3 + 1);
	struct sbpf_vm *vm = sbpf_vm__new(l.insns, l.n, NULL, NULL);
	uint64_t want = 0, got = 0;
	struct sbpf_run_error e1 = { 0 }, e2 = { 0 };
	int rc1 = sbpf_vm__run(vm, mem, sizeof(mem), &want, &e1);
	for (unsigned f = 0; f < 2; f++) {
		struct sbpf_jit_opts jo = { .sz = sizeof(jo), .kops = &l, .features = f ? SBPF_JIT_NO_MOVBE : 0 };
		struct sbpf_jit *jit = sbpf_jit__new(l.insns, l.n, &jo, &verr);
		cr_assert_not_null(jit);
		int rc2 = sbpf_jit__run(jit, m2, sizeof(m2), &got, &e2);
		size_t from, to;
		cr_assert_eq(sbpf_jit__kops_site(jit, 0, &from, &to), 1);
		cr_assert_eq(rc2, rc1, "variant %d case %zu: rc %d, interpreter %d (%s)", v, i, rc2, rc1, e1.reason);
		if (rc1) {
			cr_assert_eq(e2.pc, e1.pc, "variant %d case %zu: pc %zu, interpreter %zu", v, i, e2.pc, e1.pc);
			cr_assert_str_eq(e2.reason, e1.reason);
		} else {
			cr_assert_eq(got, want, "variant %d case %zu", v, i);
		}
		sbpf_jit__free(jit);
	}
	sbpf_vm__free(vm);
	sbpf_kops_lowered__free(&l);
}

/* Checked mode: a wide_load whose bytes are partly out of bounds stops at
 * the byte load of the proof sequence where the interpreter stops (every
 * byte's check comes first, in order), with its message and pc. */
Test(kops_x86, wide_load_faults_like_the_interpreter)
{
	static const struct { int base; int32_t off; } cases[] = {
		{ 1, 62 }, { 1, 63 }, { 1, 61 }, { 1, 57 }, { 1, -1 }, { 1, 1000 }, { 10, -2 }, { 10, -3 },
		{ 10, 0 }, { 10, -513 }, { 1, 56 }, { 10, -8 },
	};
	for (int v = 0; v < 8; v++) {
		if ((v & KOPS_WIDE_SIZE) > KOPS_WIDE_64)
			continue;
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
			for (int alias = 0; alias < 2; alias++) {
				struct prog pg = { 0 };
				put(&pg, SBPF_MOV64_IMM(0, 0));
				put(&pg, SBPF_STX_MEM(SBPF_DW, SBPF_REG_FP, 0, -8)); /* the stack the load may read */
				put(&pg, SBPF_STX_MEM(SBPF_DW, SBPF_REG_FP, 0, -16));
				int dst = alias && cases[i].base != SBPF_REG_FP ? cases[i].base : 0;
				struct sbpf_insn site[2];
				sbpf_kops_encode(&(struct sbpf_kops_payload){ .op = SBPF_KOPS_WIDE_LOAD, .variant = (uint16_t)v,
									      .dst = (uint8_t)dst, .a = (uint8_t)cases[i].base,
									      .b = 3, .c = 4, .imm = cases[i].off }, site);
				put(&pg, site[0]);
				put(&pg, site[1]);
				if (dst)
					put(&pg, SBPF_MOV64_REG(0, dst));
				put(&pg, SBPF_EXIT_INSN());
				faults_like_the_interpreter(&pg, v, i);
				free(pg.v);
			}
	}
}

/* Checked mode: a bswap_load out of bounds stops at the proof sequence's
 * load with the interpreter's message and pc; memory and stack faults. */
Test(kops_x86, bswap_load_faults_like_the_interpreter)
{
	static const struct { int base; int32_t off; } cases[] = {
		{ 1, 62 }, { 1, 63 }, { 1, -1 }, { 1, 1000 }, { 10, -2 }, { 10, 0 }, { 10, -513 }, { 1, 56 },
	};
	for (int v = 0; v <= KOPS_BSL_64; v++)
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			struct prog pg = { 0 };
			put(&pg, SBPF_MOV64_IMM(0, 0));
			put(&pg, SBPF_STX_MEM(SBPF_DW, SBPF_REG_FP, 0, -8)); /* the stack the load may read */
			put(&pg, SBPF_STX_MEM(SBPF_DW, SBPF_REG_FP, 0, -16));
			struct sbpf_insn site[2];
			sbpf_kops_encode(&(struct sbpf_kops_payload){ .op = SBPF_KOPS_BSWAP_LOAD, .variant = (uint16_t)v,
								      .dst = 0, .a = (uint8_t)cases[i].base, .imm = cases[i].off }, site);
			put(&pg, site[0]);
			put(&pg, site[1]);
			put(&pg, SBPF_EXIT_INSN());
			faults_like_the_interpreter(&pg, v, i);
			free(pg.v);
		}
}

/* A site at a loop header: the checked JIT still charges the budget there
 * (the native code replaces the region including the header's check). */
Test(kops_x86, site_at_loop_header_keeps_the_budget)
{
	struct prog pg = { 0 };
	put(&pg, SBPF_MOV64_IMM(1, 1));
	put(&pg, SBPF_MOV64_IMM(0, 0));
	struct sbpf_insn site[2];
	sbpf_kops_encode(&(struct sbpf_kops_payload){ .op = SBPF_KOPS_ROTATE, .dst = 1, .c = 3, .imm = 1 }, site);
	put(&pg, site[0]); /* slot 2: loop header */
	put(&pg, site[1]);
	put(&pg, SBPF_ALU64_IMM(SBPF_ADD, 0, 1));
	put(&pg, SBPF_JMP_IMM(SBPF_JNE, 0, 1000, -4));
	put(&pg, SBPF_MOV64_REG(0, 1));
	put(&pg, SBPF_EXIT_INSN());
	struct sbpf_kops_lowered l;
	struct sbpf_validate_error verr;
	cr_assert_eq(sbpf_kops_lower(pg.v, pg.n, &l, &verr), 0, "%s", verr.rule);
	struct sbpf_vm *vm = sbpf_vm__new(l.insns, l.n, NULL, NULL);
	uint64_t want, got;
	cr_assert_eq(sbpf_vm__run(vm, NULL, 0, &want, NULL), 0);
	sbpf_vm__free(vm);
	for (int budget = 0; budget < 2; budget++) {
		struct sbpf_jit_opts jo = { .sz = sizeof(jo), .kops = &l, .loop_budget = budget ? 10 : 0 };
		struct sbpf_jit *jit = sbpf_jit__new(l.insns, l.n, &jo, &verr);
		struct sbpf_run_error err = { 0 };
		int rc = sbpf_jit__run(jit, NULL, 0, &got, &err);
		size_t from, to;
		cr_assert_eq(sbpf_jit__kops_site(jit, 0, &from, &to), 1);
		if (budget) {
			cr_assert_eq(rc, -E2BIG, "a budget of 10 loop entries must stop 1000 iterations");
		} else {
			cr_assert_eq(rc, 0);
			cr_assert_eq(got, want);
		}
		sbpf_jit__free(jit);
	}
	sbpf_kops_lowered__free(&l);
	free(pg.v);
}

/* Prefetch (an empty region) before a jump target and at the end of a
 * function: code in place, jumps still land right. */
Test(kops_x86, prefetch_empty_region)
{
	struct prog pg = { 0 };
	put(&pg, SBPF_MOV64_IMM(0, 7));
	put(&pg, SBPF_JMP_IMM(SBPF_JEQ, 1, 0, 2)); /* to the prefetch site */
	put(&pg, SBPF_MOV64_IMM(0, 9));
	put(&pg, SBPF_JA(0));
	struct sbpf_insn site[2];
	sbpf_kops_encode(&(struct sbpf_kops_payload){ .op = SBPF_KOPS_PREFETCH, .a = 10, .imm = -64 }, site);
	put(&pg, site[0]);
	put(&pg, site[1]);
	sbpf_kops_encode(&(struct sbpf_kops_payload){ .op = SBPF_KOPS_PREFETCH, .a = 1, .imm = 0 }, site);
	put(&pg, site[0]);
	put(&pg, site[1]);
	put(&pg, SBPF_EXIT_INSN());
	struct sbpf_kops_lowered l;
	struct sbpf_validate_error verr;
	cr_assert_eq(sbpf_kops_lower(pg.v, pg.n, &l, &verr), 0, "%s", verr.rule);
	cr_assert_eq(l.nsites, 2);
	cr_assert_eq(l.sites[0].lowered_len, 0);
	uint8_t mem[8] = { 0 };
	for (int unchecked = 0; unchecked < 2; unchecked++) {
		struct sbpf_jit_opts jo = { .sz = sizeof(jo), .kops = &l, .unchecked = unchecked };
		struct sbpf_jit *jit = sbpf_jit__new(l.insns, l.n, &jo, &verr);
		uint64_t r0;
		cr_assert_eq(sbpf_jit__run(jit, mem, sizeof(mem), &r0, NULL), 0);
		cr_assert_eq(r0, 9);
		size_t f0, t0, f1, t1;
		cr_assert_eq(sbpf_jit__kops_site(jit, 0, &f0, &t0), 1);
		cr_assert_eq(sbpf_jit__kops_site(jit, 1, &f1, &t1), 1);
		cr_assert(t0 > f0 && f1 == t0 && t1 > f1, "two prefetches back to back");
		cr_assert_eq((long)f0, sbpf_jit__insn_offset(jit, l.sites[0].lowered_start),
			     "a jump to the site lands on its prefetch");
		sbpf_jit__free(jit);
	}
	sbpf_kops_lowered__free(&l);
	free(pg.v);
}
