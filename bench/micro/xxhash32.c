/* xxhash32.c - XXH32 over the 256 payload bytes (four 32-bit lanes, 16-byte
 * stripes, then the merge and avalanche), 16 times, each seeded with the
 * previous hash. Idioms: 32-bit rotates, multiplies, little-endian loads.
 */
#include "bench.h"

#define REPS 48

#define P32_1 2654435761u
#define P32_2 2246822519u
#define P32_3 3266489917u
#define P32_4 668265263u
#define P32_5 374761393u

static __always_inline __u32 round32(__u32 acc, __u32 in)
{
	acc += in * P32_2;
	acc = ROTL32(acc, 13);
	return acc * P32_1;
}

/* XXH32 of the PAY_LEN bytes at @p (a multiple of 16: no tail). */
static __always_inline __u32 xxh32(const __u8 *p, __u32 seed)
{
	__u32 v1 = seed + P32_1 + P32_2, v2 = seed + P32_2, v3 = seed, v4 = seed - P32_1;
	NOUNROLL
	for (int i = 0; i < PAY_LEN; i += 16) {
		v1 = round32(v1, load_le32(p + i));
		v2 = round32(v2, load_le32(p + i + 4));
		v3 = round32(v3, load_le32(p + i + 8));
		v4 = round32(v4, load_le32(p + i + 12));
	}
	__u32 h = ROTL32(v1, 1) + ROTL32(v2, 7) + ROTL32(v3, 12) + ROTL32(v4, 18);
	h += PAY_LEN;
	h ^= h >> 15;
	h *= P32_2;
	h ^= h >> 13;
	h *= P32_3;
	h ^= h >> 16;
	return h;
}

SEC("xdp")
int bench_xxhash32(struct xdp_md *ctx)
{
	const __u8 *pkt = packet(ctx, PKT_LEN);
	if (!pkt)
		return 0;
	__u32 h = 0;
	NOUNROLL
	for (int r = 0; r < REPS; r++)
		h = xxh32(pkt + OFF_PAY, h);
	return (int)h;
}

BENCH_LICENSE
