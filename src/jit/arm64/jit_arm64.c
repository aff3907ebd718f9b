/* jit_arm64.c - the AArch64 backend: translates one eBPF instruction at a
 * time into A64 code with a fixed register map, like the Linux kernel's
 * arm64 JIT. The code runs on an AArch64 host; on any other host it is
 * compiled (for `safebpf jit --arch arm64 --dump` and code sizes) but not run.
 *
 * Register map (AAPCS64: helper arguments r1-r5 already sit in x0-x4; r0
 * lives in x7 because x0 is both the first argument and the return value,
 * so a helper call ends with mov x7, x0; r6-r9 and r10 in callee-saved
 * registers):
 *   r0 x7    r1 x0    r2 x1    r3 x2    r4 x3    r5 x4
 *   r6 x19   r7 x20   r8 x21   r9 x22   r10 x25
 *   x9, x10, x11, x12: scratch (never hold eBPF state; x11 holds the
 *   checked address of a memory access, x10 an error code on the way out)
 *   x26: the run-time block (struct jit_rt) in checked mode
 *   x29/x30: frame pointer and link register of the native frame
 *
 * Frame: stp x29, x30 and the callee-saved registers the program uses,
 * then the eBPF stack (512 bytes, or 512 per frame for JIT_MAX_FRAMES
 * frames with bpf-to-bpf calls) below them; x25 = r10 is the top of the
 * current frame. The epilogue restores sp from x29, so every exit (errors
 * deep in nested calls included) unwinds the same way. A bpf-to-bpf call
 * saves x30 and the used r6-r9 on the native stack, moves x25 down by 512
 * and does bl; the callee's exit is ret.
 *
 * A64 instructions are 4 bytes: the only size choice is b.cond (+-1 MB)
 * against b.!cond over a b (+-128 MB). Pass 1 takes the long form
 * everywhere; later passes take the short form when the whole pass-1 image
 * is under 1 MB (then every distance fits), so the passes converge.
 *
 * Checked mode adds what the x86-64 backend adds (docs/jit.md): a bounds
 * check before every access (input memory inline, stack and other regions
 * in an out-of-line stub), loop budgets, call depth, frame zeroing and the
 * interpreter's initial registers. Atomics use LSE (ldaddal, ldclral,
 * ldeoral, ldsetal, swpal, casal) when the CPU has them (HWCAP_ATOMICS),
 * else ldaxr/stlxr loops (SBPF_JIT_NO_LSE forces those).
 *
 * Kops sites: a64_kops() hands a site's region to its operation's emit_arm64
 * (src/kops/ops/<op>.c) through the contract of kops_arm64.h.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <capstone/capstone.h>

#if defined(__aarch64__)
#include <sys/auxv.h>
#endif

#include "jit/arm64/emit_arm64.h"
#include "jit/arm64/kops_arm64.h"
#include "jit/jitInt.h"

static const uint8_t reg_map[SBPF_NREGS] = {
	A64_X7, A64_X0, A64_X1, A64_X2, A64_X3, A64_X4,
	A64_X19, A64_X20, A64_X21, A64_X22, A64_X25,
};
#define TMP    A64_X9   /* scratch; immediates, loaded bounds */
#define TMP2   A64_X10  /* scratch; old values of atomics; error code to the error exit */
#define ADDR   A64_X11  /* scratch; checked address of a memory access */
#define STATUS A64_X12  /* scratch; store-exclusive status */
#define RT     A64_X26  /* struct jit_rt * (checked mode) */
#define FP     A64_X25  /* eBPF r10 */

/* Backend feature bits (jit_ctx.features). */
#define A64_F_LSE SBPF_JIT_NO_LSE

/* Shared labels (jit_ctx.labels). */
enum { L_EPILOGUE, L_ERROR, L_ZERO_FRAME };

/* Stub kinds. */
enum { STUB_ACCESS, STUB_ERROR };

static inline int R(int bpf_reg) { return reg_map[bpf_reg]; }

int a64_bpf_reg(int bpf_reg)
{
	return bpf_reg >= 0 && bpf_reg < SBPF_NREGS ? reg_map[bpf_reg] : -1;
}

/* LSE atomics: HWCAP_ATOMICS (bit 8 of AT_HWCAP) on an AArch64 host; code
 * compiled elsewhere assumes an ARMv8.1 CPU. */
static unsigned int a64_probe(void)
{
#if defined(__aarch64__)
	return (getauxval(AT_HWCAP) & (1ul << 8)) ? A64_F_LSE : 0;
#else
	return A64_F_LSE;
#endif
}

/* ---- immediates ---- */

/* rd = @v (low 32 bits, zero-extended, when !@w) in the fewest
 * instructions: one orr with a logical immediate, or movz/movn and movk
 * for the 16-bit chunks that differ from the first one's fill. */
static void load_imm(struct jit_buf *b, int w, int rd, uint64_t v)
{
	if (!w)
		v = (uint32_t)v;
	int chunks = w ? 4 : 2;
	int zeros = 0, ones = 0;
	for (int i = 0; i < chunks; i++) {
		uint16_t h = (uint16_t)(v >> (16 * i));
		zeros += h == 0;
		ones += h == 0xffff;
	}
	int need = chunks - (zeros > ones ? zeros : ones);
	if (need > 1) {
		int f = a64_logic_imm(v, w);
		if (f >= 0) {
			emit_a64_logic_imm_op(b, w, A64_ORRI, rd, A64_ZR, f);              /* mov rd, #imm (orr) */
			return;
		}
	}
	bool inv = ones > zeros;
	uint16_t fill = inv ? 0xffff : 0;
	bool first = true;
	for (int i = 0; i < chunks; i++) {
		uint16_t h = (uint16_t)(v >> (16 * i));
		if (h == fill)
			continue;
		if (first)
			emit_a64_movw(b, w, inv ? A64_MOVN : A64_MOVZ, rd, inv ? (uint16_t)~h : h, i); /* movz/movn rd, #h, lsl #16i */
		else
			emit_a64_movw(b, w, A64_MOVK, rd, h, i);                            /* movk rd, #h, lsl #16i */
		first = false;
	}
	if (first)
		emit_a64_movw(b, w, inv ? A64_MOVN : A64_MOVZ, rd, 0, 0);                  /* movz rd, #0 / movn rd, #0 */
}

/* rd = rn + @imm (64-bit, or 32-bit with zero-extension when !@w): one or
 * two add/sub immediates when |imm| < 2^24, else through @tmp (which must
 * differ from rn). rn may be sp only in the immediate forms (|imm| < 2^24). */
static void add_imm(struct jit_buf *b, int w, int rd, int rn, int64_t imm, int tmp)
{
	uint64_t mag = imm < 0 ? (uint64_t)-imm : (uint64_t)imm;
	uint32_t op = imm < 0 ? A64_SUBI : A64_ADDI;
	if (mag < (1u << 24)) {
		uint32_t lo = (uint32_t)(mag & 0xfff), hi = (uint32_t)(mag >> 12);
		if (hi) {
			emit_a64_addsub_imm(b, w, op, rd, rn, hi, true);                   /* add/sub rd, rn, #hi, lsl 12 */
			if (lo)
				emit_a64_addsub_imm(b, w, op, rd, rd, lo, false);          /* add/sub rd, rd, #lo */
		} else {
			emit_a64_addsub_imm(b, w, op, rd, rn, lo, false);                  /* add/sub rd, rn, #lo */
		}
		return;
	}
	load_imm(b, w, tmp, (uint64_t)imm);
	emit_a64_alu_rrr(b, w, A64_ADD, rd, rn, tmp, 0, 0);                                /* add rd, rn, tmp */
}

/* ---- branches ---- */

/* b.cond reaches every target when the pass-1 image (the largest) is
 * under 1 MB; pass 1 itself uses the long form. */
static bool short_bcond(const struct jit_ctx *c)
{
	return c->pass > 1 && c->image_max < (1u << 20) - 64;
}

/* b.cond @cond (b when @cond < 0) to native offset @t of the image (-1:
 * unknown yet, pass 1). */
static void branch(struct jit_ctx *c, int cond, long t)
{
	struct jit_buf *b = &c->buf;
	long cur = (long)b->len;
	if (cond >= 0 && !short_bcond(c)) {
		emit_a64_bcond(b, cond ^ 1, 8);                                            /* b.!cond +8 */
		cur += 4;
		cond = -1;
	}
	long rel = t >= 0 ? t - cur : 0;
	if (cond < 0) {
		if (!a64_fits_simm(rel, 28))
			jit_buf_fail(b, -E2BIG);
		emit_a64_b(b, rel);                                                        /* b target */
	} else {
		if (!a64_fits_simm(rel, 21))
			c->rel8_overflow = true; /* cannot happen: the image is under 1 MB */
		emit_a64_bcond(b, cond, rel);                                              /* b.cond target */
	}
}

/* Native offset of slot @target seen from slot @pc: exact for backward
 * targets, the previous pass's for forward ones (-1 in pass 1). */
static long slot_addr(const struct jit_ctx *c, size_t pc, size_t target)
{
	return target <= pc ? (long)c->addrs[target] : jit_prev_addr(c, target);
}

static void jump_to_pc(struct jit_ctx *c, size_t pc, int cond, size_t target)
{
	branch(c, cond, slot_addr(c, pc, target));
}

static void jump_to_label(struct jit_ctx *c, int cond, int label)
{
	branch(c, cond, c->prev ? (long)c->prev_labels[label] : -1);
}

/* Branch from slot @pc to a new stub, which resumes right after it. */
static void jump_to_stub(struct jit_ctx *c, size_t pc, int cond, uint32_t kind, uint32_t arg)
{
	size_t k = jit_add_stub(c, (uint32_t)pc, kind, 0, arg);
	long t = c->prev && k < c->prev_nstubs ? (long)c->prev_stub_addrs[k] : -1;
	branch(c, cond, t);
	if (k < c->nstubs)
		c->stubs[k].resume = (uint32_t)c->buf.len;
}

/* ---- memory ---- */

static int access_size(uint8_t code)
{
	static const int sizes[4] = { 4, 2, 1, 8 };
	return sizes[(code >> 3) & 3];
}

static int size_index(int size) { return size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : 3; }

/* ldr/ldrs/str rt, [rn + off] in the shortest form: scaled unsigned
 * offset, unscaled 9-bit offset, or the offset in TMP (rt is never TMP). */
static void ldst(struct jit_buf *b, int size, int kind, int rt, int rn, int32_t off)
{
	if (off >= 0 && off % size == 0 && off / size < 4096) {
		emit_a64_ldst_uimm(b, size, kind, rt, rn, (uint32_t)off);                  /* ldr/str rt, [rn, #off] */
	} else if (off >= -256 && off < 256) {
		emit_a64_ldst_simm9(b, size, kind, rt, rn, off);                           /* ldur/stur rt, [rn, #off] */
	} else {
		load_imm(b, 1, TMP, (uint64_t)(int64_t)off);
		emit_a64_ldst_reg(b, size, kind, rt, rn, TMP);                             /* ldr/str rt, [rn, x9] */
	}
}

/* Address of a @size-byte access at [r@breg + @off] by slot @pc: returns
 * the base register and stores the offset in *@disp. In checked mode,
 * unless the access is provably inside the current stack frame, the
 * address goes to ADDR (offset 0) and is checked against the input memory
 * first; the stub checks the stack and the other regions, then resumes at
 * the access or stops the program. */
static int mem_operand(struct jit_ctx *c, size_t pc, int breg, int16_t off, int size, int32_t *disp)
{
	struct jit_buf *b = &c->buf;
	*disp = off;
	if (!c->checked || (breg == SBPF_REG_FP && off >= -SBPF_STACK_SIZE && off + size <= 0))
		return R(breg);
	add_imm(b, 1, ADDR, R(breg), off, TMP);                                       /* add x11, base, #off */
	emit_a64_ldst_uimm(b, 8, A64_LDR, TMP2, RT, JIT_RT_MEM_LO);                        /* ldr x10, [x26, #mem_lo] */
	emit_a64_alu_rrr(b, 1, A64_SUB, TMP2, ADDR, TMP2, 0, 0);                           /* sub x10, x11, x10 */
	emit_a64_ldst_uimm(b, 8, A64_LDR, TMP, RT, JIT_RT_MEM_CNT + 8 * size_index(size)); /* ldr x9, [x26, #mem_cnt] */
	emit_a64_cmp(b, 1, TMP2, TMP);                                                     /* cmp x10, x9 */
	jump_to_stub(c, pc, A64_HS, STUB_ACCESS, (uint32_t)size);                     /* b.hs stub */
	*disp = 0;
	return ADDR;
}

static void load_store(struct jit_ctx *c, size_t pc, const struct sbpf_insn *in, int fmt)
{
	struct jit_buf *b = &c->buf;
	int size = access_size(in->code);
	int32_t disp;
	if (fmt == SBPF_FMT_LDX) {
		int base = mem_operand(c, pc, in->src_reg, in->off, size, &disp);
		bool sx = (in->code & 0xe0) == SBPF_MEMSX;
		ldst(b, size, sx ? A64_LDRS : A64_LDR, R(in->dst_reg), base, disp);   /* ldr(s) dst, [base, #off] */
		return;
	}
	int base = mem_operand(c, pc, in->dst_reg, in->off, size, &disp);
	int val = R(in->src_reg);
	if (fmt == SBPF_FMT_ST) {
		if (in->imm == 0) {
			val = A64_ZR;
		} else {
			load_imm(b, 1, TMP2, (uint64_t)(int64_t)in->imm);
			val = TMP2;
		}
	}
	ldst(b, size, A64_STR, val, base, disp);                                      /* str src, [base, #off] */
}

/* Atomic read-modify-write instructions (64-bit for class STX|DW). */
static void atomic(struct jit_ctx *c, size_t pc, const struct sbpf_insn *in)
{
	struct jit_buf *b = &c->buf;
	int w = access_size(in->code) == 8;
	int32_t disp;
	int a = mem_operand(c, pc, in->dst_reg, in->off, w ? 8 : 4, &disp);
	if (disp) {
		add_imm(b, 1, ADDR, a, disp, TMP);                                    /* add x11, base, #off */
		a = ADDR;
	}
	int s = R(in->src_reg);
	int aop = in->imm & ~SBPF_FETCH;
	bool fetch = in->imm & SBPF_FETCH;
	int r0 = R(0);
	if (c->features & A64_F_LSE) {
		if (in->imm == SBPF_CMPXCHG) {
			emit_a64_mov(b, 1, TMP2, r0);                                      /* mov x10, r0 */
			emit_a64_casal(b, w, TMP2, s, a);                                  /* casal x10, src, [a] */
			emit_a64_mov(b, w, r0, TMP2);                                      /* mov r0, x10 */
			return;
		}
		int operand = s;
		uint32_t op;
		if (in->imm == SBPF_XCHG) {
			op = A64_SWP;
		} else if (aop == SBPF_AND) {
			emit_a64_alu_rrr(b, w, A64_ORN, TMP, A64_ZR, s, 0, 0);             /* mvn x9, src */
			operand = TMP;
			op = A64_LDCLR;
		} else {
			op = aop == SBPF_ADD ? A64_LDADD : aop == SBPF_OR ? A64_LDSET : A64_LDEOR;
		}
		emit_a64_lse(b, w, op, operand, fetch ? TMP2 : A64_ZR, a);                 /* ld<op>al/swpal operand, x10, [a] */
		if (fetch)
			emit_a64_mov(b, w, s, TMP2);                                       /* mov src, x10 */
		return;
	}
	/* LL/SC: ldaxr / stlxr loops, then a full barrier. */
	size_t loop = b->len;
	emit_a64_ldaxr(b, w, TMP2, a);                                                     /* loop: ldaxr x10, [a] */
	if (in->imm == SBPF_CMPXCHG) {
		emit_a64_cmp(b, w, TMP2, r0);                                              /* cmp x10, r0 */
		size_t bne = b->len;
		emit_a64_bcond(b, A64_NE, 0);                                              /* b.ne fail */
		emit_a64_stlxr(b, w, STATUS, s, a);                                        /* stlxr w12, src, [a] */
		emit_a64_cbz(b, 0, true, STATUS, (long)loop - (long)b->len);               /* cbnz w12, loop */
		emit_a64_b(b, 8);                                                          /* b done */
		a64_patch_imm19(b, bne);
		emit_a64_clrex(b);                                                         /* fail: clrex */
		emit_a64_dmb_ish(b);                                                       /* done: dmb ish */
		emit_a64_mov(b, w, r0, TMP2);                                              /* mov r0, x10 */
		return;
	}
	int val = s;
	if (in->imm != SBPF_XCHG) {
		uint32_t op = aop == SBPF_ADD ? A64_ADD : aop == SBPF_OR ? A64_ORR :
			      aop == SBPF_AND ? A64_AND : A64_EOR;
		emit_a64_alu_rrr(b, w, op, TMP, TMP2, s, 0, 0);                            /* op x9, x10, src */
		val = TMP;
	}
	emit_a64_stlxr(b, w, STATUS, val, a);                                              /* stlxr w12, x9, [a] */
	emit_a64_cbz(b, 0, true, STATUS, (long)loop - (long)b->len);                       /* cbnz w12, loop */
	emit_a64_dmb_ish(b);                                                               /* dmb ish */
	if (fetch)
		emit_a64_mov(b, w, s, TMP2);                                               /* mov src, x10 */
}

/* ---- ALU ---- */

static bool is_pow2(uint64_t v) { return v && !(v & (v - 1)); }
static int log2u(uint64_t v) { return 63 - __builtin_clzll(v); }

/* dst = dst / dv or dst % dv. udiv/sdiv give 0 for a zero divisor and
 * sdiv wraps INT_MIN / -1 to INT_MIN, which are eBPF's results; msub then
 * gives dst for a zero divisor and 0 for -1: eBPF's remainders. W forms
 * zero-extend. */
static void divmod_reg(struct jit_buf *b, int w, bool is_signed, bool is_mod, int d, int dv)
{
	uint32_t op = is_signed ? A64_SDIV : A64_UDIV;
	if (!is_mod) {
		emit_a64_dp2(b, w, op, d, d, dv);                                          /* udiv/sdiv dst, dst, src */
		return;
	}
	emit_a64_dp2(b, w, op, TMP2, d, dv);                                               /* udiv/sdiv x10, dst, src */
	emit_a64_msub(b, w, d, TMP2, dv, d);                                               /* msub dst, x10, src, dst */
}

static void divmod_imm(struct jit_buf *b, int w, bool is_signed, bool is_mod, int d, int32_t imm)
{
	uint64_t divisor = w ? (uint64_t)(int64_t)imm : (uint32_t)imm;
	if (!is_signed && is_pow2(divisor)) {
		if (!is_mod) {
			if (divisor > 1)
				emit_a64_lsr_imm(b, w, d, d, log2u(divisor));              /* lsr dst, dst, #k */
			else if (!w)
				emit_a64_mov(b, 0, d, d);                                  /* mov wdst, wdst */
		} else {
			int f = a64_logic_imm(divisor - 1, w);
			if (f >= 0)
				emit_a64_logic_imm_op(b, w, A64_ANDI, d, d, f);            /* and dst, dst, #k-1 */
			else
				emit_a64_mov(b, w, d, A64_ZR);                             /* mov dst, #0  (mod 1) */
		}
		return;
	}
	load_imm(b, w, TMP, divisor);
	divmod_reg(b, w, is_signed, is_mod, d, TMP);
}

static uint32_t alu_op(int bpf_op)
{
	switch (bpf_op) {
	case SBPF_ADD: return A64_ADD;
	case SBPF_SUB: return A64_SUB;
	case SBPF_OR: return A64_ORR;
	case SBPF_AND: return A64_AND;
	default: return A64_EOR;
	}
}

static uint32_t logic_imm_op(int bpf_op)
{
	return bpf_op == SBPF_OR ? A64_ORRI : bpf_op == SBPF_AND ? A64_ANDI : A64_EORI;
}

static uint32_t shift_op(int bpf_op)
{
	return bpf_op == SBPF_LSH ? A64_LSLV : bpf_op == SBPF_RSH ? A64_LSRV : A64_ASRV;
}

/* ALU and ALU64 classes (except byte swaps). */
static void alu(struct jit_ctx *c, const struct sbpf_insn *in, enum sbpf_op op)
{
	struct jit_buf *b = &c->buf;
	int w = SBPF_CLASS(in->code) == SBPF_ALU64;
	int bop = in->code & 0xf0;
	bool is_x = in->code & SBPF_X;
	int d = R(in->dst_reg), s = R(in->src_reg);
	int32_t imm = in->imm;
	uint64_t uimm = w ? (uint64_t)(int64_t)imm : (uint32_t)imm;

	switch (bop) {
	case SBPF_ADD: case SBPF_SUB:
		if (is_x) {
			emit_a64_alu_rrr(b, w, alu_op(bop), d, d, s, 0, 0);                /* add/sub dst, dst, src */
		} else if (imm == 0) {
			if (!w)
				emit_a64_mov(b, 0, d, d);                                  /* mov wdst, wdst */
		} else if (imm > -(1 << 24) && imm < (1 << 24)) {
			add_imm(b, w, d, d, bop == SBPF_ADD ? imm : -(int64_t)imm, TMP); /* add/sub dst, dst, #imm */
		} else {
			load_imm(b, w, TMP, uimm);
			emit_a64_alu_rrr(b, w, alu_op(bop), d, d, TMP, 0, 0);              /* add/sub dst, dst, x9 */
		}
		break;
	case SBPF_OR: case SBPF_AND: case SBPF_XOR:
		if (is_x) {
			emit_a64_alu_rrr(b, w, alu_op(bop), d, d, s, 0, 0);                /* orr/and/eor dst, dst, src */
		} else {
			int f = a64_logic_imm(uimm, w);
			if (f >= 0) {
				emit_a64_logic_imm_op(b, w, logic_imm_op(bop), d, d, f);   /* orr/and/eor dst, dst, #imm */
			} else {
				load_imm(b, w, TMP, uimm);
				emit_a64_alu_rrr(b, w, alu_op(bop), d, d, TMP, 0, 0);      /* orr/and/eor dst, dst, x9 */
			}
		}
		break;
	case SBPF_MOV:
		if (op == SBPF_OP_MOVSX8_64 || op == SBPF_OP_MOVSX8_32)
			emit_a64_sxt(b, w, d, s, 8);                                       /* sxtb dst, src */
		else if (op == SBPF_OP_MOVSX16_64 || op == SBPF_OP_MOVSX16_32)
			emit_a64_sxt(b, w, d, s, 16);                                      /* sxth dst, src */
		else if (op == SBPF_OP_MOVSX32_64)
			emit_a64_sxt(b, 1, d, s, 32);                                      /* sxtw dst, src */
		else if (is_x && (!w || d != s))
			emit_a64_mov(b, w, d, s);                                          /* mov dst, src */
		else if (!is_x)
			load_imm(b, w, d, uimm);                                      /* mov dst, #imm */
		break;
	case SBPF_MUL:
		if (!is_x) {
			load_imm(b, w, TMP, uimm);
			s = TMP;
		}
		emit_a64_mul(b, w, d, d, s);                                               /* mul dst, dst, src */
		break;
	case SBPF_DIV: case SBPF_MOD:
		if (is_x)
			divmod_reg(b, w, in->off == 1, bop == SBPF_MOD, d, s);
		else
			divmod_imm(b, w, in->off == 1, bop == SBPF_MOD, d, imm);
		break;
	case SBPF_LSH: case SBPF_RSH: case SBPF_ARSH:
		if (is_x) {
			emit_a64_dp2(b, w, shift_op(bop), d, d, s);                        /* lslv/lsrv/asrv dst, dst, src */
		} else {
			int n = imm & (w ? 63 : 31);
			if (!n) {
				if (!w)
					emit_a64_mov(b, 0, d, d);                          /* mov wdst, wdst */
			} else if (bop == SBPF_LSH) {
				emit_a64_lsl_imm(b, w, d, d, n);                           /* lsl dst, dst, #n */
			} else if (bop == SBPF_RSH) {
				emit_a64_lsr_imm(b, w, d, d, n);                           /* lsr dst, dst, #n */
			} else {
				emit_a64_asr_imm(b, w, d, d, n);                           /* asr dst, dst, #n */
			}
		}
		break;
	case SBPF_NEG:
		emit_a64_neg(b, w, d, d);                                                  /* neg dst, dst */
		break;
	default:
		jit_buf_fail(b, -EINVAL);
		break;
	}
}

/* le/be/bswap: on a little-endian CPU "le" truncates and "be"/"bswap" swap. */
static void byteswap(struct jit_buf *b, const struct sbpf_insn *in, enum sbpf_op op)
{
	int d = R(in->dst_reg);
	bool swap = op != SBPF_OP_LE16 && op != SBPF_OP_LE32 && op != SBPF_OP_LE64;
	switch (in->imm) {
	case 16:
		if (swap)
			emit_a64_dp1(b, 0, A64_REV16, d, d);                               /* rev16 wdst, wdst */
		emit_a64_uxt(b, d, d, 16);                                                 /* uxth wdst, wdst */
		break;
	case 32:
		if (swap)
			emit_a64_rev(b, 0, d, d);                                          /* rev wdst, wdst */
		else
			emit_a64_mov(b, 0, d, d);                                          /* mov wdst, wdst */
		break;
	default:
		if (swap)
			emit_a64_rev(b, 1, d, d);                                          /* rev xdst, xdst */
		break;
	}
}

/* ---- calls and exits ---- */

static void call_helper(struct jit_ctx *c, size_t pc, const struct sbpf_insn *in)
{
	struct jit_buf *b = &c->buf;
	sbpf_helper_fn fn = in->src_reg == 0 && in->imm >= 0 && in->imm < SBPF_MAX_HELPERS
			    ? c->helpers[in->imm] : NULL;
	if (!fn) {
		if (!c->checked) {
			jit_buf_fail(b, -ENOENT); /* unchecked code has no error exit */
			return;
		}
		jump_to_stub(c, pc, -1, STUB_ERROR, in->src_reg ? JIT_ERR_KFUNC : JIT_ERR_HELPER); /* b stub */
		return;
	}
	load_imm(b, 1, TMP, (uint64_t)(uintptr_t)fn);                                 /* mov x9, #helper */
	emit_a64_blr(b, TMP);                                                              /* blr x9 */
	emit_a64_mov(b, 1, R(0), A64_X0);                                                  /* mov x7, x0 */
}

/* The registers a local call saves: x30 and the used r6-r9. */
static int call_saved(const struct jit_ctx *c, int out[5])
{
	int n = 0;
	out[n++] = A64_LR;
	for (int r = 6; r <= 9; r++)
		if (c->regs_used & (1u << r))
			out[n++] = R(r);
	return n;
}

/* Pushes @regs[0..@n) in 16-byte slots (pairs where possible). */
static void push_regs(struct jit_buf *b, const int *regs, int n)
{
	for (int i = 0; i < n; i += 2) {
		if (i + 1 < n)
			emit_a64_pair(b, false, A64_PAIR_PRE, regs[i], regs[i + 1], A64_SP, -16); /* stp a, b, [sp, #-16]! */
		else
			emit_a64_push1(b, regs[i]);                                        /* str a, [sp, #-16]! */
	}
}

/* Pops what push_regs(@regs, @n) pushed. */
static void pop_regs(struct jit_buf *b, const int *regs, int n)
{
	for (int i = (n - 1) & ~1; i >= 0; i -= 2) {
		if (i + 1 < n)
			emit_a64_pair(b, true, A64_PAIR_POST, regs[i], regs[i + 1], A64_SP, 16); /* ldp a, b, [sp], #16 */
		else
			emit_a64_pop1(b, regs[i]);                                         /* ldr a, [sp], #16 */
	}
}

static void call_local(struct jit_ctx *c, size_t pc, const struct sbpf_insn *in)
{
	struct jit_buf *b = &c->buf;
	size_t target = (size_t)((long)pc + 1 + in->imm);
	if (c->checked) {
		emit_a64_addsub_imm(b, 1, A64_SUBI, TMP, FP, 2 * SBPF_STACK_SIZE, false);  /* sub x9, x25, #1024 */
		emit_a64_ldst_uimm(b, 8, A64_LDR, TMP2, RT, JIT_RT_STK_LO);                /* ldr x10, [x26, #stk_lo] */
		emit_a64_cmp(b, 1, TMP, TMP2);                                             /* cmp x9, x10 */
		jump_to_stub(c, pc, A64_LO, STUB_ERROR, JIT_ERR_DEPTH);               /* b.lo stub */
	}
	int regs[5];
	int n = call_saved(c, regs);
	push_regs(b, regs, n);
	emit_a64_addsub_imm(b, 1, A64_SUBI, FP, FP, SBPF_STACK_SIZE, false);               /* sub x25, x25, #512 */
	if (c->checked) {
		long z = c->prev ? (long)c->prev_labels[L_ZERO_FRAME] : -1;
		emit_a64_bl(b, z >= 0 ? z - (long)b->len : 0);                             /* bl zero_frame */
	}
	long t = slot_addr(c, pc, target);
	emit_a64_bl(b, t >= 0 ? t - (long)b->len : 0);                                     /* bl func */
	emit_a64_addsub_imm(b, 1, A64_ADDI, FP, FP, SBPF_STACK_SIZE, false);               /* add x25, x25, #512 */
	pop_regs(b, regs, n);
}

static void exit_insn(struct jit_ctx *c, size_t pc)
{
	struct jit_buf *b = &c->buf;
	if (!c->has_calls) {
		if (pc + 1 < c->n)
			jump_to_label(c, -1, L_EPILOGUE);                             /* b epilogue */
		return; /* the last instruction falls into the epilogue */
	}
	if (c->checked) {
		emit_a64_ldst_uimm(b, 8, A64_LDR, TMP, RT, JIT_RT_FP0);                    /* ldr x9, [x26, #fp0] */
		emit_a64_cmp(b, 1, FP, TMP);                                               /* cmp x25, x9 */
		jump_to_label(c, A64_EQ, L_EPILOGUE);                                 /* b.eq epilogue */
		emit_a64_ret(b);                                                           /* ret */
	} else if (pc < c->first_sub) {
		jump_to_label(c, -1, L_EPILOGUE);                                     /* b epilogue */
	} else {
		emit_a64_ret(b);                                                           /* ret */
	}
}

/* ---- jumps ---- */

/* Sets the flags for "dst OP src/imm" (cmp, or tst for jset; 64 or 32
 * bits; an immediate sign-extended as in eBPF jumps). Shared with the
 * select emit (kops_arm64.compare). */
static void compare(struct jit_buf *b, int w, bool jset, int d, bool is_x, int s, int32_t imm)
{
	if (is_x) {
		if (jset)
			emit_a64_tst(b, w, d, s);                                          /* tst dst, src */
		else
			emit_a64_cmp(b, w, d, s);                                          /* cmp dst, src */
		return;
	}
	uint64_t v = w ? (uint64_t)(int64_t)imm : (uint32_t)imm;
	if (jset) {
		int f = a64_logic_imm(v, w);
		if (f >= 0) {
			emit_a64_logic_imm_op(b, w, A64_ANDSI, A64_ZR, d, f);              /* tst dst, #imm */
			return;
		}
	} else if (imm >= 0 && imm < 4096) {
		emit_a64_addsub_imm(b, w, A64_SUBSI, A64_ZR, d, (uint32_t)imm, false);     /* cmp dst, #imm */
		return;
	} else if (imm < 0 && imm > -4096) {
		emit_a64_addsub_imm(b, w, A64_ADDSI, A64_ZR, d, (uint32_t)-imm, false);    /* cmn dst, #-imm */
		return;
	}
	load_imm(b, w, TMP, v);
	if (jset)
		emit_a64_tst(b, w, d, TMP);                                                /* tst dst, x9 */
	else
		emit_a64_cmp(b, w, d, TMP);                                                /* cmp dst, x9 */
}

static void cond_jump(struct jit_ctx *c, size_t pc, const struct sbpf_insn *in)
{
	size_t target = (size_t)((long)pc + 1 + in->off);
	if (target == pc + 1)
		return; /* both ways lead to the next instruction */
	int w = SBPF_CLASS(in->code) == SBPF_JMP;
	int jop = in->code & 0xf0;
	compare(&c->buf, w, jop == SBPF_JSET, R(in->dst_reg), in->code & SBPF_X, R(in->src_reg), in->imm);
	jump_to_pc(c, pc, a64_cond_of_jump(jop), target);
}

/* ---- the vtable ---- */

/* Callee-saved registers the body uses besides x29/x30, in push order. */
static int saved_regs(const struct jit_ctx *c, int out[6])
{
	int n = 0;
	for (int r = 6; r <= 9; r++)
		if (c->regs_used & (1u << r))
			out[n++] = R(r);
	if (c->stack_size)
		out[n++] = FP;
	if (c->checked)
		out[n++] = RT;
	return n;
}

static void a64_prologue(struct jit_ctx *c)
{
	struct jit_buf *b = &c->buf;
	emit_a64_pair(b, false, A64_PAIR_PRE, A64_FP_REG, A64_LR, A64_SP, -16);            /* stp x29, x30, [sp, #-16]! */
	emit_a64_addsub_imm(b, 1, A64_ADDI, A64_FP_REG, A64_SP, 0, false);                 /* mov x29, sp */
	int regs[6];
	int n = saved_regs(c, regs);
	push_regs(b, regs, n);
	if (c->stack_size)
		add_imm(b, 1, A64_SP, A64_SP, -(int64_t)c->stack_size, TMP);          /* sub sp, sp, #stack */
	if (c->checked) {
		emit_a64_mov(b, 1, RT, A64_X2);                                            /* mov x26, x2 */
		emit_a64_addsub_imm(b, 1, A64_ADDI, TMP, A64_SP, 0, false);                /* mov x9, sp */
		emit_a64_ldst_uimm(b, 8, A64_STR, TMP, RT, JIT_RT_STK_LO);                 /* str x9, [x26, #stk_lo] */
	}
	if (c->checked && c->stack_size) {
		/* Like the interpreter's, a frame starts zeroed. */
		add_imm(b, 1, TMP, A64_SP, (int64_t)c->stack_size - SBPF_STACK_SIZE, TMP2); /* add x9, sp, #stack-512 */
		load_imm(b, 1, TMP2, SBPF_STACK_SIZE / 16);                           /* mov x10, #32 */
		emit_a64_pair(b, false, A64_PAIR_POST, A64_ZR, A64_ZR, TMP, 16);           /* loop: stp xzr, xzr, [x9], #16 */
		emit_a64_addsub_imm(b, 1, A64_SUBSI, TMP2, TMP2, 1, false);                /* subs x10, x10, #1 */
		emit_a64_bcond(b, A64_NE, -8);                                             /* b.ne loop */
	}
	if (c->stack_size)
		add_imm(b, 1, FP, A64_SP, c->stack_size, TMP);                        /* add x25, sp, #stack */
	if (c->checked && c->stack_size)
		emit_a64_ldst_uimm(b, 8, A64_STR, FP, RT, JIT_RT_FP0);                     /* str x25, [x26, #fp0] */
	if (c->checked) {
		/* The interpreter starts with r0 and r3..r9 zero. */
		for (int r = 0; r <= 9; r++)
			if (r != 1 && r != 2 && (r <= 5 || (c->regs_used & (1u << r))))
				emit_a64_mov(b, 1, R(r), A64_ZR);                          /* mov reg, xzr */
	}
}

/* Checked mode, at a loop header: charge the budget. */
static void loop_check(struct jit_ctx *c, size_t pc)
{
	if (c->checked && (c->flags[pc] & JIT_SLOT_LOOP_HEAD)) {
		struct jit_buf *b = &c->buf;
		emit_a64_ldst_uimm(b, 8, A64_LDR, TMP, RT, JIT_RT_BUDGET);                 /* ldr x9, [x26, #budget] */
		emit_a64_addsub_imm(b, 1, A64_SUBSI, TMP, TMP, 1, false);                  /* subs x9, x9, #1 */
		emit_a64_ldst_uimm(b, 8, A64_STR, TMP, RT, JIT_RT_BUDGET);                 /* str x9, [x26, #budget] */
		jump_to_stub(c, pc, A64_LO, STUB_ERROR, JIT_ERR_BUDGET);              /* b.lo stub */
	}
}

static int a64_insn(struct jit_ctx *c, size_t pc)
{
	struct jit_buf *b = &c->buf;
	const struct sbpf_insn *in = &c->insns[pc];
	enum sbpf_op op = sbpf_decode(in);
	const struct sbpf_op_info *f = sbpf_op_info(op);
	loop_check(c, pc);
	switch (f->fmt) {
	case SBPF_FMT_ALU_K: case SBPF_FMT_ALU_X: case SBPF_FMT_MOVSX: case SBPF_FMT_NEG:
		alu(c, in, op);
		return 1;
	case SBPF_FMT_END:
		byteswap(b, in, op);
		return 1;
	case SBPF_FMT_LDX: case SBPF_FMT_ST: case SBPF_FMT_STX:
		load_store(c, pc, in, f->fmt);
		return 1;
	case SBPF_FMT_ATOMIC:
		atomic(c, pc, in);
		return 1;
	case SBPF_FMT_LDDW:
		if (in->src_reg) {
			/* Needs a map or BTF relocation user space does not have. */
			if (!c->checked)
				jit_buf_fail(b, -EOPNOTSUPP);
			else
				jump_to_stub(c, pc, -1, STUB_ERROR, JIT_ERR_PSEUDO);  /* b stub */
			return 2;
		}
		load_imm(b, 1, R(in->dst_reg), (uint64_t)(uint32_t)in->imm | (uint64_t)(uint32_t)in[1].imm << 32);
		return 2;
	case SBPF_FMT_JA:
		if (in->off)
			jump_to_pc(c, pc, -1, (size_t)((long)pc + 1 + in->off));      /* b target */
		return 1;
	case SBPF_FMT_JA32:
		if (in->imm)
			jump_to_pc(c, pc, -1, (size_t)((long)pc + 1 + in->imm));      /* b target */
		return 1;
	case SBPF_FMT_JCOND_K: case SBPF_FMT_JCOND_X:
		cond_jump(c, pc, in);
		return 1;
	case SBPF_FMT_CALL:
		call_helper(c, pc, in);
		return 1;
	case SBPF_FMT_CALL_LOCAL:
		call_local(c, pc, in);
		return 1;
	case SBPF_FMT_EXIT:
		exit_insn(c, pc);
		return 1;
	default:
		jit_buf_fail(b, -EINVAL);
		return 1;
	}
}

/* Epilogue, the frame-zeroing routine, the shared error exit, then every stub. */
static void a64_tail(struct jit_ctx *c)
{
	struct jit_buf *b = &c->buf;
	c->labels[L_EPILOGUE] = (uint32_t)b->len;
	int regs[6];
	int n = saved_regs(c, regs);
	emit_a64_mov(b, 1, A64_X0, R(0));                                                  /* mov x0, x7 */
	emit_a64_addsub_imm(b, 1, A64_SUBI, A64_SP, A64_FP_REG, (uint32_t)(16 * ((n + 1) / 2)), false); /* sub sp, x29, #saved */
	pop_regs(b, regs, n);
	emit_a64_pair(b, true, A64_PAIR_POST, A64_FP_REG, A64_LR, A64_SP, 16);             /* ldp x29, x30, [sp], #16 */
	emit_a64_ret(b);                                                                   /* ret */
	if (!c->checked)
		return;
	if (c->has_calls) {
		/* zero_frame: zeroes the callee's new frame [x25-512, x25). */
		c->labels[L_ZERO_FRAME] = (uint32_t)b->len;
		emit_a64_addsub_imm(b, 1, A64_SUBI, TMP, FP, SBPF_STACK_SIZE, false);      /* sub x9, x25, #512 */
		load_imm(b, 1, TMP2, SBPF_STACK_SIZE / 16);                           /* mov x10, #32 */
		emit_a64_pair(b, false, A64_PAIR_POST, A64_ZR, A64_ZR, TMP, 16);           /* loop: stp xzr, xzr, [x9], #16 */
		emit_a64_addsub_imm(b, 1, A64_SUBSI, TMP2, TMP2, 1, false);                /* subs x10, x10, #1 */
		emit_a64_bcond(b, A64_NE, -8);                                             /* b.ne loop */
		emit_a64_ret(b);                                                           /* ret */
	}
	/* Error exit: x10 = code, x11 = faulting address. */
	c->labels[L_ERROR] = (uint32_t)b->len;
	emit_a64_ldst_uimm(b, 8, A64_STR, ADDR, RT, JIT_RT_ERR_ADDR);                      /* str x11, [x26, #err_addr] */
	emit_a64_ldst_uimm(b, 8, A64_STR, TMP2, RT, JIT_RT_ERR_CODE);                      /* str x10, [x26, #err_code] */
	emit_a64_ldst_uimm(b, 8, A64_STR, FP, RT, JIT_RT_ERR_FP);                          /* str x25, [x26, #err_fp] */
	branch(c, -1, c->labels[L_EPILOGUE]);                                         /* b epilogue */
	for (size_t k = 0; k < c->nstubs; k++) {
		const struct jit_stub *s = &c->stubs[k];
		c->stub_addrs[k] = (uint32_t)b->len;
		uint32_t code;
		if (s->kind == STUB_ACCESS) {
			if (c->stack_size) {
				/* Valid: the current frame up to the top of the main
				 * frame, [x25-512, fp0). */
				emit_a64_addsub_imm(b, 1, A64_ADDI, TMP2, ADDR, SBPF_STACK_SIZE, false); /* add x10, x11, #512 */
				emit_a64_alu_rrr(b, 1, A64_SUB, TMP2, TMP2, FP, 0, 0);          /* sub x10, x10, x25 */
				emit_a64_ldst_uimm(b, 8, A64_LDR, TMP, RT, JIT_RT_FP0);         /* ldr x9, [x26, #fp0] */
				emit_a64_alu_rrr(b, 1, A64_SUB, TMP, TMP, FP, 0, 0);            /* sub x9, x9, x25 */
				emit_a64_addsub_imm(b, 1, A64_ADDI, TMP, TMP,
					       SBPF_STACK_SIZE - s->arg + 1, false);       /* add x9, x9, #512-size+1 */
				emit_a64_cmp(b, 1, TMP2, TMP);                                  /* cmp x10, x9 */
				branch(c, A64_LO, s->resume);                              /* b.lo resume */
			}
			/* The program type's other regions (read-only ones have
			 * no valid store offsets). */
			bool store = SBPF_CLASS(c->insns[s->pc].code) != SBPF_LDX;
			for (int k2 = 0; k2 < c->nextra; k2++) {
				uint32_t x = JIT_RT_EXTRA + (uint32_t)k2 * JIT_RT_EXTRA_SIZE;
				uint32_t cnt = x + 8 * (uint32_t)size_index((int)s->arg) + (uint32_t)(store
					? offsetof(struct jit_rt_region, wcnt) : offsetof(struct jit_rt_region, rcnt));
				emit_a64_ldst_uimm(b, 8, A64_LDR, TMP, RT, x);                  /* ldr x9, [x26, #x.lo] */
				emit_a64_alu_rrr(b, 1, A64_SUB, TMP2, ADDR, TMP, 0, 0);         /* sub x10, x11, x9 */
				emit_a64_ldst_uimm(b, 8, A64_LDR, TMP, RT, cnt);                /* ldr x9, [x26, #x.cnt] */
				emit_a64_cmp(b, 1, TMP2, TMP);                                  /* cmp x10, x9 */
				branch(c, A64_LO, s->resume);                              /* b.lo resume */
			}
			code = JIT_ERR_CODE(JIT_ERR_ACCESS, s->pc);
		} else {
			code = JIT_ERR_CODE(s->arg, s->pc);
		}
		load_imm(b, 0, TMP2, code);                                                /* mov w10, #code */
		branch(c, -1, c->labels[L_ERROR]);                                         /* b error */
	}
}

/* ---- Kops native operations ---- */

/* kops_arm64.mem_check: the bounds check of the proof-sequence access at
 * lowered slot @slot, exactly as load_store() emits it. */
static int kops_mem_check(struct kops_arm64 *x, size_t slot, int32_t *disp)
{
	struct jit_ctx *c = x->backend;
	const struct sbpf_insn *in = &c->insns[slot];
	int ldx = SBPF_CLASS(in->code) == SBPF_LDX;
	return mem_operand(c, slot, ldx ? in->src_reg : in->dst_reg, in->off, access_size(in->code), disp);
}

static void kops_add_imm(struct kops_arm64 *x, int rd, int rn, int64_t imm)
{
	add_imm(x->b, 1, rd, rn, imm, TMP);
}

static void kops_ldst(struct kops_arm64 *x, int size, int kind, int rt, int rn, int32_t off)
{
	ldst(x->b, size, kind, rt, rn, off);
}

static void kops_compare(struct kops_arm64 *x, int w, bool jset, int d, bool is_x, int s, int32_t imm)
{
	compare(x->b, w, jset, d, is_x, s, imm);
}

uint32_t a64_reserved_regs(void)
{
	return 1u << RT | 1u << A64_FP_REG | 1u << A64_LR | 1u << A64_SP;
}

void a64_kops_helpers(struct kops_arm64 *x)
{
	x->add_imm = kops_add_imm;
	x->compare = kops_compare;
	x->ldst = kops_ldst;
}

/* jit_target.kops_emit: the site's AArch64 emit. */
static int a64_kops_emit(struct jit_ctx *c, size_t pc, const struct sbpf_kops_site *s, size_t *max_len)
{
	const struct kops_op *op = kops_op(s->p.op);
	if (!op || !op->emit_arm64)
		return -ENOENT;
	struct kops_arm64 x = {
		.b = &c->buf, .reg = reg_map, .features = c->features, .checked = c->checked,
		.mutant = c->kops_mutant, .pc = pc, .mem_check = kops_mem_check,
		.add_imm = kops_add_imm, .compare = kops_compare,
		.ldst = kops_ldst, .backend = c,
	};
	*max_len = (size_t)op->native_max_arm64;
	return op->emit_arm64(&s->p, &x);
}

const struct jit_target jit_target_arm64 = {
	.name = "arm64",
	.cs_arch = CS_ARCH_ARM64,
	.cs_mode = CS_MODE_ARM,
#if defined(__aarch64__)
	.native = true,
#endif
	.probe = a64_probe,
	.prologue = a64_prologue,
	.insn = a64_insn,
	.tail = a64_tail,
	.loop_check = loop_check,
	.kops_emit = a64_kops_emit,
};
