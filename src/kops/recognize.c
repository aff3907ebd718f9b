/* recognize.c - the Kops recognizer: finds the EInsn idioms clang -O2 emits
 * in a vanilla program and rewrites them into sites, only where the
 * rewrite is exact (docs/kops.md, "Recognizer").
 *
 * 1. facts.c proves facts about the whole program (jump targets, liveness,
 *    constants, zero upper halves, stack offsets, observed upper halves);
 * 2. every window of straight-line code (no jump lands inside it) is
 *    evaluated symbolically and match.c looks for an idiom in the value of
 *    the register its last instruction writes; select and bulk_copy are
 *    matched by shape;
 * 3. each candidate is proven: the window becomes the instructions it must
 *    keep plus the site, and the replacement (site lowered to its proof
 *    sequence) must leave every register equal to the original's - or dead
 *    afterwards, or differing only in an upper half nothing observes - and
 *    the site's clobbers dead; then both run in the interpreter from random
 *    states (rcheck.c) and must agree;
 * 4. the policy keeps the rewrites worth making, non-overlapping ones are
 *    chosen (largest saving first), the program is rebuilt with jumps
 *    retargeted, and the result is lowered again to check the site rules.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kops/kopsInt.h"
#include "kops/ops/ops.h"

#define R(i) ((uint16_t)(1u << (i)))
#define REPL_MAX (KOPS_WIN_MAX + 2 * (KOPS_COPY_MAX / 8) + 8)

/* A proven rewrite. */
struct rewrite {
	struct kops_cand c;                 /* window and site */
	struct sbpf_insn repl[REPL_MAX];    /* what replaces the window (site encoded) */
	int nrepl;                          /* its slots */
	int site_at;                        /* index of the site's sidecar in repl */
	long saved;                         /* the policy's estimate */
};

/* An idiom that was matched but not proven exact. */
struct refusal {
	size_t start, end;                  /* its window */
	uint32_t op;                        /* the operation */
	char why[200];                      /* the reason */
};

struct ctx {
	const struct sbpf_insn *insns;      /* the input */
	size_t n;                           /* its slots */
	struct kops_facts f;                /* facts about it */
	const struct sbpf_kops_policy *pol; /* the policy */
	struct ksym st;                     /* symbolic evaluator (big: kept here) */
	struct rewrite tmp;                 /* the rewrite being proven */
	char why[200];                      /* why the last candidate was refused */
	struct refusal *ref;                /* idioms refused (reported after the choice) */
	size_t nref, capref;                /* used, allocated */
	struct sbpf_kops_stats *stats;      /* counters */
};

void sbpf_kops_policy__init(struct sbpf_kops_policy *pol)
{
	memset(pol, 0, sizeof(*pol));
	pol->sz = sizeof(*pol);
	for (uint32_t id = 1; id < SBPF_KOPS__MAX; id++)
		pol->ops |= 1u << id;
	pol->min_saved = 1;
	pol->check_rounds = 64;
}

int kops_proof(const struct sbpf_kops_payload *p, struct sbpf_insn *out, size_t max)
{
	struct sbpf_builder *b = sbpf_builder__new();
	if (!b)
		return -ENOMEM;
	int rc = sbpf_kops_instantiate(p, b);
	size_t len = sbpf_builder__len(b);
	if (!rc && len > max)
		rc = -E2BIG;
	if (!rc) {
		/* finish() wants a complete program: end it with an exit, drop it */
		struct sbpf_insn *seq = NULL;
		size_t n = 0;
		sbpf_builder__emit(b, SBPF_EXIT_INSN());
		rc = sbpf_builder__finish(b, &seq, &n, NULL);
		if (!rc)
			memcpy(out, seq, len * sizeof(*seq));
		free(seq);
	}
	sbpf_builder__free(b);
	return rc ? rc : (int)len;
}

/* ---- costs (the policy's estimate) ---------------------------------------- */

/* x86-64 instructions the vanilla JIT emits for @in (second lddw slot: 0). */
static int vanilla_cost(const struct sbpf_insn *in)
{
	const struct sbpf_op_info *f = sbpf_op_info(sbpf_decode(in));
	if (f->fmt == SBPF_FMT_END && in->imm == 16)
		return 2; /* rotate the word, then zero-extend */
	return 1;
}

/* x86-64 instructions of the operation's native emit. */
static int native_cost(const struct sbpf_kops_payload *p)
{
	switch (p->op) {
	case SBPF_KOPS_SELECT: return 2;               /* cmp/test + cmov */
	case SBPF_KOPS_EXTRACT: { /* as extract.c's emit chooses (BMI1 assumed) */
		int shift = p->imm & 0xff, len = (p->imm >> 8) & 0xff, width = p->variant & KOPS_EXT_32 ? 32 : 64;
		if (!shift && (len == 8 || len == 16 || len == 32))
			return 1;                                  /* movzx / mov r32 */
		if (shift + len == width)
			return p->dst == p->a ? 1 : 2;             /* [mov +] shr */
		if (p->dst != p->a)
			return 3; /* mov; shr; and: bextr and its control are 2 only where
				   * BEXTR is 1 µop (AMD Zen); a rewrite must not lose on
				   * Intel (2 µops), so none is written for BEXTR */
		return (shift ? 1 : 0) + 1;                        /* [shr +] and (or mov r32) */
	}
	case SBPF_KOPS_BSWAP_LOAD: return p->variant == KOPS_BSL_16 ? 2 : 1; /* movbe (+ movzx) */
	case SBPF_KOPS_BULK_COPY: return 2 * ((p->variant + 15) / 16); /* 16-byte moves */
	case SBPF_KOPS_WIDE_LOAD: /* mov(zx); big-endian as bswap_load */
		return p->variant & KOPS_WIDE_BE && (p->variant & KOPS_WIDE_SIZE) == KOPS_WIDE_16 ? 2 : 1;
	case SBPF_KOPS_ROTATE: /* by register: rol cl, rcx saved and restored unless it is free */
		if (!(p->variant & KOPS_ROT_REG) || p->a == 4)
			return 1;
		return p->b == 4 || p->c == 4 ? 2 : 4;
	default: return 1;                             /* lea */
	}
}

/* ---- straight-line helpers ------------------------------------------------ */

/* Registers a straight-line (ALU, load, lddw) instruction reads / writes. */
static void rw(const struct sbpf_insn *in, uint16_t *use, uint16_t *def)
{
	const struct sbpf_op_info *f = sbpf_op_info(sbpf_decode(in));
	uint16_t d = R(in->dst_reg), s = R(in->src_reg);
	int mov = (in->code & 0xf0) == SBPF_MOV;
	*use = 0;
	*def = d;
	switch (f->fmt) {
	case SBPF_FMT_ALU_K: *use = mov ? 0 : d; break;
	case SBPF_FMT_ALU_X: *use = (uint16_t)((mov ? 0 : d) | s); break;
	case SBPF_FMT_MOVSX: case SBPF_FMT_LDX: *use = s; break;
	case SBPF_FMT_NEG: case SBPF_FMT_END: *use = d; break;
	case SBPF_FMT_LDDW: break;
	default: *use = 0xffff; *def = 0; break; /* not expected here */
	}
}

static int slots_of(const struct sbpf_insn *in)
{
	return sbpf_op_info(sbpf_decode(in))->fmt == SBPF_FMT_LDDW ? 2 : 1;
}

/* Live registers before straight-line @seq, given @after. */
static uint16_t live_before(const struct sbpf_insn *seq, int len, uint16_t after)
{
	int starts[REPL_MAX], ns = 0;
	for (int i = 0; i < len; i += slots_of(&seq[i]))
		starts[ns++] = i;
	while (ns-- > 0) {
		uint16_t use, def;
		rw(&seq[starts[ns]], &use, &def);
		after = (uint16_t)((after & ~def) | use);
	}
	return after;
}

/* Evaluates straight-line @seq in @st after a restart; 0 when it could. */
static int eval_seq(struct ksym *st, const struct sbpf_insn *seq, int len)
{
	kops_sym__restart(st);
	for (int i = 0, bit = 0; i < len; bit++) {
		int k = kops_sym__step(st, seq, (size_t)len, (size_t)i, bit < 31 ? bit : 31);
		if (!k)
			return -1;
		i += k;
	}
	return 0;
}

/* ---- proving one candidate ------------------------------------------------ */

struct window {
	size_t pc[KOPS_WIN_MAX];            /* slot of window instruction i */
	int ninsn;                          /* instructions */
	int orig[SBPF_NREGS];               /* final node per register */
	uint32_t contrib[SBPF_NREGS];       /* instructions behind each register */
	uint16_t written;                   /* registers written */
	int load_base[KOPS_WIN_MAX];        /* per instruction: load address node or -1 */
	int64_t load_off[KOPS_WIN_MAX];     /* the load's offset */
	int load_size[KOPS_WIN_MAX];        /* the load's bytes (0: not a load) */
};

static int eval_window(struct ctx *cx, size_t s, size_t e, struct window *w)
{
	struct ksym *st = &cx->st;
	kops_sym__start(st, &cx->f.in[s]);
	w->ninsn = 0;
	for (size_t i = s; i < e;) {
		if (w->ninsn >= KOPS_WIN_MAX)
			return -1;
		int bit = w->ninsn;
		int k = kops_sym__step(st, cx->insns, cx->n, i, bit);
		if (!k)
			return -1;
		w->pc[w->ninsn] = i;
		w->load_base[bit] = st->load_base[bit];
		w->load_off[bit] = st->load_off[bit];
		w->load_size[bit] = st->load_base[bit] >= 0 ? st->load_size[bit] : 0;
		w->ninsn++;
		i += (size_t)k;
	}
	memcpy(w->orig, st->reg, sizeof(w->orig));
	memcpy(w->contrib, st->contrib, sizeof(w->contrib));
	w->written = st->written;
	return 0;
}

/* Registers used as load addresses in the window (pointers for rcheck). */
static uint16_t window_ptrs(struct ctx *cx, const struct window *w)
{
	uint16_t ptrs = 0;
	for (int i = 0; i < w->ninsn; i++) {
		int reg;
		int64_t off;
		if (w->load_size[i] && kops_sym_base(&cx->st, w->load_base[i], &reg, &off) && reg != SBPF_REG_FP)
			ptrs |= R(reg);
	}
	return ptrs;
}

/* Compares the replacement's registers (in cx->st) with the window's.
 * Fills *@low32 with registers equal only in their low halves. Returns -1
 * when they agree, else the first register that does not. */
static int regs_agree(struct ctx *cx, const struct window *w, uint16_t live, uint16_t high, uint16_t *low32)
{
	struct ksym *st = &cx->st;
	*low32 = 0;
	for (int r = 0; r < SBPF_REG_FP; r++) {
		if (st->overflow)
			return r;
		if (kops_sym__same(st, w->orig[r], st->reg[r]) || !(live & R(r)))
			continue;
		if (!(high & R(r)) && kops_sym__same_low32(st, w->orig[r], st->reg[r])) {
			*low32 |= R(r);
			continue;
		}
		return r;
	}
	return st->overflow ? 0 : -1;
}

/* Scratch registers to try for @c, best first; returns how many. */
static int scratch_choices(const struct kops_cand *c, uint16_t live, uint16_t written, int out[SBPF_REG_FP])
{
	int n = 0;
	uint16_t taken = (uint16_t)(R(c->p.dst) | R(SBPF_REG_FP) | live);
	if (c->p.op == SBPF_KOPS_LEA || c->p.op == SBPF_KOPS_WIDE_LOAD)
		taken |= R(c->p.a);
	if (c->prefer >= 0 && !(taken & R(c->prefer))) {
		out[n++] = c->prefer;
		taken |= R(c->prefer);
	}
	for (int pass = 0; pass < 2; pass++)
		for (int r = 0; r < SBPF_REG_FP; r++)
			if (!(taken & R(r)) && (pass || (written & R(r)))) {
				out[n++] = r;
				taken |= R(r);
			}
	return n;
}

/* Records why the candidate being proven is refused; returns -1. */
static int refuse(struct ctx *cx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(struct ctx *cx, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cx->why, sizeof(cx->why), fmt, ap);
	va_end(ap);
	return -1;
}
#define REFUSE(...) refuse(cx, __VA_ARGS__)

/* The verifier's view of a lea (window @w of candidate @cand, @live
 * after it): once fused, the kernel must still follow the arithmetic.
 * It follows the sum by identity when the sum is a packet pointer (copies
 * and "+ constant" of one packet pointer share an id: a bounds check on
 * one gives all of them their range) or a number (linked scalars share
 * bounds the same way). A lea recomputes the sum from its operands, so
 * when another register the window leaves live holds the same sum up to
 * a constant, that link is cut and the kernel refuses an access it
 * accepted before ("R0 offset is outside of the packet"). Sums into the
 * stack, a map value or the context carry no such link (the verifier
 * bounds them by their offsets at each access): a lea on them is kept.
 * Which kind a sum is comes from the provenance facts (facts.c); an
 * unknown kind counts as both. Returns 0 or -1 with cx->why. */
static int lea_verifier_ok(struct ctx *cx, const struct kops_cand *cand, const struct window *w, uint16_t live)
{
	const struct kops_regfacts *in = &cx->f.in[cand->start];
	uint8_t sum = kops_kinds_add(in->kind[cand->p.a], in->kind[cand->p.b]);
	if (!(sum & (KOPS_K_SCALAR | KOPS_K_PKT)))
		return 0;
	int d = cand->p.dst, base = kops_sym__strip_const(&cx->st, w->orig[d]);
	for (int r = 0; r < SBPF_REG_FP; r++)
		if (r != d && (live & R(r)) && (w->written & R(r)) &&
		    kops_sym__strip_const(&cx->st, w->orig[r]) == base)
			return REFUSE("lea would cut the verifier's link between r%d and r%d (%s)", d, r,
				      !(sum & KOPS_K_SCALAR) ? "one packet pointer: a bounds check on one covers the other"
				      : !(sum & KOPS_K_PKT) ? "linked numbers share their bounds"
				      : "a value of unknown kind: numbers or one packet pointer");
	return 0;
}

/* Proves a symbolic candidate; fills @out on success, else cx->why. */
static int prove_sym(struct ctx *cx, const struct kops_cand *cand, struct rewrite *out)
{
	struct window w;
	size_t s = cand->start, e = cand->end;
	if (eval_window(cx, s, e, &w))
		return REFUSE("window cannot be evaluated again");
	if (cand->p.op == SBPF_KOPS_LEA && !cx->pol->no_verifier_rules &&
	    lea_verifier_ok(cx, cand, &w, kops_facts__live_at(&cx->f, e)))
		return -1;
	uint16_t live = kops_facts__live_at(&cx->f, e), high = kops_facts__high_at(&cx->f, e);
	int d = cand->p.dst;
	uint32_t all = w.ninsn >= 32 ? ~0u : (1u << w.ninsn) - 1;
	uint32_t keep = all & ~w.contrib[d];
	for (int r = 0; r < SBPF_REG_FP; r++)
		if (r != d && (live & R(r)) && (w.written & R(r)))
			keep |= w.contrib[r];
	uint32_t removed = all & ~keep;
	if (!removed)
		return REFUSE("every instruction of the idiom is needed for a live register");
	/* a load may only disappear when the site loads the same bytes */
	for (int i = 0; i < w.ninsn; i++) {
		if (!(removed & (1u << i)) || !w.load_size[i])
			continue;
		int reg;
		int64_t off;
		int wide = cand->p.op == SBPF_KOPS_WIDE_LOAD;
		if ((cand->p.op != SBPF_KOPS_BSWAP_LOAD && !wide) || !kops_sym_base(&cx->st, w.load_base[i], &reg, &off) ||
		    reg != cand->p.a)
			return REFUSE("a load of slot %zu would disappear", w.pc[i]);
		int64_t lo = off + w.load_off[i], size = 2 << (cand->p.variant & (wide ? KOPS_WIDE_SIZE : 0xffff));
		if (lo < cand->p.imm || lo + w.load_size[i] > cand->p.imm + size)
			return REFUSE("the load of slot %zu reads bytes the site does not", w.pc[i]);
	}
	struct sbpf_insn kept[KOPS_WIN_MAX * 2];
	int nkept = 0, cost = 0;
	for (int i = 0; i < w.ninsn; i++) {
		const struct sbpf_insn *in = &cx->insns[w.pc[i]];
		if (removed & (1u << i)) {
			cost += vanilla_cost(in);
			continue;
		}
		kept[nkept++] = *in;
		if (slots_of(in) == 2)
			kept[nkept++] = cx->insns[w.pc[i] + 1];
	}
	int choices[SBPF_REG_FP], nch = 1;
	int need = (cand->scratch & KOPS_SCRATCH_C ? 1 : 0) + (cand->scratch & KOPS_SCRATCH_B ? 1 : 0);
	if (cand->scratch)
		nch = scratch_choices(cand, live, w.written, choices);
	uint16_t ptrs = window_ptrs(cx, &w);
	REFUSE(cand->scratch && nch < need ? "no dead register for the scratch" : "no payload fits");
	if (nch < need)
		nch = 0;
	for (int ci = 0; ci < nch; ci++) {
		struct sbpf_kops_payload p = cand->p;
		char why[160];
		if (cand->scratch & KOPS_SCRATCH_C)
			p.c = (uint8_t)choices[ci];
		if (cand->scratch & KOPS_SCRATCH_B) /* with c: the next choice */
			p.b = (uint8_t)choices[need == 2 ? (ci + 1) % nch : ci];
		if (sbpf_kops_check_payload(&p, why, sizeof(why)))
			continue;
		uint16_t clob = sbpf_kops_clobbers(&p);
		struct sbpf_insn proof[32];
		int np = kops_proof(&p, proof, 32);
		if (np < 0)
			continue;
		for (int order = 0; order < 2; order++) {
			/* order 0: kept instructions, then the site; 1: the site first */
			struct sbpf_insn seq[REPL_MAX], site[2];
			int len = 0;
			if (order == 0) {
				memcpy(seq, kept, (size_t)nkept * sizeof(*seq));
				len = nkept;
			}
			memcpy(seq + len, cand->pre, (size_t)cand->npre * sizeof(*seq));
			for (int k = 0; cand->pre_scratch && k < cand->npre; k++) {
				if (seq[len + k].dst_reg == KOPS_PRE_SCRATCH)
					seq[len + k].dst_reg = p.c;
				if (seq[len + k].src_reg == KOPS_PRE_SCRATCH)
					seq[len + k].src_reg = p.c;
			}
			len += cand->npre;
			int at_site = len;
			memcpy(seq + len, proof, (size_t)np * sizeof(*seq));
			len += np;
			if (order == 1) {
				memcpy(seq + len, kept, (size_t)nkept * sizeof(*seq));
				len += nkept;
			}
			uint16_t low32;
			int bad;
			if (eval_seq(&cx->st, seq, len)) {
				REFUSE("replacement cannot be evaluated");
				continue;
			}
			if ((bad = regs_agree(cx, &w, live, high, &low32)) >= 0) {
				REFUSE("r%d would change and is %s after the idiom", bad,
				       (high & R(bad)) && kops_sym__same_low32(&cx->st, w.orig[bad], cx->st.reg[bad])
				       ? "observed in its upper half" : "live");
				continue;
			}
			/* the native emit may leave anything in a clobbered register */
			uint16_t busy = clob & live_before(seq + at_site + np, len - at_site - np, live);
			if (busy) {
				REFUSE("the site clobbers r%d, which is live after it", __builtin_ctz(busy));
				continue;
			}
			/* no register may become live before the window that was not:
			 * the rules checked for rewrites before this one stay true */
			uint16_t more = live_before(seq, len, live) & ~cx->f.live[s];
			if (more) {
				REFUSE("the rewrite would read r%d, dead before the idiom", __builtin_ctz(more));
				continue;
			}
			int rc = kops_rcheck(&cx->insns[s], e - s, seq, (size_t)len, &cx->f.in[s], ptrs,
					     (uint16_t)~live, low32, cx->pol->check_rounds, why, sizeof(why));
			if (rc) /* a disagreement means a wrong rule: refuse outright */
				return REFUSE("interpreter check: %s", why);
			/* the output: the same sequence with the site encoded */
			out->c = *cand;
			out->c.p = p;
			out->nrepl = 0;
			sbpf_kops_encode(&p, site);
			memcpy(out->repl, seq, (size_t)at_site * sizeof(*seq));
			out->nrepl = at_site;
			out->site_at = at_site;
			out->repl[out->nrepl++] = site[0];
			out->repl[out->nrepl++] = site[1];
			int tail = len - at_site - np;
			memcpy(out->repl + out->nrepl, seq + at_site + np, (size_t)tail * sizeof(*seq));
			out->nrepl += tail;
			out->saved = cost - cand->npre - native_cost(&p);
			/* where both apply, bswap_load (one wide load in its proof
			 * sequence: 2 slots for the kernel, not 3n - 2) is preferred;
			 * a big-endian wide_load is written where bswap_load is not
			 * (an unaligned stack field, or the kernel refusing it) */
			if (p.op == SBPF_KOPS_WIDE_LOAD && (p.variant & KOPS_WIDE_BE))
				out->saved--;
			return 0;
		}
	}
	return -1;
}

/* Policy tuning from the per-op ablation of safebpf bench (lb_select,
 * where select cost 30%): a select whose result soon becomes part of a
 * load or store address puts the comparison on that access's critical
 * path (cmov waits for both operands), where the branch it replaces let
 * the CPU predict and load early; the same reason makes LLVM's x86 cmov
 * conversion turn such cmovs back into branches. Such a select counts
 * this many instructions less saved, below the default min_saved. */
#define SELECT_ADDR_PENALTY 4
#define SELECT_ADDR_WINDOW 12   /* straight-line slots looked at after the site */

/* 1 when the value of @reg after slot @e - 1 flows (moves, ALU) into the
 * base register of a load, store or atomic within the next
 * SELECT_ADDR_WINDOW slots of straight-line code. */
static int feeds_address(const struct ctx *cx, size_t e, int reg)
{
	uint16_t taint = (uint16_t)(1u << reg);
	for (size_t i = e; i < cx->n && i < e + SELECT_ADDR_WINDOW && taint; i++) {
		const struct sbpf_insn *in = &cx->insns[i];
		uint8_t cls = in->code & 7;
		uint16_t d = (uint16_t)(1u << in->dst_reg), sr = (uint16_t)(1u << in->src_reg);
		if (cls == SBPF_LDX) {
			if (taint & sr)
				return 1;
			taint &= (uint16_t)~d;
		} else if (cls == SBPF_ST || cls == SBPF_STX) {
			if (taint & d)
				return 1;
		} else if (cls == SBPF_ALU || cls == SBPF_ALU64) {
			int x = (in->code & 0x08) != 0;            /* register source */
			if ((in->code & 0xf0) == 0xb0)             /* mov */
				taint = (uint16_t)((taint & ~d) | (x && (taint & sr) ? d : 0));
			else if (x && (taint & sr))
				taint |= d;
		} else if (cls == SBPF_LD) {
			taint &= (uint16_t)~d;
			i++;                                       /* lddw: second slot */
		} else {
			return 0;                                  /* jump, call, exit: stop */
		}
	}
	return 0;
}

/* Selects in a dependency chain: a cmov must wait for its compare, which
 * waits for the value it compares, while a predicted branch lets the CPU
 * run ahead. When the value compared is itself the result of a select -
 * the select's own destination (a running min/max: d = d < c ? d : c),
 * or the destination of a select whose result flows (moves, ALU) into the
 * compare of the next select-shaped jump within SELECT_ADDR_WINDOW
 * straight-line slots (a leading-zero shift cascade) - the cmovs form a
 * serial chain one compare + cmov latency per link. Measured on the Xeon
 * here: ctz_clz's cascade 0.80x and select_dense's min/max/saturation
 * 0.83x of the vanilla JIT with those selects. Such a select counts
 * SELECT_ADDR_PENALTY instructions less saved. */
static int select_chain(const struct ctx *cx, const struct kops_cand *c)
{
	const struct sbpf_kops_payload *p = &c->p;
	if (p->a == p->dst || ((p->variant & KOPS_SEL_RHS_REG) && p->b == p->dst))
		return 1;
	uint16_t taint = (uint16_t)(1u << p->dst);
	for (size_t i = c->end; i < cx->n && i < c->end + SELECT_ADDR_WINDOW && taint; i++) {
		const struct sbpf_insn *in = &cx->insns[i];
		uint8_t cls = in->code & 7;
		uint16_t d = (uint16_t)(1u << in->dst_reg), sr = (uint16_t)(1u << in->src_reg);
		if (cls == SBPF_ALU || cls == SBPF_ALU64) {
			int x = (in->code & 0x08) != 0;
			if ((in->code & 0xf0) == 0xb0)
				taint = (uint16_t)((taint & ~d) | (x && (taint & sr) ? d : 0));
			else if (x && (taint & sr))
				taint |= d;
		} else if (cls == SBPF_LDX || cls == SBPF_LD) {
			taint &= (uint16_t)~d;
			i += cls == SBPF_LD;
		} else if (cls == SBPF_ST || cls == SBPF_STX) {
			continue;
		} else if ((cls == SBPF_JMP || cls == SBPF_JMP32) && in->off == 1 && i + 1 < cx->n &&
			   (in->code & 0xf0) != 0x00 && (in->code & 0xf0) != 0x80 && (in->code & 0xf0) != 0x90 &&
			   (in->code & 0xf0) <= 0xd0 && (cx->insns[i + 1].code & 0xf0) == 0xb0) {
			/* a conditional jump over one mov: a select's shape */
			int x = (in->code & 0x08) != 0;
			return (taint & d) || (x && (taint & sr)); /* the next select compares it */
		} else {
			return 0;
		}
	}
	return 0;
}

/* Proves a shape candidate (its proof sequence is the original code, up
 * to a scratch register holding a constant). */
static int prove_shape(struct ctx *cx, const struct kops_cand *cand, struct rewrite *out)
{
	size_t s = cand->start, e = cand->end;
	uint16_t live = kops_facts__live_at(&cx->f, e);
	char why[160];
	uint16_t busy = (sbpf_kops_clobbers(&cand->p) | cand->differs) & live;
	if (busy)
		return REFUSE("the site clobbers r%d, which is live after it", __builtin_ctz(busy));
	if (sbpf_kops_check_payload(&cand->p, why, sizeof(why)))
		return REFUSE("%s", why);
	struct sbpf_insn seq[REPL_MAX];
	memcpy(seq, cand->pre, (size_t)cand->npre * sizeof(*seq));
	int np = kops_proof(&cand->p, seq + cand->npre, REPL_MAX - (size_t)cand->npre);
	if (np < 0)
		return REFUSE("no proof sequence");
	uint16_t ptrs = 0;
	if (cand->p.op == SBPF_KOPS_BULK_COPY)
		ptrs = (uint16_t)((R(cand->p.dst) | R(cand->p.a)) & ~R(SBPF_REG_FP));
	if (kops_rcheck(&cx->insns[s], e - s, seq, (size_t)(cand->npre + np), &cx->f.in[s], ptrs,
			(uint16_t)~live, 0, cx->pol->check_rounds, why, sizeof(why)))
		return REFUSE("interpreter check: %s", why);
	out->c = *cand;
	memcpy(out->repl, cand->pre, (size_t)cand->npre * sizeof(*seq));
	sbpf_kops_encode(&cand->p, out->repl + cand->npre);
	out->nrepl = cand->npre + 2;
	out->site_at = cand->npre;
	int cost = cand->p.op == SBPF_KOPS_SELECT ? 1 : 0; /* the branch a select removes */
	for (size_t i = s; i < e; i++)
		cost += vanilla_cost(&cx->insns[i]);
	out->saved = cost - cand->npre - native_cost(&cand->p);
	if (cand->p.op == SBPF_KOPS_SELECT && (feeds_address(cx, e, cand->p.dst) || select_chain(cx, cand)))
		out->saved -= SELECT_ADDR_PENALTY;
	return 0;
}

/* ---- candidates ----------------------------------------------------------- */

struct list {
	struct rewrite *v;                  /* proven rewrites */
	size_t n, cap;                      /* used, allocated */
};

static int push(struct list *l, const struct rewrite *r)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		struct rewrite *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *r;
	return 0;
}

/* Remembers that @c was refused, for cx->why. */
static int note_refusal(struct ctx *cx, const struct kops_cand *c)
{
	if (cx->nref == cx->capref) {
		size_t cap = cx->capref ? 2 * cx->capref : 16;
		struct refusal *v = realloc(cx->ref, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		cx->ref = v;
		cx->capref = cap;
	}
	struct refusal *r = &cx->ref[cx->nref++];
	r->start = c->start;
	r->end = c->end;
	r->op = c->p.op;
	snprintf(r->why, sizeof(r->why), "%s", cx->why);
	return 0;
}

static int try_prove(struct ctx *cx, const struct kops_cand *c, struct list *l)
{
	int rc = c->sym ? prove_sym(cx, c, &cx->tmp) : prove_shape(cx, c, &cx->tmp);
	return rc ? note_refusal(cx, c) : push(l, &cx->tmp);
}

/* Counts and reports the refusals that no chosen rewrite (@ch, @k) covers,
 * once per idiom (overlapping refusals of one operation count once). */
static void report_refusals(struct ctx *cx, struct rewrite **ch, size_t k)
{
	for (size_t i = 0; i < cx->nref; i++) {
		struct refusal *r = &cx->ref[i];
		int covered = 0;
		for (size_t j = 0; j < k && !covered; j++)
			covered = ch[j]->c.start < r->end && r->start < ch[j]->c.end;
		for (size_t j = 0; j < i && !covered; j++)
			covered = cx->ref[j].op == r->op && cx->ref[j].start < r->end && r->start < cx->ref[j].end &&
				  cx->ref[j].why[0];
		if (covered) {
			r->why[0] = 0; /* not reported */
			continue;
		}
		cx->stats->refused[r->op]++;
		if (cx->pol->on_refuse)
			cx->pol->on_refuse(cx->pol->arg, r->start, r->op, r->why);
	}
}

/* Symbolic candidates: windows in which the register the last instruction
 * writes holds an idiom. Every window ending at a slot is tried (a larger
 * one may save more, e.g. by absorbing a mov); an idiom refused in every
 * window counts as refused once. */
static int by_end(const void *x, const void *y)
{
	const struct kops_cand *a = x, *b = y;
	if (a->end != b->end)
		return a->end < b->end ? -1 : 1;
	return a->start > b->start ? -1 : a->start < b->start; /* smallest window first */
}

static int sym_candidates(struct ctx *cx, struct list *l)
{
	size_t n = cx->n, nc = 0, cap = 0;
	struct kops_cand *cands = NULL;
	struct ksym *st = &cx->st;
	for (size_t s = 0; s < n; s++) {
		if (cx->f.second[s] || !cx->f.in[s].reached)
			continue;
		kops_sym__start(st, &cx->f.in[s]);
		size_t i = s;
		for (int bit = 0; i < n && bit < KOPS_WIN_MAX; bit++) {
			if (i > s && cx->f.target[i])
				break; /* nothing may jump inside a window */
			int k = kops_sym__step(st, cx->insns, n, i, bit);
			if (!k)
				break;
			size_t e = i + (size_t)k;
			int d = cx->insns[i].dst_reg;
			uint32_t cone = st->contrib[d];
			i = e;
			if (!(cone & 1) || __builtin_popcount(cone) < 2)
				continue; /* the window must start with the idiom */
			/* every matcher: a byte composition may be both a bswap_load
			 * and a wide_load (the choice weighs them) */
			for (int m = 0; m < 6; m++) {
				struct kops_cand c = { .start = s, .end = e, .cone = cone, .sym = 1, .prefer = -1 };
				int hit = m == 0 ? kops_match_rotate(st, d, &c) : m == 1 ? kops_match_extract(st, d, &c)
					: m == 2 ? kops_match_lea(st, d, &c) : m == 3 ? kops_match_bswap(st, d, &cx->f.in[s], &c)
					: m == 4 ? kops_match_popcount(st, d, &c) : kops_match_wide(st, d, &c);
				if (!hit)
					continue;
				if (nc == cap) {
					size_t ncap = cap ? 2 * cap : 64;
					struct kops_cand *v = realloc(cands, ncap * sizeof(*v));
					if (!v) {
						free(cands);
						return -ENOMEM;
					}
					cands = v;
					cap = ncap;
				}
				cands[nc++] = c;
				if (m < 3)
					break; /* arithmetic idioms exclude each other */
			}
		}
	}
	if (nc)
		qsort(cands, nc, sizeof(*cands), by_end);
	int rc = 0;
	for (size_t i = 0; i < nc && !rc;) {
		size_t j = i, before = l->n;
		for (; j < nc && cands[j].end == cands[i].end && !rc; j++)
			if (!prove_sym(cx, &cands[j], &cx->tmp))
				rc = push(l, &cx->tmp);
		if (l->n == before && !rc) {
			/* report the smallest window's reason */
			prove_sym(cx, &cands[i], &cx->tmp);
			rc = note_refusal(cx, &cands[i]);
		}
		i = j;
	}
	free(cands);
	return rc;
}

static int shape_candidates(struct ctx *cx, struct list *l)
{
	int rc = 0;
	for (size_t pc = 0; pc < cx->n && !rc; pc++) {
		struct kops_cand c = { .prefer = -1 };
		if (cx->f.second[pc] || !cx->f.in[pc].reached)
			continue;
		if (kops_match_select(cx->insns, cx->n, pc, &cx->f, &c))
			rc = try_prove(cx, &c, l);
		/* a copy run is proposed at its first pair only */
		int cont = pc >= 2 && kops_match_copy(cx->insns, cx->n, pc - 2, &cx->f, &c) && c.end > pc;
		if (!rc && !cont && kops_match_copy(cx->insns, cx->n, pc, &cx->f, &c))
			rc = try_prove(cx, &c, l);
	}
	return rc;
}

static int by_end_rw(const void *x, const void *y)
{
	const struct rewrite *a = *(const struct rewrite *const *)x, *b = *(const struct rewrite *const *)y;
	if (a->c.end != b->c.end)
		return a->c.end < b->c.end ? -1 : 1;
	return a->c.start < b->c.start ? -1 : a->c.start > b->c.start;
}

/* Chooses non-overlapping rewrites of the greatest total weight (weighted
 * interval scheduling). With @pol: only rewrites the policy wants, weighed
 * by their saving; without: every rewrite, most rewrites first. Returns
 * their count; pointers in @out, sorted by start. */
static size_t choose(struct list *l, const struct sbpf_kops_policy *pol, struct rewrite **out)
{
	size_t m = 0, k = 0;
	struct rewrite **v = malloc((l->n + 1) * sizeof(*v));
	long *best = malloc((l->n + 1) * sizeof(*best));
	size_t *prev = malloc((l->n + 1) * sizeof(*prev));
	if (!v || !best || !prev)
		goto out;
	for (size_t i = 0; i < l->n; i++) {
		struct rewrite *r = &l->v[i];
		if (!pol || ((pol->ops & (1u << r->c.p.op)) && r->saved >= pol->min_saved &&
			     (!pol->want || pol->want(pol->arg, r->c.start, r->c.end, r->c.p.op))))
			v[m++] = r;
	}
	qsort(v, m, sizeof(*v), by_end_rw);
	/* best[i]: the best total with the first i rewrites; prev[i]: how many
	 * of them end before rewrite i - 1 starts */
	best[0] = 0;
	for (size_t i = 1; i <= m; i++) {
		size_t lo = 0, hi = i - 1; /* largest j with v[j-1]->end <= v[i-1]->start */
		while (lo < hi) {
			size_t mid = (lo + hi + 1) / 2;
			if (v[mid - 1]->c.end <= v[i - 1]->c.start)
				lo = mid;
			else
				hi = mid - 1;
		}
		prev[i] = lo;
		long w = (!pol || pol->min_saved <= 0 ? 1000 : 0) + v[i - 1]->saved;
		best[i] = best[i - 1] > w + best[lo] ? best[i - 1] : w + best[lo];
	}
	for (size_t i = m; i > 0;) {
		long w = (!pol || pol->min_saved <= 0 ? 1000 : 0) + v[i - 1]->saved;
		if (best[i] == best[i - 1]) {
			i--;
		} else {
			out[k++] = v[i - 1];
			(void)w;
			i = prev[i];
		}
	}
	for (size_t i = 0; i < k / 2; i++) { /* collected backwards */
		struct rewrite *t = out[i];
		out[i] = out[k - 1 - i];
		out[k - 1 - i] = t;
	}
out:
	free(v);
	free(best);
	free(prev);
	return k;
}

/* ---- output ------------------------------------------------------------- */

static int jump_target(const struct sbpf_insn *in, size_t pc, long long *t, int *wide)
{
	const struct sbpf_op_info *f = sbpf_op_info(sbpf_decode(in));
	*wide = 0;
	switch (f->fmt) {
	case SBPF_FMT_JA: case SBPF_FMT_JCOND_K: case SBPF_FMT_JCOND_X:
		*t = (long long)pc + 1 + in->off;
		return 1;
	case SBPF_FMT_JA32: case SBPF_FMT_CALL_LOCAL:
		*t = (long long)pc + 1 + in->imm;
		*wide = 1;
		return 1;
	default:
		return 0;
	}
}

static int build(struct ctx *cx, struct rewrite **ch, size_t k, struct sbpf_insn **out, size_t *out_n,
		 struct sbpf_validate_error *err)
{
	size_t n = cx->n, cap = n + 3 * k + 1; /* a site adds at most 2 slots */
	size_t *map = malloc((n + 1) * sizeof(*map));
	struct sbpf_insn *prog = malloc(cap * sizeof(*prog));
	size_t *orig_of = malloc(cap * sizeof(*orig_of)); /* new slot -> old slot, or SIZE_MAX */
	if (!map || !prog || !orig_of) {
		free(map), free(prog), free(orig_of);
		return -ENOMEM;
	}
	size_t pos = 0, next = 0;
	for (size_t pc = 0; pc < n;) {
		map[pc] = pos;
		if (next < k && ch[next]->c.start == pc) {
			const struct rewrite *r = ch[next++];
			if (cx->pol->on_site)
				cx->pol->on_site(cx->pol->arg, pos + (size_t)r->site_at, r->c.start, r->c.end, r->c.p.op);
			for (int i = 0; i < r->nrepl; i++) {
				orig_of[pos] = SIZE_MAX;
				prog[pos++] = r->repl[i];
			}
			for (size_t i = pc + 1; i < r->c.end; i++)
				map[i] = SIZE_MAX;
			pc = r->c.end;
			continue;
		}
		orig_of[pos] = pc;
		prog[pos++] = cx->insns[pc++];
	}
	map[n] = pos;
	int rc = 0;
	for (size_t i = 0; i < pos && !rc; i++) {
		long long t;
		int wide;
		if (orig_of[i] == SIZE_MAX || (orig_of[i] > 0 && cx->f.second[orig_of[i]]) ||
		    !jump_target(&cx->insns[orig_of[i]], orig_of[i], &t, &wide))
			continue;
		if (t < 0 || (size_t)t > n || map[t] == SIZE_MAX) {
			rc = -EINVAL;
			if (err) {
				err->index = orig_of[i];
				snprintf(err->rule, sizeof(err->rule), "internal: a jump lands inside a rewritten window");
			}
			break;
		}
		long long delta = (long long)map[t] - (long long)i - 1;
		if (wide) {
			prog[i].imm = (int32_t)delta;
		} else if (delta < INT16_MIN || delta > INT16_MAX) {
			rc = -EINVAL;
			if (err) {
				err->index = orig_of[i];
				snprintf(err->rule, sizeof(err->rule), "jump offset no longer fits 16 bits");
			}
		} else {
			prog[i].off = (int16_t)delta;
		}
	}
	free(map);
	free(orig_of);
	if (rc) {
		free(prog);
		return rc;
	}
	*out = prog;
	*out_n = pos;
	return 0;
}

/* Why the recognizer cannot take @insns, or NULL: sites already there, or
 * an lddw holding a code address (its offset would need retargeting, which
 * lowering does not do). */
static const char *unsupported(const struct sbpf_insn *insns, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if ((insns[i].code == (SBPF_ALU64 | SBPF_MOV | SBPF_K) && insns[i].src_reg == SBPF_KOPS_SIDECAR_SRC) ||
		    (insns[i].code == (SBPF_JMP | SBPF_CALL) && insns[i].src_reg == SBPF_KOPS_CALL_SRC))
			return "the program already contains Kops sites";
		if (insns[i].code == (SBPF_LD | SBPF_DW | SBPF_IMM)) {
			if (insns[i].src_reg == SBPF_PSEUDO_FUNC)
				return "lddw of a function address (callbacks) is not supported";
			i++;
		}
	}
	return NULL;
}

int sbpf_kops_recognize(const struct sbpf_insn *insns, size_t n, const struct sbpf_kops_policy *pol,
			struct sbpf_insn **out, size_t *out_n, struct sbpf_kops_stats *stats,
			struct sbpf_validate_error *err)
{
	struct sbpf_kops_policy defpol;
	struct sbpf_kops_stats dummy;
	*out = NULL;
	*out_n = 0;
	if (!stats)
		stats = &dummy;
	memset(stats, 0, sizeof(*stats));
	stats->insns_in = n;
	if (!pol || pol->sz < sizeof(*pol)) {
		sbpf_kops_policy__init(&defpol);
		if (pol) /* an older, smaller struct: take what it has */
			memcpy(&defpol, pol, pol->sz < sizeof(defpol) ? pol->sz : sizeof(defpol));
		pol = &defpol;
	}
	struct sbpf_kops_policy eff = *pol;
	if (!eff.check_rounds)
		eff.check_rounds = 64;
	const char *why = unsupported(insns, n);
	if (why) {
		if (err) {
			err->index = 0;
			snprintf(err->rule, sizeof(err->rule), "%s", why);
		}
		return -EINVAL;
	}
	int rc = sbpf_validate(insns, n, err);
	if (rc)
		return rc;
	struct ctx *cx = calloc(1, sizeof(*cx));
	if (!cx)
		return -ENOMEM;
	cx->insns = insns;
	cx->n = n;
	cx->pol = &eff;
	cx->stats = stats;
	struct list l = { 0 };
	struct rewrite **ch = NULL;
	rc = kops_facts__init(&cx->f, insns, n, eff.ret32);
	if (!rc)
		rc = sym_candidates(cx, &l);
	if (!rc)
		rc = shape_candidates(cx, &l);
	if (!rc && !(ch = malloc((l.n ? l.n : 1) * sizeof(*ch))))
		rc = -ENOMEM;
	if (!rc) {
		size_t k = choose(&l, NULL, ch);
		for (size_t i = 0; i < k; i++)
			stats->found[ch[i]->c.p.op]++;
		report_refusals(cx, ch, k);
		k = choose(&l, &eff, ch);
		for (size_t i = 0; i < k; i++) {
			stats->sites[ch[i]->c.p.op]++;
			stats->saved += ch[i]->saved;
		}
		rc = build(cx, ch, k, out, out_n, err);
	}
	if (!rc) {
		/* the site rules must hold: lower again */
		struct sbpf_kops_lowered low;
		rc = sbpf_kops_lower(*out, *out_n, &low, err);
		if (!rc) {
			stats->insns_out = *out_n;
			stats->insns_lowered = low.n;
			sbpf_kops_lowered__free(&low);
		} else {
			free(*out);
			*out = NULL;
			*out_n = 0;
		}
	}
	free(ch);
	free(l.v);
	free(cx->ref);
	kops_facts__free(&cx->f);
	free(cx);
	return rc;
}
