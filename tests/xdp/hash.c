/* hash.c - sample XDP program: hash the IPv4/TCP-or-UDP 5-tuple (FNV-1a
 * over the 13 bytes, then a 32-bit mix) the way a load balancer picks a
 * backend, and steer: even buckets pass, odd buckets are dropped. Lots of
 * ALU work per packet.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

static __attribute__((noinline)) __u32 mix(__u32 h)
{
	h ^= h >> 16;
	h *= 0x7feb352d;
	h ^= h >> 15;
	h *= 0x846ca68b;
	h ^= h >> 16;
	return h;
}

SEC("xdp")
int xdp_hash(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	if (ip->ihl != 5 || (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP))
		return XDP_PASS;
	__u8 *ports = (void *)(ip + 1);
	if ((void *)(ports + 4) > end)
		return XDP_DROP;
	__u8 key[13];
	__builtin_memcpy(key, &ip->saddr, 8);
	__builtin_memcpy(key + 8, ports, 4);
	key[12] = ip->protocol;
	__u32 h = 2166136261u;
	for (int i = 0; i < 13; i++) {
		h ^= key[i];
		h *= 16777619u;
	}
	h = mix(h);
	return (h % 8) & 1 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
