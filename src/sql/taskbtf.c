/* taskbtf.c - members of the kernel's struct task_struct found through the
 * running kernel's BTF (/sys/kernel/btf/vmlinux), for columns that no
 * tracepoint field carries (process_exit's exit status: task->exit_code;
 * cpu_samples' run-queue length: task->se.cfs_rq->rq->nr_running).
 * An MVSF reads such a member of the current task with
 * bpf_get_current_task() + bpf_probe_read_kernel() at the offset found here,
 * so the layout is the running kernel's, never a compiled-in guess.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <bpf/btf.h>

#include "sql/sqlInt.h"

static struct btf *vmlinux;       /* loaded once, kept for the process */
static int load_err;              /* -errno when it could not be loaded */
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load_once(void)
{
	vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux)
		load_err = -(errno ? errno : ENOENT);
}

int sql_task_member(const char *member, uint32_t *off, uint32_t *size, char *err, size_t errsz)
{
	pthread_once(&once, load_once);
	if (!vmlinux) {
		snprintf(err, errsz, "the kernel's BTF (/sys/kernel/btf/vmlinux) cannot be read: %s", strerror(-load_err));
		return load_err;
	}
	int id = btf__find_by_name_kind(vmlinux, "task_struct", BTF_KIND_STRUCT);
	const struct btf_type *t = id > 0 ? btf__type_by_id(vmlinux, (uint32_t)id) : NULL;
	if (!t) {
		snprintf(err, errsz, "the kernel's BTF has no struct task_struct");
		return -ENOENT;
	}
	const struct btf_member *m = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++, m++) {
		const char *name = btf__name_by_offset(vmlinux, m->name_off);
		if (!name || strcmp(name, member))
			continue;
		uint32_t bits = btf_member_bit_offset(t, (uint32_t)i);
		long sz = btf__resolve_size(vmlinux, m->type);
		if (bits % 8 || btf_member_bitfield_size(t, (uint32_t)i) || sz <= 0 || sz > 8) {
			snprintf(err, errsz, "task_struct.%s is not a plain integer in the kernel's BTF", member);
			return -EINVAL;
		}
		*off = bits / 8;
		*size = (uint32_t)sz;
		return 0;
	}
	snprintf(err, errsz, "the kernel's task_struct has no member '%s'", member);
	return -ENOENT;
}

/* Byte offset and size of member @path ("se.cfs_rq": nested members
 * through embedded structs) of struct @st. 0, or -ENOENT with a reason. */
static int member_path(const char *st, const char *path, uint32_t *off, uint32_t *size, char *err,
		       size_t errsz)
{
	int id = btf__find_by_name_kind(vmlinux, st, BTF_KIND_STRUCT);
	if (id <= 0) {
		snprintf(err, errsz, "the kernel's BTF has no struct %s", st);
		return -ENOENT;
	}
	uint32_t at = 0, tid = (uint32_t)id;
	const char *p = path;
	for (;;) {
		const struct btf_type *t = btf__type_by_id(vmlinux, tid);
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		if (!t || !btf_is_composite(t))
			goto missing;
		const struct btf_member *m = btf_members(t);
		int i = 0;
		for (; i < btf_vlen(t); i++, m++) {
			const char *name = btf__name_by_offset(vmlinux, m->name_off);
			if (name && strlen(name) == n && !strncmp(name, p, n))
				break;
		}
		if (i == btf_vlen(t) || btf_member_bitfield_size(t, (uint32_t)i) ||
		    btf_member_bit_offset(t, (uint32_t)i) % 8)
			goto missing;
		at += btf_member_bit_offset(t, (uint32_t)i) / 8;
		int rt = btf__resolve_type(vmlinux, m->type);
		if (rt < 0)
			goto missing;
		tid = (uint32_t)rt;
		if (!dot) {
			long sz = btf__resolve_size(vmlinux, tid);
			if (sz <= 0)
				goto missing;
			*off = at;
			*size = (uint32_t)sz;
			return 0;
		}
		p = dot + 1;
	}
missing:
	snprintf(err, errsz, "the kernel's struct %s has no usable member %s", st, path);
	return -ENOENT;
}

int sql_runq_path(struct sql_runq_path *rq, char *err, size_t errsz)
{
	pthread_once(&once, load_once);
	if (!vmlinux) {
		snprintf(err, errsz, "the kernel's BTF (/sys/kernel/btf/vmlinux) cannot be read: %s", strerror(-load_err));
		return load_err;
	}
	uint32_t sz, off;
	char why[160];
	int rc = member_path("task_struct", "se.cfs_rq", &rq->cfs_rq, &sz, why, sizeof(why));
	if (!rc && sz != 8)
		rc = -EINVAL;
	if (!rc)
		rc = member_path("rq", "nr_running", &rq->nr_running, &rq->nr_size, why, sizeof(why));
	if (!rc && rq->nr_size != 4 && rq->nr_size != 8)
		rc = -EINVAL;
	if (rc) {
		snprintf(err, errsz, "the run-queue length cannot be read on this kernel: %s", why);
		return rc;
	}
	/* With group scheduling a cfs_rq points to its rq; without it, the only
	 * cfs_rq is the one embedded in struct rq (member cfs). */
	if (!member_path("cfs_rq", "rq", &off, &sz, why, sizeof(why)) && sz == 8) {
		rq->rq = off;
		rq->embedded = false;
		return 0;
	}
	if (!member_path("rq", "cfs", &off, &sz, why, sizeof(why))) {
		rq->rq = off;
		rq->embedded = true;
		return 0;
	}
	snprintf(err, errsz, "the run-queue length cannot be read on this kernel: struct cfs_rq has no rq "
		 "pointer and struct rq no cfs member");
	return -ENOENT;
}
