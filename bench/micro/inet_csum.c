/* inet_csum.c - the Internet checksum (RFC 1071) of the TCP segment with
 * its IPv4 pseudo-header, as a receiver verifies it: 32-bit words summed
 * into a 64-bit accumulator, then folded to 16 bits; 96 times, each sum
 * starting from the previous result. Idioms: 32-bit loads, add with
 * carries folded, shifts, byte swap.
 */
#include "bench.h"

#define REPS 96
#define SEG_LEN (20 + PAY_LEN)   /* TCP header + payload */

static __always_inline __u16 fold(__u64 sum)
{
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

SEC("xdp")
int bench_inet_csum(struct xdp_md *ctx)
{
	const __u8 *pkt = packet(ctx, PKT_LEN);
	if (!pkt)
		return 0;
	__u32 acc = 0;
	NOUNROLL
	for (int r = 0; r < REPS; r++) {
		barrier();
		/* Pseudo-header: addresses, zero + protocol, TCP length
		 * (network order words, summed as they lie in memory). */
		__u64 sum = acc;
		sum += load_le32(pkt + OFF_IP + 12);
		sum += load_le32(pkt + OFF_IP + 16);
		sum += __builtin_bswap16((__u16)pkt[OFF_IP + 9]);
		sum += __builtin_bswap16((__u16)SEG_LEN);
		const __u8 *seg = pkt + OFF_TCP;
		NOUNROLL
		for (int i = 0; i < SEG_LEN; i += 4)
			sum += load_le32(seg + i);
		__u16 csum = (__u16)~fold(sum);
		acc = acc * 31 + __builtin_bswap16(csum);
	}
	return (int)acc;
}

BENCH_LICENSE
