/* prove_emits.h - hand-written x86-64 emits for every Kops operation, for
 * the prover's own tests (tests/unit/test_prove.c): correct ones, which
 * `prove` must prove for every register assignment, and deliberately wrong
 * ones, each breaking one soundness trap of docs/kops.md, which it must
 * refute with a counterexample. They use the JIT's encoders
 * (src/jit/x86_64/emit_x86.h) and the JIT's register map.
 */
#ifndef SAFEBPF_TEST_PROVE_EMITS_H
#define SAFEBPF_TEST_PROVE_EMITS_H

#include <errno.h>
#include <string.h>

#include "jit/jitInt.h"
#include "jit/x86_64/emit_x86.h"
#include "kops/ops/ops.h"
#include "prove/proveInt.h"

/* Feature bits of these emits. */
enum { TE_BMI1 = 1, TE_MOVBE = 2, TE_POPCNT = 4 };

/* Which deliberate mistake to make (0 = none). */
enum {
	WRONG_NONE,
	WRONG_SELECT_DST_FIRST,     /* select: writes dst before comparing */
	WRONG_SELECT_CMOV32,        /* select mov32: cmov r32 clears dst's upper half when not moving */
	WRONG_SELECT_MOV32_WIDE,    /* select mov32: 64-bit cmov keeps c's upper half */
	WRONG_ROTATE_TEMP,          /* rotate by imm through an undeclared temporary (r0) */
	WRONG_ROTATE_RCX,           /* rotate by register: does not restore rcx */
	WRONG_EXTRACT_MASK,         /* extract: mask one bit too wide */
	WRONG_BSWAP16_NOZX,         /* bswap_load 16: movbe r16 without zero-extension */
	WRONG_COPY_OVERREAD,        /* bulk_copy: reads one byte past the source */
	WRONG_LEA_SCALE,            /* lea: scale one step too big */
	WRONG_FLAGS_LEAK,           /* select: reads flags it did not set */
	WRONG_ONLY_R7,              /* select: inverted condition, only when dst is r7 */
	WRONG_READS_UNUSED,         /* rotate by imm: code depends on the unused field b */
};
static int te_wrong;

static inline int TR(int r) { return x64_bpf_reg(r); }

/* rex + opcode bytes + modrm/sib/disp for "op reg, [base + index*scale + disp]" */
static void te_mem_sib(struct jit_buf *b, int w, int reg, int base, int index, int scale_log, int32_t disp,
		       const uint8_t *op, int nop, uint8_t prefix)
{
	if (prefix)
		jit_put1(b, prefix);
	uint8_t rex = (uint8_t)(0x40 | (w ? 8 : 0) | ((reg >> 3) & 1) << 2 | ((index >> 3) & 1) << 1 | ((base >> 3) & 1));
	if (rex != 0x40)
		jit_put1(b, rex);
	for (int i = 0; i < nop; i++)
		jit_put1(b, op[i]);
	int mod = disp == 0 && (base & 7) != X64_RBP ? 0 : x64_is_imm8(disp) ? 1 : 2;
	jit_put1(b, (uint8_t)(mod << 6 | (reg & 7) << 3 | 4));
	jit_put1(b, (uint8_t)(scale_log << 6 | (index & 7) << 3 | (base & 7)));
	if (mod == 1)
		jit_put1(b, (uint8_t)disp);
	else if (mod == 2)
		jit_put4(b, (uint32_t)disp);
}

/* rex + opcode + modrm for "op reg, [base + disp]" with an optional legacy prefix */
static void te_mem(struct jit_buf *b, int w, int reg, int base, int32_t disp, const uint8_t *op, int nop,
		   uint8_t prefix)
{
	if (prefix)
		jit_put1(b, prefix);
	x64_rex(b, w, reg, 0, base, false);
	for (int i = 0; i < nop; i++)
		jit_put1(b, op[i]);
	x64_mem(b, reg, base, disp);
}

static void te_rotate(struct jit_buf *b, const struct sbpf_kops_payload *p)
{
	int w = !(p->variant & KOPS_ROT_32), ext = p->variant & KOPS_ROT_RIGHT ? X64_SH_ROR : X64_SH_ROL;
	int d = TR(p->dst);
	if (!(p->variant & KOPS_ROT_REG)) {
		if (te_wrong == WRONG_READS_UNUSED && p->b == 5)
			emit_mov_rr(b, 1, d, d);                               /* mov dst, dst (harmless) */
		if (te_wrong == WRONG_ROTATE_TEMP) {
			int width = w ? 64 : 32, k = ext == X64_SH_ROL ? p->imm : width - p->imm;
			emit_mov_rr(b, w, X64_RAX, d);                         /* mov rax, dst */
			emit_shift_ri(b, w, X64_SH_SHL, d, (uint8_t)k);        /* shl dst, k */
			emit_shift_ri(b, w, X64_SH_SHR, X64_RAX, (uint8_t)(width - k)); /* shr rax, w-k */
			emit_alu_rr(b, w, X64_OP_OR, d, X64_RAX);              /* or dst, rax */
			return;
		}
		emit_shift_ri(b, w, ext, d, (uint8_t)p->imm);                  /* rol/ror dst, imm */
		return;
	}
	int s = TR(p->a);
	if (s == X64_RCX) {
		emit_shift_cl(b, w, ext, d);                                   /* rol/ror dst, cl */
		return;
	}
	emit_mov_rr(b, 1, X64_R11, X64_RCX);                                   /* mov r11, rcx */
	emit_mov_rr(b, 1, X64_RCX, s);                                         /* mov rcx, amount */
	emit_shift_cl(b, w, ext, d == X64_RCX ? X64_R11 : d);                  /* rol/ror dst, cl */
	if (te_wrong != WRONG_ROTATE_RCX || d == X64_RCX)
		emit_mov_rr(b, 1, X64_RCX, X64_R11);                           /* mov rcx, r11 */
}

static int te_cc(int cond)
{
	switch (cond << 4) {
	case SBPF_JEQ: return X64_CC_E;
	case SBPF_JNE: case SBPF_JSET: return X64_CC_NE;
	case SBPF_JGT: return X64_CC_A;
	case SBPF_JGE: return X64_CC_AE;
	case SBPF_JLT: return X64_CC_B;
	case SBPF_JLE: return X64_CC_BE;
	case SBPF_JSGT: return X64_CC_G;
	case SBPF_JSGE: return X64_CC_GE;
	case SBPF_JSLT: return X64_CC_L;
	default: return X64_CC_LE;
	}
}

/* cmovcc dst, src */
static void te_cmov(struct jit_buf *b, int w, int cc, int dst, int src)
{
	x64_rex(b, w, dst, 0, src, false);
	jit_put1(b, 0x0f);
	jit_put1(b, (uint8_t)(0x40 | cc));
	x64_modrm(b, 3, dst, src);
}

static void te_select(struct jit_buf *b, const struct sbpf_kops_payload *p)
{
	int cond = p->variant & KOPS_SEL_COND_MASK, w = !(p->variant & KOPS_SEL_CMP32);
	int mov32 = p->variant & KOPS_SEL_MOV32;
	int d = TR(p->dst), a = TR(p->a), c = TR(p->c);
	int cc = te_cc(cond);
	if (te_wrong == WRONG_ONLY_R7 && p->dst == 7)
		cc ^= 1;
	if (te_wrong == WRONG_SELECT_DST_FIRST) {
		/* keep dst in r11, move c in, compare, move the old value back */
		emit_mov_rr(b, 1, X64_R11, d);                                 /* mov r11, dst */
		emit_mov_rr(b, !mov32, d, c);                                  /* mov dst, c */
		cc ^= 1;                                                       /* restore when not taken */
		c = X64_R11;
		mov32 = 0;
	}
	if (te_wrong != WRONG_FLAGS_LEAK) {
		if (p->variant & KOPS_SEL_RHS_REG)
			emit_alu_rr(b, w, (cond << 4) == SBPF_JSET ? X64_OP_TEST : X64_OP_CMP, a, TR(p->b)); /* cmp/test a, b */
		else if ((cond << 4) == SBPF_JSET)
			emit_test_ri(b, w, a, p->imm);                         /* test a, imm */
		else
			emit_alu_ri(b, w, X64_EXT_CMP, a, p->imm);             /* cmp a, imm */
	}
	if (mov32 && te_wrong == WRONG_SELECT_CMOV32) {
		te_cmov(b, 0, cc, d, c);                                       /* cmovcc dst32, c32 */
	} else if (mov32 && te_wrong != WRONG_SELECT_MOV32_WIDE) {
		emit_mov_rr(b, 0, X64_R11, c);                                 /* mov r11d, c32 */
		te_cmov(b, 1, cc, d, X64_R11);                                 /* cmovcc dst, r11 */
	} else {
		te_cmov(b, 1, cc, d, c);                                       /* cmovcc dst, c */
	}
}

static void te_extract(struct jit_buf *b, const struct sbpf_kops_payload *p, unsigned int fs)
{
	int w = !(p->variant & KOPS_EXT_32), shift = p->imm & 0xff, len = (p->imm >> 8) & 0xff;
	int d = TR(p->dst), a = TR(p->a);
	if (te_wrong == WRONG_EXTRACT_MASK)
		len++;
	if (fs & TE_BMI1) {
		/* bextr dst, a, r11 : VEX.LZ.0F38.W? F7 /r, vvvv = control */
		emit_mov_ri32(b, X64_R11, (uint32_t)(shift | len << 8));       /* mov r11d, ctl */
		jit_put1(b, 0xc4);
		jit_put1(b, (uint8_t)((d & 8 ? 0 : 0x80) | 0x40 | (a & 8 ? 0 : 0x20) | 0x02));
		jit_put1(b, (uint8_t)((w ? 0x80 : 0) | ((~X64_R11 & 15) << 3)));
		jit_put1(b, 0xf7);
		x64_modrm(b, 3, d, a);                                         /* bextr dst, a, r11 */
		return;
	}
	emit_mov_rr(b, w, d, a);                                               /* mov dst, a */
	if (shift)
		emit_shift_ri(b, w, X64_SH_SHR, d, (uint8_t)shift);            /* shr dst, shift */
	if (len == 32 && w)
		emit_mov_rr(b, 0, d, d);                                       /* mov dst32, dst32 */
	else if (len < 32)
		emit_alu_ri(b, w, X64_EXT_AND, d, (int32_t)((1u << len) - 1)); /* and dst, mask */
	else if (len > 32)
		emit_alu_ri(b, w, X64_EXT_AND, d, -1);
}

static void te_bswap_load(struct jit_buf *b, const struct sbpf_kops_payload *p, unsigned int fs)
{
	int d = TR(p->dst), a = TR(p->a), size = 2 << p->variant;
	if (fs & TE_MOVBE) {
		static const uint8_t movbe[] = { 0x0f, 0x38, 0xf0 };
		te_mem(b, size == 8, d, a, p->imm, movbe, 3, size == 2 ? 0x66 : 0);    /* movbe dst, [a+off] */
		if (size == 2 && te_wrong != WRONG_BSWAP16_NOZX)
			emit_movzx_rr16(b, d, d);                              /* movzx dst32, dst16 */
		return;
	}
	emit_load(b, size, d, a, p->imm);                                      /* mov(zx) dst, [a+off] */
	if (size == 2)
		emit_rol16_8(b, d);                                            /* rol dst16, 8 */
	else
		emit_bswap(b, size == 8, d);                                   /* bswap dst */
}

/* wide_load: little-endian one load; big-endian as bswap_load */
static void te_wide_load(struct jit_buf *b, const struct sbpf_kops_payload *p, unsigned int fs)
{
	struct sbpf_kops_payload q = *p;
	q.variant = p->variant & KOPS_WIDE_SIZE;
	if (p->variant & KOPS_WIDE_BE)
		te_bswap_load(b, &q, fs);
	else
		emit_load(b, 2 << q.variant, TR(p->dst), TR(p->a), p->imm);   /* mov(zx) dst, [a+off] */
}

static void te_prefetch(struct jit_buf *b, const struct sbpf_kops_payload *p)
{
	static const uint8_t op[] = { 0x0f, 0x18 };
	te_mem(b, 0, 1, TR(p->a), p->imm, op, 2, 0);                           /* prefetcht0 [a+off] */
}

static void te_bulk_copy(struct jit_buf *b, const struct sbpf_kops_payload *p)
{
	int16_t soff = (int16_t)((uint32_t)p->imm & 0xffff), doff = (int16_t)((uint32_t)p->imm >> 16);
	int d = TR(p->dst), a = TR(p->a), t = TR(p->c);
	for (int done = 0; done < p->variant;) {
		int left = p->variant - done, k = left >= 8 ? 8 : left >= 4 ? 4 : left >= 2 ? 2 : 1;
		int rk = te_wrong == WRONG_COPY_OVERREAD && k < 8 ? 2 * k : k;
		emit_load(b, rk, t, a, soff + done);                           /* mov t, [a+soff+i] */
		emit_store(b, k, d, doff + done, t);                           /* mov [dst+doff+i], t */
		done += k;
	}
}

static void te_lea(struct jit_buf *b, const struct sbpf_kops_payload *p)
{
	static const uint8_t op[] = { 0x8d };
	int s = p->variant + (te_wrong == WRONG_LEA_SCALE && p->variant < 3);
	te_mem_sib(b, 1, TR(p->dst), TR(p->a), TR(p->b), s, p->imm, op, 1, 0);   /* lea dst, [a+b*2^s+imm] */
}

/* popcount: one popcnt (32-bit for the 32-bit shapes); declines without
 * POPCNT, as the JIT's emit does. */
static int te_popcount(struct jit_buf *b, const struct sbpf_kops_payload *p, unsigned int fs)
{
	if (!(fs & TE_POPCNT))
		return -EOPNOTSUPP;
	emit_popcnt(b, !(p->variant & KOPS_POP_32), TR(p->dst), TR(p->a)); /* popcnt dst, a */
	return 0;
}

/* The emitter the prover calls (struct prove_target's emit). */
static int te_emit(const struct prove_target *t, const struct sbpf_kops_payload *p, unsigned int fs,
		   uint8_t *out, size_t cap, size_t *len)
{
	(void)t;
	struct jit_buf b = { 0 };
	switch (p->op) {
	case SBPF_KOPS_ROTATE: te_rotate(&b, p); break;
	case SBPF_KOPS_SELECT: te_select(&b, p); break;
	case SBPF_KOPS_EXTRACT: te_extract(&b, p, fs); break;
	case SBPF_KOPS_BSWAP_LOAD: te_bswap_load(&b, p, fs); break;
	case SBPF_KOPS_PREFETCH: te_prefetch(&b, p); break;
	case SBPF_KOPS_BULK_COPY: te_bulk_copy(&b, p); break;
	case SBPF_KOPS_LEA: te_lea(&b, p); break;
	case SBPF_KOPS_WIDE_LOAD: te_wide_load(&b, p, fs); break;
	case SBPF_KOPS_POPCOUNT:
		if (te_popcount(&b, p, fs))
			return -EOPNOTSUPP;
		break;
	default: return -EINVAL;
	}
	int rc = b.err;
	if (!rc && b.len > cap)
		rc = -E2BIG;
	if (!rc) {
		memcpy(out, b.p, b.len);
		*len = b.len;
	}
	free(b.p);
	return rc;
}

/* Host registers these emits may write: r11 (the loads of bulk_copy go
 * through the eBPF scratch c). */
static uint32_t te_scratch(const struct sbpf_kops_payload *p)
{
	(void)p;
	return 1u << X64_R11;
}

#endif /* SAFEBPF_TEST_PROVE_EMITS_H */
