/* test_prove.c - the equivalence prover (src/prove/). The models are tested
 * against the real things: the symbolic eBPF semantics against the
 * interpreter on every instruction form, the symbolic x86-64 semantics
 * against this CPU (the code runs natively through a trampoline), the
 * symbolic specifications against the plain-C ones. Then the prover itself:
 * correct hand-written emits (tests/unit/prove_emits.h) are proven for
 * every register assignment, and deliberately wrong ones are refuted with a
 * counterexample.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "jit/x86_64/kops_x86.h"
#include "kops/kopsInt.h"
#include "prove/proveInt.h"
#include "prove_emits.h"
#include "safebpf/asm.h"
#include "safebpf/vm.h"

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

/* A value: boundary or random, as the round says. */
static uint64_t pick(int round, int i)
{
	return round % 3 == 2 ? rnd() : boundary[((size_t)round * 5 + (size_t)i * 3 + (size_t)random() % 3) % NB];
}

/* @t evaluated: simplified to a numeral (false when it is not one, e.g. an
 * undefined flag's fresh variable). */
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

/* A symbolic memory holding the @len bytes @bytes at address @at (zero
 * elsewhere). */
static Z3_ast concrete_mem(struct prove_z3 *z, uint64_t at, const uint8_t *bytes, size_t len)
{
	Z3_ast m = Z3_mk_const_array(z->c, z->bv[64], prove_bv(z, 0, 8));
	for (size_t i = 0; i < len; i++)
		m = Z3_mk_store(z->c, m, prove_bv(z, at + i, 64), prove_bv(z, bytes[i], 8));
	return m;
}

/* ---- eBPF semantics vs the interpreter ------------------------------------ */

#define DATA 64            /* data bytes the instructions may touch */
#define BASE_OFF 32        /* r8 points here */
#define OUT (DATA)         /* r0..r8 are stored here after the run */
#define MEMSZ (DATA + 8 * 9)

/* A random instance of form @op using r0..r8 (r8 the memory base), plus a
 * following instruction when it jumps. Returns the slots, 0 to skip. */
static int make_insn(enum sbpf_op op, struct sbpf_insn out[3])
{
	const struct sbpf_op_info *f = sbpf_op_info(op);
	int dst = (int)(random() % 9), src = (int)(random() % 9);
	int32_t imm = (int32_t)pick((int)(random() % 3), (int)(random() % 64));
	int16_t off = 0;
	uint8_t code = f->code;
	int size = 1;
	switch (f->fmt) {
	case SBPF_FMT_LDX: case SBPF_FMT_ST: case SBPF_FMT_STX: case SBPF_FMT_ATOMIC: {
		static const int sizes[4] = { 4, 2, 1, 8 };
		size = sizes[(code >> 3) & 3];
		off = (int16_t)(random() % (DATA - size + 1) - BASE_OFF);
		if (f->fmt == SBPF_FMT_LDX)
			src = 8;
		else
			dst = 8;
		break;
	}
	case SBPF_FMT_CALL: case SBPF_FMT_CALL_LOCAL: case SBPF_FMT_EXIT:
		return 0;
	case SBPF_FMT_LDDW:
		if (f->key_value)
			return 0;
		out[0] = SBPF_INSN(code, dst, 0, 0, imm);
		out[1] = SBPF_INSN(0, 0, 0, 0, (int32_t)rnd());
		return 2;
	default:
		break;
	}
	switch (f->key) {
	case SBPF_KEY_OFF: off = (int16_t)f->key_value; break;
	case SBPF_KEY_IMM: imm = f->key_value; break;
	case SBPF_KEY_SRC: src = f->key_value; break;
	default: break;
	}
	if (f->fmt == SBPF_FMT_JA || f->fmt == SBPF_FMT_JCOND_K || f->fmt == SBPF_FMT_JCOND_X)
		off = 1;
	if (f->fmt == SBPF_FMT_JA32)
		imm = 1;
	if (f->fmt == SBPF_FMT_ALU_K || f->fmt == SBPF_FMT_JCOND_K || f->fmt == SBPF_FMT_JA ||
	    f->fmt == SBPF_FMT_JA32 || f->fmt == SBPF_FMT_NEG || f->fmt == SBPF_FMT_END || f->fmt == SBPF_FMT_ST)
		src = 0;
	if (f->fmt == SBPF_FMT_ALU_X || f->fmt == SBPF_FMT_MOVSX || f->fmt == SBPF_FMT_JCOND_X ||
	    f->fmt == SBPF_FMT_NEG || f->fmt == SBPF_FMT_LDX || f->fmt == SBPF_FMT_STX)
		if (f->key != SBPF_KEY_IMM)
			imm = 0;
	if (f->fmt == SBPF_FMT_ATOMIC)
		imm = f->key_value;
	if (f->fmt == SBPF_FMT_JA || f->fmt == SBPF_FMT_JA32)
		dst = 0;
	if (f->fmt == SBPF_FMT_ALU_K && ((code & 0xf0) == SBPF_LSH || (code & 0xf0) == SBPF_RSH ||
					 (code & 0xf0) == SBPF_ARSH))
		imm = (int32_t)(random() % (SBPF_CLASS(code) == SBPF_ALU64 ? 64 : 32));
	out[0] = SBPF_INSN(code, dst, src, off, imm);
	if (f->fmt == SBPF_FMT_JA || f->fmt == SBPF_FMT_JA32 || f->fmt == SBPF_FMT_JCOND_K ||
	    f->fmt == SBPF_FMT_JCOND_X) {
		out[1] = SBPF_MOV64_IMM((int)(random() % 8), (int32_t)rnd()); /* skipped when the jump is taken */
		return 2;
	}
	return 1;
}

/* Runs @insns (@n slots) on the interpreter and on the model from the same
 * registers r0..r7 and data; compares r0..r8 and the data. */
static void ebpf_compare(struct prove_z3 *z, const struct sbpf_insn *insns, int n, const uint64_t v[8], int *checked)
{
	uint8_t mem[MEMSZ], init[DATA];
	for (int i = 0; i < DATA; i++)
		init[i] = (uint8_t)random();
	memcpy(mem, init, DATA);
	struct sbpf_insn prog[64];
	int k = 0;
	prog[k++] = SBPF_MOV64_REG(9, 1);
	for (int r = 0; r < 8; r++) {
		prog[k++] = SBPF_LD_IMM64_LO(r, 0, v[r]);
		prog[k++] = SBPF_LD_IMM64_HI(v[r]);
	}
	prog[k++] = SBPF_MOV64_REG(8, 9);
	prog[k++] = SBPF_ALU64_IMM(SBPF_ADD, 8, BASE_OFF);
	int start = k;
	for (int i = 0; i < n; i++)
		prog[k++] = insns[i];
	for (int r = 0; r < 9; r++)
		prog[k++] = SBPF_STX_MEM(SBPF_DW, 9, r, OUT + 8 * r);
	prog[k++] = SBPF_MOV64_IMM(0, 0);
	prog[k++] = SBPF_EXIT_INSN();
	struct sbpf_validate_error verr;
	if (sbpf_validate(prog, (size_t)k, &verr))
		return; /* a form this generator filled in a way the ISA refuses */
	struct sbpf_vm *vm = sbpf_vm__new(prog, (size_t)k, NULL, NULL);
	cr_assert_not_null(vm);
	uint64_t r0;
	struct sbpf_run_error err;
	cr_assert_eq(sbpf_vm__run(vm, mem, MEMSZ, &r0, &err), 0, "interpreter: %s", err.reason);
	sbpf_vm__free(vm);

	struct prove_state s = { 0 };
	s.path = prove_true(z);
	for (int r = 0; r < 8; r++)
		s.reg[r] = prove_bv(z, v[r], 64);
	s.reg[8] = prove_bv(z, (uintptr_t)mem + BASE_OFF, 64);
	s.reg[9] = prove_bv(z, (uintptr_t)mem, 64);
	s.reg[10] = prove_var(z, "fp", 64);
	s.mem = concrete_mem(z, (uintptr_t)mem, init, DATA);
	Z3_ast mem0 = s.mem;
	char why[256];
	cr_assert_eq(prove_ebpf_run(z, prog + start, (size_t)n, &s, why, sizeof(why)), 0, "model: %s", why);
	char text[64];
	sbpf_disasm_insn(insns, (size_t)n, 0, SBPF_DISASM_ASM_NOLABELS, text, sizeof(text));
	for (int r = 0; r < 9; r++) {
		uint64_t want, got;
		memcpy(&want, mem + OUT + 8 * r, 8);
		cr_assert(num(z, s.reg[r], &got), "%s: r%d not concrete", text, r);
		cr_assert_eq(got, want, "%s: r%d model 0x%llx interpreter 0x%llx", text, r,
			     (unsigned long long)got, (unsigned long long)want);
	}
	for (int i = 0; i < DATA; i++) {
		uint64_t got;
		if (s.mem == mem0) { /* the model stored nothing */
			cr_assert_eq(mem[i], init[i], "%s: byte %d stored by the interpreter only", text, i);
			continue;
		}
		cr_assert(num(z, Z3_mk_select(z->c, s.mem, prove_bv(z, (uintptr_t)mem + i, 64)), &got));
		cr_assert_eq(got, mem[i], "%s: byte %d model 0x%llx interpreter 0x%x", text, i,
			     (unsigned long long)got, mem[i]);
	}
	prove_state_free(&s);
	(*checked)++;
}

Test(prove_ebpf, every_form_matches_the_interpreter)
{
	struct prove_z3 z;
	cr_assert_eq(prove_z3_init(&z), 0);
	srandom(7);
	int checked = 0, forms = 0;
	for (int op = 1; op < SBPF_OP__COUNT; op++) {
		int before = checked;
		for (int round = 0; round < 24; round++) {
			struct sbpf_insn in[3];
			int n = make_insn((enum sbpf_op)op, in);
			if (!n)
				break;
			uint64_t v[8];
			for (int r = 0; r < 8; r++)
				v[r] = pick(round, r);
			Z3_solver_push(z.c, z.solver); /* frees the terms afterwards */
			ebpf_compare(&z, in, n, v, &checked);
			Z3_solver_pop(z.c, z.solver, 1);
		}
		forms += checked > before;
	}
	cr_assert_gt(forms, 150, "only %d forms checked", forms);
	cr_log_info("%d runs over %d forms", checked, forms);
	prove_z3_fini(&z);
}

Test(prove_ebpf, refuses_what_is_not_a_proof_sequence)
{
	struct prove_z3 z;
	cr_assert_eq(prove_z3_init(&z), 0);
	const struct sbpf_insn bad[][2] = {
		{ SBPF_CALL_HELPER(5), SBPF_MOV64_IMM(0, 0) },
		{ SBPF_EXIT_INSN(), SBPF_MOV64_IMM(0, 0) },
		{ SBPF_MOV64_IMM(0, 0), SBPF_JA(-2) },
		{ SBPF_JA(5), SBPF_MOV64_IMM(0, 0) },
		{ SBPF_LD_IMM64_LO(1, SBPF_PSEUDO_MAP_FD, 3), SBPF_LD_IMM64_HI(0) },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct prove_state s = { 0 };
		s.path = prove_true(&z);
		for (int r = 0; r < SBPF_NREGS; r++)
			s.reg[r] = prove_bv(&z, 0, 64);
		s.mem = Z3_mk_const_array(z.c, z.bv[64], prove_bv(&z, 0, 8));
		char why[256] = "";
		cr_assert_eq(prove_ebpf_run(&z, bad[i], 2, &s, why, sizeof(why)), -EINVAL, "case %zu accepted", i);
		cr_assert_neq(why[0], 0);
		prove_state_free(&s);
	}
	prove_z3_fini(&z);
}

/* ---- x86-64 semantics vs this CPU ------------------------------------------ */

/* state[0..15] = registers by hardware number, state[16] = rflags. */
typedef void (*tramp_fn)(uint64_t *state);

/* Builds a function that loads every register but rsp from its argument,
 * runs @code, and stores them back (with the flags). */
static tramp_fn trampoline(const uint8_t *code, size_t len, void **map, size_t *mapsz)
{
	struct jit_buf b = { 0 };
	static const int saved[] = { X64_RBX, X64_RBP, X64_R12, X64_R13, X64_R14, X64_R15 };
	for (int i = 0; i < 6; i++)
		emit_push(&b, saved[i]);
	emit_push(&b, X64_RDI);
	static const uint8_t push_flags[] = { 0xff, 0xb7, 0x80, 0, 0, 0, 0x9d }; /* push [rdi+128]; popfq */
	jit_buf_put(&b, push_flags, sizeof(push_flags));
	for (int hw = 0; hw < 16; hw++)
		if (hw != X64_RSP && hw != X64_RDI)
			emit_load(&b, 8, hw, X64_RDI, 8 * hw);
	emit_load(&b, 8, X64_RDI, X64_RDI, 8 * X64_RDI);
	jit_buf_put(&b, code, len);
	emit_xchg_mr(&b, 1, X64_RSP, 0, X64_RDI);                 /* rdi = state, [rsp] = rdi */
	for (int hw = 0; hw < 16; hw++)
		if (hw != X64_RSP && hw != X64_RDI)
			emit_store(&b, 8, X64_RDI, 8 * hw, hw);
	static const uint8_t tail[] = { 0x9c, 0x8f, 0x87, 0x80, 0, 0, 0, /* pushfq; pop [rdi+128] */
					0x8f, 0x47, 0x38 };               /* pop [rdi+56] */
	jit_buf_put(&b, tail, sizeof(tail));
	for (int i = 5; i >= 0; i--)
		emit_pop(&b, saved[i]);
	emit_ret(&b);
	cr_assert_eq(b.err, 0);
	*mapsz = (b.len + 4095) & ~(size_t)4095;
	void *m = mmap(NULL, *mapsz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(m, MAP_FAILED);
	memcpy(m, b.p, b.len);
	free(b.p);
	cr_assert_eq(mprotect(m, *mapsz, PROT_READ | PROT_EXEC), 0);
	*map = m;
	return (tramp_fn)m;
}

static const uint64_t flag_bits[PF__N] = { 1u << 0, 1u << 2, 1u << 6, 1u << 7, 1u << 11 };
static const char *const flag_names[PF__N] = { "CF", "PF", "ZF", "SF", "OF" };

#define XBUF 1024

/* Runs @code natively and in the model from registers @regs (pointers
 * into @buf allowed) and flags @flags; compares every register, every flag
 * the model defines, and the bytes [@lo, @hi) of the buffer, which the
 * model's memory holds (the CPU must not change any other). */
static void x86_compare(struct prove_z3 *z, const uint8_t *code, size_t len, const uint64_t regs[16],
			uint64_t flags, uint8_t *buf, size_t lo, size_t hi, const char *what)
{
	uint8_t init[XBUF];
	memcpy(init, buf, XBUF);
	struct prove_x86_insn *insns;
	size_t n;
	char why[256];
	cr_assert_eq(prove_x86_decode(code, len, &insns, &n, why, sizeof(why)), 0, "%s: %s", what, why);
	uint64_t st[17];
	memcpy(st, regs, 16 * 8);
	st[16] = 2 | flags;
	void *map;
	size_t mapsz;
	tramp_fn f = trampoline(code, len, &map, &mapsz);
	f(st);
	munmap(map, mapsz);

	Z3_solver_push(z->c, z->solver);
	struct prove_state s = { 0 };
	s.path = prove_true(z);
	for (int hw = 0; hw < 16; hw++)
		s.reg[hw] = prove_bv(z, regs[hw], 64);
	for (int i = 0; i < PF__N; i++)
		s.flag[i] = flags & flag_bits[i] ? prove_true(z) : prove_false(z);
	s.mem = concrete_mem(z, (uintptr_t)buf + lo, init + lo, hi - lo);
	cr_assert_eq(prove_x86_run(z, insns, n, &s, why, sizeof(why)), 0, "%s: %s", what, why);
	for (int hw = 0; hw < 16; hw++) {
		if (hw == X64_RSP)
			continue;
		uint64_t got;
		cr_assert(num(z, s.reg[hw], &got), "%s: %s not concrete", what, prove_x86_reg_name(hw));
		cr_assert_eq(got, st[hw], "%s: %s model 0x%llx cpu 0x%llx (%s)", what, prove_x86_reg_name(hw),
			     (unsigned long long)got, (unsigned long long)st[hw], insns[0].text);
	}
	for (int i = 0; i < PF__N; i++) {
		uint64_t got;
		if (num(z, s.flag[i], &got)) /* else undefined: any value is right */
			cr_assert_eq(got, !!(st[16] & flag_bits[i]), "%s: %s model %d cpu %d", what, flag_names[i],
				     (int)got, !!(st[16] & flag_bits[i]));
	}
	Z3_ast fmem = Z3_simplify(z->c, s.mem); /* once: the byte reads below share it */
	cr_assert_arr_eq(buf, init, lo, "%s: stored below the window", what);
	cr_assert_arr_eq(buf + hi, init + hi, XBUF - hi, "%s: stored above the window", what);
	for (size_t i = lo; i < hi; i++) {
		if (buf[i] == init[i] && random() % 16)
			continue; /* unchanged bytes: spot-check some */
		uint64_t got;
		cr_assert(num(z, Z3_mk_select(z->c, fmem, prove_bv(z, (uintptr_t)buf + i, 64)), &got));
		cr_assert_eq(got, buf[i], "%s: byte %zu model 0x%llx cpu 0x%x", what, i, (unsigned long long)got, buf[i]);
	}
	prove_state_free(&s);
	Z3_solver_pop(z->c, z->solver, 1);
	free(insns);
}

/* Registers r0..r10 of a payload run: values, with memory bases pointing
 * into @buf so that every access of the operation stays inside. */
static void payload_regs(const struct sbpf_kops_payload *p, int round, uint8_t *buf, uint64_t regs[16])
{
	for (int hw = 0; hw < 16; hw++)
		regs[hw] = pick(round, hw);
	regs[X64_RSP] = 0;
	if (p->op == SBPF_KOPS_BSWAP_LOAD || p->op == SBPF_KOPS_PREFETCH)
		regs[TR(p->a)] = (uintptr_t)buf + 512;
	if (p->op == SBPF_KOPS_BULK_COPY) {
		static const int bases[] = { 128, 200, 256, 384 };
		regs[TR(p->a)] = (uintptr_t)buf + bases[random() % 4];
		regs[TR(p->dst)] = (uintptr_t)buf + bases[random() % 4];
		if (p->a == p->dst)
			regs[TR(p->a)] = (uintptr_t)buf + 256;
	}
	if (p->op == SBPF_KOPS_ROTATE && (p->variant & KOPS_ROT_REG) && round % 4 == 0)
		regs[TR(p->a)] = (uint64_t)(random() % 3) << 6; /* amount 0 mod 64: no rotation, flags kept */
}

/* A random payload of @op the rules accept, with immediates that keep
 * memory accesses inside the test buffer. */
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
			p->imm = (int32_t)pick((int)(random() % 3), 1);
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
			p->imm = (int32_t)(random() % 256 - 128);
			break;
		case SBPF_KOPS_BULK_COPY:
			p->variant = (uint16_t)(1 + random() % 256);
			p->imm = (int32_t)((uint32_t)(uint16_t)(random() % 128 - 64) |
					   (uint32_t)(uint16_t)(random() % 128 - 64) << 16);
			break;
		default: /* lea */
			p->variant = (uint16_t)(random() % 4);
			p->imm = (int32_t)pick((int)(random() % 3), 2);
			break;
		}
	} while (sbpf_kops_check_payload(p, why, sizeof(why)));
}

Test(prove_x86, the_emits_match_this_cpu)
{
	struct prove_z3 z;
	cr_assert_eq(prove_z3_init(&z), 0);
	srandom(11);
	te_wrong = WRONG_NONE;
	uint8_t *buf = malloc(XBUF);
	int runs = 0;
	for (uint32_t op = 1; op < SBPF_KOPS__MAX; op++)
		for (int round = 0; round < (op == SBPF_KOPS_BULK_COPY ? 24 : 120); round++) {
			struct sbpf_kops_payload p;
			random_payload(op, &p);
			unsigned int fs = round % 2 ? TE_BMI1 | TE_MOVBE | TE_POPCNT : 0;
			uint8_t code[4096];
			size_t len;
			int rc = te_emit(NULL, &p, fs, code, sizeof(code), &len);
			if (rc == -EOPNOTSUPP && !(fs & TE_POPCNT) && op == SBPF_KOPS_POPCOUNT)
				continue; /* declined: the JIT runs the proof sequence */
			cr_assert_eq(rc, 0);
			for (int i = 0; i < XBUF; i++)
				buf[i] = (uint8_t)random();
			uint64_t regs[16];
			payload_regs(&p, round, buf, regs);
			char what[160];
			prove_payload_str(&p, what, sizeof(what));
			uint64_t flags = (uint64_t)random() & (1 | 4 | 0x40 | 0x80 | 0x800);
			size_t lo = 0, hi = 0;
			if (op == SBPF_KOPS_BULK_COPY)
				lo = 64, hi = 704;
			else if (op == SBPF_KOPS_BSWAP_LOAD || op == SBPF_KOPS_PREFETCH)
				lo = 376, hi = 648;
			x86_compare(&z, code, len, regs, flags, buf, lo, hi, what);
			runs++;
		}
	cr_log_info("%d native runs", runs);
	free(buf);
	prove_z3_fini(&z);
}

/* Single instruction forms the emits may use, each run on many inputs. */
Test(prove_x86, instruction_forms_match_this_cpu)
{
	struct prove_z3 z;
	cr_assert_eq(prove_z3_init(&z), 0);
	srandom(12);
	uint8_t *buf = malloc(XBUF);
	static const struct { const char *name; uint8_t bytes[16]; size_t len; } forms[] = {
		{ "rol rax, cl", { 0x48, 0xd3, 0xc0 }, 3 },
		{ "ror ebx, cl", { 0xd3, 0xcb }, 2 },
		{ "rol r13d, 1", { 0x41, 0xd1, 0xc5 }, 3 },
		{ "ror r14, 1", { 0x49, 0xd1, 0xce }, 3 },
		{ "rol si, 9", { 0x66, 0xc1, 0xc6, 9 }, 4 },
		{ "rol dl, cl", { 0xd2, 0xc2 }, 2 },
		{ "shl rdi, cl", { 0x48, 0xd3, 0xe7 }, 3 },
		{ "shr esi, cl", { 0xd3, 0xee }, 2 },
		{ "sar r8, 7", { 0x49, 0xc1, 0xf8, 7 }, 4 },
		{ "shl eax, 1", { 0xd1, 0xe0 }, 2 },
		{ "shr ax, cl", { 0x66, 0xd3, 0xe8 }, 3 },
		{ "cmp rax, rbx", { 0x48, 0x39, 0xd8 }, 3 },
		{ "cmp edi, -1", { 0x83, 0xff, 0xff }, 3 },
		{ "cmp rsi, 0x80000000 (sign-extended)", { 0x48, 0x81, 0xfe, 0, 0, 0, 0x80 }, 7 },
		{ "test r15, r14", { 0x4d, 0x85, 0xf7 }, 3 },
		{ "test dil, 0x81", { 0x40, 0xf6, 0xc7, 0x81 }, 4 },
		{ "test rcx, -2", { 0x48, 0xf7, 0xc1, 0xfe, 0xff, 0xff, 0xff }, 7 },
		{ "add rdx, rcx", { 0x48, 0x01, 0xca }, 3 },
		{ "sub r8d, 5", { 0x41, 0x83, 0xe8, 5 }, 4 },
		{ "and rbx, -128", { 0x48, 0x83, 0xe3, 0x80 }, 4 },
		{ "or eax, 0x12345678", { 0x0d, 0x78, 0x56, 0x34, 0x12 }, 5 },
		{ "xor r9, r9", { 0x4d, 0x31, 0xc9 }, 3 },
		{ "neg rdi", { 0x48, 0xf7, 0xdf }, 3 },
		{ "not esi", { 0xf7, 0xd6 }, 2 },
		{ "inc rax", { 0x48, 0xff, 0xc0 }, 3 },
		{ "dec r13b", { 0x41, 0xfe, 0xcd }, 3 },
		{ "cmove rax, rbx", { 0x48, 0x0f, 0x44, 0xc3 }, 4 },
		{ "cmovne eax, ebx (32-bit: always zero-extends)", { 0x0f, 0x45, 0xc3 }, 3 },
		{ "cmovl r13, r14", { 0x4d, 0x0f, 0x4c, 0xee }, 4 },
		{ "cmova si, di", { 0x66, 0x0f, 0x47, 0xf7 }, 4 },
		{ "cmovp rdx, rcx", { 0x48, 0x0f, 0x4a, 0xd1 }, 4 },
		{ "setg al", { 0x0f, 0x9f, 0xc0 }, 3 },
		{ "setbe r10b", { 0x41, 0x0f, 0x96, 0xc2 }, 4 },
		{ "mov ah, bl", { 0x88, 0xdc }, 2 },
		{ "mov cx, dx", { 0x66, 0x89, 0xd1 }, 3 },
		{ "mov edi, esi", { 0x89, 0xf7 }, 2 },
		{ "mov r8, -1 (sign-extended imm32)", { 0x49, 0xc7, 0xc0, 0xff, 0xff, 0xff, 0xff }, 7 },
		{ "mov r9d, 0x80000000", { 0x41, 0xb9, 0, 0, 0, 0x80 }, 6 },
		{ "movabs rax, imm64", { 0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 0x88 }, 10 },
		{ "movzx eax, bl", { 0x0f, 0xb6, 0xc3 }, 3 },
		{ "movzx r11d, si", { 0x44, 0x0f, 0xb7, 0xde }, 4 },
		{ "movsx rax, dil", { 0x48, 0x0f, 0xbe, 0xc7 }, 4 },
		{ "movsx ecx, bh", { 0x0f, 0xbe, 0xcf }, 3 },
		{ "movsxd rdi, esi", { 0x48, 0x63, 0xfe }, 3 },
		{ "lea rax, [rbx + rcx*4 + 0x10]", { 0x48, 0x8d, 0x44, 0x8b, 0x10 }, 5 },
		{ "lea r13, [r13 + r14*8 - 0x80000000]", { 0x4f, 0x8d, 0xac, 0xf5, 0, 0, 0, 0x80 }, 8 },
		{ "lea eax, [rdi + rsi]", { 0x8d, 0x04, 0x37 }, 3 },
		{ "bswap rdx", { 0x48, 0x0f, 0xca }, 3 },
		{ "bswap r15d", { 0x41, 0x0f, 0xcf }, 3 },
		{ "xchg rax, r13", { 0x49, 0x87, 0xc5 }, 3 },
		{ "rorx rax, rbx, 13", { 0xc4, 0xe3, 0xfb, 0xf0, 0xc3, 13 }, 6 },
		{ "rorx r13d, esi, 31", { 0xc4, 0x63, 0x7b, 0xf0, 0xee, 31 }, 6 },
		{ "shlx rax, rbx, rcx", { 0xc4, 0xe2, 0xf1, 0xf7, 0xc3 }, 5 },
		{ "shrx esi, edi, edx", { 0xc4, 0xe2, 0x6b, 0xf7, 0xf7 }, 5 },
		{ "sarx r8, r9, r10", { 0xc4, 0x42, 0xaa, 0xf7, 0xc1 }, 5 },
		{ "bextr rax, rbx, rcx", { 0xc4, 0xe2, 0xf0, 0xf7, 0xc3 }, 5 },
		{ "bextr esi, edi, edx", { 0xc4, 0xe2, 0x68, 0xf7, 0xf7 }, 5 },
		{ "jne +3; mov eax, ebx; nop", { 0x75, 0x02, 0x89, 0xd8, 0x90 }, 5 },
		{ "jb +7 over a 64-bit move", { 0x72, 0x03, 0x48, 0x89, 0xd8, 0x48, 0x89, 0xd9 }, 8 },
		{ "jmp over an instruction", { 0xeb, 0x03, 0x48, 0x31, 0xc0, 0x90 }, 6 },
	};
	int runs = 0;
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
		for (int round = 0; round < 40; round++) {
			uint64_t regs[16];
			for (int hw = 0; hw < 16; hw++)
				regs[hw] = pick(round, hw);
			regs[X64_RSP] = 0;
			if (round % 4 == 1) /* small counts and controls: shifts by 0, 1, w-1, w, bextr edges */
				for (int hw = 0; hw < 16; hw++)
					regs[hw] = (uint64_t)(random() % 70) | (uint64_t)(random() % 70) << 8;
			for (int k = 0; k < XBUF; k++)
				buf[k] = (uint8_t)random();
			uint64_t flags = (uint64_t)random() & (1 | 4 | 0x40 | 0x80 | 0x800);
			x86_compare(&z, forms[i].bytes, forms[i].len, regs, flags, buf, 0, 0, forms[i].name);
			runs++;
		}
	/* memory forms: the base register points into the buffer */
	static const struct { const char *name; uint8_t bytes[16]; size_t len; int base; } mforms[] = {
		{ "movbe ax, [rdi+1]", { 0x66, 0x0f, 0x38, 0xf0, 0x47, 0x01 }, 6, X64_RDI },
		{ "movbe ebx, [rsi-3]", { 0x0f, 0x38, 0xf0, 0x5e, 0xfd }, 5, X64_RSI },
		{ "movbe r13, [rbp+0x100]", { 0x4c, 0x0f, 0x38, 0xf0, 0xad, 0, 1, 0, 0 }, 9, X64_RBP },
		{ "movbe [r13+0], r14w", { 0x66, 0x45, 0x0f, 0x38, 0xf1, 0x75, 0x00 }, 7, X64_R13 },
		{ "movbe [rax+8], rcx", { 0x48, 0x0f, 0x38, 0xf1, 0x48, 0x08 }, 6, X64_RAX },
		{ "mov rdx, [rbx+7]", { 0x48, 0x8b, 0x53, 0x07 }, 4, X64_RBX },
		{ "mov [r12+1], r11d", { 0x45, 0x89, 0x5c, 0x24, 0x01 }, 5, X64_R12 },
		{ "mov byte [rcx-1], sil", { 0x40, 0x88, 0x71, 0xff }, 4, X64_RCX },
		{ "mov word [rdi], 0x1234", { 0x66, 0xc7, 0x07, 0x34, 0x12 }, 5, X64_RDI },
		{ "mov qword [rsi+16], -5", { 0x48, 0xc7, 0x46, 0x10, 0xfb, 0xff, 0xff, 0xff }, 8, X64_RSI },
		{ "movzx eax, word [rdx+2]", { 0x0f, 0xb7, 0x42, 0x02 }, 4, X64_RDX },
		{ "movsx rbx, byte [r8+3]", { 0x49, 0x0f, 0xbe, 0x58, 0x03 }, 5, X64_R8 },
		{ "cmovge r9, [r15+8] (loads either way)", { 0x4d, 0x0f, 0x4d, 0x4f, 0x08 }, 5, X64_R15 },
		{ "prefetcht0 [rdi-64]", { 0x0f, 0x18, 0x4f, 0xc0 }, 4, X64_RDI },
		{ "prefetchnta [rax]", { 0x0f, 0x18, 0x00 }, 3, X64_RAX },
		{ "add [rbx], rcx", { 0x48, 0x01, 0x0b }, 3, X64_RBX },
		{ "bextr rax, [rsi+4], rcx", { 0xc4, 0xe2, 0xf0, 0xf7, 0x46, 0x04 }, 6, X64_RSI },
	};
	for (size_t i = 0; i < sizeof(mforms) / sizeof(mforms[0]); i++)
		for (int round = 0; round < 40; round++) {
			uint64_t regs[16];
			for (int hw = 0; hw < 16; hw++)
				regs[hw] = pick(round, hw);
			regs[X64_RSP] = 0;
			if (round % 2)
				regs[X64_RCX] = (uint64_t)(random() % 70) | (uint64_t)(random() % 70) << 8;
			regs[mforms[i].base] = (uintptr_t)buf + 512;
			for (int k = 0; k < XBUF; k++)
				buf[k] = (uint8_t)random();
			uint64_t flags = (uint64_t)random() & (1 | 4 | 0x40 | 0x80 | 0x800);
			x86_compare(&z, mforms[i].bytes, mforms[i].len, regs, flags, buf, 440, 800, mforms[i].name);
			runs++;
		}
	cr_log_info("%d native runs", runs);
	free(buf);
	prove_z3_fini(&z);
}

Test(prove_x86, refuses_what_it_does_not_model)
{
	struct prove_z3 z;
	cr_assert_eq(prove_z3_init(&z), 0);
	static const struct { const char *name; uint8_t bytes[8]; size_t len; bool decodes; } bad[] = {
		{ "rep movsb", { 0xf3, 0xa4 }, 2, false },
		{ "lock add [rax], rbx", { 0xf0, 0x48, 0x01, 0x18 }, 4, false },
		{ "mov rax, fs:[rbx]", { 0x64, 0x48, 0x8b, 0x03 }, 4, false },
		{ "mov eax, [ebx] (32-bit address)", { 0x67, 0x8b, 0x03 }, 3, false },
		{ "mov rax, [rip+0]", { 0x48, 0x8b, 0x05, 0, 0, 0, 0 }, 7, false },
		{ "jmp rax", { 0xff, 0xe0 }, 2, false },
		{ "jne into an instruction", { 0x75, 0x01, 0x48, 0x89, 0xd8 }, 5, false },
		{ "jmp past the end", { 0xeb, 0x05, 0x90 }, 3, false },
		{ "invalid in 64-bit mode", { 0x06 }, 1, false },
		{ "div rcx (implicit rax, rdx)", { 0x48, 0xf7, 0xf1 }, 3, true },
		{ "push rax (implicit rsp)", { 0x50 }, 1, true },
		{ "imul rax, rbx (no model)", { 0x48, 0x0f, 0xaf, 0xc3 }, 4, true },
		{ "jmp backward", { 0x90, 0xeb, 0xfd }, 3, true },
		{ "bswap ax (undefined)", { 0x66, 0x0f, 0xc8 }, 3, true },
		{ "pxor xmm0, xmm0 (no model)", { 0x66, 0x0f, 0xef, 0xc0 }, 4, true },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct prove_x86_insn *insns = NULL;
		size_t n;
		char why[256] = "";
		int rc = prove_x86_decode(bad[i].bytes, bad[i].len, &insns, &n, why, sizeof(why));
		if (!bad[i].decodes) {
			cr_assert_eq(rc, -EINVAL, "%s: decoded", bad[i].name);
			cr_assert_neq(why[0], 0);
			continue;
		}
		cr_assert_eq(rc, 0, "%s: %s", bad[i].name, why);
		struct prove_state s = { 0 };
		s.path = prove_true(&z);
		for (int hw = 0; hw < 16; hw++)
			s.reg[hw] = prove_bv(&z, 0, 64);
		for (int f = 0; f < PF__N; f++)
			s.flag[f] = prove_false(&z);
		s.mem = Z3_mk_const_array(z.c, z.bv[64], prove_bv(&z, 0, 8));
		cr_assert_eq(prove_x86_run(&z, insns, n, &s, why, sizeof(why)), -EINVAL, "%s: executed", bad[i].name);
		cr_assert_neq(why[0], 0);
		prove_state_free(&s);
		free(insns);
	}
	prove_z3_fini(&z);
}

/* ---- symbolic specifications vs the C ones --------------------------------- */

Test(prove_spec, matches_the_c_specification)
{
	struct prove_z3 z;
	cr_assert_eq(prove_z3_init(&z), 0);
	srandom(13);
	uint8_t *buf = malloc(XBUF), *cbuf = malloc(XBUF);
	for (uint32_t op = 1; op < SBPF_KOPS__MAX; op++)
		for (int round = 0; round < (op == SBPF_KOPS_BULK_COPY ? 24 : 150); round++) {
			struct sbpf_kops_payload p;
			random_payload(op, &p);
			size_t lo = 0, hi = 0; /* the bytes the symbolic memory holds */
			if (op == SBPF_KOPS_BULK_COPY)
				lo = 64, hi = 704;
			else if (op == SBPF_KOPS_BSWAP_LOAD)
				lo = 376, hi = 648;
			for (int i = 0; i < XBUF; i++)
				buf[i] = cbuf[i] = (uint8_t)random();
			uint64_t hw[16], regs[SBPF_NREGS];
			payload_regs(&p, round, cbuf, hw);
			for (int r = 0; r < SBPF_NREGS; r++)
				regs[r] = hw[TR(r)];
			Z3_solver_push(z.c, z.solver);
			struct prove_state s = { 0 };
			s.path = prove_true(&z);
			for (int r = 0; r < SBPF_NREGS; r++)
				s.reg[r] = prove_bv(&z, regs[r], 64);
			s.mem = concrete_mem(&z, (uintptr_t)cbuf + lo, buf + lo, hi - lo);
			cr_assert_eq(prove_spec(&z, &p, &s), 0);
			cr_assert_eq(sbpf_kops_spec(&p, regs), 0);
			char what[160];
			prove_payload_str(&p, what, sizeof(what));
			for (int r = 0; r < SBPF_NREGS; r++) {
				uint64_t got;
				cr_assert(num(&z, s.reg[r], &got), "%s: r%d not concrete", what, r);
				cr_assert_eq(got, regs[r], "%s: r%d symbolic 0x%llx C 0x%llx", what, r,
					     (unsigned long long)got, (unsigned long long)regs[r]);
			}
			Z3_ast fmem = op == SBPF_KOPS_BULK_COPY ? Z3_simplify(z.c, s.mem) : NULL;
			cr_assert_arr_eq(cbuf, buf, lo, "%s: C spec stored below the window", what);
			cr_assert_arr_eq(cbuf + hi, buf + hi, XBUF - hi, "%s: C spec stored above the window", what);
			if (op == SBPF_KOPS_BULK_COPY)
				for (size_t i = lo; i < hi; i++) {
					uint64_t got;
					cr_assert(num(&z, Z3_mk_select(z.c, fmem, prove_bv(&z, (uintptr_t)cbuf + i, 64)), &got));
					cr_assert_eq(got, cbuf[i], "%s: byte %zu symbolic 0x%llx C 0x%x", what, i,
						     (unsigned long long)got, cbuf[i]);
				}
			prove_state_free(&s);
			Z3_solver_pop(z.c, z.solver, 1);
		}
	free(buf);
	free(cbuf);
	prove_z3_fini(&z);
}

/* ---- the prover ------------------------------------------------------------- */

/* The x86-64 target with the hand-written emits of prove_emits.h. */
static struct prove_target target(void)
{
	struct prove_target t;
	prove_target_x86_64(&t);
	t.emit = te_emit;
	t.scratch = te_scratch;
	t.max_len = NULL;
	t.nfeatures = 2;
	t.features[0] = 0;
	t.features[1] = TE_BMI1 | TE_MOVBE | TE_POPCNT;
	snprintf(t.feature_names[1], sizeof(t.feature_names[1]), "bmi1+movbe+popcnt");
	return t;
}

/* Runs group @label of @op with mistake @wrong; returns its result. */
static struct prove_group_result run_group(uint32_t op, const char *label, int wrong)
{
	struct prove_target t = target();
	struct prove_group *g;
	size_t n;
	cr_assert_eq(prove_groups(op, &g, &n), 0);
	size_t i = 0;
	while (i < n && strcmp(g[i].label, label))
		i++;
	cr_assert_lt(i, n, "no group '%s'", label);
	te_wrong = wrong;
	struct prove_group_result r;
	cr_assert_eq(prove_run_group(&t, &g[i], &r), 0);
	te_wrong = WRONG_NONE;
	prove_groups_free(g, n);
	return r;
}

static void expect_proved(uint32_t op, const char *label)
{
	struct prove_group_result r = run_group(op, label, WRONG_NONE);
	cr_assert_eq(r.failed, 0, "%s %s: %lu failed\n%s", sbpf_kops_info(op)->name, label, r.failed,
		     r.report ? r.report : "");
	cr_assert_gt(r.solved, 0);
	cr_assert_eq(r.obligations, r.solved + r.renamed);
	cr_log_info("%s %s: %lu obligations, %lu by Z3, %.2fs", sbpf_kops_info(op)->name, label,
		    r.obligations, r.solved, r.seconds);
	free(r.report);
}

/* The mistake must be refuted, with @needle in the report. */
static void expect_refuted(uint32_t op, const char *label, int wrong, const char *needle)
{
	struct prove_group_result r = run_group(op, label, wrong);
	cr_assert_gt(r.failed, 0, "%s %s: mistake %d not refuted", sbpf_kops_info(op)->name, label, wrong);
	cr_assert_not_null(r.report);
	cr_assert_not_null(strstr(r.report, needle), "report lacks '%s':\n%s", needle, r.report);
	free(r.report);
}

Test(prove, correct_emits_are_proven_for_every_assignment, .timeout = 600)
{
	expect_proved(SBPF_KOPS_ROTATE, "64-bit left by imm 1..w-1");
	expect_proved(SBPF_KOPS_ROTATE, "32-bit right by register");
	expect_proved(SBPF_KOPS_SELECT, "jsgt, rhs reg, cmp/mov 64/32");
	expect_proved(SBPF_KOPS_SELECT, "jset, rhs imm, cmp/mov 64/32");
	expect_proved(SBPF_KOPS_EXTRACT, "32-bit, every field");
	expect_proved(SBPF_KOPS_BSWAP_LOAD, "16-bit");
	expect_proved(SBPF_KOPS_BSWAP_LOAD, "64-bit");
	expect_proved(SBPF_KOPS_PREFETCH, "every base");
	expect_proved(SBPF_KOPS_BULK_COPY, "length 9..16");
	expect_proved(SBPF_KOPS_LEA, "shift 3");
	expect_proved(SBPF_KOPS_POPCOUNT, "32-bit, ALU32 ops");
}

Test(prove, select_writing_dst_before_the_compare_is_refuted)
{
	expect_refuted(SBPF_KOPS_SELECT, "jgt, rhs reg, cmp/mov 64/32", WRONG_SELECT_DST_FIRST, "counterexample");
}

Test(prove, cmov32_that_clears_the_upper_half_when_not_moving_is_refuted)
{
	expect_refuted(SBPF_KOPS_SELECT, "jne, rhs imm, cmp/mov 64/32", WRONG_SELECT_CMOV32, "differs: r");
}

Test(prove, mov32_select_that_keeps_the_upper_half_is_refuted)
{
	expect_refuted(SBPF_KOPS_SELECT, "jeq, rhs reg, cmp/mov 64/32", WRONG_SELECT_MOV32_WIDE, "differs: r");
}

Test(prove, rotate_through_an_undeclared_temporary_is_refuted)
{
	expect_refuted(SBPF_KOPS_ROTATE, "32-bit left by imm 1..w-1", WRONG_ROTATE_TEMP, "proof sequence vs native");
}

Test(prove, rotate_that_keeps_the_amount_in_rcx_is_refuted)
{
	expect_refuted(SBPF_KOPS_ROTATE, "64-bit left by register", WRONG_ROTATE_RCX, "r4 (rcx)");
}

Test(prove, extract_with_a_wide_mask_is_refuted)
{
	expect_refuted(SBPF_KOPS_EXTRACT, "32-bit, every field", WRONG_EXTRACT_MASK, "counterexample");
}

Test(prove, movbe16_without_zero_extension_is_refuted)
{
	expect_refuted(SBPF_KOPS_BSWAP_LOAD, "16-bit", WRONG_BSWAP16_NOZX, "counterexample");
}

Test(prove, copy_reading_past_the_source_is_refuted)
{
	expect_refuted(SBPF_KOPS_BULK_COPY, "length 1..8", WRONG_COPY_OVERREAD, "outside the proof sequence");
}

Test(prove, lea_with_the_wrong_scale_is_refuted)
{
	expect_refuted(SBPF_KOPS_LEA, "shift 1", WRONG_LEA_SCALE, "counterexample");
}

Test(prove, select_reading_stale_flags_is_refuted)
{
	expect_refuted(SBPF_KOPS_SELECT, "jsle, rhs reg, cmp/mov 64/32", WRONG_FLAGS_LEAK, "counterexample");
}

/* A mistake in one register assignment only must not hide behind the
 * renaming of a proven one. */
Test(prove, mistake_in_one_assignment_only_is_refuted)
{
	struct prove_group_result r = run_group(SBPF_KOPS_SELECT, "jeq, rhs reg, cmp/mov 64/32", WRONG_ONLY_R7);
	cr_assert_gt(r.failed, 0);
	cr_assert_not_null(strstr(r.report, "dst=r7"), "%s", r.report);
	/* every assignment with dst=r7 fails (4 variants x 11^3 choices of a,
	 * b, c), no other - except c=r7 with a 64-bit move, a no-op whatever
	 * the condition (2 variants x 11^2) */
	cr_assert_eq(r.failed, 4ul * 11 * 11 * 11 - 2ul * 11 * 11, "%lu failed", r.failed);
	free(r.report);
}

Test(prove, code_that_reads_an_unused_field_is_refuted)
{
	expect_refuted(SBPF_KOPS_ROTATE, "64-bit right by imm 1..w-1", WRONG_READS_UNUSED, "unused field b is 5");
}

/* The JIT's own emitters carry one deliberate mistake each behind
 * kops_x86.mutant (the same mistakes the JIT's differential tests catch):
 * proving the real emit code with the mistake switched on must fail, with
 * a counterexample, in the group that covers it. */
Test(prove, the_jits_own_mistakes_are_refuted, .timeout = 600)
{
	static const struct { int mutant; uint32_t op; const char *group; } cases[] = {
		{ KOPS_MUT_ROT_CL, SBPF_KOPS_ROTATE, "64-bit left by register" },
		{ KOPS_MUT_SCRATCH, SBPF_KOPS_ROTATE, "32-bit left by imm 1..w-1" },
		{ KOPS_MUT_SEL_NOCMP, SBPF_KOPS_SELECT, "jne, rhs reg, cmp/mov 64/32" },
		{ KOPS_MUT_SEL_CMOV32, SBPF_KOPS_SELECT, "jgt, rhs imm, cmp/mov 64/32" },
		{ KOPS_MUT_SEL_ALIAS, SBPF_KOPS_SELECT, "jeq, rhs reg, cmp/mov 64/32" },
		{ KOPS_MUT_EXT_NOZX, SBPF_KOPS_EXTRACT, "64-bit, every field" },
		{ KOPS_MUT_BSL16_NOZX, SBPF_KOPS_BSWAP_LOAD, "16-bit" },
		{ KOPS_MUT_COPY_OVERLAP, SBPF_KOPS_BULK_COPY, "length 17..32" },
		{ KOPS_MUT_LEA32, SBPF_KOPS_LEA, "shift 2" },
		{ KOPS_MUT_POP_WIDTH, SBPF_KOPS_POPCOUNT, "32-bit, ALU32 ops" },
	};
	cr_assert_eq(sizeof(cases) / sizeof(cases[0]), KOPS_MUT__COUNT - 1, "a JIT mutant without a case here");
	struct prove_group *g;
	size_t n;
	cr_assert_eq(prove_groups(0, &g, &n), 0);
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		size_t i = 0;
		while (i < n && (g[i].op != cases[k].op || strcmp(g[i].label, cases[k].group)))
			i++;
		cr_assert_lt(i, n, "no group '%s'", cases[k].group);
		struct prove_target t;
		prove_target_x86_64(&t);
		t.mutant = cases[k].mutant;
		t.stop_at_failure = true; /* one counterexample refutes it */
		/* The extract mutant is wrong for 32-bit fields only: prove those
		 * first, not after the 300,000 obligations of shorter ones. */
		struct prove_group sub = g[i];
		if (cases[k].mutant == KOPS_MUT_EXT_NOZX) {
			sub.nimms = 0;
			for (size_t m = 0; m < g[i].nimms; m++)
				if (g[i].imms[m] >> 8 == 32)
					sub.imms[sub.nimms++] = g[i].imms[m];
		}
		struct prove_group_result r;
		cr_assert_eq(prove_run_group(&t, &sub, &r), 0);
		cr_assert_gt(r.failed, 0, "mutant %d not refuted in %s %s", cases[k].mutant,
			     sbpf_kops_info(cases[k].op)->name, cases[k].group);
		cr_assert_not_null(r.report);
		cr_assert(strstr(r.report, "counterexample") || strstr(r.report, "outside the proof sequence"),
			  "mutant %d: no counterexample:\n%s", cases[k].mutant, r.report);
		cr_log_info("JIT mutant %d refuted in %s %s: %lu of %lu obligations failed", cases[k].mutant,
			    sbpf_kops_info(cases[k].op)->name, cases[k].group, r.failed, r.obligations);
		free(r.report);
	}
	prove_groups_free(g, n);
}
