/* jit_x86_64.c - the x86-64 backend: translates one eBPF instruction at a
 * time into native code with a fixed register map, like the Linux kernel JIT.
 *
 * Register map (SysV-friendly: helper arguments r1-r5 already sit in the
 * argument registers, r0 in the return register, r6-r9 in callee-saved ones):
 *   r0 rax   r1 rdi   r2 rsi   r3 rdx   r4 rcx   r5 r8
 *   r6 rbx   r7 r13   r8 r14   r9 r15   r10 rbp
 *   r9, r10, r11: scratch (caller-saved, never hold eBPF state)
 *   r12: the run-time block (struct jit_rt) in checked mode
 *
 * Frame: the prologue pushes only the callee-saved registers the program
 * uses, then reserves the eBPF stack (512 bytes, or 512 per frame for
 * JIT_MAX_FRAMES frames when the program makes bpf-to-bpf calls) below them;
 * rbp = r10 points at the top of the current frame. A bpf-to-bpf call saves
 * the used callee-saved registers, moves rbp down by 512 and does a native
 * call; native return addresses therefore never live inside the eBPF stack.
 *
 * Checked mode adds: a bounds check before every memory access (the input
 * memory inline, the stack area in an out-of-line stub; accesses at r10+off
 * inside the current frame are proven in-bounds at compile time), a budget
 * counter at every loop header, a call-depth check before each local call,
 * and exits whose target (epilogue or return) is decided by rbp at run time.
 * Errors jump to a shared exit that records the code and faulting address in
 * the run-time block and unwinds to the epilogue.
 *
 * Kops sites: x64_kops() hands a site's region to its operation's native
 * emit (struct kops_op emit_x86_64, in src/kops/ops/<op>.c) through the
 * contract of kops_x86.h.
 */
#if defined(__x86_64__)
#include <cpuid.h>
#endif
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <capstone/capstone.h>

#include "jit/jitInt.h"
#include "jit/x86_64/emit_x86.h"
#include "jit/x86_64/kops_x86.h"

static const uint8_t reg_map[SBPF_NREGS] = {
	X64_RAX, X64_RDI, X64_RSI, X64_RDX, X64_RCX, X64_R8,
	X64_RBX, X64_R13, X64_R14, X64_R15, X64_RBP,
};
#define AUX  X64_R9   /* scratch */
#define TMP  X64_R10  /* scratch; error code on the way to the error exit */
#define ADDR X64_R11  /* scratch; checked address of a memory access */
#define RT   X64_R12  /* struct jit_rt * (checked mode) */

/* Backend feature bits (jit_ctx.features). */
#define X64_F_BMI2  SBPF_JIT_NO_BMI2
#define X64_F_BMI1  SBPF_JIT_NO_BMI1
#define X64_F_MOVBE SBPF_JIT_NO_MOVBE
#define X64_F_POPCNT SBPF_JIT_NO_POPCNT
#define X64_F_FAST_BEXTR (1u << 16) /* = KOPS_X86_F_FAST_BEXTR (kops_x86.h) */

/* Shared labels (jit_ctx.labels). */
enum { L_EPILOGUE, L_ERROR, L_ZERO_FRAME };

/* Stub kinds. */
enum { STUB_ACCESS, STUB_ERROR };

static inline int R(int bpf_reg) { return reg_map[bpf_reg]; }

int x64_bpf_reg(int bpf_reg)
{
	return bpf_reg >= 0 && bpf_reg < SBPF_NREGS ? reg_map[bpf_reg] : -1;
}

uint16_t x64_reserved_regs(void)
{
	return (uint16_t)(1u << X64_RSP | 1u << RT);
}

/* CPUID: leaf 7 ebx bit 3 BMI1, bit 8 BMI2; leaf 1 ecx bit 22 MOVBE, bit 23
 * POPCNT; leaf 0 the vendor: BEXTR is 1 µop on AMD (X64_F_FAST_BEXTR). */
static unsigned int x64_probe(void)
{
#if !defined(__x86_64__)
	return X64_F_BMI2 | X64_F_BMI1 | X64_F_MOVBE | X64_F_POPCNT; /* compiled elsewhere: a recent x86-64 CPU */
#else
	unsigned int eax, ebx, ecx, edx, f = 0;
	if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) {
		if (ebx & (1u << 8))
			f |= X64_F_BMI2;
		if (ebx & (1u << 3))
			f |= X64_F_BMI1;
	}
	if (__get_cpuid(1, &eax, &ebx, &ecx, &edx)) {
		if (ecx & (1u << 22))
			f |= X64_F_MOVBE;
		if (ecx & (1u << 23))
			f |= X64_F_POPCNT;
	}
	/* "AuthenticAMD" in ebx, edx, ecx */
	if ((f & X64_F_BMI1) && __get_cpuid(0, &eax, &ebx, &ecx, &edx) &&
	    ebx == 0x68747541u && edx == 0x69746e65u && ecx == 0x444d4163u)
		f |= X64_F_FAST_BEXTR;
	return f;
#endif
}

/* Callee-saved registers the body uses, in push order (rbp first). */
static int saved_regs(const struct jit_ctx *c, int out[6])
{
	int n = 0;
	if (c->stack_size)
		out[n++] = X64_RBP;
	if (c->regs_used & (1u << 6))
		out[n++] = X64_RBX;
	if (c->checked)
		out[n++] = RT;
	for (int r = 7; r <= 9; r++)
		if (c->regs_used & (1u << r))
			out[n++] = R(r);
	return n;
}

/* Bytes the prologue subtracts from rsp: the eBPF stack plus padding that
 * keeps rsp 16-byte aligned in the body (for helper calls). */
static uint32_t frame_size(const struct jit_ctx *c)
{
	int regs[6];
	int n = saved_regs(c, regs);
	bool calls = c->has_calls || c->has_helper_calls;
	uint32_t size = c->stack_size;
	if ((size || calls) && n % 2 == 0)
		size += 8; /* entry rsp is 8 mod 16 (return address) */
	return size;
}

/* ---- jumps ---- */

/* Emits jcc @cc (jmp when @cc < 0) to native offset @t of the image.
 * @exact: @t is this pass's address (a backward target). Otherwise it is the
 * previous pass's address (-1 in the first pass) and @end is the previous
 * pass's end of the eBPF instruction being emitted: the short form is taken
 * when the distance from @end, plus @tail (an upper bound of the bytes this
 * instruction emits after the jump), fits rel8. Both only shrink from pass
 * to pass, so a jump never grows back and the passes converge. */
static void jump_to(struct jit_ctx *c, int cc, long t, bool exact, long end, int tail)
{
	struct jit_buf *b = &c->buf;
	long cur = (long)b->len;
	bool shrt = exact ? x64_is_imm8(t - (cur + 2))
			  : t >= 0 && end >= 0 && t - end + tail <= 127;
	if (shrt) {
		long rel = t - (cur + 2);
		if (!x64_is_imm8(rel))
			c->rel8_overflow = true; /* only possible before the passes converge */
		if (cc < 0)
			emit_jmp_rel8(b, (int8_t)rel);     /* jmp rel8 */
		else
			emit_jcc_rel8(b, cc, (int8_t)rel); /* jcc rel8 */
		return;
	}
	long len = cc < 0 ? 5 : 6;
	long rel = t >= 0 ? t - (cur + len) : 0;
	if (cc < 0)
		emit_jmp_rel32(b, (int32_t)rel);           /* jmp rel32 */
	else
		emit_jcc_rel32(b, cc, (int32_t)rel);       /* jcc rel32 */
}

/* Bytes an instruction may still emit after a check's jump to a stub
 * (the rest of the instruction: at most a division or a fetch loop). */
#define TAIL_AFTER_CHECK 96

/* Jump from slot @pc (as its last code, or followed by at most @tail
 * bytes) to slot @target. */
static void jump_to_pc(struct jit_ctx *c, size_t pc, int cc, size_t target, int tail)
{
	if (target <= pc)
		jump_to(c, cc, (long)c->addrs[target], true, 0, 0);
	else
		jump_to(c, cc, jit_prev_addr(c, target), false, jit_prev_addr(c, pc + 1), tail);
}

/* Jump from slot @pc to a shared label. */
static void jump_to_label(struct jit_ctx *c, size_t pc, int cc, int label, int tail)
{
	jump_to(c, cc, c->prev ? (long)c->prev_labels[label] : -1, false,
		jit_prev_addr(c, pc + 1), tail);
}

/* Jump from slot @pc to a new stub. */
static void jump_to_stub(struct jit_ctx *c, size_t pc, int cc, uint32_t kind, uint32_t arg, int tail)
{
	size_t k = jit_add_stub(c, (uint32_t)pc, kind, 0, arg);
	long t = c->prev && k < c->prev_nstubs ? (long)c->prev_stub_addrs[k] : -1;
	jump_to(c, cc, t, false, jit_prev_addr(c, pc + 1), tail);
	if (k < c->nstubs)
		c->stubs[k].resume = (uint32_t)c->buf.len;
}

/* ---- memory operands ---- */

static int size_index(int size) { return size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : 3; }

/* Address operand for a @size-byte access at [r@breg + @off] by slot @pc:
 * returns the base register and stores the displacement in *@disp. In
 * checked mode, unless the access is provably inside the current stack
 * frame, first emits the bounds check against the input memory; its stub
 * checks the stack and either resumes at the access or stops the program. */
static int mem_operand(struct jit_ctx *c, size_t pc, int breg, int16_t off, int size, int32_t *disp)
{
	struct jit_buf *b = &c->buf;
	*disp = off;
	if (!c->checked || (breg == SBPF_REG_FP && off >= -SBPF_STACK_SIZE && off + size <= 0))
		return R(breg);
	emit_lea(b, TMP, R(breg), off);                                   /* lea r10, [base+off] */
	emit_alu_rm(b, 1, X64_OPR_SUB, TMP, RT, JIT_RT_MEM_LO);           /* sub r10, [r12+mem_lo] */
	emit_alu_rm(b, 1, X64_OPR_CMP, TMP, RT,
		    JIT_RT_MEM_CNT + 8 * size_index(size));                /* cmp r10, [r12+mem_cnt] */
	jump_to_stub(c, pc, X64_CC_AE, STUB_ACCESS, (uint32_t)size, TAIL_AFTER_CHECK); /* jae stub */
	return R(breg);
}

/* Base register and offset of the memory access at slot @pc. */
static int access_base(const struct jit_ctx *c, size_t pc, int16_t *off)
{
	const struct sbpf_insn *in = &c->insns[pc];
	*off = in->off;
	return R(SBPF_CLASS(in->code) == SBPF_LDX ? in->src_reg : in->dst_reg);
}

/* ---- ALU ---- */

/* dst = dst / divisor or dst % divisor, divisor in register @dv (neither
 * rax nor rdx), no special cases left (the divisor is not zero and, when
 * signed, not -1). Uses AUX and TMP to keep rax and rdx (r0, r3) intact. */
static void divide(struct jit_buf *b, int w, bool is_signed, bool is_mod, int d, int dv)
{
	if (d != X64_RAX)
		emit_mov_rr(b, 1, TMP, X64_RAX);                  /* mov r10, rax */
	if (d != X64_RDX)
		emit_mov_rr(b, 1, AUX, X64_RDX);                  /* mov r9, rdx */
	if (d != X64_RAX)
		emit_mov_rr(b, 1, X64_RAX, d);                    /* mov rax, dst */
	if (is_signed)
		emit_cqo(b, w);                                   /* cqo / cdq */
	else
		emit_alu_rr(b, 0, X64_OP_XOR, X64_RDX, X64_RDX);  /* xor edx, edx */
	emit_div(b, w, is_signed, dv);                            /* div/idiv divisor */
	int res = is_mod ? X64_RDX : X64_RAX;
	if (d != res)
		emit_mov_rr(b, w, d, res);                        /* mov dst, rax/rdx */
	if (d != X64_RAX)
		emit_mov_rr(b, 1, X64_RAX, TMP);                  /* mov rax, r10 */
	if (d != X64_RDX)
		emit_mov_rr(b, 1, X64_RDX, AUX);                  /* mov rdx, r9 */
}

/* The result of dividing by zero (dst = 0; mod leaves dst, truncated to 32
 * bits for the 32-bit forms) or, when signed, by -1 (dst = -dst; mod 0). */
static void div_by_zero(struct jit_buf *b, int w, bool is_mod, int d)
{
	if (!is_mod)
		emit_alu_rr(b, 0, X64_OP_XOR, d, d);              /* xor dst32, dst32 */
	else if (!w)
		emit_mov_rr(b, 0, d, d);                          /* mov dst32, dst32 */
}

static void div_by_minus_one(struct jit_buf *b, int w, bool is_mod, int d)
{
	if (is_mod)
		emit_alu_rr(b, 0, X64_OP_XOR, d, d);              /* xor dst32, dst32 */
	else
		emit_neg(b, w, d);                                /* neg dst */
}

/* div/mod/sdiv/smod by register @s (copied to r11 when it is rax or rdx,
 * which the division itself uses). */
static void divmod_reg(struct jit_buf *b, int w, bool is_signed, bool is_mod, int d, int s)
{
	int dv = s;
	if (s == X64_RAX || s == X64_RDX) {
		emit_mov_rr(b, w, ADDR, s);                       /* mov r11, src */
		dv = ADDR;
	}
	emit_alu_rr(b, w, X64_OP_TEST, dv, dv);                   /* test divisor, divisor */
	jit_put1(b, 0x74);                                        /* jz zero */
	size_t jz = b->len;
	jit_put1(b, 0);
	size_t jne = 0, jdone_m1 = 0;
	if (is_signed) {
		emit_alu_ri(b, w, X64_EXT_CMP, dv, -1);           /* cmp divisor, -1 */
		jit_put1(b, 0x75);                                /* jne do */
		jne = b->len;
		jit_put1(b, 0);
		div_by_minus_one(b, w, is_mod, d);
		jit_put1(b, 0xeb);                                /* jmp done */
		jdone_m1 = b->len;
		jit_put1(b, 0);
		jit_patch_rel8(b, jne);
	}
	divide(b, w, is_signed, is_mod, d, dv);
	size_t jdone = 0;
	bool zero_code = !is_mod || !w;
	if (zero_code) {
		jit_put1(b, 0xeb);                                /* jmp done */
		jdone = b->len;
		jit_put1(b, 0);
	}
	jit_patch_rel8(b, jz);
	div_by_zero(b, w, is_mod, d);
	if (zero_code)
		jit_patch_rel8(b, jdone);
	if (is_signed)
		jit_patch_rel8(b, jdone_m1);
}

static bool is_pow2(uint64_t v) { return v && !(v & (v - 1)); }
static int log2u(uint64_t v) { return 63 - __builtin_clzll(v); }

/* div/mod/sdiv/smod by the constant @imm (sign-extended for 64-bit forms). */
static void divmod_imm(struct jit_buf *b, int w, bool is_signed, bool is_mod, int d, int32_t imm)
{
	uint64_t divisor = w ? (uint64_t)(int64_t)imm : (uint32_t)imm;
	if (divisor == 0) {
		div_by_zero(b, w, is_mod, d);
		return;
	}
	if (is_signed && imm == -1) {
		div_by_minus_one(b, w, is_mod, d);
		return;
	}
	if (!is_signed && is_pow2(divisor)) {
		if (!is_mod) {
			if (divisor > 1)
				emit_shift_ri(b, w, X64_SH_SHR, d, (uint8_t)log2u(divisor)); /* shr dst, k */
			else if (!w)
				emit_mov_rr(b, 0, d, d);                                    /* mov dst32, dst32 */
		} else {
			/* divisor <= 2^31 here, so the mask fits a positive imm32 */
			emit_alu_ri(b, w, X64_EXT_AND, d, (int32_t)(divisor - 1));          /* and dst, k-1 */
		}
		return;
	}
	if (w && imm < 0)
		emit_mov_ri_sx(b, ADDR, imm);                     /* mov r11, simm32 */
	else
		emit_mov_ri32(b, ADDR, (uint32_t)imm);            /* mov r11d, imm32 */
	divide(b, w, is_signed, is_mod, d, ADDR);
}

/* lsh/rsh/arsh by register: shlx/shrx/sarx with BMI2, else through cl. */
static void shift_reg(struct jit_ctx *c, int w, int ext, int d, int s)
{
	struct jit_buf *b = &c->buf;
	if (c->features & X64_F_BMI2) {
		int pp = ext == X64_SH_SHL ? X64_SHX_SHL : ext == X64_SH_SHR ? X64_SHX_SHR : X64_SHX_SAR;
		emit_shiftx(b, w, pp, d, d, s);                   /* shlx/shrx/sarx dst, dst, src */
		return;
	}
	if (s == X64_RCX) {
		emit_shift_cl(b, w, ext, d);                      /* shl/shr/sar dst, cl */
	} else if (d == X64_RCX) {
		emit_mov_rr(b, 1, ADDR, X64_RCX);                 /* mov r11, rcx */
		emit_mov_rr(b, 1, X64_RCX, s);                    /* mov rcx, src */
		emit_shift_cl(b, w, ext, ADDR);                   /* shl/shr/sar r11, cl */
		emit_mov_rr(b, 1, X64_RCX, ADDR);                 /* mov rcx, r11 */
	} else {
		emit_mov_rr(b, 1, ADDR, X64_RCX);                 /* mov r11, rcx */
		emit_mov_rr(b, 1, X64_RCX, s);                    /* mov rcx, src */
		emit_shift_cl(b, w, ext, d);                      /* shl/shr/sar dst, cl */
		emit_mov_rr(b, 1, X64_RCX, ADDR);                 /* mov rcx, r11 */
	}
}

/* dst = 64-bit constant @v, in the shortest form. */
static void load_const(struct jit_buf *b, int d, uint64_t v)
{
	if (v == 0)
		emit_alu_rr(b, 0, X64_OP_XOR, d, d);              /* xor dst32, dst32 */
	else if (v <= UINT32_MAX)
		emit_mov_ri32(b, d, (uint32_t)v);                 /* mov dst32, imm32 */
	else if ((int64_t)v >= INT32_MIN && (int64_t)v < 0)
		emit_mov_ri_sx(b, d, (int32_t)v);                 /* mov dst, simm32 */
	else
		emit_movabs(b, d, v);                             /* movabs dst, imm64 */
}

/* Two-operand ALU forms: add, sub, or, and, xor. */
static int alu_op_reg(int bpf_op)
{
	switch (bpf_op) {
	case SBPF_ADD: return X64_OP_ADD;
	case SBPF_SUB: return X64_OP_SUB;
	case SBPF_OR: return X64_OP_OR;
	case SBPF_AND: return X64_OP_AND;
	default: return X64_OP_XOR;
	}
}

static int alu_op_ext(int bpf_op)
{
	switch (bpf_op) {
	case SBPF_ADD: return X64_EXT_ADD;
	case SBPF_SUB: return X64_EXT_SUB;
	case SBPF_OR: return X64_EXT_OR;
	case SBPF_AND: return X64_EXT_AND;
	default: return X64_EXT_XOR;
	}
}

static int shift_ext(int bpf_op)
{
	return bpf_op == SBPF_LSH ? X64_SH_SHL : bpf_op == SBPF_RSH ? X64_SH_SHR : X64_SH_SAR;
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

	switch (bop) {
	case SBPF_ADD: case SBPF_SUB: case SBPF_OR: case SBPF_AND: case SBPF_XOR:
		if (is_x) {
			if (w && d == s && (bop == SBPF_SUB || bop == SBPF_XOR))
				emit_alu_rr(b, 0, X64_OP_XOR, d, d);           /* xor dst32, dst32 */
			else
				emit_alu_rr(b, w, alu_op_reg(bop), d, s);      /* op dst, src */
		} else if (w && imm == 0 && bop != SBPF_AND) {
			/* x op 0 == x */
		} else if (w && imm == -1 && bop == SBPF_AND) {
			/* x & -1 == x */
		} else if (bop == SBPF_AND && imm == 0) {
			emit_alu_rr(b, 0, X64_OP_XOR, d, d);                   /* xor dst32, dst32 */
		} else {
			emit_alu_ri(b, w, alu_op_ext(bop), d, imm);            /* op dst, imm */
		}
		break;
	case SBPF_MOV:
		if (op == SBPF_OP_MOVSX8_64 || op == SBPF_OP_MOVSX8_32)
			emit_movsx_rr8(b, w, d, s);                            /* movsx dst, src8 */
		else if (op == SBPF_OP_MOVSX16_64 || op == SBPF_OP_MOVSX16_32)
			emit_movsx_rr16(b, w, d, s);                           /* movsx dst, src16 */
		else if (op == SBPF_OP_MOVSX32_64)
			emit_movsxd_rr(b, d, s);                               /* movsxd dst, src32 */
		else if (is_x && (!w || d != s))
			emit_mov_rr(b, w, d, s);                               /* mov dst, src */
		else if (!is_x)
			load_const(b, d, w ? (uint64_t)(int64_t)imm : (uint32_t)imm);
		break;
	case SBPF_MUL:
		if (is_x)
			emit_imul_rr(b, w, d, s);                              /* imul dst, src */
		else
			emit_imul_rri(b, w, d, d, imm);                        /* imul dst, dst, imm */
		break;
	case SBPF_DIV: case SBPF_MOD:
		if (is_x)
			divmod_reg(b, w, in->off == 1, bop == SBPF_MOD, d, s);
		else
			divmod_imm(b, w, in->off == 1, bop == SBPF_MOD, d, imm);
		break;
	case SBPF_LSH: case SBPF_RSH: case SBPF_ARSH:
		if (is_x) {
			shift_reg(c, w, shift_ext(bop), d, s);
		} else {
			uint8_t n = (uint8_t)(imm & (w ? 63 : 31));
			if (n)
				emit_shift_ri(b, w, shift_ext(bop), d, n);     /* shl/shr/sar dst, n */
			else if (!w)
				emit_mov_rr(b, 0, d, d);                       /* mov dst32, dst32 */
		}
		break;
	case SBPF_NEG:
		emit_neg(b, w, d);                                             /* neg dst */
		break;
	default:
		jit_buf_fail(b, -EINVAL);
		break;
	}
}

/* le/be/bswap: on a little-endian host "le" truncates and "be"/"bswap" swap. */
static void byteswap(struct jit_buf *b, const struct sbpf_insn *in, enum sbpf_op op)
{
	int d = R(in->dst_reg);
	bool swap = op != SBPF_OP_LE16 && op != SBPF_OP_LE32 && op != SBPF_OP_LE64;
	switch (in->imm) {
	case 16:
		if (swap)
			emit_rol16_8(b, d);                       /* rol dst16, 8 */
		emit_movzx_rr16(b, d, d);                         /* movzx dst32, dst16 */
		break;
	case 32:
		if (swap)
			emit_bswap(b, 0, d);                      /* bswap dst32 */
		else
			emit_mov_rr(b, 0, d, d);                  /* mov dst32, dst32 */
		break;
	default:
		if (swap)
			emit_bswap(b, 1, d);                      /* bswap dst */
		break;
	}
}

/* ---- memory ---- */

static int access_size(uint8_t code)
{
	static const int sizes[4] = { 4, 2, 1, 8 };
	return sizes[(code >> 3) & 3];
}

static void load_store(struct jit_ctx *c, size_t pc, const struct sbpf_insn *in, int fmt)
{
	struct jit_buf *b = &c->buf;
	int size = access_size(in->code);
	int32_t disp;
	if (fmt == SBPF_FMT_LDX) {
		int base = mem_operand(c, pc, in->src_reg, in->off, size, &disp);
		if ((in->code & 0xe0) == SBPF_MEMSX)
			emit_load_sx(b, size, R(in->dst_reg), base, disp);  /* movsx dst, [base+disp] */
		else
			emit_load(b, size, R(in->dst_reg), base, disp);     /* mov(zx) dst, [base+disp] */
	} else {
		int base = mem_operand(c, pc, in->dst_reg, in->off, size, &disp);
		if (fmt == SBPF_FMT_ST)
			emit_store_imm(b, size, base, disp, in->imm);       /* mov [base+disp], imm */
		else
			emit_store(b, size, base, disp, R(in->src_reg));    /* mov [base+disp], src */
	}
}

/* Atomic read-modify-write instructions (64-bit for class STX|DW). */
static void atomic(struct jit_ctx *c, size_t pc, const struct sbpf_insn *in)
{
	struct jit_buf *b = &c->buf;
	int w = access_size(in->code) == 8;
	int32_t disp;
	int base = mem_operand(c, pc, in->dst_reg, in->off, w ? 8 : 4, &disp);
	int s = R(in->src_reg);
	int aop = in->imm & ~SBPF_FETCH;
	if (in->imm == SBPF_XCHG) {
		emit_xchg_mr(b, w, base, disp, s);                         /* xchg [m], src */
		return;
	}
	if (in->imm == SBPF_CMPXCHG) {
		emit_lock_cmpxchg(b, w, base, disp, s);                    /* lock cmpxchg [m], src */
		if (!w)
			emit_mov_rr(b, 0, X64_RAX, X64_RAX);               /* mov eax, eax */
		return;
	}
	if (aop == SBPF_ADD && (in->imm & SBPF_FETCH)) {
		emit_lock_xadd(b, w, base, disp, s);                       /* lock xadd [m], src */
		return;
	}
	if (!(in->imm & SBPF_FETCH)) {
		emit_lock_alu_mr(b, w, alu_op_reg(aop), base, disp, s);    /* lock op [m], src */
		return;
	}
	/* fetch or/and/xor: a cmpxchg loop with the address in AUX. */
	emit_lea(b, AUX, base, disp);                                      /* lea r9, [m] */
	emit_mov_rr(b, 1, TMP, X64_RAX);                                   /* mov r10, rax */
	int val = s == X64_RAX ? TMP : s;
	emit_load(b, w ? 8 : 4, X64_RAX, AUX, 0);                          /* mov rax, [r9] */
	size_t loop = b->len;
	emit_mov_rr(b, w, ADDR, X64_RAX);                                  /* mov r11, rax */
	emit_alu_rr(b, w, alu_op_reg(aop), ADDR, val);                     /* op r11, src */
	emit_lock_cmpxchg(b, w, AUX, 0, ADDR);                             /* lock cmpxchg [r9], r11 */
	emit_jcc_rel8(b, X64_CC_NE, (int8_t)((long)loop - (long)(b->len + 2))); /* jne loop */
	if (s != X64_RAX) {
		emit_mov_rr(b, w, s, X64_RAX);                             /* mov src, rax */
		emit_mov_rr(b, 1, X64_RAX, TMP);                           /* mov rax, r10 */
	}
}

/* ---- calls and exits ---- */

/* Callee-saved eBPF registers (r6-r9) the program uses. */
static int callee_saved(const struct jit_ctx *c, int out[4])
{
	int n = 0;
	for (int r = 6; r <= 9; r++)
		if (c->regs_used & (1u << r))
			out[n++] = R(r);
	return n;
}

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
		jump_to_stub(c, pc, -1, STUB_ERROR,
			     in->src_reg ? JIT_ERR_KFUNC : JIT_ERR_HELPER, 0); /* jmp stub */
		return;
	}
	uint64_t target = (uint64_t)(uintptr_t)fn;
	if (c->base) {
		int64_t lo = (int64_t)(target - c->base);
		int64_t hi = lo - (int64_t)c->image_max - 16;
		if (x64_is_simm32(lo) && x64_is_simm32(hi)) {
			uint64_t here = c->base + b->len + 5;
			emit_call_rel32(b, (int32_t)(int64_t)(target - here)); /* call helper */
			return;
		}
	}
	emit_movabs(b, X64_RAX, target);                                   /* movabs rax, helper */
	emit_call_r(b, X64_RAX);                                           /* call rax */
}

static void call_local(struct jit_ctx *c, size_t pc, const struct sbpf_insn *in)
{
	struct jit_buf *b = &c->buf;
	size_t target = (size_t)((long)pc + 1 + in->imm);
	if (c->checked) {
		emit_lea(b, ADDR, X64_RBP, -2 * SBPF_STACK_SIZE);           /* lea r11, [rbp-1024] */
		emit_alu_rm(b, 1, X64_OPR_CMP, ADDR, RT, JIT_RT_STK_LO);   /* cmp r11, [r12+stk_lo] */
		jump_to_stub(c, pc, X64_CC_B, STUB_ERROR, JIT_ERR_DEPTH,
			     TAIL_AFTER_CHECK);                            /* jb stub */
	}
	int regs[4];
	int n = callee_saved(c, regs);
	for (int i = 0; i < n; i++)
		emit_push(b, regs[i]);                                     /* push reg */
	if (n % 2 == 0)
		emit_alu_ri(b, 1, X64_EXT_SUB, X64_RSP, 8);                /* sub rsp, 8 */
	emit_alu_ri(b, 1, X64_EXT_SUB, X64_RBP, SBPF_STACK_SIZE);          /* sub rbp, 512 */
	if (c->checked) {
		long z = c->prev ? (long)c->prev_labels[L_ZERO_FRAME] : -1;
		emit_call_rel32(b, z >= 0 ? (int32_t)(z - (long)(b->len + 5)) : 0); /* call zero_frame */
	}
	long t = target <= pc ? (long)c->addrs[target] : jit_prev_addr(c, target);
	emit_call_rel32(b, t >= 0 ? (int32_t)(t - (long)(b->len + 5)) : 0); /* call func */
	emit_alu_ri(b, 1, X64_EXT_ADD, X64_RBP, SBPF_STACK_SIZE);          /* add rbp, 512 */
	if (n % 2 == 0)
		emit_alu_ri(b, 1, X64_EXT_ADD, X64_RSP, 8);                /* add rsp, 8 */
	for (int i = n - 1; i >= 0; i--)
		emit_pop(b, regs[i]);                                      /* pop reg */
}

/* True when slot @pc belongs to the outermost function (statically: the
 * functions are laid out one after the other, the outermost first). */
static bool in_main(const struct jit_ctx *c, size_t pc)
{
	return pc < c->first_sub;
}

static void exit_insn(struct jit_ctx *c, size_t pc)
{
	struct jit_buf *b = &c->buf;
	if (!c->has_calls) {
		if (pc + 1 < c->n)
			jump_to_label(c, pc, -1, L_EPILOGUE, 0);           /* jmp epilogue */
		return; /* the last instruction falls into the epilogue */
	}
	if (c->checked) {
		emit_alu_rm(b, 1, X64_OPR_CMP, X64_RBP, RT, JIT_RT_FP0);   /* cmp rbp, [r12+fp0] */
		jump_to_label(c, pc, X64_CC_E, L_EPILOGUE, 1);             /* je epilogue */
		emit_ret(b);                                               /* ret */
	} else if (in_main(c, pc)) {
		jump_to_label(c, pc, -1, L_EPILOGUE, 0);                   /* jmp epilogue */
	} else {
		emit_ret(b);                                               /* ret */
	}
}

/* ---- jumps ---- */

/* 1 when the conditional jump at @pc skips exactly an unconditional `ja`
 * nothing else jumps to (clang's loop latch `if cond goto +1; goto head`):
 * cond_jump() then emits one jump on the inverse condition to the ja's
 * target, saving a taken jump per iteration. A Kops site never starts
 * at a ja (proof sequences have no jumps). */
static bool skips_ja(const struct jit_ctx *c, size_t pc)
{
	const struct sbpf_insn *in = &c->insns[pc];
	if (in->off != 1 || pc + 1 >= c->n || (c->flags[pc + 1] & (JIT_SLOT_TARGET | JIT_SLOT_FUNC)))
		return false;
	const struct sbpf_insn *ja = &c->insns[pc + 1];
	return sbpf_op_info(sbpf_decode(ja))->fmt == SBPF_FMT_JA && ja->off != 0;
}

/* Emits the conditional jump at @pc; returns the slots it covered (2 when
 * it absorbed the ja it skips, see skips_ja). */
static int cond_jump(struct jit_ctx *c, size_t pc, const struct sbpf_insn *in)
{
	struct jit_buf *b = &c->buf;
	size_t target = (size_t)((long)pc + 1 + in->off);
	if (target == pc + 1)
		return 1; /* both ways lead to the next instruction */
	int fused = skips_ja(c, pc);
	int w = SBPF_CLASS(in->code) == SBPF_JMP;
	int jop = in->code & 0xf0;
	int d = R(in->dst_reg);
	if (in->code & SBPF_X) {
		if (jop == SBPF_JSET)
			emit_alu_rr(b, w, X64_OP_TEST, d, R(in->src_reg));  /* test dst, src */
		else
			emit_alu_rr(b, w, X64_OP_CMP, d, R(in->src_reg));   /* cmp dst, src */
	} else if (jop == SBPF_JSET) {
		if (in->imm >= 0 && in->imm <= 0xff)
			emit_test_ri8(b, d, (uint8_t)in->imm);              /* test dst8, imm8 */
		else
			emit_test_ri(b, w, d, in->imm);                     /* test dst, imm32 */
	} else if (in->imm == 0) {
		emit_alu_rr(b, w, X64_OP_TEST, d, d);                       /* test dst, dst */
	} else {
		emit_alu_ri(b, w, X64_EXT_CMP, d, in->imm);                 /* cmp dst, imm */
	}
	if (fused) {
		/* x86 condition codes come in pairs: cc ^ 1 is the inverse */
		size_t far = (size_t)((long)pc + 2 + c->insns[pc + 1].off);
		jump_to_pc(c, pc + 1, x64_cc_of_jump(jop) ^ 1, far, 0);    /* jncc far */
		return 2;
	}
	jump_to_pc(c, pc, x64_cc_of_jump(jop), target, 0);
	return 1;
}

/* ---- the vtable ---- */

static void x64_prologue(struct jit_ctx *c)
{
	struct jit_buf *b = &c->buf;
	int regs[6];
	int n = saved_regs(c, regs);
	for (int i = 0; i < n; i++)
		emit_push(b, regs[i]);                                     /* push reg */
	uint32_t frame = frame_size(c);
	if (frame)
		emit_alu_ri(b, 1, X64_EXT_SUB, X64_RSP, (int32_t)frame);   /* sub rsp, frame */
	if (c->checked) {
		emit_mov_rr(b, 1, RT, X64_RDX);                            /* mov r12, rdx */
		emit_store(b, 8, RT, JIT_RT_STK_LO, X64_RSP);              /* mov [r12+stk_lo], rsp */
	}
	if (c->checked && c->stack_size) {
		/* Like the interpreter's, a frame starts zeroed. */
		emit_mov_rr(b, 1, ADDR, X64_RDI);                          /* mov r11, rdi */
		emit_lea(b, X64_RDI, X64_RSP,
			 (int32_t)(c->stack_size - SBPF_STACK_SIZE));      /* lea rdi, [rsp+stack-512] */
		emit_mov_ri32(b, X64_RCX, SBPF_STACK_SIZE / 8);            /* mov ecx, 64 */
		emit_alu_rr(b, 0, X64_OP_XOR, X64_RAX, X64_RAX);           /* xor eax, eax */
		emit_rep_stosq(b);                                         /* rep stosq */
		emit_mov_rr(b, 1, X64_RDI, ADDR);                          /* mov rdi, r11 */
	}
	if (c->stack_size)
		emit_lea(b, X64_RBP, X64_RSP, (int32_t)c->stack_size);     /* lea rbp, [rsp+stack] */
	if (c->checked && c->stack_size)
		emit_store(b, 8, RT, JIT_RT_FP0, X64_RBP);                 /* mov [r12+fp0], rbp */
	if (c->checked) {
		/* The interpreter starts with r0 and r3..r9 zero. */
		for (int r = 0; r <= 9; r++)
			if (r != 1 && r != 2 && (r <= 5 || (c->regs_used & (1u << r))))
				emit_alu_rr(b, 0, X64_OP_XOR, R(r), R(r)); /* xor reg32, reg32 */
	}
}

/* Checked mode, at a loop header: charge the budget. */
static void loop_check(struct jit_ctx *c, size_t pc)
{
	if (c->checked && (c->flags[pc] & JIT_SLOT_LOOP_HEAD)) {
		emit_alu_mi(&c->buf, 1, X64_EXT_SUB, RT, JIT_RT_BUDGET, 1); /* sub qword [r12+budget], 1 */
		jump_to_stub(c, pc, X64_CC_B, STUB_ERROR, JIT_ERR_BUDGET,
			     TAIL_AFTER_CHECK);                             /* jb stub */
	}
}

static int x64_insn(struct jit_ctx *c, size_t pc)
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
				jump_to_stub(c, pc, -1, STUB_ERROR, JIT_ERR_PSEUDO, 0); /* jmp stub */
			return 2;
		}
		load_const(b, R(in->dst_reg), (uint64_t)(uint32_t)in->imm | (uint64_t)(uint32_t)in[1].imm << 32);
		return 2;
	case SBPF_FMT_JA:
		if (in->off)
			jump_to_pc(c, pc, -1, (size_t)((long)pc + 1 + in->off), 0);
		return 1;
	case SBPF_FMT_JA32:
		if (in->imm)
			jump_to_pc(c, pc, -1, (size_t)((long)pc + 1 + in->imm), 0);
		return 1;
	case SBPF_FMT_JCOND_K: case SBPF_FMT_JCOND_X:
		return cond_jump(c, pc, in);
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

/* Epilogue, the shared error exit, then every stub. */
static void x64_tail(struct jit_ctx *c)
{
	struct jit_buf *b = &c->buf;
	c->labels[L_EPILOGUE] = (uint32_t)b->len;
	uint32_t frame = frame_size(c);
	if (frame)
		emit_alu_ri(b, 1, X64_EXT_ADD, X64_RSP, (int32_t)frame);   /* add rsp, frame */
	int regs[6];
	int n = saved_regs(c, regs);
	for (int i = n - 1; i >= 0; i--)
		emit_pop(b, regs[i]);                                      /* pop reg */
	emit_ret(b);                                                       /* ret */
	if (!c->checked)
		return;
	if (c->has_calls) {
		/* zero_frame: zeroes the callee's new frame [rbp-512, rbp),
		 * keeping every eBPF register. */
		c->labels[L_ZERO_FRAME] = (uint32_t)b->len;
		emit_mov_rr(b, 1, AUX, X64_RDI);                           /* mov r9, rdi */
		emit_mov_rr(b, 1, TMP, X64_RCX);                           /* mov r10, rcx */
		emit_mov_rr(b, 1, ADDR, X64_RAX);                          /* mov r11, rax */
		emit_lea(b, X64_RDI, X64_RBP, -SBPF_STACK_SIZE);           /* lea rdi, [rbp-512] */
		emit_mov_ri32(b, X64_RCX, SBPF_STACK_SIZE / 8);            /* mov ecx, 64 */
		emit_alu_rr(b, 0, X64_OP_XOR, X64_RAX, X64_RAX);           /* xor eax, eax */
		emit_rep_stosq(b);                                         /* rep stosq */
		emit_mov_rr(b, 1, X64_RDI, AUX);                           /* mov rdi, r9 */
		emit_mov_rr(b, 1, X64_RCX, TMP);                           /* mov rcx, r10 */
		emit_mov_rr(b, 1, X64_RAX, ADDR);                          /* mov rax, r11 */
		emit_ret(b);                                               /* ret */
	}
	/* Error exit: r10 = code, r11 = faulting address. */
	c->labels[L_ERROR] = (uint32_t)b->len;
	emit_store(b, 8, RT, JIT_RT_ERR_ADDR, ADDR);                       /* mov [r12+err_addr], r11 */
	emit_store(b, 8, RT, JIT_RT_ERR_CODE, TMP);                        /* mov [r12+err_code], r10 */
	emit_store(b, 8, RT, JIT_RT_ERR_FP, X64_RBP);                      /* mov [r12+err_fp], rbp */
	emit_alu_rm(b, 1, X64_OPR_MOV, X64_RSP, RT, JIT_RT_STK_LO);        /* mov rsp, [r12+stk_lo] */
	jump_to(c, -1, c->labels[L_EPILOGUE], true, 0, 0);                    /* jmp epilogue */
	for (size_t k = 0; k < c->nstubs; k++) {
		const struct jit_stub *s = &c->stubs[k];
		c->stub_addrs[k] = (uint32_t)b->len;
		uint32_t code;
		if (s->kind == STUB_ACCESS) {
			int16_t off;
			int base = access_base(c, s->pc, &off);
			emit_lea(b, ADDR, base, off);                                      /* lea r11, [base+off] */
			if (c->stack_size) {
				/* Valid: the current frame up to the top of the main
				 * frame, [rbp-512, fp0). */
				emit_lea(b, TMP, ADDR, SBPF_STACK_SIZE);                   /* lea r10, [r11+512] */
				emit_alu_rr(b, 1, X64_OP_SUB, TMP, X64_RBP);               /* sub r10, rbp */
				emit_alu_rm(b, 1, X64_OPR_MOV, AUX, RT, JIT_RT_FP0);       /* mov r9, [r12+fp0] */
				emit_alu_rr(b, 1, X64_OP_SUB, AUX, X64_RBP);               /* sub r9, rbp */
				emit_alu_ri(b, 1, X64_EXT_ADD, AUX,
					    (int32_t)(SBPF_STACK_SIZE - s->arg + 1));      /* add r9, 512-size+1 */
				emit_alu_rr(b, 1, X64_OP_CMP, TMP, AUX);                   /* cmp r10, r9 */
				jump_to(c, X64_CC_B, s->resume, true, 0, 0);                  /* jb resume */
			}
			/* The program type's other regions (read-only ones have
			 * no valid store offsets). */
			bool store = SBPF_CLASS(c->insns[s->pc].code) != SBPF_LDX;
			for (int k = 0; k < c->nextra; k++) {
				int32_t x = JIT_RT_EXTRA + k * JIT_RT_EXTRA_SIZE;
				int32_t cnt = x + 8 * size_index((int)s->arg) + (int32_t)(store
					? offsetof(struct jit_rt_region, wcnt) : offsetof(struct jit_rt_region, rcnt));
				emit_mov_rr(b, 1, TMP, ADDR);                              /* mov r10, r11 */
				emit_alu_rm(b, 1, X64_OPR_SUB, TMP, RT, x);                /* sub r10, [r12+x.lo] */
				emit_alu_rm(b, 1, X64_OPR_CMP, TMP, RT, cnt);              /* cmp r10, [r12+x.cnt] */
				jump_to(c, X64_CC_B, s->resume, true, 0, 0);               /* jb resume */
			}
			code = JIT_ERR_CODE(JIT_ERR_ACCESS, s->pc);
		} else {
			code = JIT_ERR_CODE(s->arg, s->pc);
		}
		emit_mov_ri32(b, TMP, code);                                       /* mov r10d, code */
		jump_to(c, -1, c->labels[L_ERROR], true, 0, 0);                       /* jmp error */
	}
}

/* ---- Kops native operations ---- */

/* kops_x86.mem_check: the bounds check of the proof-sequence access at
 * lowered slot @slot, exactly as load_store() would emit it. */
static int kops_mem_check(struct kops_x86 *x, size_t slot, int32_t *disp)
{
	struct jit_ctx *c = x->backend;
	const struct sbpf_insn *in = &c->insns[slot];
	int ldx = SBPF_CLASS(in->code) == SBPF_LDX;
	return mem_operand(c, slot, ldx ? in->src_reg : in->dst_reg, in->off, access_size(in->code), disp);
}

/* jit_target.kops_emit: the site's x86-64 emit. */
static int x64_kops_emit(struct jit_ctx *c, size_t pc, const struct sbpf_kops_site *s, size_t *max_len)
{
	const struct kops_op *op = kops_op(s->p.op);
	if (!op || !op->emit_x86_64)
		return -ENOENT;
	struct kops_x86 x = {
		.b = &c->buf, .reg = reg_map, .features = c->features, .checked = c->checked,
		.mutant = c->kops_mutant, .pc = pc, .mem_check = kops_mem_check, .backend = c,
	};
	*max_len = (size_t)op->native_max_x86_64;
	return op->emit_x86_64(&s->p, &x);
}

const struct jit_target jit_target_x86_64 = {
	.name = "x86_64",
	.cs_arch = CS_ARCH_X86,
	.cs_mode = CS_MODE_64,
#if defined(__x86_64__)
	.native = true,
#endif
	.probe = x64_probe,
	.prologue = x64_prologue,
	.insn = x64_insn,
	.tail = x64_tail,
	.loop_check = loop_check,
	.kops_emit = x64_kops_emit,
};
