/* recomp_be.c - big-endian values recomposed from bytes (network-order
 * parsers written byte by byte: p[0] << 24 | p[1] << 16 | ...): 16-, 32-
 * and 64-bit fields the disjoint fields of 28-byte records
 * at unaligned offsets, summed; 32 times. Idioms:
 * byte-recomposed big-endian loads (one byte-swapped load where allowed).
 */
#include "bench.h"

#define REPS 32

static __always_inline __u32 rd_be16(const __u8 *p) { return (__u32)p[0] << 8 | p[1]; }
static __always_inline __u32 rd_be32(const __u8 *p)
{
	return (__u32)p[0] << 24 | (__u32)p[1] << 16 | (__u32)p[2] << 8 | p[3];
}
static __always_inline __u64 rd_be64(const __u8 *p)
{
	return (__u64)rd_be32(p) << 32 | rd_be32(p + 4);
}

SEC("xdp")
int bench_recomp_be(struct xdp_md *ctx)
{
	const __u8 *pkt = packet(ctx, PKT_LEN);
	if (!pkt)
		return 0;
	__u64 s64 = 0;
	__u32 s32 = 0, s16 = 0;
	NOUNROLL
	for (int r = 0; r < REPS; r++) {
		barrier();
		const __u8 *p = pkt + OFF_PAY + (r & 3);
		NOUNROLL
		for (int i = 0; i < 224; i += 28) {      /* 28-byte records, disjoint fields */
			s64 = s64 * 3 + (rd_be64(p + i) ^ rd_be64(p + i + 8));
			s32 += rd_be32(p + i + 16) * 7 + rd_be32(p + i + 20);
			s16 ^= rd_be16(p + i + 24) + rd_be16(p + i + 26);
		}
	}
	return (int)(s64 ^ (s64 >> 32) ^ s32 ^ s16 << 16);
}

BENCH_LICENSE
