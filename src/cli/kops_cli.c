/* kops_cli.c - Kops for the commands that compile or run programs (run,
 * jit, test-data through the engines): a program with sites is lowered to
 * its proof sequences; with --kops the lowered program must first pass the
 * running kernel's verifier, and only then does the JIT get the sites.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cli_kops_has_sites(const struct sbpf_insn *insns, size_t n)
{
	for (size_t pc = 0; pc + 1 < n; pc++)
		if (sbpf_kops_is_site(insns, n, pc))
			return 1;
	return 0;
}

int cli_kops_prepare(const struct sbpf_insn *insns, size_t n, int mode, const void *rodata, size_t rodata_len,
		     struct sbpf_kops_lowered *l, char *why, size_t whysz)
{
	memset(l, 0, sizeof(*l));
	if (!cli_kops_has_sites(insns, n))
		return 0;
	struct sbpf_validate_error err = { 0 };
	int rc = sbpf_kops_lower(insns, n, l, &err);
	if (rc) {
		if (rc == -EINVAL)
			snprintf(why, whysz, "invalid program: instruction %zu: %s", err.index, err.rule);
		else
			snprintf(why, whysz, "cannot lower the Kops sites: %s", strerror(-rc));
		return rc;
	}
	if (mode == CLI_KOPS_ON) {
		char reason[400];
		struct sbpf_kops_verify_opts vo = { .sz = sizeof(vo), .rodata = rodata, .rodata_len = rodata_len };
		rc = sbpf_kops_verify_kernel_opts(l, &vo, reason, sizeof(reason));
		if (rc) {
			snprintf(why, whysz, "native operations refused: %s", reason);
			sbpf_kops_lowered__free(l);
			return rc;
		}
	}
	return 1;
}

void cli_kops_describe(const struct sbpf_kops_payload *p, char *buf, size_t bufsz)
{
	const struct sbpf_kops_info *info = sbpf_kops_info(p->op);
	snprintf(buf, bufsz, "%s dst=r%d a=r%d b=r%d c=r%d imm=%d variant=0x%x", info ? info->name : "?",
		 p->dst, p->a, p->b, p->c, p->imm, p->variant);
}
