/* engine_kernel.c - the "kernel" engine: the running kernel's verifier and
 * JIT as the baseline. A program is loaded as XDP (sbpf_kernel_load, the
 * real verifier) and run with BPF_PROG_TEST_RUN on a copy of the packet
 * (src/kernel/testrun.c); the packet the kernel hands back is copied over
 * the caller's buffer so the engine works in place like the others.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "safebpf/kernel.h"

#define LOG_SIZE (1u << 22)

/* A loaded program. */
struct kernel_handle {
	int fd;        /* program fd (closed by unload: nothing stays loaded) */
	struct sbpf_maps *maps;          /* the user-space maps mirrored, or NULL */
	int map_fds[SBPF_MAX_MAPS];      /* their kernel copies */
};

void *engine_kernel_load(const struct sbpf_insn *insns, size_t n, const struct cli_engine_opts *o,
			 char *why, size_t whysz)
{
	if (o->type != SBPF_PROG_XDP) {
		snprintf(why, whysz, "the kernel engine runs XDP programs only (BPF_PROG_TEST_RUN on a "
			 "packet): use --type xdp, not --type %s", sbpf_prog_type__name(o->type));
		return NULL;
	}
	char perm[128];
	if (sbpf_kernel_check_privileges(perm, sizeof(perm))) {
		snprintf(why, whysz, "cannot use the kernel: %s", perm);
		return NULL;
	}
	struct kernel_handle *h = calloc(1, sizeof(*h));
	char *log = malloc(LOG_SIZE);
	if (!h || !log) {
		free(h);
		free(log);
		snprintf(why, whysz, "out of memory");
		return NULL;
	}
	log[0] = '\0';
	if (o->maps) {
		/* fresh kernel maps holding what the user-space maps hold now */
		char mwhy[256];
		int mrc = sbpf_kernel_maps_create(o->maps, h->map_fds, mwhy, sizeof(mwhy));
		if (mrc) {
			snprintf(why, whysz, "%s", mwhy);
			free(h);
			free(log);
			return NULL;
		}
		h->maps = o->maps;
	}
	struct sbpf_kload_opts lo = {
		.sz = sizeof(lo), .type = SBPF_KPROG_XDP, .name = "safebpf_run",
		.log_buf = log, .log_size = LOG_SIZE, .log_always = o->verbose,
		.rodata = o->rodata, .rodata_len = o->rodata_len,
		.map_fds = h->maps ? h->map_fds : NULL, .nmap_fds = h->maps ? sbpf_maps__count(h->maps) : 0,
	};
	h->fd = sbpf_kernel_load(insns, n, &lo);
	if (o->verbose && log[0])
		fprintf(stderr, "--- verifier log\n%s--- end of verifier log\n", log);
	if (h->fd < 0) {
		char reason[256];
		sbpf_kernel_log_reason(log, reason, sizeof(reason));
		snprintf(why, whysz, "the kernel verifier refused the program (%s): %s%s",
			 strerror(-h->fd), reason, o->verbose ? "" : " (--verbose prints the whole log)");
		if (h->maps)
			sbpf_kernel_maps_close(h->maps, h->map_fds);
		free(h);
		h = NULL;
	}
	free(log);
	return h;
}

int engine_kernel_run_timed(void *hp, void *mem, size_t len, uint64_t repeat, uint64_t *r0,
			    double *ns_per_run, struct sbpf_run_error *err)
{
	struct kernel_handle *h = hp;
	uint8_t *in = malloc(len ? len : 1);
	if (!in) {
		snprintf(err->reason, sizeof(err->reason), "out of memory");
		return -ENOMEM;
	}
	if (len)
		memcpy(in, mem, len);
	struct sbpf_ktest_opts to = {
		.sz = sizeof(to), .data_in = in, .data_len = len, .data_out = mem, .data_out_size = len,
		.repeat = (uint32_t)(repeat > UINT32_MAX ? UINT32_MAX : repeat),
	};
	struct sbpf_ktest_result res = { 0 };
	/* Per-CPU maps: run on CPU 0, the CPU user-space runs count as. */
	cpu_set_t old, one;
	int pinned = h->maps && !sched_getaffinity(0, sizeof(old), &old);
	if (pinned) {
		CPU_ZERO(&one);
		CPU_SET(0, &one);
		pinned = !sched_setaffinity(0, sizeof(one), &one);
	}
	int rc = sbpf_kernel_test_run(h->fd, &to, &res);
	if (pinned)
		sched_setaffinity(0, sizeof(old), &old);
	free(in);
	if (!rc && h->maps) {
		char mwhy[sizeof(err->reason)];
		int mrc = sbpf_kernel_maps_read(h->maps, h->map_fds, mwhy, sizeof(mwhy));
		if (mrc) {
			err->pc = 0;
			snprintf(err->reason, sizeof(err->reason), "%s", mwhy);
			return mrc;
		}
	}
	err->pc = 0;
	if (rc == -EINVAL && len < 14) {
		snprintf(err->reason, sizeof(err->reason), "BPF_PROG_TEST_RUN needs a packet of at least "
			 "14 bytes (an Ethernet header); this one has %zu", len);
		return rc;
	}
	if (rc) {
		snprintf(err->reason, sizeof(err->reason), "BPF_PROG_TEST_RUN failed: %s", strerror(-rc));
		return rc;
	}
	*r0 = res.retval;
	if (ns_per_run)
		*ns_per_run = res.duration_ns;
	return 0;
}

int engine_kernel_run(void *h, void *mem, size_t len, uint64_t *r0, struct sbpf_run_error *err)
{
	return engine_kernel_run_timed(h, mem, len, 1, r0, NULL, err);
}

void engine_kernel_unload(void *hp)
{
	struct kernel_handle *h = hp;
	if (!h)
		return;
	close(h->fd);
	if (h->maps)
		sbpf_kernel_maps_close(h->maps, h->map_fds);
	free(h);
}
