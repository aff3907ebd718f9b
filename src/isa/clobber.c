/* clobber.c - sbpf_validate_clobbers(): the eBPF calling convention leaves
 * r1-r5 undefined after a call (helper, kfunc or bpf-to-bpf), and the kernel
 * verifier refuses a program that reads one of them before writing it. The
 * engines differ there (the JIT's helpers leave their scratch values, the
 * interpreter leaves the arguments), so the checked engines refuse such
 * reads at load as the verifier does. The engines also place the stack
 * differently (the JIT on the host's stack, the interpreter in the heap), so
 * a stack address must not leave the program or steer it: returned in r0,
 * stored outside the stack, compared with a number, or bent by arithmetic
 * other than adding or subtracting a number (the verifier refuses the same,
 * or for an unprivileged loader all of it). One forward dataflow over the
 * control flow graph does both; its state, per instruction and joined over
 * paths, is the set of registers a call may have clobbered, the set of
 * registers that may hold a stack address, and whether a stack address may
 * have been spilled to the stack (a stack load may then return one).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "safebpf/isa.h"

#define CLOBBERED 0x3eu /* r1..r5 */
#define PTR(r) (1u << (16 + (r)))  /* register r may hold a stack address */
#define PTRS (0x7ffu << 16)        /* r0..r10 */
#define SPILLED (1u << 27)         /* a stack address may be on the stack */

/* The stack-address part of an instruction's transfer: returns the state
 * after @in given the state @st before it, and sets *@why (when not NULL)
 * to the rule it breaks, or NULL. Calls are handled by the caller. */
static uint32_t ptr_step(const struct sbpf_insn *in, const struct sbpf_op_info *f, uint32_t st, const char **why)
{
	unsigned d = in->dst_reg, s = in->src_reg;
	bool pd = st & PTR(d), ps = st & PTR(s);
	bool x = (in->code & 0x08) != 0, alu64 = (in->code & 0x07) == 0x07;
	unsigned op = in->code & 0xf0;
	const char *bad = NULL;
	switch (f->fmt) {
	case SBPF_FMT_ALU_K:
	case SBPF_FMT_ALU_X:
		if (alu64 && op == SBPF_MOV) {
			st = (x && ps) ? st | PTR(d) : st & ~PTR(d);
		} else if (alu64 && op == 0x00 /* add */) {
			if (x && pd && ps)
				bad = "adds two stack addresses";
			else if (x && ps)
				st |= PTR(d);
		} else if (alu64 && op == 0x10 /* sub */) {
			if (x && pd && ps)
				st &= ~PTR(d); /* a distance within the stack: a number */
			else if (x && ps)
				bad = "subtracts a stack address from a number";
		} else {
			if (pd || (x && ps))
				bad = "bends a stack address by other than adding or subtracting a number (the "
				      "kernel verifier refuses such pointer arithmetic)";
			st &= ~PTR(d);
		}
		break;
	case SBPF_FMT_MOVSX:
	case SBPF_FMT_NEG:
	case SBPF_FMT_END:
		if (ps || pd)
			bad = "bends a stack address by other than adding or subtracting a number (the "
			      "kernel verifier refuses such pointer arithmetic)";
		st &= ~PTR(d);
		break;
	case SBPF_FMT_LDX:
		st = (ps && (st & SPILLED)) ? st | PTR(d) : st & ~PTR(d);
		break;
	case SBPF_FMT_STX:
		if (ps) {
			if (pd)
				st |= SPILLED;
			else
				bad = "stores a stack address outside the stack (a host address would leave "
				      "the program)";
		}
		break;
	case SBPF_FMT_ATOMIC:
		if (ps)
			bad = "hands a stack address to an atomic operation";
		if (in->imm == SBPF_CMPXCHG)
			st &= ~PTR(0);
		else if (in->imm & SBPF_FETCH)
			st &= ~PTR(s);
		break;
	case SBPF_FMT_LDDW:
		st &= ~PTR(d);
		break;
	case SBPF_FMT_JCOND_K:
		if (pd)
			bad = "compares a stack address with a number (its value differs between engines)";
		break;
	case SBPF_FMT_JCOND_X:
		if (pd != ps)
			bad = "compares a stack address with a number (its value differs between engines)";
		break;
	case SBPF_FMT_EXIT:
		if (st & PTR(0))
			bad = "returns a stack address in r0 (a host address would leave the program; the "
			      "engines place the stack differently)";
		break;
	default:
		break;
	}
	if (why)
		*why = bad;
	return st;
}

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

int sbpf_validate_clobbers(const struct sbpf_insn *insns, size_t n, struct sbpf_validate_error *err)
{
	uint32_t *in = calloc(n, sizeof(*in));
	unsigned char *seen = calloc(n, 1), *queued = calloc(n, 1);
	size_t *work = malloc(n * sizeof(*work));
	int rc = 0;
	if (!in || !seen || !queued || !work) {
		rc = -ENOMEM;
		goto out;
	}
	size_t nwork = 0;
	seen[0] = 1;
	in[0] = PTR(10); /* the frame pointer: the one stack address at entry */
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
		uint32_t st = ptr_step(i, f, in[pc], NULL) & ~wr;
		size_t next[2];
		uint32_t nst[2];
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
			/* r0 (the result) and r1-r5 hold no stack address after it */
			next[nn] = pc + 1, nst[nn++] = ((st | CLOBBERED) & ~1u) & ~(0x3fu << 16);
			break;
		case SBPF_FMT_CALL_LOCAL:
			next[nn] = pc + 1, nst[nn++] = ((st | CLOBBERED) & ~1u) & ~(0x3fu << 16);
			/* callee: fresh arguments, r6-r9 as the caller left them
			 * (stack addresses among them as passed), its own frame
			 * pointer */
			next[nn] = pc + 1 + (size_t)(int64_t)i->imm,
			nst[nn++] = (st & ((0x3feu << 16) | SPILLED)) | PTR(10);
			break;
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
			if (seen[t] && (in[t] | nst[k]) == in[t])
				continue;
			in[t] |= nst[k];
			seen[t] = 1;
			if (!queued[t]) {
				queued[t] = 1;
				work[nwork++] = t;
			}
		}
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
		unsigned bad = rd & in[pc] & CLOBBERED;
		const char *why = NULL;
		if (!bad)
			ptr_step(&insns[pc], f, in[pc], &why);
		if (why) {
			if (err) {
				err->index = pc;
				snprintf(err->rule, sizeof(err->rule), "the program %s", why);
			}
			rc = -EINVAL;
			break;
		}
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
	}
out:
	free(in);
	free(seen);
	free(queued);
	free(work);
	return rc;
}
