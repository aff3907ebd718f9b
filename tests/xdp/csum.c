/* csum.c - sample XDP program: verify the IPv4 header checksum (the
 * one's-complement sum of the header's ten 16-bit words) and drop packets
 * whose checksum is wrong; pass non-IPv4 traffic and headers with options.
 * Many loads and adds per packet.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

SEC("xdp")
int xdp_csum(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end)
		return XDP_DROP;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	__u16 *w = (void *)(eth + 1);
	if ((void *)(w + 10) > end)
		return XDP_DROP;
	if ((((struct iphdr *)w)->ihl & 0xf) != 5)
		return XDP_PASS;
	__u32 sum = 0;
	for (int i = 0; i < 10; i++)
		sum += w[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff ? XDP_PASS : XDP_DROP;
}

char _license[] SEC("license") = "GPL";
