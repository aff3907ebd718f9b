/* clobber.c - sbpf_validate_clobbers(): the eBPF calling convention leaves
 * r1-r5 undefined after a call (helper, kfunc or bpf-to-bpf), and the kernel
 * verifier refuses a program that reads one of them before writing it. The
 * engines differ there (the JIT's helpers leave their scratch values, the
 * interpreter leaves the arguments), so the checked engines refuse such
 * reads at load as the verifier does: a forward dataflow over the control
 * flow graph whose state is the set of registers a call may have clobbered
 * on some path.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

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

int sbpf_validate_clobbers(const struct sbpf_insn *insns, size_t n, struct sbpf_validate_error *err)
{
	uint16_t *in = calloc(n, sizeof(*in));
	unsigned char *seen = calloc(n, 1), *queued = calloc(n, 1);
	size_t *work = malloc(n * sizeof(*work));
	int rc = 0;
	if (!in || !seen || !queued || !work) {
		rc = -ENOMEM;
		goto out;
	}
	size_t nwork = 0;
	seen[0] = 1;
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
		uint16_t st = (uint16_t)(in[pc] & ~wr);
		size_t next[2];
		uint16_t nst[2];
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
			next[nn] = pc + 1, nst[nn++] = (uint16_t)((st | CLOBBERED) & ~1u);
			break;
		case SBPF_FMT_CALL_LOCAL:
			next[nn] = pc + 1, nst[nn++] = (uint16_t)((st | CLOBBERED) & ~1u);
			next[nn] = pc + 1 + (size_t)(int64_t)i->imm, nst[nn++] = 0; /* callee: fresh arguments */
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
		if (!seen[pc] || !in[pc])
			continue;
		enum sbpf_op op = sbpf_decode(&insns[pc]);
		if (!sbpf_op_info(op))
			continue;
		unsigned rd, wr;
		uses(&insns[pc], op, &rd, &wr);
		unsigned bad = rd & in[pc];
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
