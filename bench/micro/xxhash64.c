/* xxhash64.c - XXH64 over the 256 payload bytes (four 64-bit lanes, 32-byte
 * stripes, lane merge, avalanche), 16 times, each seeded with the previous
 * hash. Idioms: 64-bit rotates and multiplies, little-endian loads.
 */
#include "bench.h"

#define REPS 80

#define P64_1 0x9E3779B185EBCA87ull
#define P64_2 0xC2B2AE3D27D4EB4Full
#define P64_3 0x165667B19E3779F9ull
#define P64_4 0x85EBCA77C2B2AE63ull

static __always_inline __u64 round64(__u64 acc, __u64 in)
{
	acc += in * P64_2;
	acc = ROTL64(acc, 31);
	return acc * P64_1;
}

static __always_inline __u64 merge64(__u64 acc, __u64 v)
{
	acc ^= round64(0, v);
	return acc * P64_1 + P64_4;
}

/* XXH64 of the PAY_LEN bytes at @p (a multiple of 32: no tail). */
static __always_inline __u64 xxh64(const __u8 *p, __u64 seed)
{
	__u64 v1 = seed + P64_1 + P64_2, v2 = seed + P64_2, v3 = seed, v4 = seed - P64_1;
	NOUNROLL
	for (int i = 0; i < PAY_LEN; i += 32) {
		v1 = round64(v1, load_le64(p + i));
		v2 = round64(v2, load_le64(p + i + 8));
		v3 = round64(v3, load_le64(p + i + 16));
		v4 = round64(v4, load_le64(p + i + 24));
	}
	__u64 h = ROTL64(v1, 1) + ROTL64(v2, 7) + ROTL64(v3, 12) + ROTL64(v4, 18);
	h = merge64(h, v1);
	h = merge64(h, v2);
	h = merge64(h, v3);
	h = merge64(h, v4);
	h += PAY_LEN;
	h ^= h >> 33;
	h *= P64_2;
	h ^= h >> 29;
	h *= P64_3;
	h ^= h >> 32;
	return h;
}

SEC("xdp")
int bench_xxhash64(struct xdp_md *ctx)
{
	const __u8 *pkt = packet(ctx, PKT_LEN);
	if (!pkt)
		return 0;
	__u64 h = 0;
	NOUNROLL
	for (int r = 0; r < REPS; r++)
		h = xxh64(pkt + OFF_PAY, h);
	return (int)(h ^ (h >> 32));
}

BENCH_LICENSE
