/* engine_jit.c - the "jit" and "jit-unchecked" engines: the native-code JIT
 * (include/safebpf/jit.h) behind the CLI engine interface, with the
 * interpreter's default helpers. "jit" is bounds-checked and safe on any
 * valid program; "jit-unchecked" elides every check and is only for
 * programs the kernel verifier accepted: it loads only a program of type xdp
 * that the running kernel's verifier accepts (or whose Kops lowering it
 * accepted under --kops), unless --unsafe-unverified (tests only) says
 * otherwise. --budget is the JIT's loop budget
 * (loop-header entries per run); --kops compiles Kops sites to their native
 * emits (docs/kops.md).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "engine.h"
#include "safebpf/jit.h"

/* For --verbose: which sites became native code, and the mode. */
static void report_native(const struct sbpf_jit *jit, const struct sbpf_kops_lowered *l, int unchecked)
{
	size_t native = 0;
	for (size_t k = 0; k < l->nsites; k++) {
		size_t from, to;
		char d[128];
		int r = sbpf_jit__kops_site(jit, k, &from, &to);
		cli_kops_describe(&l->sites[k].p, d, sizeof(d));
		native += r == 1;
		fprintf(stderr, "safebpf: kops: site %s at lowered slot %zu: %s\n", d, l->sites[k].lowered_start,
			r == 1 ? "native" : "proof sequence (no native emit in this mode)");
	}
	fprintf(stderr, "safebpf: kops: %zu site%s, %zu native, %s JIT\n", l->nsites, l->nsites == 1 ? "" : "s",
		native, unchecked ? "unchecked" : "checked");
}

/* Loads and compiles @insns; @unchecked selects the mode. A program with
 * Kops sites is lowered (unless the command did it: o->lowered); with
 * --kops its sites become native operations once the kernel verifier has
 * accepted the lowered program (cli_kops_prepare_opts; a program without
 * sites goes through the recognizer first), else they run their proof
 * sequences. A verifier-accepted xdp program runs unchecked unless
 * --checked (or unless it calls what unchecked code cannot). */
static void *jit_load(const struct sbpf_insn *insns, size_t n, const struct cli_engine_opts *o,
		      int unchecked, char *why, size_t whysz)
{
	struct sbpf_kops_lowered own = { 0 };
	const struct sbpf_kops_lowered *l = o->lowered;
	int verified = o->kops_verified;
	if (!l) {
		struct cli_kops_prep p = { .mode = o->kops, .rodata = o->rodata, .rodata_len = o->rodata_len,
					   .recognize = 1 };
		int has = cli_kops_prepare_opts(insns, n, &p, &own, why, whysz);
		if (has < 0)
			return NULL;
		l = has ? &own : NULL;
		verified = p.verified;
	}
	if (l) {
		insns = l->insns;
		n = l->n;
	}
	if (unchecked && !o->unverified && !(l && o->kops == CLI_KOPS_ON && verified)) {
		/* unchecked code trusts the kernel verifier: ask it */
		if (o->type != SBPF_PROG_XDP) {
			snprintf(why, whysz, "jit-unchecked runs only programs the kernel verifier accepted, "
				 "and only type xdp can be verified (--type xdp; --unsafe-unverified skips "
				 "the check, tests only)");
			sbpf_kops_lowered__free(&own);
			return NULL;
		}
		struct sbpf_kops_lowered plain = { .insns = (struct sbpf_insn *)insns, .n = n };
		struct sbpf_kops_verify_opts vo = { .sz = sizeof(vo), .rodata = o->rodata,
						    .rodata_len = o->rodata_len, .name = "safebpf_unchk" };
		char reason[400];
		int vrc = sbpf_kops_verify_kernel_opts(&plain, &vo, reason, sizeof(reason));
		if (vrc) {
			const char *lowered = "kernel verifier rejected the lowered program: ";
			const char *r = reason;
			if (!strncmp(r, lowered, strlen(lowered)))
				r += strlen(lowered);
			snprintf(why, whysz, "jit-unchecked refused: the kernel verifier did not accept the "
				 "program: %s (--unsafe-unverified skips the check, tests only)", r);
			sbpf_kops_lowered__free(&own);
			return NULL;
		}
	}
	/* The kernel verifier accepted this very program as XDP: what the JIT's
	 * checks guard against cannot happen, so it runs unchecked. */
	int fallback = 0;
	if (!unchecked && o->kops == CLI_KOPS_ON && verified && !o->checked && o->type == SBPF_PROG_XDP)
		unchecked = fallback = 1;
	struct sbpf_jit *jit = NULL;
	for (;;) {
		struct sbpf_jit_opts jo = {
			.sz = sizeof(jo), .type = o->type, .unchecked = unchecked, .loop_budget = o->budget,
			.rodata = o->rodata, .rodata_len = o->rodata_len,
			.kops = l && o->kops ? l : NULL, .maps = o->maps,
		};
		struct sbpf_validate_error verr = { 0 };
		jit = sbpf_jit__new(insns, n, &jo, &verr);
		if (!jit) {
			if (errno == EINVAL)
				snprintf(why, whysz, "invalid program: instruction %zu: %s", verr.index, verr.rule);
			else
				snprintf(why, whysz, "cannot load program: %s", strerror(errno));
			sbpf_kops_lowered__free(&own);
			return NULL;
		}
		/* The interpreter's helper table: same ids, same functions. */
		struct sbpf_vm_opts vo = { .sz = sizeof(vo), .type = o->type, .maps = o->maps };
		struct sbpf_validate_error vmerr = { 0 };
		struct sbpf_vm *vm = sbpf_vm__new(insns, n, &vo, &vmerr);
		int rc = vm ? sbpf_jit__helpers_from_vm(jit, vm) : -errno;
		sbpf_vm__free(vm);
		if (!vm && o->maps && rc == -EINVAL) {
			/* the runtime refused it (a kernel-only helper): say which */
			snprintf(why, whysz, "invalid program: instruction %zu: %s", vmerr.index, vmerr.rule);
			sbpf_jit__free(jit);
			jit = NULL;
			break;
		}
		if (!rc)
			rc = sbpf_jit__compile(jit);
		if (!rc)
			break;
		sbpf_jit__free(jit);
		jit = NULL;
		if (fallback && (rc == -ENOENT || rc == -EOPNOTSUPP)) {
			/* unchecked code cannot call what it does not know: keep the checks */
			if (o->verbose)
				fprintf(stderr, "safebpf: kops: the program needs the checked JIT (%s)\n",
					strerror(-rc));
			unchecked = fallback = 0;
			continue;
		}
		snprintf(why, whysz, "cannot compile program: %s%s", strerror(-rc),
			 unchecked && (rc == -ENOENT || rc == -EOPNOTSUPP)
			 ? " (unchecked code cannot call unknown helpers, kfuncs or use pseudo lddw)" : "");
		break;
	}
	if (jit && o->verbose && o->kops && l)
		report_native(jit, l, unchecked);
	sbpf_kops_lowered__free(&own); /* the JIT has its own copies */
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
