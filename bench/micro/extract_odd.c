/* extract_odd.c - unaligned bit fields of 32-bit words: descriptors of a
 * 3-bit class, an 11-bit length at bit 3, a 5-bit queue at bit 14, a
 * 13-bit offset at bit 19 (64 words of the payload, little-endian), each
 * field by shift and mask, combined; 32 times. Idioms: 32-bit extracts
 * at odd positions and widths.
 */
#include "bench.h"

#define REPS 32

SEC("xdp")
int bench_extract_odd(struct xdp_md *ctx)
{
	const __u8 *pkt = packet(ctx, PKT_LEN);
	if (!pkt)
		return 0;
	__u32 digest = 0, total = 0;
	NOUNROLL
	for (int r = 0; r < REPS; r++) {
		barrier();
		const __u8 *p = pkt + OFF_PAY;
		NOUNROLL
		for (int i = 0; i < PAY_LEN; i += 4) {
			__u32 w = load_le32(p + i) + r;
			__u32 cls = w & 0x7;
			__u32 len = (w >> 3) & 0x7ff;
			__u32 q = (w >> 14) & 0x1f;
			__u32 off = (w >> 19) & 0x1fff;
			total += len;
			digest = digest * 31 + (cls << 24 | q << 16) + (off ^ len);
		}
	}
	return (int)(digest ^ total);
}

BENCH_LICENSE
