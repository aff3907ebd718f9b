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
struct kops_arm64;

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
	/* AArch64 native emit, the same contract (kops_arm64.h). NULL: the
	 * proof sequence runs on AArch64. */
	int (*emit_arm64)(const struct sbpf_kops_payload *p, struct kops_arm64 *x);
	int native_max_arm64;      /* upper bound of the bytes emit_arm64 appends */
	uint32_t arm64_scratch;    /* host registers it may write (KOPS_A64_SCRATCH bits, x9..x15) */
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

/* Successors of slot @i in the control-flow graph liveness uses (a local
 * call falls through; at most 2); returns their count. */
int kops_successors(const struct sbpf_insn *insns, size_t n, size_t i, size_t succ[2]);

/* ---- recognizer (recognize.c, facts.c, sym.c, match.c, rcheck.c) -------- */

/* Provenance of a value, as the kernel verifier types it (bits of a
 * may-set: a register may hold any kind its set names; 0 = not
 * initialized). Pointer arithmetic the verifier follows by identity (a
 * bounds check on one packet pointer covers its copies; linked scalars)
 * must not be recomputed differently by a rewrite (facts.c). */
enum {
	KOPS_K_SCALAR = 1,           /* a number */
	KOPS_K_CTX = 2,              /* the context (r1 on entry) */
	KOPS_K_PKT = 4,              /* packet data or metadata pointer (ctx data/data_meta) */
	KOPS_K_PKT_END = 8,          /* one past the packet (ctx data_end) */
	KOPS_K_STACK = 16,           /* into this frame's or a caller's stack */
	KOPS_K_MAPVAL = 32,          /* into a map value (read-only data too) */
	KOPS_K_OTHER = 64,           /* any other pointer (map, kernel object) */
	KOPS_K_ANY = 127,            /* anything */
};
#define KOPS_SLOTS 64                /* 8-byte stack slots of a frame (512 bytes) */

/* What the forward analysis knows about the registers on entry to a slot. */
struct kops_regfacts {
	uint8_t kind[SBPF_NREGS];    /* may-set of KOPS_K_* per register */
	uint8_t slot[KOPS_SLOTS];    /* may-set of the 8 bytes at r10 - 512 + 8j (this frame) */
	uint16_t known;              /* bit r: r holds the constant val[r] */
	uint16_t zext;               /* bit r: the upper 32 bits of r are zero */
	uint16_t fpknown;            /* bit r: r == r10 + fpoff[r] */
	uint16_t maybe_fp;           /* bit r: r may point into the stack at an unknown offset */
	uint8_t reached;             /* some path reaches the slot */
	uint64_t val[SBPF_NREGS];    /* constants (when known) */
	int32_t fpoff[SBPF_NREGS];   /* stack offsets (when fpknown) */
};

/* Facts about a vanilla program that every rewrite relies on. */
struct kops_facts {
	size_t n;                    /* slots */
	uint8_t *target;             /* target[i]: some jump or call lands on slot i */
	uint8_t *second;             /* second[i]: slot i is the second half of an lddw */
	uint16_t *live;              /* registers live on entry (kops_liveness) */
	uint16_t *high;              /* registers whose upper 32 bits may be observed after entry */
	struct kops_regfacts *in;    /* forward facts on entry */
};

/* Kinds (KOPS_K_*) of a 64-bit a + b, as the verifier types the sum. */
uint8_t kops_kinds_add(uint8_t a, uint8_t b);

/* Computes every fact about @insns (a program that passed sbpf_validate()).
 * With @ret32 the main program's exits observe only the low 32 bits of
 * r0 (sbpf_kops_policy.ret32). Returns 0 or -ENOMEM. */
int kops_facts__init(struct kops_facts *f, const struct sbpf_insn *insns, size_t n, int ret32);
void kops_facts__free(struct kops_facts *f);
/* Live / high-demanded registers after the region ending before slot @end. */
uint16_t kops_facts__live_at(const struct kops_facts *f, size_t end);
uint16_t kops_facts__high_at(const struct kops_facts *f, size_t end);

/* Result of one ALU operation on constants, with the interpreter's
 * semantics; @code and @off as in the instruction (class ALU or ALU64). */
uint64_t kops_alu_eval(uint8_t code, int16_t off, int32_t imm, uint64_t dst, uint64_t src);

/* Symbolic evaluation of straight-line code. Values are nodes of a small
 * hash-consed expression DAG over the registers' values at the start
 * (leaves), so two computations of the same expression get the same node.
 * Nodes are canonicalized (commutative operands ordered, add chains
 * flattened, constants folded, a few exact identities applied). */
enum { KSYM_LEAF, KSYM_CONST, KSYM_OP, KSYM_LOAD };
#define KSYM_MAX 384
#define KOPS_WIN_MAX 32          /* instructions in one window */

struct ksym_node {
	uint8_t kind;                /* KSYM_* */
	uint8_t op;                  /* KSYM_OP: ALU op (SBPF_ADD..SBPF_END) */
	uint8_t w;                   /* KSYM_OP: 32 or 64; KSYM_LOAD: bytes */
	uint8_t x;                   /* OP: signed div/mod (1), movsx/end bits; END: | 0x80 for be */
	int a, b;                    /* operand nodes (-1 when absent) */
	uint64_t k;                  /* LEAF: register; CONST: value; LOAD: offset (sign-extended) */
	uint8_t zext;                /* the value's upper 32 bits are known zero */
	uint8_t sx;                  /* LOAD: sign-extending */
};

struct ksym {
	struct ksym_node node[KSYM_MAX]; /* the DAG */
	int nnodes;                  /* nodes used */
	int init[SBPF_NREGS];        /* node of each register at the start */
	int reg[SBPF_NREGS];         /* node each register holds now */
	uint32_t contrib[SBPF_NREGS];/* bit i: window slot i computed part of reg's value */
	uint16_t written;            /* registers written since the start */
	int overflow;                /* the node pool ran out: nothing is proven */
	int load_base[32];           /* per window slot: address node of its load, -1 when none */
	int64_t load_off[32];        /* the load's offset */
	uint8_t load_size[32];       /* the load's bytes */
};

/* Starts an evaluation from the facts on entry to the first slot. */
void kops_sym__start(struct ksym *st, const struct kops_regfacts *in);
/* Back to the start values (nodes are kept, so results stay comparable). */
void kops_sym__restart(struct ksym *st);
/* Evaluates the instruction at @insns[pc] as window slot @bit. Returns the
 * slots it takes (1, or 2 for lddw), or 0 when it is not straight-line
 * arithmetic or a load (stores, jumps, calls, atomics, pseudo lddw). */
int kops_sym__step(struct ksym *st, const struct sbpf_insn *insns, size_t n, size_t pc, int bit);
/* A node computing the low 32 bits of @node, zero-extended, canonically. */
int kops_sym__low32(struct ksym *st, int node);
/* Byte provenance of a value built from loads: map[i] = the memory byte at
 * (address node base[i], offset off[i]) or zero (base[i] == -1). Returns 0,
 * or -1 when the value is not a composition of loaded bytes. */
struct ksym_bytes {
	int base[8];                 /* address node of byte i, -1 for a zero byte */
	int64_t off[8];              /* its offset from that node */
};
int kops_sym__bytes(struct ksym *st, int node, struct ksym_bytes *out);
/* @n without the constant of its 64-bit add chain (n = result + c), so
 * that two values that differ by a constant strip to the same node. */
int kops_sym__strip_const(const struct ksym *st, int n);
/* 1 when nodes @a and @b are proven to hold the same 64-bit value. */
int kops_sym__same(struct ksym *st, int a, int b);
/* 1 when they are proven to agree in the low 32 bits. */
int kops_sym__same_low32(struct ksym *st, int a, int b);

/* A rewrite the matchers propose: slots [start, end) of the program become
 * the vanilla @pre instructions followed by the site @p (the window's other
 * instructions are kept around it as recognize.c decides). */
struct kops_cand {
	size_t start, end;           /* the window in the input program */
	struct sbpf_kops_payload p;  /* the site */
	struct sbpf_insn pre[4];     /* vanilla instructions before the site */
	int npre;                    /* how many */
	int pre_scratch;             /* 1: pre's register KOPS_PRE_SCRATCH stands for the payload's
				      * scratch c (chosen when the rewrite is proven) */
	uint32_t cone;               /* window slots the site replaces (bit i = start + i); 0: all */
	int sym;                     /* 1: proven by symbolic evaluation; 0: by its shape */
	uint16_t differs;            /* shape-proven: registers left with other values (must be dead) */
	int scratch;                 /* KOPS_SCRATCH_* bits: payload fields that are scratch registers
				      * recognize.c picks (1 alone: c) */
	int prefer;                  /* preferred scratch register, -1 for none */
};

enum { KOPS_SCRATCH_C = 1, KOPS_SCRATCH_B = 2 };
#define KOPS_PRE_SCRATCH 15          /* placeholder register in kops_cand.pre */

/* Matchers (match.c). Symbolic ones look at register @d after a window
 * evaluated into @st, starting at @start with facts @in; each returns 1 and
 * fills @c when @d's value is the operation's idiom. */
int kops_match_rotate(struct ksym *st, int d, struct kops_cand *c);
int kops_match_extract(struct ksym *st, int d, struct kops_cand *c);
int kops_match_lea(struct ksym *st, int d, struct kops_cand *c);
int kops_match_popcount(struct ksym *st, int d, struct kops_cand *c);
int kops_match_wide(struct ksym *st, int d, struct kops_cand *c);
int kops_match_bswap(struct ksym *st, int d, const struct kops_regfacts *in, struct kops_cand *c);
/* @n as register + constant: 1 with *@reg and *@off, else 0. */
int kops_sym_base(const struct ksym *st, int n, int *reg, int64_t *off);
/* Shape matchers at slot @pc: select (a conditional jump over a mov) and
 * bulk_copy (a run of load/store pairs through one temporary). */
int kops_match_select(const struct sbpf_insn *insns, size_t n, size_t pc,
		      const struct kops_facts *f, struct kops_cand *c);
int kops_match_copy(const struct sbpf_insn *insns, size_t n, size_t pc,
		    const struct kops_facts *f, struct kops_cand *c);

/* Proof sequence of @p into @out (at most @max slots). Returns its length
 * or a negative errno. */
int kops_proof(const struct sbpf_kops_payload *p, struct sbpf_insn *out, size_t max);

/* Runs @orig and @repl (vanilla straight-line snippets that fall off their
 * end) in the interpreter from the same @rounds random states, registers
 * constrained by @in (known constants, zero upper halves), registers used
 * as addresses pointing into a buffer. Registers in @dead may differ, those
 * in @low32 may differ in their upper halves; all others, the buffer and
 * the stack must agree. Returns 0 when they always agree, -EDOM on a
 * difference (reason in @why), other negative errno on failure. */
int kops_rcheck(const struct sbpf_insn *orig, size_t norig, const struct sbpf_insn *repl,
		size_t nrepl, const struct kops_regfacts *in, uint16_t ptrs, uint16_t dead,
		uint16_t low32, unsigned rounds, char *why, size_t whysz);

#endif /* SAFEBPF_KOPSINT_H */
