/* tiny_rewrite.c - a router's rewrite in a few instructions: set the
 * destination MAC to the next hop's, the source MAC to ours, the IPv4 TTL
 * to 64 with the header checksum updated incrementally (RFC 1624), and
 * return the new checksum. Idempotent, so every run sees the same packet.
 * Writes the packet; per-run overhead plus stores.
 */
#include "bench.h"

SEC("xdp")
int bench_tiny_rewrite(struct xdp_md *ctx)
{
	__u8 *pkt = (__u8 *)packet(ctx, OFF_TCP);
	if (!pkt)
		return 1;
	put32(pkt, 0x0c0b0a02);
	put16(pkt + 4, 0x0e0d);
	put32(pkt + 6, 0x1c1b1a02);
	put16(pkt + 10, 0x1e1d);
	__u8 *ip = pkt + OFF_IP;
	__u16 old = get16(ip + 8);      /* TTL and protocol, network order */
	__u16 neu = (__u16)((old & 0xff00) | 64);
	__u32 sum = (__u16)~get16(ip + 10);
	sum += (__u16)~old;
	sum += neu;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	put16(ip + 8, neu);
	put16(ip + 10, (__u16)~sum);
	return (int)(~sum & 0xffff);
}

BENCH_LICENSE
