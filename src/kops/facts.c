/* facts.c - what the recognizer proves about a vanilla program before it
 * rewrites anything: which slots are jump targets, which registers are live
 * (kops_liveness), and two dataflow analyses of its own:
 *
 *  - forward: registers holding known constants, registers whose upper 32
 *    bits are zero, registers that are (or may be) stack pointers, and
 *    what each register and stack slot may hold as the kernel verifier
 *    types it (scalar, context, packet, stack, map value... pointer:
 *    KOPS_K_*), so that the recognizer can leave alone arithmetic the
 *    verifier would no longer follow once rewritten;
 *  - backward: registers whose upper 32 bits may still be observed ("high
 *    demanded"). A rewrite may change the upper half of a register that is
 *    not high demanded, e.g. a 32-bit rotate that clang computed with 64-bit
 *    shifts on a zero-extended value. A shift left by 32 or more and a
 *    zero-extension drop the upper half; with ret32 (the kernel's u32
 *    return value) so does an exit of the main program. Spills are
 *    followed: a register stored to a stack slot of its frame is high
 *    demanded only if some reload of that slot is (or the slot's upper
 *    bytes are read otherwise: narrow loads, pointers into the stack,
 *    calls given one).
 *
 * Both are conservative: "known" and "zero" are must-facts, "demanded" is a
 * may-fact.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kops/kopsInt.h"

#define R(i) ((uint16_t)(1u << (i)))
#define ARGS (R(1) | R(2) | R(3) | R(4) | R(5))
#define CALLER_SAVED (R(0) | ARGS)

/* ---- forward facts -------------------------------------------------------- */

static void forget(struct kops_regfacts *s, int r)
{
	s->known &= (uint16_t)~R(r);
	s->zext &= (uint16_t)~R(r);
	s->fpknown &= (uint16_t)~R(r);
	s->maybe_fp &= (uint16_t)~R(r);
}

static void set_const(struct kops_regfacts *s, int r, uint64_t v)
{
	forget(s, r);
	s->known |= R(r);
	s->val[r] = v;
	if (!(v >> 32))
		s->zext |= R(r);
}

static void set_fp(struct kops_regfacts *s, int r, int32_t off)
{
	forget(s, r);
	s->fpknown |= R(r);
	s->maybe_fp |= R(r);
	s->fpoff[r] = off;
}

/* Facts on entry to the program: r1 is the context, r10 the frame. */
static void entry_state(struct kops_regfacts *s)
{
	memset(s, 0, sizeof(*s));
	s->reached = 1;
	set_fp(s, SBPF_REG_FP, 0);
	s->kind[1] = KOPS_K_CTX;
	s->kind[SBPF_REG_FP] = KOPS_K_STACK;
	memset(s->slot, KOPS_K_SCALAR, sizeof(s->slot)); /* uninitialized stack reads as a number */
}

/* ---- provenance (KOPS_K_*) ------------------------------------------------ */

/* Kinds of a + b (64-bit add) and a - b, as the verifier types them:
 * pointer + number is that pointer, number + pointer too, number and
 * number a number; anything else (two pointers) a number if the verifier
 * lets it through at all. */
uint8_t kops_kinds_add(uint8_t a, uint8_t b)
{
	uint8_t pa = a & (uint8_t)~KOPS_K_SCALAR, pb = b & (uint8_t)~KOPS_K_SCALAR, k = 0;
	if (b & KOPS_K_SCALAR)
		k |= a; /* pointer + number = pointer; number + number = number */
	if (a & KOPS_K_SCALAR)
		k |= pb;
	if ((pa && pb) || (a & b & KOPS_K_SCALAR))
		k |= KOPS_K_SCALAR;
	return k;
}

static uint8_t kinds_sub(uint8_t a, uint8_t b)
{
	uint8_t k = (b & KOPS_K_SCALAR) ? a : 0; /* pointer - number = pointer */
	if (b & (uint8_t)~KOPS_K_SCALAR)
		k |= KOPS_K_SCALAR;              /* pointer - pointer: a number */
	return k;
}

/* What a 4-byte load from the context at @off gives: the packet pointers
 * of struct xdp_md (data 0, data_end 4, data_meta 8) and of struct
 * __sk_buff (data 76, data_end 80, data_meta 140); other fields are
 * numbers. The offsets of both are taken whatever the program type (the
 * recognizer does not know it): a wrong guess only refuses a rewrite. */
static uint8_t ctx_field(int16_t off, int size)
{
	if (size != 4)
		return size == 8 ? KOPS_K_ANY : KOPS_K_SCALAR;
	switch (off) {
	case 0: case 8: case 76: case 140: return KOPS_K_PKT;
	case 4: case 80: return KOPS_K_PKT_END;
	default: return KOPS_K_SCALAR;
	}
}

/* Slot of an 8-byte access at r10 + @off, or -1 when it is not one slot. */
static int slot_of(int32_t off)
{
	if (off < -(int32_t)(8 * KOPS_SLOTS) || off > -8 || (off & 7))
		return -1;
	return (off + 8 * KOPS_SLOTS) / 8;
}

/* Stack slots an access of @size bytes at r10 + @off touches: [*@lo, *@hi]. */
static int slots_touched(int32_t off, int size, int *lo, int *hi)
{
	int32_t a = off + 8 * KOPS_SLOTS, b = a + size - 1;
	if (b < 0 || a >= 8 * KOPS_SLOTS)
		return 0;
	*lo = a < 0 ? 0 : a / 8;
	*hi = b >= 8 * KOPS_SLOTS ? KOPS_SLOTS - 1 : b / 8;
	return 1;
}

static int access_size(uint8_t code)
{
	static const int bytes[4] = { 4, 2, 1, 8 };
	return bytes[(code >> 3) & 3];
}

/* A store of @size bytes of kinds @k through register @base at @off. */
static void kinds_store(struct kops_regfacts *s, int base, int16_t off, int size, uint8_t k)
{
	uint8_t v = size == 8 ? k : KOPS_K_SCALAR; /* a narrow store writes a number */
	int lo, hi;
	if (base == SBPF_REG_FP) {
		int j = slot_of(off);
		if (size == 8 && j >= 0) {
			s->slot[j] = v;
		} else if (slots_touched(off, size, &lo, &hi)) {
			for (int i = lo; i <= hi; i++)
				s->slot[i] = KOPS_K_SCALAR; /* a pointer partly overwritten is a number */
		}
	} else if (s->kind[base] & KOPS_K_STACK) {
		for (int i = 0; i < KOPS_SLOTS; i++) /* somewhere in some frame: may be ours */
			s->slot[i] |= v;
	}
}

/* Kinds after instruction @in (the rest of step() does the other facts). */
static void kinds_step(const struct sbpf_insn *in, struct kops_regfacts *s)
{
	const struct sbpf_op_info *f = sbpf_op_info(sbpf_decode(in));
	int d = in->dst_reg, sr = in->src_reg;
	uint8_t cls = SBPF_CLASS(in->code), op = in->code & 0xf0;
	uint8_t *k = s->kind;
	switch (f->fmt) {
	case SBPF_FMT_ALU_K:
	case SBPF_FMT_ALU_X:
		if (cls == SBPF_ALU64 && (op == SBPF_ADD || op == SBPF_SUB || op == SBPF_MOV)) {
			uint8_t src = f->fmt == SBPF_FMT_ALU_X ? k[sr] : KOPS_K_SCALAR;
			k[d] = op == SBPF_MOV ? src : op == SBPF_ADD ? kops_kinds_add(k[d], src) : kinds_sub(k[d], src);
		} else {
			k[d] = KOPS_K_SCALAR; /* 32-bit and bitwise results are numbers */
		}
		break;
	case SBPF_FMT_MOVSX:
	case SBPF_FMT_NEG:
	case SBPF_FMT_END:
		k[d] = KOPS_K_SCALAR;
		break;
	case SBPF_FMT_LDX: {
		int size = access_size(in->code);
		uint8_t from = k[sr], v = 0;
		if (from & KOPS_K_CTX)
			v |= ctx_field(in->off, size);
		if (from & (uint8_t)~KOPS_K_CTX) {
			if (size < 8 || !(from & (uint8_t)~(KOPS_K_PKT | KOPS_K_CTX)))
				v |= KOPS_K_SCALAR; /* packet bytes, narrow loads: numbers */
			else if (sr == SBPF_REG_FP && slot_of(in->off) >= 0)
				v |= s->slot[slot_of(in->off)]; /* a spill comes back */
			else
				v |= KOPS_K_ANY;
		}
		k[d] = v;
		break;
	}
	case SBPF_FMT_ST:
		kinds_store(s, d, in->off, access_size(in->code), KOPS_K_SCALAR);
		break;
	case SBPF_FMT_STX:
		kinds_store(s, d, in->off, access_size(in->code), k[sr]);
		break;
	case SBPF_FMT_ATOMIC: {
		int size = access_size(in->code);
		kinds_store(s, d, in->off, size, KOPS_K_SCALAR);
		uint8_t old = size == 8 ? KOPS_K_ANY : KOPS_K_SCALAR;
		if (in->imm == SBPF_CMPXCHG)
			k[0] = old;
		else if (in->imm & SBPF_FETCH)
			k[sr] = old;
		break;
	}
	case SBPF_FMT_LDDW:
		switch (in->src_reg) {
		case 0: k[d] = KOPS_K_SCALAR; break;
		case SBPF_PSEUDO_MAP_VALUE:
		case SBPF_PSEUDO_MAP_IDX_VALUE: k[d] = KOPS_K_MAPVAL; break;
		default: k[d] = KOPS_K_OTHER; break;
		}
		break;
	case SBPF_FMT_CALL:
	case SBPF_FMT_CALL_LOCAL: {
		uint8_t args = 0;
		for (int r = 1; r <= 5; r++)
			args |= k[r];
		if (args & KOPS_K_STACK) /* the callee may write through a stack argument */
			for (int i = 0; i < KOPS_SLOTS; i++)
				s->slot[i] |= f->fmt == SBPF_FMT_CALL ? KOPS_K_SCALAR : KOPS_K_ANY;
		for (int r = 1; r <= 5; r++)
			k[r] = 0; /* clobbered: the verifier calls them uninitialized */
		/* bpf_map_lookup_elem (1) and bpf_map_lookup_percpu_elem (195)
		 * return a map value or NULL; anything else may be any pointer */
		k[0] = f->fmt == SBPF_FMT_CALL && (in->imm == 1 || in->imm == 195)
		       ? KOPS_K_MAPVAL | KOPS_K_SCALAR : KOPS_K_ANY;
		break;
	}
	default:
		break;
	}
	k[SBPF_REG_FP] = KOPS_K_STACK;
}

/* Zero-extension of an ALU64 result from the operands' facts. */
static int zext64(uint8_t op, const struct kops_regfacts *s, int d, int is_x, int srcreg, int32_t imm)
{
	int zd = !!(s->zext & R(d));
	int zs = is_x ? !!(s->zext & R(srcreg)) : imm >= 0;
	switch (op) {
	case SBPF_AND: return zd || zs;
	case SBPF_OR:
	case SBPF_XOR: return zd && zs;
	case SBPF_RSH: return zd || (!is_x && (imm & 63) >= 32);
	case SBPF_DIV:
	case SBPF_MOD: return zd;
	default: return 0;
	}
}

/* Applies instruction @in to the facts @s (in place). */
static void step(const struct sbpf_insn *in, const struct sbpf_insn *next, struct kops_regfacts *s)
{
	const struct sbpf_op_info *f = sbpf_op_info(sbpf_decode(in));
	int d = in->dst_reg, sr = in->src_reg;
	uint8_t cls = SBPF_CLASS(in->code), op = in->code & 0xf0;
	int is_x = (in->code & SBPF_X) != 0;
	kinds_step(in, s);
	switch (f->fmt) {
	case SBPF_FMT_ALU_K:
	case SBPF_FMT_ALU_X:
	case SBPF_FMT_MOVSX:
	case SBPF_FMT_NEG:
	case SBPF_FMT_END: {
		if (op == SBPF_MOV && cls == SBPF_ALU64 && f->fmt == SBPF_FMT_ALU_X) {
			/* register copy: every fact moves along */
			struct kops_regfacts t = *s;
			forget(s, d);
			s->known |= t.known & R(sr) ? R(d) : 0;
			s->zext |= t.zext & R(sr) ? R(d) : 0;
			s->fpknown |= t.fpknown & R(sr) ? R(d) : 0;
			s->maybe_fp |= t.maybe_fp & R(sr) ? R(d) : 0;
			s->val[d] = t.val[sr];
			s->fpoff[d] = t.fpoff[sr];
			break;
		}
		int reads_d = op != SBPF_MOV; /* movsx is a MOV too */
		int reads_s = f->fmt == SBPF_FMT_ALU_X || f->fmt == SBPF_FMT_MOVSX;
		int known = (!reads_d || (s->known & R(d))) && (!reads_s || (s->known & R(sr)));
		uint64_t srcv = reads_s ? s->val[sr] : (uint64_t)(int64_t)in->imm;
		uint64_t v = known ? kops_alu_eval(in->code, in->off, in->imm, s->val[d], srcv) : 0;
		int z;
		if (f->fmt == SBPF_FMT_END)
			z = in->imm <= 32 || (s->zext & R(d) && cls == SBPF_ALU && !(in->code & SBPF_TO_BE));
		else if (cls == SBPF_ALU)
			z = 1; /* every 32-bit result is zero-extended */
		else if (op == SBPF_MOV)
			z = f->fmt == SBPF_FMT_ALU_K && in->imm >= 0;
		else
			z = f->fmt == SBPF_FMT_NEG ? 0 : zext64(op, s, d, is_x, sr, in->imm);
		int fpk = !!(s->fpknown & R(d));
		int32_t fpoff = s->fpoff[d];
		int ptr = cls == SBPF_ALU64 && op != SBPF_MOV &&
			  ((s->maybe_fp & R(d)) || (reads_s && (s->maybe_fp & R(sr))));
		forget(s, d);
		if (known)
			set_const(s, d, v);
		if (z)
			s->zext |= R(d);
		/* stack pointers: r10 + constant stays known through add/sub of a constant */
		if (cls == SBPF_ALU64 && fpk && (op == SBPF_ADD || op == SBPF_SUB) &&
		    (f->fmt == SBPF_FMT_ALU_K || (s->known & R(sr)))) {
			int64_t delta = op == SBPF_SUB ? -(int64_t)srcv : (int64_t)srcv;
			if (delta > -(1 << 20) && delta < (1 << 20))
				set_fp(s, d, fpoff + (int32_t)delta);
			else
				s->maybe_fp |= R(d);
		} else if (ptr) {
			s->maybe_fp |= R(d);
		}
		break;
	}
	case SBPF_FMT_LDX:
		forget(s, d);
		if ((in->code & 0xe0) == SBPF_MEM && (in->code & 0x18) != SBPF_DW)
			s->zext |= R(d);
		if ((in->code & 0x18) == SBPF_DW)
			s->maybe_fp |= R(d); /* a spilled stack pointer may come back */
		break;
	case SBPF_FMT_ATOMIC:
		if (in->imm == SBPF_CMPXCHG)
			forget(s, 0), s->maybe_fp |= R(0);
		else if (in->imm & SBPF_FETCH)
			forget(s, sr), s->maybe_fp |= R(sr);
		break;
	case SBPF_FMT_LDDW:
		if (in->src_reg == 0 && next)
			set_const(s, d, (uint64_t)(uint32_t)in->imm | (uint64_t)(uint32_t)next->imm << 32);
		else
			forget(s, d);
		break;
	case SBPF_FMT_CALL:
	case SBPF_FMT_CALL_LOCAL:
		for (int r = 0; r <= 5; r++)
			forget(s, r);
		if (f->fmt == SBPF_FMT_CALL_LOCAL)
			s->maybe_fp |= R(0); /* a callee may return a caller's stack pointer */
		break;
	default:
		break;
	}
	set_fp(s, SBPF_REG_FP, 0);
}

/* Merges @src into @dst; returns 1 when @dst changed. */
static int join(struct kops_regfacts *dst, const struct kops_regfacts *src)
{
	if (!dst->reached) {
		*dst = *src;
		return 1;
	}
	struct kops_regfacts old = *dst;
	uint16_t kn = dst->known & src->known, fk = dst->fpknown & src->fpknown;
	for (int r = 0; r < SBPF_NREGS; r++) {
		if ((kn & R(r)) && dst->val[r] != src->val[r])
			kn &= (uint16_t)~R(r);
		if ((fk & R(r)) && dst->fpoff[r] != src->fpoff[r])
			fk &= (uint16_t)~R(r);
	}
	dst->known = kn;
	dst->fpknown = fk;
	dst->zext &= src->zext;
	dst->maybe_fp |= src->maybe_fp | (old.fpknown & ~fk);
	for (int r = 0; r < SBPF_NREGS; r++)
		dst->kind[r] |= src->kind[r];
	for (int i = 0; i < KOPS_SLOTS; i++)
		dst->slot[i] |= src->slot[i];
	return memcmp(&old, dst, sizeof(old)) != 0;
}

/* Facts on entry to the callee of a local call made in state @s: the
 * arguments r1..r5 carry their facts (a stack offset stays meaningful for
 * alignment: every frame is 8-byte aligned), r10 is the callee's frame,
 * everything else is unknown. */
static void callee_state(const struct kops_regfacts *s, struct kops_regfacts *e)
{
	uint16_t keep = ARGS;
	memset(e, 0, sizeof(*e));
	e->reached = 1;
	e->known = s->known & keep;
	e->zext = s->zext & keep;
	e->fpknown = s->fpknown & keep;
	e->maybe_fp = s->maybe_fp & keep;
	for (int r = 1; r <= 5; r++) {
		e->val[r] = s->val[r];
		e->fpoff[r] = s->fpoff[r];
		e->kind[r] = s->kind[r];
	}
	set_fp(e, SBPF_REG_FP, 0);
	e->kind[SBPF_REG_FP] = KOPS_K_STACK;
	memset(e->slot, KOPS_K_SCALAR, sizeof(e->slot));
}

static int forward(const struct sbpf_insn *insns, size_t n, struct kops_facts *f)
{
	struct kops_regfacts *in = f->in;
	entry_state(&in[0]);
	for (int changed = 1; changed;) {
		changed = 0;
		for (size_t i = 0; i < n; i++) {
			if (f->second[i] || !in[i].reached)
				continue;
			const struct sbpf_op_info *o = sbpf_op_info(sbpf_decode(&insns[i]));
			if (o->fmt == SBPF_FMT_CALL_LOCAL) {
				long long t = (long long)i + 1 + insns[i].imm;
				struct kops_regfacts e;
				callee_state(&in[i], &e);
				if (t >= 0 && (size_t)t < n && join(&in[t], &e))
					changed |= (size_t)t <= i;
			}
			struct kops_regfacts s = in[i];
			step(&insns[i], i + 1 < n ? &insns[i + 1] : NULL, &s);
			size_t succ[2];
			int ns = kops_successors(insns, n, i, succ);
			for (int j = 0; j < ns; j++)
				if (succ[j] < n && join(&in[succ[j]], &s))
					changed |= succ[j] <= i; /* forward edges are seen in this pass */
		}
	}
	return 0;
}

/* ---- backward: upper halves that may be observed -------------------------- */

/* Registers whose upper 32 bits instruction @in needs, given what is live
 * (@lout) and high demanded (@hout) after it, and the forward facts @s;
 * @ret32: @in is an exit of the main program whose caller reads 32 bits. */
static uint16_t high_uses(const struct sbpf_insn *in, const struct kops_regfacts *s, uint16_t lout, uint16_t hout,
			  int ret32)
{
	const struct sbpf_op_info *f = sbpf_op_info(sbpf_decode(in));
	int d = in->dst_reg, sr = in->src_reg;
	uint8_t cls = SBPF_CLASS(in->code), op = in->code & 0xf0;
	int is_x = (in->code & SBPF_X) != 0;
	int dH = !!(hout & R(d)), dL = !!(lout & R(d));
	uint16_t use = 0;
	switch (f->fmt) {
	case SBPF_FMT_ALU_K:
	case SBPF_FMT_ALU_X:
		if (cls == SBPF_ALU)
			break; /* 32-bit operations read the low halves only */
		switch (op) {
		case SBPF_MOV:
			if (dH && is_x)
				use |= R(sr);
			break;
		case SBPF_AND:
			if (!dH)
				break;
			if (is_x) {
				int s_small = (s->known & R(sr)) && !(s->val[sr] >> 32);
				int d_small = (s->known & R(d)) && !(s->val[d] >> 32);
				if (!s_small)
					use |= d_small ? 0 : R(d);
				if (!d_small)
					use |= s_small ? 0 : R(sr);
			} else if (in->imm < 0) {
				use |= R(d);
			}
			break;
		case SBPF_ADD:
		case SBPF_SUB:
		case SBPF_MUL:
		case SBPF_OR:
		case SBPF_XOR:
			if (dH)
				use |= R(d) | (is_x ? R(sr) : 0);
			break;
		case SBPF_LSH:
			/* by 32 or more the result's upper half is the low half
			 * of d shifted: d's upper half is gone */
			if (dH && (is_x || (in->imm & 63) < 32))
				use |= R(d); /* a shift amount register: low bits only */
			break;
		case SBPF_RSH:
		case SBPF_ARSH:
			if (!is_x && (in->imm & 63) == 0)
				use |= dH ? R(d) : 0;
			else if (dL)
				use |= R(d);
			break;
		default: /* div, mod: every bit of both operands matters */
			if (dL)
				use |= R(d) | (is_x ? R(sr) : 0);
			break;
		}
		break;
	case SBPF_FMT_NEG:
		if (cls == SBPF_ALU64 && dH)
			use |= R(d);
		break;
	case SBPF_FMT_END:
		if (in->imm == 64) {
			int swap = cls == SBPF_ALU64 || (in->code & SBPF_TO_BE);
			if (swap ? dL : dH)
				use |= R(d);
		}
		break;
	case SBPF_FMT_MOVSX:
		break; /* reads at most 32 bits */
	case SBPF_FMT_LDX:
		use |= R(sr);
		break;
	case SBPF_FMT_ST:
		use |= R(d);
		break;
	case SBPF_FMT_STX:
		use |= R(d) | ((in->code & 0x18) == SBPF_DW ? R(sr) : 0);
		break;
	case SBPF_FMT_ATOMIC:
		use |= R(d) | R(sr) | (in->imm == SBPF_CMPXCHG ? R(0) : 0);
		break;
	case SBPF_FMT_JCOND_K:
	case SBPF_FMT_JCOND_X:
		if (cls == SBPF_JMP)
			use |= R(d) | (f->fmt == SBPF_FMT_JCOND_X ? R(sr) : 0);
		break;
	case SBPF_FMT_CALL:
	case SBPF_FMT_CALL_LOCAL:
		use |= ARGS;
		break;
	case SBPF_FMT_EXIT:
		use |= ret32 ? 0 : R(0);
		break;
	default:
		break;
	}
	return use;
}

/* Registers @in writes (as liveness.c counts them). */
static uint16_t defs(const struct sbpf_insn *in)
{
	const struct sbpf_op_info *f = sbpf_op_info(sbpf_decode(in));
	switch (f->fmt) {
	case SBPF_FMT_ALU_K: case SBPF_FMT_ALU_X: case SBPF_FMT_MOVSX: case SBPF_FMT_NEG:
	case SBPF_FMT_END: case SBPF_FMT_LDX: case SBPF_FMT_LDDW:
		return R(in->dst_reg);
	case SBPF_FMT_ATOMIC:
		return in->imm == SBPF_CMPXCHG ? R(0) : (in->imm & SBPF_FETCH) ? R(in->src_reg) : 0;
	case SBPF_FMT_CALL: case SBPF_FMT_CALL_LOCAL:
		return CALLER_SAVED;
	default:
		return 0;
	}
}

/* Marks in @main the slots of the main program: reachable from slot 0
 * without entering a local call (a call falls through). */
static void main_slots(const struct sbpf_insn *insns, size_t n, uint8_t *main)
{
	size_t *work = malloc((n ? n : 1) * sizeof(*work)), nw = 0;
	if (!work)
		return; /* no slot is main: every exit observes all of r0 */
	if (n) {
		main[0] = 1;
		work[nw++] = 0;
	}
	while (nw) {
		size_t i = work[--nw], succ[2];
		int ns = kops_successors(insns, n, i, succ);
		for (int j = 0; j < ns; j++)
			if (succ[j] < n && !main[succ[j]]) {
				main[succ[j]] = 1;
				work[nw++] = succ[j];
			}
	}
	free(work);
}

/* Stack slots of this frame whose upper halves (bytes 4..7) instruction
 * @in may read, given the registers high demanded after it (@hout) and the
 * forward facts @s: an 8-byte reload of a spill slot reads them only when
 * the register it loads is high demanded; a narrower load reads them when
 * it touches those bytes; a load or atomic through a register that may
 * point into the stack, and a call given such a pointer, may read any. */
static uint64_t slot_high_uses(const struct sbpf_insn *in, const struct kops_regfacts *s, uint16_t hout)
{
	const struct sbpf_op_info *f = sbpf_op_info(sbpf_decode(in));
	int d = in->dst_reg, sr = in->src_reg;
	switch (f->fmt) {
	case SBPF_FMT_LDX: {
		if (sr != SBPF_REG_FP)
			return s->kind[sr] & KOPS_K_STACK ? ~0ull : 0;
		int size = access_size(in->code), j = slot_of(in->off), lo, hi;
		if (size == 8 && j >= 0 && (in->code & 0xe0) == SBPF_MEM)
			return hout & R(d) ? 1ull << j : 0;
		if (!slots_touched(in->off, size, &lo, &hi))
			return 0;
		uint64_t m = 0;
		for (int i = lo; i <= hi; i++) {
			int32_t a = in->off + 8 * KOPS_SLOTS - 8 * i; /* first byte read, in slot i */
			if (a + size - 1 >= 4 && a < 8)
				m |= 1ull << i;
		}
		return m;
	}
	case SBPF_FMT_ATOMIC:
		return d == SBPF_REG_FP || (s->kind[d] & KOPS_K_STACK) ? ~0ull : 0;
	case SBPF_FMT_CALL:
	case SBPF_FMT_CALL_LOCAL:
		for (int r = 1; r <= 5; r++)
			if (s->kind[r] & KOPS_K_STACK)
				return ~0ull;
		return 0;
	default:
		return 0;
	}
}

/* The stack slot an instruction overwrites whole (an 8-byte store at a
 * slot of this frame), or -1. */
static int slot_def(const struct sbpf_insn *in)
{
	const struct sbpf_op_info *f = sbpf_op_info(sbpf_decode(in));
	if ((f->fmt != SBPF_FMT_ST && f->fmt != SBPF_FMT_STX) || in->dst_reg != SBPF_REG_FP ||
	    access_size(in->code) != 8 || (in->code & 0xe0) != SBPF_MEM)
		return -1;
	return slot_of(in->off);
}

static void backward(const struct sbpf_insn *insns, size_t n, struct kops_facts *f, const uint8_t *main,
		     uint64_t *hslot)
{
	for (int changed = 1; changed;) {
		changed = 0;
		for (size_t k = n; k-- > 0;) {
			if (f->second[k])
				continue;
			size_t succ[2];
			int ns = kops_successors(insns, n, k, succ);
			uint16_t lout = 0, hout = 0;
			uint64_t sout = 0;
			for (int j = 0; j < ns; j++)
				if (succ[j] < n) {
					lout |= f->live[succ[j]];
					hout |= f->high[succ[j]];
					sout |= hslot[succ[j]];
				}
			uint16_t use = high_uses(&insns[k], &f->in[k], lout, hout, main && main[k]);
			int j = slot_def(&insns[k]);
			if (j >= 0 && SBPF_CLASS(insns[k].code) == SBPF_STX && !(sout & (1ull << j)))
				use &= (uint16_t)~R(insns[k].src_reg); /* a spill nobody reads the upper half of */
			uint64_t sh = (j >= 0 ? sout & ~(1ull << j) : sout) |
				      slot_high_uses(&insns[k], &f->in[k], hout);
			uint16_t h = (uint16_t)((hout & ~defs(&insns[k])) | use);
			h &= f->live[k] | R(SBPF_REG_FP); /* only live registers can be observed */
			if (h != f->high[k] || sh != hslot[k]) {
				f->high[k] = h;
				hslot[k] = sh;
				changed = 1;
			}
		}
	}
}

/* ---- public --------------------------------------------------------------- */

void kops_facts__free(struct kops_facts *f)
{
	if (!f)
		return;
	free(f->target);
	free(f->second);
	free(f->live);
	free(f->high);
	free(f->in);
	memset(f, 0, sizeof(*f));
}

int kops_facts__init(struct kops_facts *f, const struct sbpf_insn *insns, size_t n, int ret32)
{
	memset(f, 0, sizeof(*f));
	size_t m = n ? n : 1;
	f->n = n;
	f->target = calloc(m, 1);
	f->second = calloc(m, 1);
	f->high = calloc(m, sizeof(*f->high));
	f->in = calloc(m, sizeof(*f->in));
	f->live = kops_liveness(insns, n);
	if (!f->target || !f->second || !f->high || !f->in || !f->live) {
		kops_facts__free(f);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const struct sbpf_op_info *o = sbpf_op_info(sbpf_decode(&insns[i]));
		long long t = -1;
		switch (o->fmt) {
		case SBPF_FMT_LDDW:
			if (i + 1 < n)
				f->second[++i] = 1;
			continue;
		case SBPF_FMT_JA: case SBPF_FMT_JCOND_K: case SBPF_FMT_JCOND_X:
			t = (long long)i + 1 + insns[i].off;
			break;
		case SBPF_FMT_JA32: case SBPF_FMT_CALL_LOCAL:
			t = (long long)i + 1 + insns[i].imm;
			break;
		default:
			break;
		}
		if (t >= 0 && (size_t)t < n)
			f->target[t] = 1;
	}
	forward(insns, n, f);
	uint8_t *main = ret32 ? calloc(m, 1) : NULL;
	if (ret32 && !main) {
		kops_facts__free(f);
		return -ENOMEM;
	}
	uint64_t *hslot = calloc(m, sizeof(*hslot));
	if (!hslot) {
		free(main);
		kops_facts__free(f);
		return -ENOMEM;
	}
	if (main)
		main_slots(insns, n, main);
	backward(insns, n, f, main, hslot);
	free(hslot);
	free(main);
	return 0;
}

uint16_t kops_facts__live_at(const struct kops_facts *f, size_t end)
{
	return end < f->n ? f->live[end] : 0;
}

uint16_t kops_facts__high_at(const struct kops_facts *f, size_t end)
{
	return end < f->n ? f->high[end] : 0;
}
