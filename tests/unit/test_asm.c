/* test_asm.c - the assembler and disassembler (src/asm/): every mnemonic
 * assembles to the expected bytes, assemble -> disassemble -> assemble is
 * byte-identical (own samples, every form, every bpf_conformance asm
 * section), bad input gives the exact message at the exact line:column, and
 * the kernel verifier-log style reads as expected.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "safebpf/asm.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------- helpers */

/* Assembles @text; on failure returns NULL and *@why holds the diagnostics. */
static struct sbpf_insn *assemble(const char *text, size_t *n, char **why)
{
	struct sbpf_diags d = { 0 };
	struct sbpf_insn *p = NULL;
	*why = NULL;
	if (sbpf_assemble(text, "t.s", &p, n, &d)) {
		*why = sbpf_diags__format(&d);
		p = NULL;
	}
	sbpf_diags__free(&d);
	return p;
}

static struct sbpf_insn *must_assemble(const char *text, size_t *n)
{
	char *why;
	struct sbpf_insn *p = assemble(text, n, &why);
	cr_assert_not_null(p, "assembling:\n%s\nfailed:\n%s", text, why ? why : "?");
	return p;
}

/* The whole-program listing of @p in @style, malloc'ed; *@rc gets the result. */
static char *listing(const struct sbpf_insn *p, size_t n, enum sbpf_disasm_style style, int *rc)
{
	char *buf = NULL;
	size_t sz = 0;
	FILE *f = open_memstream(&buf, &sz);
	cr_assert_not_null(f);
	*rc = sbpf_disasm(p, n, style, f);
	fclose(f);
	return buf;
}

/* assemble -> disassemble (@style) -> assemble gives the same bytes.
 * Returns 1 when it holds (and reports the difference when it does not). */
static int round_trips(const struct sbpf_insn *p, size_t n, enum sbpf_disasm_style style,
		       const char *what)
{
	int rc;
	char *text = listing(p, n, style, &rc);
	cr_expect_eq(rc, 0, "%s: disasm returned %d", what, rc);
	size_t n2 = 0;
	char *why;
	struct sbpf_insn *q = assemble(text, &n2, &why);
	int ok = q && n2 == n && !memcmp(p, q, n * sizeof(*p));
	cr_expect(ok, "%s: round trip differs (style %d)\nlisting:\n%s\n%s", what, style, text,
		  why ? why : "(bytes differ)");
	free(q);
	free(why);
	free(text);
	return ok;
}

static void expect_bytes(const struct sbpf_insn *p, size_t n, const char *hex, const char *what)
{
	uint8_t want[64];
	size_t k = 0;
	for (const char *s = hex; *s && k < sizeof(want);) {
		if (*s == ' ') {
			s++;
			continue;
		}
		unsigned v;
		cr_assert_eq(sscanf(s, "%2x", &v), 1);
		want[k++] = (uint8_t)v;
		s += 2;
	}
	cr_expect_eq(n * 8, k, "%s: %zu slots, want %zu bytes", what, n, k);
	if (n * 8 == k) {
		char got[200] = "";
		for (size_t i = 0; i < k; i++)
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%02x ",
				 ((const uint8_t *)p)[i]);
		cr_expect(!memcmp(p, want, k), "%s: got %s", what, got);
	}
}

/* ----------------------------------------------------- mnemonic -> bytes */

struct enc_case {
	const char *text; /* one instruction; "exit" is appended */
	const char *hex;  /* its bytes (exit not included) */
};

static const struct enc_case enc_cases[] = {
	{ "mov %r0, 1", "b7 00 00 00 01 00 00 00" },
	{ "mov64 %r9, -1", "b7 09 00 00 ff ff ff ff" },
	{ "mov %r2, %r3", "bf 32 00 00 00 00 00 00" },
	{ "mov32 %r1, -1", "b4 01 00 00 ff ff ff ff" },
	{ "mov32 %r0, 0xffffffff", "b4 00 00 00 ff ff ff ff" },
	{ "mov %r0, -2147483648", "b7 00 00 00 00 00 00 80" },
	{ "mov %r0, -0x80000000", "b7 00 00 00 00 00 00 80" },
	{ "mov32 %r1, %r2", "bc 21 00 00 00 00 00 00" },
	{ "add %r1, 2", "07 01 00 00 02 00 00 00" },
	{ "add64 %r1, %r2", "0f 21 00 00 00 00 00 00" },
	{ "add32 %r0, -3", "04 00 00 00 fd ff ff ff" },
	{ "sub %r1, %r2", "1f 21 00 00 00 00 00 00" },
	{ "sub32 %r1, 1", "14 01 00 00 01 00 00 00" },
	{ "mul %r3, 7", "27 03 00 00 07 00 00 00" },
	{ "mul32 %r3, %r4", "2c 43 00 00 00 00 00 00" },
	{ "div %r1, 3", "37 01 00 00 03 00 00 00" },
	{ "sdiv %r1, 3", "37 01 01 00 03 00 00 00" },
	{ "sdiv32 %r1, %r2", "3c 21 01 00 00 00 00 00" },
	{ "mod %r1, %r2", "9f 21 00 00 00 00 00 00" },
	{ "smod %r1, -5", "97 01 01 00 fb ff ff ff" },
	{ "smod32 %r1, %r2", "9c 21 01 00 00 00 00 00" },
	{ "or %r0, 0x10", "47 00 00 00 10 00 00 00" },
	{ "and32 %r0, 0xffff0000", "54 00 00 00 00 00 ff ff" },
	{ "lsh %r0, 60", "67 00 00 00 3c 00 00 00" },
	{ "rsh32 %r0, %r1", "7c 10 00 00 00 00 00 00" },
	{ "arsh %r1, 3", "c7 01 00 00 03 00 00 00" },
	{ "arsh32 %r1, %r2", "cc 21 00 00 00 00 00 00" },
	{ "xor %r4, %r5", "af 54 00 00 00 00 00 00" },
	{ "neg %r3", "87 03 00 00 00 00 00 00" },
	{ "neg32 %r3", "84 03 00 00 00 00 00 00" },
	{ "neg64 %r3", "87 03 00 00 00 00 00 00" },
	{ "le16 %r1", "d4 01 00 00 10 00 00 00" },
	{ "le64 %r1", "d4 01 00 00 40 00 00 00" },
	{ "be32 %r1", "dc 01 00 00 20 00 00 00" },
	{ "bswap64 %r2", "d7 02 00 00 40 00 00 00" },
	{ "swap16 %r2", "d7 02 00 00 10 00 00 00" },
	{ "movsx832 %r2, %r1", "bc 12 08 00 00 00 00 00" },
	{ "movsx1632 %r2, %r1", "bc 12 10 00 00 00 00 00" },
	{ "movsx864 %r2, %r1", "bf 12 08 00 00 00 00 00" },
	{ "movsx3264 %r2, %r1", "bf 12 20 00 00 00 00 00" },
	{ "ldxb %r0, [%r1+0x2]", "71 10 02 00 00 00 00 00" },
	{ "ldxh %r9, [%r0+2]", "69 09 02 00 00 00 00 00" },
	{ "ldxw %r0, [%r1]", "61 10 00 00 00 00 00 00" },
	{ "ldxdw %r0, [%r10-8]", "79 a0 f8 ff 00 00 00 00" },
	{ "ldxdw %r0, [ %r10 - 8 ]", "79 a0 f8 ff 00 00 00 00" },
	{ "ldxsb %r0, [%r10-1]", "91 a0 ff ff 00 00 00 00" },
	{ "ldxsh %r0, [%r10-2]", "89 a0 fe ff 00 00 00 00" },
	{ "ldxsw %r0, [%r10-4]", "81 a0 fc ff 00 00 00 00" },
	{ "ldxw %r0, [%r1-32768]", "61 10 00 80 00 00 00 00" },
	{ "stb [%r1+2], 0x11", "72 01 02 00 11 00 00 00" },
	{ "sth [%r10-2], 0x8001", "6a 0a fe ff 01 80 00 00" },
	{ "stw [%r10-4], 0x80000001", "62 0a fc ff 01 00 00 80" },
	{ "stdw [%r10-16], -1", "7a 0a f0 ff ff ff ff ff" },
	{ "stxb [%r0+1], %r9", "73 90 01 00 00 00 00 00" },
	{ "stxh [%r1+2], %r2", "6b 21 02 00 00 00 00 00" },
	{ "stxw [%r1+4], %r2", "63 21 04 00 00 00 00 00" },
	{ "stxdw [%r10-8], %r1", "7b 1a f8 ff 00 00 00 00" },
	{ "lock add [%r10-8], %r1", "db 1a f8 ff 00 00 00 00" },
	{ "lock fetch add [%r10-8], %r1", "db 1a f8 ff 01 00 00 00" },
	{ "lock or32 [%r1], %r2", "c3 21 00 00 40 00 00 00" },
	{ "lock fetch and32 [%r1+0], %r2", "c3 21 00 00 51 00 00 00" },
	{ "lock xor [%r1], %r2", "db 21 00 00 a0 00 00 00" },
	{ "lock fetch xor [%r1], %r2", "db 21 00 00 a1 00 00 00" },
	{ "lock xchg [%r1], %r2", "db 21 00 00 e1 00 00 00" },
	{ "lock xchg32 [%r1], %r2", "c3 21 00 00 e1 00 00 00" },
	{ "lock cmpxchg [%r10-8], %r1", "db 1a f8 ff f1 00 00 00" },
	{ "lock cmpxchg32 [%r1], %r2", "c3 21 00 00 f1 00 00 00" },
	{ "lddw %r0, 0x123456789abcdef0", "18 00 00 00 f0 de bc 9a 00 00 00 00 78 56 34 12" },
	{ "lddw %r1, -1", "18 01 00 00 ff ff ff ff 00 00 00 00 ff ff ff ff" },
	{ "lddw %r0, 2147483648", "18 00 00 00 00 00 00 80 00 00 00 00 00 00 00 00" },
	{ "lddw %r0, 0xFFFFFFFFFFFFFFFF", "18 00 00 00 ff ff ff ff 00 00 00 00 ff ff ff ff" },
	{ "lddw %r0, -9223372036854775808", "18 00 00 00 00 00 00 00 00 00 00 00 00 00 00 80" },
	{ "lddw %r1, map_fd 3", "18 11 00 00 03 00 00 00 00 00 00 00 00 00 00 00" },
	{ "lddw %r1, map_value 3 + 8", "18 21 00 00 03 00 00 00 00 00 00 00 08 00 00 00" },
	{ "lddw %r2, var_addr 77", "18 32 00 00 4d 00 00 00 00 00 00 00 00 00 00 00" },
	{ "lddw %r1, code_addr +0", "18 41 00 00 00 00 00 00 00 00 00 00 00 00 00 00" },
	{ "lddw %r1, map_idx 2", "18 51 00 00 02 00 00 00 00 00 00 00 00 00 00 00" },
	{ "lddw %r1, map_idx_value 2 + 0x10", "18 61 00 00 02 00 00 00 00 00 00 00 10 00 00 00" },
	{ "ja +0", "05 00 00 00 00 00 00 00" },
	{ "ja 0", "05 00 00 00 00 00 00 00" },
	{ "ja32 +0", "06 00 00 00 00 00 00 00" },
	{ "jeq %r1, 0x2a, +0", "15 01 00 00 2a 00 00 00" },
	{ "jne %r6, 6, +0", "55 06 00 00 06 00 00 00" },
	{ "jgt %r1, %r2, +0", "2d 21 00 00 00 00 00 00" },
	{ "jset %r1, 4, +0", "45 01 00 00 04 00 00 00" },
	{ "jsge %r1, -1, +0", "75 01 00 00 ff ff ff ff" },
	{ "jle %r1, %r2, +0", "bd 21 00 00 00 00 00 00" },
	{ "jslt %r1, 1, +0", "c5 01 00 00 01 00 00 00" },
	{ "jsle %r1, %r2, +0", "dd 21 00 00 00 00 00 00" },
	{ "jeq32 %r1, 1, +0", "16 01 00 00 01 00 00 00" },
	{ "jsgt32 %r1, %r2, +0", "6e 21 00 00 00 00 00 00" },
	{ "jlt32 %r1, 0xffffffff, +0", "a6 01 00 00 ff ff ff ff" },
	{ "call 5", "85 00 00 00 05 00 00 00" },
	{ "call local +0", "85 10 00 00 00 00 00 00" },
	{ "call kfunc 10", "85 20 00 00 0a 00 00 00" },
	{ "call kfunc 10, 2", "85 20 02 00 0a 00 00 00" },
	{ ".raw 0xb700000001000000", "b7 00 00 00 01 00 00 00" },
	{ "MOV %R0, 1   # upper case and a comment", "b7 00 00 00 01 00 00 00" },
	{ "\tmov\t%r0 ,\t1\r", "b7 00 00 00 01 00 00 00" },
	{ "start: mov %r0, 1", "b7 00 00 00 01 00 00 00" },
};

Test(asm, every_mnemonic_gives_the_expected_bytes)
{
	for (size_t i = 0; i < N(enc_cases); i++) {
		char text[256];
		snprintf(text, sizeof(text), "%s\nexit\n", enc_cases[i].text);
		size_t n;
		char *why;
		struct sbpf_insn *p = assemble(text, &n, &why);
		cr_expect_not_null(p, "'%s' failed:\n%s", enc_cases[i].text, why);
		free(why);
		if (!p)
			continue;
		cr_expect_eq(p[n - 1].code, 0x95);
		expect_bytes(p, n - 1, enc_cases[i].hex, enc_cases[i].text);
		round_trips(p, n, SBPF_DISASM_ASM, enc_cases[i].text);
		round_trips(p, n, SBPF_DISASM_ASM_NOLABELS, enc_cases[i].text);
		free(p);
	}
}

/* Text for form @op with operands dst r1, src r2, off 3, imm 4 (lddw high
 * word 5), and the bytes those must give (built from the table, not the
 * assembler). */
static void form_text(enum sbpf_op op, char *buf, size_t sz, struct sbpf_insn out[2])
{
	const struct sbpf_op_info *f = sbpf_op_info(op);
	const char *m = f->mnemonic;
	struct sbpf_insn in = { .code = f->code }, hi = { 0 };
	switch (f->fmt) {
	case SBPF_FMT_ALU_K: snprintf(buf, sz, "%s %%r1, 4", m); in.dst_reg = 1; in.imm = 4; break;
	case SBPF_FMT_ALU_X: case SBPF_FMT_MOVSX:
		snprintf(buf, sz, "%s %%r1, %%r2", m); in.dst_reg = 1; in.src_reg = 2; break;
	case SBPF_FMT_NEG: case SBPF_FMT_END: snprintf(buf, sz, "%s %%r1", m); in.dst_reg = 1; break;
	case SBPF_FMT_LDX:
		snprintf(buf, sz, "%s %%r1, [%%r2+3]", m);
		in.dst_reg = 1; in.src_reg = 2; in.off = 3;
		break;
	case SBPF_FMT_ST:
		snprintf(buf, sz, "%s [%%r1+3], 4", m); in.dst_reg = 1; in.off = 3; in.imm = 4; break;
	case SBPF_FMT_STX: case SBPF_FMT_ATOMIC:
		snprintf(buf, sz, "%s [%%r1+3], %%r2", m);
		in.dst_reg = 1; in.src_reg = 2; in.off = 3;
		break;
	case SBPF_FMT_LDDW:
		if (f->key_value == SBPF_PSEUDO_FUNC) /* a relative code offset */
			snprintf(buf, sz, "%s %%r1, %s +4 + 5", m, f->symbol);
		else if (f->key_value)
			snprintf(buf, sz, "%s %%r1, %s 4 + 5", m, f->symbol);
		else
			snprintf(buf, sz, "%s %%r1, 0x500000004", m);
		in.dst_reg = 1; in.imm = 4; hi.imm = 5;
		break;
	case SBPF_FMT_JA: snprintf(buf, sz, "%s +3", m); in.off = 3; break;
	case SBPF_FMT_JA32: case SBPF_FMT_CALL_LOCAL: snprintf(buf, sz, "%s +3", m); in.imm = 3; break;
	case SBPF_FMT_JCOND_K:
		snprintf(buf, sz, "%s %%r1, 4, +3", m); in.dst_reg = 1; in.imm = 4; in.off = 3; break;
	case SBPF_FMT_JCOND_X:
		snprintf(buf, sz, "%s %%r1, %%r2, +3", m);
		in.dst_reg = 1; in.src_reg = 2; in.off = 3;
		break;
	case SBPF_FMT_CALL:
		if (f->key_value == SBPF_PSEUDO_KFUNC_CALL) {
			snprintf(buf, sz, "%s 4, 3", m); in.off = 3;
		} else {
			snprintf(buf, sz, "%s 4", m);
		}
		in.imm = 4;
		break;
	default: snprintf(buf, sz, "%s", m); break;
	}
	if (f->key == SBPF_KEY_OFF) in.off = (int16_t)f->key_value;
	if (f->key == SBPF_KEY_IMM) in.imm = f->key_value;
	if (f->key == SBPF_KEY_SRC) in.src_reg = (uint8_t)f->key_value;
	out[0] = in;
	out[1] = hi;
}

Test(asm, every_form_of_the_table_assembles_and_round_trips)
{
	for (int op = 1; op < SBPF_OP__COUNT; op++) {
		char line[96], text[160];
		struct sbpf_insn want[2];
		form_text((enum sbpf_op)op, line, sizeof(line), want);
		snprintf(text, sizeof(text), "%s\nexit\nexit\nexit\nexit\n", line);
		size_t n;
		char *why;
		struct sbpf_insn *p = assemble(text, &n, &why);
		cr_expect_not_null(p, "%s: '%s' failed:\n%s", sbpf_op_info((enum sbpf_op)op)->id, line,
				   why);
		free(why);
		if (!p)
			continue;
		int slots = sbpf_op_slots((enum sbpf_op)op);
		cr_expect_eq(n, (size_t)slots + 4);
		cr_expect(!memcmp(p, want, (size_t)slots * sizeof(*p)), "%s: wrong bytes", line);
		cr_expect_eq(sbpf_decode(p), op, "%s decodes to %d", line, sbpf_decode(p));
		round_trips(p, n, SBPF_DISASM_ASM, line);
		round_trips(p, n, SBPF_DISASM_ASM_NOLABELS, line);
		/* Single-instruction forms of both styles. */
		char buf[128];
		cr_expect_eq(sbpf_disasm_insn(p, n, 0, SBPF_DISASM_ASM, buf, sizeof(buf)), slots);
		cr_expect_str_eq(buf, line);
		cr_expect_eq(sbpf_disasm_insn(p, n, 0, SBPF_DISASM_KERNEL, buf, sizeof(buf)), slots);
		cr_expect(buf[0] && strncmp(buf, ".raw", 4), "%s: kernel style '%s'", line, buf);
		free(p);
	}
}

/* ---------------------------------------------------- own sample programs */

static const char *const samples[] = {
	/* labels backward and forward, 'exit' convention, lddw counted as 2 */
	"mov %r0, 0\nloop:\nadd %r0, 1\nlddw %r1, 0x100000000\njlt %r0, 10, loop\n"
	"jeq %r0, 10, exit\nmov %r0, -1\nexit\n",
	/* local calls, code_addr to a label, ja32 both ways */
	"mov %r1, 1\ncall local f\nlddw %r2, code_addr f\nja32 end\nback: exit\n"
	"f:\nmov %r0, %r1\nexit\nend:\nja32 back\n",
	/* negative offsets, every pseudo source with a high word */
	"stdw [%r10-8], -1\nldxdw %r0, [%r10-8]\nlddw %r1, map_fd -1 + 0xffffffff\n"
	"lddw %r1, map_value 3 + 4096\nlddw %r1, var_addr 5 + 6\nlddw %r1, map_idx 0 + 1\n"
	"lddw %r1, map_idx_value 7 + 0x80000000\nexit\n",
	/* numeric jumps back and forward */
	"mov %r0, 3\nsub %r0, 1\njne %r0, 0, -2\nja +1\nmov %r0, 9\nexit\n",
	/* atomics and kfunc with BTF object */
	"lock fetch or [%r10-8], %r3\nlock cmpxchg32 [%r10-4], %r2\ncall kfunc 123, -1\nexit\n",
	/* a label on an instruction line and two labels on one slot */
	"a: b: mov %r0, 1\njeq %r0, 1, a\njeq %r0, 2, b\nexit\n",
	/* large immediates in every context */
	"mov %r0, 0x7fffffff\nmov32 %r0, 0x80000000\nand %r0, 0xffff0000\njeq32 %r0, 0xfffffff0, +0\n"
	"jsgt %r0, -100000, +0\nstw [%r10-4], 0xdeadbeef\nstdw [%r10-8], -65537\nlddw %r0, -65536\n"
	"lddw %r0, 65536\nexit\n",
};

Test(asm, own_samples_round_trip)
{
	for (size_t i = 0; i < N(samples); i++) {
		size_t n;
		struct sbpf_insn *p = must_assemble(samples[i], &n);
		round_trips(p, n, SBPF_DISASM_ASM, samples[i]);
		round_trips(p, n, SBPF_DISASM_ASM_NOLABELS, samples[i]);
		free(p);
	}
}

Test(asm, labels_and_the_exit_convention)
{
	size_t n;
	struct sbpf_insn *p = must_assemble(samples[0], &n);
	cr_assert_eq(n, 8);
	cr_expect_eq(p[4].off, -4); /* jlt at 4 -> loop at 1 */
	cr_expect_eq(p[5].off, 1);  /* jeq at 5 -> first exit at 7 */
	free(p);
	/* A label named exit wins over the first exit instruction. */
	p = must_assemble("ja exit\nexit\nexit:\nexit\n", &n);
	cr_expect_eq(p[0].off, 1);
	free(p);
	p = must_assemble(samples[1], &n);
	cr_assert_eq(n, 9);
	cr_expect_eq(p[1].imm, 4);  /* call local at 1 -> f at 6 */
	cr_expect_eq(p[2].imm, 3);  /* code_addr at 2 (2 slots) -> f at 6 */
	cr_expect_eq(p[4].imm, 3);  /* ja32 at 4 -> end at 8 */
	cr_expect_eq(p[8].imm, -4); /* ja32 at 8 -> back at 5 */
	free(p);
}

/* ------------------------------------------------------- whole listings */

static const char listing_src[] =
	"mov %r0, 0\nloop:\nadd %r0, 1\njlt %r0, 10, loop\ncall local f\nexit\n"
	"f:\nmov %r0, 1\nexit\n";

Test(disasm, listing_with_labels)
{
	size_t n;
	int rc;
	struct sbpf_insn *p = must_assemble(listing_src, &n);
	char *s = listing(p, n, SBPF_DISASM_ASM, &rc);
	cr_expect_eq(rc, 0);
	cr_expect_str_eq(s, "mov %r0, 0\nL1:\nadd %r0, 1\njlt %r0, 10, L1\ncall local fn5\nexit\n"
			    "fn5:\nmov %r0, 1\nexit\n");
	free(s);
	s = listing(p, n, SBPF_DISASM_ASM_NOLABELS, &rc);
	cr_expect_str_eq(s, "mov %r0, 0\nadd %r0, 1\njlt %r0, 10, -2\ncall local +1\nexit\n"
			    "mov %r0, 1\nexit\n");
	free(s);
	s = listing(p, n, SBPF_DISASM_KERNEL, &rc);
	cr_expect_str_eq(s, "0: (b7) r0 = 0\n1: (07) r0 += 1\n2: (a5) if r0 < 0xa goto pc-2\n"
			    "3: (85) call pc+1\n4: (95) exit\n5: (b7) r0 = 1\n6: (95) exit\n");
	free(s);
	free(p);
}

Test(disasm, undecodable_slots_are_raw)
{
	struct sbpf_insn p[] = {
		SBPF_INSN(0xff, 0, 0, 0, 0),          /* no such opcode */
		SBPF_INSN(0x07, 0, 0, 1, 1),          /* add with an offset */
		SBPF_INSN(0xb7, 11, 0, 0, 1),         /* r11 */
		SBPF_INSN(0xd4, 1, 0, 0, 8),          /* le8 */
		SBPF_LD_IMM64_LO(1, 0, 5),            /* lddw whose second slot ... */
		SBPF_INSN(0x95, 0, 0, 0, 0),          /* ... is an exit */
		SBPF_LD_IMM64_LO(1, 0, 5),            /* lddw cut off at the end */
	};
	char buf[64];
	const char *want[] = { ".raw 0xff00000000000000", ".raw 0x0700010001000000",
			       ".raw 0xb70b000001000000", ".raw 0xd401000008000000",
			       ".raw 0x1801000005000000" };
	for (size_t i = 0; i < N(want); i++) {
		cr_expect_eq(sbpf_disasm_insn(p, N(p), i, SBPF_DISASM_ASM, buf, sizeof(buf)), -EINVAL);
		cr_expect_str_eq(buf, want[i]);
		cr_expect_eq(sbpf_disasm_insn(p, N(p), i, SBPF_DISASM_KERNEL, buf, sizeof(buf)),
			     -EINVAL);
		cr_expect_str_eq(buf, want[i]);
	}
	cr_expect_eq(sbpf_disasm_insn(p, N(p), 5, SBPF_DISASM_ASM, buf, sizeof(buf)), 1);
	cr_expect_str_eq(buf, "exit");
	cr_expect_eq(sbpf_disasm_insn(p, N(p), 6, SBPF_DISASM_ASM, buf, sizeof(buf)), -EINVAL);
	cr_expect_eq(sbpf_disasm_insn(p, N(p), 7, SBPF_DISASM_ASM, buf, sizeof(buf)), -EINVAL);
	cr_expect_str_eq(buf, "");
	int rc;
	char *s = listing(p, N(p), SBPF_DISASM_ASM, &rc);
	cr_expect_eq(rc, -EINVAL);
	cr_expect_str_eq(s, ".raw 0xff00000000000000\n.raw 0x0700010001000000\n"
			    ".raw 0xb70b000001000000\n.raw 0xd401000008000000\n"
			    ".raw 0x1801000005000000\nexit\n.raw 0x1801000005000000\n");
	/* .raw reassembles to the same bytes; validation then names the slot. */
	struct sbpf_diags d = { 0 };
	struct sbpf_insn *q = NULL;
	size_t n;
	cr_expect_eq(sbpf_assemble(s, "l.s", &q, &n, &d), -EINVAL);
	cr_assert_eq(d.n, 1);
	cr_expect_eq(d.items[0].line, 1);
	cr_expect_str_eq(d.items[0].message, "invalid program: unknown opcode 0xff");
	sbpf_diags__free(&d);
	free(s);
}

Test(disasm, short_buffers_truncate_safely)
{
	size_t n;
	struct sbpf_insn *p = must_assemble("lddw %r1, 0x123456789abcdef0\nexit\n", &n);
	char buf[8];
	memset(buf, 'x', sizeof(buf));
	cr_expect_eq(sbpf_disasm_insn(p, n, 0, SBPF_DISASM_ASM, buf, 6), 2);
	cr_expect_str_eq(buf, "lddw ");
	cr_expect_eq(buf[6], 'x');
	cr_expect_eq(sbpf_disasm_insn(p, n, 0, SBPF_DISASM_ASM, NULL, 0), 2);
	cr_expect_eq(sbpf_disasm_insn(NULL, 0, 0, SBPF_DISASM_ASM, buf, sizeof(buf)), -EINVAL);
	free(p);
}

/* -------------------------------------------------------- kernel style */

struct kern_case {
	const char *text; /* one instruction (followed by exits) */
	const char *want; /* verifier-log style */
};

static const struct kern_case kern_cases[] = {
	{ "mov %r0, 1", "r0 = 1" },
	{ "mov32 %r1, %r2", "w1 = w2" },
	{ "add %r1, 10", "r1 += 10" },
	{ "add32 %r1, -3", "w1 += -3" },
	{ "sdiv32 %r1, %r2", "w1 s/= w2" },
	{ "smod %r1, 3", "r1 s%= 3" },
	{ "arsh %r1, 3", "r1 s>>= 3" },
	{ "lsh32 %r1, %r2", "w1 <<= w2" },
	{ "neg %r2", "r2 = -r2" },
	{ "neg32 %r2", "w2 = -w2" },
	{ "be16 %r0", "r0 = be16 r0" },
	{ "le32 %r0", "r0 = le32 r0" },
	{ "bswap64 %r0", "r0 = bswap64 r0" },
	{ "movsx832 %r2, %r1", "w2 = (s8)w1" },
	{ "movsx3264 %r2, %r1", "r2 = (s32)r1" },
	{ "ldxdw %r0, [%r1+8]", "r0 = *(u64 *)(r1 +8)" },
	{ "ldxsh %r0, [%r10-2]", "r0 = *(s16 *)(r10 -2)" },
	{ "stw [%r10-4], 1", "*(u32 *)(r10 -4) = 1" },
	{ "stxb [%r1], %r2", "*(u8 *)(r1 +0) = r2" },
	{ "lock add [%r10-8], %r1", "lock *(u64 *)(r10 -8) += r1" },
	{ "lock and32 [%r10-4], %r1", "lock *(u32 *)(r10 -4) &= r1" },
	{ "lock fetch add32 [%r10-4], %r1", "r1 = atomic_fetch_add((u32 *)(r10 -4), r1)" },
	{ "lock fetch xor [%r10-8], %r3", "r3 = atomic64_fetch_xor((u64 *)(r10 -8), r3)" },
	{ "lock xchg [%r10-8], %r1", "r1 = atomic64_xchg((u64 *)(r10 -8), r1)" },
	{ "lock cmpxchg [%r10-8], %r1", "r0 = atomic64_cmpxchg((u64 *)(r10 -8), r0, r1)" },
	{ "lddw %r0, 0x1234", "r0 = 0x1234 ll" },
	{ "lddw %r0, -1", "r0 = 0xffffffffffffffff ll" },
	{ "lddw %r1, map_fd 3", "r1 = map[fd:3]" },
	{ "lddw %r1, map_value 3 + 8", "r1 = map_value[fd:3]+8" },
	{ "lddw %r1, map_idx 1", "r1 = map[idx:1]" },
	{ "lddw %r1, code_addr +2", "r1 = func pc+2" },
	{ "jgt %r1, 42, +2", "if r1 > 0x2a goto pc+2" },
	{ "jeq %r0, 0, +1", "if r0 == 0x0 goto pc+1" },
	{ "jset32 %r1, 4, +0", "if w1 & 0x4 goto pc+0" },
	{ "jslt32 %r1, %r2, -1", "if w1 s< w2 goto pc-1" },
	{ "jsge %r1, -1, +0", "if r1 s>= 0xffffffff goto pc+0" },
	{ "ja -1", "goto pc-1" },
	{ "ja32 +2", "gotol pc+2" },
	{ "call 5", "call 5" },
	{ "call local +1", "call pc+1" },
	{ "call kfunc 10", "call kfunc 10" },
	{ "exit", "exit" },
};

Test(disasm, kernel_style_strings)
{
	for (size_t i = 0; i < N(kern_cases); i++) {
		char text[128], buf[128];
		snprintf(text, sizeof(text), "%s\nexit\nexit\nexit\n", kern_cases[i].text);
		size_t n;
		struct sbpf_insn *p = must_assemble(text, &n);
		cr_expect_gt(sbpf_disasm_insn(p, n, 0, SBPF_DISASM_KERNEL, buf, sizeof(buf)), 0);
		cr_expect_str_eq(buf, kern_cases[i].want, "'%s' -> '%s'", kern_cases[i].text, buf);
		free(p);
	}
}

/* ------------------------------------------------------------ bad input */

struct bad_case {
	const char *text;  /* source */
	int line, col, len; /* where the (first) caret must be */
	const char *msg;   /* exact message */
	const char *hint;  /* exact hint, or NULL for none */
};

static const struct bad_case bad_cases[] = {
	{ "mvo %r0, 1\nexit", 1, 1, 3, "unknown mnemonic 'mvo'", "did you mean 'mov'?" },
	{ "ldxq %r0, %r1\nexit", 1, 1, 4, "unknown mnemonic 'ldxq'", "did you mean 'ldxb'?" },
	{ "mov %r0, 1\nfrobnicate\nexit", 2, 1, 10, "unknown mnemonic 'frobnicate'", NULL },
	{ "mov %r0, 1\nja L3\nexit", 2, 4, 2, "undefined label 'L3'",
	  "define it with 'L3:' before the instruction it names" },
	{ "fail:\nja fial\nexit", 2, 4, 4, "undefined label 'fial'", "did you mean 'fail'?" },
	{ "ja NOT_A_LABEL\nexit", 1, 4, 11, "undefined label 'NOT_A_LABEL'",
	  "define it with 'NOT_A_LABEL:' before the instruction it names" },
	{ "mov %r11, 1\nexit", 1, 5, 4, "register '%r11' does not exist",
	  "eBPF has eleven registers, %r0 to %r10" },
	{ "or %r0, %r50\nexit", 1, 9, 4, "register '%r50' does not exist",
	  "eBPF has eleven registers, %r0 to %r10" },
	{ "mov %rax, 1\nexit", 1, 5, 4, "'%rax' is not a register", "registers are written %r0 to %r10" },
	{ "mov r1, 2\nexit", 1, 5, 2, "operand 1 of 'mov': expected a register like %r1, found 'r1'",
	  "registers are written with a percent sign, like %r1" },
	{ "ldxw %r0, [r1+2]\nexit", 1, 12, 2, "expected a register like %r1, found 'r1'",
	  "registers are written with a percent sign, like %r1" },
	{ "mov %r0\nexit", 1, 5, 3, "'mov' takes 2 operands, found 1",
	  "expected: 'mov %rD, IMM' or 'mov %rD, %rS'" },
	{ "mov %r0, 1, 2\nexit", 1, 5, 9, "'mov' takes 2 operands, found 3",
	  "expected: 'mov %rD, IMM' or 'mov %rD, %rS'" },
	{ "lddw %r0\nexit", 1, 6, 3, "'lddw' takes 2 operands, found 1",
	  "expected: 'lddw %rD, IMM64' or 'lddw %rD, KIND N [+ N]' (KIND: map_fd map_value "
	  "var_addr code_addr map_idx map_idx_value)" },
	{ "exit %r0", 1, 6, 3, "'exit' takes no operands, found 1", "expected: 'exit'" },
	{ "jne %r1, 5\nexit", 1, 5, 6, "'jne' takes 3 operands, found 2",
	  "expected: 'jne %rD, IMM, LABEL|+OFF' or 'jne %rD, %rS, LABEL|+OFF'" },
	{ "lock or [%r10-8]\nexit", 1, 9, 8, "'lock or' takes 2 operands, found 1",
	  "expected: 'lock or [%rD+OFF], %rS'" },
	{ "lock\nexit", 1, 1, 4, "incomplete mnemonic 'lock'",
	  "'lock' continues with one of: add, fetch, or, and, xor, xchg, cmpxchg (with suffix 32 "
	  "for 32-bit forms)" },
	{ "lock fetch xchg [%r1], %r2\nexit", 1, 1, 10, "incomplete mnemonic 'lock fetch'",
	  "'lock fetch' continues with one of: add, or, and, xor (with suffix 32 for 32-bit forms)" },
	{ "ldxb %r0, %r1\nexit", 1, 11, 3,
	  "operand 2 of 'ldxb': expected a memory operand like [%r1+8], found '%r1'",
	  "expected: 'ldxb %rD, [%rS+OFF]'" },
	{ "stb [%r1+2], %r3\nexit", 1, 14, 3, "operand 2 of 'stb': expected a number, found '%r3'",
	  "expected: 'stb [%rD+OFF], IMM'" },
	{ "mov %r0, fail\nfail: exit", 1, 10, 4,
	  "operand 2 of 'mov': expected a number or a register like %r1, found 'fail'",
	  "expected: 'mov %rD, IMM' or 'mov %rD, %rS'" },
	{ "call foo\nfoo: exit", 1, 6, 3, "operand 1 of 'call': expected a number, found 'foo'",
	  "to call the function at label 'foo', write 'call local foo'" },
	{ "ldxw %r0, [%r1+2\nexit", 1, 17, 1, "expected '+', '-' or ']' at end of line",
	  "memory operands look like [%r1+8], [%r10-4] or [%r1]" },
	{ "ldxw %r0, [%r1*2]\nexit", 1, 15, 1, "expected '+', '-' or ']', found '*'",
	  "memory operands look like [%r1+8], [%r10-4] or [%r1]" },
	{ "add %r0, %r1 %r2\nexit", 1, 14, 3, "expected ',' or end of line, found '%r2'", NULL },
	{ "mov %r0, 1,\nexit", 1, 12, 1, "expected an operand after ',' at end of line", NULL },
	{ "mov32 %r0, 2147483648\nexit", 1, 12, 10,
	  "immediate 2147483648 does not fit in 32 bits (-2147483648..2147483647)",
	  "write 0x80000000 for this 32-bit pattern, or use lddw for a 64-bit constant" },
	{ "mov32 %r0, 0x100000000\nexit", 1, 12, 11,
	  "immediate 0x100000000 does not fit in 32 bits (0x0..0xffffffff)",
	  "use lddw to load a 64-bit constant" },
	{ "mov %r0, -2147483649\nexit", 1, 10, 11,
	  "immediate -2147483649 is below -2147483648 and does not fit in 32 bits",
	  "use lddw to load a 64-bit constant" },
	{ "mov %r0, 12ab\nexit", 1, 10, 4, "malformed number '12ab'",
	  "numbers are decimal (42, -8) or hexadecimal (0x2a)" },
	{ "mov %r0, 0x\nexit", 1, 10, 2, "malformed number '0x'",
	  "numbers are decimal (42, -8) or hexadecimal (0x2a)" },
	{ "lddw %r0, 99999999999999999999\nexit", 1, 11, 20,
	  "number '99999999999999999999' does not fit in 64 bits", NULL },
	{ "lddw %r0, -9223372036854775809\nexit", 1, 11, 20,
	  "immediate -9223372036854775809 is below -2^63", NULL },
	{ "ldxb %r0, [%r1+0x10000]\nexit", 1, 15, 8,
	  "offset +0x10000 does not fit in 16 bits (-32768..32767)", NULL },
	{ "stb [%r1-32769], 1\nexit", 1, 9, 6, "offset -32769 does not fit in 16 bits (-32768..32767)",
	  NULL },
	{ "ja +40000\nexit", 1, 4, 6, "jump offset +40000 does not fit in 16 bits (-32768..32767)",
	  "ja32 takes a 32-bit offset" },
	{ "lddw %r1, mapfd 3\nexit", 1, 11, 5, "unknown lddw source 'mapfd'", "did you mean 'map_fd'?" },
	{ "lddw %r1, map_fd foo\nexit", 1, 18, 3, "'map_fd' takes a number, not a label", NULL },
	{ "lddw %r1, map_fd 1 + 0x100000000\nexit", 1, 22, 11,
	  "immediate 0x100000000 does not fit in 32 bits (0x0..0xffffffff)",
	  "use lddw to load a 64-bit constant" },
	{ "x: mov %r0, 1\nx: exit", 2, 1, 1, "label 'x' defined twice", "first defined on line 1" },
	{ "ja end\nexit\nend:", 1, 4, 3, "label 'end' is at the end of the program, not at an instruction",
	  "put an instruction (e.g. exit) after the label" },
	{ "mov %r10, 1\nexit", 1, 1, 11, "invalid program: mov: r10 is the read-only frame pointer",
	  "%r10 can be read (it points at the stack) but not written" },
	{ "mov %r0, 1", 1, 1, 10,
	  "invalid program: last instruction must be exit or an unconditional jump",
	  "end the program with 'exit' (or a jump back)" },
	{ "ja +1\nlddw %r0, 5\nexit", 1, 1, 5, "invalid program: ja: target 2 is the second slot of an lddw",
	  "jump to a label instead of counting slots (lddw takes two)" },
	{ "mov %r0, 0\nja -3\nexit", 2, 1, 5, "invalid program: ja: target -1 is outside the program (0..2)",
	  "jump to a label instead of counting slots (lddw takes two)" },
	{ "", 1, 1, 1, "no instructions", "a program needs at least one instruction, e.g. 'exit'" },
	{ "# only a comment\n\n", 3, 1, 1, "no instructions",
	  "a program needs at least one instruction, e.g. 'exit'" },
	{ ".foo 1\nexit", 1, 1, 4, "unknown directive '.foo'", "the only directive is .raw 0x<16 hex digits>" },
	{ ".raw 0x12\nexit", 1, 6, 4, "expected 16 hex digits after .raw, found '0x12'",
	  "write the 8 bytes in memory order, like .raw 0x9500000000000000" },
	{ "@ mov\nexit", 1, 1, 1, "expected an instruction or a label, found '@'",
	  "a line holds 'label:', an instruction like 'mov %r0, 1', or both" },
	{ "  mov %r0, 1\n\tle16 %r0, 16\nexit", 2, 7, 7, "'le16' takes 1 operand, found 2",
	  "expected: 'le16 %rD'" },
};

Test(asm, bad_inputs_give_exact_messages)
{
	for (size_t i = 0; i < N(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct sbpf_diags d = { 0 };
		struct sbpf_insn *p = (struct sbpf_insn *)&d; /* must be reset to NULL */
		size_t n = 99;
		int rc = sbpf_assemble(c->text, "t.s", &p, &n, &d);
		cr_expect_eq(rc, -EINVAL, "'%s' assembled", c->text);
		cr_expect_null(p);
		cr_expect_eq(n, 0);
		cr_expect_eq(d.n, 1, "'%s': %zu diagnostics", c->text, d.n);
		if (d.n < 1)
			continue;
		const struct sbpf_diag *g = &d.items[0];
		cr_expect_str_eq(g->message, c->msg, "'%s':\n got  '%s'", c->text, g->message);
		cr_expect(g->line == c->line && g->col == c->col && g->len == c->len,
			  "'%s': at %d:%d len %d, want %d:%d len %d", c->text, g->line, g->col, g->len,
			  c->line, c->col, c->len);
		if (c->hint)
			cr_expect(g->hint && !strcmp(g->hint, c->hint), "'%s':\n hint '%s'", c->text,
				  g->hint ? g->hint : "(none)");
		else
			cr_expect_null(g->hint, "'%s': unexpected hint '%s'", c->text, g->hint);
		cr_expect_str_eq(g->file, "t.s");
		sbpf_diags__free(&d);
	}
}

Test(asm, caret_output)
{
	struct sbpf_diags d = { 0 };
	struct sbpf_insn *p;
	size_t n;
	cr_assert_eq(sbpf_assemble("mov %r0, 1\n\tmvo %r1, 2\nexit\n", "prog.s", &p, &n, &d), -EINVAL);
	char *s = sbpf_diags__format(&d);
	cr_expect_str_eq(s, "prog.s:2:2: error: unknown mnemonic 'mvo'\n"
			    "    2 | \tmvo %r1, 2\n"
			    "      | \t^~~\n"
			    "      = hint: did you mean 'mov'?\n");
	free(s);
	sbpf_diags__free(&d);
}

Test(asm, keeps_going_after_errors)
{
	struct sbpf_diags d = { 0 };
	struct sbpf_insn *p;
	size_t n;
	const char *text = "mvo %r0, 1\nmov %r11, 2\nja nowhere\nldxw %r0, %r1\nexit\n";
	cr_assert_eq(sbpf_assemble(text, "t.s", &p, &n, &d), -EINVAL);
	cr_assert_eq(d.n, 4);
	for (size_t i = 0; i < 4; i++)
		cr_expect_eq(d.items[i].line, (int)i + 1);
	sbpf_diags__free(&d);
	/* A flood of errors stops with a note. */
	char big[4096] = "";
	for (int i = 0; i < 200; i++)
		strcat(big, "xx\n");
	cr_assert_eq(sbpf_assemble(big, "t.s", &p, &n, &d), -EINVAL);
	cr_expect_eq(d.n, 51);
	cr_expect_str_eq(d.items[50].message, "too many errors (50); stopping here");
	sbpf_diags__free(&d);
	cr_expect_eq(sbpf_assemble(NULL, "t.s", &p, &n, &d), -EINVAL);
}

Test(asm, a_dropped_line_keeps_no_label_reference)
{
	/* 64 slots fill the slot array exactly (it grows 8, 16, 32, 64, ...); the bad
	 * jump is dropped, and its reference to L must go with it: resolving it
	 * once wrote slot 64, past the array (ASan reports that). */
	char text[1024] = "L: exit\n";
	for (int i = 0; i < 63; i++)
		strcat(text, "exit\n");
	strcat(text, "jne %r1, 0x100000000, L\n");
	struct sbpf_diags d = { 0 };
	struct sbpf_insn *p = NULL;
	size_t n;
	cr_assert_eq(sbpf_assemble(text, "t.s", &p, &n, &d), -EINVAL);
	cr_assert_eq(d.n, 1);
	cr_expect_eq(d.items[0].line, 65);
	cr_expect_str_eq(d.items[0].message,
			 "immediate 0x100000000 does not fit in 32 bits (0x0..0xffffffff)");
	sbpf_diags__free(&d);
}

/* ----------------------------------------------- bpf_conformance files */

/* The external conformance directory, or NULL (then tests skip). */
static const char *conformance_dir(void)
{
	static const char *const dirs[] = { "../shared/bpf_conformance", "../../shared/bpf_conformance",
					    "/work/shared/bpf_conformance" };
	const char *env = getenv("SBPF_CONFORMANCE_DIR");
	struct stat st;
	if (env && !stat(env, &st))
		return env;
	for (size_t i = 0; i < N(dirs); i++)
		if (!stat(dirs[i], &st) && S_ISDIR(st.st_mode))
			return dirs[i];
	return NULL;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t cap = 0, n = 0;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = cap * 2 + 8192;
			buf = realloc(buf, cap);
			cr_assert_not_null(buf);
		}
		size_t k = fread(buf + n, 1, 4096, f);
		n += k;
		if (k == 0)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* The body of section "-- @name" of a .data file (malloc'ed), or NULL. */
static char *section(const char *data, const char *name)
{
	char hdr[32];
	snprintf(hdr, sizeof(hdr), "-- %s\n", name);
	const char *s = data;
	while (s && strncmp(s, hdr, strlen(hdr))) {
		s = strchr(s, '\n');
		s = s ? s + 1 : NULL;
	}
	if (!s)
		return NULL;
	s += strlen(hdr);
	const char *e = s;
	while (*e && strncmp(e, "-- ", 3)) {
		const char *nl = strchr(e, '\n');
		e = nl ? nl + 1 : e + strlen(e);
	}
	return strndup(s, (size_t)(e - s));
}

/* Parses a "-- raw" body: lines of "0x<64-bit word>" or of hex bytes. */
static size_t parse_raw(const char *raw, uint8_t *out, size_t max)
{
	size_t k = 0;
	for (const char *s = raw; *s && k + 8 <= max;) {
		while (*s == ' ' || *s == '\n' || *s == '\t')
			s++;
		if (!*s)
			break;
		if (s[0] == '0' && s[1] == 'x') {
			unsigned long long v = strtoull(s, (char **)&s, 16);
			for (int i = 0; i < 8; i++)
				out[k++] = (uint8_t)(v >> (8 * i));
		} else {
			unsigned v;
			if (sscanf(s, "%2x", &v) != 1)
				break;
			out[k++] = (uint8_t)v;
			s += 2;
		}
	}
	return k;
}

typedef void (*data_fn)(const char *dir, const char *name, const char *data, int *count);

static int for_each_data(const char *sub, data_fn fn)
{
	const char *root = conformance_dir();
	if (!root)
		return -1;
	char dir[512];
	snprintf(dir, sizeof(dir), "%s/%s", root, sub);
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int count = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l < 6 || strcmp(e->d_name + l - 5, ".data"))
			continue;
		char path[1024];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		char *data = slurp(path);
		cr_assert_not_null(data, "cannot read %s", path);
		fn(dir, e->d_name, data, &count);
		free(data);
	}
	closedir(d);
	return count;
}

static void check_positive(const char *dir, const char *name, const char *data, int *count)
{
	(void)dir;
	char *asm_text = section(data, "asm");
	if (!asm_text)
		return;
	size_t n;
	char *why;
	struct sbpf_insn *p = assemble(asm_text, &n, &why);
	cr_expect_not_null(p, "%s does not assemble:\n%s", name, why);
	free(why);
	if (p) {
		(*count)++;
		round_trips(p, n, SBPF_DISASM_ASM, name);
		round_trips(p, n, SBPF_DISASM_ASM_NOLABELS, name);
		int rc;
		char *k = listing(p, n, SBPF_DISASM_KERNEL, &rc);
		cr_expect_eq(rc, 0, "%s: kernel-style listing failed", name);
		free(k);
		char *raw = section(data, "raw");
		if (raw) {
			uint8_t want[4096];
			size_t nb = parse_raw(raw, want, sizeof(want));
			cr_expect(nb == n * 8 && !memcmp(want, p, nb), "%s: bytes differ from -- raw",
				  name);
			free(raw);
		}
	}
	free(p);
	free(asm_text);
}

Test(conformance, every_asm_section_assembles_and_round_trips)
{
	int count = for_each_data("tests", check_positive);
	if (count < 0)
		cr_skip_test("bpf_conformance not found (set SBPF_CONFORMANCE_DIR)");
	cr_log_info("conformance: %d asm sections assembled and round-tripped", count);
	cr_expect_gt(count, 200);
}

static void check_negative(const char *dir, const char *name, const char *data, int *count)
{
	(void)dir;
	char *asm_text = section(data, "asm");
	char *raw = section(data, "raw");
	if (asm_text) {
		struct sbpf_diags d = { 0 };
		struct sbpf_insn *p = NULL;
		size_t n;
		int rc = sbpf_assemble(asm_text, name, &p, &n, &d);
		if (!strncmp(name, "invalid", 7)) {
			/* Syntax errors: rejected with a located message. */
			cr_expect_eq(rc, -EINVAL, "%s was accepted", name);
			cr_expect(d.n >= 1 && d.items[0].line >= 1 && d.items[0].message[0], "%s", name);
			(*count)++;
		} else {
			/* Run-time failures: the text itself is fine. */
			cr_expect_eq(rc, 0, "%s rejected", name);
		}
		free(p);
		sbpf_diags__free(&d);
	}
	if (raw) {
		uint8_t bytes[4096];
		size_t nb = parse_raw(raw, bytes, sizeof(bytes));
		struct sbpf_insn *p = (struct sbpf_insn *)bytes;
		struct sbpf_validate_error err;
		cr_expect_eq(sbpf_validate(p, nb / 8, &err), -EINVAL, "%s passes validation", name);
		char line[64];
		cr_expect_eq(sbpf_disasm_insn(p, nb / 8, err.index, SBPF_DISASM_ASM, line, sizeof(line)),
			     -EINVAL, "%s: slot %zu printed as '%s'", name, err.index, line);
		(*count)++;
	}
	free(asm_text);
	free(raw);
}

Test(conformance, negative_files_are_rejected)
{
	int count = for_each_data("negative", check_negative);
	if (count < 0)
		cr_skip_test("bpf_conformance not found (set SBPF_CONFORMANCE_DIR)");
	cr_log_info("conformance: %d negative files rejected", count);
	cr_expect_gt(count, 50);
}
