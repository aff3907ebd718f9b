/* attach.c - attaching programs to tracepoints through libbpf and
 * perf_event_open, and finding out what is still loaded. Everything is
 * held by file descriptors: closing them detaches, nothing is pinned.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/perf_event.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "safebpf/kernel.h"

struct sbpf_klink {
	int link_fd;       /* bpf_link fd (BPF_PERF_EVENT or raw tracepoint) */
	int perf_fd;       /* perf event of the tracepoint, -1 for raw tracepoints */
	uint32_t id;       /* kernel link id, 0 when unknown */
};

int sbpf_kernel_tracepoint_id(const char *tp)
{
	const char *root = sbpf_kernel_tracefs();
	if (!root)
		return -(errno ? errno : ENOENT);
	const char *slash = strchr(tp, '/');
	if (!slash || strstr(tp, "..") || strchr(slash + 1, '/'))
		return -EINVAL;
	char path[512];
	snprintf(path, sizeof(path), "%s/events/%s/id", root, tp);
	FILE *f = fopen(path, "r");
	if (!f)
		return -errno;
	long id = -1;
	int ok = fscanf(f, "%ld", &id) == 1 && id >= 0 && id <= INT32_MAX;
	fclose(f);
	return ok ? (int)id : -EINVAL;
}

static uint32_t link_id(int fd)
{
	struct bpf_link_info info;
	uint32_t len = sizeof(info);
	memset(&info, 0, sizeof(info));
	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

struct sbpf_klink *sbpf_klink__tracepoint(int prog_fd, const char *tp, char *err, size_t errsz)
{
	int id = sbpf_kernel_tracepoint_id(tp);
	if (id < 0) {
		snprintf(err, errsz, "tracepoint %s: %s", tp,
			 id == -ENOENT ? "does not exist on this kernel" : strerror(-id));
		errno = -id;
		return NULL;
	}
	struct perf_event_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.type = PERF_TYPE_TRACEPOINT;
	attr.size = sizeof(attr);
	attr.config = (uint64_t)id;
	attr.sample_period = 1;
	attr.wakeup_events = 1;
	/* One event (any task, CPU 0) is enough: the program runs wherever the
	 * tracepoint fires. */
	int pfd = (int)syscall(SYS_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	if (pfd < 0 && errno == EPERM) {
		/* Some events refuse sampling (x86's irq_vectors: their perf
		 * permission check says EPERM to any sampling event); a
		 * counting event runs the attached program just the same. */
		attr.sample_period = 0;
		attr.wakeup_events = 0;
		pfd = (int)syscall(SYS_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	}
	if (pfd < 0) {
		int e = errno;
		snprintf(err, errsz, "perf_event_open(%s): %s%s", tp, strerror(e),
			 e == EACCES || e == EPERM ? " (needs CAP_PERFMON)" : "");
		errno = e;
		return NULL;
	}
	int lfd = bpf_link_create(prog_fd, pfd, BPF_PERF_EVENT, NULL);
	if (lfd < 0) {
		int e = errno;
		snprintf(err, errsz, "attaching to %s: %s", tp, strerror(e));
		close(pfd);
		errno = e;
		return NULL;
	}
	struct sbpf_klink *l = calloc(1, sizeof(*l));
	if (!l) {
		close(lfd);
		close(pfd);
		snprintf(err, errsz, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	l->link_fd = lfd;
	l->perf_fd = pfd;
	l->id = link_id(lfd);
	return l;
}

struct sbpf_klink *sbpf_klink__raw_tracepoint(int prog_fd, const char *name, char *err, size_t errsz)
{
	int lfd = bpf_raw_tracepoint_open(name, prog_fd);
	if (lfd < 0) {
		int e = errno;
		snprintf(err, errsz, "attaching to raw tracepoint %s: %s", name, strerror(e));
		errno = e;
		return NULL;
	}
	struct sbpf_klink *l = calloc(1, sizeof(*l));
	if (!l) {
		close(lfd);
		snprintf(err, errsz, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	l->link_fd = lfd;
	l->perf_fd = -1;
	l->id = link_id(lfd);
	return l;
}

uint32_t sbpf_klink__id(const struct sbpf_klink *l)
{
	return l ? l->id : 0;
}

void sbpf_klink__destroy(struct sbpf_klink *l)
{
	if (!l)
		return;
	close(l->link_fd);
	if (l->perf_fd >= 0)
		close(l->perf_fd);
	free(l);
}

int sbpf_kernel_prog_info(int prog_fd, struct sbpf_kprog_info *out)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return -errno;
	out->id = info.id;
	out->run_cnt = info.run_cnt;
	out->recursion_misses = info.recursion_misses;
	out->jited_len = info.jited_prog_len;
	out->xlated_len = info.xlated_prog_len;
	return 0;
}

/* 1 when @get(@id) finds an object, 0 when the id is gone. */
static int exists(int (*get)(uint32_t), uint32_t id)
{
	int fd = get(id);
	if (fd >= 0) {
		close(fd);
		return 1;
	}
	return errno == ENOENT ? 0 : -errno;
}

int sbpf_kernel_prog_exists(uint32_t id)
{
	return exists(bpf_prog_get_fd_by_id, id);
}

int sbpf_kernel_link_exists(uint32_t id)
{
	return exists(bpf_link_get_fd_by_id, id);
}

int sbpf_kernel_prog_wait_gone(uint32_t id, int timeout_ms)
{
	struct timespec step = { .tv_sec = 0, .tv_nsec = 1000000 };
	for (int waited = 0;; waited++) {
		int rc = sbpf_kernel_prog_exists(id);
		if (rc <= 0)
			return rc;
		if (waited >= timeout_ms)
			return -ETIMEDOUT;
		nanosleep(&step, NULL); /* polling a condition, bounded by timeout_ms */
	}
}
