/* engine_jit.c - the "jit" and "jit-unchecked" engines: the native-code JIT
 * (include/safebpf/jit.h) behind the CLI engine interface, with the
 * interpreter's default helpers. "jit" is bounds-checked and safe on any
 * valid program; "jit-unchecked" elides every check and is only for
 * programs the kernel verifier accepted. --budget is the JIT's loop budget
 * (loop-header entries per run).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "engine.h"
#include "safebpf/jit.h"

/* Loads and compiles @insns; @unchecked selects the mode. */
static void *jit_load(const struct sbpf_insn *insns, size_t n, const struct cli_engine_opts *o,
		      int unchecked, char *why, size_t whysz)
{
	struct sbpf_jit_opts jo = {
		.sz = sizeof(jo), .type = o->type, .unchecked = unchecked, .loop_budget = o->budget,
		.rodata = o->rodata, .rodata_len = o->rodata_len,
	};
	struct sbpf_validate_error verr = { 0 };
	struct sbpf_jit *jit = sbpf_jit__new(insns, n, &jo, &verr);
	if (!jit) {
		if (errno == EINVAL)
			snprintf(why, whysz, "invalid program: instruction %zu: %s", verr.index, verr.rule);
		else
			snprintf(why, whysz, "cannot load program: %s", strerror(errno));
		return NULL;
	}
	/* The interpreter's helper table: same ids, same functions. */
	struct sbpf_vm_opts vo = { .sz = sizeof(vo), .type = o->type };
	struct sbpf_vm *vm = sbpf_vm__new(insns, n, &vo, NULL);
	int rc = vm ? sbpf_jit__helpers_from_vm(jit, vm) : -errno;
	sbpf_vm__free(vm);
	if (!rc)
		rc = sbpf_jit__compile(jit);
	if (rc) {
		snprintf(why, whysz, "cannot compile program: %s%s", strerror(-rc),
			 unchecked && (rc == -ENOENT || rc == -EOPNOTSUPP)
			 ? " (unchecked code cannot call unknown helpers, kfuncs or use pseudo lddw)" : "");
		sbpf_jit__free(jit);
		return NULL;
	}
	return jit;
}

void *engine_jit_load(const struct sbpf_insn *insns, size_t n, const struct cli_engine_opts *o,
		      char *why, size_t whysz)
{
	return jit_load(insns, n, o, 0, why, whysz);
}

void *engine_jit_unchecked_load(const struct sbpf_insn *insns, size_t n,
				const struct cli_engine_opts *o, char *why, size_t whysz)
{
	return jit_load(insns, n, o, 1, why, whysz);
}

int engine_jit_run(void *h, void *mem, size_t len, uint64_t *r0, struct sbpf_run_error *err)
{
	return sbpf_jit__run(h, mem, len, r0, err);
}

int engine_jit_unchecked_run(void *h, void *mem, size_t len, uint64_t *r0, struct sbpf_run_error *err)
{
	return sbpf_jit__run(h, mem, len, r0, err);
}

void engine_jit_unload(void *h)
{
	sbpf_jit__free(h);
}

void engine_jit_unchecked_unload(void *h)
{
	sbpf_jit__free(h);
}
