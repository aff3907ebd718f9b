/* test_prove_arm64.c - the prover's AArch64 side (src/prove/a64_*.c,
 * target_arm64.c). The model is tested against the real thing: every
 * instruction form the emits use (and the neighbours the model knows),
 * and the JIT's own emits for random payloads, run under qemu-aarch64 by
 * the cross-built runner (`runner exec`, tests/arm64/exec.c) on random
 * registers, flags and memory, and compared register by register, flag by
 * flag and byte by byte with the model's evaluation. That test needs the
 * runner: SAFEBPF_A64_EXEC names the command (tests/suites/81-prove-arm64.sh
 * sets it, after building the runner; without it the test is skipped with
 * that reason). Then the prover on the JIT's AArch64 emits: groups of each
 * operation proven, and each of the JIT's deliberate AArch64 mistakes
 * (KOPS_MUT_A64_*) refuted with a counterexample.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jit/arm64/kops_arm64.h"
#include "kops/kopsInt.h"
#include "kops/ops/ops.h"
#include "prove/proveInt.h"

#define MEM_BASE 0x40000000ull /* tests/arm64/exec.c EXEC_MEM_BASE */
#define MEM_SIZE 1024          /* EXEC_MEM_SIZE */
#define MAX_WORDS 512

static const uint64_t boundary[] = {
	0, 1, 2, 7, 31, 32, 33, 63, 64, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff,
	0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ull, 0x7fffffffffffffffull,
	0x8000000000000000ull, ~0ull, 0xfffffffffffffffeull, 0x0123456789abcdefull,
	0xffffffff80000000ull,
};
#define NB (sizeof(boundary) / sizeof(boundary[0]))

static uint64_t rnd(void)
{
	return (uint64_t)random() << 42 ^ (uint64_t)random() << 21 ^ (uint64_t)random();
}

static uint64_t pick(int round)
{
	return round % 3 == 2 ? rnd() : round % 3 == 1 ? (uint64_t)(random() % 70) : boundary[(size_t)random() % NB];
}

/* One case: code, initial registers/flags/memory, and what the model
 * must give. */
struct tcase {
	uint32_t words[MAX_WORDS];
	size_t n;
	uint64_t regs[31];
	uint64_t nzcv;                 /* bits 31..28 */
	uint8_t mem[MEM_SIZE];
	int index_ext;                 /* register-offset extension of the index (0: none) */
	char what[96];
};

static int reg_pick(uint32_t avoid)
{
	int r;
	do
		r = (int)(random() % 31);
	while (avoid & (1u << r));
	return r;
}

/* A register field: usually x0..x30, sometimes 31 (zr in these forms). */
static uint32_t rz(uint32_t avoid)
{
	return random() % 8 == 0 ? 31u : (uint32_t)reg_pick(avoid);
}

/* A logical immediate field for @w (a rotated run of ones, replicated). */
static uint32_t logic_field(int w)
{
	for (;;) {
		unsigned esize = 2u << (random() % (w ? 6 : 5));
		unsigned ones = 1 + (unsigned)(random() % (esize - 1)), rot = (unsigned)(random() % esize);
		uint64_t e = (1ull << ones) - 1, mask = esize == 64 ? ~0ull : (1ull << esize) - 1;
		e = rot ? ((e >> rot) | (e << (esize - rot))) & mask : e;
		uint64_t v = 0;
		for (unsigned i = 0; i < 64; i += esize)
			v |= e << i;
		int f = a64_logic_imm(v, w);
		if (f >= 0)
			return (uint32_t)f;
	}
}

/* Appends one random instance of instruction form @k to @c; memory
 * forms use @base (a register pointing into the window) and @idx. */
static void form(struct tcase *c, int k, int base, int idx)
{
	uint32_t sf = (uint32_t)(random() % 2), avoid = 1u << base | 1u << idx;
	uint32_t d = rz(avoid), n = rz(avoid), m = rz(avoid), w;
	const char *name;
	switch (k) {
	case 0: /* add/adds/sub/subs, shifted register */
		w = sf << 31 | (uint32_t)(random() % 4) << 29 | 0x0b000000 | (uint32_t)(random() % 3) << 22 |
		    m << 16 | (uint32_t)(random() % (sf ? 64 : 32)) << 10 | n << 5 | d;
		name = "add/sub shifted register";
		break;
	case 1: /* logical, shifted register (ror included), N = invert */
		w = sf << 31 | (uint32_t)(random() % 4) << 29 | 0x0a000000 | (uint32_t)(random() % 4) << 22 |
		    (uint32_t)(random() % 2) << 21 | m << 16 | (uint32_t)(random() % (sf ? 64 : 32)) << 10 | n << 5 | d;
		name = "logical shifted register";
		break;
	case 2: /* add/sub immediate (sp never used here) */
		if (n == 31)
			n = (uint32_t)reg_pick(avoid);
		if (d == 31)
			d = (uint32_t)reg_pick(avoid);
		w = sf << 31 | (uint32_t)(random() % 4) << 29 | 0x11000000 | (uint32_t)(random() % 2) << 22 |
		    (uint32_t)(random() % 4096) << 10 | n << 5 | d;
		if (random() % 3 == 0) /* flag setting to zr: cmp/cmn */
			w |= 1u << 29 | 31;
		name = "add/sub immediate";
		break;
	case 3: { /* logical immediate */
		uint32_t opc = (uint32_t)(random() % 4);
		if (d == 31 && opc != 3)
			d = (uint32_t)reg_pick(avoid); /* 31 would be sp */
		w = sf << 31 | opc << 29 | 0x12000000 | logic_field((int)sf) << 10 | n << 5 | d;
		name = "logical immediate";
		break;
	}
	case 4: { /* movn/movz/movk */
		static const uint32_t opcs[] = { 0, 2, 3 };
		w = sf << 31 | opcs[random() % 3] << 29 | 0x12800000 | (uint32_t)(random() % (sf ? 4 : 2)) << 21 |
		    (uint32_t)(random() % 65536) << 5 | d;
		name = "move wide";
		break;
	}
	case 5: { /* sbfm/bfm/ubfm */
		uint32_t size = sf ? 64 : 32;
		w = sf << 31 | (uint32_t)(random() % 3) << 29 | 0x13000000 | sf << 22 |
		    (uint32_t)(random() % size) << 16 | (uint32_t)(random() % size) << 10 | n << 5 | d;
		name = "bitfield move";
		break;
	}
	case 6: /* extr (ror when rn == rm) */
		if (random() % 2)
			m = n;
		w = sf << 31 | 0x13800000 | sf << 22 | m << 16 | (uint32_t)(random() % (sf ? 64 : 32)) << 10 | n << 5 | d;
		name = "extr";
		break;
	case 7: { /* udiv sdiv lslv lsrv asrv rorv */
		static const uint32_t ops[] = { 2, 3, 8, 9, 10, 11 };
		w = sf << 31 | 0x1ac00000 | m << 16 | ops[random() % 6] << 10 | n << 5 | d;
		name = "two-source";
		break;
	}
	case 8: { /* rbit rev16 rev32/rev rev clz cls */
		uint32_t op = (uint32_t)(random() % 6);
		if (op == 3 && !sf)
			op = 2;
		w = sf << 31 | 0x5ac00000 | op << 10 | n << 5 | d;
		name = "one-source";
		break;
	}
	case 9: /* csel csinc csinv csneg, every condition */
		w = sf << 31 | (uint32_t)(random() % 2) << 30 | 0x1a800000 | m << 16 | (uint32_t)(random() % 16) << 12 |
		    (uint32_t)(random() % 2) << 10 | n << 5 | d;
		name = "conditional select";
		break;
	case 10: { /* load/store: unsigned offset, unscaled, register offset */
		uint32_t size = (uint32_t)(random() % 4), opc = (uint32_t)(random() % 4);
		if (size == 3 && opc >= 2)
			opc = (uint32_t)(random() % 2);
		if (size == 2 && opc == 3)
			opc = 2;
		uint32_t t = rz(avoid);
		int mode = (int)(random() % 3);
		if (mode == 0)
			w = size << 30 | 0x39000000 | opc << 22 | (uint32_t)(random() % 32) << 10 | (uint32_t)base << 5 | t;
		else if (mode == 1)
			w = size << 30 | 0x38000000 | opc << 22 | ((uint32_t)(random() % 256 - 128) & 0x1ff) << 12 |
			    (uint32_t)base << 5 | t;
		else {
			static const uint32_t options[] = { 2, 3, 6, 7 };
			c->index_ext = (int)options[random() % 4];
			w = size << 30 | 0x38200800 | opc << 22 | (uint32_t)idx << 16 | (uint32_t)c->index_ext << 13 |
			    (uint32_t)(random() % 2) << 12 | (uint32_t)base << 5 | t;
		}
		name = "load/store";
		break;
	}
	case 11: { /* ldp/stp, offset form */
		uint32_t t = (uint32_t)reg_pick(avoid), t2 = (uint32_t)reg_pick(avoid | 1u << t);
		w = sf << 31 | 0x29000000 | (uint32_t)(random() % 2) << 22 | ((uint32_t)(random() % 64 - 32) & 0x7f) << 15 |
		    t2 << 10 | (uint32_t)base << 5 | t;
		name = "ldp/stp";
		break;
	}
	case 12: /* prfm / prfum */
		w = random() % 2 ? 0xf9800000u | (uint32_t)(random() % 64) << 10 | (uint32_t)base << 5
				 : 0xf8800000u | ((uint32_t)(random() % 512) << 12) | (uint32_t)base << 5;
		name = "prfm";
		break;
	default: /* cmp + b.cond over one move, then a move */
		c->words[c->n++] = sf << 31 | 0x6b000000 | m << 16 | n << 5 | 31; /* subs zr, n, m */
		c->words[c->n++] = 0x54000040u | (uint32_t)(random() % 16);  /* b.cond +8 */
		c->words[c->n++] = 0xd2800000u | (uint32_t)(random() % 65536) << 5 | (uint32_t)reg_pick(avoid);
		w = 0xd2800000u | (uint32_t)(random() % 65536) << 5 | (uint32_t)reg_pick(avoid);
		name = "b.cond";
		break;
	}
	c->words[c->n++] = w;
	snprintf(c->what, sizeof(c->what), "%s %08x", name, w);
}

#define NFORMS 14

/* Random registers, flags and memory; x@base points into the window and
 * x@idx holds a small index as each extension reads it. */
static void fill_state(struct tcase *c, int round, int base, int idx)
{
	for (int r = 0; r < 31; r++)
		c->regs[r] = pick(round);
	c->nzcv = (uint64_t)(random() % 16) << 28;
	for (int i = 0; i < MEM_SIZE; i++)
		c->mem[i] = (uint8_t)random();
	if (base >= 0)
		c->regs[base] = MEM_BASE + 384 + (uint64_t)(random() % 128);
	if (idx >= 0) { /* small as the extension reads it (scaled by 8 at most: inside the window) */
		int64_t v = c->index_ext == 6 || c->index_ext == 7 ? random() % 96 - 32 : random() % 64;
		c->regs[idx] = (uint64_t)v;
		if (c->index_ext == 2 || c->index_ext == 6) /* uxtw, sxtw: the upper half is ignored */
			c->regs[idx] = (uint32_t)v | rnd() << 32;
	}
}

/* Writes the cases to a file, runs them under qemu, reads the results. */
static void run_qemu(const char *cmd, struct tcase *cs, size_t nc, uint64_t (*out)[32], uint8_t (*outmem)[MEM_SIZE])
{
	char in_path[] = "/tmp/sbpf_a64_in_XXXXXX";
	int fd = mkstemp(in_path);
	cr_assert_geq(fd, 0);
	FILE *f = fdopen(fd, "w");
	for (size_t i = 0; i < nc; i++) {
		fprintf(f, "%zu", cs[i].n);
		for (size_t k = 0; k < cs[i].n; k++)
			fprintf(f, " %08x", cs[i].words[k]);
		for (int r = 0; r < 31; r++)
			fprintf(f, " %" PRIx64, cs[i].regs[r]);
		fprintf(f, " %" PRIx64 " ", cs[i].nzcv);
		for (int k = 0; k < MEM_SIZE; k++)
			fprintf(f, "%02x", cs[i].mem[k]);
		fprintf(f, "\n");
	}
	fclose(f);
	char *full;
	cr_assert_geq(asprintf(&full, "%s exec < %s", cmd, in_path), 0);
	FILE *p = popen(full, "r");
	cr_assert_not_null(p);
	static char line[8192];
	size_t got = 0;
	while (got < nc && fgets(line, sizeof(line), p)) {
		char *s = line, *end;
		for (int r = 0; r < 32; r++) {
			out[got][r] = strtoull(s, &end, 16);
			s = end;
		}
		while (*s == ' ')
			s++;
		for (int k = 0; k < MEM_SIZE; k++) {
			unsigned v = 0;
			cr_assert_eq(sscanf(s + 2 * k, "%2x", &v), 1, "case %zu: short memory", got);
			outmem[got][k] = (uint8_t)v;
		}
		got++;
	}
	int rc = pclose(p);
	unlink(in_path);
	free(full);
	cr_assert_eq(got, nc, "qemu gave %zu results for %zu cases (exit %d)", got, nc, rc);
	cr_assert_eq(rc, 0);
}

static bool num(struct prove_z3 *z, Z3_ast t, uint64_t *v)
{
	Z3_ast s = Z3_simplify(z->c, t);
	if (Z3_get_sort_kind(z->c, Z3_get_sort(z->c, s)) == Z3_BOOL_SORT) {
		Z3_lbool b = Z3_get_bool_value(z->c, s);
		*v = b == Z3_L_TRUE;
		return b != Z3_L_UNDEF;
	}
	return Z3_get_ast_kind(z->c, s) == Z3_NUMERAL_AST && Z3_get_numeral_uint64(z->c, s, v);
}

/* The model on case @c must give qemu's registers @want, flags and
 * memory @wmem. */
static void compare(struct prove_z3 *z, const struct tcase *c, const uint64_t want[32], const uint8_t *wmem)
{
	uint8_t code[4 * MAX_WORDS];
	memcpy(code, c->words, 4 * c->n);
	struct prove_a64_insn *insns;
	size_t n;
	char why[256];
	cr_assert_eq(prove_a64_decode(code, 4 * c->n, &insns, &n, why, sizeof(why)), 0, "%s: %s", c->what, why);
	Z3_solver_push(z->c, z->solver);
	struct prove_state s = { 0 };
	s.path = prove_true(z);
	for (int r = 0; r < 31; r++)
		s.reg[r] = prove_bv(z, c->regs[r], 64);
	s.reg[PA_SP] = prove_var(z, "sp", 64);
	for (int f = 0; f < 4; f++) /* N Z C V: bits 31 30 29 28 */
		s.flag[f] = c->nzcv >> (31 - f) & 1 ? prove_true(z) : prove_false(z);
	Z3_ast m = Z3_mk_const_array(z->c, z->bv[64], prove_bv(z, 0, 8));
	for (int i = 0; i < MEM_SIZE; i++)
		m = Z3_mk_store(z->c, m, prove_bv(z, MEM_BASE + (uint64_t)i, 64), prove_bv(z, c->mem[i], 8));
	s.mem = m;
	cr_assert_eq(prove_a64_run(z, insns, n, &s, why, sizeof(why)), 0, "%s: %s", c->what, why);
	for (int r = 0; r < 31; r++) {
		uint64_t got;
		cr_assert(num(z, s.reg[r], &got), "%s: x%d not concrete", c->what, r);
		cr_assert_eq(got, want[r], "%s (%s): x%d model 0x%" PRIx64 " qemu 0x%" PRIx64 " (input 0x%" PRIx64 ")",
			     c->what, insns[0].text, r, got, want[r], c->regs[r]);
	}
	for (int f = 0; f < 4; f++) {
		uint64_t got;
		cr_assert(num(z, s.flag[f], &got), "%s: flag %d not concrete", c->what, f);
		cr_assert_eq(got, want[31] >> (31 - f) & 1, "%s (%s): flag %c model %d qemu %d", c->what, insns[0].text,
			     "NZCV"[f], (int)got, (int)(want[31] >> (31 - f) & 1));
	}
	if (s.mem != m) {
		Z3_ast fm = Z3_simplify(z->c, s.mem);
		for (int i = 0; i < MEM_SIZE; i++) {
			uint64_t got;
			if (wmem[i] == c->mem[i] && random() % 8)
				continue; /* unchanged bytes: spot-check some */
			cr_assert(num(z, Z3_mk_select(z->c, fm, prove_bv(z, MEM_BASE + (uint64_t)i, 64)), &got));
			cr_assert_eq(got, wmem[i], "%s (%s): byte %d model 0x%" PRIx64 " qemu 0x%x", c->what, insns[0].text,
				     i, got, wmem[i]);
		}
	} else {
		cr_assert_arr_eq(wmem, c->mem, MEM_SIZE, "%s: qemu stored, the model did not", c->what);
	}
	prove_state_free(&s);
	Z3_solver_pop(z->c, z->solver, 1);
	free(insns);
}

/* A random payload of @op the rules accept, its memory inside the window. */
static void random_payload(uint32_t op, struct sbpf_kops_payload *p)
{
	char why[128];
	do {
		*p = (struct sbpf_kops_payload){ .op = op, .dst = (uint8_t)(random() % 11),
						 .a = (uint8_t)(random() % 11), .b = (uint8_t)(random() % 11),
						 .c = (uint8_t)(random() % 11) };
		switch (op) {
		case SBPF_KOPS_ROTATE:
			p->variant = (uint16_t)(random() % 8);
			p->imm = (int32_t)(1 + random() % (p->variant & KOPS_ROT_32 ? 31 : 63));
			break;
		case SBPF_KOPS_SELECT:
			p->variant = (uint16_t)(random() % 0x80);
			p->imm = (int32_t)(random() % 2 ? (int64_t)boundary[random() % NB] : random() % 9000 - 4500);
			break;
		case SBPF_KOPS_EXTRACT: {
			p->variant = (uint16_t)(random() % 2);
			int w = p->variant ? 32 : 64, len = 1 + (int)(random() % 32);
			p->imm = (int32_t)(random() % (w - len + 1)) | len << 8;
			break;
		}
		case SBPF_KOPS_BSWAP_LOAD:
			p->variant = (uint16_t)(random() % 3);
			p->imm = (int32_t)(random() % 256 - 128);
			break;
		case SBPF_KOPS_PREFETCH:
			p->dst = p->b = p->c = 0;
			p->imm = (int32_t)(random() % 2 ? random() % 512 - 256 : (long)boundary[random() % NB]);
			break;
		case SBPF_KOPS_WIDE_LOAD:
			p->variant = (uint16_t)(random() % 3 | (random() % 2 ? KOPS_WIDE_BE : 0));
			p->imm = (int32_t)(random() % 256 - 128);
			break;
		case SBPF_KOPS_BULK_COPY:
			p->variant = (uint16_t)(1 + random() % 96);
			p->imm = (int32_t)((uint32_t)(uint16_t)(random() % 96 - 48) |
					   (uint32_t)(uint16_t)(random() % 96 - 48) << 16);
			break;
		case SBPF_KOPS_POPCOUNT: /* the 32-bit shapes (the 64-bit one declines on AArch64) */
			p->variant = random() % 2 ? KOPS_POP_32 : KOPS_POP_32 | KOPS_POP_ALU32;
			break;
		default: /* lea */
			p->variant = (uint16_t)(random() % 4);
			p->imm = (int32_t)(random() % 2 ? (int64_t)boundary[random() % NB] : random() % 20000 - 10000);
			break;
		}
	} while (sbpf_kops_check_payload(p, why, sizeof(why)));
}

Test(prove_a64, instruction_forms_and_emits_match_qemu, .timeout = 900)
{
	const char *cmd = getenv("SAFEBPF_A64_EXEC");
	if (!cmd || !*cmd)
		cr_skip_test("SAFEBPF_A64_EXEC is not set (tests/suites/81-prove-arm64.sh sets it to qemu-aarch64 "
			     "and the cross-built runner)");
	srandom(21);
	enum { PER_FORM = 100, EMITS = 40 };
	size_t nc = NFORMS * PER_FORM + (SBPF_KOPS__MAX - 1) * EMITS, k = 0;
	struct tcase *cs = calloc(nc, sizeof(*cs));
	uint64_t (*out)[32] = calloc(nc, sizeof(*out));
	uint8_t (*outmem)[MEM_SIZE] = calloc(nc, sizeof(*outmem));
	cr_assert(cs && out && outmem);
	for (int f = 0; f < NFORMS; f++)
		for (int round = 0; round < PER_FORM; round++, k++) {
			int base = reg_pick(0), idx = reg_pick(1u << base);
			form(&cs[k], f, base, idx);
			fill_state(&cs[k], round, base, idx);
		}
	/* the JIT's own emits, as `safebpf prove --arch arm64` proves them */
	struct prove_target t;
	prove_target_arm64(&t);
	for (uint32_t op = 1; op < SBPF_KOPS__MAX; op++)
		for (int round = 0; round < EMITS; round++, k++) {
			struct sbpf_kops_payload p;
			random_payload(op, &p);
			struct tcase *c = &cs[k];
			size_t len;
			cr_assert_eq(t.emit(&t, &p, 0, (uint8_t *)c->words, sizeof(c->words), &len), 0);
			c->n = len / 4;
			prove_payload_str(&p, c->what, sizeof(c->what));
			fill_state(c, round, -1, -1);
			if (op == SBPF_KOPS_BSWAP_LOAD || op == SBPF_KOPS_PREFETCH || op == SBPF_KOPS_WIDE_LOAD)
				c->regs[t.map[p.a]] = MEM_BASE + 512;
			if (op == SBPF_KOPS_BULK_COPY) {
				c->regs[t.map[p.a]] = MEM_BASE + 200 + (uint64_t)(random() % 300);
				c->regs[t.map[p.dst]] = MEM_BASE + 200 + (uint64_t)(random() % 300);
				if (p.a == p.dst)
					c->regs[t.map[p.a]] = MEM_BASE + 400;
			}
		}
	run_qemu(cmd, cs, nc, out, outmem);
	struct prove_z3 z;
	cr_assert_eq(prove_z3_init(&z), 0);
	size_t changed = 0;
	for (size_t i = 0; i < nc; i++) {
		compare(&z, &cs[i], out[i], outmem[i]);
		changed += memcmp(out[i], cs[i].regs, sizeof(cs[i].regs)) != 0;
	}
	/* the comparison has something to compare: most cases change a register */
	cr_assert_gt(changed, nc / 2, "only %zu of %zu cases changed a register", changed, nc);
	cr_log_info("%zu cases compared with qemu-aarch64 (%d instruction forms x %d, %d emits per operation)", nc,
		    NFORMS, PER_FORM, EMITS);
	prove_z3_fini(&z);
	free(cs);
	free(out);
	free(outmem);
}

Test(prove_a64, refuses_what_it_does_not_model)
{
	static const struct { const char *name; uint32_t word; } bad[] = {
		{ "ldr x0, [x1], #8 (writeback)", 0xf8408420 },
		{ "ldp x0, x1, [x2, #16]! (writeback)", 0xa9c10440 },
		{ "add v0.4s, v1.4s, v2.4s (SIMD)", 0x4ea28420 },
		{ "br x0 (indirect)", 0xd61f0000 },
		{ "ret", 0xd65f03c0 },
		{ "b . (loop)", 0x14000000 },
		{ "b.eq far past the end", 0x54000100 },
		{ "madd (not modelled)", 0x9b020c20 },
		{ "svc #0", 0xd4000001 },
		{ "udf", 0x00000000 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct prove_a64_insn *insns = NULL;
		size_t n;
		char why[256] = "";
		int rc = prove_a64_decode((const uint8_t *)&bad[i].word, 4, &insns, &n, why, sizeof(why));
		cr_assert_eq(rc, -EINVAL, "%s: decoded", bad[i].name);
		cr_assert_neq(why[0], 0);
	}
}

Test(prove_a64, renaming_compares_every_register_field)
{
	/* add x1, x2, x3 vs add x4, x5, x6 with 1->4, 2->5 but 3->3 */
	uint32_t a = 0x8b030041, b = 0x8b0600a4;
	struct prove_a64_insn *ia, *ib;
	size_t n;
	char why[128];
	cr_assert_eq(prove_a64_decode((uint8_t *)&a, 4, &ia, &n, why, sizeof(why)), 0);
	cr_assert_eq(prove_a64_decode((uint8_t *)&b, 4, &ib, &n, why, sizeof(why)), 0);
	uint8_t perm[PROVE_NREGS];
	for (int i = 0; i < PROVE_NREGS; i++)
		perm[i] = (uint8_t)i;
	perm[1] = 4, perm[4] = 1, perm[2] = 5, perm[5] = 2;
	cr_assert(!prove_a64_renamed(ia, ib, 1, perm));
	perm[3] = 6, perm[6] = 3;
	cr_assert(prove_a64_renamed(ia, ib, 1, perm));
	free(ia);
	free(ib);
}

/* ---- the prover on the JIT's AArch64 emits ---------------------------------- */

static struct prove_group_result run_group(uint32_t op, const char *label, int mutant)
{
	struct prove_target t;
	prove_target_arm64(&t);
	t.mutant = mutant;
	struct prove_group *g;
	size_t n;
	cr_assert_eq(prove_groups(op, &g, &n), 0);
	size_t i = 0;
	while (i < n && strcmp(g[i].label, label))
		i++;
	cr_assert_lt(i, n, "no group '%s'", label);
	struct prove_group_result r;
	cr_assert_eq(prove_run_group(&t, &g[i], &r), 0);
	prove_groups_free(g, n);
	return r;
}

Test(prove_a64, the_jits_emits_are_proven, .timeout = 600)
{
	static const struct { uint32_t op; const char *group; } cases[] = {
		{ SBPF_KOPS_ROTATE, "64-bit left by register" }, { SBPF_KOPS_ROTATE, "32-bit right by imm 1..w-1" },
		{ SBPF_KOPS_SELECT, "jset, rhs reg, cmp/mov 64/32" },
		{ SBPF_KOPS_EXTRACT, "32-bit, every field" }, { SBPF_KOPS_BSWAP_LOAD, "16-bit" },
		{ SBPF_KOPS_PREFETCH, "every base" }, { SBPF_KOPS_BULK_COPY, "length 1..8" },
		{ SBPF_KOPS_LEA, "shift 3" }, { SBPF_KOPS_POPCOUNT, "32-bit, ALU32 ops" },
		{ SBPF_KOPS_WIDE_LOAD, "32-bit big-endian" },
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct prove_group_result r = run_group(cases[k].op, cases[k].group, 0);
		cr_assert_eq(r.failed, 0, "%s %s: %lu failed\n%s", sbpf_kops_info(cases[k].op)->name, cases[k].group,
			     r.failed, r.report ? r.report : "");
		cr_assert_gt(r.solved, 0);
		cr_assert_eq(r.obligations, r.solved + r.renamed);
		free(r.report);
	}
}

/* Each deliberate mistake of the AArch64 emits (kops_arm64.h) must be
 * refuted, with a counterexample, in the group that covers it. */
Test(prove_a64, the_jits_own_mistakes_are_refuted, .timeout = 600)
{
	static const struct { int mutant; uint32_t op; const char *group; const char *needle; } cases[] = {
		{ KOPS_MUT_A64_ROT_LEFT, SBPF_KOPS_ROTATE, "64-bit left by register", "ror " },
		{ KOPS_MUT_A64_SEL_MOV32, SBPF_KOPS_SELECT, "jgt, rhs imm, cmp/mov 64/32", "csel" },
		{ KOPS_MUT_A64_EXT_WIDE, SBPF_KOPS_EXTRACT, "32-bit, every field", "ubfx" },
		{ KOPS_MUT_A64_BSL16_REV, SBPF_KOPS_BSWAP_LOAD, "16-bit", "rev " },
		{ KOPS_MUT_A64_COPY_OVERLAP, SBPF_KOPS_BULK_COPY, "length 9..16", "ldp" },
		{ KOPS_MUT_A64_LEA_SHIFT, SBPF_KOPS_LEA, "shift 2", "lsl #3" },
		{ KOPS_MUT_A64_SEL_COND, SBPF_KOPS_SELECT, "jsge, rhs reg, cmp/mov 64/32", "csel" },
		{ KOPS_MUT_A64_POP_MASK, SBPF_KOPS_POPCOUNT, "32-bit, ALU32 ops", "#0x1f" },
		{ KOPS_MUT_A64_WIDE_REV, SBPF_KOPS_WIDE_LOAD, "32-bit big-endian", "rev x" },
	};
	cr_assert_eq(sizeof(cases) / sizeof(cases[0]), KOPS_MUT_A64__END - KOPS_MUT_A64_ROT_LEFT,
		     "an AArch64 JIT mutant without a case here");
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct prove_group_result r = run_group(cases[k].op, cases[k].group, cases[k].mutant);
		cr_assert_gt(r.failed, 0, "mutant %d not refuted in %s %s", cases[k].mutant,
			     sbpf_kops_info(cases[k].op)->name, cases[k].group);
		cr_assert_not_null(r.report);
		cr_assert(strstr(r.report, "counterexample"), "mutant %d: no counterexample:\n%s", cases[k].mutant,
			  r.report);
		cr_assert(strstr(r.report, cases[k].needle), "mutant %d: the native code lacks '%s':\n%s",
			  cases[k].mutant, cases[k].needle, r.report);
		cr_log_info("AArch64 JIT mutant %d refuted in %s %s: %lu of %lu obligations failed", cases[k].mutant,
			    sbpf_kops_info(cases[k].op)->name, cases[k].group, r.failed, r.obligations);
		free(r.report);
	}
}
