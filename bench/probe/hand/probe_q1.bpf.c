/* probe_q1.bpf.c - Query 1 written by hand, the way an eBPF expert would:
 * maximum system-call latency per (process, system call), read every second.
 * Entry time per thread in a hash map; the maximum in a per-CPU hash map
 * (no atomics, no sharing between CPUs); user space merges the CPUs.
 * Built with clang -target bpf; loaded by probe_tool.c.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct sys_enter_args {
	unsigned long long common;   /* common_type, flags, preempt_count, pid */
	long id;                     /* system call number */
	unsigned long args[6];
};

struct sys_exit_args {
	unsigned long long common;
	long id;
	long ret;
};

struct start {
	__u64 ts;                    /* entry time */
	__u64 nr;                    /* system call number */
};

struct key {
	__u32 pid;                   /* process (thread group) */
	__u32 nr;                    /* system call */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct start);
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct key);
	__type(value, __u64);
} maxlat SEC(".maps");

const volatile __u32 self_tgid = 0;  /* the tool itself is not traced */

SEC("tracepoint/raw_syscalls/sys_enter")
int on_enter(struct sys_enter_args *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	if ((__u32)(id >> 32) == self_tgid)
		return 0;
	__u32 tid = (__u32)id;
	struct start s = { .ts = bpf_ktime_get_ns(), .nr = (__u64)ctx->id };
	bpf_map_update_elem(&starts, &tid, &s, BPF_ANY);
	return 0;
}

SEC("tracepoint/raw_syscalls/sys_exit")
int on_exit(struct sys_exit_args *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct start *s = bpf_map_lookup_elem(&starts, &tid);
	if (!s)
		return 0;
	__u64 lat = bpf_ktime_get_ns() - s->ts;
	struct key k = { .pid = (__u32)(id >> 32), .nr = (__u32)s->nr };
	bpf_map_delete_elem(&starts, &tid);
	__u64 *v = bpf_map_lookup_elem(&maxlat, &k);
	if (v) {
		if (lat > *v)
			*v = lat;
	} else {
		bpf_map_update_elem(&maxlat, &k, &lat, BPF_NOEXIST);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
