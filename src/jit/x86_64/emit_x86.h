/* emit_x86.h - x86-64 instruction encoders: one tiny emit_*() per machine
 * instruction form, each appending its bytes to a struct jit_buf (which keeps
 * its first error and ignores emits after it). Registers are hardware
 * numbers (X64_RAX..X64_R15); `w` selects 64-bit (1) or 32-bit (0) operand
 * size. Encodings follow the Intel SDM, volume 2.
 */
#ifndef SAFEBPF_EMIT_X86_H
#define SAFEBPF_EMIT_X86_H

#include <stdbool.h>
#include <stdint.h>

#include "jit/jitInt.h"

enum x64_reg {
	X64_RAX, X64_RCX, X64_RDX, X64_RBX, X64_RSP, X64_RBP, X64_RSI, X64_RDI,
	X64_R8, X64_R9, X64_R10, X64_R11, X64_R12, X64_R13, X64_R14, X64_R15,
};

/* Opcode bytes of the two-register ALU forms "op r/m, r". */
enum {
	X64_OP_ADD = 0x01, X64_OP_OR = 0x09, X64_OP_AND = 0x21, X64_OP_SUB = 0x29,
	X64_OP_XOR = 0x31, X64_OP_CMP = 0x39, X64_OP_TEST = 0x85, X64_OP_MOV = 0x89,
};
/* Opcode bytes of the "op r, r/m" forms (register destination, memory source). */
enum { X64_OPR_ADD = 0x03, X64_OPR_SUB = 0x2b, X64_OPR_CMP = 0x3b, X64_OPR_MOV = 0x8b };
/* The /digit of the 0x81/0x83 immediate group. */
enum {
	X64_EXT_ADD = 0, X64_EXT_OR = 1, X64_EXT_AND = 4, X64_EXT_SUB = 5,
	X64_EXT_XOR = 6, X64_EXT_CMP = 7,
};
/* The /digit of the shift group (0xc1, 0xd1, 0xd3). */
enum { X64_SH_ROL = 0, X64_SH_ROR = 1, X64_SH_SHL = 4, X64_SH_SHR = 5, X64_SH_SAR = 7 };
/* The VEX pp field that selects shlx/sarx/shrx. */
enum { X64_SHX_SHL = 1, X64_SHX_SAR = 2, X64_SHX_SHR = 3 };
/* Condition codes (low nibble of jcc). */
enum {
	X64_CC_B = 0x2, X64_CC_AE = 0x3, X64_CC_E = 0x4, X64_CC_NE = 0x5,
	X64_CC_BE = 0x6, X64_CC_A = 0x7, X64_CC_L = 0xc, X64_CC_GE = 0xd,
	X64_CC_LE = 0xe, X64_CC_G = 0xf,
};

/* The condition code that holds when eBPF jump @bpf_op (SBPF_JEQ..SBPF_JSLE,
 * after a cmp, or a test for SBPF_JSET) is taken. */
static inline int x64_cc_of_jump(int bpf_op)
{
	switch (bpf_op) {
	case SBPF_JEQ: return X64_CC_E;
	case SBPF_JNE: case SBPF_JSET: return X64_CC_NE;
	case SBPF_JGT: return X64_CC_A;
	case SBPF_JGE: return X64_CC_AE;
	case SBPF_JLT: return X64_CC_B;
	case SBPF_JLE: return X64_CC_BE;
	case SBPF_JSGT: return X64_CC_G;
	case SBPF_JSGE: return X64_CC_GE;
	case SBPF_JSLT: return X64_CC_L;
	default: return X64_CC_LE; /* SBPF_JSLE */
	}
}

static inline bool x64_is_imm8(int64_t v) { return v >= -128 && v <= 127; }
static inline bool x64_is_simm32(int64_t v) { return v >= INT32_MIN && v <= INT32_MAX; }

/* ---- encoding pieces (not instructions) ---- */

/* REX prefix with W/R/X/B from the operands; emitted only when needed or
 * when @force (byte access to spl/bpl/sil/dil). */
static inline void x64_rex(struct jit_buf *b, int w, int reg, int index, int rm, bool force)
{
	uint8_t rex = (uint8_t)(0x40 | (w ? 8 : 0) | ((reg >> 3) & 1) << 2 |
				((index >> 3) & 1) << 1 | ((rm >> 3) & 1));
	if (rex != 0x40 || force)
		jit_put1(b, rex);
}

static inline void x64_modrm(struct jit_buf *b, int mod, int reg, int rm)
{
	jit_put1(b, (uint8_t)(mod << 6 | (reg & 7) << 3 | (rm & 7)));
}

/* ModRM (+SIB, +displacement) for the memory operand [base + disp]. */
static inline void x64_mem(struct jit_buf *b, int reg, int base, int32_t disp)
{
	int mod = disp == 0 && (base & 7) != X64_RBP ? 0 : x64_is_imm8(disp) ? 1 : 2;
	x64_modrm(b, mod, reg, base);
	if ((base & 7) == X64_RSP)
		jit_put1(b, 0x24); /* SIB: no index, base */
	if (mod == 1)
		jit_put1(b, (uint8_t)disp);
	else if (mod == 2)
		jit_put4(b, (uint32_t)disp);
}

/* True when a byte-register operand needs a REX prefix to mean the low byte
 * (spl, bpl, sil, dil rather than ah, ch, dh, bh). */
static inline bool x64_byte_rex(int reg) { return reg >= X64_RSP && reg <= X64_RDI; }

/* ---- instructions ---- */

/* op dst, src  (add/or/and/sub/xor/cmp/test/mov, register forms) */
static inline void emit_alu_rr(struct jit_buf *b, int w, int op, int dst, int src)
{
	x64_rex(b, w, src, 0, dst, false);
	jit_put1(b, (uint8_t)op);
	x64_modrm(b, 3, src, dst);
}

/* op dst, imm  (0x83 /ext ib when imm fits 8 bits, else 0x81 /ext id) */
static inline void emit_alu_ri(struct jit_buf *b, int w, int ext, int dst, int32_t imm)
{
	x64_rex(b, w, 0, 0, dst, false);
	if (x64_is_imm8(imm)) {
		jit_put1(b, 0x83);
		x64_modrm(b, 3, ext, dst);
		jit_put1(b, (uint8_t)imm);
	} else {
		jit_put1(b, 0x81);
		x64_modrm(b, 3, ext, dst);
		jit_put4(b, (uint32_t)imm);
	}
}

/* op reg, [base + disp]  (add/sub/cmp/mov with a memory source) */
static inline void emit_alu_rm(struct jit_buf *b, int w, int opr, int reg, int base, int32_t disp)
{
	x64_rex(b, w, reg, 0, base, false);
	jit_put1(b, (uint8_t)opr);
	x64_mem(b, reg, base, disp);
}

/* op qword/dword [base + disp], imm */
static inline void emit_alu_mi(struct jit_buf *b, int w, int ext, int base, int32_t disp, int32_t imm)
{
	x64_rex(b, w, 0, 0, base, false);
	jit_put1(b, x64_is_imm8(imm) ? 0x83 : 0x81);
	x64_mem(b, ext, base, disp);
	if (x64_is_imm8(imm))
		jit_put1(b, (uint8_t)imm);
	else
		jit_put4(b, (uint32_t)imm);
}

/* mov dst, src */
static inline void emit_mov_rr(struct jit_buf *b, int w, int dst, int src)
{
	emit_alu_rr(b, w, X64_OP_MOV, dst, src);
}

/* mov dst32, imm32  (zero-extends to 64 bits) */
static inline void emit_mov_ri32(struct jit_buf *b, int dst, uint32_t imm)
{
	x64_rex(b, 0, 0, 0, dst, false);
	jit_put1(b, (uint8_t)(0xb8 + (dst & 7)));
	jit_put4(b, imm);
}

/* mov dst64, simm32  (REX.W C7 /0: sign-extends) */
static inline void emit_mov_ri_sx(struct jit_buf *b, int dst, int32_t imm)
{
	x64_rex(b, 1, 0, 0, dst, false);
	jit_put1(b, 0xc7);
	x64_modrm(b, 3, 0, dst);
	jit_put4(b, (uint32_t)imm);
}

/* movabs dst, imm64 */
static inline void emit_movabs(struct jit_buf *b, int dst, uint64_t imm)
{
	x64_rex(b, 1, 0, 0, dst, false);
	jit_put1(b, (uint8_t)(0xb8 + (dst & 7)));
	jit_put8(b, imm);
}

/* imul dst, src */
static inline void emit_imul_rr(struct jit_buf *b, int w, int dst, int src)
{
	x64_rex(b, w, dst, 0, src, false);
	jit_put1(b, 0x0f);
	jit_put1(b, 0xaf);
	x64_modrm(b, 3, dst, src);
}

/* imul dst, src, imm  (0x6b ib or 0x69 id) */
static inline void emit_imul_rri(struct jit_buf *b, int w, int dst, int src, int32_t imm)
{
	x64_rex(b, w, dst, 0, src, false);
	jit_put1(b, x64_is_imm8(imm) ? 0x6b : 0x69);
	x64_modrm(b, 3, dst, src);
	if (x64_is_imm8(imm))
		jit_put1(b, (uint8_t)imm);
	else
		jit_put4(b, (uint32_t)imm);
}

/* neg dst */
static inline void emit_neg(struct jit_buf *b, int w, int dst)
{
	x64_rex(b, w, 0, 0, dst, false);
	jit_put1(b, 0xf7);
	x64_modrm(b, 3, 3, dst);
}

/* shl/shr/sar/ror dst, imm8  (0xd1 for a count of 1, else 0xc1 ib) */
static inline void emit_shift_ri(struct jit_buf *b, int w, int ext, int dst, uint8_t imm)
{
	x64_rex(b, w, 0, 0, dst, false);
	jit_put1(b, imm == 1 ? 0xd1 : 0xc1);
	x64_modrm(b, 3, ext, dst);
	if (imm != 1)
		jit_put1(b, imm);
}

/* shl/shr/sar dst, cl */
static inline void emit_shift_cl(struct jit_buf *b, int w, int ext, int dst)
{
	x64_rex(b, w, 0, 0, dst, false);
	jit_put1(b, 0xd3);
	x64_modrm(b, 3, ext, dst);
}

/* shlx/sarx/shrx dst, src, cnt  (BMI2, VEX.LZ.pp.0F38 F7 /r) */
static inline void emit_shiftx(struct jit_buf *b, int w, int pp, int dst, int src, int cnt)
{
	jit_put1(b, 0xc4);
	jit_put1(b, (uint8_t)((dst & 8 ? 0 : 0x80) | 0x40 | (src & 8 ? 0 : 0x20) | 0x02));
	jit_put1(b, (uint8_t)((w ? 0x80 : 0) | ((~cnt & 15) << 3) | pp));
	jit_put1(b, 0xf7);
	x64_modrm(b, 3, dst, src);
}

/* div src / idiv src  (rdx:rax / src) */
static inline void emit_div(struct jit_buf *b, int w, bool is_signed, int src)
{
	x64_rex(b, w, 0, 0, src, false);
	jit_put1(b, 0xf7);
	x64_modrm(b, 3, is_signed ? 7 : 6, src);
}

/* cqo (w=1) / cdq (w=0): sign-extend rax into rdx */
static inline void emit_cqo(struct jit_buf *b, int w)
{
	if (w)
		jit_put1(b, 0x48);
	jit_put1(b, 0x99);
}

/* bswap reg */
static inline void emit_bswap(struct jit_buf *b, int w, int reg)
{
	x64_rex(b, w, 0, 0, reg, false);
	jit_put1(b, 0x0f);
	jit_put1(b, (uint8_t)(0xc8 + (reg & 7)));
}

/* rol reg16, 8  (swaps the two low bytes) */
static inline void emit_rol16_8(struct jit_buf *b, int reg)
{
	jit_put1(b, 0x66);
	x64_rex(b, 0, 0, 0, reg, false);
	jit_put1(b, 0xc1);
	x64_modrm(b, 3, X64_SH_ROL, reg);
	jit_put1(b, 8);
}

/* movzx dst32, src16 */
static inline void emit_movzx_rr16(struct jit_buf *b, int dst, int src)
{
	x64_rex(b, 0, dst, 0, src, false);
	jit_put1(b, 0x0f);
	jit_put1(b, 0xb7);
	x64_modrm(b, 3, dst, src);
}

/* movzx dst32, src8 (a REX prefix for sil/dil/bpl/spl, never ah..bh) */
static inline void emit_movzx_rr8(struct jit_buf *b, int dst, int src)
{
	x64_rex(b, 0, dst, 0, src, x64_byte_rex(src));
	jit_put1(b, 0x0f);
	jit_put1(b, 0xb6);
	x64_modrm(b, 3, dst, src);
}

/* movsx dst, src8 */
static inline void emit_movsx_rr8(struct jit_buf *b, int w, int dst, int src)
{
	x64_rex(b, w, dst, 0, src, x64_byte_rex(src));
	jit_put1(b, 0x0f);
	jit_put1(b, 0xbe);
	x64_modrm(b, 3, dst, src);
}

/* movsx dst, src16 */
static inline void emit_movsx_rr16(struct jit_buf *b, int w, int dst, int src)
{
	x64_rex(b, w, dst, 0, src, false);
	jit_put1(b, 0x0f);
	jit_put1(b, 0xbf);
	x64_modrm(b, 3, dst, src);
}

/* movsxd dst64, src32 */
static inline void emit_movsxd_rr(struct jit_buf *b, int dst, int src)
{
	x64_rex(b, 1, dst, 0, src, false);
	jit_put1(b, 0x63);
	x64_modrm(b, 3, dst, src);
}

/* movzx dst32, byte/word [base+disp]; mov dst32/dst64, [base+disp]
 * (zero-extending load of @size bytes) */
static inline void emit_load(struct jit_buf *b, int size, int dst, int base, int32_t disp)
{
	x64_rex(b, size == 8, dst, 0, base, false);
	if (size == 1 || size == 2) {
		jit_put1(b, 0x0f);
		jit_put1(b, size == 1 ? 0xb6 : 0xb7);
	} else {
		jit_put1(b, 0x8b);
	}
	x64_mem(b, dst, base, disp);
}

/* movsx dst64, byte/word [base+disp]; movsxd dst64, dword [base+disp] */
static inline void emit_load_sx(struct jit_buf *b, int size, int dst, int base, int32_t disp)
{
	x64_rex(b, 1, dst, 0, base, false);
	if (size == 4) {
		jit_put1(b, 0x63);
	} else {
		jit_put1(b, 0x0f);
		jit_put1(b, size == 1 ? 0xbe : 0xbf);
	}
	x64_mem(b, dst, base, disp);
}

/* mov byte/word/dword/qword [base+disp], src */
static inline void emit_store(struct jit_buf *b, int size, int base, int32_t disp, int src)
{
	if (size == 2)
		jit_put1(b, 0x66);
	x64_rex(b, size == 8, src, 0, base, size == 1 && x64_byte_rex(src));
	jit_put1(b, size == 1 ? 0x88 : 0x89);
	x64_mem(b, src, base, disp);
}

/* mov byte/word/dword/qword [base+disp], imm  (qword: imm32 sign-extended) */
static inline void emit_store_imm(struct jit_buf *b, int size, int base, int32_t disp, int32_t imm)
{
	if (size == 2)
		jit_put1(b, 0x66);
	x64_rex(b, size == 8, 0, 0, base, false);
	jit_put1(b, size == 1 ? 0xc6 : 0xc7);
	x64_mem(b, 0, base, disp);
	if (size == 1)
		jit_put1(b, (uint8_t)imm);
	else if (size == 2)
		jit_put2(b, (uint16_t)imm);
	else
		jit_put4(b, (uint32_t)imm);
}

/* lea dst, [base+disp] */
static inline void emit_lea(struct jit_buf *b, int dst, int base, int32_t disp)
{
	x64_rex(b, 1, dst, 0, base, false);
	jit_put1(b, 0x8d);
	x64_mem(b, dst, base, disp);
}

/* lock add/or/and/xor [base+disp], src */
static inline void emit_lock_alu_mr(struct jit_buf *b, int w, int op, int base, int32_t disp, int src)
{
	jit_put1(b, 0xf0);
	x64_rex(b, w, src, 0, base, false);
	jit_put1(b, (uint8_t)op);
	x64_mem(b, src, base, disp);
}

/* lock xadd [base+disp], src */
static inline void emit_lock_xadd(struct jit_buf *b, int w, int base, int32_t disp, int src)
{
	jit_put1(b, 0xf0);
	x64_rex(b, w, src, 0, base, false);
	jit_put1(b, 0x0f);
	jit_put1(b, 0xc1);
	x64_mem(b, src, base, disp);
}

/* xchg [base+disp], src  (locked implicitly) */
static inline void emit_xchg_mr(struct jit_buf *b, int w, int base, int32_t disp, int src)
{
	x64_rex(b, w, src, 0, base, false);
	jit_put1(b, 0x87);
	x64_mem(b, src, base, disp);
}

/* lock cmpxchg [base+disp], src  (compares with rax) */
static inline void emit_lock_cmpxchg(struct jit_buf *b, int w, int base, int32_t disp, int src)
{
	jit_put1(b, 0xf0);
	x64_rex(b, w, src, 0, base, false);
	jit_put1(b, 0x0f);
	jit_put1(b, 0xb1);
	x64_mem(b, src, base, disp);
}

/* test dst, imm32 */
static inline void emit_test_ri(struct jit_buf *b, int w, int dst, int32_t imm)
{
	x64_rex(b, w, 0, 0, dst, false);
	jit_put1(b, 0xf7);
	x64_modrm(b, 3, 0, dst);
	jit_put4(b, (uint32_t)imm);
}

/* test dst8, imm8 */
static inline void emit_test_ri8(struct jit_buf *b, int dst, uint8_t imm)
{
	x64_rex(b, 0, 0, 0, dst, x64_byte_rex(dst));
	jit_put1(b, 0xf6);
	x64_modrm(b, 3, 0, dst);
	jit_put1(b, imm);
}

/* rep stosq  (store rax to [rdi], rcx times) */
static inline void emit_rep_stosq(struct jit_buf *b)
{
	jit_put1(b, 0xf3);
	jit_put1(b, 0x48);
	jit_put1(b, 0xab);
}

/* push reg */
static inline void emit_push(struct jit_buf *b, int reg)
{
	x64_rex(b, 0, 0, 0, reg, false);
	jit_put1(b, (uint8_t)(0x50 + (reg & 7)));
}

/* pop reg */
static inline void emit_pop(struct jit_buf *b, int reg)
{
	x64_rex(b, 0, 0, 0, reg, false);
	jit_put1(b, (uint8_t)(0x58 + (reg & 7)));
}

/* ret */
static inline void emit_ret(struct jit_buf *b)
{
	jit_put1(b, 0xc3);
}

/* call rel32 */
static inline void emit_call_rel32(struct jit_buf *b, int32_t rel)
{
	jit_put1(b, 0xe8);
	jit_put4(b, (uint32_t)rel);
}

/* call reg */
static inline void emit_call_r(struct jit_buf *b, int reg)
{
	x64_rex(b, 0, 0, 0, reg, false);
	jit_put1(b, 0xff);
	x64_modrm(b, 3, 2, reg);
}

/* jmp rel8 */
static inline void emit_jmp_rel8(struct jit_buf *b, int8_t rel)
{
	jit_put1(b, 0xeb);
	jit_put1(b, (uint8_t)rel);
}

/* jmp rel32 */
static inline void emit_jmp_rel32(struct jit_buf *b, int32_t rel)
{
	jit_put1(b, 0xe9);
	jit_put4(b, (uint32_t)rel);
}

/* jcc rel8 */
static inline void emit_jcc_rel8(struct jit_buf *b, int cc, int8_t rel)
{
	jit_put1(b, (uint8_t)(0x70 | cc));
	jit_put1(b, (uint8_t)rel);
}

/* jcc rel32 */
static inline void emit_jcc_rel32(struct jit_buf *b, int cc, int32_t rel)
{
	jit_put1(b, 0x0f);
	jit_put1(b, (uint8_t)(0x80 | cc));
	jit_put4(b, (uint32_t)rel);
}

/* ---- forms used by Kops native emits (src/kops/ops/) ---- */

/* ModRM + SIB (+displacement) for [base + index * 2^scale + disp]; @index
 * must not be rsp. */
static inline void x64_mem_sib(struct jit_buf *b, int reg, int base, int index, int scale, int32_t disp)
{
	int mod = disp == 0 && (base & 7) != X64_RBP ? 0 : x64_is_imm8(disp) ? 1 : 2;
	x64_modrm(b, mod, reg, X64_RSP); /* rm = 100: a SIB byte follows */
	jit_put1(b, (uint8_t)(scale << 6 | (index & 7) << 3 | (base & 7)));
	if (mod == 1)
		jit_put1(b, (uint8_t)disp);
	else if (mod == 2)
		jit_put4(b, (uint32_t)disp);
}

/* lea dst, [base + index*2^scale + disp]  (w = 0: 32-bit result) */
static inline void emit_lea_sib(struct jit_buf *b, int w, int dst, int base, int index, int scale, int32_t disp)
{
	x64_rex(b, w, dst, index, base, false);
	jit_put1(b, 0x8d);
	x64_mem_sib(b, dst, base, index, scale, disp);
}

/* cmovcc dst, src */
static inline void emit_cmov(struct jit_buf *b, int w, int cc, int dst, int src)
{
	x64_rex(b, w, dst, 0, src, false);
	jit_put1(b, 0x0f);
	jit_put1(b, (uint8_t)(0x40 | cc));
	x64_modrm(b, 3, dst, src);
}

/* bextr dst, src, ctl  (BMI1, VEX.LZ.0F38 F7 /r: ctl bits 0-7 start, 8-15 length) */
static inline void emit_bextr(struct jit_buf *b, int w, int dst, int src, int ctl)
{
	jit_put1(b, 0xc4);
	jit_put1(b, (uint8_t)((dst & 8 ? 0 : 0x80) | 0x40 | (src & 8 ? 0 : 0x20) | 0x02));
	jit_put1(b, (uint8_t)((w ? 0x80 : 0) | ((~ctl & 15) << 3)));
	jit_put1(b, 0xf7);
	x64_modrm(b, 3, dst, src);
}

/* movbe dst16/32/64, [base+disp]  (byte-swapping load; the 16-bit form
 * writes only the low 16 bits of dst) */
static inline void emit_movbe_load(struct jit_buf *b, int size, int dst, int base, int32_t disp)
{
	if (size == 2)
		jit_put1(b, 0x66);
	x64_rex(b, size == 8, dst, 0, base, false);
	jit_put1(b, 0x0f);
	jit_put1(b, 0x38);
	jit_put1(b, 0xf0);
	x64_mem(b, dst, base, disp);
}

/* popcnt dst, src  (F3 [REX.W] 0F B8 /r; the 32-bit form zero-extends) */
static inline void emit_popcnt(struct jit_buf *b, int w, int dst, int src)
{
	jit_put1(b, 0xf3);
	x64_rex(b, w, dst, 0, src, false);
	jit_put1(b, 0x0f);
	jit_put1(b, 0xb8);
	x64_modrm(b, 3, dst, src);
}

/* prefetcht0 [base+disp] */
static inline void emit_prefetcht0(struct jit_buf *b, int base, int32_t disp)
{
	x64_rex(b, 0, 0, 0, base, false);
	jit_put1(b, 0x0f);
	jit_put1(b, 0x18);
	x64_mem(b, 1, base, disp);
}

/* movdqu xmm, [base+disp] */
static inline void emit_movdqu_load(struct jit_buf *b, int xmm, int base, int32_t disp)
{
	jit_put1(b, 0xf3);
	x64_rex(b, 0, xmm, 0, base, false);
	jit_put1(b, 0x0f);
	jit_put1(b, 0x6f);
	x64_mem(b, xmm, base, disp);
}

/* movdqu [base+disp], xmm */
static inline void emit_movdqu_store(struct jit_buf *b, int base, int32_t disp, int xmm)
{
	jit_put1(b, 0xf3);
	x64_rex(b, 0, xmm, 0, base, false);
	jit_put1(b, 0x0f);
	jit_put1(b, 0x7f);
	x64_mem(b, xmm, base, disp);
}

#endif /* SAFEBPF_EMIT_X86_H */
