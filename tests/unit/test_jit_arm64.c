/* test_jit_arm64.c - the AArch64 backend on this (any) host: its encoders
 * against GNU as (aarch64-linux-gnu-as -march=armv8.1-a; the expected words
 * were assembled from the text in each row), the logical-immediate encoder
 * on every rotated run of ones, and the target's behaviour away from
 * AArch64: programs compile (and disassemble with capstone's AArch64 mode)
 * but do not run. Execution is tested under qemu-aarch64 by
 * tests/suites/26-arm64.sh.
 */
#include <capstone/capstone.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jit/arm64/emit_arm64.h"
#include "jit/jitInt.h"
#include "safebpf/jit.h"

/* One instruction: emitted by @emit into a fresh buffer, compared with @word. */
struct enc_case {
	const char *text;     /* GNU as syntax */
	uint32_t word;        /* what GNU as made of it */
};

static uint32_t one(void (*emit)(struct jit_buf *b))
{
	struct jit_buf b = { 0 };
	emit(&b);
	cr_assert_eq(b.err, 0);
	cr_assert_eq(b.len, 4);
	uint32_t w;
	memcpy(&w, b.p, 4);
	free(b.p);
	return w;
}

#define ENC(name, body) static void name(struct jit_buf *b) { body; }
ENC(e0, emit_a64_alu_rrr(b, 1, A64_ADD, A64_X7, A64_X0, A64_X1, A64_LSL, 3))
ENC(e1, emit_a64_alu_rrr(b, 0, A64_SUB, A64_X2, A64_X2, A64_X3, 0, 0))
ENC(e2, emit_a64_mov(b, 1, A64_X0, A64_X19))
ENC(e3, emit_a64_tst(b, 1, A64_X21, A64_X22))
ENC(e4, emit_a64_dp2(b, 1, A64_UDIV, A64_X7, A64_X7, A64_X0))
ENC(e5, emit_a64_dp2(b, 0, A64_SDIV, A64_X7, A64_X7, A64_X0))
ENC(e6, emit_a64_msub(b, 1, A64_X2, A64_X10, A64_X3, A64_X2))
ENC(e7, emit_a64_dp2(b, 1, A64_LSLV, A64_X19, A64_X19, A64_X20))
ENC(e8, emit_a64_dp2(b, 0, A64_RORV, A64_X0, A64_X0, A64_X9))
ENC(e9, emit_a64_dp1(b, 0, A64_REV16, A64_X1, A64_X1))
ENC(e10, emit_a64_rev(b, 0, A64_X1, A64_X1))
ENC(e11, emit_a64_rev(b, 1, A64_X22, A64_X22))
ENC(e12, emit_a64_csel(b, 1, A64_X7, A64_X9, A64_X7, A64_HI))
ENC(e13, emit_a64_ubfx(b, 1, A64_X0, A64_X1, 5, 6))
ENC(e14, emit_a64_sxt(b, 1, A64_X2, A64_X3, 8))
ENC(e15, emit_a64_extr(b, 1, A64_X20, A64_X20, A64_X20, 13))
ENC(e16, emit_a64_addsub_imm(b, 1, A64_ADDI, A64_SP, A64_SP, 512, false))
ENC(e17, emit_a64_addsub_imm(b, 1, A64_SUBSI, A64_X9, A64_X9, 1, false))
ENC(e18, emit_a64_logic_imm_op(b, 1, A64_ANDI, A64_X0, A64_X0, a64_logic_imm(0x00ff00ff00ff00ffull, 1)))
ENC(e19, emit_a64_movw(b, 1, A64_MOVZ, A64_X7, 0xdef0, 0))
ENC(e20, emit_a64_movw(b, 1, A64_MOVK, A64_X7, 0x1234, 3))
ENC(e21, emit_a64_movw(b, 0, A64_MOVN, A64_X3, 0, 0))
ENC(e22, emit_a64_ldst_uimm(b, 2, A64_LDR, A64_X7, A64_X11, 0))
ENC(e23, emit_a64_ldst_uimm(b, 4, A64_LDRS, A64_X2, A64_X25, 12))
ENC(e24, emit_a64_ldst_simm9(b, 8, A64_LDR, A64_X7, A64_X25, -8))
ENC(e25, emit_a64_ldst_reg(b, 8, A64_STR, A64_X7, A64_X0, A64_X9))
ENC(e26, emit_a64_pair(b, false, A64_PAIR_PRE, A64_FP_REG, A64_LR, A64_SP, -16))
ENC(e27, emit_a64_pair(b, true, A64_PAIR_POST, A64_X19, A64_X20, A64_SP, 16))
ENC(e28, emit_a64_prfm(b, A64_X1, 64))
ENC(e29, emit_a64_prfum(b, A64_X1, -3))
ENC(e30, emit_a64_ldaxr(b, 0, A64_X10, A64_X11))
ENC(e31, emit_a64_stlxr(b, 1, A64_X12, A64_X9, A64_X11))
ENC(e32, emit_a64_lse(b, 1, A64_LDADD, A64_X0, A64_X10, A64_X11))
ENC(e33, emit_a64_lse(b, 0, A64_LDCLR, A64_X9, A64_ZR, A64_X25))
ENC(e34, emit_a64_lse(b, 1, A64_SWP, A64_X1, A64_X10, A64_X11))
ENC(e35, emit_a64_casal(b, 0, A64_X10, A64_X1, A64_X11))
ENC(e36, emit_a64_dmb_ish(b))
ENC(e37, emit_a64_bcond(b, A64_NE, 8))
ENC(e38, emit_a64_cbz(b, 0, true, A64_X12, -8))
ENC(e39, emit_a64_blr(b, A64_X9))
ENC(e40, emit_a64_ret(b))

Test(jit_arm64, encoders_match_gnu_as)
{
	static const struct {
		void (*emit)(struct jit_buf *b);
		struct enc_case c;
	} cases[] = {
		{ e0, { "add x7, x0, x1, lsl #3", 0x8b010c07 } },
		{ e1, { "sub w2, w2, w3", 0x4b030042 } },
		{ e2, { "orr x0, xzr, x19", 0xaa1303e0 } },
		{ e3, { "ands xzr, x21, x22", 0xea1602bf } },
		{ e4, { "udiv x7, x7, x0", 0x9ac008e7 } },
		{ e5, { "sdiv w7, w7, w0", 0x1ac00ce7 } },
		{ e6, { "msub x2, x10, x3, x2", 0x9b038942 } },
		{ e7, { "lslv x19, x19, x20", 0x9ad42273 } },
		{ e8, { "rorv w0, w0, w9", 0x1ac92c00 } },
		{ e9, { "rev16 w1, w1", 0x5ac00421 } },
		{ e10, { "rev w1, w1", 0x5ac00821 } },
		{ e11, { "rev x22, x22", 0xdac00ed6 } },
		{ e12, { "csel x7, x9, x7, hi", 0x9a878127 } },
		{ e13, { "ubfx x0, x1, #5, #6", 0xd3452820 } },
		{ e14, { "sbfx x2, x3, #0, #8", 0x93401c62 } },
		{ e15, { "extr x20, x20, x20, #13", 0x93d43694 } },
		{ e16, { "add sp, sp, #512", 0x910803ff } },
		{ e17, { "subs x9, x9, #1", 0xf1000529 } },
		{ e18, { "and x0, x0, #0xff00ff00ff00ff", 0x92009c00 } },
		{ e19, { "movz x7, #0xdef0", 0xd29bde07 } },
		{ e20, { "movk x7, #0x1234, lsl #48", 0xf2e24687 } },
		{ e21, { "movn w3, #0", 0x12800003 } },
		{ e22, { "ldrh w7, [x11]", 0x79400167 } },
		{ e23, { "ldrsw x2, [x25, #12]", 0xb9800f22 } },
		{ e24, { "ldur x7, [x25, #-8]", 0xf85f8327 } },
		{ e25, { "str x7, [x0, x9]", 0xf8296807 } },
		{ e26, { "stp x29, x30, [sp, #-16]!", 0xa9bf7bfd } },
		{ e27, { "ldp x19, x20, [sp], #16", 0xa8c153f3 } },
		{ e28, { "prfm pldl1keep, [x1, #64]", 0xf9802020 } },
		{ e29, { "prfum pldl1keep, [x1, #-3]", 0xf89fd020 } },
		{ e30, { "ldaxr w10, [x11]", 0x885ffd6a } },
		{ e31, { "stlxr w12, x9, [x11]", 0xc80cfd69 } },
		{ e32, { "ldaddal x0, x10, [x11]", 0xf8e0016a } },
		{ e33, { "ldclral w9, wzr, [x25]", 0xb8e9133f } },
		{ e34, { "swpal x1, x10, [x11]", 0xf8e1816a } },
		{ e35, { "casal w10, w1, [x11]", 0x88eafd61 } },
		{ e36, { "dmb ish", 0xd5033bbf } },
		{ e37, { "b.ne .+8", 0x54000041 } },
		{ e38, { "cbnz w12, .-8", 0x35ffffcc } },
		{ e39, { "blr x9", 0xd63f0120 } },
		{ e40, { "ret", 0xd65f03c0 } },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t got = one(cases[i].emit);
		cr_expect_eq(got, cases[i].c.word, "%s: emitted 0x%08x, GNU as 0x%08x", cases[i].c.text, got,
			     cases[i].c.word);
	}
}

/* Decodes the N:immr:imms field back into its 64-bit value (the
 * architecture's DecodeBitMasks for the immediate, not the tmask). */
static uint64_t decode_logic(int field, int w)
{
	int n = field >> 12 & 1, immr = field >> 6 & 0x3f, imms = field & 0x3f;
	int len = 31 - __builtin_clz((unsigned)(n << 6 | (~imms & 0x3f)));
	int size = 1 << len;
	int s = imms & (size - 1), r = immr & (size - 1);
	uint64_t mask = size == 64 ? ~0ull : (1ull << size) - 1;
	uint64_t e = s + 1 == 64 ? ~0ull : (1ull << (s + 1)) - 1;
	e = r ? ((e >> r) | (e << (size - r))) & mask : e;
	uint64_t v = 0;
	for (int i = 0; i < 64; i += size)
		v |= e << i;
	return w ? v : (uint32_t)v;
}

Test(jit_arm64, logical_immediates_round_trip)
{
	long encodable = 0;
	for (int size = 2; size <= 64; size *= 2)
		for (int ones = 1; ones < size; ones++)
			for (int rot = 0; rot < size; rot++) {
				uint64_t mask = size == 64 ? ~0ull : (1ull << size) - 1;
				uint64_t e = (1ull << ones) - 1;
				e = rot ? ((e << rot) | (e >> (size - rot))) & mask : e;
				uint64_t v = 0;
				for (int i = 0; i < 64; i += size)
					v |= e << i;
				int f = a64_logic_imm(v, 1);
				cr_assert_geq(f, 0, "0x%llx (size %d) not encoded", (unsigned long long)v, size);
				cr_assert_eq(decode_logic(f, 1), v, "0x%llx round trip", (unsigned long long)v);
				if (size <= 32) {
					int f32 = a64_logic_imm(v, 0);
					cr_assert_geq(f32, 0);
					cr_assert_eq(decode_logic(f32, 0), (uint32_t)v);
				}
				encodable++;
			}
	cr_assert_eq(encodable, 5334); /* the architecture's count of 64-bit logical immediates */
	cr_assert_eq(a64_logic_imm(0, 1), -1);
	cr_assert_eq(a64_logic_imm(~0ull, 1), -1);
	cr_assert_eq(a64_logic_imm(0x12345678, 1), -1);
	cr_assert_eq(a64_logic_imm(5, 0), -1); /* 101: two runs */
}

Test(jit_arm64, compiles_anywhere_runs_only_on_arm64)
{
	struct sbpf_insn prog[] = {
		SBPF_MOV64_IMM(0, 42),
		SBPF_LDX_MEM(SBPF_B, 2, 1, 0),
		SBPF_ALU64_REG(SBPF_ADD, 0, 2),
		SBPF_EXIT_INSN(),
	};
	struct sbpf_jit_opts jo = { .sz = sizeof(jo), .target = "arm64" };
	struct sbpf_jit *jit = sbpf_jit__new(prog, 4, &jo, NULL);
	cr_assert_not_null(jit);
	cr_assert_str_eq(sbpf_jit__target_name(jit), "arm64");
	cr_assert_eq(sbpf_jit__compile(jit), 0);
	size_t size;
	const uint8_t *code = sbpf_jit__code(jit, &size);
	cr_assert(size > 0 && size % 4 == 0);
	uint32_t first;
	memcpy(&first, code, 4);
	cr_assert_eq(first, 0xa9bf7bfd, "the prologue starts with stp x29, x30, [sp, #-16]!");
	int arch, mode;
	sbpf_jit__capstone_mode(jit, &arch, &mode);
	csh cs;
	cr_assert_eq(cs_open((cs_arch)arch, (cs_mode)mode, &cs), CS_ERR_OK);
	cs_insn *ins;
	size_t count = cs_disasm(cs, code, size, 0, 0, &ins);
	cr_assert_eq(count, size / 4, "capstone decodes every instruction");
	int found = 0;
	for (size_t i = 0; i < count; i++)
		found |= !strcmp(ins[i].mnemonic, "ldrb");
	cr_assert(found, "the load is an ldrb");
	cs_free(ins, count);
	cs_close(&cs);
	uint8_t mem[1] = { 1 };
	uint64_t r0 = 0;
	struct sbpf_run_error err = { 0 };
	int rc = sbpf_jit__run(jit, mem, 1, &r0, &err);
#if defined(__aarch64__)
	cr_assert_eq(rc, 0);
	cr_assert_eq(r0, 43);
#else
	cr_assert_eq(rc, -EOPNOTSUPP);
	cr_assert(strstr(err.reason, "cannot run on this host"), "%s", err.reason);
#endif
	sbpf_jit__free(jit);
	jo.target = "sparc";
	cr_assert_null(sbpf_jit__new(prog, 4, &jo, NULL));
	cr_assert_eq(errno, ENOTSUP);
}
