/* ctx.c - program types: what r1..r5 hold on entry and which memory a
 * program may touch besides its stack. One setup function per type, listed
 * in vm_prog_types[] (indexed by enum sbpf_prog_type).
 *
 *   mem  r1 = the caller's buffer (read and written in place), r2 = its
 *        length; the buffer is one read-write region named "mem".
 *   xdp  r1 = a struct sbpf_xdp_ctx (safebpf/ctx.h) in the run state, a
 *        read-only region named "ctx"; data/data_end point at the caller's
 *        buffer, the read-write region "packet". The program's xdp_md loads
 *        were rewritten into loads of that struct at load time
 *        (sbpf_ctx_rewrite, ctxconv.c), as the kernel does.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "safebpf/ctx.h"
#include "vm/vmInt.h"

int vm_run_add_region(struct vm_run *run, const struct vm_region *reg)
{
	if (run->nregion >= VM_MAX_REGIONS)
		return -ENOSPC;
	run->region[run->nregion++] = *reg;
	return 0;
}

/* mem: r1 = buffer, r2 = length; a NULL buffer gives r1 = 0 and no region. */
static int setup_mem(struct vm_run *run, void *mem, size_t len, struct sbpf_run_error *err)
{
	run->reg[1] = (uint64_t)(uintptr_t)mem;
	run->reg[2] = mem ? (uint64_t)len : 0;
	if (!mem || !len)
		return 0;
	struct vm_region r = {
		.start = (uint64_t)(uintptr_t)mem, .len = len, .flags = VM_R | VM_W, .name = "mem",
	};
	if (vm_run_add_region(run, &r)) {
		snprintf(err->reason, sizeof(err->reason), "too many memory regions");
		return -ENOSPC;
	}
	return 0;
}

/* xdp: r1 = the context (in run->ctx), regions "ctx" (read-only) and
 * "packet" (the caller's buffer). */
static int setup_xdp(struct vm_run *run, void *mem, size_t len, struct sbpf_run_error *err)
{
	_Static_assert(sizeof(struct sbpf_xdp_ctx) <= sizeof(run->ctx), "vm_run.ctx too small");
	struct sbpf_xdp_ctx *ctx = (struct sbpf_xdp_ctx *)run->ctx;
	sbpf_xdp_ctx__init(ctx, mem, mem ? len : 0);
	run->reg[1] = (uint64_t)(uintptr_t)ctx;
	struct vm_region c = {
		.start = (uint64_t)(uintptr_t)ctx, .len = sizeof(*ctx), .flags = VM_R, .name = "ctx",
	};
	struct vm_region p = {
		.start = (uint64_t)(uintptr_t)mem, .len = len, .flags = VM_R | VM_W, .name = "packet",
	};
	if (vm_run_add_region(run, &c) || (mem && len && vm_run_add_region(run, &p))) {
		snprintf(err->reason, sizeof(err->reason), "too many memory regions");
		return -ENOSPC;
	}
	return 0;
}

const struct vm_prog_type vm_prog_types[SBPF_PROG__COUNT] = {
	[SBPF_PROG_MEM] = { "mem", setup_mem },
	[SBPF_PROG_XDP] = { "xdp", setup_xdp },
};

const char *sbpf_prog_type__name(enum sbpf_prog_type type)
{
	if ((int)type < 0 || type >= SBPF_PROG__COUNT)
		return NULL;
	return vm_prog_types[type].name;
}

int sbpf_prog_type__from_name(const char *name, enum sbpf_prog_type *type)
{
	for (int t = 0; t < SBPF_PROG__COUNT; t++)
		if (vm_prog_types[t].name && !strcmp(vm_prog_types[t].name, name)) {
			*type = (enum sbpf_prog_type)t;
			return 0;
		}
	return -ENOENT;
}
