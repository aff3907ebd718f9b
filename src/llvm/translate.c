/* translate.c - eBPF bytecode to LLVM IR.
 *
 * One LLVM function per eBPF function: the entry (slot 0) becomes
 * `i64 ENTRY(i64 r1, i64 r2)`; each local-call target becomes an internal
 * fastcc function taking r0..r9 and returning r0..r5 (the interpreter lets
 * a callee see its caller's registers and the caller see the callee's
 * r1..r5). A function is the set of slots reachable from its entry by
 * jumps; every basic block of it (leaders: analysis.c) is one LLVM basic
 * block. Registers are i64 allocas in the entry block, the stack frame a
 * zeroed [512 x i8] alloca; SROA/mem2reg turn both into SSA values.
 *
 * Semantics are the interpreter's (safebpf/vm.h): division by zero gives 0
 * and modulo by zero the dividend (32-bit: truncated), INT_MIN / -1 wraps,
 * shift amounts are masked, 32-bit results are zero-extended. Memory
 * accesses are unchecked: the kernel verifier vouches for them. Accesses
 * whose base the analysis proves to be this frame's r10 + k address the
 * stack array directly; all others go through inttoptr.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llvm/llvmInt.h"

#define MAX_FUNCS 4096

/* Translation state of the whole module and of the function being built. */
struct tx {
	struct sbpf_llvm *l;          /* the engine handle (insns, options, errors) */
	const struct sbpf_insn *in;   /* l->insns */
	size_t n;                     /* slots */
	uint8_t *leader;              /* llvm_leaders() */
	int facts;                    /* packet facts on (xdp, not no_facts) */
	LLVMContextRef c;
	LLVMModuleRef m;
	LLVMBuilderRef b;
	LLVMTypeRef i1, i8, i16, i32, i64, ret6, subty, helperty;
	LLVMValueRef helper[SBPF_MAX_HELPERS]; /* declared sbpf_helper_<id>, or NULL */
	LLVMValueRef rodata;          /* the embedded read-only data, or NULL */
	size_t fentry[MAX_FUNCS];     /* entry slot of each function (0: the program's) */
	LLVMValueRef fval[MAX_FUNCS]; /* its LLVM function */
	size_t nf;                    /* functions known so far */
	/* the function being built */
	LLVMValueRef fn;
	LLVMValueRef reg[SBPF_NREGS]; /* allocas of r0..r10 */
	LLVMValueRef stack;           /* [512 x i8] alloca */
	LLVMBasicBlockRef *bb;        /* per slot, created on first use */
	size_t *work, nwork;          /* blocks still to translate */
	struct av_state *avin;        /* analysis: state at each leader */
	struct av_state cur;          /* state before the instruction being translated */
	int rc;                       /* first error */
};

static int fail(struct tx *t, int rc, size_t pc, const char *fmt, ...)
{
	if (!t->rc) {
		va_list ap;
		va_start(ap, fmt);
		int k = snprintf(t->l->err, sizeof(t->l->err), "instruction %zu: ", pc);
		vsnprintf(t->l->err + k, sizeof(t->l->err) - (size_t)k, fmt, ap);
		va_end(ap);
		t->rc = rc;
	}
	return rc;
}

static LLVMValueRef c64(struct tx *t, uint64_t v)
{
	return LLVMConstInt(t->i64, v, 0);
}

static LLVMValueRef cT(LLVMTypeRef ty, uint64_t v)
{
	return LLVMConstInt(ty, v, 0);
}

static LLVMValueRef ld(struct tx *t, int r)
{
	return LLVMBuildLoad2(t->b, t->i64, t->reg[r], "");
}

static void st(struct tx *t, int r, LLVMValueRef v)
{
	LLVMBuildStore(t->b, v, t->reg[r]);
}

/* The basic block of slot @pc in the current function (queued for
 * translation when new). */
static LLVMBasicBlockRef block(struct tx *t, size_t pc)
{
	if (!t->bb[pc]) {
		char name[32];
		snprintf(name, sizeof(name), "L%zu", pc);
		t->bb[pc] = LLVMAppendBasicBlockInContext(t->c, t->fn, name);
		t->work[t->nwork++] = pc;
	}
	return t->bb[pc];
}

/* The function whose entry is slot @pc, declared when new. */
static LLVMValueRef function_at(struct tx *t, size_t pc)
{
	for (size_t i = 0; i < t->nf; i++)
		if (t->fentry[i] == pc)
			return t->fval[i];
	if (t->nf == MAX_FUNCS) {
		fail(t, -E2BIG, pc, "more than %d functions", MAX_FUNCS);
		return NULL;
	}
	char name[40];
	snprintf(name, sizeof(name), "sbpf_fn_%zu", pc);
	LLVMValueRef f = LLVMAddFunction(t->m, name, t->subty);
	LLVMSetLinkage(f, LLVMInternalLinkage);
	LLVMSetFunctionCallConv(f, LLVMFastCallConv);
	t->fentry[t->nf] = pc;
	t->fval[t->nf++] = f;
	return f;
}

/* A pointer to @ty for the access at @off from register @r: into the own
 * stack array when the analysis knows r = r10 + k and the access lies in
 * the frame, else inttoptr (with `add nuw` for a known packet pointer). */
static LLVMValueRef mem_ptr(struct tx *t, int r, int16_t off, int size, LLVMTypeRef ty)
{
	LLVMTypeRef pty = LLVMPointerType(ty, 0);
	struct av_reg a = t->cur.r[r];
	if (a.kind == AV_FP) {
		int64_t o = SBPF_STACK_SIZE + a.k + off;
		if (o >= 0 && o + size <= SBPF_STACK_SIZE) {
			LLVMValueRef idx[2] = { c64(t, 0), c64(t, (uint64_t)o) };
			LLVMValueRef p = LLVMBuildInBoundsGEP2(t->b, LLVMArrayType(t->i8, SBPF_STACK_SIZE),
							       t->stack, idx, 2, "");
			t->l->st.stack_slots_promoted++;
			return LLVMBuildBitCast(t->b, p, pty, "");
		}
	}
	LLVMValueRef v = ld(t, r);
	if (off) {
		/* nuw only for a non-negative addend: -k as u64 would wrap */
		if (a.kind == AV_PKT && t->facts && off > 0 && a.k + off <= 0xffff) {
			v = LLVMBuildNUWAdd(t->b, v, c64(t, (uint64_t)(int64_t)off), "");
			t->l->st.nuw_facts++;
		} else {
			v = LLVMBuildAdd(t->b, v, c64(t, (uint64_t)(int64_t)off), "");
		}
	}
	return LLVMBuildIntToPtr(t->b, v, pty, "");
}

static LLVMTypeRef size_type(struct tx *t, int sz)
{
	switch (sz) {
	case SBPF_B: return t->i8;
	case SBPF_H: return t->i16;
	case SBPF_W: return t->i32;
	default: return t->i64;
	}
}

static int size_bytes(int sz)
{
	return sz == SBPF_B ? 1 : sz == SBPF_H ? 2 : sz == SBPF_W ? 4 : 8;
}

/* a / b and a % b with the eBPF rules for b == 0 (and b == -1 when signed). */
static LLVMValueRef divmod(struct tx *t, LLVMTypeRef ty, LLVMValueRef a, LLVMValueRef b, int mod, int sgn)
{
	LLVMBuilderRef B = t->b;
	LLVMValueRef zero = LLVMBuildICmp(B, LLVMIntEQ, b, cT(ty, 0), "");
	if (!sgn) {
		LLVMValueRef safe = LLVMBuildSelect(B, zero, cT(ty, 1), b, "");
		LLVMValueRef q = mod ? LLVMBuildURem(B, a, safe, "") : LLVMBuildUDiv(B, a, safe, "");
		return LLVMBuildSelect(B, zero, mod ? a : cT(ty, 0), q, "");
	}
	LLVMValueRef m1 = LLVMBuildICmp(B, LLVMIntEQ, b, LLVMConstAllOnes(ty), "");
	LLVMValueRef bad = LLVMBuildOr(B, zero, m1, "");
	LLVMValueRef safe = LLVMBuildSelect(B, bad, cT(ty, 1), b, "");
	LLVMValueRef q = mod ? LLVMBuildSRem(B, a, safe, "") : LLVMBuildSDiv(B, a, safe, "");
	LLVMValueRef r = LLVMBuildSelect(B, m1, mod ? cT(ty, 0) : LLVMBuildNeg(B, a, ""), q, "");
	return LLVMBuildSelect(B, zero, mod ? a : cT(ty, 0), r, "");
}

static LLVMValueRef bswap(struct tx *t, LLVMTypeRef ty, LLVMValueRef v)
{
	const char *name = ty == t->i16 ? "llvm.bswap.i16" : ty == t->i32 ? "llvm.bswap.i32" : "llvm.bswap.i64";
	LLVMValueRef f = LLVMGetNamedFunction(t->m, name);
	LLVMTypeRef fty = LLVMFunctionType(ty, &ty, 1, 0);
	if (!f)
		f = LLVMAddFunction(t->m, name, fty);
	return LLVMBuildCall2(t->b, fty, f, &v, 1, "");
}

/* Byte swaps and truncations (END class): dst = le/be/bswap(dst, imm bits). */
static void emit_end(struct tx *t, const struct sbpf_insn *x, int cls)
{
	LLVMTypeRef ty = x->imm == 16 ? t->i16 : x->imm == 32 ? t->i32 : t->i64;
	LLVMValueRef v = ld(t, x->dst_reg);
	if (ty != t->i64)
		v = LLVMBuildTrunc(t->b, v, ty, "");
	if (cls == SBPF_ALU64 || (x->code & SBPF_TO_BE))
		v = bswap(t, ty, v);
	if (ty != t->i64)
		v = LLVMBuildZExt(t->b, v, t->i64, "");
	st(t, x->dst_reg, v);
}

static void emit_alu(struct tx *t, size_t pc, const struct sbpf_insn *x)
{
	int cls = SBPF_CLASS(x->code), op = x->code & 0xf0, is64 = cls == SBPF_ALU64;
	LLVMBuilderRef B = t->b;
	LLVMTypeRef ty = is64 ? t->i64 : t->i32;
	int d = x->dst_reg, s = x->src_reg;
	if (op == SBPF_END) {
		emit_end(t, x, cls);
		return;
	}
	LLVMValueRef a = ld(t, d), bv;
	if (!is64)
		a = LLVMBuildTrunc(B, a, ty, "");
	if (x->code & SBPF_X) {
		bv = ld(t, s);
		if (!is64 && !(op == SBPF_MOV && x->off))
			bv = LLVMBuildTrunc(B, bv, ty, "");
	} else {
		bv = is64 ? c64(t, (uint64_t)(int64_t)x->imm) : cT(t->i32, (uint32_t)x->imm);
	}
	LLVMValueRef r;
	unsigned mask = is64 ? 63 : 31;
	switch (op) {
	case SBPF_ADD:
		if (is64 && t->facts && t->cur.r[d].kind == AV_PKT && !(x->code & SBPF_X) &&
		    t->cur.r[d].k + x->imm >= 0 && t->cur.r[d].k + x->imm <= 0xffff && x->imm >= 0) {
			r = LLVMBuildNUWAdd(B, a, bv, "");
			t->l->st.nuw_facts++;
		} else {
			r = LLVMBuildAdd(B, a, bv, "");
		}
		break;
	case SBPF_SUB: r = LLVMBuildSub(B, a, bv, ""); break;
	case SBPF_MUL: r = LLVMBuildMul(B, a, bv, ""); break;
	case SBPF_OR: r = LLVMBuildOr(B, a, bv, ""); break;
	case SBPF_AND: r = LLVMBuildAnd(B, a, bv, ""); break;
	case SBPF_XOR: r = LLVMBuildXor(B, a, bv, ""); break;
	case SBPF_LSH: r = LLVMBuildShl(B, a, LLVMBuildAnd(B, bv, cT(ty, mask), ""), ""); break;
	case SBPF_RSH: r = LLVMBuildLShr(B, a, LLVMBuildAnd(B, bv, cT(ty, mask), ""), ""); break;
	case SBPF_ARSH: r = LLVMBuildAShr(B, a, LLVMBuildAnd(B, bv, cT(ty, mask), ""), ""); break;
	case SBPF_DIV: r = divmod(t, ty, a, bv, 0, x->off == 1); break;
	case SBPF_MOD: r = divmod(t, ty, a, bv, 1, x->off == 1); break;
	case SBPF_NEG: r = LLVMBuildNeg(B, a, ""); break;
	case SBPF_MOV:
		if (x->off) { /* movsx: sign-extend the low off bits of src */
			LLVMTypeRef from = x->off == 8 ? t->i8 : x->off == 16 ? t->i16 : t->i32;
			r = LLVMBuildSExt(B, LLVMBuildTrunc(B, bv, from, ""), ty, "");
		} else {
			r = bv;
		}
		break;
	default:
		fail(t, -EINVAL, pc, "unknown ALU operation 0x%02x", x->code);
		return;
	}
	if (!is64)
		r = LLVMBuildZExt(B, r, t->i64, "");
	st(t, d, r);
}

static void emit_ldx(struct tx *t, const struct sbpf_insn *x)
{
	int sz = x->code & 0x18;
	LLVMTypeRef ty = size_type(t, sz);
	LLVMValueRef p = mem_ptr(t, x->src_reg, x->off, size_bytes(sz), ty);
	LLVMValueRef v = LLVMBuildLoad2(t->b, ty, p, "");
	LLVMSetAlignment(v, 1);
	if (ty != t->i64)
		v = (x->code & 0xe0) == SBPF_MEMSX ? LLVMBuildSExt(t->b, v, t->i64, "")
						   : LLVMBuildZExt(t->b, v, t->i64, "");
	st(t, x->dst_reg, v);
}

static void emit_store(struct tx *t, const struct sbpf_insn *x, LLVMValueRef v64)
{
	int sz = x->code & 0x18;
	LLVMTypeRef ty = size_type(t, sz);
	LLVMValueRef p = mem_ptr(t, x->dst_reg, x->off, size_bytes(sz), ty);
	LLVMValueRef v = ty == t->i64 ? v64 : LLVMBuildTrunc(t->b, v64, ty, "");
	LLVMValueRef s = LLVMBuildStore(t->b, v, p);
	LLVMSetAlignment(s, 1);
}

static void emit_atomic(struct tx *t, size_t pc, const struct sbpf_insn *x)
{
	int sz = x->code & 0x18;
	LLVMTypeRef ty = size_type(t, sz);
	LLVMBuilderRef B = t->b;
	LLVMValueRef p = mem_ptr(t, x->dst_reg, x->off, size_bytes(sz), ty);
	LLVMValueRef src = ld(t, x->src_reg);
	if (ty != t->i64)
		src = LLVMBuildTrunc(B, src, ty, "");
	const LLVMAtomicOrdering ord = LLVMAtomicOrderingSequentiallyConsistent;
	if (x->imm == SBPF_CMPXCHG) {
		LLVMValueRef cmp = ld(t, 0);
		if (ty != t->i64)
			cmp = LLVMBuildTrunc(B, cmp, ty, "");
		LLVMValueRef pair = LLVMBuildAtomicCmpXchg(B, p, cmp, src, ord, ord, 0);
		LLVMValueRef old = LLVMBuildExtractValue(B, pair, 0, "");
		st(t, 0, ty != t->i64 ? LLVMBuildZExt(B, old, t->i64, "") : old);
		return;
	}
	LLVMAtomicRMWBinOp rop;
	switch (x->imm & ~SBPF_FETCH) {
	case SBPF_ADD: rop = LLVMAtomicRMWBinOpAdd; break;
	case SBPF_OR: rop = LLVMAtomicRMWBinOpOr; break;
	case SBPF_AND: rop = LLVMAtomicRMWBinOpAnd; break;
	case SBPF_XOR: rop = LLVMAtomicRMWBinOpXor; break;
	case SBPF_XCHG & ~SBPF_FETCH: rop = LLVMAtomicRMWBinOpXchg; break;
	default:
		fail(t, -EINVAL, pc, "unknown atomic operation 0x%x", (unsigned)x->imm);
		return;
	}
	LLVMValueRef old = LLVMBuildAtomicRMW(B, rop, p, src, ord, 0);
	if (x->imm & SBPF_FETCH)
		st(t, x->src_reg, ty != t->i64 ? LLVMBuildZExt(B, old, t->i64, "") : old);
}

static void emit_lddw(struct tx *t, size_t pc, const struct sbpf_insn *x)
{
	uint32_t hi = (uint32_t)t->in[pc + 1].imm;
	if (x->src_reg == 0) {
		st(t, x->dst_reg, c64(t, (uint64_t)(uint32_t)x->imm | (uint64_t)hi << 32));
		return;
	}
	if (x->src_reg == SBPF_RODATA_PSEUDO && x->imm == 0 && t->l->rodata && hi <= t->l->o.rodata_len) {
		LLVMValueRef idx[2] = { c64(t, 0), c64(t, hi) };
		LLVMValueRef p = LLVMBuildInBoundsGEP2(t->b, LLVMGlobalGetValueType(t->rodata), t->rodata,
						       idx, 2, "");
		st(t, x->dst_reg, LLVMBuildPtrToInt(t->b, p, t->i64, ""));
		return;
	}
	fail(t, -EOPNOTSUPP, pc, "lddw with src=%d needs a map or BTF relocation, which user space "
	     "does not provide", x->src_reg);
}

static LLVMValueRef helper_decl(struct tx *t, uint32_t id)
{
	if (!t->helper[id]) {
		char name[32];
		snprintf(name, sizeof(name), "sbpf_helper_%u", id);
		t->helper[id] = LLVMAddFunction(t->m, name, t->helperty);
		LLVMAddAttributeAtIndex(t->helper[id], LLVMAttributeFunctionIndex,
					   LLVMCreateEnumAttribute(t->c, LLVMGetEnumAttributeKindForName("nounwind", 8), 0));
	}
	return t->helper[id];
}

static void emit_call(struct tx *t, size_t pc, const struct sbpf_insn *x)
{
	LLVMBuilderRef B = t->b;
	if (x->src_reg == 0) {
		uint32_t id = (uint32_t)x->imm;
		if (id >= SBPF_MAX_HELPERS || (!t->l->helpers[id] && !t->l->aot)) {
			fail(t, -ENOENT, pc, "call to unknown helper %" PRId32, x->imm);
			return;
		}
		LLVMValueRef args[5];
		for (int r = 1; r <= 5; r++)
			args[r - 1] = ld(t, r);
		st(t, 0, LLVMBuildCall2(B, t->helperty, helper_decl(t, id), args, 5, ""));
		return;
	}
	if (x->src_reg != SBPF_PSEUDO_CALL) {
		fail(t, -EOPNOTSUPP, pc, "kfunc call (BTF id %" PRId32 ") is not available in user space", x->imm);
		return;
	}
	LLVMValueRef f = function_at(t, (size_t)((long)pc + 1 + x->imm));
	if (!f)
		return;
	LLVMValueRef args[10];
	for (int r = 0; r < 10; r++)
		args[r] = ld(t, r);
	LLVMValueRef res = LLVMBuildCall2(B, t->subty, f, args, 10, "");
	LLVMSetInstructionCallConv(res, LLVMFastCallConv);
	for (unsigned r = 0; r <= 5; r++)
		st(t, (int)r, LLVMBuildExtractValue(B, res, r, ""));
}

static void emit_exit(struct tx *t)
{
	if (t->fn == t->fval[0]) {
		LLVMBuildRet(t->b, ld(t, 0));
		return;
	}
	LLVMValueRef agg = LLVMGetUndef(t->ret6);
	for (unsigned r = 0; r <= 5; r++)
		agg = LLVMBuildInsertValue(t->b, agg, ld(t, (int)r), r, "");
	LLVMBuildRet(t->b, agg);
}

static LLVMIntPredicate jmp_pred(int op)
{
	switch (op) {
	case SBPF_JEQ: return LLVMIntEQ;
	case SBPF_JNE: return LLVMIntNE;
	case SBPF_JGT: return LLVMIntUGT;
	case SBPF_JGE: return LLVMIntUGE;
	case SBPF_JLT: return LLVMIntULT;
	case SBPF_JLE: return LLVMIntULE;
	case SBPF_JSGT: return LLVMIntSGT;
	case SBPF_JSGE: return LLVMIntSGE;
	case SBPF_JSLT: return LLVMIntSLT;
	default: return LLVMIntSLE; /* SBPF_JSLE */
	}
}

/* Translates the instruction at @pc; returns 1 when it ended the block. */
static int emit_insn(struct tx *t, size_t pc)
{
	const struct sbpf_insn *x = &t->in[pc];
	int cls = SBPF_CLASS(x->code), op = x->code & 0xf0;
	switch (cls) {
	case SBPF_ALU:
	case SBPF_ALU64:
		emit_alu(t, pc, x);
		return 0;
	case SBPF_LDX:
		emit_ldx(t, x);
		return 0;
	case SBPF_ST:
		emit_store(t, x, c64(t, (uint64_t)(int64_t)x->imm));
		return 0;
	case SBPF_STX:
		if ((x->code & 0xe0) == SBPF_ATOMIC)
			emit_atomic(t, pc, x);
		else
			emit_store(t, x, ld(t, x->src_reg));
		return 0;
	case SBPF_LD:
		emit_lddw(t, pc, x);
		return 0;
	default:
		break;
	}
	/* JMP, JMP32 */
	size_t nx = llvm_next(t->in, pc);
	if (op == SBPF_CALL) {
		emit_call(t, pc, x);
		return 0;
	}
	if (op == SBPF_EXIT) {
		emit_exit(t);
		return 1;
	}
	if (op == SBPF_JA) {
		long d = cls == SBPF_JMP32 ? x->imm : x->off;
		LLVMBuildBr(t->b, block(t, (size_t)((long)pc + 1 + d)));
		return 1;
	}
	LLVMTypeRef ty = cls == SBPF_JMP32 ? t->i32 : t->i64;
	LLVMValueRef a = ld(t, x->dst_reg), b;
	if (x->code & SBPF_X)
		b = ld(t, x->src_reg);
	else
		b = c64(t, (uint64_t)(int64_t)x->imm);
	if (ty == t->i32) {
		a = LLVMBuildTrunc(t->b, a, ty, "");
		b = (x->code & SBPF_X) ? LLVMBuildTrunc(t->b, b, ty, "") : cT(ty, (uint32_t)x->imm);
	}
	LLVMValueRef cond;
	if (op == SBPF_JSET)
		cond = LLVMBuildICmp(t->b, LLVMIntNE, LLVMBuildAnd(t->b, a, b, ""), cT(ty, 0), "");
	else
		cond = LLVMBuildICmp(t->b, jmp_pred(op), a, b, "");
	LLVMBasicBlockRef taken = block(t, (size_t)((long)pc + 1 + x->off));
	LLVMBuildCondBr(t->b, cond, taken, block(t, nx));
	return 1;
}

/* Builds function @fi (entry slot t->fentry[fi]). */
static int emit_function(struct tx *t, size_t fi)
{
	size_t entry = t->fentry[fi];
	t->fn = t->fval[fi];
	t->bb = calloc(t->n, sizeof(*t->bb));
	t->work = malloc(t->n * sizeof(*t->work));
	t->avin = malloc(t->n * sizeof(*t->avin));
	t->nwork = 0;
	int rc = -ENOMEM;
	if (!t->bb || !t->work || !t->avin)
		goto out;
	rc = llvm_av_solve(t->in, t->n, t->leader, entry, t->avin, t->facts && fi == 0);
	if (rc)
		goto out;
	LLVMBuilderRef B = t->b;
	LLVMBasicBlockRef eb = LLVMAppendBasicBlockInContext(t->c, t->fn, "entry");
	LLVMPositionBuilderAtEnd(B, eb);
	static const char *const rn[SBPF_NREGS] = { "r0", "r1", "r2", "r3", "r4", "r5", "r6",
						    "r7", "r8", "r9", "r10" };
	for (int r = 0; r < SBPF_NREGS; r++)
		t->reg[r] = LLVMBuildAlloca(B, t->i64, rn[r]);
	LLVMTypeRef sty = LLVMArrayType(t->i8, SBPF_STACK_SIZE);
	t->stack = LLVMBuildAlloca(B, sty, "stack");
	LLVMSetAlignment(t->stack, 16);
	LLVMValueRef sp = LLVMBuildBitCast(B, t->stack, LLVMPointerType(t->i8, 0), "");
	LLVMBuildMemSet(B, sp, cT(t->i8, 0), c64(t, SBPF_STACK_SIZE), 16);
	if (fi == 0) {
		for (int r = 0; r < 10; r++)
			st(t, r, r == 1 || r == 2 ? LLVMGetParam(t->fn, (unsigned)r - 1) : c64(t, 0));
	} else {
		for (int r = 0; r < 10; r++)
			st(t, r, LLVMGetParam(t->fn, (unsigned)r));
	}
	st(t, SBPF_REG_FP, LLVMBuildAdd(B, LLVMBuildPtrToInt(B, t->stack, t->i64, ""),
					c64(t, SBPF_STACK_SIZE), "fp"));
	LLVMBuildBr(B, block(t, entry));
	while (t->nwork && !t->rc) {
		size_t pc = t->work[--t->nwork];
		LLVMPositionBuilderAtEnd(B, t->bb[pc]);
		t->cur = t->avin[pc];
		for (;;) {
			int end = emit_insn(t, pc);
			if (t->rc)
				break;
			llvm_av_step(t->in, pc, &t->cur, t->facts && fi == 0);
			if (end)
				break;
			size_t nx = llvm_next(t->in, pc);
			if (nx >= t->n) {
				fail(t, -EINVAL, pc, "falls off the end of the program");
				break;
			}
			if (t->leader[nx]) {
				LLVMBuildBr(B, block(t, nx));
				break;
			}
			pc = nx;
		}
	}
	rc = t->rc;
out:
	free(t->bb);
	free(t->work);
	free(t->avin);
	t->bb = NULL;
	t->work = NULL;
	t->avin = NULL;
	return rc;
}

LLVMModuleRef llvm_translate(struct sbpf_llvm *l, LLVMContextRef ctx, const char *entry, int *rc)
{
	struct tx *t = calloc(1, sizeof(*t));
	if (!t) {
		*rc = -ENOMEM;
		snprintf(l->err, sizeof(l->err), "out of memory");
		return NULL;
	}
	t->l = l;
	t->in = l->insns;
	t->n = l->n;
	t->c = ctx;
	t->facts = !l->o.no_facts && l->o.type == SBPF_PROG_XDP;
	t->leader = llvm_leaders(l->insns, l->n);
	if (!t->leader) {
		free(t);
		*rc = -ENOMEM;
		return NULL;
	}
	t->m = LLVMModuleCreateWithNameInContext("sbpf", ctx);
	t->b = LLVMCreateBuilderInContext(ctx);
	t->i1 = LLVMInt1TypeInContext(ctx);
	t->i8 = LLVMInt8TypeInContext(ctx);
	t->i16 = LLVMInt16TypeInContext(ctx);
	t->i32 = LLVMInt32TypeInContext(ctx);
	t->i64 = LLVMInt64TypeInContext(ctx);
	LLVMTypeRef six[10];
	for (int i = 0; i < 10; i++)
		six[i] = t->i64;
	t->ret6 = LLVMStructTypeInContext(ctx, six, 6, 0);
	t->subty = LLVMFunctionType(t->ret6, six, 10, 0);
	t->helperty = LLVMFunctionType(t->i64, six, 5, 0);
	if (l->rodata) {
		LLVMValueRef init = LLVMConstStringInContext(ctx, (const char *)l->rodata,
							     (unsigned)l->o.rodata_len, 1);
		t->rodata = LLVMAddGlobal(t->m, LLVMTypeOf(init), "sbpf_rodata");
		LLVMSetInitializer(t->rodata, init);
		LLVMSetGlobalConstant(t->rodata, 1);
		LLVMSetLinkage(t->rodata, LLVMPrivateLinkage);
		LLVMSetAlignment(t->rodata, 8);
	}
	LLVMTypeRef mainty = LLVMFunctionType(t->i64, six, 2, 0);
	t->fval[0] = LLVMAddFunction(t->m, entry, mainty);
	t->fentry[0] = 0;
	t->nf = 1;
	unsigned nounwind = LLVMGetEnumAttributeKindForName("nounwind", 8);
	for (size_t fi = 0; fi < t->nf && !t->rc; fi++) {
		LLVMAddAttributeAtIndex(t->fval[fi], LLVMAttributeFunctionIndex,
					   LLVMCreateEnumAttribute(ctx, nounwind, 0));
		int r = emit_function(t, fi);
		if (r && !t->rc)
			t->rc = r;
	}
	LLVMDisposeBuilder(t->b);
	free(t->leader);
	LLVMModuleRef m = t->m;
	*rc = t->rc;
	free(t);
	if (*rc) {
		LLVMDisposeModule(m);
		return NULL;
	}
	return m;
}
