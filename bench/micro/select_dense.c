/* select_dense.c - branch-free conditional moves: each payload byte
 * clamped into a range, saturating add, a running min/max and a
 * median-of-three filter, all as selects; 12 windows of
 * 64 bytes. Idioms: dense selects
 * (compare and conditional move).
 */
#include "bench.h"

#define REPS 12

static __always_inline __u32 min_u(__u32 a, __u32 b) { return a < b ? a : b; }
static __always_inline __u32 max_u(__u32 a, __u32 b) { return a > b ? a : b; }

SEC("xdp")
int bench_select_dense(struct xdp_md *ctx)
{
	const __u8 *pkt = packet(ctx, PKT_LEN);
	if (!pkt)
		return 0;
	/* bounds and starting values from the packet: unknown to the verifier,
	 * so its states merge (constant arms would be tracked apart) */
	__u32 floor = pkt[OFF_IP + 8] / 2, ceil = pkt[OFF_IP + 8] * 2 - 2, top = pkt[OFF_IP + 1] + 239;
	__u32 lo = pkt[OFF_PAY + 250], hi = pkt[OFF_PAY + 251], acc = 0, sat = pkt[OFF_PAY + 252];
	NOUNROLL
	for (int r = 0; r < REPS; r++) {
		barrier();
		const __u8 *p = pkt + OFF_PAY + ((r * 13) & 127);
		__u32 prev2 = p[64], prev1 = p[65];
		NOUNROLL
		for (int i = 0; i < 64; i++) {
			__u32 c = p[i];
			opaque(c);
			lo = min_u(lo, c);
			hi = max_u(hi, c);
			__u32 cl = c < floor ? floor : c;
			cl = cl > ceil ? ceil : cl;
			__u32 s = sat + c;
			s = s > top ? top : s;
			sat = (s == top) ? (c & 15) : s;
			__u32 med = max_u(min_u(prev2, prev1), min_u(max_u(prev2, prev1), c));
			acc = acc * 33 + (cl ^ med);
			prev2 = prev1;
			prev1 = c;
		}
	}
	return (int)(acc ^ lo << 8 ^ hi << 16 ^ sat << 24);
}

BENCH_LICENSE
