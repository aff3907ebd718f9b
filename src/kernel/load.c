/* load.c - privileges, tracefs, and loading programs into the running kernel
 * through libbpf, keeping the verifier's log for people.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/capability.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "safebpf/kernel.h"
#include "safebpf/maps.h"

#define TRACEFS_MAGIC_NR 0x74726163

/* Effective capability set of this process (capget without libcap). */
static int effective_caps(uint64_t *caps)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	*caps = data[0].effective | ((uint64_t)data[1].effective << 32);
	return 0;
}

int sbpf_kernel_check_privileges(char *why, size_t whysz)
{
	uint64_t caps = 0;
	if (effective_caps(&caps)) {
		snprintf(why, whysz, "cannot read process capabilities");
		return -EPERM;
	}
	int has_admin = !!(caps & (1ull << CAP_SYS_ADMIN));
	int has_bpf = has_admin || (caps & (1ull << 39 /* CAP_BPF */));
	int has_perfmon = has_admin || (caps & (1ull << 38 /* CAP_PERFMON */));
	if (!has_bpf) {
		snprintf(why, whysz, "missing CAP_BPF (run as root or grant cap_bpf)");
		return -EPERM;
	}
	if (!has_perfmon) {
		snprintf(why, whysz, "missing CAP_PERFMON (needed to attach to tracepoints)");
		return -EPERM;
	}
	return 0;
}

static int is_tracefs(const char *path)
{
	struct statfs st;
	struct stat ev;
	char events[256];
	if (statfs(path, &st) == 0 && st.f_type == TRACEFS_MAGIC_NR)
		return 1;
	/* debugfs/tracing may be tracefs automounted below debugfs. */
	snprintf(events, sizeof(events), "%s/events", path);
	return stat(events, &ev) == 0 && S_ISDIR(ev.st_mode);
}

const char *sbpf_kernel_tracefs(void)
{
	static const char *found;
	if (found)
		return found;
	if (is_tracefs("/sys/kernel/tracing"))
		return found = "/sys/kernel/tracing";
	if (is_tracefs("/sys/kernel/debug/tracing"))
		return found = "/sys/kernel/debug/tracing";
	if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL) == 0 &&
	    is_tracefs("/sys/kernel/tracing"))
		return found = "/sys/kernel/tracing";
	if (errno == 0)
		errno = ENOENT;
	return NULL;
}

static int kernel_load(const struct sbpf_insn *insns, size_t n, const struct sbpf_kload_opts *opts,
		       const int *fd_array);

static enum bpf_prog_type kernel_type(enum sbpf_kprog_type t)
{
	switch (t) {
	case SBPF_KPROG_TRACEPOINT:     return BPF_PROG_TYPE_TRACEPOINT;
	case SBPF_KPROG_RAW_TRACEPOINT: return BPF_PROG_TYPE_RAW_TRACEPOINT;
	case SBPF_KPROG_SOCKET_FILTER:  return BPF_PROG_TYPE_SOCKET_FILTER;
	case SBPF_KPROG_SK_REUSEPORT:   return BPF_PROG_TYPE_SK_REUSEPORT;
	case SBPF_KPROG_PERF_EVENT:     return BPF_PROG_TYPE_PERF_EVENT;
	case SBPF_KPROG_KPROBE:         return BPF_PROG_TYPE_KPROBE;
	case SBPF_KPROG_XDP:
	default:                        return BPF_PROG_TYPE_XDP;
	}
}

/* Field @f of @o when the caller's struct is recent enough to have it. */
#define KOPT(o, f, def) \
	((o)->sz >= offsetof(struct sbpf_kload_opts, f) + sizeof((o)->f) ? (o)->f : (def))

/* A frozen one-entry array map holding @len bytes of @data that programs
 * may read but not write. Returns its fd or a negative errno. */
static int rodata_map(const void *data, size_t len)
{
	LIBBPF_OPTS(bpf_map_create_opts, mo, .map_flags = BPF_F_RDONLY_PROG);
	if (len > UINT32_MAX)
		return -E2BIG;
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "safebpf.rodata", 4, (uint32_t)len, 1, &mo);
	if (fd < 0)
		return -errno;
	uint32_t key = 0;
	if (bpf_map_update_elem(fd, &key, data, 0) || bpf_map_freeze(fd)) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/* Map fds for user-space map references when the options give none
 * (sbpf_kernel_set_map_fds). */
static const int *default_map_fds;
static size_t default_nmap_fds;

void sbpf_kernel_set_map_fds(const int *fds, size_t n)
{
	default_map_fds = n ? fds : NULL;
	default_nmap_fds = fds ? n : 0;
}

/* A copy of @insns whose map references (lddw src 1/2, imm = map index)
 * name the fds @fds instead; NULL when there are none to rewrite (or on
 * ENOMEM / a bad index, with *@rc set). */
static struct sbpf_insn *with_map_fds(const struct sbpf_insn *insns, size_t n, const int *fds, size_t nfds,
				      int *rc)
{
	*rc = 0;
	if (!fds || !sbpf_maps_referenced(insns, n))
		return NULL; /* nothing to do: without user-space maps an imm is an fd already */
	struct sbpf_insn *copy = malloc(n * sizeof(*copy));
	if (!copy) {
		*rc = -ENOMEM;
		return NULL;
	}
	memcpy(copy, insns, n * sizeof(*copy));
	for (size_t i = 0; i + 1 < n; i++) {
		if (copy[i].code != (SBPF_LD | SBPF_DW | SBPF_IMM))
			continue;
		if (copy[i].src_reg == 1 || copy[i].src_reg == 2) {
			if (copy[i].imm < 0 || (size_t)copy[i].imm >= nfds) {
				free(copy);
				*rc = -EBADF;
				return NULL;
			}
			copy[i].imm = fds[copy[i].imm];
		}
		i++;
	}
	return copy;
}

int sbpf_kernel_load(const struct sbpf_insn *insns, size_t n, const struct sbpf_kload_opts *opts)
{
	const int *fds = KOPT(opts, map_fds, NULL);
	size_t nfds = KOPT(opts, nmap_fds, 0);
	if (!fds) {
		fds = default_map_fds;
		nfds = default_nmap_fds;
	}
	int rc;
	struct sbpf_insn *mapped = with_map_fds(insns, n, fds, nfds, &rc);
	if (rc)
		return rc;
	if (mapped) {
		struct sbpf_kload_opts o2 = *opts;
		o2.map_fds = NULL;
		o2.nmap_fds = 0;
		const int *save = default_map_fds;
		default_map_fds = NULL; /* already rewritten */
		int fd = sbpf_kernel_load(mapped, n, &o2);
		default_map_fds = save;
		free(mapped);
		return fd;
	}
	const void *ro = KOPT(opts, rodata, NULL);
	size_t ro_len = KOPT(opts, rodata_len, 0);
	if (ro && ro_len) {
		int map_fd = rodata_map(ro, ro_len);
		if (map_fd < 0)
			return map_fd;
		struct sbpf_kload_opts o2 = *opts;
		o2.sz = offsetof(struct sbpf_kload_opts, rodata); /* no rodata below */
		int fd = kernel_load(insns, n, &o2, &map_fd);
		close(map_fd); /* the program keeps its own reference */
		return fd;
	}
	return kernel_load(insns, n, opts, NULL);
}

/* sbpf_kernel_load() with an optional fd_array (one map). */
static int kernel_load(const struct sbpf_insn *insns, size_t n, const struct sbpf_kload_opts *opts,
		       const int *fd_array)
{
	LIBBPF_OPTS(bpf_prog_load_opts, lo);
	lo.fd_array = fd_array;
	char name[16] = "safebpf";
	if (opts->name)
		snprintf(name, sizeof(name), "%s", opts->name);
	enum bpf_prog_type type = kernel_type(opts->type);
	const struct bpf_insn *kinsns = (const struct bpf_insn *)insns;
	if (type == BPF_PROG_TYPE_SK_REUSEPORT)
		lo.expected_attach_type = BPF_SK_REUSEPORT_SELECT;

	if (opts->log_always && opts->log_buf) {
		lo.log_buf = opts->log_buf;
		lo.log_size = (unsigned)opts->log_size;
		lo.log_level = 1;
	}
	/* Load without a log first: logging makes the verifier much slower. */
	int fd = bpf_prog_load(type, name, "GPL", kinsns, n, &lo);
	if (fd >= 0 || !opts->log_buf || opts->log_always)
		return fd >= 0 ? fd : -errno;
	int err = errno;
	lo.log_buf = opts->log_buf;
	lo.log_size = (unsigned)opts->log_size;
	lo.log_level = 1;
	opts->log_buf[0] = '\0';
	fd = bpf_prog_load(type, name, "GPL", kinsns, n, &lo);
	if (fd >= 0) /* accepted on the second try: keep the first verdict honest */
		return fd;
	return -(errno ? errno : err);
}

void sbpf_kernel_log_reason(const char *log, char *buf, size_t bufsz)
{
	/* The reason is the last non-empty line before the "processed N insns"
	 * summary (or the last line when there is no summary). */
	const char *best = NULL, *p = log;
	size_t best_len = 0;
	while (p && *p) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len && strncmp(p, "processed ", 10) != 0 && strncmp(p, "verification time", 17) != 0 &&
		    strncmp(p, "stack depth", 11) != 0) {
			best = p;
			best_len = len;
		}
		p = end ? end + 1 : NULL;
	}
	if (!best) {
		snprintf(buf, bufsz, "(no verifier log)");
		return;
	}
	snprintf(buf, bufsz, "%.*s", (int)best_len, best);
}
