/* filter.c - sample XDP program: parse Ethernet, IPv4 and TCP/UDP headers and
 * drop by a fixed rule set, pass everything else. Compiled with
 * `clang -O2 -target bpf`; runs unchanged on the interpreter, the JIT and the
 * kernel (BPF_PROG_TEST_RUN).
 *
 * Rules: drop TCP to port 23 (telnet), drop anything from 10.66.0.0/16,
 * drop IPv4 packets whose TTL is below 2; pass the rest (non-IPv4 too).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* Destination port of a TCP or UDP header at @l4, or -1 when truncated. */
static __attribute__((noinline)) int l4_dport(void *l4, void *end, int proto)
{
	if (proto == IPPROTO_TCP) {
		struct tcphdr *tcp = l4;
		if ((void *)(tcp + 1) > end)
			return -1;
		return bpf_ntohs(tcp->dest);
	}
	if (proto == IPPROTO_UDP) {
		struct udphdr *udp = l4;
		if ((void *)(udp + 1) > end)
			return -1;
		return bpf_ntohs(udp->dest);
	}
	return 0;
}

SEC("xdp")
int xdp_filter(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end)
		return XDP_DROP;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end)
		return XDP_DROP;
	if ((bpf_ntohl(ip->saddr) & 0xffff0000) == 0x0a420000)
		return XDP_DROP;
	if (ip->ttl < 2)
		return XDP_DROP;
	int port = l4_dport((char *)ip + ip->ihl * 4, end, ip->protocol);
	if (port < 0)
		return XDP_DROP;
	if (ip->protocol == IPPROTO_TCP && port == 23)
		return XDP_DROP;
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
