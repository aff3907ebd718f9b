/* safebpf/llvm.h - the whole-program engine: eBPF bytecode translated into
 * LLVM IR (one LLVM function per eBPF function, one basic block per eBPF
 * basic block, registers as allocas that SROA promotes), optimized with
 * LLVM's O2 pipeline and compiled to native code in process (ORC), or
 * written out as an ELF object for embedding (ahead of time).
 *
 * The generated code has NO run-time checks: memory accesses are plain
 * loads and stores, loops run unbounded, calls nest as deep as the program
 * says. It is only for programs the kernel verifier accepted (the CLI's
 * llvm engine asks it first, see docs/llvm.md). Its results are the
 * interpreter's (safebpf/vm.h) on every program the verifier accepts:
 * division and modulo by zero, INT_MIN / -1, masked shift amounts, helpers
 * leaving r1..r5 alone, zeroed stack frames, local calls that see r0..r9.
 * The trusted code grows by the translator, this library's runtime glue and
 * LLVM itself (docs/llvm.md, "Trust").
 */
#ifndef SAFEBPF_LLVM_H
#define SAFEBPF_LLVM_H

#include <stddef.h>
#include <stdint.h>

#include "safebpf/isa.h"
#include "safebpf/vm.h"

#ifdef __cplusplus
extern "C" {
#endif

struct sbpf_llvm_opts {
	size_t sz;                 /* sizeof(struct sbpf_llvm_opts) */
	enum sbpf_prog_type type;  /* mem or xdp (xdp: context conversion as the JIT does) */
	const void *rodata;        /* read-only data (vm.h SBPF_RODATA_PSEUDO), embedded in the
				    * code as a constant, or NULL */
	size_t rodata_len;         /* its bytes */
	const char *cache_dir;     /* directory of compiled objects keyed by the program's hash
				    * (created when missing; must be as trusted as the binary),
				    * or NULL: the in-process cache only */
	int no_cache;              /* 1: compile every time (neither cache) */
	int no_facts;              /* 1: do not pass verifier facts to LLVM (ablation) */
	int opt_level;             /* 0..3 (0: the default, 2) */
	const char *entry;         /* symbol of the entry function (default "sbpf_prog") */
};

/* What a compilation cost (sbpf_llvm__stats). */
struct sbpf_llvm_stats {
	double translate_ms;       /* eBPF -> IR, including the analyses */
	double optimize_ms;        /* the O-level pipeline */
	double codegen_ms;         /* IR -> ELF object */
	double load_ms;            /* object -> executable memory (ORC) */
	double total_ms;           /* wall time of sbpf_llvm__compile */
	size_t ir_insns;           /* IR instructions after optimization (0 on a cache hit) */
	size_t object_bytes;       /* size of the ELF object */
	size_t code_bytes;         /* size of the .text section */
	long rss_growth_kb;        /* growth of the process's peak RSS during the compile */
	int cache_hit;             /* 1: the object came from a cache */
	unsigned stack_slots_promoted; /* accesses proven to hit the own stack frame */
	unsigned nuw_facts;        /* pointer additions marked non-wrapping (verifier facts) */
};

struct sbpf_llvm;

/* Validates @insns (copied; for xdp the context loads are rewritten as in
 * safebpf/ctx.h). Returns NULL with errno set (EINVAL: invalid program,
 * with the reason in @err when not NULL; ENOMEM). */
struct sbpf_llvm *sbpf_llvm__new(const struct sbpf_insn *insns, size_t n,
				 const struct sbpf_llvm_opts *opts,
				 struct sbpf_validate_error *err);
void sbpf_llvm__free(struct sbpf_llvm *l);

/* Registers helper @id (@fn NULL removes it). Returns 0 or -EINVAL. */
int sbpf_llvm__set_helper(struct sbpf_llvm *l, uint32_t id, sbpf_helper_fn fn);
/* Registers every helper of @vm (the interpreter's table). */
int sbpf_llvm__helpers_from_vm(struct sbpf_llvm *l, const struct sbpf_vm *vm);

/* Translates, optimizes and loads the program (or takes it from a cache).
 * Returns 0, or a negative errno with sbpf_llvm__error() saying why:
 * -ENOENT a call to a helper that is not registered, -EOPNOTSUPP kfunc
 * calls and pseudo lddw other than read-only data, -EIO an LLVM failure. */
int sbpf_llvm__compile(struct sbpf_llvm *l);

/* Compiles to an ELF relocatable object instead (ahead of time): the entry
 * is opts.entry, `uint64_t ENTRY(void *r1, uint64_t r2)`; helpers are the
 * undefined symbols sbpf_helper_<id>. Stores a malloc'ed buffer in *@obj
 * (caller frees) and its size in *@len. Returns 0 or a negative errno. */
int sbpf_llvm__emit_object(struct sbpf_llvm *l, void **obj, size_t *len);

/* The ids of the helpers the program calls, sorted, in @ids (up to @max);
 * returns how many there are. */
size_t sbpf_llvm__helpers_used(const struct sbpf_llvm *l, uint32_t *ids, size_t max);

/* The IR text (after the pipeline when @optimized, else as translated),
 * malloc'ed (caller frees), or NULL with errno set. */
char *sbpf_llvm__ir(struct sbpf_llvm *l, int optimized);

/* Runs the compiled program on @mem/@len (in place; mem: r1 = @mem,
 * r2 = @len; xdp: the packet). Returns 0 with *@r0 set, or -EINVAL (not
 * compiled) with @err filled. */
int sbpf_llvm__run(struct sbpf_llvm *l, void *mem, size_t len, uint64_t *r0,
		   struct sbpf_run_error *err);

/* The entry point of the compiled code (NULL before compile). */
void *sbpf_llvm__entry(const struct sbpf_llvm *l);

/* Figures of the last compile. */
void sbpf_llvm__stats(const struct sbpf_llvm *l, struct sbpf_llvm_stats *st);

/* Why the last call failed, for people ("" when it did not). */
const char *sbpf_llvm__error(const struct sbpf_llvm *l);

/* "LLVM 14.0.6, host CPU skylake" or similar. */
const char *sbpf_llvm_version(void);

#ifdef __cplusplus
}
#endif
#endif /* SAFEBPF_LLVM_H */
