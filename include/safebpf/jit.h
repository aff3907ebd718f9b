/* safebpf/jit.h - the native-code compiler: translates eBPF bytecode into
 * machine code one instruction at a time (like the Linux kernel JIT) and runs
 * it in user space. Semantics are those of the reference interpreter (vm.h).
 *
 * Two safety modes:
 *   checked (default)  every load, store and atomic is bounds-checked against
 *                      the input memory and the eBPF stack; a bad access, a
 *                      call to an unknown helper, a too-deep bpf-to-bpf call or
 *                      an exhausted loop budget stops the program with an
 *                      error and the faulting pc, exactly as the interpreter
 *                      would (the budget counts loop-header entries rather
 *                      than instructions, see loop_budget). Safe for any
 *                      program that passes sbpf_validate().
 *   unchecked          no checks at all: for programs the kernel verifier
 *                      accepted (memory safety and termination are then
 *                      proven); the code is what a verifier-trusting JIT such
 *                      as the kernel's would produce. Used for speed figures.
 * Pointer arguments may not be NULL unless their comment says so; every
 * __free / __close function accepts NULL (and does nothing).
 */
#ifndef SAFEBPF_JIT_H
#define SAFEBPF_JIT_H

#include <stddef.h>
#include <stdint.h>

#include "safebpf/isa.h"
#include "safebpf/kops.h"
#include "safebpf/vm.h"

#ifdef __cplusplus
extern "C" {
#endif

struct sbpf_jit_opts {
	size_t sz;                 /* sizeof(struct sbpf_jit_opts) */
	enum sbpf_prog_type type;  /* program type (default SBPF_PROG_MEM) */
	const char *target;        /* backend name ("x86_64", "arm64"); NULL: the host's. Code for
				    * another architecture compiles (and dumps) but does not run */
	int unchecked;             /* 1: no bounds/budget/depth checks (kernel-verified programs only) */
	uint64_t loop_budget;      /* checked mode: loop-header entries before -E2BIG (0: 100M) */
	unsigned int features;     /* SBPF_JIT_NO_* bits: features not to use (testing the fallback paths) */
	const void *rodata;        /* the program's read-only data (copied; vm.h sbpf_rodata_resolve), or NULL */
	size_t rodata_len;         /* its bytes */
	/* Kops native operations: the sites of the program, which must be the
	 * lowered program of sbpf_kops_lower() (insns/n = kops->insns/kops->n).
	 * The JIT re-checks every site (its region holds exactly the proof
	 * sequence of its payload, and the site rules hold) and compiles each
	 * site's native emit in place of its proof sequence, or the proof
	 * sequence when the op has no usable emit. NULL: no native operations.
	 * Only for programs the kernel verifier accepted (sbpf_kops_verify_kernel). */
	const struct sbpf_kops_lowered *kops;
	/* The user-space runtime (safebpf/maps.h; not freed, must outlive the
	 * JIT): map references are resolved to it, each map's value block is
	 * a read-write region of checked code, and runs make it the helpers'
	 * environment. The helpers themselves are registered as usual
	 * (sbpf_jit__helpers_from_vm of a VM made with the same maps). */
	struct sbpf_maps *maps;
};

/* Feature bits that opts.features may switch off. */
enum {
	SBPF_JIT_NO_BMI2 = 1u << 0,  /* shifts by register through cl instead of shlx/shrx/sarx */
	SBPF_JIT_NO_BMI1 = 1u << 1,  /* Kops extract with shr + and instead of bextr */
	SBPF_JIT_NO_MOVBE = 1u << 2, /* Kops bswap_load with mov + bswap instead of movbe */
	SBPF_JIT_NO_LSE = 1u << 3,   /* arm64: atomics as LL/SC loops (ldaxr/stlxr) instead of LSE */
	SBPF_JIT_NO_POPCNT = 1u << 4, /* Kops popcount runs its proof sequence instead of popcnt */
};

struct sbpf_jit;

/* Validates and copies @insns (@n slots). Returns NULL with errno set on
 * error (EINVAL: invalid program, details in @err when not NULL; ENOTSUP:
 * unknown target or program type). Nothing is compiled yet. */
struct sbpf_jit *sbpf_jit__new(const struct sbpf_insn *insns, size_t n,
			       const struct sbpf_jit_opts *opts,
			       struct sbpf_validate_error *err);
void sbpf_jit__free(struct sbpf_jit *jit);

/* Registers helper @id before compiling (calls are bound at compile time;
 * calling an id left unregistered stops the program with -EINVAL, as in the
 * interpreter). Returns 0, -EINVAL (id out of range) or -EBUSY (compiled). */
int sbpf_jit__set_helper(struct sbpf_jit *jit, uint32_t id, sbpf_helper_fn fn);
/* Registers every helper that @vm has (the interpreter's helper table). */
int sbpf_jit__helpers_from_vm(struct sbpf_jit *jit, const struct sbpf_vm *vm);

/* Compiles (once; later calls return 0). Returns 0, -ENOMEM, or -E2BIG when
 * the image would not converge or exceed the code size limit. */
int sbpf_jit__compile(struct sbpf_jit *jit);

/* Runs the program (compiling first if needed) on @mem (@len bytes, read and
 * written in place; r1 = mem, r2 = len) and stores r0 in *@r0. Returns 0, or
 * -EFAULT (bad memory access), -E2BIG (loop budget), -EINVAL (unknown
 * helper, call depth) with @err filled, as sbpf_vm__run() does. */
int sbpf_jit__run(struct sbpf_jit *jit, void *mem, size_t len, uint64_t *r0,
		  struct sbpf_run_error *err);

/* The compiled image (NULL before compiling) and its size in bytes. */
const void *sbpf_jit__code(const struct sbpf_jit *jit, size_t *size);

/* Native offset of eBPF slot @pc in the image; @pc == n gives the end of the
 * translated instructions (start of the epilogue and out-of-line stubs).
 * Returns -1 when @pc is out of range or not compiled. The second slot of an
 * lddw maps to the end of the lddw's code. */
long sbpf_jit__insn_offset(const struct sbpf_jit *jit, size_t pc);

/* Name of the backend ("x86_64", "arm64") and the capstone architecture/mode that
 * disassembles its code (cs_arch and cs_mode values). */
const char *sbpf_jit__target_name(const struct sbpf_jit *jit);
void sbpf_jit__capstone_mode(const struct sbpf_jit *jit, int *arch, int *mode);

/* Number of passes the last compile needed to converge (jump shrinking). */
int sbpf_jit__passes(const struct sbpf_jit *jit);

/* Site @i of opts.kops after compiling: its code is [*@from, *@to) in the
 * image (for a native emit, the emit, after the budget check when the site
 * starts a loop in checked mode; for a proof sequence, its slots' code). Returns 1 when the site runs its native emit, 0 when
 * it runs its proof sequence, -1 when @i is out of range or nothing is
 * compiled. */
int sbpf_jit__kops_site(const struct sbpf_jit *jit, size_t i, size_t *from, size_t *to);

/* CPU features the JIT uses on this host after opts.features
 * (SBPF_JIT_NO_* bits set = feature present and used). */
unsigned int sbpf_jit__features(const struct sbpf_jit *jit);

#ifdef __cplusplus
}
#endif
#endif /* SAFEBPF_JIT_H */
