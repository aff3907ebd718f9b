/* clobber.c - sbpf_validate_clobbers(): the eBPF calling convention leaves
 * r1-r5 undefined after a call (helper, kfunc or bpf-to-bpf), and the kernel
 * verifier refuses a program that reads one of them before writing it. The
 * engines differ there (the JIT's helpers leave their scratch values, the
 * interpreter leaves the arguments), so the checked engines refuse such
 * reads at load as the verifier does: a forward dataflow over the control
 * flow graph whose state is the set of registers a call may have clobbered
 * on some path.
 *
 * The same dataflow keeps host addresses inside the program. The engines
 * place the stack differently (the JIT on the host's stack, the
 * interpreter in the heap), so a value derived from a stack address (r10,
 * r10 plus or minus a number, anything computed from one except the
 * distance between two) must not leave it: not returned in r0, not stored
 * into memory other than the stack (context, packet, map values, the
 * caller's buffer), not handed to an atomic operation. Everything else
 * stays allowed: stack pointers passed to helpers and local functions,
 * compared, spilled to the stack and reloaded. The state tracks which
 * registers may hold such a value and which 8-byte stack slots of the
 * current frame may (spills through r10 with a constant offset; a spill
 * through another stack pointer marks the whole stack).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safebpf/isa.h"

#define CLOBBERED 0x3eu /* r1..r5 */

/* Registers @in reads (bit per register) and writes, and whether it is a call. */
static void uses(const struct sbpf_insn *in, enum sbpf_op op, unsigned *rd, unsigned *wr)
{
	const struct sbpf_op_info *f = sbpf_op_info(op);
	unsigned d = 1u << in->dst_reg, s = 1u << in->src_reg;
	int is_mov = (in->code & 0xf0) == SBPF_MOV;
	*rd = *wr = 0;
	switch (f->fmt) {
	case SBPF_FMT_ALU_K: *rd = is_mov ? 0 : d; *wr = d; break;
	case SBPF_FMT_ALU_X: *rd = s | (is_mov ? 0 : d); *wr = d; break;
	case SBPF_FMT_MOVSX: *rd = s; *wr = d; break;
	case SBPF_FMT_NEG: case SBPF_FMT_END: *rd = d; *wr = d; break;
	case SBPF_FMT_LDX: *rd = s; *wr = d; break;
	case SBPF_FMT_ST: *rd = d; break;
	case SBPF_FMT_STX: *rd = d | s; break;
	case SBPF_FMT_ATOMIC:
		*rd = d | s;
		if (in->imm == SBPF_CMPXCHG) {
			*rd |= 1u;
			*wr = 1u;
		} else if (in->imm & SBPF_FETCH) {
			*wr = s;
		}
		break;
	case SBPF_FMT_LDDW: *wr = d; break;
	case SBPF_FMT_JCOND_K: *rd = d; break;
	case SBPF_FMT_JCOND_X: *rd = d | s; break;
	case SBPF_FMT_EXIT: *rd = 1u; break;
	default: break; /* ja, calls: calls read their arguments, which this check does not judge */
	}
}

/* Dataflow state at an instruction (joined over paths by OR). */
struct state {
	uint16_t clob;      /* registers a call may have clobbered (r1..r5) */
	uint16_t ptr;       /* registers that may hold a stack-derived value */
	uint64_t slots;     /* stack slots (fp-8*(k+1)) that may hold one */
	bool anyspill;      /* one may be anywhere on the stack (or a caller's) */
};

#define ARGS 0x3eu /* r1..r5 */
#define SAVED 0x3c0u /* r6..r9: a callee starts with the caller's values */

static bool join(struct state *into, const struct state *s)
{
	struct state o = *into;
	into->clob |= s->clob;
	into->ptr |= s->ptr;
	into->slots |= s->slots;
	into->anyspill |= s->anyspill;
	return o.clob != into->clob || o.ptr != into->ptr || o.slots != into->slots || o.anyspill != into->anyspill;
}

static unsigned mem_size(const struct sbpf_insn *in)
{
	static const unsigned sz[4] = { 4, 2, 1, 8 }; /* W, H, B, DW */
	return sz[(in->code >> 3) & 3];
}

/* Stack slots (bit k: fp-8*(k+1)..) that bytes [fp+off, fp+off+size) touch. */
static uint64_t slots_of(int off, unsigned size)
{
	uint64_t m = 0;
	for (int b = off; b < off + (int)size; b++)
		if (b < 0 && b >= -512)
			m |= 1ull << ((-b - 1) / 8);
	return m;
}

/* May a load of @size bytes at @src+@off return a stack-derived value? */
static bool load_ptr(const struct state *st, const struct sbpf_insn *in)
{
	if (!(st->ptr >> in->src_reg & 1))
		return false; /* not the stack: nothing stack-derived is ever stored there */
	if (st->anyspill)
		return true;
	if (in->src_reg == 10)
		return (st->slots & slots_of(in->off, mem_size(in))) != 0;
	return st->slots != 0;
}

/* The stack-address part of an instruction: updates @st and returns the
 * rule it breaks (NULL: none). Calls and exits are handled by the caller. */
static const char *ptr_step(const struct sbpf_insn *in, const struct sbpf_op_info *f, struct state *st)
{
	unsigned d = in->dst_reg, s = in->src_reg;
	bool pd = st->ptr >> d & 1, ps = st->ptr >> s & 1;
	bool alu64 = (in->code & 0x07) == 0x07;
	unsigned op = in->code & 0xf0;
	uint16_t D = (uint16_t)(1u << d);
	switch (f->fmt) {
	case SBPF_FMT_ALU_K:
		if (op == SBPF_MOV)
			st->ptr &= (uint16_t)~D;
		/* (other ops keep what dst was: r10 & 0xfff is still host bits) */
		break;
	case SBPF_FMT_ALU_X:
		if (op == SBPF_MOV)
			st->ptr = (uint16_t)(ps ? st->ptr | D : st->ptr & ~D);
		else if (alu64 && op == 0x10 /* sub */ && pd && ps)
			st->ptr &= (uint16_t)~D; /* the distance between two stack addresses: a number */
		else if (ps)
			st->ptr |= D;
		break;
	case SBPF_FMT_MOVSX:
		st->ptr = (uint16_t)(ps ? st->ptr | D : st->ptr & ~D);
		break;
	case SBPF_FMT_LDX:
		st->ptr = (uint16_t)(load_ptr(st, in) ? st->ptr | D : st->ptr & ~D);
		break;
	case SBPF_FMT_ST:
		if (d == 10 && mem_size(in) == 8 && !(in->off & 7))
			st->slots &= ~slots_of(in->off, 8); /* overwritten with a number */
		break;
	case SBPF_FMT_STX:
		if (ps && !pd)
			return "stores a stack address outside the stack (a host address would leave the program; "
			       "the engines place the stack differently)";
		if (d == 10) {
			uint64_t m = slots_of(in->off, mem_size(in));
			if (ps)
				st->slots |= m;
			else if (mem_size(in) == 8 && !(in->off & 7))
				st->slots &= ~m;
		} else if (ps) {
			st->anyspill = true;
		}
		break;
	case SBPF_FMT_ATOMIC:
		if (ps)
			return "hands a stack address to an atomic operation (a host address would leave the program)";
		if (in->imm == SBPF_CMPXCHG)
			st->ptr = (uint16_t)(pd && (st->anyspill || st->slots) ? st->ptr | 1u : st->ptr & ~1u);
		else if (in->imm & SBPF_FETCH)
			st->ptr = (uint16_t)(pd && (st->anyspill || st->slots) ? st->ptr | (1u << s) : st->ptr & ~(1u << s));
		break;
	case SBPF_FMT_LDDW:
		st->ptr &= (uint16_t)~D;
		break;
	case SBPF_FMT_EXIT:
		if (st->ptr & 1u)
			return "returns a stack address in r0 (a host address would leave the program; the engines "
			       "place the stack differently)";
		break;
	default:
		break; /* neg, end keep dst; jumps; calls: the caller */
	}
	return NULL;
}

int sbpf_validate_clobbers(const struct sbpf_insn *insns, size_t n, struct sbpf_validate_error *err)
{
	return sbpf_validate_registers(insns, n, 0, err);
}

/* The forward dataflow to its fixpoint, into @in and @seen (zeroed by the
 * caller). With @call_spills, a local call with a stack pointer argument
 * may leave stack addresses anywhere on the stack (the callee may store
 * one through it). Returns whether some reachable instruction stores a
 * stack address through a stack pointer other than r10 (what makes
 * @call_spills needed). */
static bool flow(const struct sbpf_insn *insns, size_t n, struct state *in, unsigned char *seen,
		 unsigned char *queued, size_t *work, bool call_spills)
{
	bool indirect = false;
	size_t nwork = 0;
	seen[0] = 1;
	in[0].ptr = 1u << 10; /* the frame pointer: the one stack address at entry */
	work[nwork++] = 0;
	queued[0] = 1;
	while (nwork) {
		size_t pc = work[--nwork];
		queued[pc] = 0;
		const struct sbpf_insn *i = &insns[pc];
		enum sbpf_op op = sbpf_decode(i);
		const struct sbpf_op_info *f = sbpf_op_info(op);
		if (!f)
			continue; /* sbpf_validate() has judged the program */
		unsigned rd, wr;
		uses(i, op, &rd, &wr);
		struct state st = in[pc];
		if (f->fmt == SBPF_FMT_STX && i->dst_reg != 10 && (st.ptr >> i->src_reg & 1) &&
		    (st.ptr >> i->dst_reg & 1))
			indirect = true;
		ptr_step(i, f, &st);
		st.clob = (uint16_t)(st.clob & ~wr);
		size_t next[2];
		struct state nst[2];
		int nn = 0;
		switch (f->fmt) {
		case SBPF_FMT_EXIT:
			break;
		case SBPF_FMT_JA:
			next[nn] = pc + 1 + (size_t)(int64_t)i->off, nst[nn++] = st;
			break;
		case SBPF_FMT_JA32:
			next[nn] = pc + 1 + (size_t)(int64_t)i->imm, nst[nn++] = st;
			break;
		case SBPF_FMT_JCOND_K: case SBPF_FMT_JCOND_X:
			next[nn] = pc + 1, nst[nn++] = st;
			next[nn] = pc + 1 + (size_t)(int64_t)i->off, nst[nn++] = st;
			break;
		case SBPF_FMT_CALL:
			st.clob = (uint16_t)((st.clob | CLOBBERED) & ~1u);
			st.ptr &= (uint16_t)~(ARGS | 1u); /* a helper returns no stack address */
			next[nn] = pc + 1, nst[nn++] = st;
			break;
		case SBPF_FMT_CALL_LOCAL: {
			/* callee: fresh arguments (the stack pointers among them), the
			 * caller's r6..r9, its own frame; what the caller spilled it may
			 * reach through them */
			struct state callee = { .ptr = (uint16_t)((st.ptr & (ARGS | SAVED)) | (1u << 10)),
						.anyspill = st.anyspill || st.slots };
			if (call_spills && (st.ptr & ARGS))
				st.anyspill = true;
			st.clob = (uint16_t)((st.clob | CLOBBERED) & ~1u);
			st.ptr &= (uint16_t)~(ARGS | 1u); /* (the callee's exit refuses a stack r0) */
			next[nn] = pc + 1, nst[nn++] = st;
			next[nn] = pc + 1 + (size_t)(int64_t)i->imm, nst[nn++] = callee;
			break;
		}
		case SBPF_FMT_LDDW:
			next[nn] = pc + 2, nst[nn++] = st;
			break;
		default:
			next[nn] = pc + 1, nst[nn++] = st;
			break;
		}
		for (int k = 0; k < nn; k++) {
			size_t t = next[k];
			if (t >= n)
				continue;
			if (!join(&in[t], &nst[k]) && seen[t])
				continue;
			seen[t] = 1;
			if (!queued[t]) {
				queued[t] = 1;
				work[nwork++] = t;
			}
		}
	}
	return indirect;
}

int sbpf_validate_registers(const struct sbpf_insn *insns, size_t n, unsigned flags, struct sbpf_validate_error *err)
{
	struct state *in = calloc(n, sizeof(*in));
	unsigned char *seen = calloc(n, 1), *queued = calloc(n, 1);
	size_t *work = malloc(n * sizeof(*work));
	int rc = 0;
	if (!in || !seen || !queued || !work) {
		rc = -ENOMEM;
		goto out;
	}
	if (flow(insns, n, in, seen, queued, work, false)) {
		/* a stack address is stored through a pointer somewhere: a
		 * callee may do it through its argument; again, assuming so */
		memset(in, 0, n * sizeof(*in));
		memset(seen, 0, n);
		flow(insns, n, in, seen, queued, work, true);
	}
	for (size_t pc = 0; pc < n; pc++) {
		if (!seen[pc])
			continue;
		enum sbpf_op op = sbpf_decode(&insns[pc]);
		const struct sbpf_op_info *f = sbpf_op_info(op);
		if (!f)
			continue;
		unsigned rd, wr;
		uses(&insns[pc], op, &rd, &wr);
		unsigned bad = rd & in[pc].clob;
		if (bad) {
			int r = 0;
			while (!(bad & (1u << r)))
				r++;
			if (err) {
				err->index = pc;
				snprintf(err->rule, sizeof(err->rule),
					 "r%d is read after a call without being written first (r1-r5 are "
					 "undefined after a call; the kernel verifier refuses this)", r);
			}
			rc = -EINVAL;
			break;
		}
		struct state st = in[pc];
		const char *why = ptr_step(&insns[pc], f, &st);
		if (why && !(flags & SBPF_VALIDATE_STACK_ESCAPE)) {
			if (err) {
				err->index = pc;
				snprintf(err->rule, sizeof(err->rule), "%s", why);
			}
			rc = -EINVAL;
			break;
		}
	}
out:
	free(in);
	free(seen);
	free(queued);
	free(work);
	return rc;
}
