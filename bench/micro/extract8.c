/* extract8.c - byte fields of 64-bit words: every byte of the 32 payload
 * words taken out by shift and mask (w >> 8k & 0xff) into a weighted sum
 * and a byte histogram index; 32 times. Idioms: dense 8-bit extracts.
 */
#include "bench.h"

#define REPS 32

SEC("xdp")
int bench_extract8(struct xdp_md *ctx)
{
	const __u8 *pkt = packet(ctx, PKT_LEN);
	if (!pkt)
		return 0;
	__u64 sum = 0, mix = 0;
	NOUNROLL
	for (int r = 0; r < REPS; r++) {
		barrier();
		const __u8 *p = pkt + OFF_PAY;
		NOUNROLL
		for (int i = 0; i < PAY_LEN; i += 8) {
			__u64 w = load_le64(p + i) + r;
			__u64 b0 = w & 0xff, b1 = (w >> 8) & 0xff, b2 = (w >> 16) & 0xff, b3 = (w >> 24) & 0xff;
			__u64 b4 = (w >> 32) & 0xff, b5 = (w >> 40) & 0xff, b6 = (w >> 48) & 0xff, b7 = w >> 56;
			sum += b0 + 2 * b1 + 3 * b2 + 4 * b3 + 5 * b4 + 6 * b5 + 7 * b6 + 8 * b7;
			mix = mix * 131 + (b0 ^ b7) * (b1 ^ b6) + (b2 ^ b5) * (b3 ^ b4);
		}
	}
	return (int)(sum * 0x9e3779b9u ^ mix ^ (mix >> 32));
}

BENCH_LICENSE
