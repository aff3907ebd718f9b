/* liveness.c - which registers are live at each instruction of a vanilla
 * eBPF program. Kops uses it to prove that registers a proof sequence
 * clobbers are dead after the site, and the recognizer to find rewritable
 * idioms whose temporaries die.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kops/kopsInt.h"

#define R(i) ((uint16_t)(1u << (i)))
#define ARGS (R(1) | R(2) | R(3) | R(4) | R(5))
#define CALLER_SAVED (R(0) | ARGS)

/* Registers @in reads (uses) and writes (defs). */
static void uses_defs(const struct sbpf_insn *in, uint16_t *use, uint16_t *def)
{
	const struct sbpf_op_info *f = sbpf_op_info(sbpf_decode(in));
	uint16_t d = R(in->dst_reg & 0xf), s = R(in->src_reg & 0xf);
	int is_mov = (in->code & 0xf0) == SBPF_MOV;
	*use = *def = 0;
	switch (f->fmt) {
	case SBPF_FMT_ALU_K:   *use = is_mov ? 0 : d; *def = d; break;
	case SBPF_FMT_ALU_X:   *use = (is_mov ? 0 : d) | s; *def = d; break;
	case SBPF_FMT_MOVSX:   *use = s; *def = d; break;
	case SBPF_FMT_NEG:
	case SBPF_FMT_END:     *use = d; *def = d; break;
	case SBPF_FMT_LDX:     *use = s; *def = d; break;
	case SBPF_FMT_ST:      *use = d; break;
	case SBPF_FMT_STX:     *use = d | s; break;
	case SBPF_FMT_ATOMIC:
		*use = d | s;
		if (in->imm == SBPF_CMPXCHG) {
			*use |= R(0);
			*def = R(0);
		} else if (in->imm & SBPF_FETCH) {
			*def = s;
		}
		break;
	case SBPF_FMT_LDDW:    *def = d; break;
	case SBPF_FMT_JCOND_K: *use = d; break;
	case SBPF_FMT_JCOND_X: *use = d | s; break;
	case SBPF_FMT_CALL:
	case SBPF_FMT_CALL_LOCAL:
		/* Conservative: every argument register may be read. */
		*use = ARGS;
		*def = CALLER_SAVED;
		break;
	case SBPF_FMT_EXIT:    *use = R(0); break;
	default: break;
	}
}

int kops_successors(const struct sbpf_insn *insns, size_t n, size_t i, size_t succ[2])
{
	const struct sbpf_op_info *f = sbpf_op_info(sbpf_decode(&insns[i]));
	size_t next = i + (f->fmt == SBPF_FMT_LDDW ? 2 : 1);
	int k = 0;
	switch (f->fmt) {
	case SBPF_FMT_EXIT:
		return 0;
	case SBPF_FMT_JA:
		succ[k++] = i + 1 + insns[i].off;
		return k;
	case SBPF_FMT_JA32:
		succ[k++] = i + 1 + insns[i].imm;
		return k;
	case SBPF_FMT_JCOND_K:
	case SBPF_FMT_JCOND_X:
		succ[k++] = i + 1 + insns[i].off;
		break;
	default:
		break;
	}
	if (next < n)
		succ[k++] = next;
	return k;
}

uint16_t *kops_liveness(const struct sbpf_insn *insns, size_t n)
{
	uint16_t *live = calloc(n ? n : 1, sizeof(*live));
	unsigned char *second = calloc(n ? n : 1, 1);
	if (!live || !second) {
		free(live);
		free(second);
		errno = ENOMEM;
		return NULL;
	}
	for (size_t i = 0; i + 1 < n; i++)
		if (sbpf_op_info(sbpf_decode(&insns[i]))->fmt == SBPF_FMT_LDDW)
			second[++i] = 1;
	/* Iterate to a fixed point; backward order converges fast. */
	for (int changed = 1; changed;) {
		changed = 0;
		for (size_t k = n; k-- > 0;) {
			if (second[k])
				continue;
			size_t succ[2];
			int ns = kops_successors(insns, n, k, succ);
			uint16_t out = 0, use, def;
			for (int j = 0; j < ns; j++)
				if (succ[j] < n)
					out |= live[succ[j]];
			uses_defs(&insns[k], &use, &def);
			uint16_t in = (uint16_t)(use | (out & ~def));
			if (in != live[k]) {
				live[k] = in;
				changed = 1;
			}
		}
	}
	free(second);
	return live;
}
