/* flow_hash.c - what a flow table does per packet: parse Ethernet, an
 * optional 802.1Q tag, IPv4 (any header length) and the TCP/UDP ports with
 * byte-order loads, hash the 5-tuple (jhash-style mixing with rotates) to
 * one of 64 buckets and count it; 512 packets (the source port varies).
 * Idioms: byte-order loads, bit-field extraction (IHL), rotates, counters
 * indexed by a hash.
 */
#include "bench.h"

#define ITERS 512
#define NBUCKETS 64

static __always_inline __u32 mix3(__u32 a, __u32 b, __u32 c)
{
	c ^= b; c -= ROTL32(b, 14);
	a ^= c; a -= ROTL32(c, 11);
	b ^= a; b -= ROTL32(a, 25);
	c ^= b; c -= ROTL32(b, 16);
	a ^= c; a -= ROTL32(c, 4);
	b ^= a; b -= ROTL32(a, 14);
	c ^= b; c -= ROTL32(b, 24);
	return c;
}

SEC("xdp")
int bench_flow_hash(struct xdp_md *ctx)
{
	const __u8 *pkt = packet(ctx, PKT_LEN);
	const __u8 *end = packet_end(ctx);
	if (!pkt)
		return 0;
	__u32 count[NBUCKETS];
	for (int b = 0; b < NBUCKETS; b++)
		count[b] = pkt[OFF_PAY + b];            /* state as found */
	__u32 misses = 0;
	NOUNROLL
	for (int i = 0; i < ITERS; i++) {
		barrier();
		unsigned off = 12;
		__u16 proto = load_be16(pkt + off);
		if (proto == 0x8100) {                  /* 802.1Q */
			proto = load_be16(pkt + off + 4);
			off += 4;
		}
		off += 2;
		if (proto != 0x0800) {
			misses++;
			continue;
		}
		const __u8 *ip = pkt + off;
		__u8 ihl = ip[0] & 0x0f;
		__u8 l4proto = ip[9];
		if (ihl < 5 || (l4proto != 6 && l4proto != 17)) {
			misses++;
			continue;
		}
		const __u8 *l4 = ip + ((ihl * 4) & 0x3c);
		if (l4 + 4 > end) {
			misses++;
			continue;
		}
		__u32 saddr = load_be32(ip + 12), daddr = load_be32(ip + 16);
		__u32 ports = load_be32(l4) + (__u32)i;    /* the source port varies */
		__u32 h = mix3(saddr, daddr ^ l4proto, ports + 0xdeadbeefu);
		count[h & (NBUCKETS - 1)]++;
	}
	__u32 digest = misses;
	for (int b = 0; b < NBUCKETS; b++)
		digest = digest * 31 + count[b];
	return (int)digest;
}

BENCH_LICENSE
