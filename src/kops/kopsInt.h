/* kopsInt.h - private interfaces of Kops (src/kops/): the operation
 * descriptor every ops/<op>.c file fills in, and register liveness.
 * Native emits for x86-64 see struct kops_x86 (src/jit/x86_64/kops_x86.h).
 */
#ifndef SAFEBPF_KOPSINT_H
#define SAFEBPF_KOPSINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "safebpf/kops.h"

struct kops_x86;

/* One native operation. Adding an operation = one ops/<op>.c file defining
 * a `const struct kops_op kops_op_<name>` and one line in kops.c's registry. */
struct kops_op {
	uint32_t id;               /* enum sbpf_kops_id */
	const char *name;          /* short name used on the command line */
	const char *summary;       /* what it computes, one line */
	const char *payload_doc;   /* how dst/a/b/c/imm/variant are used */
	int max_proof_len;         /* upper bound of instantiate()'s slots */
	bool writes_dst;           /* dst holds the result (false: memory or nothing) */
	/* 0 when well formed, else -EINVAL and the reason in @why. */
	int (*check)(const struct sbpf_kops_payload *p, char *why, size_t whysz);
	/* Appends the proof sequence (vanilla eBPF the verifier checks). */
	int (*instantiate)(const struct sbpf_kops_payload *p, struct sbpf_builder *b);
	/* The specification: what the operation computes, as plain C. */
	void (*spec)(const struct sbpf_kops_payload *p, uint64_t regs[SBPF_NREGS]);
	/* Registers the proof sequence writes besides its result (bit i = r<i>);
	 * they must be dead after the site. */
	uint16_t (*clobbers)(const struct sbpf_kops_payload *p);
	/* A payload that shows the operation (listings, `safebpf kops list`). */
	struct sbpf_kops_payload example;
	/* x86-64 native emit: appends machine code computing exactly what the
	 * proof sequence computes (registers except clobbers, memory), or
	 * returns -EOPNOTSUPP having emitted nothing, and the JIT compiles the
	 * proof sequence instead. NULL: no emit. See kops_x86.h for the rules. */
	int (*emit_x86_64)(const struct sbpf_kops_payload *p, struct kops_x86 *x);
	int native_max_x86_64;     /* upper bound of the bytes emit_x86_64 appends */
	uint32_t x86_scratch;      /* host registers the emit may write besides the
				    * eBPF dst and clobbers (KOPS_X86_SCRATCH_* bits) */
};

/* Registry lookup, NULL for an unknown id. */
const struct kops_op *kops_op(uint32_t id);

/* Shared payload checks for ops/<op>.c; each returns 0 or -EINVAL with @why. */
int kops_check_reg(const char *what, uint8_t reg, bool writable, char *why, size_t whysz);
int kops_check_distinct(const uint8_t *regs, size_t n, char *why, size_t whysz);

/* Live-in register sets (bit i = r<i>, r0..r10) per slot of a vanilla
 * program, by backward dataflow over its control-flow graph. Returns a
 * malloc'ed array of @n masks, or NULL with errno. */
uint16_t *kops_liveness(const struct sbpf_insn *insns, size_t n);

/* Host scratch registers an x86-64 emit may write (struct kops_op
 * x86_scratch): bit i = x86 register i (only r9, r10, r11 are allowed),
 * bit 16 + i = xmm i. */
#define KOPS_X86_SCRATCH_GPR(r) (1u << (r))
#define KOPS_X86_SCRATCH_XMM(i) (1u << (16 + (i)))

#endif /* SAFEBPF_KOPSINT_H */
