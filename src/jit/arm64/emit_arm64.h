/* emit_arm64.h - AArch64 instruction encoders: one tiny emit_a64_*() per machine
 * instruction form, each appending one 32-bit little-endian word to a
 * struct jit_buf (which keeps its first error and ignores emits after it).
 * Registers are hardware numbers (A64_X0..A64_X30; 31 is xzr or sp
 * depending on the form, as in the architecture); `w` selects 64-bit (1,
 * X registers) or 32-bit (0, W registers, whose writes zero bits 63:32).
 * Encodings follow the Arm Architecture Reference Manual (A64 base ISA and
 * the LSE atomics).
 */
#ifndef SAFEBPF_EMIT_ARM64_H
#define SAFEBPF_EMIT_ARM64_H

#include <stdbool.h>
#include <stdint.h>

#include "jit/jitInt.h"

enum {
	A64_X0 = 0, A64_X1, A64_X2, A64_X3, A64_X4, A64_X5, A64_X6, A64_X7,
	A64_X8, A64_X9, A64_X10, A64_X11, A64_X12, A64_X13, A64_X14, A64_X15,
	A64_X16, A64_X17, A64_X18, A64_X19, A64_X20, A64_X21, A64_X22, A64_X23,
	A64_X24, A64_X25, A64_X26, A64_X27, A64_X28, A64_FP_REG = 29, A64_LR = 30,
	A64_ZR = 31, A64_SP = 31,
};

/* Condition codes (b.cond, csel). */
enum {
	A64_EQ = 0, A64_NE = 1, A64_HS = 2, A64_LO = 3, A64_MI = 4, A64_PL = 5,
	A64_HI = 8, A64_LS = 9, A64_GE = 10, A64_LT = 11, A64_GT = 12, A64_LE = 13,
	A64_AL = 14,
};

/* The condition that holds when eBPF jump @bpf_op (SBPF_JEQ..SBPF_JSLE,
 * after a cmp, or a tst for SBPF_JSET) is taken. */
static inline int a64_cond_of_jump(int bpf_op)
{
	switch (bpf_op) {
	case SBPF_JEQ: return A64_EQ;
	case SBPF_JNE: case SBPF_JSET: return A64_NE;
	case SBPF_JGT: return A64_HI;
	case SBPF_JGE: return A64_HS;
	case SBPF_JLT: return A64_LO;
	case SBPF_JLE: return A64_LS;
	case SBPF_JSGT: return A64_GT;
	case SBPF_JSGE: return A64_GE;
	case SBPF_JSLT: return A64_LT;
	default: return A64_LE; /* SBPF_JSLE */
	}
}

static inline void a64_put(struct jit_buf *b, uint32_t insn) { jit_put4(b, insn); }
static inline uint32_t a64_sf(int w) { return w ? 1u << 31 : 0; }

/* ---- data processing, register ---- */

/* Opcodes of the shifted-register forms (add/sub, logical). */
enum {
	A64_ADD = 0x0b000000, A64_ADDS = 0x2b000000, A64_SUB = 0x4b000000, A64_SUBS = 0x6b000000,
	A64_AND = 0x0a000000, A64_BIC = 0x0a200000, A64_ORR = 0x2a000000, A64_ORN = 0x2a200000,
	A64_EOR = 0x4a000000, A64_ANDS = 0x6a000000,
};
enum { A64_LSL = 0, A64_LSR = 1, A64_ASR = 2 };

/* op rd, rn, rm{, shift #amount}  (add/adds/sub/subs/and/bic/orr/orn/eor/ands) */
static inline void emit_a64_alu_rrr(struct jit_buf *b, int w, uint32_t op, int rd, int rn, int rm, int shift,
			       int amount)
{
	a64_put(b, op | a64_sf(w) | (uint32_t)shift << 22 | (uint32_t)rm << 16 | (uint32_t)amount << 10 |
		   (uint32_t)rn << 5 | (uint32_t)rd);
}

/* mov rd, rm  (orr rd, xzr, rm) */
static inline void emit_a64_mov(struct jit_buf *b, int w, int rd, int rm)
{
	emit_a64_alu_rrr(b, w, A64_ORR, rd, A64_ZR, rm, 0, 0);
}

/* cmp rn, rm  (subs xzr, rn, rm) */
static inline void emit_a64_cmp(struct jit_buf *b, int w, int rn, int rm)
{
	emit_a64_alu_rrr(b, w, A64_SUBS, A64_ZR, rn, rm, 0, 0);
}

/* tst rn, rm  (ands xzr, rn, rm) */
static inline void emit_a64_tst(struct jit_buf *b, int w, int rn, int rm)
{
	emit_a64_alu_rrr(b, w, A64_ANDS, A64_ZR, rn, rm, 0, 0);
}

/* neg rd, rm  (sub rd, xzr, rm) */
static inline void emit_a64_neg(struct jit_buf *b, int w, int rd, int rm)
{
	emit_a64_alu_rrr(b, w, A64_SUB, rd, A64_ZR, rm, 0, 0);
}

/* Opcodes of the two-source forms. */
enum {
	A64_UDIV = 0x1ac00800, A64_SDIV = 0x1ac00c00, A64_LSLV = 0x1ac02000, A64_LSRV = 0x1ac02400,
	A64_ASRV = 0x1ac02800, A64_RORV = 0x1ac02c00,
};

/* udiv/sdiv/lslv/lsrv/asrv/rorv rd, rn, rm */
static inline void emit_a64_dp2(struct jit_buf *b, int w, uint32_t op, int rd, int rn, int rm)
{
	a64_put(b, op | a64_sf(w) | (uint32_t)rm << 16 | (uint32_t)rn << 5 | (uint32_t)rd);
}

/* madd rd, rn, rm, ra  (rd = ra + rn * rm) */
static inline void emit_a64_madd(struct jit_buf *b, int w, int rd, int rn, int rm, int ra)
{
	a64_put(b, 0x1b000000 | a64_sf(w) | (uint32_t)rm << 16 | (uint32_t)ra << 10 | (uint32_t)rn << 5 |
		   (uint32_t)rd);
}

/* msub rd, rn, rm, ra  (rd = ra - rn * rm) */
static inline void emit_a64_msub(struct jit_buf *b, int w, int rd, int rn, int rm, int ra)
{
	a64_put(b, 0x1b008000 | a64_sf(w) | (uint32_t)rm << 16 | (uint32_t)ra << 10 | (uint32_t)rn << 5 |
		   (uint32_t)rd);
}

/* mul rd, rn, rm  (madd rd, rn, rm, xzr) */
static inline void emit_a64_mul(struct jit_buf *b, int w, int rd, int rn, int rm)
{
	emit_a64_madd(b, w, rd, rn, rm, A64_ZR);
}

/* Opcodes of the one-source forms (the 64-bit rev is a separate opcode). */
enum { A64_RBIT = 0x5ac00000, A64_REV16 = 0x5ac00400, A64_REV32 = 0x5ac00800, A64_CLZ = 0x5ac01000 };

/* rbit/rev16/clz rd, rn; rev32 (w = 1: the bytes of each word; w = 0: rev wd) */
static inline void emit_a64_dp1(struct jit_buf *b, int w, uint32_t op, int rd, int rn)
{
	a64_put(b, op | a64_sf(w) | (uint32_t)rn << 5 | (uint32_t)rd);
}

/* rev rd, rn  (all bytes: rev wd, wn or rev xd, xn) */
static inline void emit_a64_rev(struct jit_buf *b, int w, int rd, int rn)
{
	a64_put(b, (w ? 0xdac00c00u : 0x5ac00800u) | (uint32_t)rn << 5 | (uint32_t)rd);
}

/* csel rd, rn, rm, cond  (rd = cond ? rn : rm) */
static inline void emit_a64_csel(struct jit_buf *b, int w, int rd, int rn, int rm, int cond)
{
	a64_put(b, 0x1a800000 | a64_sf(w) | (uint32_t)rm << 16 | (uint32_t)cond << 12 | (uint32_t)rn << 5 |
		   (uint32_t)rd);
}

/* ---- bitfield ---- */

/* sbfm/ubfm rd, rn, #immr, #imms */
static inline void emit_a64_bfm(struct jit_buf *b, int w, bool is_signed, int rd, int rn, int immr, int imms)
{
	a64_put(b, (is_signed ? 0x13000000u : 0x53000000u) | a64_sf(w) | (w ? 1u << 22 : 0) |
		   (uint32_t)immr << 16 | (uint32_t)imms << 10 | (uint32_t)rn << 5 | (uint32_t)rd);
}

/* lsl rd, rn, #n  (ubfm rd, rn, #(-n mod size), #(size-1-n)) */
static inline void emit_a64_lsl_imm(struct jit_buf *b, int w, int rd, int rn, int n)
{
	int size = w ? 64 : 32;
	emit_a64_bfm(b, w, false, rd, rn, (size - n) % size, size - 1 - n);
}

/* lsr rd, rn, #n  (ubfm rd, rn, #n, #size-1) */
static inline void emit_a64_lsr_imm(struct jit_buf *b, int w, int rd, int rn, int n)
{
	emit_a64_bfm(b, w, false, rd, rn, n, w ? 63 : 31);
}

/* asr rd, rn, #n  (sbfm rd, rn, #n, #size-1) */
static inline void emit_a64_asr_imm(struct jit_buf *b, int w, int rd, int rn, int n)
{
	emit_a64_bfm(b, w, true, rd, rn, n, w ? 63 : 31);
}

/* sxtb/sxth/sxtw rd, rn  (sbfm rd, rn, #0, #bits-1) */
static inline void emit_a64_sxt(struct jit_buf *b, int w, int rd, int rn, int bits)
{
	emit_a64_bfm(b, w, true, rd, rn, 0, bits - 1);
}

/* uxth wd, wn / uxtb wd, wn  (ubfm wd, wn, #0, #bits-1) */
static inline void emit_a64_uxt(struct jit_buf *b, int rd, int rn, int bits)
{
	emit_a64_bfm(b, 0, false, rd, rn, 0, bits - 1);
}

/* ubfx rd, rn, #lsb, #width  (ubfm rd, rn, #lsb, #lsb+width-1) */
static inline void emit_a64_ubfx(struct jit_buf *b, int w, int rd, int rn, int lsb, int width)
{
	emit_a64_bfm(b, w, false, rd, rn, lsb, lsb + width - 1);
}

/* extr rd, rn, rm, #lsb  (ror rd, rn, #lsb when rn == rm) */
static inline void emit_a64_extr(struct jit_buf *b, int w, int rd, int rn, int rm, int lsb)
{
	a64_put(b, 0x13800000 | a64_sf(w) | (w ? 1u << 22 : 0) | (uint32_t)rm << 16 | (uint32_t)lsb << 10 |
		   (uint32_t)rn << 5 | (uint32_t)rd);
}

/* ---- immediates ---- */

/* Opcodes of the add/sub immediate forms (rn 31 = sp; rd 31 = sp, xzr for adds/subs). */
enum { A64_ADDI = 0x11000000, A64_ADDSI = 0x31000000, A64_SUBI = 0x51000000, A64_SUBSI = 0x71000000 };

/* add/adds/sub/subs rd, rn, #imm12{, lsl #12} */
static inline void emit_a64_addsub_imm(struct jit_buf *b, int w, uint32_t op, int rd, int rn, uint32_t imm12,
				  bool lsl12)
{
	a64_put(b, op | a64_sf(w) | (lsl12 ? 1u << 22 : 0) | (imm12 & 0xfff) << 10 | (uint32_t)rn << 5 |
		   (uint32_t)rd);
}

/* Opcodes of the logical immediate forms. */
enum { A64_ANDI = 0x12000000, A64_ORRI = 0x32000000, A64_EORI = 0x52000000, A64_ANDSI = 0x72000000 };

/* The N:immr:imms field (13 bits, N at bit 12) of a logical immediate
 * equal to @v (its low 32 bits for @w == 0), or -1 when @v is not a
 * rotated run of ones repeated in 2, 4, ..., 64-bit elements (0 and all
 * ones never are). */
static inline int a64_logic_imm(uint64_t v, int w)
{
	if (!w)
		v = (uint32_t)v | (uint64_t)(uint32_t)v << 32;
	if (v == 0 || v == ~0ull)
		return -1;
	int size = 64;
	while (size > 2) {
		int half = size / 2;
		uint64_t m = (1ull << half) - 1;
		if ((v & m) != ((v >> half) & m))
			break;
		size = half;
	}
	uint64_t mask = size == 64 ? ~0ull : (1ull << size) - 1;
	uint64_t e = v & mask;
	int ones = __builtin_popcountll(e);
	uint64_t run = (1ull << ones) - 1;
	for (int r = 0; r < size; r++) {
		uint64_t rot = r ? ((e >> r) | (e << (size - r))) & mask : e;
		if (rot == run) {
			int immr = (size - r) % size;
			int imms = (int)((~(uint32_t)(size - 1) << 1) & 0x3f) | (ones - 1);
			int n = size == 64;
			return n << 12 | immr << 6 | imms;
		}
	}
	return -1;
}

/* and/orr/eor/ands rd, rn, #imm  (@field from a64_logic_imm; rd 31 = sp except ands) */
static inline void emit_a64_logic_imm_op(struct jit_buf *b, int w, uint32_t op, int rd, int rn, int field)
{
	a64_put(b, op | a64_sf(w) | (uint32_t)field << 10 | (uint32_t)rn << 5 | (uint32_t)rd);
}

/* Opcodes of the move-wide forms. */
enum { A64_MOVN = 0x12800000, A64_MOVZ = 0x52800000, A64_MOVK = 0x72800000 };

/* movz/movn/movk rd, #imm16, lsl #16*hw */
static inline void emit_a64_movw(struct jit_buf *b, int w, uint32_t op, int rd, uint16_t imm16, int hw)
{
	a64_put(b, op | a64_sf(w) | (uint32_t)hw << 21 | (uint32_t)imm16 << 5 | (uint32_t)rd);
}

/* ---- loads and stores ---- */

/* Size index of an access: 0 byte, 1 half, 2 word, 3 double. */
static inline int a64_size_log2(int size) { return size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : 3; }

/* Load/store kinds (the opc field). */
enum { A64_STR = 0, A64_LDR = 1, A64_LDRS = 2 /* sign-extending to 64 bits */ };

/* ldr/ldrs/str rt, [rn, #uimm]  (unsigned offset, a multiple of @size below 4096*@size) */
static inline void emit_a64_ldst_uimm(struct jit_buf *b, int size, int kind, int rt, int rn, uint32_t off)
{
	int sz = a64_size_log2(size);
	a64_put(b, 0x39000000 | (uint32_t)sz << 30 | (uint32_t)kind << 22 | (off >> sz) << 10 | (uint32_t)rn << 5 |
		   (uint32_t)rt);
}

/* ldur/ldurs/stur rt, [rn, #simm9] */
static inline void emit_a64_ldst_simm9(struct jit_buf *b, int size, int kind, int rt, int rn, int32_t off)
{
	a64_put(b, 0x38000000 | (uint32_t)a64_size_log2(size) << 30 | (uint32_t)kind << 22 |
		   ((uint32_t)off & 0x1ff) << 12 | (uint32_t)rn << 5 | (uint32_t)rt);
}

/* ldr/ldrs/str rt, [rn, rm] */
static inline void emit_a64_ldst_reg(struct jit_buf *b, int size, int kind, int rt, int rn, int rm)
{
	a64_put(b, 0x38206800 | (uint32_t)a64_size_log2(size) << 30 | (uint32_t)kind << 22 |
		   (uint32_t)rm << 16 | (uint32_t)rn << 5 | (uint32_t)rt);
}

/* Pair addressing modes. */
enum { A64_PAIR_POST = 1, A64_PAIR_OFF = 2, A64_PAIR_PRE = 3 };

/* stp/ldp xt, xt2, [rn, #off] (mode A64_PAIR_*; @off a multiple of 8 in -512..504) */
static inline void emit_a64_pair(struct jit_buf *b, bool load, int mode, int rt, int rt2, int rn, int32_t off)
{
	a64_put(b, 0xa8000000 | (uint32_t)mode << 23 | (load ? 1u << 22 : 0) | ((uint32_t)(off / 8) & 0x7f) << 15 |
		   (uint32_t)rt2 << 10 | (uint32_t)rn << 5 | (uint32_t)rt);
}

/* str xt, [sp, #-16]!  /  ldr xt, [sp], #16  (one register in a 16-byte slot) */
static inline void emit_a64_push1(struct jit_buf *b, int rt)
{
	a64_put(b, 0xf81f0c00 | (uint32_t)A64_SP << 5 | (uint32_t)rt);
}
static inline void emit_a64_pop1(struct jit_buf *b, int rt)
{
	a64_put(b, 0xf8410400 | (uint32_t)A64_SP << 5 | (uint32_t)rt);
}

/* prfm pldl1keep, [rn, #uimm]  (a multiple of 8 below 32768) */
static inline void emit_a64_prfm(struct jit_buf *b, int rn, uint32_t off)
{
	a64_put(b, 0xf9800000 | (off >> 3) << 10 | (uint32_t)rn << 5);
}

/* prfum pldl1keep, [rn, #simm9] */
static inline void emit_a64_prfum(struct jit_buf *b, int rn, int32_t off)
{
	a64_put(b, 0xf8800000 | ((uint32_t)off & 0x1ff) << 12 | (uint32_t)rn << 5);
}

/* ---- atomics ---- */

/* ldaxr rt, [rn] */
static inline void emit_a64_ldaxr(struct jit_buf *b, int w, int rt, int rn)
{
	a64_put(b, (w ? 0xc85ffc00u : 0x885ffc00u) | (uint32_t)rn << 5 | (uint32_t)rt);
}

/* stlxr ws, rt, [rn] */
static inline void emit_a64_stlxr(struct jit_buf *b, int w, int rs, int rt, int rn)
{
	a64_put(b, (w ? 0xc800fc00u : 0x8800fc00u) | (uint32_t)rs << 16 | (uint32_t)rn << 5 | (uint32_t)rt);
}

/* LSE read-modify-write operations (the o3:opc field). */
enum { A64_LDADD = 0x0000, A64_LDCLR = 0x1000, A64_LDEOR = 0x2000, A64_LDSET = 0x3000, A64_SWP = 0x8000 };

/* ldaddal/ldclral/ldeoral/ldsetal/swpal rs, rt, [rn]  (rt = old value; rs the operand) */
static inline void emit_a64_lse(struct jit_buf *b, int w, uint32_t op, int rs, int rt, int rn)
{
	a64_put(b, (w ? 0xf8e00000u : 0xb8e00000u) | op | (uint32_t)rs << 16 | (uint32_t)rn << 5 | (uint32_t)rt);
}

/* casal rs, rt, [rn]  (if [rn] == rs then [rn] = rt; rs = old value) */
static inline void emit_a64_casal(struct jit_buf *b, int w, int rs, int rt, int rn)
{
	a64_put(b, (w ? 0xc8e0fc00u : 0x88e0fc00u) | (uint32_t)rs << 16 | (uint32_t)rn << 5 | (uint32_t)rt);
}

/* dmb ish */
static inline void emit_a64_dmb_ish(struct jit_buf *b) { a64_put(b, 0xd5033bbf); }

/* clrex */
static inline void emit_a64_clrex(struct jit_buf *b) { a64_put(b, 0xd503305f); }

/* ---- branches ---- */

static inline bool a64_fits_simm(long v, int bits)
{
	return v >= -(1l << (bits - 1)) && v < (1l << (bits - 1));
}

/* b.cond @rel (bytes from this instruction) */
static inline void emit_a64_bcond(struct jit_buf *b, int cond, long rel)
{
	a64_put(b, 0x54000000 | ((uint32_t)(rel / 4) & 0x7ffff) << 5 | (uint32_t)cond);
}

/* b @rel / bl @rel */
static inline void emit_a64_b(struct jit_buf *b, long rel)
{
	a64_put(b, 0x14000000 | ((uint32_t)(rel / 4) & 0x3ffffff));
}
static inline void emit_a64_bl(struct jit_buf *b, long rel)
{
	a64_put(b, 0x94000000 | ((uint32_t)(rel / 4) & 0x3ffffff));
}

/* cbz/cbnz rt, @rel */
static inline void emit_a64_cbz(struct jit_buf *b, int w, bool nonzero, int rt, long rel)
{
	a64_put(b, (nonzero ? 0x35000000u : 0x34000000u) | a64_sf(w) | ((uint32_t)(rel / 4) & 0x7ffff) << 5 |
		   (uint32_t)rt);
}

/* blr rn / ret */
static inline void emit_a64_blr(struct jit_buf *b, int rn) { a64_put(b, 0xd63f0000 | (uint32_t)rn << 5); }
static inline void emit_a64_ret(struct jit_buf *b) { a64_put(b, 0xd65f03c0); }

/* Rewrites the imm19 of the b.cond / cbz at @at to reach the current end
 * of the buffer (a forward branch inside one instruction's code). */
static inline void a64_patch_imm19(struct jit_buf *b, size_t at)
{
	if (b->err)
		return;
	uint32_t insn;
	memcpy(&insn, b->p + at, 4);
	long rel = ((long)b->len - (long)at) / 4;
	insn = (insn & ~(0x7ffffu << 5)) | ((uint32_t)rel & 0x7ffff) << 5;
	memcpy(b->p + at, &insn, 4);
}

/* Rewrites the imm26 of the b at @at to reach the current end of the buffer. */
static inline void a64_patch_imm26(struct jit_buf *b, size_t at)
{
	if (b->err)
		return;
	uint32_t insn;
	memcpy(&insn, b->p + at, 4);
	long rel = ((long)b->len - (long)at) / 4;
	insn = (insn & ~0x3ffffffu) | ((uint32_t)rel & 0x3ffffff);
	memcpy(b->p + at, &insn, 4);
}

#endif /* SAFEBPF_EMIT_ARM64_H */
