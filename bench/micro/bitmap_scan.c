/* bitmap_scan.c - scanning allocation bitmaps: the 256 payload bytes as 32
 * 64-bit words; per word the first set bit and the first free (clear) bit
 * through an isolate-lowest-bit multiply by a de Bruijn constant and a
 * 64-entry table in read-only data, the highest set bit by smearing, and
 * the number of runs of ones; 32 times. Idioms: x & -x, multiply, table
 * lookup, shift/or smearing, popcount.
 */
#include "bench.h"

#define REPS 32

static const __u8 debruijn_pos[64] RODATA = {
	0, 1, 48, 2, 57, 49, 28, 3, 61, 58, 50, 42, 38, 29, 17, 4,
	62, 55, 59, 36, 53, 51, 43, 22, 45, 39, 33, 30, 24, 18, 12, 5,
	63, 47, 56, 27, 60, 41, 37, 16, 54, 35, 52, 21, 44, 32, 23, 11,
	46, 26, 40, 15, 34, 20, 31, 10, 25, 14, 19, 9, 13, 8, 7, 6,
};

/* Index of the lowest set bit of @x (64 for 0: the table gives 0 and the
 * caller adds the zero test). */
static __always_inline __u64 ctz64(__u64 x)
{
	__u64 low = x & -x;
	return debruijn_pos[(low * 0x03f79d71b4cb0a89ull) >> 58] + ((__u64)(x == 0) << 6);
}

static __always_inline __u64 popcount64(__u64 x)
{
	x = x - ((x >> 1) & 0x5555555555555555ull);
	x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (x * 0x0101010101010101ull) >> 56;
}

/* Index of the highest set bit plus one (0 for 0). */
static __always_inline __u64 bitlen64(__u64 x)
{
	x |= x >> 1;
	x |= x >> 2;
	x |= x >> 4;
	x |= x >> 8;
	x |= x >> 16;
	x |= x >> 32;
	return popcount64(x);
}

SEC("xdp")
int bench_bitmap_scan(struct xdp_md *ctx)
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
			__u64 w = load_le64(p + i) >> (r & 7);
			__u64 first_used = ctz64(w);
			__u64 first_free = ctz64(~w);
			__u64 top = bitlen64(w);
			__u64 runs = popcount64(w & ~(w << 1));
			digest = digest * 31 + (first_used | first_free << 8 | top << 16 | runs << 24);
		}
	}
	return (int)(digest ^ (digest >> 32));
}

BENCH_LICENSE
