/* test_kops.c - Kops core: site encoding, every operation's proof sequence
 * against its specification (interpreter vs plain C) for every register
 * assignment the payload rules allow, and the lowering's site rules.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kops/kopsInt.h"
#include "kops/ops/ops.h"
#include "safebpf/vm.h"

#define DATA_LEN 256            /* bytes the memory operations may touch */
#define OUT_OFF  DATA_LEN       /* where the harness stores r0..r9 */
#define MEM_LEN  (DATA_LEN + 8 * 10)

/* Register values for a run: plain integers, or "pointer to mem + off". */
struct regfile {
	uint64_t v[10];     /* value, or offset into the data area when ptr */
	bool ptr[10];       /* holds a pointer into the data area */
};

static const uint64_t boundary[] = {
	0, 1, 2, 7, 31, 32, 63, 64, 0x7f, 0x80, 0xff, 0x7fffffff, 0x80000000, 0xffffffff,
	0x100000000ull, 0x7fffffffffffffffull, 0x8000000000000000ull, ~0ull, 0xfffffffffffffffeull,
	0x0123456789abcdefull,
};

static uint64_t rnd(void)
{
	return (uint64_t)random() << 40 ^ (uint64_t)random() << 20 ^ (uint64_t)random();
}

/* Runs the proof sequence of @p in the interpreter: registers from @rf,
 * the data area from @data; returns final r0..r9 in @out and the data area. */
static void run_proof(const struct sbpf_kops_payload *p, const struct regfile *rf,
		      uint8_t *mem, uint64_t out[10])
{
	struct sbpf_builder *b = sbpf_builder__new();
	sbpf_builder__emit(b, SBPF_STX_MEM(SBPF_DW, SBPF_REG_FP, 1, -8));
	for (int r = 0; r < 10; r++) {
		if (rf->ptr[r]) {
			sbpf_builder__emit(b, SBPF_LDX_MEM(SBPF_DW, r, SBPF_REG_FP, -8));
			sbpf_builder__emit(b, SBPF_ALU64_IMM(SBPF_ADD, r, (int32_t)rf->v[r]));
		} else {
			sbpf_builder__emit_lddw(b, r, 0, rf->v[r]);
		}
	}
	cr_assert_geq(sbpf_kops_instantiate(p, b), 0);
	sbpf_builder__emit(b, SBPF_STX_MEM(SBPF_DW, SBPF_REG_FP, 0, -16));
	sbpf_builder__emit(b, SBPF_LDX_MEM(SBPF_DW, 0, SBPF_REG_FP, -8));
	for (int r = 1; r < 10; r++)
		sbpf_builder__emit(b, SBPF_STX_MEM(SBPF_DW, 0, r, OUT_OFF + 8 * r));
	sbpf_builder__emit(b, SBPF_LDX_MEM(SBPF_DW, 1, SBPF_REG_FP, -16));
	sbpf_builder__emit(b, SBPF_STX_MEM(SBPF_DW, 0, 1, OUT_OFF));
	sbpf_builder__emit(b, SBPF_MOV64_IMM(0, 0));
	sbpf_builder__emit(b, SBPF_EXIT_INSN());
	struct sbpf_insn *prog;
	size_t n;
	struct sbpf_validate_error verr;
	cr_assert_eq(sbpf_builder__finish(b, &prog, &n, &verr), 0, "harness invalid: %s", verr.rule);
	sbpf_builder__free(b);
	struct sbpf_vm *vm = sbpf_vm__new(prog, n, NULL, NULL);
	cr_assert_not_null(vm);
	uint64_t r0;
	struct sbpf_run_error err;
	cr_assert_eq(sbpf_vm__run(vm, mem, MEM_LEN, &r0, &err), 0, "run failed at %zu: %s", err.pc, err.reason);
	memcpy(out, mem + OUT_OFF, 8 * 10);
	for (int r = 0; r < 10; r++) /* pointers back to offsets, to compare with the spec */
		if (rf->ptr[r] && out[r] - (uintptr_t)mem < DATA_LEN)
			out[r] -= (uintptr_t)mem;
	sbpf_vm__free(vm);
	free(prog);
}

/* The specification on the same inputs, on its own copy of the data. */
static void run_spec(const struct sbpf_kops_payload *p, const struct regfile *rf,
		     uint8_t *mem, uint64_t out[10])
{
	uint64_t regs[SBPF_NREGS] = { 0 };
	for (int r = 0; r < 10; r++)
		regs[r] = rf->ptr[r] ? (uintptr_t)mem + rf->v[r] : rf->v[r];
	cr_assert_eq(sbpf_kops_spec(p, regs), 0);
	for (int r = 0; r < 10; r++)
		out[r] = rf->ptr[r] && regs[r] - (uintptr_t)mem < DATA_LEN ? regs[r] - (uintptr_t)mem : regs[r];
}

/* Compares proof sequence and spec on @rf; registers the op clobbers are
 * excluded unless the spec defines them (it does for bulk_copy and lea). */
static void compare(const struct sbpf_kops_payload *p, const struct regfile *rf, long *runs)
{
	uint8_t m1[MEM_LEN], m2[MEM_LEN];
	for (int i = 0; i < DATA_LEN; i++)
		m1[i] = m2[i] = (uint8_t)(i * 37 + 11);
	uint64_t got[10], want[10];
	run_proof(p, rf, m1, got);
	run_spec(p, rf, m2, want);
	uint16_t clob = sbpf_kops_clobbers(p);
	int spec_defines_clobbers = p->op == SBPF_KOPS_BULK_COPY || p->op == SBPF_KOPS_LEA;
	for (int r = 0; r < 10; r++) {
		if ((clob >> r & 1) && !spec_defines_clobbers)
			continue;
		cr_assert_eq(got[r], want[r], "%s variant 0x%x dst=r%d a=r%d b=r%d c=r%d imm=%d: r%d proof 0x%llx spec 0x%llx",
			     sbpf_kops_info(p->op)->name, p->variant, p->dst, p->a, p->b, p->c, p->imm, r,
			     (unsigned long long)got[r], (unsigned long long)want[r]);
	}
	cr_assert_arr_eq(m1, m2, DATA_LEN, "%s: memory differs", sbpf_kops_info(p->op)->name);
	(*runs)++;
}

/* Fills @rf with a mix of boundary and random values; registers named in
 * @ptrmask hold pointers at @ptroff into the data area. */
static void fill(struct regfile *rf, int round, uint16_t ptrmask, uint64_t ptroff)
{
	for (int r = 0; r < 10; r++) {
		rf->ptr[r] = ptrmask >> r & 1;
		if (rf->ptr[r])
			rf->v[r] = ptroff;
		else
			rf->v[r] = round % 2 ? rnd() : boundary[(size_t)(round * 7 + r * 3) % (sizeof(boundary) / 8)];
	}
}

/* Register fields (bit 0 dst, 1 a, 2 b, 3 c) that @p's operation reads or
 * writes; unused fields stay r0 so each assignment is tried once. */
static int used_fields(const struct sbpf_kops_payload *p)
{
	switch (p->op) {
	case SBPF_KOPS_ROTATE:  return p->variant & KOPS_ROT_REG ? 0xf : 0x9;
	case SBPF_KOPS_SELECT:  return p->variant & KOPS_SEL_RHS_REG ? 0xf : 0xb;
	case SBPF_KOPS_EXTRACT:
	case SBPF_KOPS_BSWAP_LOAD: return 0x3;
	case SBPF_KOPS_PREFETCH: return 0x2;
	default:                return 0xf;
	}
}

/* Every (dst, a, b, c) in r0..r9 that the payload rules accept. */
static long for_all_assignments(struct sbpf_kops_payload p, int rounds,
				uint16_t (*ptrs)(const struct sbpf_kops_payload *), uint64_t ptroff)
{
	long runs = 0, accepted = 0;
	char why[128];
	int used = used_fields(&p);
	int top[4];
	for (int f = 0; f < 4; f++)
		top[f] = used >> f & 1 ? 10 : 1;
	for (int dst = 0; dst < top[0]; dst++)
		for (int a = 0; a < top[1]; a++)
			for (int b = 0; b < top[2]; b++)
				for (int c = 0; c < top[3]; c++) {
					p.dst = dst, p.a = a, p.b = b, p.c = c;
					if (p.op == SBPF_KOPS_WIDE_LOAD && !(dst == a && (p.variant & KOPS_WIDE_SIZE)) && c)
						continue; /* c is used only when dst is the base (32/64 bits) */
					if (sbpf_kops_check_payload(&p, why, sizeof(why)))
						continue;
					accepted++;
					for (int round = 0; round < rounds; round++) {
						struct regfile rf;
						fill(&rf, round, ptrs ? ptrs(&p) : 0, ptroff);
						compare(&p, &rf, &runs);
					}
				}
	cr_assert_gt(accepted, 0, "no register assignment accepted for %s", sbpf_kops_info(p.op)->name);
	return runs;
}

Test(kops, encode_decode_round_trip)
{
	srandom(1);
	for (int i = 0; i < 1000; i++) {
		struct sbpf_kops_payload p = {
			.op = (uint32_t)(random() % 7 + 1), .variant = (uint16_t)random(),
			.dst = (uint8_t)(random() % 11), .a = (uint8_t)(random() % 16),
			.b = (uint8_t)(random() % 16), .c = (uint8_t)(random() % 16), .imm = (int32_t)random(),
		}, q;
		struct sbpf_insn site[2];
		sbpf_kops_encode(&p, site);
		cr_assert(sbpf_kops_is_site(site, 2, 0));
		cr_assert_eq(sbpf_kops_decode(site, 2, 0, &q), 0);
		cr_assert(p.op == q.op && p.variant == q.variant && p.dst == q.dst && p.a == q.a &&
			  p.b == q.b && p.c == q.c && p.imm == q.imm, "round trip %d differs", i);
	}
	/* A lone sidecar or a lone call is not a site. */
	struct sbpf_insn site[2];
	sbpf_kops_encode(&(struct sbpf_kops_payload){ .op = 1, .imm = 3 }, site);
	cr_assert_not(sbpf_kops_is_site(site, 1, 0));
	cr_assert_not(sbpf_kops_is_site(site + 1, 1, 0));
}

Test(kops, registry_names)
{
	static const char *names[] = { "rotate", "select", "extract", "bswap_load", "prefetch", "bulk_copy", "lea",
				       "popcount", "wide_load" };
	for (int i = 0; i < 9; i++) {
		cr_assert_eq(sbpf_kops_by_name(names[i]), i + 1);
		cr_assert_str_eq(sbpf_kops_info((uint32_t)i + 1)->name, names[i]);
	}
	cr_assert_lt(sbpf_kops_by_name("nope"), 0);
	cr_assert_null(sbpf_kops_info(0));
	cr_assert_null(sbpf_kops_info(99));
}

Test(kops, rotate_all_assignments)
{
	long runs = 0;
	for (int v = 0; v < 8; v++) {
		int width = v & KOPS_ROT_32 ? 32 : 64;
		int amounts[] = { 1, 7, width / 2, width - 1 };
		for (int k = 0; k < 4; k++)
			runs += for_all_assignments((struct sbpf_kops_payload){ .op = SBPF_KOPS_ROTATE, .variant = (uint16_t)v, .imm = amounts[k] },
						    (v & KOPS_ROT_REG) ? 2 : 1, NULL, 0);
	}
	cr_log_info("rotate: %ld comparisons", runs);
}

Test(kops, select_all_assignments)
{
	static const int conds[] = { 1, 2, 3, 4, 5, 6, 7, 0xa, 0xb, 0xc, 0xd };
	long runs = 0;
	for (size_t ci = 0; ci < 11; ci++)
		for (int flags = 0; flags < 8; flags++) {
			uint16_t v = (uint16_t)(conds[ci] | flags << 4);
			runs += for_all_assignments((struct sbpf_kops_payload){ .op = SBPF_KOPS_SELECT, .variant = v, .imm = -2 }, 1, NULL, 0);
		}
	cr_log_info("select: %ld comparisons", runs);
}

Test(kops, extract_all_assignments)
{
	static const int fields[][2] = { { 0, 1 }, { 5, 6 }, { 0, 32 }, { 31, 1 }, { 12, 20 }, { 40, 24 }, { 32, 32 } };
	long runs = 0;
	for (int v = 0; v < 2; v++)
		for (int f = 0; f < 7; f++) {
			struct sbpf_kops_payload p = { .op = SBPF_KOPS_EXTRACT, .variant = (uint16_t)v,
						       .imm = fields[f][0] | fields[f][1] << 8 };
			char why[128];
			if (sbpf_kops_check_payload(&p, why, sizeof(why)))
				continue; /* field too wide for 32-bit */
			runs += for_all_assignments(p, 2, NULL, 0);
		}
	cr_log_info("extract: %ld comparisons", runs);
}

static uint16_t ptr_a(const struct sbpf_kops_payload *p)
{
	return (uint16_t)(1u << p->a);
}

static uint16_t ptr_dst_a(const struct sbpf_kops_payload *p)
{
	return (uint16_t)(1u << p->a | 1u << p->dst);
}

Test(kops, bswap_load_all_assignments)
{
	long runs = 0;
	for (int v = 0; v <= KOPS_BSL_64; v++) {
		runs += for_all_assignments((struct sbpf_kops_payload){ .op = SBPF_KOPS_BSWAP_LOAD, .variant = (uint16_t)v, .imm = 3 }, 1, ptr_a, 16);
		runs += for_all_assignments((struct sbpf_kops_payload){ .op = SBPF_KOPS_BSWAP_LOAD, .variant = (uint16_t)v, .imm = -5 }, 1, ptr_a, 64);
	}
	cr_log_info("bswap_load: %ld comparisons", runs);
}

Test(kops, prefetch_changes_nothing)
{
	long runs = for_all_assignments((struct sbpf_kops_payload){ .op = SBPF_KOPS_PREFETCH, .imm = 64 }, 3, NULL, 0);
	cr_assert_eq(runs, 30); /* only a varies: 10 registers x 3 rounds */
}

Test(kops, bulk_copy_all_assignments_including_overlap)
{
	long runs = 0;
	/* Disjoint ranges, then overlapping ones in both directions (same base). */
	static const int cases[][3] = { { 0, 128, 37 }, { 0, 8, 24 }, { 8, 0, 24 }, { 3, 100, 16 }, { 0, 200, 1 } };
	for (int k = 0; k < 5; k++) {
		int32_t imm = (int32_t)((uint32_t)(uint16_t)cases[k][0] | (uint32_t)(uint16_t)cases[k][1] << 16);
		runs += for_all_assignments((struct sbpf_kops_payload){ .op = SBPF_KOPS_BULK_COPY, .variant = (uint16_t)cases[k][2], .imm = imm },
					    1, ptr_dst_a, 0);
	}
	cr_log_info("bulk_copy: %ld comparisons", runs);
}

Test(kops, lea_all_assignments)
{
	long runs = 0;
	for (int s = 0; s < 4; s++) {
		runs += for_all_assignments((struct sbpf_kops_payload){ .op = SBPF_KOPS_LEA, .variant = (uint16_t)s, .imm = 16 }, 1, NULL, 0);
		runs += for_all_assignments((struct sbpf_kops_payload){ .op = SBPF_KOPS_LEA, .variant = (uint16_t)s, .imm = 0 }, 1, NULL, 0);
	}
	cr_log_info("lea: %ld comparisons", runs);
}

Test(kops, wide_load_all_assignments)
{
	long runs = 0;
	for (int v = 0; v < 8; v++) {
		if ((v & KOPS_WIDE_SIZE) > KOPS_WIDE_64)
			continue;
		runs += for_all_assignments((struct sbpf_kops_payload){ .op = SBPF_KOPS_WIDE_LOAD, .variant = (uint16_t)v, .imm = 3 }, 1, ptr_a, 16);
		runs += for_all_assignments((struct sbpf_kops_payload){ .op = SBPF_KOPS_WIDE_LOAD, .variant = (uint16_t)v, .imm = -5 }, 1, ptr_a, 64);
	}
	cr_log_info("wide_load: %ld comparisons", runs);
}

Test(kops, popcount_all_assignments)
{
	long runs = 0;
	static const uint16_t shapes[] = { 0, KOPS_POP_32, KOPS_POP_32 | KOPS_POP_ALU32 };
	for (int s = 0; s < 3; s++)
		runs += for_all_assignments((struct sbpf_kops_payload){ .op = SBPF_KOPS_POPCOUNT, .variant = shapes[s] },
					    1, NULL, 0);
	cr_log_info("popcount: %ld comparisons", runs);
}

Test(kops, payload_rules)
{
	char why[128];
	struct sbpf_kops_payload bad[] = {
		{ .op = 99 },                                                         /* unknown op */
		{ .op = SBPF_KOPS_ROTATE, .dst = 10, .c = 1, .imm = 3 },              /* writes r10 */
		{ .op = SBPF_KOPS_ROTATE, .dst = 1, .c = 1, .imm = 3 },               /* scratch == dst */
		{ .op = SBPF_KOPS_ROTATE, .dst = 1, .c = 2, .imm = 64 },              /* amount out of range */
		{ .op = SBPF_KOPS_ROTATE, .dst = 1, .c = 2, .imm = 0 },
		{ .op = SBPF_KOPS_SELECT, .variant = 0, .dst = 1, .a = 2, .c = 3 },   /* cond 0 is ja */
		{ .op = SBPF_KOPS_EXTRACT, .dst = 1, .a = 1, .imm = 60 | 8 << 8 },    /* field past bit 63 */
		{ .op = SBPF_KOPS_BSWAP_LOAD, .variant = 3, .dst = 1, .a = 2 },
		{ .op = SBPF_KOPS_PREFETCH, .dst = 1, .a = 2 },
		{ .op = SBPF_KOPS_BULK_COPY, .variant = 0, .dst = 1, .a = 2, .c = 3 },
		{ .op = SBPF_KOPS_BULK_COPY, .variant = 8, .dst = 1, .a = 2, .c = 2 },
		{ .op = SBPF_KOPS_LEA, .variant = 4, .dst = 1, .a = 2, .b = 3 },
		{ .op = SBPF_KOPS_LEA, .variant = 1, .dst = 1, .a = 1, .b = 3, .c = 1 },
		{ .op = SBPF_KOPS_WIDE_LOAD, .variant = 3, .dst = 1, .a = 2, .b = 3 },          /* size 3 */
		{ .op = SBPF_KOPS_WIDE_LOAD, .variant = 8, .dst = 1, .a = 2, .b = 3 },          /* unknown bit */
		{ .op = SBPF_KOPS_WIDE_LOAD, .variant = 1, .dst = 1, .a = 2, .b = 2 },          /* scratch == base */
		{ .op = SBPF_KOPS_WIDE_LOAD, .variant = 1, .dst = 1, .a = 2, .b = 1 },          /* scratch == dst */
		{ .op = SBPF_KOPS_WIDE_LOAD, .variant = 1, .dst = 2, .a = 2, .b = 3, .c = 3 },  /* c == b, dst == a */
		{ .op = SBPF_KOPS_WIDE_LOAD, .variant = 2, .dst = 1, .a = 2, .b = 3, .imm = 0x7ffa }, /* last byte past 16 bits */
		{ .op = SBPF_KOPS_WIDE_LOAD, .variant = 0, .dst = 10, .a = 2, .b = 3 },         /* writes r10 */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_neq(sbpf_kops_check_payload(&bad[i], why, sizeof(why)), 0, "case %zu accepted", i);
}

/* Builds: r1 = 5; r2 = 7; <site rotate r1 by 8, scratch r3>; jump over it; r0 = r1; exit */
static size_t site_program(struct sbpf_insn *prog, int scratch_live)
{
	size_t n = 0;
	prog[n++] = SBPF_MOV64_IMM(1, 5);
	prog[n++] = SBPF_JMP_IMM(SBPF_JEQ, 1, 0, 2); /* jumps over the site to "r0 = r1" */
	sbpf_kops_encode(&(struct sbpf_kops_payload){ .op = SBPF_KOPS_ROTATE, .dst = 1, .c = 3, .imm = 8 }, &prog[n]);
	n += 2;
	prog[n++] = SBPF_MOV64_REG(0, scratch_live ? 3 : 1);
	prog[n++] = SBPF_EXIT_INSN();
	return n;
}

Test(kops, lower_retargets_jumps)
{
	struct sbpf_insn prog[8];
	size_t n = site_program(prog, 0);
	struct sbpf_kops_lowered l;
	struct sbpf_validate_error err;
	cr_assert_eq(sbpf_kops_lower(prog, n, &l, &err), 0, "%s", err.rule);
	cr_assert_eq(l.nsites, 1);
	cr_assert_eq(l.sites[0].lowered_start, 2);
	cr_assert_eq(l.sites[0].lowered_len, 4);
	cr_assert_eq(l.n, 8);
	cr_assert_eq(l.insns[1].off, 4, "jump over the site must skip its 4-slot proof sequence");
	struct sbpf_vm *vm = sbpf_vm__new(l.insns, l.n, NULL, NULL);
	uint64_t r0;
	cr_assert_eq(sbpf_vm__run(vm, NULL, 0, &r0, NULL), 0);
	cr_assert_eq(r0, 5ull << 8);
	sbpf_vm__free(vm);
	sbpf_kops_lowered__free(&l);
}

Test(kops, lower_rejects_live_clobber)
{
	struct sbpf_insn prog[8];
	size_t n = site_program(prog, 1);
	struct sbpf_kops_lowered l;
	struct sbpf_validate_error err;
	cr_assert_eq(sbpf_kops_lower(prog, n, &l, &err), -EINVAL);
	cr_assert(strstr(err.rule, "clobbers r3") != NULL, "%s", err.rule);
	cr_assert_eq(err.index, 2);
}

Test(kops, lower_rejects_jump_into_site)
{
	struct sbpf_insn prog[8];
	size_t n = site_program(prog, 0);
	prog[1].off = 1; /* lands on the site's call slot */
	struct sbpf_kops_lowered l;
	struct sbpf_validate_error err;
	cr_assert_eq(sbpf_kops_lower(prog, n, &l, &err), -EINVAL);
	cr_assert(strstr(err.rule, "middle of a Kops site") != NULL, "%s", err.rule);
}

Test(kops, lower_rejects_malformed_sites)
{
	struct sbpf_insn prog[8];
	struct sbpf_kops_lowered l;
	struct sbpf_validate_error err;
	size_t n = site_program(prog, 0);
	prog[3].imm = 42; /* unknown operation */
	cr_assert_eq(sbpf_kops_lower(prog, n, &l, &err), -EINVAL);
	cr_assert(strstr(err.rule, "unknown operation") != NULL, "%s", err.rule);

	n = site_program(prog, 0);
	prog[2] = SBPF_MOV64_IMM(2, 0); /* call without its sidecar */
	cr_assert_eq(sbpf_kops_lower(prog, n, &l, &err), -EINVAL);
	cr_assert(strstr(err.rule, "without its sidecar") != NULL, "%s", err.rule);
}

Test(kops, liveness_basic)
{
	struct sbpf_insn prog[] = {
		SBPF_MOV64_IMM(1, 1),            /* 0: live-in {} */
		SBPF_MOV64_IMM(2, 2),            /* 1: {r1} */
		SBPF_JMP_IMM(SBPF_JEQ, 1, 0, 1), /* 2: {r1, r2}, jumps to 4 */
		SBPF_MOV64_IMM(2, 5),            /* 3: {} */
		SBPF_MOV64_REG(0, 2),            /* 4: {r2} */
		SBPF_EXIT_INSN(),                /* 5: {r0} */
	};
	uint16_t *live = kops_liveness(prog, 6);
	uint16_t want[] = { 0, 1u << 1, (1u << 1) | (1u << 2), 0, 1u << 2, 1u << 0 };
	int ok = !memcmp(live, want, sizeof(want));
	free(live);
	cr_assert(ok, "live-in sets differ from the expected ones");
}
