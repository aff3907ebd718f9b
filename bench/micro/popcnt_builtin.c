/* popcnt_builtin.c - dense population counts written with the compiler's
 * builtins (clang emits its SWAR sequence for BPF, which the recognizer
 * turns into popcount sites): the 256 payload bytes as 32 64-bit words and
 * as 64 32-bit words, each counted, and the Hamming distance of every word
 * to the next; 16 times. Idioms: popcount (64 and 32 bit).
 */
#include "bench.h"

#define REPS 16

SEC("xdp")
int bench_popcnt_builtin(struct xdp_md *ctx)
{
	const __u8 *pkt = packet(ctx, PKT_LEN);
	if (!pkt)
		return 0;
	__u64 total = 0, dist = 0;
	NOUNROLL
	for (int r = 0; r < REPS; r++) {
		barrier();
		const __u8 *p = pkt + OFF_PAY;
		__u64 prev = (__u64)r * 0x9e3779b97f4a7c15ull;
		NOUNROLL
		for (int i = 0; i < PAY_LEN; i += 8) {
			__u64 w = load_le64(p + i);
			total += __builtin_popcountll(w);
			dist += __builtin_popcountll(w ^ prev);
			total += __builtin_popcount(load_le32(p + i) ^ (__u32)dist);
			prev = w;
		}
	}
	return (int)(total * 1000003 + dist);
}

BENCH_LICENSE
