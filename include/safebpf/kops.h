/* safebpf/kops.h - Kops native operations: encoding of operation sites in
 * bytecode, lowering to proof sequences, site checks, and the registry of
 * operations (EInsn: rotate, select, extract, bswap load, prefetch, bulk
 * copy, lea, popcount, wide load). See docs/kops.md.
 *
 * A site occupies two slots that vanilla tools still parse:
 *   sidecar  MOV64_K  dst_reg=dst  src_reg=SBPF_KOPS_SIDECAR_SRC
 *                     off = a | b << 4 | c << 8 (bits 12-15 zero)  imm = imm
 *   call     CALL     dst_reg=0    src_reg=SBPF_KOPS_CALL_SRC
 *                     off = variant  imm = operation id
 * Pointer arguments may not be NULL unless their comment says so; every
 * __free / __close function accepts NULL (and does nothing).
 */
#ifndef SAFEBPF_KOPS_H
#define SAFEBPF_KOPS_H

#include <stddef.h>
#include <stdint.h>

#include "safebpf/diag.h"
#include "safebpf/isa.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SBPF_KOPS_SIDECAR_SRC 0xa /* src_reg marking a site's sidecar MOV64_K */
#define SBPF_KOPS_CALL_SRC    0xb /* src_reg marking a site's CALL */

/* Operation ids (the CALL slot's imm). Never renumber: they are bytecode. */
enum sbpf_kops_id {
	SBPF_KOPS_ROTATE = 1,
	SBPF_KOPS_SELECT = 2,
	SBPF_KOPS_EXTRACT = 3,
	SBPF_KOPS_BSWAP_LOAD = 4,
	SBPF_KOPS_PREFETCH = 5,
	SBPF_KOPS_BULK_COPY = 6,
	SBPF_KOPS_LEA = 7,
	SBPF_KOPS_POPCOUNT = 8,
	SBPF_KOPS_WIDE_LOAD = 9,
	SBPF_KOPS__MAX = 10,
};

/* The operands of one site; each operation documents how it uses them. */
struct sbpf_kops_payload {
	uint32_t op;       /* enum sbpf_kops_id */
	uint16_t variant;  /* op-specific flags (CALL slot off) */
	uint8_t dst;       /* destination register */
	uint8_t a, b, c;   /* operand / scratch registers */
	int32_t imm;       /* immediate operand */
};

/* A site found in a program with sites. */
struct sbpf_kops_site {
	size_t pc;                       /* slot of the sidecar in the site program */
	size_t lowered_start;            /* first slot of its proof sequence after lowering */
	size_t lowered_len;              /* slots of the proof sequence (0 for prefetch) */
	struct sbpf_kops_payload p;      /* operands */
};

/* Encodes @p as a site into @out[0..1]. */
void sbpf_kops_encode(const struct sbpf_kops_payload *p, struct sbpf_insn out[2]);
/* 1 when @insns[pc] starts a site (sidecar followed by a Kops CALL), else 0. */
int sbpf_kops_is_site(const struct sbpf_insn *insns, size_t n, size_t pc);
/* Decodes the site at @pc into @p. Returns 0 or -EINVAL. */
int sbpf_kops_decode(const struct sbpf_insn *insns, size_t n, size_t pc,
		     struct sbpf_kops_payload *p);

/* Result of lowering a program with sites to vanilla eBPF. */
struct sbpf_kops_lowered {
	struct sbpf_insn *insns;      /* vanilla program (proof sequences inlined) */
	size_t n;                     /* its slots */
	struct sbpf_kops_site *sites; /* one per site, in program order */
	size_t nsites;
	size_t *old_to_new;           /* slot map from the site program (n_old + 1 entries) */
};

/* Replaces every site by its proof sequence, fixes every jump and call
 * offset, and checks the site rules: payload well formed; no jump from
 * outside into a site or its proof sequence except at its start; proof
 * sequences free of calls, exits, back edges and other sites; registers a
 * proof sequence clobbers are dead after the site. Returns 0, or -EINVAL
 * with the reason in @err (index = slot in the input). */
int sbpf_kops_lower(const struct sbpf_insn *insns, size_t n, struct sbpf_kops_lowered *out,
		    struct sbpf_validate_error *err);
void sbpf_kops_lowered__free(struct sbpf_kops_lowered *l);

/* Checks @sites against the vanilla program @insns (@n slots), as a JIT
 * must before trusting them: regions in order, inside the program, each
 * holding exactly the proof sequence of its payload; no jump into a
 * region except at its start; no call, exit or backward jump inside one;
 * registers a proof sequence clobbers dead after it. sbpf_kops_lower()
 * applies it to its result. Returns 0, or -EINVAL with the reason in @err
 * (index = the site's slot in the site program). */
int sbpf_kops_check_sites(const struct sbpf_insn *insns, size_t n, const struct sbpf_kops_site *sites,
			  size_t nsites, struct sbpf_validate_error *err);

/* Loads the lowered program @l into the running kernel as an XDP program,
 * so that the kernel verifier judges every proof sequence in context, and
 * unloads it. Returns 0 when the verifier accepts it; otherwise a negative
 * errno with a reason for people in @why: -EPERM/-EACCES when this process
 * may not load programs, else the verifier's own reason (its log's last
 * line) for a rejected program. */
int sbpf_kops_verify_kernel(const struct sbpf_kops_lowered *l, char *why, size_t whysz);

/* How the kernel check loads a program (src/kops/verify.c). */
struct sbpf_kops_verify_opts {
	size_t sz;                 /* sizeof(struct sbpf_kops_verify_opts) */
	const void *rodata;        /* the program's read-only data (elf.h: a frozen
				    * read-only array map in the kernel), or NULL */
	size_t rodata_len;         /* its bytes */
	const char *name;          /* program name bpftool shows (NULL: "safebpf_kops") */
};

/* sbpf_kops_verify_kernel() with options (@o may be NULL). */
int sbpf_kops_verify_kernel_opts(const struct sbpf_kops_lowered *l, const struct sbpf_kops_verify_opts *o,
				 char *why, size_t whysz);

/* Registry access, for listings and tools. */
struct sbpf_kops_info {
	const char *name;      /* "rotate" */
	const char *summary;   /* one line */
	const char *payload;   /* how the operation reads its payload, for people */
	struct sbpf_kops_payload example; /* a payload that shows the operation */
	int has_x86_64;        /* 1 when the operation has an x86-64 native emit */
	int native_max_x86_64; /* upper bound of that emit's bytes */
};
const struct sbpf_kops_info *sbpf_kops_info(uint32_t op);
/* Id of the operation named @name, or -ENOENT. */
int sbpf_kops_by_name(const char *name);

/* Computes the operation's specification (plain C) on a register file;
 * memory operands are host addresses in the registers. Returns 0 or
 * -EINVAL for an ill-formed payload. */
int sbpf_kops_spec(const struct sbpf_kops_payload *p, uint64_t regs[SBPF_NREGS]);

/* Appends the proof sequence of @p to @b. */
int sbpf_kops_instantiate(const struct sbpf_kops_payload *p, struct sbpf_builder *b);

/* Bit mask of eBPF registers the proof sequence may write besides dst. */
uint16_t sbpf_kops_clobbers(const struct sbpf_kops_payload *p);

/* 0 when @p is well formed for its operation, else -EINVAL with @why. */
int sbpf_kops_check_payload(const struct sbpf_kops_payload *p, char *why, size_t whysz);

/* ---- recognizer (src/kops/recognize.c): idioms in vanilla code -> sites ---- */

/* Which exact rewrites are worth making. A site is written only when its
 * operation is enabled and it saves at least @min_saved machine
 * instructions by the estimate of docs/kops.md ("Recognizer"): the x86-64
 * instructions the vanilla JIT emits for what the site replaces, plus one
 * for a conditional branch a select removes, minus the native emit's. */
struct sbpf_kops_policy {
	size_t sz;                 /* sizeof(struct sbpf_kops_policy) */
	uint32_t ops;              /* enabled operations: bit (1u << id) per enum sbpf_kops_id */
	int min_saved;             /* estimated instructions a site must save (default 1) */
	unsigned check_rounds;     /* random states each rewrite is run on in the interpreter (0: 64) */
	/* Called, when not NULL, for each idiom matched at input slot @slot
	 * but refused as not provably exact, with the reason. */
	void (*on_refuse)(void *arg, size_t slot, uint32_t op, const char *why);
	void *arg;                 /* passed to on_refuse, want and on_site */
	/* 1: leave out the rules that keep rewrites acceptable to the kernel
	 * verifier (no lea on pointers it follows by identity: see
	 * docs/kops.md, "The verifier's view"). The rewrites stay exact; for
	 * programs no kernel verifier judges, and for tests. Default 0. */
	int no_verifier_rules;
	/* Called, when not NULL, for each proven rewrite of input slots
	 * [@start, @end) the policy would write; returning 0 leaves it out
	 * (sbpf_kops_rewrite_verified() leaves out what the kernel refused). */
	int (*want)(void *arg, size_t start, size_t end, uint32_t op);
	/* Called, when not NULL, for each site written: its sidecar's slot in
	 * the output and the input slots [@start, @end) it replaces. */
	void (*on_site)(void *arg, size_t out_pc, size_t start, size_t end, uint32_t op);
	/* 1: the program's return value is observed in its low 32 bits only
	 * (the kernel runs XDP, tc, socket filters... through bpf_prog_run,
	 * which returns a u32), so an upper half that only reaches r0 at an
	 * exit of the main program may change (not at a subprogram's exit: its
	 * caller reads all of r0). Default 0: all 64 bits of r0 are kept. */
	int ret32;
};

/* Every operation enabled, min_saved 1, check_rounds 64. */
void sbpf_kops_policy__init(struct sbpf_kops_policy *pol);

/* What the recognizer found and did. */
struct sbpf_kops_stats {
	size_t found[SBPF_KOPS__MAX];   /* exact, non-overlapping rewrites found, per operation */
	size_t sites[SBPF_KOPS__MAX];   /* sites written (found and wanted by the policy) */
	size_t refused[SBPF_KOPS__MAX]; /* idioms matched but not provably exact (a live
					 * temporary, observed upper bits, a check mismatch) */
	size_t insns_in;                /* slots of the input */
	size_t insns_out;               /* slots of the output (sites take 2) */
	size_t insns_lowered;           /* slots of the output lowered again */
	long saved;                     /* instructions saved by the policy's estimate */
};

/* Finds the EInsn idioms of the vanilla program @insns (@n slots) and
 * rewrites those the policy wants into sites, only where the rewrite is
 * exact: the output, once lowered, computes what the input computes on
 * every input, except in registers that are dead afterwards. Stores the
 * program with sites (malloc'ed) in *@out / *@out_n. @pol and @stats may
 * be NULL. Returns 0, -EINVAL for an invalid input or one that already
 * has sites (reason in @err when not NULL), or -ENOMEM. */
int sbpf_kops_recognize(const struct sbpf_insn *insns, size_t n, const struct sbpf_kops_policy *pol,
			struct sbpf_insn **out, size_t *out_n, struct sbpf_kops_stats *stats,
			struct sbpf_validate_error *err);

/* ---- the recognizer under the kernel verifier (src/kops/verify.c) ---- */

/* A rewrite the kernel verifier refused, which sbpf_kops_rewrite_verified()
 * left out. */
struct sbpf_kops_drop {
	uint32_t op;               /* the operation */
	size_t start, end;         /* the idiom's input slots [start, end) */
	int bisected;              /* 1: found by bisection over the sites; 0: the
				    * refused instruction lies in its proof sequence */
	char why[200];             /* the verifier's reason */
};

/* What sbpf_kops_rewrite_verified() produced. */
struct sbpf_kops_verified {
	struct sbpf_insn *insns;          /* the program with sites the verifier accepted */
	size_t n;                         /* its slots */
	struct sbpf_kops_lowered lowered; /* it, lowered (what the verifier accepted) */
	struct sbpf_kops_stats stats;     /* the recognizer's figures for it */
	struct sbpf_kops_drop *drops;     /* rewrites left out, in the order found */
	size_t ndrops;
	unsigned loads;                   /* programs the kernel verified on the way */
};
void sbpf_kops_verified__free(struct sbpf_kops_verified *v);

/* The recognizer under the kernel verifier ("DSL-guided iteration"):
 * recognizes @insns with @pol, lowers the result and asks the verifier
 * (as sbpf_kops_verify_kernel_opts() with @vo). When it refuses, finds the
 * rewrites to blame - the one whose proof sequence holds the instruction
 * the verifier's log names, else by bisection over the sites in program
 * order (prefixes of them, each a load) - leaves them out and tries again,
 * until the verifier accepts. Returns 0 with @out filled (drops listed),
 * or a negative errno with a reason in @why: -EPERM when the kernel cannot
 * be asked, -ENOEXEC when the program without any site is refused too
 * (the kernel's reason), -EINVAL from the recognizer, -ELOOP after 64
 * drops; @out then holds only the drops found. Free @out with
 * sbpf_kops_verified__free() in both cases. */
int sbpf_kops_rewrite_verified(const struct sbpf_insn *insns, size_t n, const struct sbpf_kops_policy *pol,
			       const struct sbpf_kops_verify_opts *vo, struct sbpf_kops_verified *out,
			       char *why, size_t whysz);

#ifdef __cplusplus
}
#endif
#endif /* SAFEBPF_KOPS_H */
