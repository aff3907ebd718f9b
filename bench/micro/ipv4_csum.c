/* ipv4_csum.c - what a router does to an IPv4 header: verify its checksum
 * (ten 16-bit big-endian words), decrement the TTL and update the checksum
 * incrementally (RFC 1624: HC' = ~(~HC + ~m + m')), and check the update
 * against a full recomputation; 512 times, the TTL varying, on a copy of
 * the header. Idioms: byte-order loads and stores, 16-bit folding.
 */
#include "bench.h"

#define ITERS 512

static __always_inline __u32 sum16(const __u8 *h)
{
	__u32 s = 0;
	for (int i = 0; i < 20; i += 2)
		s += __builtin_bswap16(get16(h + i));
	return s;
}

static __always_inline __u16 fold16(__u32 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

SEC("xdp")
int bench_ipv4_csum(struct xdp_md *ctx)
{
	const __u8 *pkt = packet(ctx, PKT_LEN);
	if (!pkt)
		return 0;
	__u64 hdr[3];                 /* 24 bytes, 8-aligned: the header copy */
	__u8 *h = (__u8 *)hdr;
	__u32 digest = 0;
	NOUNROLL
	for (int i = 0; i < ITERS; i++) {
		barrier();
		hdr[0] = load_le64(pkt + OFF_IP);
		hdr[1] = load_le64(pkt + OFF_IP + 8);
		hdr[2] = load_le32(pkt + OFF_IP + 16);
		h[8] = (__u8)(h[8] + i);                  /* a different TTL each time */
		/* Fix the checksum for that TTL, then verify it. */
		__u16 old = __builtin_bswap16(get16(h + 10));
		put16(h + 10, 0);
		__u16 full = (__u16)~fold16(sum16(h));
		put16(h + 10, __builtin_bswap16(full));
		int ok = fold16(sum16(h)) == 0xffff;
		/* Forward: TTL - 1, incremental update of the word TTL|proto. */
		__u16 m = __builtin_bswap16(get16(h + 8));
		h[8] = (__u8)(h[8] - 1);
		__u16 m2 = __builtin_bswap16(get16(h + 8));
		__u32 s = (__u16)~full + (__u16)~m + m2;
		__u16 inc = (__u16)~fold16(s);
		put16(h + 10, __builtin_bswap16(inc));
		int same = fold16(sum16(h)) == 0xffff;
		digest = digest * 33 + (inc ^ old) + (__u32)(ok << 1 | same);
	}
	return (int)digest;
}

BENCH_LICENSE
