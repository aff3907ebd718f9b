/* safebpf/kernel.h - the thin layer over libbpf through which safebpf talks
 * to the running kernel: privileges and tracefs, program loading with the
 * verifier's log, BPF_PROG_TEST_RUN, maps, ring buffers and attachment.
 */
#ifndef SAFEBPF_KERNEL_H
#define SAFEBPF_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include "safebpf/isa.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- environment ------------------------------------------------------ */

/* Checks that this process may load BPF programs and read tracepoints.
 * Returns 0, or -EPERM with the missing capability named in @why. */
int sbpf_kernel_check_privileges(char *why, size_t whysz);

/* Path of a mounted tracefs, mounting it at /sys/kernel/tracing when it is
 * missing and we are allowed to. Returns a static string, or NULL with errno. */
const char *sbpf_kernel_tracefs(void);

/* ---- loading ---------------------------------------------------------- */

enum sbpf_kprog_type {
	SBPF_KPROG_XDP,            /* BPF_PROG_TYPE_XDP (test-run baseline, Kops checks) */
	SBPF_KPROG_TRACEPOINT,     /* BPF_PROG_TYPE_TRACEPOINT */
	SBPF_KPROG_RAW_TRACEPOINT, /* BPF_PROG_TYPE_RAW_TRACEPOINT */
	SBPF_KPROG_SOCKET_FILTER,  /* BPF_PROG_TYPE_SOCKET_FILTER */
};

struct sbpf_kload_opts {
	size_t sz;                 /* sizeof(struct sbpf_kload_opts) */
	enum sbpf_kprog_type type; /* program type */
	const char *name;          /* program name shown by bpftool (<= 15 chars kept) */
	char *log_buf;             /* receives the verifier log on failure, or NULL */
	size_t log_size;           /* size of log_buf */
	int log_always;            /* also fill log_buf when the load succeeds */
};

/* Loads @insns into the kernel (the real verifier judges it). Returns the
 * program fd, or a negative errno; on rejection the verifier's log is in
 * opts->log_buf. */
int sbpf_kernel_load(const struct sbpf_insn *insns, size_t n, const struct sbpf_kload_opts *opts);

/* The last line of a verifier log that says why it refused (the reason a
 * person needs), copied into @buf. */
void sbpf_kernel_log_reason(const char *log, char *buf, size_t bufsz);

#ifdef __cplusplus
}
#endif
#endif /* SAFEBPF_KERNEL_H */
