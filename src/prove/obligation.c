/* obligation.c - one proof obligation: for one payload (operation, variant,
 * registers, immediate) and the native bytes emitted for it, build the
 * initial symbolic state shared by both sides (eBPF register ri and its
 * hardware register hold the same variable, memory is one array), run the
 * proof sequence, the native code and the specification, and ask Z3
 * whether any final value can differ. A satisfiable negation is a
 * counterexample, printed with the inputs, the differing values, the proof
 * sequence and the native code.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kops/kopsInt.h"
#include "prove/proveInt.h"
#include "safebpf/asm.h"

/* A growing text buffer for reports. */
struct text {
	char *s;        /* NUL-terminated (malloc'ed) */
	size_t len;     /* characters */
	size_t cap;     /* allocated */
	bool oom;       /* an append failed */
};

static void __attribute__((format(printf, 2, 3))) tprintf(struct text *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || t->oom)
		return;
	if (t->len + (size_t)n + 1 > t->cap) {
		size_t cap = (t->cap ? 2 * t->cap : 256) + (size_t)n;
		char *s = realloc(t->s, cap);
		if (!s) {
			t->oom = true;
			return;
		}
		t->s = s;
		t->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

void prove_payload_str(const struct sbpf_kops_payload *p, char *buf, size_t sz)
{
	const struct sbpf_kops_info *info = sbpf_kops_info(p->op);
	snprintf(buf, sz, "%s dst=r%d a=r%d b=r%d c=r%d imm=%" PRId32 " variant=0x%x",
		 info ? info->name : "?", p->dst, p->a, p->b, p->c, p->imm, p->variant);
}

int prove_proof_sequence(const struct sbpf_kops_payload *p, struct sbpf_insn **out, size_t *n)
{
	struct sbpf_builder *b = sbpf_builder__new();
	if (!b)
		return -ENOMEM;
	int rc = sbpf_kops_instantiate(p, b);
	/* finish() validates a whole program: close it with an exit, which
	 * is also the "end" that jumps out of the sequence go to */
	if (rc >= 0)
		rc = sbpf_builder__emit(b, SBPF_EXIT_INSN());
	if (rc >= 0)
		rc = sbpf_builder__finish(b, out, n, NULL);
	sbpf_builder__free(b);
	if (rc < 0)
		return rc;
	(*n)--;
	return 0;
}

/* One conjunct of the obligation, with what to show when it is false. */
struct part {
	Z3_ast fact;            /* Bool that must hold */
	Z3_ast lhs, rhs;        /* values compared (NULL when not a comparison) */
	int ereg;               /* eBPF register compared, or -1 */
	char label[96];         /* for people */
};

struct parts {
	struct part *v;         /* malloc'ed */
	size_t n, cap;
};

static int add_part(struct parts *ps, Z3_ast fact, Z3_ast lhs, Z3_ast rhs, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int add_part(struct parts *ps, Z3_ast fact, Z3_ast lhs, Z3_ast rhs, const char *fmt, ...)
{
	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? 2 * ps->cap : 32;
		struct part *v = realloc(ps->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		ps->v = v;
		ps->cap = cap;
	}
	struct part *p = &ps->v[ps->n++];
	p->fact = fact;
	p->lhs = lhs;
	p->rhs = rhs;
	p->ereg = -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->label, sizeof(p->label), fmt, ap);
	va_end(ap);
	return 0;
}

/* Every byte of the native access @x lies in some access of the proof
 * sequence (@e, @ne) that happens on the same run; a native write only in a
 * proof-sequence write. */
static Z3_ast covered(struct prove_z3 *z, const struct prove_access *x, const struct prove_access *e, size_t ne)
{
	Z3_context c = z->c;
	for (size_t k = 0; k < ne; k++) /* the same access, syntactically */
		if (e[k].addr == x->addr && e[k].size >= x->size && (e[k].write || !x->write) &&
		    (e[k].guard == x->guard || Z3_is_eq_ast(c, e[k].guard, prove_true(z))))
			return prove_true(z);
	Z3_ast all = prove_true(z), xb, eb;
	uint64_t xo, eo;
	prove_addr_split(z, x->addr, &xb, &xo);
	for (unsigned int j = 0; j < x->size; j++) {
		/* in an access on the same base that always happens: known now */
		size_t k = 0;
		for (; k < ne; k++) {
			if ((x->write && !e[k].write) || !Z3_is_eq_ast(c, e[k].guard, prove_true(z)))
				continue;
			prove_addr_split(z, e[k].addr, &eb, &eo);
			if (eb == xb && xo + j - eo < e[k].size)
				break;
		}
		if (k < ne)
			continue;
		Z3_ast byte = Z3_mk_bvadd(c, x->addr, prove_bv(z, j, 64)), any = prove_false(z);
		for (size_t k = 0; k < ne; k++) {
			if (x->write && !e[k].write)
				continue;
			Z3_ast in = Z3_mk_bvult(c, Z3_mk_bvsub(c, byte, e[k].addr), prove_bv(z, e[k].size, 64));
			any = prove_or2(z, any, prove_and2(z, e[k].guard, in));
		}
		all = prove_and2(z, all, any);
	}
	return Z3_mk_implies(c, x->guard, all);
}

/* Memories @m1 and @m2, both the initial memory changed only by the
 * stores recorded in @a and @b, are equal iff they agree at every byte
 * some store may have written: anywhere else both still hold the initial
 * byte. (Cheaper for the solver than array extensionality.) */
static Z3_ast mem_equal(struct prove_z3 *z, Z3_ast m1, Z3_ast m2, const struct prove_state *a,
			const struct prove_state *b)
{
	if (m1 == m2)
		return prove_true(z);
	Z3_context c = z->c;
	size_t n = 0, cap = 0;
	Z3_ast *addrs = NULL, all = prove_true(z);
	const struct prove_state *sides[2] = { a, b };
	for (int sd = 0; sd < 2; sd++)
		for (size_t i = 0; i < sides[sd]->nacc; i++) {
			const struct prove_access *x = &sides[sd]->acc[i];
			for (unsigned int j = 0; x->write && j < x->size; j++) {
				Z3_ast at = j ? Z3_mk_bvadd(c, x->addr, prove_bv(z, j, 64)) : x->addr;
				size_t k = 0;
				while (k < n && addrs[k] != at)
					k++;
				if (k < n)
					continue; /* the same term: already compared */
				if (n == cap) {
					Z3_ast *v = realloc(addrs, (cap = cap ? 2 * cap : 64) * sizeof(*v));
					if (!v) {
						free(addrs);
						return prove_eq(z, m1, m2); /* fall back to extensionality */
					}
					addrs = v;
				}
				addrs[n++] = at;
				all = prove_and2(z, all, prove_eq(z, prove_read_byte(z, m1, at), prove_read_byte(z, m2, at)));
			}
		}
	free(addrs);
	return all;
}

static uint64_t eval_u64(struct prove_z3 *z, Z3_model m, Z3_ast t, bool *ok)
{
	Z3_ast v;
	uint64_t u = 0;
	*ok = Z3_model_eval(z->c, m, t, true, &v) && Z3_get_ast_kind(z->c, v) == Z3_NUMERAL_AST &&
	      Z3_get_numeral_uint64(z->c, v, &u);
	return u;
}

static bool eval_bool(struct prove_z3 *z, Z3_model m, Z3_ast t)
{
	Z3_ast v;
	return Z3_model_eval(z->c, m, t, true, &v) && Z3_get_bool_value(z->c, v) == Z3_L_TRUE;
}

static void show_listing(struct text *t, const struct prove_target *tg, const struct sbpf_insn *proof,
			 size_t nproof, const void *insns, size_t ninsns)
{
	tprintf(t, "  proof sequence (%zu slots):\n", nproof);
	for (size_t i = 0; i < nproof;) {
		char buf[128];
		int k = sbpf_disasm_insn(proof, nproof, i, SBPF_DISASM_ASM_NOLABELS, buf, sizeof(buf));
		tprintf(t, "    %3zu: %s\n", i, buf);
		i += k > 0 ? (size_t)k : 1;
	}
	if (!nproof)
		tprintf(t, "    (empty)\n");
	tprintf(t, "  native code (%s):\n", tg->name);
	for (size_t i = 0; i < ninsns; i++) {
		unsigned int off;
		const char *text = tg->isa->text(insns, i, &off);
		tprintf(t, "    +%-3u %s\n", off, text);
	}
	if (!ninsns)
		tprintf(t, "    (empty)\n");
}

/* The counterexample of model @m: inputs, then every part that is false. */
static void show_model(struct text *t, struct prove_z3 *z, Z3_model m, const struct prove_target *tg,
		       const struct sbpf_kops_payload *p, const struct prove_state *e0,
		       const struct prove_state *x0, const struct prove_state *ef,
		       const struct prove_state *xf, const struct parts *ps)
{
	bool ok;
	(void)tg;
	(void)x0;
	/* the payload's registers and those that differ, before */
	uint16_t show = 0;
	unsigned int fields = p->op == SBPF_KOPS_PREFETCH ? 2u : 15u;
	const uint8_t regs[4] = { p->dst, p->a, p->b, p->c };
	for (int i = 0; i < 4; i++)
		if ((fields & (1u << i)) && regs[i] <= 10)
			show |= (uint16_t)(1u << regs[i]);
	for (size_t i = 0; i < ps->n; i++)
		if (ps->v[i].ereg >= 0 && !eval_bool(z, m, ps->v[i].fact))
			show |= (uint16_t)(1u << ps->v[i].ereg);
	tprintf(t, "  inputs:");
	for (int r = 0; r < SBPF_NREGS; r++)
		if (show & (1u << r))
			tprintf(t, " r%d=0x%" PRIx64, r, eval_u64(z, m, e0->reg[r], &ok));
	tprintf(t, "\n");
	/* memory the two sides touched, as it was before ("--": a byte no
	 * value depends on) */
	const struct prove_state *sides[2] = { ef, xf };
	for (int sd = 0; sd < 2; sd++)
		for (size_t i = 0; i < sides[sd]->nacc && i < 8; i++) {
			const struct prove_access *a = &sides[sd]->acc[i];
			if (!eval_bool(z, m, a->guard))
				continue;
			uint64_t addr = eval_u64(z, m, a->addr, &ok);
			tprintf(t, "  memory at 0x%" PRIx64 " (%s %s):", addr, sd ? "native" : "proof",
				a->write ? "store" : "load");
			for (unsigned int j = 0; j < a->size && j < 16; j++) {
				/* the initial byte there, if the obligation reads it */
				size_t k = 0;
				while (k < z->nreads && eval_u64(z, m, z->reads[k].addr, &ok) != addr + j)
					k++;
				if (k < z->nreads)
					tprintf(t, " %02" PRIx64, eval_u64(z, m, z->reads[k].var, &ok));
				else
					tprintf(t, " --");
			}
			tprintf(t, "\n");
		}
	for (size_t i = 0; i < ps->n; i++) {
		const struct part *pt = &ps->v[i];
		if (eval_bool(z, m, pt->fact))
			continue;
		if (pt->lhs && Z3_get_sort_kind(z->c, Z3_get_sort(z->c, pt->lhs)) == Z3_BV_SORT) {
			uint64_t l = eval_u64(z, m, pt->lhs, &ok), r = eval_u64(z, m, pt->rhs, &ok);
			tprintf(t, "  differs: %s: 0x%" PRIx64 " vs 0x%" PRIx64 "\n", pt->label, l, r);
		} else {
			tprintf(t, "  differs: %s\n", pt->label);
		}
	}
}

/* Solves the asserted negated obligation. Reads of the initial memory
 * are independent byte variables, one per address term; that makes the
 * obligation stronger (equal addresses may read different bytes), so
 * unsat proves the original. A model where two reads at equal addresses
 * differ is not a counterexample of the original: the loop then adds
 * "equal addresses, equal bytes" for those pairs (lazy Ackermann
 * expansion) and solves again, until unsat or a model that respects
 * memory, which is a real counterexample. */
static Z3_lbool solve(struct prove_z3 *z, Z3_solver s)
{
	Z3_context c = z->c;
	for (int round = 0; round < 64; round++) {
		Z3_lbool r = Z3_solver_check(c, s);
		if (r != Z3_L_TRUE || z->nreads < 2)
			return r;
		Z3_model m = Z3_solver_get_model(c, s);
		Z3_model_inc_ref(c, m);
		uint64_t *addr = malloc(z->nreads * sizeof(*addr)), *val = malloc(z->nreads * sizeof(*val));
		bool ok = addr && val, added = false;
		for (size_t i = 0; ok && i < z->nreads; i++) {
			bool a, b;
			addr[i] = eval_u64(z, m, z->reads[i].addr, &a);
			val[i] = eval_u64(z, m, z->reads[i].var, &b);
			ok = a && b;
		}
		for (size_t i = 0; ok && i < z->nreads; i++)
			for (size_t j = i + 1; j < z->nreads; j++)
				if (addr[i] == addr[j] && val[i] != val[j]) {
					Z3_solver_assert(c, s, Z3_mk_implies(c, prove_eq(z, z->reads[i].addr, z->reads[j].addr),
									    prove_eq(z, z->reads[i].var, z->reads[j].var)));
					added = true;
				}
		free(addr);
		free(val);
		Z3_model_dec_ref(c, m);
		if (!ok)
			return Z3_L_UNDEF;
		if (!added)
			return Z3_L_TRUE; /* the model respects memory: a real counterexample */
	}
	return Z3_L_UNDEF;
}

/* Everything one obligation builds: the initial states, the final ones,
 * and the parts. */
struct build {
	struct prove_state e0, x0;     /* initial: eBPF, native (shared variables) */
	struct prove_state ef, xf, sf; /* final: proof sequence, native code, specification */
	struct parts ps;               /* what must hold */
};

static void build_free(struct build *b)
{
	prove_state_free(&b->e0);
	prove_state_free(&b->x0);
	prove_state_free(&b->ef);
	prove_state_free(&b->xf);
	prove_state_free(&b->sf);
	free(b->ps.v);
	memset(b, 0, sizeof(*b));
}

/* Builds the obligation's states and parts into @b. With z->delta set, the
 * initial value of the aliasing base z->alias_y is z->alias_x + delta.
 * Returns 0, -EINVAL with the reason in @msg (something not modelled), or
 * -ENOMEM. */
static int build(struct prove_z3 *z, const struct prove_target *tg, const struct sbpf_kops_payload *p,
		 const struct sbpf_insn *proof, size_t nproof, const void *insns,
		 size_t ninsns, struct build *b, struct text *msg)
{
	char why[256] = "", name[32], pl[128];
	int rc;
	prove_payload_str(p, pl, sizeof(pl));
	memset(b, 0, sizeof(*b));
	b->e0.path = b->x0.path = prove_true(z);
	b->e0.mem = b->x0.mem = Z3_mk_const(z->c, Z3_mk_string_symbol(z->c, "mem"), z->mem_s);
	z->mem0 = b->e0.mem; /* its reads become byte variables */
	Z3_ast y_is = z->delta ? Z3_mk_bvadd(z->c, z->alias_x, z->delta) : NULL;
	for (int r = 0; r < SBPF_NREGS; r++) {
		snprintf(name, sizeof(name), "r%d", r);
		b->e0.reg[r] = prove_var(z, name, 64);
		if (y_is && b->e0.reg[r] == z->alias_y)
			b->e0.reg[r] = y_is;
	}
	const struct prove_isa *isa = tg->isa;
	for (unsigned int hw = 0; hw < isa->nregs; hw++) {
		snprintf(name, sizeof(name), "in_%s", isa->reg_name((int)hw));
		b->x0.reg[hw] = prove_var(z, name, 64);
		if (y_is && b->x0.reg[hw] == z->alias_y)
			b->x0.reg[hw] = y_is;
	}
	for (int r = 0; r < SBPF_NREGS; r++) /* eBPF ri and its hardware register: one variable */
		b->x0.reg[tg->map[r]] = b->e0.reg[r];
	for (int i = 0; i < 16 && isa->xmm; i++) {
		snprintf(name, sizeof(name), "in_xmm%d", i);
		b->x0.xmm[i] = prove_var(z, name, 128);
	}
	for (unsigned int f = 0; f < isa->nflags; f++)
		b->x0.flag[f] = prove_var(z, isa->flag_names[f], 0);

	if ((rc = prove_state_copy(&b->ef, &b->e0)) || (rc = prove_state_copy(&b->xf, &b->x0)) ||
	    (rc = prove_state_copy(&b->sf, &b->e0)))
		return rc;
	if ((rc = prove_ebpf_run(z, proof, nproof, &b->ef, why, sizeof(why)))) {
		tprintf(msg, "%s: proof sequence not modelled: %s\n", pl, why);
		return rc;
	}
	if ((rc = isa->run(z, insns, ninsns, &b->xf, why, sizeof(why)))) {
		tprintf(msg, "%s: native code not modelled: %s\n", pl, why);
		return rc;
	}
	if ((rc = prove_spec(z, p, &b->sf))) {
		tprintf(msg, "%s: no specification\n", pl);
		return rc;
	}

	struct parts *ps = &b->ps;
	const struct prove_state *e0 = &b->e0, *x0 = &b->x0, *ef = &b->ef, *xf = &b->xf, *sf = &b->sf;
	uint16_t clob = sbpf_kops_clobbers(p);
	for (int r = 0; r < SBPF_NREGS && !rc; r++)
		if (!(clob & (1u << r))) {
			rc = add_part(ps, prove_eq(z, ef->reg[r], xf->reg[tg->map[r]]), ef->reg[r], xf->reg[tg->map[r]],
				      "r%d (%s): proof sequence vs native", r, isa->reg_name(tg->map[r]));
			if (!rc)
				ps->v[ps->n - 1].ereg = r;
		}
	/* host registers outside the eBPF map: unchanged unless a scratch of
	 * this operation (the reserved ones always) */
	uint32_t scratch = tg->scratch ? tg->scratch(p) : 0;
	uint32_t mapped = 0;
	for (int r = 0; r < SBPF_NREGS; r++)
		mapped |= 1u << tg->map[r];
	uint32_t keep = ~mapped & (~scratch | tg->reserved);
	for (unsigned int hw = 0; hw < isa->nregs && !rc; hw++)
		if (keep & (1u << hw))
			rc = add_part(ps, prove_eq(z, xf->reg[hw], x0->reg[hw]), x0->reg[hw], xf->reg[hw],
				      "%s (not a declared scratch) must be preserved: before vs after",
				      isa->reg_name((int)hw));
	for (int i = 0; i < 16 && isa->xmm && !rc; i++)
		if (!(scratch & (1u << (16 + i))))
			rc = add_part(ps, prove_eq(z, xf->xmm[i], x0->xmm[i]), NULL, NULL,
				      "xmm%d (not a declared scratch) must be preserved", i);
	if (!rc)
		rc = add_part(ps, mem_equal(z, ef->mem, xf->mem, ef, xf), NULL, NULL, "memory: proof sequence vs native");
	for (size_t i = 0; i < xf->nacc && !rc; i++)
		rc = add_part(ps, covered(z, &xf->acc[i], ef->acc, ef->nacc), NULL, NULL,
			      "native %s of %u bytes (access %zu) outside the proof sequence's %s",
			      xf->acc[i].write ? "store" : "load", xf->acc[i].size, i,
			      xf->acc[i].write ? "stores" : "accesses");
	for (int r = 0; r < SBPF_NREGS && !rc; r++)
		if (!(clob & (1u << r))) {
			rc = add_part(ps, prove_eq(z, ef->reg[r], sf->reg[r]), ef->reg[r], sf->reg[r],
				      "r%d: proof sequence vs specification", r);
			if (!rc)
				ps->v[ps->n - 1].ereg = r;
		}
	if (!rc)
		rc = add_part(ps, mem_equal(z, ef->mem, sf->mem, ef, sf), NULL, NULL,
			      "memory: proof sequence vs specification");
	(void)e0;
	return rc;
}

int prove_obligation(struct prove_z3 *zc, const struct prove_target *tg, const struct sbpf_kops_payload *p,
		     const uint8_t *code, size_t len, const void *insns,
		     size_t ninsns, struct prove_result *res)
{
	(void)code;
	(void)len;
	struct prove_z3 *z = zc;
	struct text t = { 0 };
	struct build b = { 0 };
	struct sbpf_insn *proof = NULL;
	size_t nproof = 0;
	char pl[128];
	res->verdict = PROVE_ERROR;
	res->report = NULL;
	z->fresh = 0;
	prove_mem_reset(z);
	Z3_solver s = z->solver;
	unsigned int scopes = Z3_solver_get_num_scopes(z->c, s);
	Z3_solver_push(z->c, s); /* every term below is freed by the pop */
	unsigned long errs = prove_z3_errors();
	prove_payload_str(p, pl, sizeof(pl));
	int rc = prove_proof_sequence(p, &proof, &nproof);
	if (rc) {
		tprintf(&t, "%s: no proof sequence (%d)\n", pl, rc);
		goto done;
	}
	z->probe = true; /* a build that gives up on reads once it meets two aliasing bases */
	rc = build(z, tg, p, proof, nproof, insns, ninsns, &b, &t);
	z->probe = false;
	if (!rc && z->alias_x) {
		/* Memory addressed from two base registers x and y (the probing
		 * build stopped resolving reads there): build again, with y =
		 * x + delta (fresh) when they are the only pair. For every x,
		 * y <-> delta is a bijection, so the obligation is the same
		 * statement; every aliasing question becomes "delta ==
		 * constant" (mem.c). */
		char xname[32], yname[32]; /* the terms die with the scope: keep the names */
		snprintf(xname, sizeof(xname), "%s", Z3_get_symbol_string(z->c, Z3_get_decl_name(z->c,
			 Z3_get_app_decl(z->c, Z3_to_app(z->c, z->alias_x)))));
		snprintf(yname, sizeof(yname), "%s", Z3_get_symbol_string(z->c, Z3_get_decl_name(z->c,
			 Z3_get_app_decl(z->c, Z3_to_app(z->c, z->alias_y)))));
		build_free(&b);
		Z3_solver_pop(z->c, s, 1);
		Z3_solver_push(z->c, s);
		prove_mem_reset(z);
		z->fresh = 0;
		bool many = z->alias_many;
		z->alias_x = prove_var(z, xname, 64);
		z->alias_y = prove_var(z, yname, 64);
		if (!many) /* else the plain build: reads as if-then-else on address equality */
			z->delta = prove_var(z, "delta", 64);
		rc = build(z, tg, p, proof, nproof, insns, ninsns, &b, &t);
	}
	if (rc) {
		if (rc == -ENOMEM)
			goto done;
		goto listing;
	}
	Z3_ast *facts = malloc((b.ps.n ? b.ps.n : 1) * sizeof(*facts));
	if (!facts) {
		rc = -ENOMEM;
		goto done;
	}
	for (size_t i = 0; i < b.ps.n; i++)
		facts[i] = b.ps.v[i].fact;
	Z3_ast all = Z3_mk_and(z->c, (unsigned)b.ps.n, facts);
	free(facts);
	if (prove_z3_errors() != errs) {
		tprintf(&t, "%s: internal error: Z3 refused a term\n", pl);
		goto listing;
	}
	/* the rewriter first: it normalizes address arithmetic and
	 * extract/concat chains, so equal values usually become the same
	 * term (most obligations end here, as "true") */
	Z3_solver_assert(z->c, s, Z3_mk_not(z->c, Z3_simplify(z->c, all)));
	Z3_lbool r = solve(z, s);
	if (r == Z3_L_FALSE && prove_z3_errors() == errs && !z->reads_err) {
		res->verdict = PROVE_PROVED;
	} else if (r == Z3_L_TRUE) {
		Z3_model m = Z3_solver_get_model(z->c, s);
		Z3_model_inc_ref(z->c, m);
		res->verdict = PROVE_FAILED;
		tprintf(&t, "%s: counterexample\n", pl);
		show_model(&t, z, m, tg, p, &b.e0, &b.x0, &b.ef, &b.xf, &b.ps);
		Z3_model_dec_ref(z->c, m);
	} else {
		res->verdict = PROVE_UNKNOWN;
		tprintf(&t, "%s: Z3 gave no answer (%s)\n", pl,
			z->reads_err ? "out of memory" : Z3_solver_get_reason_unknown(z->c, s));
	}
	if (res->verdict == PROVE_PROVED)
		goto done;
listing:
	show_listing(&t, tg, proof, nproof, insns, ninsns);
	rc = 0;
done:
	build_free(&b);
	free(proof);
	Z3_solver_pop(z->c, s, Z3_solver_get_num_scopes(z->c, s) - scopes);
	prove_mem_reset(z);
	if (t.oom) {
		free(t.s);
		t.s = NULL;
		if (!rc)
			rc = -ENOMEM;
	}
	res->report = t.s;
	if (res->verdict == PROVE_PROVED) {
		free(t.s);
		res->report = NULL;
	}
	return rc;
}
