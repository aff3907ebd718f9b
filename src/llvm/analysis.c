/* analysis.c - what the translator knows about registers before it emits
 * IR: basic-block leaders, and per function a forward data-flow fixpoint
 * that follows the frame pointer (r10 plus constants, through moves and
 * constant adds) and, for xdp, the context and packet pointers.
 *
 * A memory access whose base is "FP + k" becomes an access to the
 * function's own stack array at a constant index, so LLVM sees that the
 * stack never escapes and keeps stack slots in registers (SROA). Packet
 * pointers ("data + k") are what the verifier lets a program form only with
 * offsets below 64 KiB: their additions cannot wrap, which the translator
 * states as `add nuw` so that LLVM can relate one bounds check to another.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "llvm/llvmInt.h"
#include "safebpf/ctx.h"

/* The context pointer (xdp r1) and the data_end value get kinds of their
 * own, only inside this file's transfer function. */
enum { AV_CTX = AV_TOP + 1, AV_END };

static int is_jump(uint8_t code)
{
	int cls = SBPF_CLASS(code);
	if (cls != SBPF_JMP && cls != SBPF_JMP32)
		return 0;
	int op = code & 0xf0;
	return op != SBPF_CALL;
}

uint8_t *llvm_leaders(const struct sbpf_insn *insns, size_t n)
{
	uint8_t *lead = calloc(n + 1, 1);
	if (!lead)
		return NULL;
	lead[0] = 1;
	for (size_t pc = 0; pc < n; pc = llvm_next(insns, pc)) {
		const struct sbpf_insn *in = &insns[pc];
		size_t nx = llvm_next(insns, pc);
		if (is_jump(in->code)) {
			int op = in->code & 0xf0;
			if (op != SBPF_EXIT) {
				long d = (SBPF_CLASS(in->code) == SBPF_JMP32 && op == SBPF_JA) ? in->imm : in->off;
				long t = (long)pc + 1 + d;
				if (t >= 0 && (size_t)t < n)
					lead[t] = 1;
			}
			if (nx < n)
				lead[nx] = 1;
		} else if (in->code == (SBPF_JMP | SBPF_CALL) && in->src_reg == SBPF_PSEUDO_CALL) {
			long t = (long)pc + 1 + in->imm;
			if (t >= 0 && (size_t)t < n)
				lead[t] = 1;
		}
	}
	return lead;
}

void llvm_av_entry(struct av_state *s)
{
	for (int r = 0; r < SBPF_NREGS; r++)
		s->r[r] = (struct av_reg){ AV_TOP, 0 };
	s->r[SBPF_REG_FP] = (struct av_reg){ AV_FP, 0 };
}

static void set_top(struct av_state *s, int r)
{
	s->r[r] = (struct av_reg){ AV_TOP, 0 };
}

void llvm_av_step(const struct sbpf_insn *insns, size_t pc, struct av_state *s, int facts)
{
	const struct sbpf_insn *in = &insns[pc];
	int cls = SBPF_CLASS(in->code), op = in->code & 0xf0, d = in->dst_reg, sr = in->src_reg;
	switch (cls) {
	case SBPF_ALU64:
		if (op == SBPF_MOV && (in->code & SBPF_X) && in->off == 0) {
			s->r[d] = s->r[sr];
			return;
		}
		if ((op == SBPF_ADD || op == SBPF_SUB) && !(in->code & SBPF_X) &&
		    (s->r[d].kind == AV_FP || (s->r[d].kind == AV_PKT && facts))) {
			int64_t k = op == SBPF_ADD ? (int64_t)in->imm : -(int64_t)in->imm;
			s->r[d].k += k;
			/* packet offsets stay within what the verifier allows */
			if (s->r[d].kind == AV_PKT && (s->r[d].k < 0 || s->r[d].k > 0xffff))
				set_top(s, d);
			return;
		}
		set_top(s, d);
		return;
	case SBPF_ALU:
		set_top(s, d);
		return;
	case SBPF_LDX: {
		int size = (in->code & 0x18);
		struct av_reg base = s->r[sr];
		set_top(s, d);
		if (facts && base.kind == AV_CTX && size == SBPF_DW && (in->code & 0xe0) == SBPF_MEM) {
			int64_t off = base.k + in->off;
			if (off == (int64_t)offsetof(struct sbpf_xdp_ctx, data))
				s->r[d] = (struct av_reg){ AV_PKT, 0 };
			else if (off == (int64_t)offsetof(struct sbpf_xdp_ctx, data_end))
				s->r[d] = (struct av_reg){ AV_END, 0 };
		}
		return;
	}
	case SBPF_ST:
		return;
	case SBPF_STX:
		if ((in->code & 0xe0) == SBPF_ATOMIC) {
			if (in->imm == SBPF_CMPXCHG)
				set_top(s, 0);
			else if (in->imm & SBPF_FETCH)
				set_top(s, sr);
		}
		return;
	case SBPF_LD:
		set_top(s, d);
		return;
	default: /* JMP, JMP32 */
		if (op == SBPF_CALL) {
			set_top(s, 0);
			if (in->src_reg != 0) /* local call or kfunc: r1..r5 are the callee's */
				for (int r = 1; r <= 5; r++)
					set_top(s, r);
		}
		return;
	}
}

/* Joins @b into @a; returns 1 when @a changed. */
static int join(struct av_state *a, const struct av_state *b)
{
	int ch = 0;
	for (int r = 0; r < SBPF_NREGS; r++) {
		struct av_reg *x = &a->r[r];
		const struct av_reg *y = &b->r[r];
		if (y->kind == AV_BOT || (x->kind == y->kind && x->k == y->k) || x->kind == AV_TOP)
			continue;
		if (x->kind == AV_BOT)
			*x = *y;
		else
			*x = (struct av_reg){ AV_TOP, 0 };
		ch = 1;
	}
	return ch;
}

int llvm_av_solve(const struct sbpf_insn *insns, size_t n, const uint8_t *leader, size_t entry,
		  struct av_state *in, int facts)
{
	size_t *work = malloc((n + 1) * sizeof(*work));
	uint8_t *queued = calloc(n + 1, 1);
	if (!work || !queued) {
		free(work);
		free(queued);
		return -ENOMEM;
	}
	memset(in, 0, n * sizeof(*in));
	llvm_av_entry(&in[entry]);
	if (facts && entry == 0)
		in[0].r[1] = (struct av_reg){ AV_CTX, 0 }; /* only meaningful for xdp: the caller decides */
	size_t nw = 0;
	work[nw++] = entry;
	queued[entry] = 1;
	while (nw) {
		size_t pc = work[--nw];
		queued[pc] = 0;
		struct av_state s = in[pc];
		for (;;) {
			const struct sbpf_insn *x = &insns[pc];
			llvm_av_step(insns, pc, &s, facts);
			size_t nx = llvm_next(insns, pc);
			size_t succ[2];
			int ns = 0;
			int op = x->code & 0xf0;
			if (is_jump(x->code)) {
				if (op != SBPF_EXIT) {
					long d = (SBPF_CLASS(x->code) == SBPF_JMP32 && op == SBPF_JA) ? x->imm : x->off;
					succ[ns++] = (size_t)((long)pc + 1 + d);
					if (op != SBPF_JA)
						succ[ns++] = nx;
				}
			} else if (nx < n && leader[nx]) {
				succ[ns++] = nx;
			} else if (nx < n) {
				pc = nx;
				continue;
			}
			for (int i = 0; i < ns; i++)
				if (succ[i] < n && join(&in[succ[i]], &s) && !queued[succ[i]]) {
					queued[succ[i]] = 1;
					work[nw++] = succ[i];
				}
			break;
		}
	}
	free(work);
	free(queued);
	return 0;
}
