/* murmur3.c - MurmurHash3 (x86, 32-bit) over the 256 payload bytes, 16
 * times, each seeded with the previous hash. Idioms: 32-bit rotates by 13
 * and 15, multiplies, little-endian loads, the fmix32 finalizer.
 */
#include "bench.h"

#define REPS 16

static __always_inline __u32 murmur3_32(const __u8 *p, __u32 seed)
{
	__u32 h = seed;
	NOUNROLL
	for (int i = 0; i < PAY_LEN; i += 4) {
		__u32 k = load_le32(p + i);
		k *= 0xcc9e2d51u;
		k = ROTL32(k, 15);
		k *= 0x1b873593u;
		h ^= k;
		h = ROTL32(h, 13);
		h = h * 5 + 0xe6546b64u;
	}
	h ^= PAY_LEN;
	return fmix32(h);
}

SEC("xdp")
int bench_murmur3(struct xdp_md *ctx)
{
	const __u8 *pkt = packet(ctx, PKT_LEN);
	if (!pkt)
		return 0;
	__u32 h = 0;
	NOUNROLL
	for (int r = 0; r < REPS; r++)
		h = murmur3_32(pkt + OFF_PAY, h);
	return (int)h;
}

BENCH_LICENSE
