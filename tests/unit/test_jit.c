/* test_jit.c - the JIT's machinery: x86-64 encodings of the emitters against
 * bytes from the GNU assembler, short-form selection (imm8 vs imm32, xor
 * for zero, 32-bit mov for small constants), jump shrinking across passes,
 * the offset table, W^X memory, the API contract, calls (bpf-to-bpf and
 * helpers, stack alignment, depth), errors and the loop budget.
 */
#include <pthread.h>

#include "jit_diff.h"
#include "jit/x86_64/emit_x86.h"

/* ---- encodings ---- */

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

Test(jit_emit, alu_and_moves)
{
	ENC(emit_alu_rr(b, 1, X64_OP_ADD, X64_RAX, X64_RBX), 0x48, 0x01, 0xd8);
	ENC(emit_alu_rr(b, 0, X64_OP_ADD, X64_R8, X64_R15), 0x45, 0x01, 0xf8);
	ENC(emit_alu_rr(b, 0, X64_OP_XOR, X64_RAX, X64_RAX), 0x31, 0xc0);
	ENC(emit_alu_rr(b, 0, X64_OP_XOR, X64_R13, X64_R13), 0x45, 0x31, 0xed);
	ENC(emit_alu_rr(b, 1, X64_OP_TEST, X64_RCX, X64_RCX), 0x48, 0x85, 0xc9);
	ENC(emit_alu_ri(b, 1, X64_EXT_ADD, X64_RDI, 127), 0x48, 0x83, 0xc7, 0x7f);
	ENC(emit_alu_ri(b, 1, X64_EXT_ADD, X64_RDI, 128), 0x48, 0x81, 0xc7, 0x80, 0, 0, 0);
	ENC(emit_alu_ri(b, 1, X64_EXT_ADD, X64_RDI, -128), 0x48, 0x83, 0xc7, 0x80);
	ENC(emit_alu_ri(b, 1, X64_EXT_ADD, X64_RDI, -129), 0x48, 0x81, 0xc7, 0x7f, 0xff, 0xff, 0xff);
	ENC(emit_alu_ri(b, 0, X64_EXT_AND, X64_RCX, 0xff), 0x81, 0xe1, 0xff, 0, 0, 0);
	ENC(emit_alu_ri(b, 1, X64_EXT_CMP, X64_R15, -1), 0x49, 0x83, 0xff, 0xff);
	ENC(emit_alu_rm(b, 1, X64_OPR_SUB, X64_R10, X64_R12, 0), 0x4d, 0x2b, 0x14, 0x24);
	ENC(emit_alu_rm(b, 1, X64_OPR_CMP, X64_R10, X64_R12, 0x18), 0x4d, 0x3b, 0x54, 0x24, 0x18);
	ENC(emit_alu_rm(b, 1, X64_OPR_MOV, X64_R11, X64_RBP, 0), 0x4c, 0x8b, 0x5d, 0x00);
	ENC(emit_alu_mi(b, 1, X64_EXT_SUB, X64_R12, 0x38, 1), 0x49, 0x83, 0x6c, 0x24, 0x38, 0x01);
	ENC(emit_mov_ri32(b, X64_RAX, 7), 0xb8, 7, 0, 0, 0);
	ENC(emit_mov_ri32(b, X64_R9, 0x80000000u), 0x41, 0xb9, 0, 0, 0, 0x80);
	ENC(emit_mov_ri_sx(b, X64_RAX, -1), 0x48, 0xc7, 0xc0, 0xff, 0xff, 0xff, 0xff);
	ENC(emit_movabs(b, X64_R14, 0x123456789abcdef0ull),
	    0x49, 0xbe, 0xf0, 0xde, 0xbc, 0x9a, 0x78, 0x56, 0x34, 0x12);
	ENC(emit_imul_rr(b, 1, X64_RDX, X64_RSI), 0x48, 0x0f, 0xaf, 0xd6);
	ENC(emit_imul_rri(b, 0, X64_R13, X64_R13, 10), 0x45, 0x6b, 0xed, 0x0a);
	ENC(emit_imul_rri(b, 1, X64_RBX, X64_RBX, 1000), 0x48, 0x69, 0xdb, 0xe8, 0x03, 0, 0);
	ENC(emit_neg(b, 1, X64_RCX), 0x48, 0xf7, 0xd9);
	ENC(emit_neg(b, 0, X64_R8), 0x41, 0xf7, 0xd8);
	ENC(emit_test_ri(b, 0, X64_RDI, 0x100), 0xf7, 0xc7, 0, 1, 0, 0);
	ENC(emit_test_ri8(b, X64_RSI, 0x80), 0x40, 0xf6, 0xc6, 0x80);
}

Test(jit_emit, shifts_division_and_extensions)
{
	ENC(emit_shift_ri(b, 1, X64_SH_SHL, X64_RDI, 1), 0x48, 0xd1, 0xe7);
	ENC(emit_shift_ri(b, 0, X64_SH_SAR, X64_R15, 31), 0x41, 0xc1, 0xff, 0x1f);
	ENC(emit_shift_ri(b, 1, X64_SH_SHR, X64_RSI, 63), 0x48, 0xc1, 0xee, 0x3f);
	ENC(emit_shift_cl(b, 1, X64_SH_SHL, X64_RAX), 0x48, 0xd3, 0xe0);
	ENC(emit_shiftx(b, 1, X64_SHX_SHL, X64_RAX, X64_RBX, X64_RCX), 0xc4, 0xe2, 0xf1, 0xf7, 0xc3);
	ENC(emit_shiftx(b, 1, X64_SHX_SHR, X64_R13, X64_R14, X64_R15), 0xc4, 0x42, 0x83, 0xf7, 0xee);
	ENC(emit_shiftx(b, 0, X64_SHX_SAR, X64_RSI, X64_RDI, X64_R8), 0xc4, 0xe2, 0x3a, 0xf7, 0xf7);
	ENC(emit_div(b, 1, false, X64_R11), 0x49, 0xf7, 0xf3);
	ENC(emit_div(b, 0, true, X64_R11), 0x41, 0xf7, 0xfb);
	ENC(emit_cqo(b, 1), 0x48, 0x99);
	ENC(emit_cqo(b, 0), 0x99);
	ENC(emit_bswap(b, 1, X64_RDX), 0x48, 0x0f, 0xca);
	ENC(emit_bswap(b, 0, X64_R14), 0x41, 0x0f, 0xce);
	ENC(emit_rol16_8(b, X64_RDI), 0x66, 0xc1, 0xc7, 0x08);
	ENC(emit_movzx_rr16(b, X64_RSI, X64_RSI), 0x0f, 0xb7, 0xf6);
	ENC(emit_movsx_rr8(b, 1, X64_RAX, X64_RSI), 0x48, 0x0f, 0xbe, 0xc6);
	ENC(emit_movsx_rr8(b, 0, X64_R8, X64_RBP), 0x44, 0x0f, 0xbe, 0xc5);
	ENC(emit_movsx_rr16(b, 1, X64_RBX, X64_RCX), 0x48, 0x0f, 0xbf, 0xd9);
	ENC(emit_movsxd_rr(b, X64_R13, X64_RAX), 0x4c, 0x63, 0xe8);
}

Test(jit_emit, memory_forms)
{
	ENC(emit_load(b, 1, X64_RAX, X64_RDI, 5), 0x0f, 0xb6, 0x47, 0x05);
	ENC(emit_load(b, 2, X64_R8, X64_RBP, -2), 0x44, 0x0f, 0xb7, 0x45, 0xfe);
	ENC(emit_load(b, 4, X64_RSI, X64_R12, 0), 0x41, 0x8b, 0x34, 0x24);
	ENC(emit_load(b, 8, X64_RBX, X64_R13, 0), 0x49, 0x8b, 0x5d, 0x00);
	ENC(emit_load_sx(b, 1, X64_RAX, X64_RSI, -1), 0x48, 0x0f, 0xbe, 0x46, 0xff);
	ENC(emit_load_sx(b, 2, X64_RAX, X64_RSP, 0x100), 0x48, 0x0f, 0xbf, 0x84, 0x24, 0, 1, 0, 0);
	ENC(emit_load_sx(b, 4, X64_RAX, X64_R11, 0), 0x49, 0x63, 0x03);
	ENC(emit_store(b, 1, X64_RBP, -1, X64_RSI), 0x40, 0x88, 0x75, 0xff);
	ENC(emit_store(b, 1, X64_RAX, 0, X64_RBX), 0x88, 0x18);
	ENC(emit_store(b, 2, X64_RDI, 2, X64_R8), 0x66, 0x44, 0x89, 0x47, 0x02);
	ENC(emit_store(b, 4, X64_RSP, 0, X64_RAX), 0x89, 0x04, 0x24);
	ENC(emit_store(b, 8, X64_R12, 0x28, X64_RSP), 0x49, 0x89, 0x64, 0x24, 0x28);
	ENC(emit_store_imm(b, 1, X64_RDI, 0, 0x80), 0xc6, 0x07, 0x80);
	ENC(emit_store_imm(b, 2, X64_RBP, -512, 0x1234), 0x66, 0xc7, 0x85, 0, 0xfe, 0xff, 0xff, 0x34, 0x12);
	ENC(emit_store_imm(b, 4, X64_RDI, 1, -1), 0xc7, 0x47, 0x01, 0xff, 0xff, 0xff, 0xff);
	ENC(emit_store_imm(b, 8, X64_R13, -8, -2), 0x49, 0xc7, 0x45, 0xf8, 0xfe, 0xff, 0xff, 0xff);
	ENC(emit_lea(b, X64_R11, X64_RDI, 0x7fff), 0x4c, 0x8d, 0x9f, 0xff, 0x7f, 0, 0);
	ENC(emit_lea(b, X64_RBP, X64_RSP, 0x1200), 0x48, 0x8d, 0xac, 0x24, 0, 0x12, 0, 0);
	ENC(emit_lock_alu_mr(b, 1, X64_OP_ADD, X64_RDI, 8, X64_RSI), 0xf0, 0x48, 0x01, 0x77, 0x08);
	ENC(emit_lock_alu_mr(b, 0, X64_OP_OR, X64_R11, 0, X64_RAX), 0xf0, 0x41, 0x09, 0x03);
	ENC(emit_lock_xadd(b, 1, X64_RBP, -8, X64_R14), 0xf0, 0x4c, 0x0f, 0xc1, 0x75, 0xf8);
	ENC(emit_xchg_mr(b, 0, X64_RDI, 0, X64_RSI), 0x87, 0x37);
	ENC(emit_lock_cmpxchg(b, 1, X64_R9, 0, X64_R11), 0xf0, 0x4d, 0x0f, 0xb1, 0x19);
}

Test(jit_emit, control_flow)
{
	ENC(emit_push(b, X64_RBP), 0x55);
	ENC(emit_push(b, X64_R12), 0x41, 0x54);
	ENC(emit_pop(b, X64_R15), 0x41, 0x5f);
	ENC(emit_pop(b, X64_RBX), 0x5b);
	ENC(emit_ret(b), 0xc3);
	ENC(emit_call_r(b, X64_RAX), 0xff, 0xd0);
	ENC(emit_call_rel32(b, -5), 0xe8, 0xfb, 0xff, 0xff, 0xff);
	ENC(emit_jmp_rel8(b, -2), 0xeb, 0xfe);
	ENC(emit_jmp_rel32(b, 0x100), 0xe9, 0, 1, 0, 0);
	ENC(emit_jcc_rel8(b, X64_CC_NE, 5), 0x75, 0x05);
	ENC(emit_jcc_rel32(b, X64_CC_AE, 0x80), 0x0f, 0x83, 0x80, 0, 0, 0);
	ENC(emit_rep_stosq(b), 0xf3, 0x48, 0xab);
}

Test(jit_emit, buffer_keeps_its_first_error)
{
	struct jit_buf b = { 0 };
	emit_ret(&b);
	jit_buf_fail(&b, -ERANGE);
	jit_buf_fail(&b, -ENOMEM);
	emit_ret(&b);
	emit_movabs(&b, X64_RAX, 1);
	cr_assert_eq(b.err, -ERANGE);
	cr_assert_eq(b.len, 1, "nothing is emitted after the first error");
	free(b.p);
	/* a rel8 patch that does not reach fails the buffer */
	struct jit_buf c = { 0 };
	emit_jmp_rel8(&c, 0);
	for (int i = 0; i < 200; i++)
		emit_ret(&c);
	jit_patch_rel8(&c, 1);
	cr_assert_eq(c.err, -ERANGE);
	free(c.p);
}

/* ---- code selection in whole programs ---- */

/* Compiles @p unchecked and returns the native bytes of slot @pc. */
static struct sbpf_jit *compile(const struct sbpf_insn *p, size_t n, int unchecked)
{
	struct sbpf_jit_opts o = { .sz = sizeof(o), .unchecked = unchecked };
	struct sbpf_jit *jit = sbpf_jit__new(p, n, &o, NULL);
	cr_assert_not_null(jit);
	cr_assert_eq(sbpf_jit__compile(jit), 0);
	return jit;
}

static void expect_code(const struct sbpf_insn *in, const uint8_t *want, size_t len)
{
	struct sbpf_insn p[2] = { *in, SBPF_EXIT_INSN() };
	struct sbpf_jit *jit = compile(p, 2, 1);
	size_t size;
	const uint8_t *code = sbpf_jit__code(jit, &size);
	long a = sbpf_jit__insn_offset(jit, 0), e = sbpf_jit__insn_offset(jit, 1);
	cr_expect(e - a == (long)len && !memcmp(code + a, want, len), "opcode 0x%02x imm %d: got %s",
		  in->code, in->imm, hex(code + a, (size_t)(e - a)));
	sbpf_jit__free(jit);
}

#define CODE(insn, ...)                                        \
	do {                                                   \
		const uint8_t w_[] = { __VA_ARGS__ };          \
		struct sbpf_insn i_ = insn;                    \
		expect_code(&i_, w_, sizeof(w_));              \
	} while (0)

Test(jit_select, short_forms)
{
	/* r1 = rdi, r0 = rax, r6 = rbx */
	CODE(SBPF_ALU64_IMM(SBPF_ADD, 1, 127), 0x48, 0x83, 0xc7, 0x7f);
	CODE(SBPF_ALU64_IMM(SBPF_ADD, 1, 128), 0x48, 0x81, 0xc7, 0x80, 0, 0, 0);
	CODE(SBPF_ALU32_IMM(SBPF_SUB, 1, -3), 0x83, 0xef, 0xfd);
	CODE(SBPF_MOV64_IMM(1, 0), 0x31, 0xff);
	CODE(SBPF_MOV64_IMM(1, 5), 0xbf, 5, 0, 0, 0);
	CODE(SBPF_MOV64_IMM(1, -5), 0x48, 0xc7, 0xc7, 0xfb, 0xff, 0xff, 0xff);
	CODE(SBPF_MOV32_IMM(1, -5), 0xbf, 0xfb, 0xff, 0xff, 0xff);
	CODE(SBPF_ALU64_REG(SBPF_XOR, 6, 6), 0x31, 0xdb);
	CODE(SBPF_ALU64_IMM(SBPF_ADD, 1, 0));           /* nothing */
	CODE(SBPF_MOV64_REG(6, 6));                     /* nothing */
	CODE(SBPF_MOV32_REG(6, 6), 0x89, 0xdb);         /* zero-extends */
	CODE(SBPF_ALU64_IMM(SBPF_MUL, 1, 10), 0x48, 0x6b, 0xff, 0x0a);
	CODE(SBPF_ALU64_IMM(SBPF_LSH, 1, 0));           /* nothing */
	CODE(SBPF_ALU32_IMM(SBPF_LSH, 1, 32), 0x89, 0xff);
	CODE(SBPF_ALU64_IMM(SBPF_DIV, 1, 8), 0x48, 0xc1, 0xef, 0x03);  /* shr */
	CODE(SBPF_ALU64_IMM(SBPF_MOD, 1, 8), 0x48, 0x83, 0xe7, 0x07);  /* and */
	CODE(SBPF_ALU64_IMM(SBPF_DIV, 1, 0), 0x31, 0xff);              /* by zero: 0 */
	CODE(SBPF_ALU64_IMM(SBPF_MOD, 1, 0));                          /* by zero: nothing */
	CODE(SBPF_INSN(SBPF_ALU64 | SBPF_DIV | SBPF_K, 1, 0, 1, -1), 0x48, 0xf7, 0xdf); /* sdiv -1: neg */
	struct sbpf_insn lddw[3] = { SBPF_LD_IMM64_LO(1, 0, 0x100000000ull), SBPF_LD_IMM64_HI(0x100000000ull),
				     SBPF_EXIT_INSN() };
	struct sbpf_jit *jit = compile(lddw, 3, 1);
	cr_assert_eq(sbpf_jit__insn_offset(jit, 1) - sbpf_jit__insn_offset(jit, 0), 10, "movabs");
	cr_assert_eq(sbpf_jit__insn_offset(jit, 2), sbpf_jit__insn_offset(jit, 1),
		     "the second lddw slot has no code of its own");
	sbpf_jit__free(jit);
	/* compare with 0 is a test; jset with a byte mask a byte test */
	struct sbpf_insn j[3] = { SBPF_JMP_IMM(SBPF_JEQ, 1, 0, 1), SBPF_MOV64_IMM(0, 1), SBPF_EXIT_INSN() };
	jit = compile(j, 3, 1);
	size_t size;
	const uint8_t *code = sbpf_jit__code(jit, &size);
	const uint8_t want[] = { 0x48, 0x85, 0xff, 0x74, 0x05 };
	cr_assert(!memcmp(code + sbpf_jit__insn_offset(jit, 0), want, sizeof(want)), "got %s",
		  hex(code + sbpf_jit__insn_offset(jit, 0), 5));
	sbpf_jit__free(jit);
}

/* A forward jump over N 4-byte instructions is short exactly when it fits
 * rel8; a jump that only fits after the jumps it spans have shrunk needs
 * extra passes. */
Test(jit_select, jump_shrinking)
{
	for (int n = 28; n <= 36; n++) {
		struct prog p = { 0 };
		put(&p, SBPF_MOV64_IMM(0, 0));
		put(&p, SBPF_JMP_IMM(SBPF_JEQ, 1, 7, (int16_t)n));
		for (int i = 0; i < n; i++)
			put(&p, SBPF_ALU64_IMM(SBPF_ADD, 0, 1)); /* add rax, 1: 4 bytes */
		put(&p, SBPF_EXIT_INSN());
		struct sbpf_jit *jit = compile(p.v, p.n, 1);
		long len = sbpf_jit__insn_offset(jit, 2) - sbpf_jit__insn_offset(jit, 1);
		/* cmp rdi, 7 is 4 bytes; jcc rel8 2, rel32 6; the distance is 4n */
		cr_expect_eq(len, 4 * n <= 127 ? 6 : 10, "n=%d: jump insn is %ld bytes", n, len);
		uint64_t r0;
		cr_assert_eq(agree(p.v, p.n, NULL, 0, &r0), 0);
		cr_assert_eq(r0, (uint64_t)n);
		sbpf_jit__free(jit);
		free(p.v);
	}
	/* cascade: an outer jump over 20 inner conditional jumps */
	struct prog p = { 0 };
	put(&p, SBPF_MOV64_IMM(0, 0));
	put(&p, SBPF_JA(24));
	for (int i = 0; i < 12; i++) {
		put(&p, SBPF_JMP_IMM(SBPF_JEQ, 1, 0, 1));
		put(&p, SBPF_ALU64_IMM(SBPF_ADD, 0, 1));
	}
	put(&p, SBPF_EXIT_INSN());
	struct sbpf_jit *jit = compile(p.v, p.n, 1);
	size_t size;
	const uint8_t *code = sbpf_jit__code(jit, &size);
	cr_assert_eq(code[sbpf_jit__insn_offset(jit, 1)], 0xeb, "outer jump should be jmp rel8");
	cr_assert_eq(sbpf_jit__insn_offset(jit, 2) - sbpf_jit__insn_offset(jit, 1), 2);
	cr_assert_geq(sbpf_jit__passes(jit), 4, "passes %d", sbpf_jit__passes(jit));
	sbpf_jit__free(jit);
	cr_assert_eq(agree(p.v, p.n, NULL, 0, NULL), 0);
	free(p.v);
	/* backward jumps, short and long */
	for (int n = 25; n <= 35; n += 10) {
		struct prog q = { 0 };
		put(&q, SBPF_MOV64_IMM(0, 0));
		put(&q, SBPF_MOV64_IMM(1, 0));
		for (int i = 0; i < n; i++)
			put(&q, SBPF_ALU64_IMM(SBPF_ADD, 0, 1));
		put(&q, SBPF_ALU64_IMM(SBPF_ADD, 1, 1));
		put(&q, SBPF_JMP_IMM(SBPF_JLT, 1, 3, (int16_t)-(n + 2)));
		put(&q, SBPF_EXIT_INSN());
		uint64_t r0;
		cr_assert_eq(agree(q.v, q.n, NULL, 0, &r0), 0);
		cr_assert_eq(r0, 3u * (uint64_t)n);
		free(q.v);
	}
}

/* clang's loop latch `if COND goto +1; goto head` is one jump on the
 * inverse condition (the ja has no code of its own), for every condition,
 * 64- and 32-bit, register and immediate; where another jump lands on the
 * ja it keeps its code. Every form agrees with the interpreter. */
Test(jit_select, loop_latch_one_jump)
{
	static const uint8_t conds[] = { SBPF_JEQ, SBPF_JNE, SBPF_JGT, SBPF_JGE, SBPF_JLT, SBPF_JLE,
					 SBPF_JSGT, SBPF_JSGE, SBPF_JSLT, SBPF_JSLE, SBPF_JSET };
	for (size_t i = 0; i < ARRAY_LEN(conds); i++)
		for (int form = 0; form < 4; form++) {
			uint8_t cls = form & 1 ? SBPF_JMP32 : SBPF_JMP;
			struct sbpf_insn cj = form & 2
				? SBPF_INSN(cls | conds[i] | SBPF_X, 0, 2, 1, 0)
				: SBPF_INSN(cls | conds[i] | SBPF_K, 0, 0, 1, 7);
			/* r0 counts up from -5 until the condition holds (at most 40 rounds) */
			struct sbpf_insn p[] = {
				SBPF_MOV64_IMM(0, -5), SBPF_MOV64_IMM(2, 7), SBPF_MOV64_IMM(3, 0),
				SBPF_ALU64_IMM(SBPF_ADD, 0, 1),        /* 3: head */
				SBPF_ALU64_IMM(SBPF_ADD, 3, 1),
				SBPF_JMP_IMM(SBPF_JGT, 3, 40, 2),     /* out */
				cj,                                    /* 6: if COND goto +1 (exit) */
				SBPF_JA(-5),                           /* 7: goto head */
				SBPF_EXIT_INSN(),
			};
			struct sbpf_jit *jit = compile(p, ARRAY_LEN(p), 1);
			cr_expect_eq(sbpf_jit__insn_offset(jit, 7), sbpf_jit__insn_offset(jit, 8),
				     "cond 0x%x form %d: the ja has code of its own", conds[i], form);
			sbpf_jit__free(jit);
			cr_assert_eq(agree(p, ARRAY_LEN(p), NULL, 0, NULL), 0, "cond 0x%x form %d", conds[i], form);
		}
	/* another jump lands on the ja: not fused */
	struct sbpf_insn q[] = {
		SBPF_MOV64_IMM(0, 0), SBPF_MOV64_IMM(3, 0),
		SBPF_ALU64_IMM(SBPF_ADD, 0, 1),               /* 2: head */
		SBPF_JMP_IMM(SBPF_JEQ, 0, 3, 1),              /* to the ja */
		SBPF_JMP_IMM(SBPF_JGT, 0, 9, 1),              /* 4: if r0 > 9 goto exit */
		SBPF_JA(-4),                                  /* 5: goto head */
		SBPF_EXIT_INSN(),
	};
	struct sbpf_jit *jit = compile(q, ARRAY_LEN(q), 1);
	cr_expect_lt(sbpf_jit__insn_offset(jit, 5), sbpf_jit__insn_offset(jit, 6), "a jump target keeps its code");
	sbpf_jit__free(jit);
	uint64_t r0;
	cr_assert_eq(agree(q, ARRAY_LEN(q), NULL, 0, &r0), 0);
	cr_assert_eq(r0, 10);
}

Test(jit_select, offset_table_maps_every_slot)
{
	struct sbpf_insn p[] = {
		SBPF_MOV64_IMM(0, 1),
		SBPF_LD_IMM64_LO(2, 0, 0x1122334455667788ull), SBPF_LD_IMM64_HI(0x1122334455667788ull),
		SBPF_LDX_MEM(SBPF_W, 3, 1, 0),
		SBPF_EXIT_INSN(),
	};
	for (int unchecked = 0; unchecked < 2; unchecked++) {
		struct sbpf_jit *jit = compile(p, ARRAY_LEN(p), unchecked);
		size_t size;
		sbpf_jit__code(jit, &size);
		if (!unchecked)
			cr_assert_gt(sbpf_jit__insn_offset(jit, 0), 0, "a prologue comes first");
		for (size_t pc = 0; pc < ARRAY_LEN(p); pc++)
			cr_assert_leq(sbpf_jit__insn_offset(jit, pc), sbpf_jit__insn_offset(jit, pc + 1));
		cr_assert_leq((size_t)sbpf_jit__insn_offset(jit, ARRAY_LEN(p)), size);
		cr_assert_eq(sbpf_jit__insn_offset(jit, ARRAY_LEN(p) + 1), -1);
		sbpf_jit__free(jit);
	}
}

/* The image is mapped read+execute, never writable. */
Test(jit_api, image_is_not_writable)
{
	struct sbpf_insn p[] = { SBPF_MOV64_IMM(0, 1), SBPF_EXIT_INSN() };
	struct sbpf_jit *jit = compile(p, 2, 0);
	uintptr_t code = (uintptr_t)sbpf_jit__code(jit, NULL);
	FILE *f = fopen("/proc/self/maps", "r");
	cr_assert_not_null(f);
	char line[512], perms[8] = "";
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char pr[8];
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, pr) == 3 && code >= lo && code < hi)
			snprintf(perms, sizeof(perms), "%s", pr);
	}
	fclose(f);
	cr_assert_str_eq(perms, "r-xp");
	sbpf_jit__free(jit);
}

Test(jit_api, contract)
{
	struct sbpf_insn bad[] = { SBPF_MOV64_IMM(10, 1), SBPF_EXIT_INSN() };
	struct sbpf_validate_error verr = { 0 };
	errno = 0;
	cr_assert_null(sbpf_jit__new(bad, 2, NULL, &verr));
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(verr.index, 0);
	struct sbpf_jit_opts o = { .sz = sizeof(o), .target = "sparc" };
	struct sbpf_insn p[] = { SBPF_MOV64_IMM(0, 3), SBPF_EXIT_INSN() };
	cr_assert_null(sbpf_jit__new(p, 2, &o, NULL));
	cr_assert_eq(errno, ENOTSUP);
	/* an old, shorter opts struct gets defaults for the rest */
	struct sbpf_jit_opts old = { .sz = offsetof(struct sbpf_jit_opts, unchecked), .type = SBPF_PROG_MEM };
	struct sbpf_jit *jit = sbpf_jit__new(p, 2, &old, NULL);
	cr_assert_not_null(jit);
	cr_assert_eq(sbpf_jit__set_helper(jit, SBPF_MAX_HELPERS, NULL), -EINVAL);
	uint64_t r0 = 0;
	cr_assert_eq(sbpf_jit__run(jit, NULL, 0, &r0, NULL), 0, "run compiles on demand");
	cr_assert_eq(r0, 3);
	cr_assert_eq(sbpf_jit__set_helper(jit, 1, NULL), -EBUSY);
	cr_assert_eq(sbpf_jit__compile(jit), 0);
	cr_assert_str_eq(sbpf_jit__target_name(jit), "x86_64");
	sbpf_jit__free(jit);
	/* unchecked code has no error exit: what could fail at run time fails to compile */
	struct sbpf_insn call[] = { SBPF_CALL_HELPER(77), SBPF_EXIT_INSN() };
	struct sbpf_jit_opts u = { .sz = sizeof(u), .unchecked = 1 };
	jit = sbpf_jit__new(call, 2, &u, NULL);
	cr_assert_eq(sbpf_jit__compile(jit), -ENOENT);
	sbpf_jit__free(jit);
	struct sbpf_insn map[] = { SBPF_LD_IMM64_LO(1, SBPF_PSEUDO_MAP_FD, 3), SBPF_LD_IMM64_HI(0),
				   SBPF_EXIT_INSN() };
	jit = sbpf_jit__new(map, 3, &u, NULL);
	cr_assert_eq(sbpf_jit__compile(jit), -EOPNOTSUPP);
	sbpf_jit__free(jit);
	/* [xdp branch] type xdp runs too (an empty packet here; see test_ctx.c) */
	struct sbpf_jit_opts x = { .sz = sizeof(x), .type = SBPF_PROG_XDP };
	jit = sbpf_jit__new(p, 2, &x, NULL);
	struct sbpf_run_error err;
	cr_assert_eq(sbpf_jit__run(jit, NULL, 0, &r0, &err), 0);
	cr_assert_eq(r0, 3);
	sbpf_jit__free(jit);
	sbpf_jit__free(NULL);
}

/* ---- errors ---- */

Test(jit_errors, same_codes_pcs_and_messages_as_the_interpreter)
{
	struct sbpf_insn unknown_helper[] = { SBPF_MOV64_IMM(0, 0), SBPF_CALL_HELPER(77), SBPF_EXIT_INSN() };
	cr_assert_eq(agree(unknown_helper, 3, NULL, 0, NULL), -EINVAL);
	struct sbpf_insn kfunc[] = { SBPF_INSN(SBPF_JMP | SBPF_CALL, 0, SBPF_PSEUDO_KFUNC_CALL, 0, 9),
				     SBPF_EXIT_INSN() };
	cr_assert_eq(agree(kfunc, 2, NULL, 0, NULL), -EINVAL);
	struct sbpf_insn map[] = { SBPF_MOV64_IMM(0, 0), SBPF_LD_IMM64_LO(1, SBPF_PSEUDO_MAP_VALUE, 3),
				   SBPF_LD_IMM64_HI(0), SBPF_EXIT_INSN() };
	cr_assert_eq(agree(map, 4, NULL, 0, NULL), -EINVAL);
	struct sbpf_insn null_load[] = { SBPF_LDX_MEM(SBPF_W, 0, 1, 0), SBPF_EXIT_INSN() };
	cr_assert_eq(agree(null_load, 2, NULL, 0, NULL), -EFAULT);
	struct sbpf_insn wild[] = { SBPF_LD_IMM64_LO(2, 0, 0x1000), SBPF_LD_IMM64_HI(0x1000),
				    SBPF_STX_MEM(SBPF_DW, 2, 1, 0), SBPF_EXIT_INSN() };
	uint8_t mem[8] = { 0 };
	cr_assert_eq(agree(wild, 4, mem, sizeof(mem), NULL), -EFAULT);
	struct sbpf_insn atomic_out[] = { SBPF_MOV64_IMM(0, 0), SBPF_ATOMIC_OP(SBPF_DW, SBPF_ADD, 1, 0, 4),
					  SBPF_EXIT_INSN() };
	cr_assert_eq(agree(atomic_out, 3, mem, sizeof(mem), NULL), -EFAULT);
}

/* A fault deep inside nested calls unwinds the native stack: the same
 * image keeps running correctly afterwards. */
Test(jit_errors, fault_in_a_callee_unwinds)
{
	struct sbpf_insn p[] = {
		SBPF_MOV64_IMM(0, 1),
		SBPF_INSN(SBPF_JMP | SBPF_CALL, 0, SBPF_PSEUDO_CALL, 0, 1),
		SBPF_EXIT_INSN(),
		SBPF_INSN(SBPF_JMP | SBPF_CALL, 0, SBPF_PSEUDO_CALL, 0, 1),
		SBPF_EXIT_INSN(),
		SBPF_LDX_MEM(SBPF_B, 0, 1, 0), /* r1 = mem: faults when mem is empty */
		SBPF_EXIT_INSN(),
	};
	struct sbpf_jit *jit = compile(p, ARRAY_LEN(p), 0);
	uint8_t mem[1] = { 42 };
	for (int i = 0; i < 100; i++) {
		uint64_t r0 = 0;
		struct sbpf_run_error err;
		cr_assert_eq(sbpf_jit__run(jit, NULL, 0, &r0, &err), -EFAULT);
		cr_assert_eq(err.pc, 5);
		cr_assert_eq(sbpf_jit__run(jit, mem, 1, &r0, &err), 0);
		cr_assert_eq(r0, 42);
	}
	sbpf_jit__free(jit);
	cr_assert_eq(agree(p, ARRAY_LEN(p), NULL, 0, NULL), -EFAULT);
}

Test(jit_errors, loop_budget)
{
	struct sbpf_insn endless[] = { SBPF_MOV64_IMM(0, 0), SBPF_ALU64_IMM(SBPF_ADD, 0, 1), SBPF_JA(-2),
				       SBPF_EXIT_INSN() };
	struct sbpf_run_error err;
	uint64_t r0;
	struct outcome a, b;
	run_interp(endless, 4, NULL, 0, &a);
	run_jit(endless, 4, NULL, 0, 0, 0, &b);
	cr_assert_eq(a.rc, -E2BIG);
	cr_assert_eq(b.rc, -E2BIG, "%s", b.reason);
	cr_assert_eq(b.pc, 1, "reported at the loop header");
	outcome_free(&a);
	outcome_free(&b);
	/* the budget counts loop-header entries */
	struct sbpf_insn loop[] = { SBPF_MOV64_IMM(0, 0), SBPF_ALU64_IMM(SBPF_ADD, 0, 1),
				    SBPF_JMP_IMM(SBPF_JLT, 0, 10, -2), SBPF_EXIT_INSN() };
	struct sbpf_jit_opts o = { .sz = sizeof(o), .loop_budget = 10 };
	struct sbpf_jit *jit = sbpf_jit__new(loop, 4, &o, NULL);
	cr_assert_eq(sbpf_jit__run(jit, NULL, 0, &r0, &err), 0);
	cr_assert_eq(r0, 10);
	sbpf_jit__free(jit);
	o.loop_budget = 9;
	jit = sbpf_jit__new(loop, 4, &o, NULL);
	cr_assert_eq(sbpf_jit__run(jit, NULL, 0, &r0, &err), -E2BIG);
	sbpf_jit__free(jit);
	/* endless recursion stops at the depth limit */
	struct sbpf_insn rec[] = { SBPF_INSN(SBPF_JMP | SBPF_CALL, 0, SBPF_PSEUDO_CALL, 0, -1),
				   SBPF_EXIT_INSN() };
	cr_assert_eq(agree(rec, 2, NULL, 0, NULL), -EINVAL);
}

/* ---- calls ---- */

/* Nested bpf-to-bpf calls to depth @depth: each level adds its depth to r0
 * via its own stack frame and checks the caller's r6-r9 survive. */
static void nested(int depth, int use_regs)
{
	struct prog p = { 0 };
	put(&p, SBPF_MOV64_IMM(0, 0));
	for (int r = 6; r < 6 + use_regs; r++)
		put(&p, SBPF_MOV64_IMM(r, r * 100));
	put(&p, SBPF_MOV64_IMM(1, depth));
	put(&p, SBPF_INSN(SBPF_JMP | SBPF_CALL, 0, SBPF_PSEUDO_CALL, 0, (int32_t)(2 * use_regs + 1)));
	for (int r = 6; r < 6 + use_regs; r++) {
		put(&p, SBPF_JMP_IMM(SBPF_JEQ, r, r * 100, 1));
		put(&p, SBPF_MOV64_IMM(0, -1));
	}
	put(&p, SBPF_EXIT_INSN());
	/* f(r1): if r1 == 0 return; stack[-8] = r1; clobber r6..; f(r1-1); r0 += stack[-8] */
	size_t f = p.n;
	put(&p, SBPF_JMP_IMM(SBPF_JNE, 1, 0, 1));
	put(&p, SBPF_EXIT_INSN());
	put(&p, SBPF_STX_MEM(SBPF_DW, 10, 1, -8));
	for (int r = 6; r < 6 + use_regs; r++)
		put(&p, SBPF_MOV64_IMM(r, -r));
	put(&p, SBPF_ALU64_IMM(SBPF_SUB, 1, 1));
	put(&p, SBPF_INSN(SBPF_JMP | SBPF_CALL, 0, SBPF_PSEUDO_CALL, 0, (int32_t)f - (int32_t)p.n - 1));
	put(&p, SBPF_LDX_MEM(SBPF_DW, 2, 10, -8));
	put(&p, SBPF_ALU64_REG(SBPF_ADD, 0, 2));
	put(&p, SBPF_EXIT_INSN());
	uint64_t r0;
	int rc = agree(p.v, p.n, NULL, 0, &r0);
	if (depth < SBPF_MAX_CALL_DEPTH) {
		cr_assert_eq(rc, 0);
		cr_assert_eq(r0, (uint64_t)(depth * (depth + 1) / 2));
	} else {
		cr_assert_eq(rc, -EINVAL);
	}
	free(p.v);
}

Test(jit_calls, nested_local_calls_and_depth_limit)
{
	for (int regs = 0; regs <= 4; regs++)
		for (int depth = 0; depth <= SBPF_MAX_CALL_DEPTH; depth++)
			nested(depth, regs);
}

/* rsp % 16 inside a helper's frame (0 when the call site was aligned). */
static uint64_t h_align(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r2, (void)r3, (void)r4, (void)r5;
	return ((uintptr_t)__builtin_frame_address(0) % 16) + r1;
}

static uint64_t h_sum(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	return r1 + 2 * r2 + 3 * r3 + 4 * r4 + 5 * r5;
}

Test(jit_calls, helpers_get_sysv_arguments_and_an_aligned_stack)
{
	for (int regs = 0; regs <= 4; regs++)
		for (int unchecked = 0; unchecked < 2; unchecked++) {
			struct prog p = { 0 };
			for (int r = 6; r < 6 + regs; r++)
				put(&p, SBPF_MOV64_IMM(r, r));
			if (regs < 4 && unchecked)
				put(&p, SBPF_ST_MEM(SBPF_DW, 10, -8, 0)); /* use the stack too */
			put(&p, SBPF_MOV64_IMM(1, 0));
			put(&p, SBPF_CALL_HELPER(100));                   /* aligned in main */
			put(&p, SBPF_MOV64_REG(6 + (regs == 4 ? 3 : 0), 0));
			put(&p, SBPF_INSN(SBPF_JMP | SBPF_CALL, 0, SBPF_PSEUDO_CALL, 0, 2));
			put(&p, SBPF_ALU64_REG(SBPF_ADD, 0, 6 + (regs == 4 ? 3 : 0)));
			put(&p, SBPF_EXIT_INSN());
			put(&p, SBPF_MOV64_IMM(1, 1));
			put(&p, SBPF_MOV64_IMM(2, 2));
			put(&p, SBPF_MOV64_IMM(3, 3));
			put(&p, SBPF_MOV64_IMM(4, 4));
			put(&p, SBPF_MOV64_IMM(5, 5));
			put(&p, SBPF_CALL_HELPER(101));                   /* 1+4+9+16+25 = 55 */
			put(&p, SBPF_MOV64_REG(7, 0));
			put(&p, SBPF_MOV64_IMM(1, 0));
			put(&p, SBPF_CALL_HELPER(100));                   /* aligned in a callee */
			put(&p, SBPF_ALU64_REG(SBPF_ADD, 0, 7));
			put(&p, SBPF_EXIT_INSN());
			struct sbpf_jit_opts o = { .sz = sizeof(o), .unchecked = unchecked };
			struct sbpf_jit *jit = sbpf_jit__new(p.v, p.n, &o, NULL);
			cr_assert_eq(sbpf_jit__set_helper(jit, 100, h_align), 0);
			cr_assert_eq(sbpf_jit__set_helper(jit, 101, h_sum), 0);
			uint64_t r0 = 99;
			struct sbpf_run_error err;
			cr_assert_eq(sbpf_jit__run(jit, NULL, 0, &r0, &err), 0, "%s", err.reason);
			cr_assert_eq(r0, 55, "regs %d unchecked %d: r0 %llu", regs, unchecked,
				     (unsigned long long)r0);
			sbpf_jit__free(jit);
			free(p.v);
		}
}

/* The interpreter's helpers reach the JIT through sbpf_jit__helpers_from_vm. */
Test(jit_calls, interpreter_helpers)
{
	struct sbpf_insn p[] = { SBPF_MOV64_IMM(1, 1234), SBPF_CALL_HELPER(SBPF_HELPER_IDENTITY),
				 SBPF_EXIT_INSN() };
	uint64_t r0;
	cr_assert_eq(agree(p, 3, NULL, 0, &r0), 0);
	cr_assert_eq(r0, 1234);
}

/* One image, many threads: each run has its own stack and run-time block. */
static void *thread_runs(void *arg)
{
	struct sbpf_jit *jit = arg;
	for (uint32_t i = 0; i < 2000; i++) {
		uint32_t mem[2] = { i, 0 };
		uint64_t r0;
		if (sbpf_jit__run(jit, mem, sizeof(mem), &r0, NULL) || r0 != (uint64_t)i * 3 || mem[1] != i)
			return (void *)1;
	}
	return NULL;
}

Test(jit_api, concurrent_runs_of_one_image)
{
	struct sbpf_insn p[] = {
		SBPF_LDX_MEM(SBPF_W, 0, 1, 0),
		SBPF_STX_MEM(SBPF_DW, 10, 0, -8),
		SBPF_LDX_MEM(SBPF_DW, 2, 10, -8),
		SBPF_STX_MEM(SBPF_W, 1, 2, 4),
		SBPF_ALU64_IMM(SBPF_MUL, 0, 3),
		SBPF_EXIT_INSN(),
	};
	struct sbpf_jit *jit = compile(p, ARRAY_LEN(p), 0);
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, thread_runs, jit), 0);
	for (int i = 0; i < 4; i++) {
		void *res;
		pthread_join(t[i], &res);
		cr_assert_null(res);
	}
	sbpf_jit__free(jit);
}

/* Checked code gives every frame a zeroed stack, like the interpreter: a
 * callee entered twice does not see what its first activation left. */
Test(jit_calls, frames_start_zeroed)
{
	struct sbpf_insn p[] = {
		SBPF_ST_MEM(SBPF_DW, 10, -8, 5),
		SBPF_INSN(SBPF_JMP | SBPF_CALL, 0, SBPF_PSEUDO_CALL, 0, 4),
		SBPF_INSN(SBPF_JMP | SBPF_CALL, 0, SBPF_PSEUDO_CALL, 0, 3),
		SBPF_LDX_MEM(SBPF_DW, 1, 10, -8),   /* the caller's slot survives: 5 */
		SBPF_ALU64_REG(SBPF_ADD, 0, 1),
		SBPF_EXIT_INSN(),
		SBPF_LDX_MEM(SBPF_DW, 0, 10, -8),   /* f: r0 = slot (must be 0) */
		SBPF_ST_MEM(SBPF_DW, 10, -8, 77),
		SBPF_EXIT_INSN(),
	};
	uint64_t r0;
	cr_assert_eq(agree_on(p, ARRAY_LEN(p), NULL, 0, &r0, DIFF_CHECKED | DIFF_NO_BMI2), 0);
	cr_assert_eq(r0, 5);
}

/* Program types with more than one region (xdp: a read-only context and
 * the packet): the primary region is checked inline, the others out of
 * line, and a read-only region refuses stores and atomics. The context is
 * reached through r2 here so that no context rewriting applies. */
Test(jit_api, extra_regions_for_program_types)
{
	struct tctx {
		uint64_t data, data_end;  /* host pointers to the packet */
		uint32_t a, b;            /* plain fields */
	};
	struct tctx *ctx = calloc(1, sizeof(*ctx));
	uint8_t *pkt = malloc(16);
	for (int i = 0; i < 16; i++)
		pkt[i] = (uint8_t)(0x10 + i);
	ctx->data = (uint64_t)(uintptr_t)pkt;
	ctx->data_end = ctx->data + 16;
	ctx->a = 0xabcd;
	struct jit_region regs[2] = {
		{ pkt, 16, true, "packet" },
		{ ctx, sizeof(*ctx), false, "ctx" },
	};
	struct {
		struct sbpf_insn p[4];   /* program (exit-padded) */
		int rc;                  /* expected return code */
		uint64_t r0;             /* expected r0 */
		const char *msg;         /* expected message (NULL: any) */
	} cases[] = {
		{ { SBPF_LDX_MEM(SBPF_DW, 3, 2, 0), SBPF_LDX_MEM(SBPF_B, 0, 3, 3), SBPF_EXIT_INSN() }, 0, 0x13, NULL },
		{ { SBPF_LDX_MEM(SBPF_W, 0, 2, 16), SBPF_EXIT_INSN() }, 0, 0xabcd, NULL },
		{ { SBPF_LDX_MEM(SBPF_DW, 3, 2, 0), SBPF_ST_MEM(SBPF_B, 3, 15, 7), SBPF_LDX_MEM(SBPF_B, 0, 3, 15),
		    SBPF_EXIT_INSN() }, 0, 7, NULL },
		{ { SBPF_ST_MEM(SBPF_W, 2, 16, 1), SBPF_EXIT_INSN() }, -EFAULT, 0,
		  "4-byte store at ctx+16: ctx is read-only" },
		{ { SBPF_MOV64_IMM(0, 0), SBPF_ATOMIC_OP(SBPF_W, SBPF_ADD, 2, 0, 20), SBPF_EXIT_INSN() }, -EFAULT, 0,
		  "4-byte atomic at ctx+20: ctx is read-only" },
		{ { SBPF_LDX_MEM(SBPF_W, 0, 2, 22), SBPF_EXIT_INSN() }, -EFAULT, 0, NULL },
		{ { SBPF_LDX_MEM(SBPF_DW, 3, 2, 0), SBPF_LDX_MEM(SBPF_H, 0, 3, 15), SBPF_EXIT_INSN() }, -EFAULT, 0, NULL },
	};
	for (size_t k = 0; k < ARRAY_LEN(cases); k++) {
		size_t n = 1;
		while (cases[k].p[n - 1].code != (SBPF_JMP | SBPF_EXIT))
			n++;
		struct sbpf_jit_opts o = { .sz = sizeof(o), .type = SBPF_PROG_XDP };
		struct sbpf_jit *jit = sbpf_jit__new(cases[k].p, n, &o, NULL);
		cr_assert_not_null(jit);
		uint64_t r0 = 0;
		struct sbpf_run_error err = { 0 };
		int rc = jit_run_regions(jit, 0, (uint64_t)(uintptr_t)ctx, regs, 2, &r0, &err);
		cr_assert_eq(rc, cases[k].rc, "case %zu: rc %d (%s)", k, rc, err.reason);
		if (!rc)
			cr_assert_eq(r0, cases[k].r0, "case %zu: r0 0x%llx", k, (unsigned long long)r0);
		if (cases[k].msg)
			cr_assert_str_eq(err.reason, cases[k].msg);
		sbpf_jit__free(jit);
	}
	/* mem programs have no extra regions */
	struct sbpf_insn p[] = { SBPF_EXIT_INSN() };
	struct sbpf_jit *jit = sbpf_jit__new(p, 1, NULL, NULL);
	cr_assert_eq(jit_run_regions(jit, 0, 0, regs, 2, NULL, NULL), -EINVAL);
	sbpf_jit__free(jit);
	cr_assert_eq(pkt[15], 7, "runs on the packet in place");
	free(ctx);
	free(pkt);
}
