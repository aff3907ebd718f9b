/* bitfields.c - decoding packed descriptors: the 256 payload bytes read as
 * 32 big-endian 64-bit words, each split into seven fields of 3 to 20 bits
 * (shift and mask) that are combined into a digest; 32 times. Idioms:
 * bit-field extraction, byte-order loads.
 */
#include "bench.h"

#define REPS 32

SEC("xdp")
int bench_bitfields(struct xdp_md *ctx)
{
	const __u8 *pkt = packet(ctx, PKT_LEN);
	if (!pkt)
		return 0;
	__u64 digest = 0;
	NOUNROLL
	for (int r = 0; r < REPS; r++) {
		barrier();
		const __u8 *p = pkt + OFF_PAY;
		NOUNROLL
		for (int i = 0; i < PAY_LEN; i += 8) {
			__u64 w = load_be64(p + i);
			__u64 kind = (w >> 61) & 0x7;
			__u64 queue = (w >> 55) & 0x3f;
			__u64 len = (w >> 41) & 0x3fff;
			__u64 off = (w >> 21) & 0xfffff;
			__u64 csum_ok = (w >> 20) & 0x1;
			__u64 vlan = (w >> 8) & 0xfff;
			__u64 flags = w & 0xff;
			digest = digest * 0x100000001b3ull +
				 (kind << 60 | queue << 50 | csum_ok << 49) + len * off + (vlan ^ flags);
		}
	}
	return (int)(digest ^ (digest >> 32));
}

BENCH_LICENSE
