/* extract16.c - 16-bit fields: the payload read as 64-bit words holding
 * four 16-bit lanes (an IPv6 address's groups, port pairs), each lane
 * extracted by shift and mask and folded one's-complement style and as
 * a product; 32 times. Idioms: dense 16-bit extracts.
 */
#include "bench.h"

#define REPS 32

SEC("xdp")
int bench_extract16(struct xdp_md *ctx)
{
	const __u8 *pkt = packet(ctx, PKT_LEN);
	if (!pkt)
		return 0;
	__u64 fold = 0, prod = 1;
	NOUNROLL
	for (int r = 0; r < REPS; r++) {
		barrier();
		const __u8 *p = pkt + OFF_PAY;
		NOUNROLL
		for (int i = 0; i < PAY_LEN; i += 8) {
			__u64 w = load_le64(p + i) ^ r;
			__u64 g0 = w & 0xffff, g1 = (w >> 16) & 0xffff, g2 = (w >> 32) & 0xffff, g3 = w >> 48;
			fold += g0 + g1 + g2 + g3;
			prod = prod * ((g0 ^ g3) | 1) + (g1 * g2 >> 7);
		}
		fold = (fold & 0xffff) + (fold >> 16);
	}
	return (int)(fold ^ prod ^ (prod >> 32));
}

BENCH_LICENSE
