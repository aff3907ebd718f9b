/* taskbtf.c - members of the kernel's struct task_struct found through the
 * running kernel's BTF (/sys/kernel/btf/vmlinux), for columns that no
 * tracepoint field carries (process_exit's exit status: task->exit_code).
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
