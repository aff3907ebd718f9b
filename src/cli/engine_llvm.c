/* engine_llvm.c - the "llvm" engine: the whole program compiled by LLVM
 * (include/safebpf/llvm.h) with the interpreter's default helpers. Its code
 * has no run-time checks, so a program must first pass the running
 * kernel's verifier, loaded as XDP with its read-only data (as the kernel
 * engine and --kops do); the kernel judges XDP programs only, so the
 * engine wants --type xdp. --unsafe-unverified compiles without asking:
 * for tests whose programs are safe by construction but that the kernel
 * cannot judge (mem programs, conformance tests). SAFEBPF_LLVM_CACHE names
 * a directory for compiled objects (docs/llvm.md).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "engine.h"
#include "safebpf/kernel.h"
#include "safebpf/llvm.h"

#define LOG_SIZE (1u << 22)

int cli_llvm_verify(const struct sbpf_insn *insns, size_t n, const struct cli_engine_opts *o, char *why,
		    size_t whysz)
{
	if (o->type != SBPF_PROG_XDP) {
		snprintf(why, whysz, "the llvm engine compiles only programs the kernel verifier accepted, "
			 "and the kernel judges xdp programs: use --type xdp, not --type %s "
			 "(--unsafe-unverified skips the verifier, for tests only)", sbpf_prog_type__name(o->type));
		return -EINVAL;
	}
	char perm[128];
	if (sbpf_kernel_check_privileges(perm, sizeof(perm))) {
		snprintf(why, whysz, "the llvm engine needs the kernel verifier: %s", perm);
		return -EPERM;
	}
	char *log = malloc(LOG_SIZE);
	if (!log) {
		snprintf(why, whysz, "out of memory");
		return -ENOMEM;
	}
	log[0] = '\0';
	struct sbpf_kload_opts lo = {
		.sz = sizeof(lo), .type = SBPF_KPROG_XDP, .name = "safebpf_llvm",
		.log_buf = log, .log_size = LOG_SIZE, .log_always = o->verbose,
		.rodata = o->rodata, .rodata_len = o->rodata_len,
	};
	int fd = sbpf_kernel_load(insns, n, &lo);
	if (o->verbose && log[0])
		fprintf(stderr, "--- verifier log\n%s--- end of verifier log\n", log);
	if (fd < 0) {
		char reason[256];
		sbpf_kernel_log_reason(log, reason, sizeof(reason));
		snprintf(why, whysz, "the kernel verifier refused the program (%s): %s", strerror(-fd), reason);
		free(log);
		return fd;
	}
	close(fd);
	free(log);
	return 0;
}

void *engine_llvm_load(const struct sbpf_insn *insns, size_t n, const struct cli_engine_opts *o,
		       char *why, size_t whysz)
{
	if (o->maps && sbpf_maps_referenced(insns, n)) {
		snprintf(why, whysz, "the llvm engine has no maps yet (safebpf/maps.h): use interp, jit or "
			 "jit-unchecked for programs that use maps or global data");
		return NULL;
	}
	if (!o->unverified && cli_llvm_verify(insns, n, o, why, whysz))
		return NULL;
	struct sbpf_llvm_opts lo = {
		.sz = sizeof(lo), .type = o->type, .rodata = o->rodata, .rodata_len = o->rodata_len,
		.cache_dir = getenv("SAFEBPF_LLVM_CACHE"),
	};
	struct sbpf_validate_error verr = { 0 };
	struct sbpf_llvm *l = sbpf_llvm__new(insns, n, &lo, &verr);
	if (!l) {
		if (errno == EINVAL)
			snprintf(why, whysz, "invalid program: instruction %zu: %s", verr.index, verr.rule);
		else
			snprintf(why, whysz, "cannot load program: %s", strerror(errno));
		return NULL;
	}
	struct sbpf_vm_opts vo = { .sz = sizeof(vo), .type = o->type };
	struct sbpf_vm *vm = sbpf_vm__new(insns, n, &vo, NULL);
	int rc = vm ? sbpf_llvm__helpers_from_vm(l, vm) : -errno;
	sbpf_vm__free(vm);
	if (!rc)
		rc = sbpf_llvm__compile(l);
	if (rc) {
		snprintf(why, whysz, "cannot compile program: %s%s%s", strerror(-rc),
			 sbpf_llvm__error(l)[0] ? ": " : "", sbpf_llvm__error(l));
		sbpf_llvm__free(l);
		return NULL;
	}
	return l;
}

int engine_llvm_run(void *h, void *mem, size_t len, uint64_t *r0, struct sbpf_run_error *err)
{
	return sbpf_llvm__run(h, mem, len, r0, err);
}

void engine_llvm_unload(void *h)
{
	sbpf_llvm__free(h);
}
