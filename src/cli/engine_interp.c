/* engine_interp.c - the "interp" engine: the reference interpreter
 * (include/safebpf/vm.h) behind the CLI engine interface. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "engine.h"

/* A program with Kops sites runs its proof sequences (lowered here unless
 * the command lowered it already); --kops is for the JIT engines. */
void *engine_interp_load(const struct sbpf_insn *insns, size_t n, const struct cli_engine_opts *o,
			 char *why, size_t whysz)
{
	if (o->kops) {
		snprintf(why, whysz, "--kops needs a JIT engine (--engine jit or jit-unchecked): "
			 "the interpreter runs proof sequences");
		return NULL;
	}
	struct sbpf_kops_lowered l = { 0 };
	if (!o->lowered && cli_kops_prepare(insns, n, CLI_KOPS_OFF, o->rodata, o->rodata_len, &l, why, whysz) < 0)
		return NULL;
	if (l.insns) {
		insns = l.insns;
		n = l.n;
	}
	struct sbpf_vm_opts vo = { .sz = sizeof(vo), .type = o->type, .insn_budget = o->budget,
				     .rodata = o->rodata, .rodata_len = o->rodata_len,
				     .maps = o->maps };
	struct sbpf_validate_error verr = { 0 };
	struct sbpf_vm *vm = sbpf_vm__new(insns, n, &vo, &verr);
	sbpf_kops_lowered__free(&l);
	if (!vm) {
		if (errno == EINVAL)
			snprintf(why, whysz, "invalid program: instruction %zu: %s", verr.index, verr.rule);
		else if (errno == EOPNOTSUPP)
			snprintf(why, whysz, "program type %s is not available in the interpreter",
				 sbpf_prog_type__name(o->type));
		else
			snprintf(why, whysz, "cannot load program: %s", strerror(errno));
	}
	return vm;
}

int engine_interp_run(void *h, void *mem, size_t len, uint64_t *r0, struct sbpf_run_error *err)
{
	return sbpf_vm__run(h, mem, len, r0, err);
}

void engine_interp_unload(void *h)
{
	sbpf_vm__free(h);
}
