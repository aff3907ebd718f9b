/* kops.c - the Kops registry, the site encoding, and lowering: replacing
 * every site by its proof sequence and checking the site rules that let the
 * JIT trust a native emit in its place (docs/kops.md).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kops/kopsInt.h"
#include "kops/ops/ops.h"

/* The registry: one line per operation. */
static const struct kops_op *const registry[SBPF_KOPS__MAX] = {
	[SBPF_KOPS_ROTATE] = &kops_op_rotate,
	[SBPF_KOPS_SELECT] = &kops_op_select,
	[SBPF_KOPS_EXTRACT] = &kops_op_extract,
	[SBPF_KOPS_BSWAP_LOAD] = &kops_op_bswap_load,
	[SBPF_KOPS_PREFETCH] = &kops_op_prefetch,
	[SBPF_KOPS_BULK_COPY] = &kops_op_bulk_copy,
	[SBPF_KOPS_LEA] = &kops_op_lea,
	[SBPF_KOPS_POPCOUNT] = &kops_op_popcount,
	[SBPF_KOPS_WIDE_LOAD] = &kops_op_wide_load,
};

const struct kops_op *kops_op(uint32_t id)
{
	return id < SBPF_KOPS__MAX ? registry[id] : NULL;
}

const struct sbpf_kops_info *sbpf_kops_info(uint32_t op)
{
	static struct sbpf_kops_info infos[SBPF_KOPS__MAX];
	const struct kops_op *o = kops_op(op);
	if (!o)
		return NULL;
	infos[op] = (struct sbpf_kops_info){ o->name, o->summary, o->payload_doc, o->example,
					     o->emit_x86_64 != NULL, o->native_max_x86_64 };
	return &infos[op];
}

int sbpf_kops_by_name(const char *name)
{
	for (uint32_t i = 0; i < SBPF_KOPS__MAX; i++)
		if (registry[i] && !strcasecmp(registry[i]->name, name))
			return (int)i;
	return -ENOENT;
}

int kops_check_reg(const char *what, uint8_t reg, bool writable, char *why, size_t whysz)
{
	if (reg > SBPF_REG_FP || (writable && reg == SBPF_REG_FP)) {
		snprintf(why, whysz, "%s: register r%d is %s", what, reg,
			 reg > SBPF_REG_FP ? "out of range" : "the read-only frame pointer");
		return -EINVAL;
	}
	return 0;
}

int kops_check_distinct(const uint8_t *regs, size_t n, char *why, size_t whysz)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (regs[i] == regs[j]) {
				snprintf(why, whysz, "registers must be distinct (r%d used twice)", regs[i]);
				return -EINVAL;
			}
	return 0;
}

int sbpf_kops_check_payload(const struct sbpf_kops_payload *p, char *why, size_t whysz)
{
	const struct kops_op *o = kops_op(p->op);
	if (!o) {
		snprintf(why, whysz, "unknown operation id %u", p->op);
		return -EINVAL;
	}
	if (p->dst > 15 || p->a > 15 || p->b > 15 || p->c > 15) {
		snprintf(why, whysz, "%s: register field out of range", o->name);
		return -EINVAL;
	}
	return o->check(p, why, whysz);
}

int sbpf_kops_spec(const struct sbpf_kops_payload *p, uint64_t regs[SBPF_NREGS])
{
	char why[128];
	if (sbpf_kops_check_payload(p, why, sizeof(why)))
		return -EINVAL;
	kops_op(p->op)->spec(p, regs);
	return 0;
}

int sbpf_kops_instantiate(const struct sbpf_kops_payload *p, struct sbpf_builder *b)
{
	char why[128];
	if (sbpf_kops_check_payload(p, why, sizeof(why)))
		return -EINVAL;
	int rc = kops_op(p->op)->instantiate(p, b);
	return rc < 0 ? rc : sbpf_builder__error(b);
}

uint16_t sbpf_kops_clobbers(const struct sbpf_kops_payload *p)
{
	const struct kops_op *o = kops_op(p->op);
	return o ? o->clobbers(p) : 0;
}

/* ---- encoding ------------------------------------------------------------ */

void sbpf_kops_encode(const struct sbpf_kops_payload *p, struct sbpf_insn out[2])
{
	out[0] = SBPF_INSN(SBPF_ALU64 | SBPF_MOV | SBPF_K, p->dst, SBPF_KOPS_SIDECAR_SRC,
			   (int16_t)(p->a | p->b << 4 | p->c << 8), p->imm);
	out[1] = SBPF_INSN(SBPF_JMP | SBPF_CALL, 0, SBPF_KOPS_CALL_SRC, (int16_t)p->variant, (int32_t)p->op);
}

static int is_sidecar(const struct sbpf_insn *in)
{
	return in->code == (SBPF_ALU64 | SBPF_MOV | SBPF_K) && in->src_reg == SBPF_KOPS_SIDECAR_SRC;
}

static int is_kops_call(const struct sbpf_insn *in)
{
	return in->code == (SBPF_JMP | SBPF_CALL) && in->src_reg == SBPF_KOPS_CALL_SRC;
}

int sbpf_kops_is_site(const struct sbpf_insn *insns, size_t n, size_t pc)
{
	return pc + 1 < n && is_sidecar(&insns[pc]) && is_kops_call(&insns[pc + 1]);
}

int sbpf_kops_decode(const struct sbpf_insn *insns, size_t n, size_t pc, struct sbpf_kops_payload *p)
{
	if (!sbpf_kops_is_site(insns, n, pc))
		return -EINVAL;
	const struct sbpf_insn *side = &insns[pc], *call = &insns[pc + 1];
	uint16_t regs = (uint16_t)side->off;
	if ((regs >> 12) || call->dst_reg)
		return -EINVAL; /* reserved bits must be zero */
	*p = (struct sbpf_kops_payload){
		.op = (uint32_t)call->imm,
		.variant = (uint16_t)call->off,
		.dst = side->dst_reg,
		.a = regs & 0xf,
		.b = (regs >> 4) & 0xf,
		.c = (regs >> 8) & 0xf,
		.imm = side->imm,
	};
	return 0;
}

/* ---- lowering ------------------------------------------------------------ */

static int fail(struct sbpf_validate_error *err, size_t idx, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		err->index = idx;
		va_start(ap, fmt);
		vsnprintf(err->rule, sizeof(err->rule), fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

void sbpf_kops_lowered__free(struct sbpf_kops_lowered *l)
{
	if (!l)
		return;
	free(l->insns);
	free(l->sites);
	free(l->old_to_new);
	memset(l, 0, sizeof(*l));
}

static int is_lddw(const struct sbpf_insn *in)
{
	return in->code == (SBPF_LD | SBPF_DW | SBPF_IMM);
}

/* Pass 1: find sites, check payloads, instantiate proof sequences into @b
 * (positions only), and compute the slot map. */
static int map_slots(const struct sbpf_insn *in, size_t n, struct sbpf_kops_lowered *out,
		     struct sbpf_validate_error *err)
{
	size_t pos = 0;
	for (size_t pc = 0; pc < n; pc++) {
		out->old_to_new[pc] = pos;
		if (is_kops_call(&in[pc]))
			return fail(err, pc, "Kops call without its sidecar mov just before it");
		if (!is_sidecar(&in[pc])) {
			pos++;
			if (is_lddw(&in[pc]) && pc + 1 < n)
				out->old_to_new[++pc] = pos++;
			continue;
		}
		struct sbpf_kops_payload p;
		char why[128];
		if (sbpf_kops_decode(in, n, pc, &p))
			return fail(err, pc, "Kops sidecar not followed by a well-formed Kops call");
		if (sbpf_kops_check_payload(&p, why, sizeof(why)))
			return fail(err, pc, "malformed site: %s", why);
		struct sbpf_builder *b = sbpf_builder__new();
		if (!b)
			return -ENOMEM;
		int rc = kops_op(p.op)->instantiate(&p, b);
		size_t len = sbpf_builder__len(b);
		sbpf_builder__free(b);
		if (rc < 0)
			return fail(err, pc, "%s: proof sequence could not be built", kops_op(p.op)->name);
		struct sbpf_kops_site *ns = realloc(out->sites, (out->nsites + 1) * sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		out->sites = ns;
		out->sites[out->nsites++] = (struct sbpf_kops_site){ pc, pos, len, p };
		out->old_to_new[++pc] = pos; /* the call slot: never a valid target */
		pos += len;
	}
	out->old_to_new[n] = pos;
	out->n = pos;
	return 0;
}

/* Whether old slot @t is the second slot of a site (a jump must not land there). */
static int is_site_call_slot(const struct sbpf_kops_lowered *l, size_t t)
{
	for (size_t i = 0; i < l->nsites; i++)
		if (l->sites[i].pc + 1 == t)
			return 1;
	return 0;
}

/* Pass 2: emit, inlining proof sequences and retargeting jumps and calls. */
static int emit_lowered(const struct sbpf_insn *in, size_t n, struct sbpf_kops_lowered *out,
			struct sbpf_validate_error *err)
{
	size_t site = 0;
	for (size_t pc = 0; pc < n; pc++) {
		size_t at = out->old_to_new[pc];
		if (site < out->nsites && out->sites[site].pc == pc) {
			struct sbpf_builder *b = sbpf_builder__new();
			if (!b)
				return -ENOMEM;
			kops_op(out->sites[site].p.op)->instantiate(&out->sites[site].p, b);
			struct sbpf_insn *seq = NULL;
			size_t len = 0;
			/* Proof sequences end without an exit: validate only their size. */
			if (sbpf_builder__len(b)) {
				struct sbpf_builder *tail = b;
				sbpf_builder__emit(tail, SBPF_EXIT_INSN());
				if (sbpf_builder__finish(tail, &seq, &len, NULL)) {
					sbpf_builder__free(b);
					return fail(err, pc, "proof sequence is not valid eBPF");
				}
				memcpy(&out->insns[at], seq, (len - 1) * sizeof(*seq));
				free(seq);
			}
			sbpf_builder__free(b);
			site++;
			pc++; /* skip the call slot */
			continue;
		}
		struct sbpf_insn insn = in[pc];
		const struct sbpf_op_info *f = sbpf_op_info(sbpf_decode(&insn));
		int is_jump = 1;
		long long target = 0;
		if (f->fmt == SBPF_FMT_JA || f->fmt == SBPF_FMT_JCOND_K || f->fmt == SBPF_FMT_JCOND_X)
			target = (long long)pc + 1 + insn.off;
		else if (f->fmt == SBPF_FMT_JA32 || f->fmt == SBPF_FMT_CALL_LOCAL)
			target = (long long)pc + 1 + insn.imm;
		else
			is_jump = 0;
		if (is_jump) {
			if (target < 0 || target >= (long long)n)
				return fail(err, pc, "%s: target %lld is outside the program", f->mnemonic, target);
			if (is_site_call_slot(out, (size_t)target))
				return fail(err, pc, "jump into the middle of a Kops site");
			long long delta = (long long)out->old_to_new[target] - (long long)at - 1;
			if (f->fmt == SBPF_FMT_JA32 || f->fmt == SBPF_FMT_CALL_LOCAL)
				insn.imm = (int32_t)delta;
			else if (delta < INT16_MIN || delta > INT16_MAX)
				return fail(err, pc, "jump no longer fits 16 bits after lowering");
			else
				insn.off = (int16_t)delta;
		}
		out->insns[at] = insn;
		if (is_lddw(&in[pc]) && pc + 1 < n) {
			out->insns[at + 1] = in[pc + 1];
			pc++;
		}
	}
	return 0;
}

/* Whether the region of @s in @insns holds exactly the proof sequence of
 * its payload (the code the verifier checked is the code the emit replaces). */
static int region_is_proof(const struct sbpf_insn *insns, const struct sbpf_kops_site *s)
{
	struct sbpf_builder *b = sbpf_builder__new();
	if (!b)
		return -ENOMEM;
	int rc = sbpf_kops_instantiate(&s->p, b);
	size_t len = sbpf_builder__len(b);
	struct sbpf_insn *seq = NULL, *tmp = NULL;
	size_t n = 0;
	if (rc >= 0 && len == s->lowered_len && len) {
		/* Proof sequences end without an exit: add one to finish them. */
		sbpf_builder__emit(b, SBPF_EXIT_INSN());
		rc = sbpf_builder__finish(b, &tmp, &n, NULL);
		seq = tmp;
	}
	int same = rc >= 0 && len == s->lowered_len &&
		   (!len || (seq && !memcmp(seq, &insns[s->lowered_start], len * sizeof(*seq))));
	free(seq);
	sbpf_builder__free(b);
	return same;
}

/* The rules that make a native emit trustworthy in place of the proof
 * sequence. Each region lies in the program after the previous one and
 * holds the proof sequence of its payload; jumps never enter a region
 * except at its start; regions contain no calls, exits or backward jumps,
 * their internal jumps stay inside (or go to the end); clobbered registers
 * die. */
int sbpf_kops_check_sites(const struct sbpf_insn *insns, size_t n, const struct sbpf_kops_site *sites,
			  size_t nsites, struct sbpf_validate_error *err)
{
	char why[128];
	size_t prev_end = 0;
	for (size_t i = 0; i < nsites; i++) {
		const struct sbpf_kops_site *s = &sites[i];
		if (sbpf_kops_check_payload(&s->p, why, sizeof(why)))
			return fail(err, s->pc, "malformed site: %s", why);
		if (s->lowered_start < prev_end || s->lowered_start > n || s->lowered_len > n - s->lowered_start)
			return fail(err, s->pc, "%s: region [%zu, +%zu) is out of order or outside the program",
				    kops_op(s->p.op)->name, s->lowered_start, s->lowered_len);
		int same = region_is_proof(insns, s);
		if (same < 0)
			return same;
		if (!same)
			return fail(err, s->pc, "%s: region [%zu, +%zu) does not hold the proof sequence of its payload",
				    kops_op(s->p.op)->name, s->lowered_start, s->lowered_len);
		prev_end = s->lowered_start + s->lowered_len;
	}
	/* Outside jumps into (start, end): one pass over the jumps, finding the
	 * region around each target by binary search (regions are sorted). */
	for (size_t k = 0; k < n && nsites; k++) {
		const struct sbpf_insn *in = &insns[k];
		const struct sbpf_op_info *f = sbpf_op_info(sbpf_decode(in));
		long long t;
		if (f->fmt == SBPF_FMT_LDDW) {
			k++;
			continue;
		}
		if (f->fmt == SBPF_FMT_JA || f->fmt == SBPF_FMT_JCOND_K || f->fmt == SBPF_FMT_JCOND_X)
			t = (long long)k + 1 + in->off;
		else if (f->fmt == SBPF_FMT_JA32 || f->fmt == SBPF_FMT_CALL_LOCAL)
			t = (long long)k + 1 + in->imm;
		else
			continue;
		size_t lo = 0, hi = nsites; /* first site starting at or after t */
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if ((long long)sites[mid].lowered_start < t)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == 0)
			continue;
		const struct sbpf_kops_site *s = &sites[lo - 1]; /* the last one starting before t */
		size_t end = s->lowered_start + s->lowered_len;
		if (t < (long long)end && (k < s->lowered_start || k >= end))
			return fail(err, s->pc, "jump from slot %zu enters the middle of a site", k);
	}
	uint16_t *live = kops_liveness(insns, n);
	if (!live)
		return -ENOMEM;
	int rc = 0;
	for (size_t i = 0; i < nsites && !rc; i++) {
		const struct sbpf_kops_site *s = &sites[i];
		size_t end = s->lowered_start + s->lowered_len;
		for (size_t k = s->lowered_start; k < end && !rc; k++) {
			const struct sbpf_insn *in = &insns[k];
			const struct sbpf_op_info *f = sbpf_op_info(sbpf_decode(in));
			if (f->fmt == SBPF_FMT_CALL || f->fmt == SBPF_FMT_CALL_LOCAL || f->fmt == SBPF_FMT_EXIT)
				rc = fail(err, s->pc, "%s: proof sequence contains a call or exit", kops_op(s->p.op)->name);
			else if (f->fmt == SBPF_FMT_JA || f->fmt == SBPF_FMT_JCOND_K || f->fmt == SBPF_FMT_JCOND_X) {
				if (in->off < 0 || k + 1 + (size_t)in->off > end)
					rc = fail(err, s->pc, "%s: proof sequence jumps backward or out of its region",
						  kops_op(s->p.op)->name);
			}
		}
		uint16_t clob = kops_op(s->p.op)->clobbers(&s->p);
		uint16_t after = end < n ? live[end] : 0;
		if (!rc && (clob & after)) {
			int r = __builtin_ctz(clob & after);
			rc = fail(err, s->pc, "%s: proof sequence clobbers r%d, which is live after the site",
				  kops_op(s->p.op)->name, r);
		}
	}
	free(live);
	return rc;
}

int sbpf_kops_lower(const struct sbpf_insn *insns, size_t n, struct sbpf_kops_lowered *out,
		    struct sbpf_validate_error *err)
{
	memset(out, 0, sizeof(*out));
	out->old_to_new = calloc(n + 1, sizeof(*out->old_to_new));
	if (!out->old_to_new)
		return -ENOMEM;
	int rc = map_slots(insns, n, out, err);
	if (!rc) {
		out->insns = calloc(out->n ? out->n : 1, sizeof(*out->insns));
		rc = out->insns ? emit_lowered(insns, n, out, err) : -ENOMEM;
	}
	if (!rc && (rc = sbpf_validate(out->insns, out->n, err)) == -EINVAL && err) {
		/* Report the slot of the input that became the faulty one. */
		size_t pc = 0;
		while (pc + 1 < n && out->old_to_new[pc + 1] <= err->index)
			pc++;
		if (pc > 0 && sbpf_kops_is_site(insns, n, pc - 1))
			pc--; /* a site's call slot: name its sidecar */
		err->index = pc;
	}
	if (!rc)
		rc = sbpf_kops_check_sites(out->insns, out->n, out->sites, out->nsites, err);
	if (rc)
		sbpf_kops_lowered__free(out);
	return rc;
}
