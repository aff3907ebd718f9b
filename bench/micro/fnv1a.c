/* fnv1a.c - FNV-1a (32-bit) byte by byte over the 256 payload bytes, 16
 * times, continuing the hash. Idioms: byte loads, xor, multiply by the FNV
 * prime.
 */
#include "bench.h"

#define REPS 16

SEC("xdp")
int bench_fnv1a(struct xdp_md *ctx)
{
	const __u8 *pkt = packet(ctx, PKT_LEN);
	if (!pkt)
		return 0;
	const __u8 *p = pkt + OFF_PAY;
	__u32 h = 2166136261u;
	NOUNROLL
	for (int r = 0; r < REPS; r++) {
		NOUNROLL
		for (int i = 0; i < PAY_LEN; i++) {
			h ^= p[i];
			h *= 16777619u;
		}
	}
	return (int)h;
}

BENCH_LICENSE
