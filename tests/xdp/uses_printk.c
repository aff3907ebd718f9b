/* uses_printk.c - an XDP program that calls a kernel-only helper
 * (bpf_trace_printk): the user-space engines refuse it at load, naming the
 * helper; the kernel runs it. Its map makes the CLI use the runtime. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, int);
	__type(value, int);
} seen SEC(".maps");

SEC("xdp")
int xdp_printk(struct xdp_md *ctx)
{
	int k = 1, v = 1;
	bpf_map_update_elem(&seen, &k, &v, BPF_ANY);
	bpf_printk("len %d", (int)(ctx->data_end - ctx->data));
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
