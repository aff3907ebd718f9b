/* ctz_clz.c - counting trailing and leading zeros the portable way (clang
 * 14 cannot build __builtin_ctz/clz for BPF): the lowest set bit by the
 * de Bruijn multiply and a 32-entry table (read-only data), the highest
 * by a binary-search shift cascade, over 64 words of the payload; 32
 * times. Idioms: x & -x, multiply, table lookup, shift/compare cascades.
 */
#include "bench.h"

#define REPS 32

RODATA static const __u8 debruijn32[32] = {
	0, 1, 28, 2, 29, 14, 24, 3, 30, 22, 20, 15, 25, 17, 4, 8,
	31, 27, 13, 23, 21, 19, 16, 7, 26, 12, 18, 6, 11, 5, 10, 9,
};

static __always_inline __u32 ctz32(__u32 x)
{
	return x ? debruijn32[((x & -x) * 0x077cb531u) >> 27] : 32;
}

static __always_inline __u32 clz32(__u32 x)
{
	if (!x)
		return 32;
	__u32 n = 0;
	if (!(x & 0xffff0000u)) { n += 16; x <<= 16; }
	if (!(x & 0xff000000u)) { n += 8; x <<= 8; }
	if (!(x & 0xf0000000u)) { n += 4; x <<= 4; }
	if (!(x & 0xc0000000u)) { n += 2; x <<= 2; }
	if (!(x & 0x80000000u)) { n += 1; }
	return n;
}

SEC("xdp")
int bench_ctz_clz(struct xdp_md *ctx)
{
	const __u8 *pkt = packet(ctx, PKT_LEN);
	if (!pkt)
		return 0;
	__u32 sum = 0, digest = 0;
	NOUNROLL
	for (int r = 0; r < REPS; r++) {
		barrier();
		const __u8 *p = pkt + OFF_PAY;
		NOUNROLL
		for (int i = 0; i < PAY_LEN; i += 4) {
			__u32 w = load_le32(p + i) >> (r & 15);
			__u32 t = ctz32(w), l = clz32(w);
			sum += t + l;
			digest = digest * 37 + (t << 6 | l);
		}
	}
	return (int)(digest ^ sum << 16);
}

BENCH_LICENSE
