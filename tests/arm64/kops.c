/* kops.c - Kops native AArch64 emits against their proof sequences, run
 * under qemu-aarch64 by the runner (`runner kops`).
 *
 * For every operation, every variant and every register assignment the
 * payload rules accept (r10 included where it may be a memory base), the
 * ARM64 JIT running the site's native emit and the interpreter running its
 * proof sequence must end with the same registers (all but the declared
 * clobbers) and the same memory, on boundary and random inputs, in checked
 * and unchecked mode. Sites run in batches: one program holds many blocks
 * "load every register from the input; site; store every register the site
 * does not clobber". Each deliberately wrong emit (KOPS_MUT_A64_*) must be
 * caught by the same comparison. With --quick (make test) the largest sweep,
 * select with a register rhs, runs 2 of its 11 conditions, jset (tst) and
 * jsgt (cmp), with every register assignment and variant of each; the
 * condition codes are the JIT's own (a64_cond_of_jump), which the
 * conformance and differential tests cover, and the immediate-rhs sweep
 * runs all 11.
 *
 * The batch harness (layout, inputs, batch program) is tests/common/
 * kops_batch.h, shared with tests/unit/test_kops_x86.c (criterion, on the
 * host); here with plain checks instead of assertions.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jit/arm64/kops_arm64.h"
#include "jit/jitInt.h"
#include "kops/kopsInt.h"
#include "kops/ops/ops.h"
#include "safebpf/jit.h"
#include "safebpf/vm.h"

int kops_main(int argc, char **argv);

static long passed, failed;

/* A broken harness invariant: report and stop. */
#define CHECK(cond, ...)                                                        \
	do {                                                                    \
		if (!(cond)) {                                                  \
			printf("FAIL %s:%d: ", __FILE__, __LINE__);             \
			printf(__VA_ARGS__);                                    \
			printf("\nkops: %ld passed, %ld failed\n", passed, failed + 1); \
			exit(1);                                                \
		}                                                               \
	} while (0)

#include "../common/kops_batch.h"

static int rounds = ROUNDS;               /* input rounds per batch (fewer for the largest sweep) */

/* Engines a batch runs on besides the interpreter. */
struct mode {
	const char *name;
	int unchecked;
	unsigned int features;   /* SBPF_JIT_NO_* */
};

static const struct mode modes_all[] = {
	{ "checked", 0, 0 },
	{ "unchecked", 1, 0 },
};

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
	CHECK(rc == 0, "lowering refused the batch: slot %zu: %s", verr.index, verr.rule);
	CHECK(l.nsites == nb, "lowering found %zu sites, not %zu", l.nsites, nb);
	struct sbpf_vm *vm = sbpf_vm__new(l.insns, l.n, NULL, &verr);
	CHECK(vm, "interpreter refused: %s", verr.rule);
	size_t nmodes = 2;
	struct sbpf_jit *jits[2] = { NULL };
	for (size_t m = 0; m < nmodes; m++) {
		if (modes && !(modes >> m & 1))
			continue;
		struct sbpf_jit_opts jo = { .sz = sizeof(jo), .unchecked = modes_all[m].unchecked,
					    .features = modes_all[m].features, .kops = &l };
		jits[m] = sbpf_jit__new(l.insns, l.n, &jo, &verr);
		CHECK(jits[m], "JIT refused the sites: %s", verr.rule);
		jit_set_kops_mutant(jits[m], mutant);
		CHECK(sbpf_jit__compile(jits[m]) == 0, "compile failed");
		/* The emits really ran: every site native (bulk_copy: not in checked
		 * mode; popcount: not the 64-bit shape, which declines on arm64). */
		for (size_t i = 0; i < nb; i++) {
			size_t from, to;
			int want_native = !(blks[i].p.op == SBPF_KOPS_BULK_COPY && !modes_all[m].unchecked) &&
					  !(blks[i].p.op == SBPF_KOPS_POPCOUNT && !(blks[i].p.variant & KOPS_POP_32));
			CHECK(sbpf_jit__kops_site(jits[m], i, &from, &to) == want_native,
			      "site %zu: native %d expected in mode %s", i, want_native, modes_all[m].name);
		}
	}
	size_t out_size = REGS_OUT + (writes_memory(&blks[0].p) ? MEM_OUT : 0);
	size_t len = OUT_OFF + nb * out_size;
	uint8_t *init = calloc(1, len), *want = malloc(len), *got = malloc(len);
	CHECK(init && want && got, "out of memory");
	int bad = 0;
	for (int k = 0; k < rounds && !bad; k++) {
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
		CHECK(rc == 0, "interpreter failed at %zu: %s", err.pc, err.reason);
		for (size_t m = 0; m < nmodes && !bad; m++) {
			if (!jits[m])
				continue;
			memcpy(got, init, len);
			rc = sbpf_jit__run(jits[m], got, len, &r0, &err);
			CHECK(rc == 0, "JIT (%s) failed at %zu: %s", modes_all[m].name, err.pc, err.reason);
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
		CHECK(s->v, "out of memory");
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
	printf("kops: %s: %ld register assignments, %ld native-vs-proof comparisons, %d mismatching%s%s\n", what,
	       s->assignments, s->cmps, s->bad, s->bad ? "; first: " : "", s->bad ? s->why : "");
	if (s->bad || !s->assignments)
		failed++;
	else
		passed++;
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

static void rotate_every_variant_and_assignment(void)
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
static int quick; /* runner kops --quick: the register-rhs select sweep on 2 of its 11 conditions */

static void sweep_select(struct sweep *s, int rhs_reg)
{
	for (size_t ci = 0; ci < sizeof(conds) / sizeof(conds[0]); ci++)
		for (int flags = 0; flags < 8; flags++) {
			if (quick && rhs_reg && conds[ci] != 4 && conds[ci] != 6)
				continue; /* jset (tst) and jsgt (cmp): both comparison forms */
			if (!(flags & 1) != !rhs_reg)
				continue;
			uint16_t v = (uint16_t)(conds[ci] | flags << 4);
			sweep_assignments(s, (struct sbpf_kops_payload){ .op = SBPF_KOPS_SELECT, .variant = v },
					  NULL, rhs_reg ? NULL : sel_imms, rhs_reg ? 0 : 8);
		}
}

static void select_rhs_imm_every_variant_and_assignment(void)
{
	struct sweep s = { 0 };
	srandom(12);
	sweep_select(&s, 0);
	finish(&s, "select (rhs imm)");
}

/* 440,000 assignments: unchecked mode only. A select has no memory operand,
 * so its emit is the same in both modes; the rhs-imm and mutant sweeps run
 * every variant in checked mode too. */
static void select_rhs_reg_every_variant_and_assignment(void)
{
	struct sweep s = { .modes = 1u << 1 };
	srandom(13);
	rounds = 4; /* one of each input kind: boundary, random, all equal, small counts */
	sweep_select(&s, 1);
	finish(&s, "select (rhs reg)");
	rounds = ROUNDS;
}

static const int ext_fields[][2] = {
	{ 0, 1 }, { 5, 6 }, { 0, 32 }, { 31, 1 }, { 12, 20 }, { 40, 24 }, { 32, 32 }, { 63, 1 },
	{ 0, 31 }, { 1, 31 }, { 33, 31 }, { 8, 8 },
};

static void extract_every_variant_and_assignment(void)
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

static void wide_load_every_variant_and_assignment(void)
{
	static const struct place places[] = {
		{ 19, 0, -16 }, /* pointer 16 below the field: displacement +16 */
		{ 59, 0, 5 },   /* pointer 5 above: displacement -5 */
		{ 3, 0, 0 },    /* an odd byte of the area */
		{ 120, 0, 0 },  /* last 8 bytes of the stack area */
		{ 77, 0, 1000 },/* a displacement beyond the scaled immediates */
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

static void bswap_load_every_variant_and_assignment(void)
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

static void prefetch_every_assignment_changes_nothing(void)
{
	static const struct place places[] = { { 64, 0, 0 }, { 0, 0, 100000 }, { 3, 0, -70000 } };
	struct sweep s = { 0 };
	srandom(16);
	for (size_t i = 0; i < 3; i++)
		sweep_assignments(&s, (struct sbpf_kops_payload){ .op = SBPF_KOPS_PREFETCH }, &places[i], NULL, 0);
	finish(&s, "prefetch");
}

static void bulk_copy_every_assignment_and_overlap(void)
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

static void bulk_copy_long_in_memory(void)
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

static void lea_every_variant_and_assignment(void)
{
	static const int32_t imms[] = { 16, 0, -1, 0x7fffffff, INT32_MIN, 1000 };
	struct sweep s = { 0 };
	srandom(19);
	for (int sh = 0; sh < 4; sh++)
		sweep_assignments(&s, (struct sbpf_kops_payload){ .op = SBPF_KOPS_LEA, .variant = (uint16_t)sh },
				  NULL, imms, 6);
	finish(&s, "lea");
}

static void popcount_every_variant_and_assignment(void)
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
	printf("mutant %s: %s (%d blocks%s%s)\n", trap, s.bad ? "caught" : "NOT CAUGHT", s.bad,
	       s.bad ? "; first: " : "", s.bad ? s.why : "");
	if (s.bad)
		passed++;
	else
		failed++;
}

static void fill_rot_reg(struct sweep *s)
{
	for (int v = KOPS_ROT_REG; v < 8; v = (v + 1) | KOPS_ROT_REG)
		sweep_assignments(s, (struct sbpf_kops_payload){ .op = SBPF_KOPS_ROTATE, .variant = (uint16_t)v }, NULL, NULL, 0);
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

int kops_main(int argc, char **argv)
{
	quick = argc > 2 && !strcmp(argv[2], "--quick");
	rotate_every_variant_and_assignment();
	select_rhs_imm_every_variant_and_assignment();
	select_rhs_reg_every_variant_and_assignment();
	extract_every_variant_and_assignment();
	bswap_load_every_variant_and_assignment();
	wide_load_every_variant_and_assignment();
	prefetch_every_assignment_changes_nothing();
	bulk_copy_every_assignment_and_overlap();
	bulk_copy_long_in_memory();
	lea_every_variant_and_assignment();
	popcount_every_variant_and_assignment();
	expect_caught(KOPS_MUT_A64_ROT_LEFT, fill_rot_reg, "rotate left by register without negating the amount");
	expect_caught(KOPS_MUT_A64_SEL_MOV32, fill_sel, "select, 32-bit move: csel on the full 64-bit value");
	expect_caught(KOPS_MUT_A64_EXT_WIDE, fill_ext, "extract one bit too wide");
	expect_caught(KOPS_MUT_A64_BSL16_REV, fill_bsl16, "bswap_load 16 with a 32-bit rev");
	expect_caught(KOPS_MUT_A64_COPY_OVERLAP, fill_copy, "bulk_copy ldp/stp without the overlap check");
	expect_caught(KOPS_MUT_A64_LEA_SHIFT, fill_lea, "lea index shifted one bit too far");
	expect_caught(KOPS_MUT_A64_SEL_COND, fill_sel, "select with the inverted csel condition");
	printf("kops: %ld passed, %ld failed\n", passed, failed);
	return failed ? 1 : 0;
}
