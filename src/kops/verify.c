/* verify.c - the kernel check before native operations are trusted: the
 * lowered program (every site replaced by its proof sequence) is loaded
 * into the running kernel as an XDP program, so that the real verifier
 * judges each proof sequence in its context. Only a program the verifier
 * accepts may be JIT-compiled with native emits (docs/kops.md).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kops/kopsInt.h"
#include "safebpf/kernel.h"

#define VERIFY_LOG_SIZE (1u << 20)

int sbpf_kops_verify_kernel(const struct sbpf_kops_lowered *l, char *why, size_t whysz)
{
	char perm[128];
	if (!l || !l->insns || !l->n) {
		snprintf(why, whysz, "no lowered program to verify");
		return -EINVAL;
	}
	if (sbpf_kernel_check_privileges(perm, sizeof(perm))) {
		snprintf(why, whysz, "cannot ask the kernel verifier: %s", perm);
		return -EPERM;
	}
	char *log = malloc(VERIFY_LOG_SIZE);
	if (!log) {
		snprintf(why, whysz, "out of memory");
		return -ENOMEM;
	}
	log[0] = '\0';
	struct sbpf_kload_opts o = {
		.sz = sizeof(o), .type = SBPF_KPROG_XDP, .name = "safebpf_kops",
		.log_buf = log, .log_size = VERIFY_LOG_SIZE,
	};
	int fd = sbpf_kernel_load(l->insns, l->n, &o);
	if (fd >= 0) {
		close(fd);
		free(log);
		return 0;
	}
	if (fd == -EPERM || (fd == -EACCES && !log[0])) {
		snprintf(why, whysz, "the kernel refused to load the program (%s): missing privileges?",
			 strerror(-fd));
	} else {
		char reason[256];
		sbpf_kernel_log_reason(log, reason, sizeof(reason));
		snprintf(why, whysz, "kernel verifier rejected the lowered program: %s", reason);
	}
	free(log);
	return fd;
}
