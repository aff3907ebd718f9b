/* uses_core.c - an object safebpf must refuse for user-space runs: its
 * program reads a kernel structure through BTF CO-RE relocations
 * (preserve_access_index), which need the running kernel's BTF.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct task_like {
	int pid;
	int tgid;
} __attribute__((preserve_access_index));

SEC("xdp")
int xdp_core(struct xdp_md *ctx)
{
	struct task_like *t = (void *)(long)ctx->data;
	return BPF_CORE_READ(t, tgid);
}

char _license[] SEC("license") = "GPL";
