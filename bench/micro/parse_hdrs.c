/* parse_hdrs.c - full header parsing and validation as a firewall does it:
 * Ethernet, optional 802.1Q (PCP, VID), IPv4 (version, IHL, DSCP/ECN,
 * total length, flags, fragment offset, TTL, protocol, addresses) and TCP
 * (ports, sequence numbers, data offset, flags, window), every field
 * through byte-order loads and bit-field extraction; a verdict and a
 * digest of the fields per packet; 512 packets.
 */
#include "bench.h"

#define ITERS 512

SEC("xdp")
int bench_parse_hdrs(struct xdp_md *ctx)
{
	const __u8 *pkt = packet(ctx, PKT_LEN);
	const __u8 *end = packet_end(ctx);
	if (!pkt)
		return 0;
	__u32 digest = 0, drops = 0;
	NOUNROLL
	for (int i = 0; i < ITERS; i++) {
		barrier();
		unsigned off = 12;
		__u32 vid = 0, pcp = 0;
		__u16 proto = load_be16(pkt + off);
		if (proto == 0x8100) {
			__u16 tci = load_be16(pkt + off + 2);
			pcp = tci >> 13;
			vid = tci & 0x0fff;
			proto = load_be16(pkt + off + 4);
			off += 4;
		}
		off += 2;
		if (proto != 0x0800) {
			drops++;
			continue;
		}
		const __u8 *ip = pkt + off;
		__u32 version = ip[0] >> 4, ihl = ip[0] & 0x0f;
		__u32 dscp = ip[1] >> 2, ecn = ip[1] & 3;
		__u32 tot_len = load_be16(ip + 2);
		__u32 frag = load_be16(ip + 6);
		__u32 df = (frag >> 14) & 1, mf = (frag >> 13) & 1, frag_off = frag & 0x1fff;
		__u32 ttl = ip[8], l4proto = ip[9];
		__u32 saddr = load_be32(ip + 12), daddr = load_be32(ip + 16);
		if (version != 4 || ihl < 5 || tot_len < ihl * 4 || mf || frag_off || ttl <= 1) {
			drops++;
			continue;
		}
		if (l4proto != 6) {
			digest += saddr ^ daddr;
			continue;
		}
		const __u8 *tcp = ip + ((ihl * 4) & 0x3c);
		if (tcp + 20 > end) {
			drops++;
			continue;
		}
		__u32 sport = load_be16(tcp), dport = load_be16(tcp + 2);
		__u32 seq = load_be32(tcp + 4), ack = load_be32(tcp + 8);
		__u32 doff = tcp[12] >> 4, flags = load_be16(tcp + 12) & 0x01ff;
		__u32 window = load_be16(tcp + 14);
		int syn = (flags >> 1) & 1, rst = (flags >> 2) & 1, fin = flags & 1;
		if (doff < 5 || (syn && fin) || (rst && syn) || dport == 0) {
			drops++;
			continue;
		}
		__u32 verdict = (dport == 80 || dport == 443) ? 2 : (sport < 1024 ? 1 : 3);
		digest = digest * 31 + (saddr ^ (daddr >> 1)) + (sport << 16 | dport) + seq - ack +
			 (doff << 28 | flags << 16 | window) + (vid << 3 | pcp) + (dscp << 2 | ecn) +
			 (df << 1) + ttl + verdict + (__u32)i;
	}
	return (int)(digest ^ drops);
}

BENCH_LICENSE
