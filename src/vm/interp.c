/* interp.c - the reference interpreter: RFC 9669 semantics for every
 * instruction form of opcodes.def, with every memory access checked.
 *
 * Loading validates the program and decodes each slot once (struct
 * vm_insn: form id plus fields, the 64-bit immediate precomputed); running
 * dispatches on the form id. The choices RFC 9669 leaves open are listed in
 * include/safebpf/vm.h; program types (what r1/r2 hold, which regions
 * exist) come from ctx.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safebpf/ctx.h"
#include "vm/vmInt.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "the interpreter keeps eBPF memory in host order: little-endian hosts only");

struct helper_slot {
	sbpf_helper_fn fn; /* NULL when the id is free */
	char *name;        /* owned copy, for messages */
};

/* What a local call saves and exit restores. */
struct frame {
	size_t ret_pc;       /* instruction after the call */
	uint64_t saved[5];   /* caller's r6..r9, r10 */
};

struct sbpf_vm {
	struct sbpf_insn *insns;   /* validated copy of the program */
	struct vm_insn *code;      /* decoded form of each slot */
	size_t n;                  /* slots */
	enum sbpf_prog_type type;  /* program type */
	uint64_t budget;           /* instructions per run */
	uint64_t count;            /* instructions executed by the last run */
	uint64_t *profile;         /* per-slot execution counts (sbpf_vm__set_profile), or NULL */
	uint8_t *stack;            /* all frames: STACK_BYTES */
	uint8_t *rodata;           /* copy of the read-only data (region "rodata"), or NULL */
	size_t rodata_len;         /* its bytes */
	bool uses_fp;              /* some instruction names r10: the main frame is reachable */
	struct sbpf_maps *maps;    /* the runtime's maps (opts.maps), or NULL */
	struct helper_slot helpers[SBPF_MAX_HELPERS]; /* by id */
};

#define STACK_BYTES ((SBPF_MAX_CALL_DEPTH + 1) * SBPF_STACK_SIZE)

/* Reads field @f of @o when the caller's struct is recent enough to have it. */
#define OPT(o, f, def) \
	((o) && (o)->sz >= offsetof(struct sbpf_vm_opts, f) + sizeof((o)->f) ? (o)->f : (def))

static int load_fail(struct sbpf_validate_error *err, const char *msg)
{
	if (err) {
		err->index = 0;
		snprintf(err->rule, sizeof(err->rule), "%s", msg);
	}
	errno = EINVAL;
	return -EINVAL;
}

/* Decodes every slot of the (already validated) program into vm->code. */
static void decode_all(struct sbpf_vm *vm)
{
	for (size_t i = 0; i < vm->n; i++) {
		const struct sbpf_insn *in = &vm->insns[i];
		enum sbpf_op op = sbpf_decode(in);
		if (in->dst_reg == SBPF_REG_FP || in->src_reg == SBPF_REG_FP)
			vm->uses_fp = true;
		vm->code[i] = (struct vm_insn){
			.op = (uint16_t)op, .dst = in->dst_reg, .src = in->src_reg,
			.off = in->off, .imm = in->imm, .k = (uint64_t)(int64_t)in->imm,
		};
		if (sbpf_op_info(op)->fmt == SBPF_FMT_LDDW) {
			vm->code[i].k = (uint64_t)(uint32_t)in->imm |
					(uint64_t)(uint32_t)vm->insns[i + 1].imm << 32;
			vm->code[++i] = (struct vm_insn){ .op = SBPF_OP_INVALID };
		}
	}
}

/* With the runtime (opts.maps): map references resolved, runtime helpers
 * registered, and a call to a helper the runtime lacks refused with its
 * name. Returns 0 or -EINVAL with @err filled. */
static int runtime_load(struct sbpf_vm *vm, struct sbpf_validate_error *err)
{
	char why[160];
	int rc = sbpf_maps__resolve(vm->maps, vm->insns, vm->n, why, sizeof(why));
	if (rc < 0)
		return load_fail(err, why);
	vm_helpers_register_runtime(vm);
	for (size_t i = 0; i < vm->n; i++) {
		const struct sbpf_insn *in = &vm->insns[i];
		if (in->code == (SBPF_LD | SBPF_DW | SBPF_IMM)) {
			i++;
			continue;
		}
		if (in->code != (SBPF_JMP | SBPF_CALL) || in->src_reg != 0)
			continue;
		uint32_t id = (uint32_t)in->imm;
		if (id < SBPF_MAX_HELPERS && vm->helpers[id].fn)
			continue;
		const char *name = sbpf_helper_name(id);
		if (!name)
			continue; /* not a kernel helper: "unknown helper" at run time, as without maps */
		if (err) {
			err->index = i;
			snprintf(err->rule, sizeof(err->rule), "calls helper %u (bpf_%s), which is kernel-only: "
				 "the user-space runtime does not provide it", id, name);
		}
		return -EINVAL;
	}
	return 0;
}

struct sbpf_vm *sbpf_vm__new(const struct sbpf_insn *insns, size_t n,
			     const struct sbpf_vm_opts *opts,
			     struct sbpf_validate_error *err)
{
	int rc = sbpf_validate(insns, n, err);
	if (!rc) /* r1-r5 after a call; no host address leaves the program */
		rc = sbpf_validate_registers(insns, n, OPT(opts, stack_escape, false) ? SBPF_VALIDATE_STACK_ESCAPE : 0,
					     err);
	if (rc) {
		errno = -rc;
		return NULL;
	}
	enum sbpf_prog_type type = OPT(opts, type, SBPF_PROG_MEM);
	if ((int)type < 0 || type >= SBPF_PROG__COUNT) {
		load_fail(err, "unknown program type");
		return NULL;
	}
	if (!vm_prog_types[type].setup) {
		load_fail(err, "this program type is not available in the interpreter");
		errno = EOPNOTSUPP;
		return NULL;
	}
	struct sbpf_vm *vm = calloc(1, sizeof(*vm));
	if (!vm)
		return NULL;
	vm->insns = malloc(n * sizeof(*insns));
	vm->code = malloc(n * sizeof(*vm->code));
	vm->stack = malloc(STACK_BYTES);
	if (!vm->insns || !vm->code || !vm->stack) {
		sbpf_vm__free(vm);
		errno = ENOMEM;
		return NULL;
	}
	memcpy(vm->insns, insns, n * sizeof(*insns));
	/* [xdp branch] program-type context conversion (safebpf/ctx.h) */
	rc = sbpf_ctx_rewrite(type, vm->insns, n, err);
	if (rc) {
		sbpf_vm__free(vm);
		errno = -rc;
		return NULL;
	}
	/* Read-only data: a private copy, its references resolved to it. */
	const void *ro = OPT(opts, rodata, NULL);
	size_t ro_len = OPT(opts, rodata_len, 0);
	if (ro && ro_len) {
		if (!(vm->rodata = malloc(ro_len))) {
			sbpf_vm__free(vm);
			errno = ENOMEM;
			return NULL;
		}
		memcpy(vm->rodata, ro, ro_len);
		vm->rodata_len = ro_len;
		sbpf_rodata_resolve(vm->insns, n, vm->rodata, ro_len);
	}
	vm->n = n;
	vm->type = type;
	vm->budget = OPT(opts, insn_budget, 0);
	if (!vm->budget)
		vm->budget = SBPF_DEFAULT_BUDGET;
	vm_helpers_register_defaults(vm);
	vm->maps = OPT(opts, maps, NULL);
	if (vm->maps && (rc = runtime_load(vm, err)) != 0) {
		sbpf_vm__free(vm);
		errno = -rc;
		return NULL;
	}
	decode_all(vm);
	return vm;
}

void sbpf_vm__free(struct sbpf_vm *vm)
{
	if (!vm)
		return;
	for (int i = 0; i < SBPF_MAX_HELPERS; i++)
		free(vm->helpers[i].name);
	free(vm->insns);
	free(vm->code);
	free(vm->stack);
	free(vm->rodata);
	free(vm);
}

const struct sbpf_insn *sbpf_vm__insns(const struct sbpf_vm *vm, size_t *n)
{
	if (n)
		*n = vm->n;
	return vm->insns;
}

int sbpf_vm__set_helper(struct sbpf_vm *vm, uint32_t id, const char *name, sbpf_helper_fn fn)
{
	if (id >= SBPF_MAX_HELPERS)
		return -EINVAL;
	char *copy = NULL;
	if (fn && name && !(copy = strdup(name)))
		return -ENOMEM;
	free(vm->helpers[id].name);
	vm->helpers[id].fn = fn;
	vm->helpers[id].name = copy;
	return 0;
}

sbpf_helper_fn sbpf_vm__helper(const struct sbpf_vm *vm, uint32_t id)
{
	return id < SBPF_MAX_HELPERS ? vm->helpers[id].fn : NULL;
}

const char *sbpf_vm__helper_name(const struct sbpf_vm *vm, uint32_t id)
{
	return id < SBPF_MAX_HELPERS ? vm->helpers[id].name : NULL;
}

void sbpf_vm__set_profile(struct sbpf_vm *vm, uint64_t *counts)
{
	vm->profile = counts;
}

uint64_t sbpf_vm__insn_count(const struct sbpf_vm *vm)
{
	return vm->count;
}

/* ---- memory ---------------------------------------------------------- */

/* The region holding all @size bytes at @addr, or NULL. */
static inline struct vm_region *find_region(struct vm_run *r, uint64_t addr, uint64_t size)
{
	for (int i = 0; i < r->nregion; i++) {
		struct vm_region *g = &r->region[i];
		uint64_t o = addr - g->start;
		if (o < g->len && size <= g->len - o)
			return g;
	}
	return NULL;
}

/* Loads @size bytes at @addr, zero-extended, into *@v. 0 or -EFAULT. */
static inline int mem_load(struct vm_run *r, uint64_t addr, int size, uint64_t *v)
{
	struct vm_region *g = find_region(r, addr, (uint64_t)size);
	if (!g || !(g->flags & VM_R))
		return -EFAULT;
	if (g->load) {
		*v = g->load(g, addr - g->start, size);
		return 0;
	}
	const void *p = (const void *)(uintptr_t)addr;
	switch (size) {
	case 1: *v = *(const uint8_t *)p; break;
	case 2: { uint16_t x; memcpy(&x, p, 2); *v = x; break; }
	case 4: { uint32_t x; memcpy(&x, p, 4); *v = x; break; }
	default: memcpy(v, p, 8); break;
	}
	return 0;
}

/* Host pointer for a write of @size bytes at @addr, or NULL. */
static inline void *mem_writable(struct vm_run *r, uint64_t addr, int size)
{
	struct vm_region *g = find_region(r, addr, (uint64_t)size);
	if (!g || !(g->flags & VM_W) || g->load)
		return NULL;
	return (void *)(uintptr_t)addr;
}

/* Stores the low @size bytes of @v at @addr. 0 or -EFAULT. */
static inline int mem_store(struct vm_run *r, uint64_t addr, int size, uint64_t v)
{
	void *p = mem_writable(r, addr, size);
	if (!p)
		return -EFAULT;
	switch (size) {
	case 1: *(uint8_t *)p = (uint8_t)v; break;
	case 2: { uint16_t x = (uint16_t)v; memcpy(p, &x, 2); break; }
	case 4: { uint32_t x = (uint32_t)v; memcpy(p, &x, 4); break; }
	default: memcpy(p, &v, 8); break;
	}
	return 0;
}

static int run_fail(struct sbpf_run_error *err, size_t pc, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int run_fail(struct sbpf_run_error *err, size_t pc, int rc, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		err->pc = pc;
		va_start(ap, fmt);
		vsnprintf(err->reason, sizeof(err->reason), fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* Distance from @addr to region @g (0 when inside). */
static uint64_t region_distance(const struct vm_region *g, uint64_t addr)
{
	if (addr < g->start)
		return g->start - addr;
	if (addr - g->start < g->len)
		return 0;
	return addr - (g->start + g->len) + 1;
}

/* Explains a refused access of @size bytes at @addr ("load", "store",
 * "atomic") in terms of the nearest region. @depth is the call depth. */
static int mem_fault(struct vm_run *r, struct sbpf_run_error *err, size_t pc, const char *what,
		     uint64_t addr, int size, int depth)
{
	const struct vm_region *best = NULL;
	uint64_t bestd = UINT64_MAX;
	for (int i = 0; i < r->nregion; i++) {
		uint64_t d = region_distance(&r->region[i], addr);
		if (d < bestd) {
			bestd = d;
			best = &r->region[i];
		}
	}
	if (best && bestd == 0 && (addr - best->start) + (uint64_t)size <= best->len)
		return run_fail(err, pc, -EFAULT, "%d-byte %s at %s+%" PRIu64 ": %s is %s", size,
				what, best->name, addr - best->start, best->name,
				best->load ? "read-only (a context)" : "read-only");
	if (!best || bestd > (1u << 20)) {
		char names[64] = "";
		for (int i = 0; i < r->nregion; i++)
			snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
				 i ? (i == r->nregion - 1 ? " or " : ", ") : "", r->region[i].name);
		return run_fail(err, pc, -EFAULT, "invalid %d-byte %s at address 0x%" PRIx64
				" (not in %s)", size, what, addr, names);
	}
	if (best == &r->region[0]) {
		/* The stack: speak in offsets from the current frame pointer. */
		uint64_t fp = best->start + SBPF_STACK_SIZE; /* current frame's r10 */
		int64_t fpoff = (int64_t)(addr - fp);
		return run_fail(err, pc, -EFAULT, "out-of-bounds %d-byte %s at fp%+" PRId64
				" (the stack is fp-%d..fp%+d%s)", size, what, fpoff, SBPF_STACK_SIZE,
				depth * SBPF_STACK_SIZE - 1, depth ? ", callers' frames included" : "");
	}
	int64_t off = (int64_t)(addr - best->start);
	return run_fail(err, pc, -EFAULT, "out-of-bounds %d-byte %s at %s%+" PRId64
			" (%s is %" PRIu64 " bytes)", size, what, best->name, off, best->name, best->len);
}

/* ---- arithmetic helpers (RFC 9669 section 4.1) ---------------------- */

/* Signed 64-bit division: x/0 = 0, INT64_MIN/-1 = INT64_MIN (wraps). */
static inline uint64_t sdiv64(uint64_t a, uint64_t b)
{
	if (!b)
		return 0;
	if (b == UINT64_MAX)
		return 0 - a;
	return (uint64_t)((int64_t)a / (int64_t)b);
}

/* Signed 64-bit remainder, sign of the dividend: x%0 = x, x%-1 = 0. */
static inline uint64_t smod64(uint64_t a, uint64_t b)
{
	if (!b)
		return a;
	if (b == UINT64_MAX)
		return 0;
	return (uint64_t)((int64_t)a % (int64_t)b);
}

static inline uint32_t sdiv32(uint32_t a, uint32_t b)
{
	if (!b)
		return 0;
	if (b == UINT32_MAX)
		return 0 - a;
	return (uint32_t)((int32_t)a / (int32_t)b);
}

static inline uint32_t smod32(uint32_t a, uint32_t b)
{
	if (!b)
		return a;
	if (b == UINT32_MAX)
		return 0;
	return (uint32_t)((int32_t)a % (int32_t)b);
}

/* Performs atomic @in (already bounds-checked: @p holds @size bytes). */
static void do_atomic(uint64_t *reg, const struct vm_insn *in, void *p, int size)
{
	uint64_t old, src = reg[in->src], nv;
	if (size == 4) {
		uint32_t o;
		memcpy(&o, p, 4);
		old = o;
	} else {
		memcpy(&old, p, 8);
	}
	switch (in->imm & ~SBPF_FETCH) {
	case SBPF_ADD: nv = old + src; break;
	case SBPF_OR:  nv = old | src; break;
	case SBPF_AND: nv = old & src; break;
	case SBPF_XOR: nv = old ^ src; break;
	case SBPF_XCHG & ~SBPF_FETCH: nv = src; break;
	default: { /* cmpxchg: compare with r0, r0 = old value */
		uint64_t expect = size == 4 ? (uint32_t)reg[0] : reg[0];
		nv = old == expect ? src : old;
		reg[0] = old;
		break;
	}
	}
	if (size == 4) {
		uint32_t v = (uint32_t)nv;
		memcpy(p, &v, 4);
	} else {
		memcpy(p, &nv, 8);
	}
	if ((in->imm & SBPF_FETCH) && in->imm != SBPF_CMPXCHG)
		reg[in->src] = old;
}

/* ---- the dispatch loop ------------------------------------------------ */

/* Runs the decoded program over run state @r (registers and regions set).
 * Returns 0 with r0 in *@r0, or a negative errno with @err filled. */
static int interp(struct sbpf_vm *vm, struct vm_run *r, uint64_t *r0, struct sbpf_run_error *err)
{
	const struct vm_insn *code = vm->code;
	uint64_t *reg = r->reg;
	struct frame frames[SBPF_MAX_CALL_DEPTH];
	int depth = 0;
	size_t pc = 0;
	/* with a profile, every instruction takes the budget check's branch,
	 * which counts it; without, that branch is taken only at the budget */
	uint64_t *const profile = vm->profile;
	const uint64_t budget = profile ? 0 : vm->budget;
	uint64_t count = 0, addr = 0, v;
	int size = 0;
	const char *what = "";

#define DST reg[in->dst]
#define SRC reg[in->src]
#define D32 ((uint32_t)reg[in->dst])
#define S32 ((uint32_t)reg[in->src])
#define K   (in->k)
#define K32 ((uint32_t)in->imm)
#define JUMP_IF(c) do { if (c) pc += (size_t)(int64_t)in->off; } while (0)
#define LOAD(sz, ext) do {                                                    \
		addr = SRC + (uint64_t)(int64_t)in->off; size = (sz); what = "load"; \
		if (mem_load(r, addr, sz, &v)) goto fault;                           \
		DST = ext;                                                           \
	} while (0)
#define STORE(sz, val) do {                                                   \
		addr = DST + (uint64_t)(int64_t)in->off; size = (sz); what = "store"; \
		if (mem_store(r, addr, sz, val)) goto fault;                         \
	} while (0)

	for (;;) {
		if (count >= budget) {
			if (!profile || count >= vm->budget) {
				vm->count = count;
				return run_fail(err, pc, -E2BIG, "instruction budget of %" PRIu64
						" exhausted (endless loop?)", vm->budget);
			}
			profile[pc]++;
		}
		count++;
		const struct vm_insn *in = &code[pc++];
		switch ((enum sbpf_op)in->op) {
		/* ALU64 */
		case SBPF_OP_ADD64_IMM: DST += K; break;
		case SBPF_OP_ADD64_REG: DST += SRC; break;
		case SBPF_OP_SUB64_IMM: DST -= K; break;
		case SBPF_OP_SUB64_REG: DST -= SRC; break;
		case SBPF_OP_MUL64_IMM: DST *= K; break;
		case SBPF_OP_MUL64_REG: DST *= SRC; break;
		case SBPF_OP_DIV64_IMM: DST = K ? DST / K : 0; break;
		case SBPF_OP_DIV64_REG: DST = SRC ? DST / SRC : 0; break;
		case SBPF_OP_SDIV64_IMM: DST = sdiv64(DST, K); break;
		case SBPF_OP_SDIV64_REG: DST = sdiv64(DST, SRC); break;
		case SBPF_OP_OR64_IMM: DST |= K; break;
		case SBPF_OP_OR64_REG: DST |= SRC; break;
		case SBPF_OP_AND64_IMM: DST &= K; break;
		case SBPF_OP_AND64_REG: DST &= SRC; break;
		case SBPF_OP_LSH64_IMM: DST <<= K & 63; break;
		case SBPF_OP_LSH64_REG: DST <<= SRC & 63; break;
		case SBPF_OP_RSH64_IMM: DST >>= K & 63; break;
		case SBPF_OP_RSH64_REG: DST >>= SRC & 63; break;
		case SBPF_OP_MOD64_IMM: DST = K ? DST % K : DST; break;
		case SBPF_OP_MOD64_REG: DST = SRC ? DST % SRC : DST; break;
		case SBPF_OP_SMOD64_IMM: DST = smod64(DST, K); break;
		case SBPF_OP_SMOD64_REG: DST = smod64(DST, SRC); break;
		case SBPF_OP_XOR64_IMM: DST ^= K; break;
		case SBPF_OP_XOR64_REG: DST ^= SRC; break;
		case SBPF_OP_MOV64_IMM: DST = K; break;
		case SBPF_OP_MOV64_REG: DST = SRC; break;
		case SBPF_OP_MOVSX8_64: DST = (uint64_t)(int64_t)(int8_t)SRC; break;
		case SBPF_OP_MOVSX16_64: DST = (uint64_t)(int64_t)(int16_t)SRC; break;
		case SBPF_OP_MOVSX32_64: DST = (uint64_t)(int64_t)(int32_t)SRC; break;
		case SBPF_OP_ARSH64_IMM: DST = (uint64_t)((int64_t)DST >> (K & 63)); break;
		case SBPF_OP_ARSH64_REG: DST = (uint64_t)((int64_t)DST >> (SRC & 63)); break;
		case SBPF_OP_NEG64: DST = 0 - DST; break;
		/* ALU32: operate on the low halves, zero-extend the result */
		case SBPF_OP_ADD32_IMM: DST = D32 + K32; break;
		case SBPF_OP_ADD32_REG: DST = D32 + S32; break;
		case SBPF_OP_SUB32_IMM: DST = D32 - K32; break;
		case SBPF_OP_SUB32_REG: DST = D32 - S32; break;
		case SBPF_OP_MUL32_IMM: DST = D32 * K32; break;
		case SBPF_OP_MUL32_REG: DST = D32 * S32; break;
		case SBPF_OP_DIV32_IMM: DST = K32 ? D32 / K32 : 0; break;
		case SBPF_OP_DIV32_REG: DST = S32 ? D32 / S32 : 0; break;
		case SBPF_OP_SDIV32_IMM: DST = sdiv32(D32, K32); break;
		case SBPF_OP_SDIV32_REG: DST = sdiv32(D32, S32); break;
		case SBPF_OP_OR32_IMM: DST = D32 | K32; break;
		case SBPF_OP_OR32_REG: DST = D32 | S32; break;
		case SBPF_OP_AND32_IMM: DST = D32 & K32; break;
		case SBPF_OP_AND32_REG: DST = D32 & S32; break;
		case SBPF_OP_LSH32_IMM: DST = (uint32_t)(D32 << (K32 & 31)); break;
		case SBPF_OP_LSH32_REG: DST = (uint32_t)(D32 << (S32 & 31)); break;
		case SBPF_OP_RSH32_IMM: DST = D32 >> (K32 & 31); break;
		case SBPF_OP_RSH32_REG: DST = D32 >> (S32 & 31); break;
		case SBPF_OP_MOD32_IMM: DST = K32 ? D32 % K32 : D32; break;
		case SBPF_OP_MOD32_REG: DST = S32 ? D32 % S32 : D32; break;
		case SBPF_OP_SMOD32_IMM: DST = smod32(D32, K32); break;
		case SBPF_OP_SMOD32_REG: DST = smod32(D32, S32); break;
		case SBPF_OP_XOR32_IMM: DST = D32 ^ K32; break;
		case SBPF_OP_XOR32_REG: DST = D32 ^ S32; break;
		case SBPF_OP_MOV32_IMM: DST = K32; break;
		case SBPF_OP_MOV32_REG: DST = S32; break;
		case SBPF_OP_MOVSX8_32: DST = (uint32_t)(int32_t)(int8_t)SRC; break;
		case SBPF_OP_MOVSX16_32: DST = (uint32_t)(int32_t)(int16_t)SRC; break;
		case SBPF_OP_ARSH32_IMM: DST = (uint32_t)((int32_t)D32 >> (K32 & 31)); break;
		case SBPF_OP_ARSH32_REG: DST = (uint32_t)((int32_t)D32 >> (S32 & 31)); break;
		case SBPF_OP_NEG32: DST = 0u - D32; break;
		/* byte order: the eBPF machine is little-endian */
		case SBPF_OP_LE16: DST = (uint16_t)DST; break;
		case SBPF_OP_LE32: DST = D32; break;
		case SBPF_OP_LE64: break;
		case SBPF_OP_BE16: case SBPF_OP_BSWAP16: DST = __builtin_bswap16((uint16_t)DST); break;
		case SBPF_OP_BE32: case SBPF_OP_BSWAP32: DST = __builtin_bswap32(D32); break;
		case SBPF_OP_BE64: case SBPF_OP_BSWAP64: DST = __builtin_bswap64(DST); break;
		/* loads */
		case SBPF_OP_LDXB: LOAD(1, v); break;
		case SBPF_OP_LDXH: LOAD(2, v); break;
		case SBPF_OP_LDXW: LOAD(4, v); break;
		case SBPF_OP_LDXDW: LOAD(8, v); break;
		case SBPF_OP_LDXSB: LOAD(1, (uint64_t)(int64_t)(int8_t)v); break;
		case SBPF_OP_LDXSH: LOAD(2, (uint64_t)(int64_t)(int16_t)v); break;
		case SBPF_OP_LDXSW: LOAD(4, (uint64_t)(int64_t)(int32_t)v); break;
		/* stores */
		case SBPF_OP_STB: STORE(1, K); break;
		case SBPF_OP_STH: STORE(2, K); break;
		case SBPF_OP_STW: STORE(4, K); break;
		case SBPF_OP_STDW: STORE(8, K); break;
		case SBPF_OP_STXB: STORE(1, SRC); break;
		case SBPF_OP_STXH: STORE(2, SRC); break;
		case SBPF_OP_STXW: STORE(4, SRC); break;
		case SBPF_OP_STXDW: STORE(8, SRC); break;
		/* atomics */
		case SBPF_OP_ATOMIC64_ADD: case SBPF_OP_ATOMIC64_FETCH_ADD:
		case SBPF_OP_ATOMIC64_OR: case SBPF_OP_ATOMIC64_FETCH_OR:
		case SBPF_OP_ATOMIC64_AND: case SBPF_OP_ATOMIC64_FETCH_AND:
		case SBPF_OP_ATOMIC64_XOR: case SBPF_OP_ATOMIC64_FETCH_XOR:
		case SBPF_OP_ATOMIC64_XCHG: case SBPF_OP_ATOMIC64_CMPXCHG:
			size = 8;
			goto atomic;
		case SBPF_OP_ATOMIC32_ADD: case SBPF_OP_ATOMIC32_FETCH_ADD:
		case SBPF_OP_ATOMIC32_OR: case SBPF_OP_ATOMIC32_FETCH_OR:
		case SBPF_OP_ATOMIC32_AND: case SBPF_OP_ATOMIC32_FETCH_AND:
		case SBPF_OP_ATOMIC32_XOR: case SBPF_OP_ATOMIC32_FETCH_XOR:
		case SBPF_OP_ATOMIC32_XCHG: case SBPF_OP_ATOMIC32_CMPXCHG:
			size = 4;
		atomic: {
			addr = DST + (uint64_t)(int64_t)in->off;
			what = "atomic";
			void *p = mem_writable(r, addr, size);
			if (!p)
				goto fault;
			do_atomic(reg, in, p, size);
			break;
		}
		/* 64-bit immediates */
		case SBPF_OP_LDDW: DST = K; pc++; break;
		case SBPF_OP_LDDW_MAP_FD: case SBPF_OP_LDDW_MAP_VALUE: case SBPF_OP_LDDW_VAR_ADDR:
		case SBPF_OP_LDDW_CODE_ADDR: case SBPF_OP_LDDW_MAP_IDX: case SBPF_OP_LDDW_MAP_IDX_VALUE:
			vm->count = count;
			return run_fail(err, pc - 1, -EINVAL, "lddw with src=%d (%s) needs a map or BTF"
					" relocation, which user space does not provide",
					in->src, sbpf_op_info(in->op)->symbol);
		/* jumps */
		case SBPF_OP_JA: pc += (size_t)(int64_t)in->off; break;
		case SBPF_OP_JA32: pc += (size_t)(int64_t)in->imm; break;
		case SBPF_OP_JEQ_IMM: JUMP_IF(DST == K); break;
		case SBPF_OP_JEQ_REG: JUMP_IF(DST == SRC); break;
		case SBPF_OP_JGT_IMM: JUMP_IF(DST > K); break;
		case SBPF_OP_JGT_REG: JUMP_IF(DST > SRC); break;
		case SBPF_OP_JGE_IMM: JUMP_IF(DST >= K); break;
		case SBPF_OP_JGE_REG: JUMP_IF(DST >= SRC); break;
		case SBPF_OP_JSET_IMM: JUMP_IF(DST & K); break;
		case SBPF_OP_JSET_REG: JUMP_IF(DST & SRC); break;
		case SBPF_OP_JNE_IMM: JUMP_IF(DST != K); break;
		case SBPF_OP_JNE_REG: JUMP_IF(DST != SRC); break;
		case SBPF_OP_JSGT_IMM: JUMP_IF((int64_t)DST > (int64_t)K); break;
		case SBPF_OP_JSGT_REG: JUMP_IF((int64_t)DST > (int64_t)SRC); break;
		case SBPF_OP_JSGE_IMM: JUMP_IF((int64_t)DST >= (int64_t)K); break;
		case SBPF_OP_JSGE_REG: JUMP_IF((int64_t)DST >= (int64_t)SRC); break;
		case SBPF_OP_JLT_IMM: JUMP_IF(DST < K); break;
		case SBPF_OP_JLT_REG: JUMP_IF(DST < SRC); break;
		case SBPF_OP_JLE_IMM: JUMP_IF(DST <= K); break;
		case SBPF_OP_JLE_REG: JUMP_IF(DST <= SRC); break;
		case SBPF_OP_JSLT_IMM: JUMP_IF((int64_t)DST < (int64_t)K); break;
		case SBPF_OP_JSLT_REG: JUMP_IF((int64_t)DST < (int64_t)SRC); break;
		case SBPF_OP_JSLE_IMM: JUMP_IF((int64_t)DST <= (int64_t)K); break;
		case SBPF_OP_JSLE_REG: JUMP_IF((int64_t)DST <= (int64_t)SRC); break;
		case SBPF_OP_JEQ32_IMM: JUMP_IF(D32 == K32); break;
		case SBPF_OP_JEQ32_REG: JUMP_IF(D32 == S32); break;
		case SBPF_OP_JGT32_IMM: JUMP_IF(D32 > K32); break;
		case SBPF_OP_JGT32_REG: JUMP_IF(D32 > S32); break;
		case SBPF_OP_JGE32_IMM: JUMP_IF(D32 >= K32); break;
		case SBPF_OP_JGE32_REG: JUMP_IF(D32 >= S32); break;
		case SBPF_OP_JSET32_IMM: JUMP_IF(D32 & K32); break;
		case SBPF_OP_JSET32_REG: JUMP_IF(D32 & S32); break;
		case SBPF_OP_JNE32_IMM: JUMP_IF(D32 != K32); break;
		case SBPF_OP_JNE32_REG: JUMP_IF(D32 != S32); break;
		case SBPF_OP_JSGT32_IMM: JUMP_IF((int32_t)D32 > (int32_t)K32); break;
		case SBPF_OP_JSGT32_REG: JUMP_IF((int32_t)D32 > (int32_t)S32); break;
		case SBPF_OP_JSGE32_IMM: JUMP_IF((int32_t)D32 >= (int32_t)K32); break;
		case SBPF_OP_JSGE32_REG: JUMP_IF((int32_t)D32 >= (int32_t)S32); break;
		case SBPF_OP_JLT32_IMM: JUMP_IF(D32 < K32); break;
		case SBPF_OP_JLT32_REG: JUMP_IF(D32 < S32); break;
		case SBPF_OP_JLE32_IMM: JUMP_IF(D32 <= K32); break;
		case SBPF_OP_JLE32_REG: JUMP_IF(D32 <= S32); break;
		case SBPF_OP_JSLT32_IMM: JUMP_IF((int32_t)D32 < (int32_t)K32); break;
		case SBPF_OP_JSLT32_REG: JUMP_IF((int32_t)D32 < (int32_t)S32); break;
		case SBPF_OP_JSLE32_IMM: JUMP_IF((int32_t)D32 <= (int32_t)K32); break;
		case SBPF_OP_JSLE32_REG: JUMP_IF((int32_t)D32 <= (int32_t)S32); break;
		/* calls */
		case SBPF_OP_CALL_HELPER: {
			uint32_t id = (uint32_t)in->imm;
			sbpf_helper_fn fn = id < SBPF_MAX_HELPERS ? vm->helpers[id].fn : NULL;
			if (!fn) {
				vm->count = count;
				return run_fail(err, pc - 1, -EINVAL, "call to unknown helper %" PRId32, in->imm);
			}
			reg[0] = fn(reg[1], reg[2], reg[3], reg[4], reg[5]);
			break;
		}
		case SBPF_OP_CALL_KFUNC:
			vm->count = count;
			return run_fail(err, pc - 1, -EINVAL, "kfunc call (BTF id %" PRId32
					") is not available in user space", in->imm);
		case SBPF_OP_CALL_LOCAL: {
			if (depth >= SBPF_MAX_CALL_DEPTH) {
				vm->count = count;
				return run_fail(err, pc - 1, -EINVAL, "call depth limit exceeded (%d nested"
						" local calls)", SBPF_MAX_CALL_DEPTH);
			}
			struct frame *f = &frames[depth++];
			f->ret_pc = pc;
			memcpy(f->saved, &reg[6], sizeof(f->saved));
			reg[SBPF_REG_FP] -= SBPF_STACK_SIZE;
			r->region[0].start -= SBPF_STACK_SIZE;
			r->region[0].len += SBPF_STACK_SIZE;
			memset((void *)(uintptr_t)r->region[0].start, 0, SBPF_STACK_SIZE); /* fresh frame */
			pc += (size_t)(int64_t)in->imm;
			break;
		}
		case SBPF_OP_EXIT:
			if (!depth) {
				vm->count = count;
				*r0 = reg[0];
				return 0;
			} else {
				struct frame *f = &frames[--depth];
				memcpy(&reg[6], f->saved, sizeof(f->saved));
				r->region[0].start += SBPF_STACK_SIZE;
				r->region[0].len -= SBPF_STACK_SIZE;
				pc = f->ret_pc;
			}
			break;
		default:
			vm->count = count;
			return run_fail(err, pc - 1, -EINVAL, "undecodable instruction (opcode 0x%02x)",
					vm->insns[pc - 1].code);
		}
	}
fault:
	vm->count = count;
	return mem_fault(r, err, pc - 1, what, addr, size, depth);
#undef DST
#undef SRC
#undef D32
#undef S32
#undef K
#undef K32
#undef JUMP_IF
#undef LOAD
#undef STORE
}

/* sbpf_rt_env.check for the interpreter: [addr, addr+len) lies in one
 * region of the run with the access allowed (the stack: the active
 * frames, as for the program's own accesses). */
static int run_check(void *arg, uint64_t addr, uint64_t len, int write)
{
	struct vm_run *r = arg;
	const struct vm_region *g = find_region(r, addr, len);
	if (!g || g->load || !(g->flags & (write ? VM_W : VM_R)))
		return -1;
	return 0;
}

int sbpf_vm__run(struct sbpf_vm *vm, void *mem, size_t len, uint64_t *r0,
		 struct sbpf_run_error *err)
{
	struct sbpf_run_error dummy;
	if (!err)
		err = &dummy;
	vm->count = 0;
	const struct vm_prog_type *t = &vm_prog_types[vm->type];
	if (!t->setup)
		return run_fail(err, 0, -EOPNOTSUPP, "program type %s is not available in the interpreter",
				t->name);
	/* Per-run setup is part of every run's cost (an empty XDP program is
	 * tens of ns): only the registers are cleared (setup() and
	 * vm_run_add_region() fill what they use), and the main frame only
	 * when the program can reach it (an instruction names r10). */
	struct vm_run r;
	memset(r.reg, 0, sizeof(r.reg));
	r.nregion = 0;
	/* The main frame is the top SBPF_STACK_SIZE bytes of the stack area;
	 * each frame is zeroed when it is entered. */
	uint64_t top = (uint64_t)(uintptr_t)(vm->stack + STACK_BYTES);
	if (vm->uses_fp)
		memset(vm->stack + STACK_BYTES - SBPF_STACK_SIZE, 0, SBPF_STACK_SIZE);
	r.reg[SBPF_REG_FP] = top;
	r.region[0] = (struct vm_region){
		.start = top - SBPF_STACK_SIZE, .len = SBPF_STACK_SIZE, .flags = VM_R | VM_W, .name = "stack",
	};
	r.nregion = 1;
	err->pc = 0;
	int rc = t->setup(&r, mem, len, err);
	if (rc)
		return rc;
	struct vm_region ro = {
		.start = (uint64_t)(uintptr_t)vm->rodata, .len = vm->rodata_len, .flags = VM_R, .name = "rodata",
	};
	if (vm->rodata && vm_run_add_region(&r, &ro))
		return run_fail(err, 0, -ENOSPC, "too many memory regions");
	struct sbpf_rt_env env = { .maps = vm->maps, .check = run_check, .check_arg = &r };
	if (vm->maps) {
		for (size_t i = 0; i < sbpf_maps__count(vm->maps); i++) {
			struct sbpf_map *m = sbpf_maps__get(vm->maps, i);
			void *base;
			size_t blen;
			if (sbpf_map__region(m, &base, &blen))
				continue;
			struct vm_region g = { .start = (uint64_t)(uintptr_t)base, .len = blen,
					       .flags = VM_R | VM_W, .name = sbpf_map__name(m) };
			if (vm_run_add_region(&r, &g))
				return run_fail(err, 0, -ENOSPC, "too many memory regions");
		}
		if (vm->type == SBPF_PROG_XDP && mem) {
			env.pkt_start = (uint64_t)(uintptr_t)mem;
			env.pkt_end = env.pkt_start + len;
		}
	}
	struct sbpf_rt_env *prev = sbpf_rt__enter(&env);
	uint64_t result = 0;
	rc = interp(vm, &r, &result, err);
	sbpf_rt__leave(prev);
	if (!rc && r0)
		*r0 = result;
	return rc;
}
