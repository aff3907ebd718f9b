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
	int *more;         /* per-CPU sampling: link and perf fds of the other CPUs, in pairs */
	size_t nmore;      /* pairs in more */
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

/* perf_event_open(@attr) on @pid/@cpu, then a BPF_PERF_EVENT link of
 * @prog_fd on it: 0 with both fds, or -errno with @err (@what names it). */
static int perf_link_cookie(int prog_fd, struct perf_event_attr *attr, int pid, int cpu, uint64_t cookie,
			    const char *what, int *lfd, int *pfd, char *err, size_t errsz);

static int perf_link(int prog_fd, struct perf_event_attr *attr, int pid, int cpu, const char *what, int *lfd,
		     int *pfd, char *err, size_t errsz)
{
	return perf_link_cookie(prog_fd, attr, pid, cpu, 0, what, lfd, pfd, err, errsz);
}

/* perf_link() with attach cookie @cookie (bpf_get_attach_cookie in the program). */
static int perf_link_cookie(int prog_fd, struct perf_event_attr *attr, int pid, int cpu, uint64_t cookie,
			    const char *what, int *lfd, int *pfd, char *err, size_t errsz)
{
	*pfd = (int)syscall(SYS_perf_event_open, attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	if (*pfd < 0) {
		int e = errno;
		snprintf(err, errsz, "perf_event_open(%s): %s%s", what, strerror(e),
			 e == EACCES || e == EPERM ? " (needs CAP_PERFMON)" : "");
		return -e;
	}
	LIBBPF_OPTS(bpf_link_create_opts, lo, .perf_event.bpf_cookie = cookie);
	*lfd = bpf_link_create(prog_fd, *pfd, BPF_PERF_EVENT, cookie ? &lo : NULL);
	if (*lfd < 0) {
		int e = errno;
		snprintf(err, errsz, "attaching to %s: %s", what, strerror(e));
		close(*pfd);
		return -e;
	}
	return 0;
}

/* Ends the attachment of @n (link, perf event) pairs in @fds to @l: the
 * first pair is the link's own, the others its "more". With @rc set, closes
 * the @n pairs made, frees @l and @fds, and returns NULL with errno. */
static struct sbpf_klink *several_links(struct sbpf_klink *l, int *fds, size_t n, int rc)
{
	if (rc) {
		for (size_t i = 0; i < 2 * n; i++)
			close(fds[i]);
		free(fds);
		free(l);
		errno = -rc;
		return NULL;
	}
	l->link_fd = fds[0];
	l->perf_fd = fds[1];
	l->id = link_id(l->link_fd);
	l->more = fds;
	memmove(fds, fds + 2, 2 * (n - 1) * sizeof(int));
	l->nmore = n - 1;
	return l;
}

struct sbpf_klink *sbpf_klink__cpu_clock(int prog_fd, unsigned hz, char *err, size_t errsz)
{
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);
	struct sbpf_klink *l = calloc(1, sizeof(*l));
	int *fds = calloc(ncpu > 0 ? (size_t)ncpu : 1, 2 * sizeof(int));
	if (!l || !fds || ncpu <= 0) {
		free(l);
		free(fds);
		snprintf(err, errsz, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	struct perf_event_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.type = PERF_TYPE_SOFTWARE;
	attr.size = sizeof(attr);
	attr.config = PERF_COUNT_SW_CPU_CLOCK;
	attr.freq = 1;
	attr.sample_freq = hz;
	size_t n = 0;
	int rc = 0;
	for (long cpu = 0; cpu < ncpu; cpu++) {
		char why[256];
		int e = perf_link(prog_fd, &attr, -1, (int)cpu, "cpu-clock", &fds[2 * n], &fds[2 * n + 1], why,
				  sizeof(why));
		if (e == -ENODEV)
			continue; /* an offline CPU */
		if (e) {
			snprintf(err, errsz, "CPU %ld: %s", cpu, why);
			rc = e;
			break;
		}
		n++;
	}
	if (!rc && !n) {
		snprintf(err, errsz, "no CPU could be sampled");
		rc = -ENODEV;
	}
	return several_links(l, fds, n, rc);
}

/* A number from a sysfs file of the uprobe PMU (its type), or -errno. */
static int uprobe_pmu_type(void)
{
	FILE *f = fopen("/sys/bus/event_source/devices/uprobe/type", "re");
	if (!f)
		return -errno;
	int t = -1;
	int ok = fscanf(f, "%d", &t) == 1;
	fclose(f);
	return ok ? t : -EINVAL;
}

/* The config bit that makes a uprobe a uretprobe ("config:0"), or -errno. */
static int uprobe_ret_bit(void)
{
	FILE *f = fopen("/sys/bus/event_source/devices/uprobe/format/retprobe", "re");
	if (!f)
		return -errno;
	int bit = -1;
	int ok = fscanf(f, "config:%d", &bit) == 1 && bit >= 0 && bit < 64;
	fclose(f);
	return ok ? bit : -EINVAL;
}

struct sbpf_klink *sbpf_klink__uprobe(int prog_fd, const char *path, uint64_t offset, bool ret, int pid,
				      char *err, size_t errsz)
{
	int type = uprobe_pmu_type(), bit = ret ? uprobe_ret_bit() : 0;
	if (type < 0 || bit < 0) {
		snprintf(err, errsz, "this kernel has no uprobe event source (/sys/bus/event_source/devices/uprobe)");
		errno = ENOTSUP;
		return NULL;
	}
	struct perf_event_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.type = (uint32_t)type;
	attr.size = sizeof(attr);
	attr.config = ret ? 1ull << bit : 0;
	attr.config1 = (uint64_t)(uintptr_t)path; /* uprobe_path */
	attr.config2 = offset;                     /* probe_offset */
	attr.sample_period = 1;
	attr.wakeup_events = 1;
	struct sbpf_klink *l = calloc(1, sizeof(*l));
	if (!l) {
		snprintf(err, errsz, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	int rc = perf_link(prog_fd, &attr, pid > 0 ? pid : -1, pid > 0 ? -1 : 0, ret ? "uretprobe" : "uprobe",
			   &l->link_fd, &l->perf_fd, err, errsz);
	if (rc) {
		free(l);
		errno = -rc;
		return NULL;
	}
	l->id = link_id(l->link_fd);
	return l;
}

/* The config bits that hold a uprobe's reference counter offset
 * ("config:32-63"): 0 with the first bit, or -errno (an older kernel). */
static int uprobe_ref_ctr_shift(void)
{
	FILE *f = fopen("/sys/bus/event_source/devices/uprobe/format/ref_ctr_offset", "re");
	if (!f)
		return -errno;
	int lo = -1, hi = -1;
	int ok = fscanf(f, "config:%d-%d", &lo, &hi) == 2 && lo >= 0 && lo < hi && hi < 64;
	fclose(f);
	return ok ? lo : -EINVAL;
}

struct sbpf_klink *sbpf_klink__usdt(int prog_fd, const char *path, const uint64_t *offsets,
				    const uint64_t *cookies, size_t n, uint64_t ref_ctr_offset, char *err, size_t errsz)
{
	int type = uprobe_pmu_type(), shift = ref_ctr_offset ? uprobe_ref_ctr_shift() : 0;
	if (type < 0) {
		snprintf(err, errsz, "this kernel has no uprobe event source (/sys/bus/event_source/devices/uprobe)");
		errno = ENOTSUP;
		return NULL;
	}
	if (shift < 0) {
		snprintf(err, errsz, "this kernel cannot count USDT semaphores (no uprobe ref_ctr_offset)");
		errno = ENOTSUP;
		return NULL;
	}
	struct sbpf_klink *l = calloc(1, sizeof(*l));
	int *fds = n ? calloc(n, 2 * sizeof(int)) : NULL;
	if (!l || !fds) {
		free(l);
		free(fds);
		snprintf(err, errsz, n ? "out of memory" : "no probe site to attach to");
		errno = n ? ENOMEM : EINVAL;
		return NULL;
	}
	struct perf_event_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.type = (uint32_t)type;
	attr.size = sizeof(attr);
	attr.config = ref_ctr_offset << shift;     /* the kernel increments the semaphore */
	attr.config1 = (uint64_t)(uintptr_t)path; /* uprobe_path */
	attr.sample_period = 1;
	attr.wakeup_events = 1;
	int rc = 0;
	size_t done = 0;
	for (; done < n && !rc; done++) {
		attr.config2 = offsets[done];          /* probe_offset */
		rc = perf_link_cookie(prog_fd, &attr, -1, 0, cookies ? cookies[done] : 0, "usdt", &fds[2 * done],
				      &fds[2 * done + 1], err, errsz);
	}
	return several_links(l, fds, rc ? done - 1 : n, rc); /* done counts the failed one */
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
	for (size_t i = 0; i < 2 * l->nmore; i++)
		close(l->more[i]);
	free(l->more);
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
