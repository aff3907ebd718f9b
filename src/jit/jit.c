/* jit.c - the target-independent half of the JIT: program analysis (function
 * entries, loop headers, registers used), the pass loop that re-emits the
 * whole program until every jump has its shortest encoding and no address
 * moves, W^X executable memory (mmap RW, copy, mprotect RX; never writable
 * and executable at once), the per-eBPF-instruction offset table, and the
 * public sbpf_jit__* API including running an image and turning its error
 * exits into the interpreter's error codes and messages. With Kops sites
 * (opts.kops) the pass loop hands each site's region to the backend's
 * native emit, or compiles its proof sequence when there is none.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "jit/jitInt.h"
#include "safebpf/ctx.h"

#define JIT_MAX_PASSES 40
#define JIT_DEFAULT_BUDGET 100000000ull

struct sbpf_jit {
	struct sbpf_insn *insns;              /* validated copy of the program */
	size_t n;                             /* slots */
	enum sbpf_prog_type type;             /* program type */
	bool checked;                         /* bounds/budget/depth checks on */
	uint64_t loop_budget;                 /* loop-header entries per run (checked mode) */
	unsigned int features;                /* backend features in use */
	const struct jit_target *target;      /* backend */
	sbpf_helper_fn helpers[SBPF_MAX_HELPERS]; /* bound at compile time */
	uint8_t *flags;                       /* JIT_SLOT_* per slot */
	uint32_t *addrs;                      /* n+1 native offsets of the final image */
	void *image;                          /* RX mapping, NULL before compiling */
	size_t image_size;                    /* bytes of code in the image */
	size_t map_size;                      /* bytes mapped */
	int passes;                           /* passes the compile needed */
	uint8_t *rodata;                      /* copy of the read-only data (a read-only extra region), or NULL */
	size_t rodata_len;                    /* its bytes */
	struct sbpf_maps *maps;               /* the runtime's maps (opts.maps), or NULL */
	int nmapregs;                         /* maps with a value block (extra regions after rodata) */
	struct sbpf_kops_site *kops;          /* Kops sites (checked copy of opts.kops), or NULL */
	size_t nkops;                         /* their count */
	int kops_mutant;                      /* deliberately wrong emits (tests only) */
	uint32_t *kops_from, *kops_to;        /* nkops: code range of each site in the image */
	uint8_t *kops_native;                 /* nkops: 1 when the site runs its native emit */
};

/* Extra regions checked code of @jit looks at: its program type's, plus
 * its read-only data. */
static int extra_regions(const struct sbpf_jit *jit)
{
	return jit_extra_regions(jit->type) + (jit->rodata ? 1 : 0) + jit->nmapregs;
}

/* ---- code buffer ---- */

void jit_buf_fail(struct jit_buf *b, int err)
{
	if (!b->err)
		b->err = err;
}

void jit_buf_put_slow(struct jit_buf *b, const void *src, size_t n)
{
	if (b->err)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *p = realloc(b->p, cap);
		if (!p) {
			jit_buf_fail(b, -ENOMEM);
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, src, n);
	b->len += n;
}

void jit_patch_rel32(struct jit_buf *b, size_t at)
{
	if (b->err)
		return;
	int32_t rel = (int32_t)((long)b->len - (long)(at + 4));
	memcpy(b->p + at, &rel, 4);
}

void jit_patch_rel8(struct jit_buf *b, size_t at)
{
	if (b->err)
		return;
	long rel = (long)b->len - (long)(at + 1);
	if (rel < -128 || rel > 127) {
		jit_buf_fail(b, -ERANGE);
		return;
	}
	b->p[at] = (uint8_t)(int8_t)rel;
}

size_t jit_add_stub(struct jit_ctx *c, uint32_t pc, uint32_t kind, uint32_t resume, uint32_t arg)
{
	if (c->nstubs == c->stubs_cap) {
		size_t cap = c->stubs_cap ? c->stubs_cap * 2 : 64;
		struct jit_stub *s = realloc(c->stubs, cap * sizeof(*s));
		uint32_t *a = s ? realloc(c->stub_addrs, cap * sizeof(*a)) : NULL;
		if (s)
			c->stubs = s;
		if (a)
			c->stub_addrs = a;
		if (!s || !a) {
			jit_buf_fail(&c->buf, -ENOMEM);
			return 0;
		}
		c->stubs_cap = cap;
	}
	c->stubs[c->nstubs] = (struct jit_stub){ pc, kind, resume, arg };
	c->stub_addrs[c->nstubs] = 0;
	return c->nstubs++;
}

/* ---- public API: creation ---- */

/* Takes the Kops sites of @o after checking them against the program
 * @insns given to sbpf_jit__new() and, region by region, against the code
 * to compile (after the program type's context rewrite, which must leave
 * every region alone): the JIT replaces code by native emits only where
 * the site rules hold and the region is the proof sequence the verifier saw. */
static int copy_sites(struct sbpf_jit *jit, const struct sbpf_insn *insns, const struct sbpf_jit_opts *o,
		      struct sbpf_validate_error *err)
{
	const struct sbpf_kops_lowered *l = o->kops;
	if (l->n != jit->n || !l->insns || memcmp(l->insns, insns, jit->n * sizeof(*insns))) {
		if (err) {
			err->index = 0;
			snprintf(err->rule, sizeof(err->rule),
				 "Kops sites belong to another program (give the lowered program itself)");
		}
		return -EINVAL;
	}
	int rc = sbpf_kops_check_sites(jit->insns, jit->n, l->sites, l->nsites, err);
	if (rc)
		return rc;
	if (!l->nsites)
		return 0;
	jit->kops = malloc(l->nsites * sizeof(*jit->kops));
	if (!jit->kops)
		return -ENOMEM;
	memcpy(jit->kops, l->sites, l->nsites * sizeof(*jit->kops));
	jit->nkops = l->nsites;
	return 0;
}

/* The backend called @name; NULL: the host's (the one whose code runs
 * here). Any backend compiles on any host; only the host's runs. */
static const struct jit_target *find_target(const char *name)
{
	if (!name) {
#if defined(__x86_64__)
		return &jit_target_x86_64;
#elif defined(__aarch64__)
		return &jit_target_arm64;
#else
		return NULL;
#endif
	}
	if (!strcmp(name, "x86_64") || !strcmp(name, "x86-64"))
		return &jit_target_x86_64;
	if (!strcmp(name, "arm64") || !strcmp(name, "aarch64"))
		return &jit_target_arm64;
	return NULL;
}

struct sbpf_jit *sbpf_jit__new(const struct sbpf_insn *insns, size_t n,
			       const struct sbpf_jit_opts *opts,
			       struct sbpf_validate_error *err)
{
	struct sbpf_jit_opts o = { .sz = sizeof(o) };
	if (opts)
		memcpy(&o, opts, opts->sz < sizeof(o) ? opts->sz : sizeof(o));
	const struct jit_target *t = find_target(o.target);
	if (!t || (int)o.type < 0 || o.type >= SBPF_PROG__COUNT) {
		errno = ENOTSUP;
		return NULL;
	}
	if (!insns || n == 0 || n > SBPF_MAX_INSNS) {
		if (err) {
			err->index = 0;
			snprintf(err->rule, sizeof(err->rule), "program has %zu instructions (1..%u allowed)",
				 n, SBPF_MAX_INSNS);
		}
		errno = EINVAL;
		return NULL;
	}
	int rc = sbpf_validate(insns, n, err);
	if (!rc && !o.unchecked)
		rc = sbpf_validate_clobbers(insns, n, err); /* checked mode: r1-r5 after a call */
	if (rc) {
		errno = -rc;
		return NULL;
	}
	struct sbpf_jit *jit = calloc(1, sizeof(*jit));
	if (!jit || !(jit->insns = malloc(n * sizeof(*insns)))) {
		free(jit);
		errno = ENOMEM;
		return NULL;
	}
	memcpy(jit->insns, insns, n * sizeof(*insns));
	/* [xdp branch] program-type context conversion (safebpf/ctx.h) */
	rc = sbpf_ctx_rewrite(o.type, jit->insns, n, err);
	if (rc) {
		sbpf_jit__free(jit);
		errno = -rc;
		return NULL;
	}
	jit->n = n;
	if (o.kops && (rc = copy_sites(jit, insns, &o, err))) {
		sbpf_jit__free(jit);
		errno = -rc;
		return NULL;
	}
	/* Read-only data: a private copy, its references (lddw, never inside a
	 * site's region) resolved to it. */
	if (o.rodata && o.rodata_len) {
		if (jit_extra_regions(o.type) + 1 > JIT_MAX_EXTRA || !(jit->rodata = malloc(o.rodata_len))) {
			sbpf_jit__free(jit);
			errno = jit_extra_regions(o.type) + 1 > JIT_MAX_EXTRA ? ENOTSUP : ENOMEM;
			return NULL;
		}
		memcpy(jit->rodata, o.rodata, o.rodata_len);
		jit->rodata_len = o.rodata_len;
		sbpf_rodata_resolve(jit->insns, n, jit->rodata, o.rodata_len);
	}
	/* Maps: references resolved to the runtime's maps, one extra region
	 * per value block. */
	if (o.maps) {
		char why[160];
		jit->maps = o.maps;
		for (size_t k = 0; k < sbpf_maps__count(o.maps); k++) {
			void *base;
			size_t blen;
			jit->nmapregs += !sbpf_map__region(sbpf_maps__get(o.maps, k), &base, &blen);
		}
		if (sbpf_maps__resolve(o.maps, jit->insns, n, why, sizeof(why)) < 0) {
			if (err) {
				err->index = 0;
				snprintf(err->rule, sizeof(err->rule), "%s", why);
			}
			sbpf_jit__free(jit);
			errno = EINVAL;
			return NULL;
		}
	}
	jit->n = n;
	jit->type = o.type;
	jit->checked = !o.unchecked;
	jit->loop_budget = o.loop_budget ? o.loop_budget : JIT_DEFAULT_BUDGET;
	jit->target = t;
	jit->features = t->probe() & ~o.features;
	return jit;
}

void sbpf_jit__free(struct sbpf_jit *jit)
{
	if (!jit)
		return;
	if (jit->image)
		munmap(jit->image, jit->map_size);
	free(jit->insns);
	free(jit->flags);
	free(jit->addrs);
	free(jit->rodata);
	free(jit->kops);
	free(jit->kops_from);
	free(jit->kops_to);
	free(jit->kops_native);
	free(jit);
}

int sbpf_jit__set_helper(struct sbpf_jit *jit, uint32_t id, sbpf_helper_fn fn)
{
	if (!jit || id >= SBPF_MAX_HELPERS)
		return -EINVAL;
	if (jit->image)
		return -EBUSY;
	jit->helpers[id] = fn;
	return 0;
}

/* ---- analysis ---- */

/* Slot the jump/call at @pc goes to (pc + 1 + off, or + imm for ja32 and
 * local calls). */
static size_t jump_target(const struct sbpf_insn *in, size_t pc, enum sbpf_op op)
{
	const struct sbpf_op_info *f = sbpf_op_info(op);
	if (f->fmt == SBPF_FMT_JA32 || f->fmt == SBPF_FMT_CALL_LOCAL)
		return (size_t)((long)pc + 1 + in->imm);
	return (size_t)((long)pc + 1 + in->off);
}

/* Marks function entries, loop headers, jump targets and lddw second slots in @c->flags
 * (already zeroed) and collects which registers the program names, whether
 * it calls functions or helpers, and how much stack it needs. */
static void analyze(struct jit_ctx *c, uint8_t *flags)
{
	flags[0] |= JIT_SLOT_FUNC;
	for (size_t pc = 0; pc < c->n; pc++) {
		const struct sbpf_insn *in = &c->insns[pc];
		enum sbpf_op op = sbpf_decode(in);
		const struct sbpf_op_info *f = sbpf_op_info(op);
		switch (f->fmt) {
		case SBPF_FMT_LDDW:
			c->regs_used |= 1u << in->dst_reg;
			flags[pc + 1] |= JIT_SLOT_LDDW_HI;
			pc++;
			continue;
		case SBPF_FMT_JA: case SBPF_FMT_JA32: case SBPF_FMT_JCOND_K: case SBPF_FMT_JCOND_X: {
			size_t t = jump_target(in, pc, op);
			if (t <= pc)
				flags[t] |= JIT_SLOT_LOOP_HEAD;
			if (t < c->n)
				flags[t] |= JIT_SLOT_TARGET;
			break;
		}
		case SBPF_FMT_CALL_LOCAL:
			flags[jump_target(in, pc, op)] |= JIT_SLOT_FUNC;
			c->has_calls = true;
			break;
		case SBPF_FMT_CALL:
			c->has_helper_calls = true;
			break;
		default:
			break;
		}
		switch (f->fmt) {
		case SBPF_FMT_ALU_X: case SBPF_FMT_MOVSX: case SBPF_FMT_LDX: case SBPF_FMT_STX:
		case SBPF_FMT_ATOMIC: case SBPF_FMT_JCOND_X:
			c->regs_used |= 1u << in->src_reg;
			/* fall through */
		case SBPF_FMT_ALU_K: case SBPF_FMT_NEG: case SBPF_FMT_END: case SBPF_FMT_ST:
		case SBPF_FMT_JCOND_K:
			c->regs_used |= 1u << in->dst_reg;
			break;
		default:
			break;
		}
	}
	/* Native emits read their payload's registers (a prefetch has no proof
	 * sequence that would name its base). */
	for (size_t i = 0; i < c->nkops; i++) {
		const struct sbpf_kops_payload *p = &c->kops[i].p;
		c->regs_used |= (1u << p->dst | 1u << p->a | 1u << p->b | 1u << p->c) & 0x7ff;
	}
	c->first_sub = c->n;
	for (size_t pc = 1; pc < c->n; pc++)
		if (flags[pc] & JIT_SLOT_FUNC) {
			c->first_sub = pc;
			break;
		}
	if (c->has_calls)
		c->stack_size = SBPF_STACK_SIZE * JIT_MAX_FRAMES;
	else if (c->regs_used & (1u << SBPF_REG_FP))
		c->stack_size = SBPF_STACK_SIZE;
}

/* ---- the pass loop ---- */

/* Maps @size bytes read-write, near our own code when possible so that the
 * backend can reach helpers with rel32 calls. */
static void *map_rw(size_t size)
{
	uintptr_t near = (uintptr_t)&sbpf_jit__compile & ~(uintptr_t)0xfff;
	void *hint = near > (256u << 20) ? (void *)(near - (256u << 20)) : NULL;
	void *p = mmap(hint, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* Emits the whole program once into c->buf (reset first). */
/* Emits the native code of Kops site @s, whose region starts at slot @pc,
 * and returns 1; or returns 0 having emitted nothing (no usable emit: the
 * pass compiles the proof sequence slot by slot). For a region of one slot
 * or more the native code replaces the whole region, so the loop-header
 * check at @pc comes first; an empty region's code comes before the
 * instruction at @pc. */
static int kops_site(struct jit_ctx *c, const struct jit_target *t, size_t pc, const struct sbpf_kops_site *s)
{
	if (!t->kops_emit)
		return 0;
	size_t start = c->buf.len, nstubs = c->nstubs;
	if (s->lowered_len)
		t->loop_check(c, pc);
	size_t from = c->buf.len, max_len = 0;
	int rc = t->kops_emit(c, pc, s, &max_len);
	if ((rc == -ENOENT || rc == -EOPNOTSUPP) && c->buf.len == from && !c->buf.err) {
		/* No emit, or declined: take the loop check back (code and
		 * stub), the proof sequence's first slot has its own. */
		c->buf.len = start;
		c->nstubs = nstubs;
		return 0;
	}
	if (rc < 0)
		jit_buf_fail(&c->buf, c->buf.len == from ? rc : -EFAULT);
	else if (c->buf.len - from > max_len)
		jit_buf_fail(&c->buf, -E2BIG); /* the emit broke its own size bound */
	return 1;
}

static void emit_pass(struct jit_ctx *c, const struct jit_target *t)
{
	c->buf.len = 0;
	c->buf.err = 0;
	c->nstubs = 0;
	c->rel8_overflow = false;
	t->prologue(c);
	size_t k = 0; /* next Kops site */
	for (size_t pc = 0; pc < c->n;) {
		c->addrs[pc] = (uint32_t)c->buf.len;
		size_t native = 0; /* slots a native emit replaced */
		while (k < c->nkops && c->kops[k].lowered_start == pc) {
			const struct sbpf_kops_site *s = &c->kops[k];
			c->kops_from[k] = (uint32_t)c->buf.len;
			c->kops_native[k] = (uint8_t)kops_site(c, t, pc, s);
			c->kops_to[k] = (uint32_t)c->buf.len;
			k++;
			if (s->lowered_len) {
				if (c->kops_native[k - 1])
					native = s->lowered_len;
				break;
			}
		}
		if (native) {
			/* Inner slots (never jump targets) map to the end, like an
			 * lddw's second slot. */
			for (size_t i = 1; i < native; i++)
				c->addrs[pc + i] = (uint32_t)c->buf.len;
			pc += native;
			continue;
		}
		int slots = t->insn(c, pc);
		if (slots == 2)
			c->addrs[pc + 1] = (uint32_t)c->buf.len;
		pc += slots > 0 ? (size_t)slots : 1;
	}
	c->addrs[c->n] = (uint32_t)c->buf.len;
	for (; k < c->nkops; k++) { /* an empty region at the very end: no code */
		c->kops_from[k] = c->kops_to[k] = (uint32_t)c->buf.len;
		c->kops_native[k] = 0;
	}
	t->tail(c);
	if (c->buf.len > UINT32_MAX)
		jit_buf_fail(&c->buf, -E2BIG);
}

static bool same_layout(const struct jit_ctx *c, const uint32_t *prev_addrs)
{
	return prev_addrs && c->nstubs == c->prev_nstubs &&
	       !memcmp(c->addrs, prev_addrs, (c->n + 1) * sizeof(uint32_t)) &&
	       (!c->nstubs || !memcmp(c->stub_addrs, c->prev_stub_addrs, c->nstubs * sizeof(uint32_t))) &&
	       !memcmp(c->labels, c->prev_labels, sizeof(c->labels));
}

int sbpf_jit__compile(struct sbpf_jit *jit)
{
	if (!jit)
		return -EINVAL;
	if (jit->image)
		return 0;
	int rc = 0;
	struct jit_ctx c = {
		.insns = jit->insns, .n = jit->n, .helpers = jit->helpers,
		.checked = jit->checked, .features = jit->features,
		.nextra = extra_regions(jit),
		.kops = jit->kops, .nkops = jit->nkops, .kops_mutant = jit->kops_mutant,
	};
	uint8_t *flags = calloc(jit->n + 1, 1);
	uint32_t *a = calloc(jit->n + 1, sizeof(uint32_t));
	uint32_t *b = calloc(jit->n + 1, sizeof(uint32_t));
	uint32_t *prev_stubs = NULL;
	void *map = NULL;
	size_t map_size = 0;
	size_t nk = jit->nkops ? jit->nkops : 1;
	c.kops_from = calloc(nk, sizeof(uint32_t));
	c.kops_to = calloc(nk, sizeof(uint32_t));
	c.kops_native = calloc(nk, 1);
	if (!flags || !a || !b || !c.kops_from || !c.kops_to || !c.kops_native) {
		rc = -ENOMEM;
		goto out;
	}
	analyze(&c, flags);
	c.flags = flags;
	for (c.pass = 1; c.pass <= JIT_MAX_PASSES; c.pass++) {
		c.addrs = a;
		emit_pass(&c, jit->target);
		if ((rc = c.buf.err))
			goto out;
		if (same_layout(&c, c.prev))
			break;
		if (c.pass == 1) {
			/* Pass 1 uses the longest forms: its size bounds every later pass. */
			map_size = (c.buf.len + 4095) & ~(size_t)4095;
			if (!(map = map_rw(map_size))) {
				rc = -ENOMEM;
				goto out;
			}
			c.base = (uint64_t)(uintptr_t)map;
			c.image_max = c.buf.len;
		}
		/* This pass becomes the previous one. */
		free(prev_stubs);
		prev_stubs = malloc((c.nstubs ? c.nstubs : 1) * sizeof(uint32_t));
		if (!prev_stubs) {
			rc = -ENOMEM;
			goto out;
		}
		if (c.nstubs)
			memcpy(prev_stubs, c.stub_addrs, c.nstubs * sizeof(uint32_t));
		c.prev_stub_addrs = prev_stubs;
		c.prev_nstubs = c.nstubs;
		memcpy(c.prev_labels, c.labels, sizeof(c.labels));
		c.prev = a;
		uint32_t *tmp = a;
		a = b;
		b = tmp;
	}
	if (c.pass > JIT_MAX_PASSES) {
		rc = -E2BIG;
		goto out;
	}
	if (c.rel8_overflow) {
		rc = -EFAULT; /* a backend sized a short jump wrongly: refuse bad code */
		goto out;
	}
	if (c.buf.len > map_size) {
		rc = -EFAULT; /* cannot happen: sizes only shrink after pass 1 */
		goto out;
	}
	memcpy(map, c.buf.p, c.buf.len);
	if (mprotect(map, map_size, PROT_READ | PROT_EXEC)) {
		rc = -errno;
		goto out;
	}
	__builtin___clear_cache((char *)map, (char *)map + c.buf.len);
	jit->image = map;
	jit->map_size = map_size;
	jit->image_size = c.buf.len;
	jit->passes = c.pass;
	jit->flags = flags;
	jit->addrs = c.addrs;
	jit->kops_from = c.kops_from;
	jit->kops_to = c.kops_to;
	jit->kops_native = c.kops_native;
	c.kops_from = c.kops_to = NULL;
	c.kops_native = NULL;
	flags = NULL;
	map = NULL;
	if (c.addrs == a)
		a = NULL;
	else
		b = NULL;
out:
	if (map)
		munmap(map, map_size);
	free(flags);
	free(a);
	free(b);
	free(prev_stubs);
	free(c.buf.p);
	free(c.stubs);
	free(c.stub_addrs);
	free(c.kops_from);
	free(c.kops_to);
	free(c.kops_native);
	return rc;
}

/* ---- running ---- */

/* A memory region for error messages (mirrors the interpreter's). */
struct msg_region {
	uint64_t start, len;  /* host range */
	const char *name;     /* "stack", "mem" */
};

static uint64_t region_distance(const struct msg_region *g, uint64_t addr)
{
	if (addr < g->start)
		return g->start - addr;
	if (addr - g->start < g->len)
		return 0;
	return addr - (g->start + g->len) + 1;
}

/* Explains a refused access of @size bytes at rt->err_addr the way the
 * interpreter does, in terms of the nearest region. The regions are listed
 * in the interpreter's order: the active stack frames, the extra regions,
 * then the primary one (for mem: stack, mem; for xdp: stack, ctx, packet). */
static void access_reason(const struct jit_rt *rt, const struct jit_region *regions, size_t nregions,
			  const char *what, int size, char *out, size_t outsz)
{
	struct msg_region regs[2 + JIT_MAX_EXTRA];
	bool ro[2 + JIT_MAX_EXTRA] = { false };
	const char *names[2 + JIT_MAX_EXTRA];
	int n = 0, nnames = 0;
	uint64_t addr = rt->err_addr;
	uint64_t fp = rt->err_fp, depth = 0;
	names[nnames++] = "stack";
	if (rt->fp0) {
		depth = (rt->fp0 - fp) / SBPF_STACK_SIZE;
		regs[n++] = (struct msg_region){ fp - SBPF_STACK_SIZE, rt->fp0 - fp + SBPF_STACK_SIZE, "stack" };
	}
	for (size_t k = 1; k <= nregions && k <= 1 + JIT_MAX_EXTRA; k++) {
		const struct jit_region *g = &regions[k % nregions]; /* extras, then the primary */
		if (!g->base || !g->len)
			continue;
		ro[n] = !g->writable;
		names[nnames++] = g->name;
		regs[n++] = (struct msg_region){ (uint64_t)(uintptr_t)g->base, g->len, g->name };
	}
	int best = -1;
	uint64_t bestd = UINT64_MAX;
	for (int i = 0; i < n; i++) {
		uint64_t d = region_distance(&regs[i], addr);
		if (d < bestd) {
			bestd = d;
			best = i;
		}
	}
	const struct msg_region *g = best >= 0 ? &regs[best] : NULL;
	if (g && bestd == 0 && (addr - g->start) + (uint64_t)size <= g->len && ro[best]) {
		snprintf(out, outsz, "%d-byte %s at %s+%llu: %s is read-only", size, what, g->name,
			 (unsigned long long)(addr - g->start), g->name);
	} else if (!g || bestd > (1u << 20)) {
		char list[64] = "";
		for (int i = 0; i < nnames; i++)
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
				 i ? (i == nnames - 1 ? " or " : ", ") : "", names[i]);
		snprintf(out, outsz, "invalid %d-byte %s at address 0x%llx (not in %s)", size, what,
			 (unsigned long long)addr, list);
	} else if (!strcmp(g->name, "stack")) {
		snprintf(out, outsz, "out-of-bounds %d-byte %s at fp%+lld (the stack is fp-%d..fp%+d%s)",
			 size, what, (long long)(addr - fp), SBPF_STACK_SIZE,
			 (int)depth * SBPF_STACK_SIZE - 1, depth ? ", callers' frames included" : "");
	} else {
		snprintf(out, outsz, "out-of-bounds %d-byte %s at %s%+lld (%s is %llu bytes)", size, what,
			 g->name, (long long)(addr - g->start), g->name, (unsigned long long)g->len);
	}
}

/* Fills @err for an image that stopped with @rt->err_code and returns the
 * matching negative errno (the interpreter's codes and messages); @regions
 * are the run's memory regions, as given to jit_run_regions(). */
static int describe_error_regions(const struct sbpf_jit *jit, const struct jit_rt *rt,
				  const struct jit_region *regions, size_t nregions,
				  struct sbpf_run_error *err)
{
	unsigned kind = (unsigned)(rt->err_code >> 24);
	size_t pc = (size_t)(rt->err_code & 0xffffff);
	int rc = -EINVAL;
	char reason[160] = "";
	const struct sbpf_insn *in = pc < jit->n ? &jit->insns[pc] : NULL;
	const struct sbpf_op_info *f = in ? sbpf_op_info(sbpf_decode(in)) : NULL;
	switch (kind) {
	case JIT_ERR_ACCESS: {
		static const int sizes[4] = { 4, 2, 1, 8 };
		rc = -EFAULT;
		const char *what = !f ? "access" : f->fmt == SBPF_FMT_LDX ? "load" :
				   f->fmt == SBPF_FMT_ATOMIC ? "atomic" : "store";
		access_reason(rt, regions, nregions, what, in ? sizes[(in->code >> 3) & 3] : 0,
			      reason, sizeof(reason));
		break;
	}
	case JIT_ERR_BUDGET:
		rc = -E2BIG;
		snprintf(reason, sizeof(reason), "instruction budget of %llu exhausted (the JIT"
			 " charges loop-header entries against it; endless loop?)",
			 (unsigned long long)jit->loop_budget);
		break;
	case JIT_ERR_HELPER:
		snprintf(reason, sizeof(reason), "call to unknown helper %d", in ? in->imm : -1);
		break;
	case JIT_ERR_KFUNC:
		snprintf(reason, sizeof(reason), "kfunc call (BTF id %d) is not available in user space",
			 in ? in->imm : -1);
		break;
	case JIT_ERR_DEPTH:
		snprintf(reason, sizeof(reason), "call depth limit exceeded (%d nested local calls)",
			 SBPF_MAX_CALL_DEPTH);
		break;
	case JIT_ERR_PSEUDO:
		snprintf(reason, sizeof(reason), "lddw with src=%d (%s) needs a map or BTF relocation,"
			 " which user space does not provide", in ? in->src_reg : -1, f ? f->symbol : "?");
		break;
	default:
		snprintf(reason, sizeof(reason), "stopped with unknown error code 0x%llx",
			 (unsigned long long)rt->err_code);
		break;
	}
	if (err) {
		err->pc = pc;
		memcpy(err->reason, reason, sizeof(err->reason));
	}
	return rc;
}

/* describe_error_regions() for a run over one primary region "mem" (kept
 * for callers that fill struct jit_rt themselves). */
__attribute__((unused)) static int describe_error(const struct sbpf_jit *jit, const struct jit_rt *rt,
			  uint64_t mem_lo, size_t len, struct sbpf_run_error *err)
{
	struct jit_region r = { (void *)(uintptr_t)mem_lo, len, true, "mem" };
	return describe_error_regions(jit, rt, &r, 1, err);
}

int jit_extra_regions(enum sbpf_prog_type type)
{
	return type == SBPF_PROG_XDP ? 1 : 0;
}

/* Valid start offsets of 1-, 2-, 4- and 8-byte accesses in a region of
 * @len bytes at @base (len - size + 1, or 0), into @cnt[0..3]. */
static inline void region_counts(const void *base, size_t len, uint64_t cnt[4])
{
	cnt[0] = base && len >= 1 ? len : 0;
	cnt[1] = base && len >= 2 ? len - 1 : 0;
	cnt[2] = base && len >= 4 ? len - 3 : 0;
	cnt[3] = base && len >= 8 ? len - 7 : 0;
}

/* What rt_check() looks at: the run's block and regions. */
struct rt_check {
	const struct jit_rt *rt;         /* stk_lo/fp0 are current while the program runs */
	const struct jit_region *regs;   /* the run's regions */
	size_t nregs;                    /* their count */
};

/* sbpf_rt_env.check for checked code: [addr, addr+len) lies in the eBPF
 * stack area in use (from the lowest frame the image reserved up to the
 * outer frame's top) or in one region allowing the access. */
static int rt_check(void *arg, uint64_t addr, uint64_t len, int write)
{
	const struct rt_check *c = arg;
	if (c->rt->fp0 && addr >= c->rt->stk_lo && addr < c->rt->fp0 && len <= c->rt->fp0 - addr)
		return 0;
	for (size_t k = 0; k < c->nregs; k++) {
		const struct jit_region *g = &c->regs[k];
		uint64_t lo = (uint64_t)(uintptr_t)g->base;
		if (!g->base || (write && !g->writable) || addr < lo || addr - lo >= g->len || len > g->len - (addr - lo))
			continue;
		return 0;
	}
	return -1;
}

/* Per-run cost matters here (an empty XDP program is a few ns of code):
 * the run-time block is filled field by field, only the extra regions the
 * image looks at (extra_regions()), and never cleared as a whole - a
 * `struct jit_rt rt = { 0 }` compiled to a 232-byte `rep stos`, a third of
 * an empty run. */
int jit_run_regions(struct sbpf_jit *jit, uint64_t r1, uint64_t r2, const struct jit_region *regs,
		    size_t nregs, uint64_t *r0, struct sbpf_run_error *err)
{
	if (!jit || (nregs && !regs) || nregs > 1 + (size_t)jit_extra_regions(jit->type) ||
	    (nregs && regs[0].base && regs[0].len && !regs[0].writable))
		return -EINVAL;
	if (__builtin_expect(!jit->image, 0)) {
		int rc = sbpf_jit__compile(jit);
		if (rc)
			return rc;
	}
	if (__builtin_expect(!jit->target->native, 0)) {
		if (err) {
			err->pc = 0;
			snprintf(err->reason, sizeof(err->reason), "%s code cannot run on this host"
				 " (compiled for size and --dump only)", jit->target->name);
		}
		return -EOPNOTSUPP;
	}
	/* After the program type's regions: the read-only data, then the
	 * value block of each map. */
	struct jit_region all[1 + JIT_MAX_EXTRA];
	if (jit->rodata || jit->nmapregs) {
		struct jit_region none = { NULL, 0, true, "mem" };
		for (size_t k = 0; k < nregs; k++)
			all[k] = regs[k];
		if (!nregs)
			all[nregs++] = none;
		while (nregs < 1 + (size_t)jit_extra_regions(jit->type))
			all[nregs++] = (struct jit_region){ NULL, 0, false, "none" };
		if (jit->rodata)
			all[nregs++] = (struct jit_region){ jit->rodata, jit->rodata_len, false, "rodata" };
		for (size_t k = 0; jit->maps && k < sbpf_maps__count(jit->maps); k++) {
			struct sbpf_map *m = sbpf_maps__get(jit->maps, k);
			void *base;
			size_t blen;
			if (!sbpf_map__region(m, &base, &blen) && nregs < 1 + JIT_MAX_EXTRA)
				all[nregs++] = (struct jit_region){ base, blen, true, sbpf_map__name(m) };
		}
		regs = all;
	}
	struct jit_rt rt; /* every field the image reads is set below */
	if (nregs) {
		rt.mem_lo = (uint64_t)(uintptr_t)regs[0].base;
		region_counts(regs[0].base, regs[0].len, rt.mem_cnt);
	} else {
		rt.mem_lo = 0;
		region_counts(NULL, 0, rt.mem_cnt);
	}
	rt.stk_lo = rt.fp0 = 0;
	rt.budget = jit->loop_budget;
	rt.err_code = rt.err_addr = rt.err_fp = 0;
	size_t nextra = (size_t)extra_regions(jit);
	if (nregs > 1 && nregs - 1 > nextra)
		nextra = nregs - 1;
	for (size_t k = 0; k < nextra; k++) {
		struct jit_rt_region *x = &rt.extra[k];
		const struct jit_region *g = k + 1 < nregs ? &regs[k + 1] : NULL;
		x->lo = g ? (uint64_t)(uintptr_t)g->base : 0;
		region_counts(g ? g->base : NULL, g ? g->len : 0, x->rcnt);
		for (int i = 0; i < 4; i++)
			x->wcnt[i] = g && g->writable ? x->rcnt[i] : 0;
	}
	jit_entry_fn entry = (jit_entry_fn)jit->image;
	uint64_t ret;
	if (jit->maps) {
		struct rt_check chk = { &rt, regs, nregs };
		struct sbpf_rt_env env = { .maps = jit->maps, .check = jit->checked ? rt_check : NULL,
					   .check_arg = &chk };
		if (jit->type == SBPF_PROG_XDP && nregs && regs[0].base) {
			env.pkt_start = (uint64_t)(uintptr_t)regs[0].base;
			env.pkt_end = env.pkt_start + regs[0].len;
		}
		struct sbpf_rt_env *prev = sbpf_rt__enter(&env);
		ret = entry(r1, r2, &rt);
		sbpf_rt__leave(prev);
	} else {
		ret = entry(r1, r2, &rt);
	}
	if (__builtin_expect(rt.err_code != 0, 0))
		return describe_error_regions(jit, &rt, regs, nregs, err);
	if (r0)
		*r0 = ret;
	return 0;
}

/* [xdp branch] Program type xdp: r1 = a struct sbpf_xdp_ctx (safebpf/ctx.h)
 * whose data/data_end point at the packet; the program's xdp_md loads were
 * rewritten by sbpf_ctx_rewrite() in sbpf_jit__new(). The packet is the
 * primary (read-write) region, the context a read-only extra region, as in
 * the interpreter. */
static int run_xdp(struct sbpf_jit *jit, void *mem, size_t len, uint64_t *r0,
		   struct sbpf_run_error *err)
{
	if (!mem)
		len = 0;
	struct sbpf_xdp_ctx ctx = {
		.data = (uint64_t)(uintptr_t)mem, .data_end = (uint64_t)(uintptr_t)mem + len,
		.data_meta = (uint64_t)(uintptr_t)mem, .ingress_ifindex = 1,
	}; /* as sbpf_xdp_ctx__init(), inlined: this is the per-run path */
	if (jit->rodata || jit->maps || jit->nmapregs || !jit->target->native) {
		struct jit_region regs[2] = {
			{ mem, len, true, "packet" },
			{ &ctx, sizeof(ctx), false, "ctx" },
		};
		return jit_run_regions(jit, (uint64_t)(uintptr_t)&ctx, 0, regs, 2, r0, err);
	}
	/* jit_run_regions() for exactly these two regions and no maps or
	 * read-only data, without the generic region shuffling (an empty
	 * program runs in a few ns).
	 * Unchecked code never reads the block (its prologue does not even
	 * load it), so only err_code is set for it. */
	struct jit_rt rt;
	rt.err_code = 0;
	if (jit->checked) {
		rt.mem_lo = (uint64_t)(uintptr_t)mem;
		region_counts(mem, len, rt.mem_cnt);
		rt.stk_lo = rt.fp0 = 0;
		rt.budget = jit->loop_budget;
		rt.err_addr = rt.err_fp = 0;
		rt.extra[0].lo = (uint64_t)(uintptr_t)&ctx;
		region_counts(&ctx, sizeof(ctx), rt.extra[0].rcnt);
		memset(rt.extra[0].wcnt, 0, sizeof(rt.extra[0].wcnt));
	}
	jit_entry_fn entry = (jit_entry_fn)jit->image;
	uint64_t ret = entry((uint64_t)(uintptr_t)&ctx, 0, &rt);
	if (__builtin_expect(rt.err_code != 0, 0)) {
		struct jit_region regs[2] = {
			{ mem, len, true, "packet" },
			{ &ctx, sizeof(ctx), false, "ctx" },
		};
		return describe_error_regions(jit, &rt, regs, 2, err);
	}
	if (r0)
		*r0 = ret;
	return 0;
}

int sbpf_jit__run(struct sbpf_jit *jit, void *mem, size_t len, uint64_t *r0,
		  struct sbpf_run_error *err)
{
	if (!jit)
		return -EINVAL;
	if (__builtin_expect(!jit->image, 0)) {
		int rc = sbpf_jit__compile(jit);
		if (rc)
			return rc;
	}
	if (jit->type == SBPF_PROG_XDP)
		return run_xdp(jit, mem, len, r0, err); /* [xdp branch] */
	if (jit->type != SBPF_PROG_MEM) {
		if (err) {
			err->pc = 0;
			snprintf(err->reason, sizeof(err->reason),
				 "program type %s is not available in the JIT", sbpf_prog_type__name(jit->type));
		}
		return -EOPNOTSUPP;
	}
	struct jit_region r = { mem, mem ? len : 0, true, "mem" };
	return jit_run_regions(jit, (uint64_t)(uintptr_t)mem, mem ? (uint64_t)len : 0, &r, 1, r0, err);
}

/* ---- introspection ---- */

const void *sbpf_jit__code(const struct sbpf_jit *jit, size_t *size)
{
	if (size)
		*size = jit && jit->image ? jit->image_size : 0;
	return jit ? jit->image : NULL;
}

long sbpf_jit__insn_offset(const struct sbpf_jit *jit, size_t pc)
{
	if (!jit || !jit->image || pc > jit->n)
		return -1;
	return (long)jit->addrs[pc];
}

const char *sbpf_jit__target_name(const struct sbpf_jit *jit)
{
	return jit ? jit->target->name : NULL;
}

void sbpf_jit__capstone_mode(const struct sbpf_jit *jit, int *arch, int *mode)
{
	*arch = jit ? jit->target->cs_arch : -1;
	*mode = jit ? jit->target->cs_mode : -1;
}

int sbpf_jit__passes(const struct sbpf_jit *jit)
{
	return jit ? jit->passes : 0;
}

int sbpf_jit__kops_site(const struct sbpf_jit *jit, size_t i, size_t *from, size_t *to)
{
	if (!jit || !jit->image || i >= jit->nkops)
		return -1;
	const struct sbpf_kops_site *s = &jit->kops[i];
	if (jit->kops_native[i] || !s->lowered_len) {
		*from = jit->kops_from[i];
		*to = jit->kops_to[i];
	} else {
		*from = jit->addrs[s->lowered_start];
		*to = jit->addrs[s->lowered_start + s->lowered_len];
	}
	return jit->kops_native[i];
}

unsigned int sbpf_jit__features(const struct sbpf_jit *jit)
{
	return jit ? jit->features : 0;
}

void jit_set_kops_mutant(struct sbpf_jit *jit, int mutant)
{
	if (jit)
		jit->kops_mutant = mutant;
}
