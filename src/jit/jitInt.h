/* jitInt.h - private interfaces of the JIT: the code buffer (first error
 * sticks, nothing emitted after it), the per-compile context shared by the
 * target-independent driver (jit.c) and a backend, the backend vtable
 * (struct jit_target) and the run-time block that generated code reads.
 */
#ifndef SAFEBPF_JIT_INT_H
#define SAFEBPF_JIT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "safebpf/jit.h"
#include "safebpf/maps.h"

/* ---- code buffer ------------------------------------------------------ */

struct jit_buf {
	uint8_t *p;        /* bytes emitted so far (malloc'ed, grows) */
	size_t len;        /* bytes used */
	size_t cap;        /* bytes allocated */
	int err;           /* first error (negative errno); once set nothing is emitted */
};

/* jit_buf_put() when the bytes do not fit (or an error is recorded). */
void jit_buf_put_slow(struct jit_buf *b, const void *src, size_t n);
/* Appends @n bytes; on failure records -ENOMEM and ignores later emits.
 * Inline: emitters append a few bytes at a time. */
static inline void jit_buf_put(struct jit_buf *b, const void *src, size_t n)
{
	if (!b->err && b->cap - b->len >= n) {
		memcpy(b->p + b->len, src, n);
		b->len += n;
	} else {
		jit_buf_put_slow(b, src, n);
	}
}
/* Records @err unless an error is already recorded. */
void jit_buf_fail(struct jit_buf *b, int err);

static inline void jit_put1(struct jit_buf *b, uint8_t v) { jit_buf_put(b, &v, 1); }
static inline void jit_put2(struct jit_buf *b, uint16_t v) { jit_buf_put(b, &v, 2); }
static inline void jit_put4(struct jit_buf *b, uint32_t v) { jit_buf_put(b, &v, 4); }
static inline void jit_put8(struct jit_buf *b, uint64_t v) { jit_buf_put(b, &v, 8); }

/* Overwrites the rel8 byte at @at so that it jumps to the current end of the
 * buffer (a forward jump inside one instruction's code). Fails the buffer
 * with -ERANGE when the distance does not fit. */
void jit_patch_rel8(struct jit_buf *b, size_t at);
/* Same for the rel32 field at @at. */
void jit_patch_rel32(struct jit_buf *b, size_t at);

/* ---- run-time block ----------------------------------------------------- */

/* A region checked out of line (after the primary region and the stack):
 * valid start offsets per access size 1, 2, 4, 8, for loads and for stores
 * (0: that access never fits; read-only regions have wcnt all 0). */
struct jit_rt_region {
	uint64_t lo;            /* address of the first byte */
	uint64_t rcnt[4];       /* loads: len-size+1, or 0 */
	uint64_t wcnt[4];       /* stores and atomics: same, or 0 when read-only */
};
#define JIT_MAX_EXTRA (2 + SBPF_MAX_MAPS) /* extra regions: the program type's, read-only data, map values */

/* What generated code in checked mode reads and writes through a pointer in
 * a callee-saved register. The fields the hot path uses come first so that
 * their offsets fit a disp8. */
struct jit_rt {
	uint64_t mem_lo;        /* address of the primary (read-write) region, checked inline */
	uint64_t mem_cnt[4];    /* per access size 1,2,4,8: valid start offsets (len-size+1, or 0) */
	uint64_t stk_lo;        /* lowest byte of the eBPF stack area (= native rsp in the body) */
	uint64_t fp0;           /* r10 of the outermost frame */
	uint64_t budget;        /* loop-header entries left */
	uint64_t err_code;      /* JIT_ERR_* << 24 | pc when the program stopped early, else 0 */
	uint64_t err_addr;      /* address of the faulting access */
	uint64_t err_fp;        /* r10 when the program stopped (call depth for messages) */
	struct jit_rt_region extra[JIT_MAX_EXTRA]; /* other regions (program-type specific) */
};
#define JIT_RT_MEM_LO   0
#define JIT_RT_MEM_CNT  8
#define JIT_RT_STK_LO   40
#define JIT_RT_FP0      48
#define JIT_RT_BUDGET   56
#define JIT_RT_ERR_CODE 64
#define JIT_RT_ERR_ADDR 72
#define JIT_RT_ERR_FP   80
#define JIT_RT_EXTRA    88
#define JIT_RT_EXTRA_SIZE 72
_Static_assert(offsetof(struct jit_rt, err_fp) == JIT_RT_ERR_FP, "jit_rt layout");
_Static_assert(offsetof(struct jit_rt, extra) == JIT_RT_EXTRA, "jit_rt layout");
_Static_assert(sizeof(struct jit_rt_region) == JIT_RT_EXTRA_SIZE, "jit_rt_region layout");

/* A memory region of one run, for jit_run_regions(). */
struct jit_region {
	void *base;             /* first byte (NULL: no region) */
	size_t len;             /* bytes */
	bool writable;          /* stores and atomics allowed */
	const char *name;       /* for messages: "mem", "packet", "ctx" */
};

/* Runs @jit (compiling it first if needed) with r1 = @r1, r2 = @r2 and the
 * memory @regs[0..@nregs): regs[0] is the primary region, checked inline
 * (it must be writable, or empty); the others are checked out of line and
 * at most sbpf_jit's extra-region count for its program type (see
 * jit_extra_regions) are honoured. Returns 0 with r0 in *@r0, or a negative
 * errno with @err filled as sbpf_jit__run() does. */
int jit_run_regions(struct sbpf_jit *jit, uint64_t r1, uint64_t r2, const struct jit_region *regs,
		    size_t nregs, uint64_t *r0, struct sbpf_run_error *err);

/* Extra regions checked code of program type @type supports (0 for mem; 1
 * for xdp: its read-only context). */
int jit_extra_regions(enum sbpf_prog_type type);

/* Why generated code stopped (the high byte of err_code). */
enum {
	JIT_ERR_NONE = 0,
	JIT_ERR_ACCESS = 1,   /* out-of-bounds load/store/atomic: -EFAULT */
	JIT_ERR_BUDGET = 2,   /* loop budget exhausted: -E2BIG */
	JIT_ERR_HELPER = 3,   /* call to an unregistered helper: -EINVAL */
	JIT_ERR_DEPTH = 4,    /* bpf-to-bpf calls nested too deeply: -EINVAL */
	JIT_ERR_PSEUDO = 5,   /* lddw with a pseudo source (needs a map): -EINVAL */
	JIT_ERR_KFUNC = 6,    /* kfunc call: -EINVAL */
};
#define JIT_ERR_CODE(kind, pc) ((uint32_t)(kind) << 24 | (uint32_t)(pc))

/* Entry point of an image: r1, r2 of the program and the run-time block
 * (ignored in unchecked mode). Returns r0. */
typedef uint64_t (*jit_entry_fn)(uint64_t r1, uint64_t r2, struct jit_rt *rt);

/* Frames of eBPF stack an image reserves: the outermost frame plus one per
 * nested bpf-to-bpf call the interpreter allows. */
#define JIT_MAX_FRAMES (SBPF_MAX_CALL_DEPTH + 1)

/* ---- compile context ---------------------------------------------------- */

/* Per-slot facts found before emitting. */
enum {
	JIT_SLOT_LOOP_HEAD = 1 << 0,  /* target of a backward jump: budget check here */
	JIT_SLOT_FUNC = 1 << 1,       /* entry of a bpf-to-bpf function (or slot 0) */
	JIT_SLOT_LDDW_HI = 1 << 2,    /* second slot of an lddw: no code */
	JIT_SLOT_TARGET = 1 << 3,     /* some jump lands here (forward or backward) */
};

/* One out-of-line stub requested while emitting an instruction; stubs are
 * emitted after the epilogue, in request order (so indexes are stable across
 * passes). */
struct jit_stub {
	uint32_t pc;        /* eBPF slot that requested it */
	uint32_t kind;      /* backend-defined (what the stub does) */
	uint32_t resume;    /* native offset the stub jumps back to (this pass) */
	uint32_t arg;       /* backend-defined (e.g. access size) */
};

struct jit_target;

struct jit_ctx {
	const struct sbpf_insn *insns;   /* program */
	size_t n;                        /* slots */
	const uint8_t *flags;            /* JIT_SLOT_* per slot */
	const sbpf_helper_fn *helpers;   /* SBPF_MAX_HELPERS entries, NULL when unregistered */
	bool checked;                    /* emit bounds/budget/depth checks */
	unsigned int features;           /* backend features in use (target-defined bits) */
	unsigned int regs_used;          /* bit i set when eBPF register ri is mentioned */
	bool has_calls;                  /* program has bpf-to-bpf calls */
	size_t first_sub;                /* first slot of the first called function (n if none) */
	bool has_helper_calls;           /* program calls helpers */
	uint32_t stack_size;             /* bytes of eBPF stack reserved (0 when unused) */
	int nextra;                      /* extra regions the access stubs check (jit_rt.extra) */

	struct jit_buf buf;              /* this pass's code */
	bool rel8_overflow;              /* a short jump did not reach this pass (fatal once converged) */
	int pass;                        /* 1-based pass number */
	uint64_t base;                   /* final load address (0 in pass 1: unknown) */
	size_t image_max;                /* upper bound of the image size (pass 1 size) */
	uint32_t *addrs;                 /* n+1: native offset of each slot, this pass */
	const uint32_t *prev;            /* n+1: same for the previous pass (NULL in pass 1) */
	struct jit_stub *stubs;          /* stubs requested this pass */
	size_t nstubs, stubs_cap;        /* count / allocated */
	uint32_t *stub_addrs;            /* native offset of stub i, this pass */
	const uint32_t *prev_stub_addrs; /* same, previous pass (NULL in pass 1) */
	size_t prev_nstubs;              /* stubs of the previous pass */
	uint32_t labels[8];              /* backend-defined shared labels, this pass */
	uint32_t prev_labels[8];         /* same, previous pass */

	const struct sbpf_kops_site *kops; /* Kops sites, by region start (NULL: none) */
	size_t nkops;                    /* their count */
	int kops_mutant;                 /* KOPS_MUT_* for the emits (tests only) */
	uint32_t *kops_from, *kops_to;   /* nkops: native code of each site, this pass */
	uint8_t *kops_native;            /* nkops: 1 when the site got its native emit */
};

/* Requests a stub; returns its index (the stub's previous-pass address is
 * prev_stub_addrs[index] when pass > 1). */
size_t jit_add_stub(struct jit_ctx *c, uint32_t pc, uint32_t kind, uint32_t resume, uint32_t arg);

/* Previous-pass native offset of the code for @pc, or -1 in the first pass. */
static inline long jit_prev_addr(const struct jit_ctx *c, size_t pc)
{
	return c->prev ? (long)c->prev[pc] : -1;
}

/* ---- backend vtable ---------------------------------------------------- */

struct jit_target {
	const char *name;      /* "x86_64", "arm64" */
	int cs_arch, cs_mode;  /* capstone architecture and mode for disassembly */
	bool native;           /* this host runs the code (else it is compiled, never run) */
	/* Features of the host CPU the backend can use (target-defined bits). */
	unsigned int (*probe)(void);
	/* Emits the function prologue. */
	void (*prologue)(struct jit_ctx *c);
	/* Emits the code for slot @pc; returns the slots consumed (1 or 2). */
	int (*insn)(struct jit_ctx *c, size_t pc);
	/* Emits the epilogue, shared exits and every requested stub, recording
	 * stub_addrs[] and labels[]. */
	void (*tail)(struct jit_ctx *c);
	/* Emits the check that ends a run at a loop header (slot @pc). */
	void (*loop_check)(struct jit_ctx *c, size_t pc);
	/* Runs the target's native emit of Kops site @s (region at slot @pc)
	 * and returns its result, with *max_len its size bound in bytes; or
	 * returns -ENOENT having emitted nothing (the op has no emit for this
	 * target). jit.c's site driver does the rest (loop check, a declined
	 * emit taken back, the bound enforced). NULL: no native operations. */
	int (*kops_emit)(struct jit_ctx *c, size_t pc, const struct sbpf_kops_site *s, size_t *max_len);
};

/* Tests only: makes the Kops emits of @jit produce deliberately wrong code
 * (KOPS_MUT_* in src/jit/x86_64/kops_x86.h) to show the checks catch it. */
void jit_set_kops_mutant(struct sbpf_jit *jit, int mutant);

extern const struct jit_target jit_target_x86_64;
extern const struct jit_target jit_target_arm64;

/* AArch64 register (x0..x30) that holds eBPF register @bpf_reg (0..10), or -1. */
int a64_bpf_reg(int bpf_reg);
/* AArch64 backend facts the prover (src/prove/target_arm64.c) needs, from
 * the backend itself: the registers no emit may write besides those
 * holding eBPF state (bit i = x<i>, bit 31 = sp: x26, x29, x30, sp), and
 * the backend's own Kops helpers (add_imm, compare, ldst of struct
 * kops_arm64, which use only x->b) filled into @x. */
struct kops_arm64;
uint32_t a64_reserved_regs(void);
void a64_kops_helpers(struct kops_arm64 *x);

/* x86-64 backend facts the prover (src/prove/) needs, from the backend
 * itself so they cannot drift: the hardware register (X64_RAX..X64_R15
 * numbering) that holds eBPF register @bpf_reg (0..10), and the hardware
 * registers that hold no eBPF state yet must survive every instruction's
 * code (bit i = hardware register i: rsp and the run-time block). */
int x64_bpf_reg(int bpf_reg);
uint16_t x64_reserved_regs(void);

#endif /* SAFEBPF_JIT_INT_H */
