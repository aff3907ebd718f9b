/* proveInt.h - private interfaces of the equivalence prover (src/prove/):
 * the Z3 context wrapper, the symbolic machine state both semantics share
 * (registers, flags, one byte-addressed memory, the memory footprint), the
 * x86-64 and AArch64 instruction forms the models execute, the eBPF,
 * x86-64 and AArch64 semantics, each target's instruction set as the
 * driver sees it (struct prove_isa), the symbolic specifications, and one obligation.
 *
 * Files: sym.c (context, state, memory), ebpf_sem.c (eBPF semantics),
 * x86_decode.c (capstone -> struct prove_x86_insn, renaming comparison),
 * x86_sem.c (x86-64 semantics), a64_decode.c (capstone + the encoding ->
 * struct prove_a64_insn), a64_sem.c (AArch64 semantics), spec_sem.c
 * (operation specifications as Z3 terms), obligation.c (one obligation:
 * build, solve, counterexample), enumerate.c (what is proven for each
 * operation), target_x86_64.c and target_arm64.c (the JIT backends as
 * prover targets), prove.c (the driver).
 */
#ifndef SAFEBPF_PROVEINT_H
#define SAFEBPF_PROVEINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <z3.h>

#include "safebpf/isa.h"
#include "safebpf/kops.h"
#include "safebpf/prove.h"

/* ---- Z3 context ---------------------------------------------------------- */

struct prove_z3 {
	Z3_context c;          /* the context (non-ref-counted: terms live until it is deleted) */
	Z3_sort bool_s;        /* Bool */
	Z3_sort bv[65];        /* bit-vector sorts by width (only 1, 8, 16, 32, 64 made) */
	Z3_sort mem_s;         /* memory: Array (_ BitVec 64) (_ BitVec 8) */
	unsigned int fresh;    /* counter naming fresh (undefined-value) variables */
	Z3_solver solver;      /* one incremental solver; each obligation runs in a push/pop scope */
	/* Reads of the initial memory of an obligation: each distinct address
	 * (as base + constant) is one byte variable; equal addresses must give
	 * equal bytes, which the solver loop enforces where a model needs it
	 * (see obligation.c). NULL mem0: reads are plain array selects. */
	Z3_ast mem0;           /* the initial memory array of the obligation */
	struct prove_read *reads; /* its reads (malloc'ed) */
	size_t nreads, reads_cap;
	int reads_err;         /* -ENOMEM while recording */
	int popcount_lemma[2]; /* SWAR == bit count proven for 32/64 bits: 1, refuted -1, not yet 0 */
	/* Address comparisons between two different base registers: the
	 * first pair seen, and whether others appeared (obligation.c then
	 * rebuilds the obligation with y = x + delta, see mem.c). */
	Z3_ast alias_x, alias_y; /* the pair (NULL: none) */
	bool alias_many;       /* more than one pair, or a base that is not a variable */
	Z3_ast delta;          /* the difference variable of the rebuilt obligation (NULL: none) */
	bool probe;            /* first build: stop resolving reads once an aliasing pair is known */
	struct prove_spec_cache *spec_cache; /* specialize() results (mem.c), malloc'ed */
	struct prove_chain_cache *chain_cache; /* parsed read chains (mem.c), malloc'ed */
	struct prove_split_cache *split_cache; /* addresses as base + offset (mem.c), malloc'ed */
	struct prove_atom_cache *atom_cache;   /* conditions delta == c (mem.c), malloc'ed */
};

/* One read of the initial memory. */
struct prove_read {
	Z3_ast addr;           /* address as first built */
	Z3_ast base;           /* its base term (NULL for a numeral) */
	uint64_t off;          /* its constant offset */
	Z3_ast var;            /* the byte variable standing for mem0[addr] */
};

/* Creates the context and its solver (a query gives up after 60 s).
 * Returns 0 or -ENOMEM. */
int prove_z3_init(struct prove_z3 *z);
void prove_z3_fini(struct prove_z3 *z);
/* Z3 errors seen so far by this thread (a change means a malformed term). */
unsigned long prove_z3_errors(void);

Z3_ast prove_bv(struct prove_z3 *z, uint64_t v, unsigned int bits);  /* numeral */
Z3_ast prove_var(struct prove_z3 *z, const char *name, unsigned int bits);
Z3_ast prove_fresh(struct prove_z3 *z, const char *what, unsigned int bits); /* bits 0: Bool */
Z3_ast prove_true(struct prove_z3 *z);
Z3_ast prove_false(struct prove_z3 *z);
Z3_ast prove_and2(struct prove_z3 *z, Z3_ast a, Z3_ast b);
Z3_ast prove_or2(struct prove_z3 *z, Z3_ast a, Z3_ast b);
Z3_ast prove_not(struct prove_z3 *z, Z3_ast a);
Z3_ast prove_eq(struct prove_z3 *z, Z3_ast a, Z3_ast b);
Z3_ast prove_ite(struct prove_z3 *z, Z3_ast c, Z3_ast t, Z3_ast e);
unsigned int prove_width(struct prove_z3 *z, Z3_ast t);
/* Low @bits of @t, or @t zero/sign-extended to @bits. */
Z3_ast prove_low(struct prove_z3 *z, Z3_ast t, unsigned int bits);
Z3_ast prove_zext(struct prove_z3 *z, Z3_ast t, unsigned int bits);
Z3_ast prove_sext(struct prove_z3 *z, Z3_ast t, unsigned int bits);
/* Bit @i of @t as a Bool. */
Z3_ast prove_bit(struct prove_z3 *z, Z3_ast t, unsigned int i);
/* Byte swap of a 16/32/64-bit term. */
Z3_ast prove_bswap(struct prove_z3 *z, Z3_ast t);
/* @d * @s; a constant @s with at most 8 ones is the sum of @d shifted by
 * each one's position (the same value modulo 2^width, which bit-blasts to
 * a few adders instead of a multiplier: popcount's multiply by 0x0101..01). */
Z3_ast prove_mul(struct prove_z3 *z, Z3_ast d, Z3_ast s);
/* Number of ones in a 16/32/64-bit term, in a term of the same width. */
Z3_ast prove_popcount(struct prove_z3 *z, Z3_ast t);
/* Declaration kind of application @t (Z3_OP_UNINTERPRETED for others),
 * its argument @i, its number of arguments (0 for non-applications). */
Z3_decl_kind prove_kind(struct prove_z3 *z, Z3_ast t);
Z3_ast prove_arg(struct prove_z3 *z, Z3_ast t, unsigned int i);
unsigned int prove_nargs(struct prove_z3 *z, Z3_ast t);

/* ---- symbolic machine state ---------------------------------------------- */

#define PROVE_NREGS 32       /* eBPF uses 0..10, x86-64 16 hardware registers, AArch64 x0..x30 and sp */
enum { PF_CF, PF_PF, PF_ZF, PF_SF, PF_OF, PF__N }; /* x86 flags that conditions read */
enum { PA_N, PA_Z, PA_C, PA_V };                   /* AArch64 NZCV, in the same flag slots */

/* One memory access, for the footprint obligations. */
struct prove_access {
	Z3_ast guard;          /* path condition under which it happens */
	Z3_ast addr;           /* first byte (64-bit) */
	uint16_t size;         /* bytes */
	bool write;            /* store (else load) */
};

struct prove_state {
	Z3_ast reg[PROVE_NREGS];   /* 64-bit register values (AArch64: reg[31] is sp) */
	Z3_ast xmm[16];            /* x86 xmm0..15 (128-bit); NULL for eBPF and AArch64 */
	Z3_ast flag[PF__N];        /* x86 flags / AArch64 NZCV (Bool); NULL for eBPF */
	Z3_ast mem;                /* memory array */
	Z3_ast path;               /* path condition reaching this state */
	struct prove_access *acc;  /* accesses so far, in execution order (malloc'ed) */
	size_t nacc, cap;          /* used / allocated */
};

/* Deep copy (the access list is duplicated). Returns 0 or -ENOMEM. */
int prove_state_copy(struct prove_state *dst, const struct prove_state *src);
void prove_state_free(struct prove_state *s);
/* Merges @from into @into where two control-flow paths meet: every value
 * becomes ite(from.path, from, into), the path the disjunction, the
 * footprint the union. Returns 0 or -ENOMEM. */
int prove_state_merge(struct prove_z3 *z, struct prove_state *into, const struct prove_state *from);
/* Hands state @s (ownership) to the pending state of instruction @target
 * (@pend, @has: one per instruction): stores it there, or merges it into
 * the state already waiting. Returns 0 or -ENOMEM. */
int prove_state_flow(struct prove_z3 *z, struct prove_state *pend, bool *has, size_t target, struct prove_state *s);
/* Records an access of @size bytes at @addr under the state's path. */
int prove_state_access(struct prove_state *s, Z3_ast addr, unsigned int size, bool write);
/* The byte at address @a of memory @mem: reads over writes resolved where
 * the addresses compare as base + constant, as a canonical chain on
 * z->delta where they differ by it, as if-then-else otherwise; reads of
 * z->mem0 become byte variables (mem.c). */
Z3_ast prove_read_byte(struct prove_z3 *z, Z3_ast mem, Z3_ast a);
/* Address @a as base + constant offset (base NULL for a numeral). */
void prove_addr_split(struct prove_z3 *z, Z3_ast a, Z3_ast *base, uint64_t *off);
/* Forgets the obligation's memory bookkeeping (mem0, reads, delta, alias
 * pair, caches). */
void prove_mem_reset(struct prove_z3 *z);
/* Little-endian load/store of @size bytes (result/value @size*8 bits). */
Z3_ast prove_load(struct prove_z3 *z, Z3_ast mem, Z3_ast addr, unsigned int size);
Z3_ast prove_store(struct prove_z3 *z, Z3_ast mem, Z3_ast addr, Z3_ast val, unsigned int size);

/* ---- eBPF semantics (ebpf_sem.c) ------------------------------------------ */

/* Executes @insns[0..@n) symbolically on @st (registers r0..r10, memory),
 * leaving the final state there. Forward jumps inside the sequence or to
 * its end are followed on both sides and merged. Calls, exits, backward
 * jumps and pseudo lddw are not proof-sequence instructions: -EINVAL with
 * the reason in @why. Returns 0, -EINVAL or -ENOMEM. */
int prove_ebpf_run(struct prove_z3 *z, const struct sbpf_insn *insns, size_t n,
		   struct prove_state *st, char *why, size_t whysz);
/* The jump condition @jop (SBPF_JEQ..) on @d and @s (64-bit terms; the low
 * 32 bits when @is32), as a Bool. */
Z3_ast prove_ebpf_cond(struct prove_z3 *z, int jop, bool is32, Z3_ast d, Z3_ast s);

/* ---- x86-64 instructions and semantics (x86_decode.c, x86_sem.c) ---------- */

#define PX_NOREG 0xff
enum { PX_NONE, PX_REG, PX_MEM, PX_IMM };

#define PX_XMM(i) (16 + (i))  /* xmm registers in struct prove_x86_opnd reg */

struct prove_x86_opnd {
	uint8_t kind;          /* PX_REG, PX_MEM or PX_IMM */
	uint8_t size;          /* bytes the operand has (1, 2, 4, 8; 16 for xmm) */
	uint8_t reg;           /* PX_REG: general register 0..15, or PX_XMM(0..15) */
	uint8_t hi8;           /* PX_REG: 1 for ah/ch/dh/bh (bits 8..15) */
	uint8_t base, index;   /* PX_MEM: hardware registers or PX_NOREG */
	uint8_t scale;         /* PX_MEM: 1, 2, 4 or 8 */
	int64_t val;           /* PX_MEM: displacement; PX_IMM: value (jumps: target instruction index) */
};

/* One decoded instruction: everything the model reads, nothing else. */
struct prove_x86_insn {
	unsigned int id;               /* capstone X86_INS_* */
	uint8_t nops;                  /* operands used */
	struct prove_x86_opnd op[4];   /* Intel order: destination first */
	uint16_t implicit_rd;          /* general registers read implicitly (bit = hardware number) */
	uint16_t implicit_wr;          /* general registers written implicitly */
	uint32_t offset;               /* byte offset in the code */
	char text[96];                 /* "mnemonic operands", for people */
};

/* Decodes @len bytes with capstone into a malloc'ed array (*@out, *@n).
 * Refuses bytes capstone cannot decode, prefixes the model does not give a
 * meaning to (rep, lock, segment, address size), RIP-relative operands and
 * jumps that leave the code or land inside an instruction. Returns 0,
 * -EINVAL (reason in @why) or -ENOMEM. */
int prove_x86_decode(const uint8_t *code, size_t len, struct prove_x86_insn **out, size_t *n,
		     char *why, size_t whysz);
/* True when @b is @a with every general register r renamed to perm[r]
 * (xmm registers unchanged). */
bool prove_x86_renamed(const struct prove_x86_insn *a, const struct prove_x86_insn *b, size_t n,
		       const uint8_t perm[16]);
/* Executes @insns symbolically on @st (16 registers, flags, memory). An
 * instruction the model does not know is an error (-EINVAL, reason in
 * @why), never skipped. */
int prove_x86_run(struct prove_z3 *z, const struct prove_x86_insn *insns, size_t n,
		  struct prove_state *st, char *why, size_t whysz);
/* Closes this thread's capstone handle (a thread that decoded calls it
 * before it ends). */
void prove_x86_decode_release(void);
/* Hardware register names ("rax"..). */
const char *prove_x86_reg_name(int hw);

/* ---- AArch64 instructions and semantics (a64_decode.c, a64_sem.c) --------- */

#define PA_SP 31   /* reg[] slot of sp; register field 31 is sp or zr by instruction class */

/* Instruction classes the AArch64 model executes (the fields each reads
 * are in a64_decode.c). */
enum prove_a64_class {
	PA_ADDSUB_SR,   /* add/adds/sub/subs rd, rn, rm{, lsl|lsr|asr #amt} */
	PA_LOGIC_SR,    /* and/bic/orr/orn/eor/eon/ands/bics rd, rn, rm{, shift #amt} */
	PA_ADDSUB_IMM,  /* add/adds/sub/subs rd|sp, rn|sp, #imm12{, lsl #12} */
	PA_LOGIC_IMM,   /* and/orr/eor/ands rd|sp, rn, #bitmask */
	PA_MOVW,        /* movn/movz/movk rd, #imm16, lsl #16*hw */
	PA_BFM,         /* sbfm/bfm/ubfm rd, rn, #immr, #imms (lsl, lsr, asr, ubfx, sxt, uxt) */
	PA_EXTR,        /* extr rd, rn, rm, #lsb (ror) */
	PA_DP2,         /* udiv/sdiv/lslv/lsrv/asrv/rorv rd, rn, rm */
	PA_DP1,         /* rbit/rev16/rev32/rev/clz/cls rd, rn */
	PA_CSEL,        /* csel/csinc/csinv/csneg rd, rn, rm, cond */
	PA_LDST,        /* ldr/str/ldrs* rt, [rn|sp, #imm | rm] (unsigned offset, unscaled, register) */
	PA_LDSTP,       /* ldp/stp xt, xt2, [rn|sp, #imm] (offset form only) */
	PA_PRFM,        /* prfm/prfum (a hint: no architectural effect) */
	PA_BCOND,       /* b.cond (forward, inside the code or to its end) */
	PA_B,           /* b (same) */
	PA_NOP,         /* nop */
};

/* One decoded AArch64 instruction: its fields as the encoding gives them. */
struct prove_a64_insn {
	uint32_t word;         /* the instruction */
	unsigned int id;       /* capstone ARM64_INS_* (agrees with cls, checked) */
	uint8_t cls;           /* enum prove_a64_class */
	uint8_t sf;            /* 1: 64-bit (X registers), 0: 32-bit (W) */
	uint8_t opc;           /* class-specific operation (see a64_decode.c) */
	uint8_t rd, rn, rm, ra;/* register fields 0..31 (31: zr or sp, by class) */
	uint8_t shift, amount; /* shifted-register forms / load-store size and kind */
	uint8_t cond;          /* b.cond, csel: the condition */
	int64_t imm;           /* immediate (decoded), displacement, or jump target index */
	uint32_t offset;       /* byte offset in the code */
	char text[64];         /* capstone's "mnemonic operands", for people */
};

/* Decodes @len bytes into a malloc'ed array (*@out, *@n): capstone's
 * AArch64 mode must decode each word to an instruction of the class the
 * encoding fields say (else -EINVAL with the reason in @why); branches
 * must land on an instruction or the end. Returns 0, -EINVAL or -ENOMEM. */
int prove_a64_decode(const uint8_t *code, size_t len, struct prove_a64_insn **out, size_t *n,
		     char *why, size_t whysz);
/* True when @b is @a with every register x0..x30 renamed to perm[r]. */
bool prove_a64_renamed(const struct prove_a64_insn *a, const struct prove_a64_insn *b, size_t n,
		       const uint8_t perm[PROVE_NREGS]);
/* Executes @insns on @st (x0..x30, sp in reg[31], NZCV in flag[PA_*],
 * memory). Anything outside the model is an error (-EINVAL, @why). */
int prove_a64_run(struct prove_z3 *z, const struct prove_a64_insn *insns, size_t n,
		  struct prove_state *st, char *why, size_t whysz);
void prove_a64_decode_release(void);
const char *prove_a64_reg_name(int hw);

/* ---- native instruction sets, as the obligation sees them ------------------ */

/* What the driver and the obligation need of a target's instruction set. */
struct prove_isa {
	const char *name;          /* "x86_64", "arm64" */
	unsigned int nregs;        /* general registers in struct prove_state reg[] */
	unsigned int nflags;       /* flag slots in use */
	const char *const *flag_names; /* their names, for the initial variables */
	bool xmm;                  /* has the 16 xmm registers */
	size_t insn_size;          /* bytes of one decoded instruction */
	int (*decode)(const uint8_t *code, size_t len, void **out, size_t *n, char *why, size_t whysz);
	int (*run)(struct prove_z3 *z, const void *insns, size_t n, struct prove_state *st, char *why,
		   size_t whysz);
	bool (*renamed)(const void *a, const void *b, size_t n, const uint8_t perm[PROVE_NREGS]);
	/* Text and byte offset of instruction @i. */
	const char *(*text)(const void *insns, size_t i, unsigned int *offset);
	const char *(*reg_name)(int hw);
	void (*release)(void);     /* frees this thread's decoder */
};
extern const struct prove_isa prove_isa_x86_64, prove_isa_arm64;

/* ---- specifications (spec_sem.c) ------------------------------------------ */

/* Applies the specification of @p to @st (registers and memory), as
 * sbpf_kops_spec() does on concrete values; stores are recorded in the
 * state's footprint. Returns 0, -EINVAL (unknown operation) or -ENOMEM. */
int prove_spec(struct prove_z3 *z, const struct sbpf_kops_payload *p, struct prove_state *st);

/* ---- one obligation (obligation.c) ----------------------------------------- */

/* The target being proven: its register map and emitter. */
struct prove_target {
	const char *name;                /* "x86_64", "arm64" */
	const struct prove_isa *isa;     /* its instruction set */
	uint8_t map[SBPF_NREGS];         /* eBPF register -> hardware register */
	uint32_t reserved;               /* hardware registers every emit must keep (rsp, r12; sp, x26, x29, x30) */
	unsigned int nfeatures;          /* feature sets to prove (emits may differ per set) */
	unsigned int features[16];       /* the sets */
	char feature_names[16][32];      /* "bmi1+movbe", for people */
	int mutant;                      /* deliberate mistake the emitter makes (tests), 0 = none */
	bool stop_at_failure;            /* prove_run_group stops at the first failed obligation (mutant tests) */
	/* Appends the native code of @p with @features to @out (cap bytes)
	 * and stores its length. Returns 0, -EOPNOTSUPP when the emit declines
	 * (having emitted nothing: the JIT then runs the proof sequence), or
	 * another negative errno. */
	int (*emit)(const struct prove_target *t, const struct sbpf_kops_payload *p, unsigned int features,
		    uint8_t *out, size_t cap, size_t *len);
	/* Host registers the emit of @p may write besides the eBPF ones: bit
	 * i = general register i, bit 16 + i = xmm i (x86-64; AArch64 has
	 * scratches only in x9..x15). */
	uint32_t (*scratch)(const struct sbpf_kops_payload *p);
	/* Bytes the emit of @p may append at most (0: no bound). */
	size_t (*max_len)(const struct sbpf_kops_payload *p);
};

enum prove_verdict { PROVE_PROVED, PROVE_FAILED, PROVE_UNKNOWN, PROVE_ERROR };

/* Result of one obligation. */
struct prove_result {
	enum prove_verdict verdict;  /* proved, failed (counterexample), unknown (solver), error */
	char *report;                /* malloc'ed text: the counterexample or the error (NULL if proved) */
};

/* Proves, for payload @p and its native code @code (@len bytes, decoded as
 * @insns): every eBPF register outside the declared clobbers ends equal on
 * both sides; every host register that holds no eBPF register and is not
 * a scratch of @p (t->scratch; never t->reserved) is unchanged, xmm too;
 * memory ends equal; the native code touches no byte the proof sequence
 * does not (writes only bytes it writes); and the proof sequence agrees
 * with the specification on every register outside the clobbers and on
 * memory. Every term is made inside a solver scope of @z that is popped
 * (freed) before returning. Fills @res (caller frees res->report).
 * Returns 0, or a negative errno when the obligation could not be built
 * at all. */
int prove_obligation(struct prove_z3 *z, const struct prove_target *t, const struct sbpf_kops_payload *p,
		     const uint8_t *code, size_t len, const void *insns,
		     size_t ninsns, struct prove_result *res);

/* The proof sequence of @p without a closing exit (malloc'ed *@out, *@n
 * slots). Returns 0 or a negative errno. */
int prove_proof_sequence(const struct sbpf_kops_payload *p, struct sbpf_insn **out, size_t *n);

/* Writes "rotate dst=r1 c=r2 imm=3 variant=0x5" into @buf. */
void prove_payload_str(const struct sbpf_kops_payload *p, char *buf, size_t sz);

/* ---- what is proven (enumerate.c) ------------------------------------------ */

/* Which payload fields an operation variant reads (the rest must not
 * change anything; the driver checks that on the bytes). */
enum { PF_DST = 1, PF_A = 2, PF_B = 4, PF_C = 8 };

/* One obligation group (one output row): variants of one operation with
 * the immediates to prove each for. */
struct prove_group {
	uint32_t op;                 /* enum sbpf_kops_id */
	uint16_t *variants;          /* payload variants (malloc'ed) */
	size_t nvariants;
	char label[48];              /* "64-bit left, by imm" */
	int32_t *imms;               /* immediates (malloc'ed) */
	size_t nimms;
	/* Payload fields used for payload @p (may depend on aliasing, e.g. lea's c). */
	unsigned int (*fields)(const struct sbpf_kops_payload *p);
};

/* The groups of operation @op (all when @op is 0), malloc'ed. Returns 0 or
 * -ENOMEM. */
int prove_groups(uint32_t op, struct prove_group **out, size_t *n);
void prove_groups_free(struct prove_group *g, size_t n);

/* ---- the target (x86_64 through the JIT backend) --------------------------- */

/* Fills @t for x86-64: register map and reserved registers from the JIT
 * backend, the JIT's own Kops emits (struct kops_op emit_x86_64, unchecked
 * mode) with every subset of the CPU features they use, scratch sets and
 * size bounds from the operations. Tests may then replace emit/scratch. */
void prove_target_x86_64(struct prove_target *t);
/* The same for AArch64 (src/jit/arm64): the JIT's emit_arm64 hooks with
 * the backend's own helpers (add_imm, compare, ldst), unchecked mode. */
void prove_target_arm64(struct prove_target *t);

/* ---- the driver (prove.c) -------------------------------------------------- */

/* Totals of one group. */
struct prove_group_result {
	unsigned long obligations;   /* payload x immediate x feature set x assignment proven */
	unsigned long solved;        /* of which Z3 proved directly */
	unsigned long renamed;       /* of which follow from a solved one by register renaming */
	unsigned long failed;        /* obligations refuted (or unknown / error) */
	unsigned long declined;      /* payload x feature sets whose emit declined (the proof sequence runs) */
	double seconds;              /* time spent on it, summed over threads */
	char *report;                /* first counterexample (malloc'ed), NULL when all proved */
};

/* Proves group @g on target @t. Returns 0 (see res->failed) or -ENOMEM. */
int prove_run_group(const struct prove_target *t, const struct prove_group *g,
		    struct prove_group_result *res);
/* Every group of @op (0: all) whose label contains @group (NULL: every
 * group) on @t with @jobs threads, reported row by row, in order, to @fn
 * as sbpf_prove() does. */
int prove_run(const struct prove_target *t, uint32_t op, const char *group, unsigned int jobs,
	      sbpf_prove_row_fn fn, void *arg, struct sbpf_prove_total *total);

#endif /* SAFEBPF_PROVEINT_H */
