/* uses_map.c - an object safebpf must refuse for user-space runs, with a
 * clear reason: xdp_count updates a map, xdp_global reads a global
 * variable (a .data map underneath).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, int);
	__type(value, long);
} counts SEC(".maps");

int limit = 5;

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	(void)ctx;
	int k = 0;
	long *v = bpf_map_lookup_elem(&counts, &k);
	if (v)
		(*v)++;
	return XDP_PASS;
}

SEC("xdp")
int xdp_global(struct xdp_md *ctx)
{
	(void)ctx;
	return limit > 3 ? XDP_PASS : XDP_DROP;
}

char _license[] SEC("license") = "GPL";
