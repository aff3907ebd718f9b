/* payload.c - sample XDP program: scan up to 256 payload bytes after the
 * IPv4 and UDP headers for a 4-byte signature ("EVIL") and drop packets
 * that carry it. A long bounded loop with a packet check per byte: the
 * heaviest of the samples.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

SEC("xdp")
int xdp_payload(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);
	if ((void *)(udp + 1) > end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 || ip->protocol != IPPROTO_UDP)
		return XDP_PASS;
	__u8 *p = (void *)(udp + 1);
	__u32 window = 0;
	for (int i = 0; i < 256; i++) {
		if ((void *)(p + i + 1) > end)
			break;
		window = window << 8 | p[i];
		if (window == 0x4556494c) /* "EVIL" */
			return XDP_DROP;
	}
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
