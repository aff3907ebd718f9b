/* llvmInt.h - private interfaces of the LLVM engine (src/llvm/): the
 * engine handle, the static analyses the translator uses (analysis.c), the
 * translator (translate.c) and the compile/load/cache driver (compile.c).
 */
#ifndef SAFEBPF_LLVM_INT_H
#define SAFEBPF_LLVM_INT_H

#include <stddef.h>
#include <stdint.h>

#include <llvm-c/Core.h>
#include <llvm-c/Orc.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/TargetMachine.h>

#include "safebpf/llvm.h"

/* The engine handle. */
struct sbpf_llvm {
	struct sbpf_insn *insns;   /* validated, context-converted copy */
	size_t n;                  /* slots */
	struct sbpf_llvm_opts o;   /* options (strings borrowed) */
	uint8_t *rodata;           /* copy of the read-only data, or NULL */
	sbpf_helper_fn helpers[SBPF_MAX_HELPERS]; /* by id */
	LLVMOrcLLJITRef jit;       /* the loaded code's JIT, or NULL */
	uint64_t (*entry)(uint64_t r1, uint64_t r2); /* compiled entry, or NULL */
	struct sbpf_llvm_stats st; /* figures of the last compile */
	char err[320];             /* why the last call failed */
	int aot;                   /* translating for an object: any helper id is an external */
};

/* ---- analysis.c ---------------------------------------------------------- */

/* Per-register knowledge at one point of a function: the register holds
 * this function's frame pointer plus a constant (FP), the address of a
 * packet byte that the program's own bounds check showed readable (PKT),
 * or nothing known (TOP). BOT: no path reaches the point yet. */
enum { AV_BOT = 0, AV_FP, AV_PKT, AV_TOP };

struct av_reg {
	uint8_t kind;  /* AV_* */
	int64_t k;     /* FP: offset from r10; PKT: offset from data */
};

struct av_state {
	struct av_reg r[SBPF_NREGS]; /* r0..r10 */
};

/* 1 when slot @pc starts a basic block (jump target, after a jump or exit,
 * local-call target), computed once for the whole program. */
uint8_t *llvm_leaders(const struct sbpf_insn *insns, size_t n);

/* Applies instruction @pc to @s (which registers become what). @facts: also
 * track packet pointers (xdp). */
void llvm_av_step(const struct sbpf_insn *insns, size_t pc, struct av_state *s, int facts);

/* Entry state of a function: r10 = FP+0, the rest TOP. */
void llvm_av_entry(struct av_state *s);

/* Fixpoint over the function entered at @entry: fills @in[pc] for every
 * leader reachable from it (others stay BOT). @in has n entries. */
int llvm_av_solve(const struct sbpf_insn *insns, size_t n, const uint8_t *leader, size_t entry,
		  struct av_state *in, int facts);

/* Slot after the one at @pc (2 for lddw). */
static inline size_t llvm_next(const struct sbpf_insn *insns, size_t pc)
{
	return pc + (insns[pc].code == (SBPF_LD | SBPF_DW | SBPF_IMM) ? 2 : 1);
}

/* ---- translate.c --------------------------------------------------------- */

/* Builds the module for @l in @ctx (entry named @entry; helpers are calls
 * to sbpf_helper_<id>). Returns the module, or NULL with l->err set and
 * *@rc the errno. */
LLVMModuleRef llvm_translate(struct sbpf_llvm *l, LLVMContextRef ctx, const char *entry, int *rc);

#endif /* SAFEBPF_LLVM_INT_H */
