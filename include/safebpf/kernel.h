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


/* ---- BPF_PROG_TEST_RUN: the kernel-JIT baseline (src/kernel/testrun.c) - */

/* Input and output of one BPF_PROG_TEST_RUN of an XDP program. */
struct sbpf_ktest_opts {
	size_t sz;                 /* sizeof(struct sbpf_ktest_opts) */
	const void *data_in;       /* packet bytes (at least 14: an Ethernet header) */
	size_t data_len;           /* length of data_in */
	void *data_out;            /* receives the packet after the run, or NULL */
	size_t data_out_size;      /* capacity of data_out */
	uint32_t repeat;           /* runs on the same packet (0 means 1) */
};

/* What the kernel reported. */
struct sbpf_ktest_result {
	uint32_t retval;           /* the program's return value (the kernel keeps 32 bits) */
	uint32_t duration_ns;      /* kernel's average time per run, in ns */
	size_t data_out_len;       /* bytes written to data_out */
};

/* Runs the loaded XDP program @prog_fd once per repetition on a copy of the
 * packet with BPF_PROG_TEST_RUN. Returns 0 with @res filled, or a negative
 * errno (-EINVAL for a packet the kernel refuses, e.g. shorter than 14
 * bytes; -ENOSPC when data_out is too small). */
int sbpf_kernel_test_run(int prog_fd, const struct sbpf_ktest_opts *opts,
			 struct sbpf_ktest_result *res);

/* Loads @insns as an XDP program (the real verifier judges it; with @lopts
 * its log lands in lopts->log_buf as for sbpf_kernel_load, which also
 * names the program), runs it as sbpf_kernel_test_run does and closes it:
 * nothing stays loaded. @lopts may be NULL; its type is ignored (XDP).
 * Returns 0, or the negative errno of the load (-EACCES/-EINVAL: the
 * verifier refused) or of the run. */
int sbpf_kernel_run_xdp(const struct sbpf_insn *insns, size_t n,
			const struct sbpf_kload_opts *lopts,
			const struct sbpf_ktest_opts *opts, struct sbpf_ktest_result *res);

#ifdef __cplusplus
}
#endif
#endif /* SAFEBPF_KERNEL_H */
