/* multi.c - an object with two XDP programs (for `safebpf run --prog`):
 * xdp_pass_all returns XDP_PASS, xdp_ttl (section xdp.frags) returns the IPv4 TTL of the
 * packet (or 0) through a subprogram in .text.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

SEC("xdp")
int xdp_pass_all(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

static __attribute__((noinline)) int ttl_of(struct iphdr *ip, void *end)
{
	if ((void *)(ip + 1) > end)
		return 0;
	return ip->ttl;
}

SEC("xdp.frags")
int xdp_ttl(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return 0;
	return ttl_of((void *)(eth + 1), end);
}

char _license[] SEC("license") = "GPL";
