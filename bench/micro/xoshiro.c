/* xoshiro.c - the xoshiro256** generator seeded by splitmix64 from the
 * flow key, 1024 outputs, each mixed into a 64-bit accumulator with
 * rotates (rotl 7, 23, 45 and a digest rotate). Idioms: dense 64-bit
 * rotates, 64-bit shifts and xors.
 */
#include "bench.h"

#define ITERS 1024

static __always_inline __u64 splitmix(__u64 *s)
{
	__u64 z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

SEC("xdp")
int bench_xoshiro(struct xdp_md *ctx)
{
	const __u8 *pkt = packet(ctx, PKT_LEN);
	if (!pkt)
		return 0;
	__u64 seed = load_le64(pkt + OFF_IP + 12) ^ load_le32(pkt + OFF_TCP);
	__u64 s0 = splitmix(&seed), s1 = splitmix(&seed), s2 = splitmix(&seed), s3 = splitmix(&seed);
	__u64 acc = 0;
	NOUNROLL
	for (int i = 0; i < ITERS; i++) {
		__u64 out = ROTL64(s1 * 5, 7) * 9;
		__u64 t = s1 << 17;
		s2 ^= s0;
		s3 ^= s1;
		s1 ^= s2;
		s0 ^= s3;
		s2 ^= t;
		s3 = ROTL64(s3, 45);
		acc = ROTL64(acc ^ out, 23) + (out >> 11);
	}
	return (int)(acc ^ (acc >> 32));
}

BENCH_LICENSE
