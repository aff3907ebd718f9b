/* testrun.c - the kernel-JIT baseline: run an XDP program on given packet
 * bytes with BPF_PROG_TEST_RUN (libbpf bpf_prog_test_run_opts) and report
 * its return value, the packet afterwards and the kernel's own timing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "safebpf/kernel.h"

int sbpf_kernel_test_run(int prog_fd, const struct sbpf_ktest_opts *opts,
			 struct sbpf_ktest_result *res)
{
	LIBBPF_OPTS(bpf_test_run_opts, to);
	if (!opts || !res || !opts->data_in || opts->data_len > UINT32_MAX)
		return -EINVAL;
	/* The kernel writes the whole packet back: give it room for it even
	 * when the caller does not want the bytes. */
	void *scratch = NULL;
	void *out = opts->data_out;
	size_t out_size = opts->data_out_size;
	if (!out) {
		out_size = opts->data_len;
		scratch = malloc(out_size ? out_size : 1);
		if (!scratch)
			return -ENOMEM;
		out = scratch;
	}
	to.data_in = opts->data_in;
	to.data_size_in = (uint32_t)opts->data_len;
	to.data_out = out;
	to.data_size_out = (uint32_t)(out_size > UINT32_MAX ? UINT32_MAX : out_size);
	to.repeat = (int)(opts->repeat ? (opts->repeat > INT32_MAX ? INT32_MAX : opts->repeat) : 1);
	int rc = bpf_prog_test_run_opts(prog_fd, &to);
	if (rc)
		rc = errno ? -errno : -EINVAL;
	free(scratch);
	if (rc)
		return rc;
	res->retval = to.retval;
	res->duration_ns = to.duration;
	res->data_out_len = opts->data_out ? to.data_size_out : 0;
	return 0;
}

int sbpf_kernel_run_xdp(const struct sbpf_insn *insns, size_t n,
			const struct sbpf_kload_opts *lopts,
			const struct sbpf_ktest_opts *opts, struct sbpf_ktest_result *res)
{
	struct sbpf_kload_opts lo = { .sz = sizeof(lo) };
	if (lopts)
		lo = *lopts;
	lo.type = SBPF_KPROG_XDP;
	int fd = sbpf_kernel_load(insns, n, &lo);
	if (fd < 0)
		return fd;
	int rc = sbpf_kernel_test_run(fd, opts, res);
	close(fd);
	return rc;
}
