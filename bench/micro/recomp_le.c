/* recomp_le.c - little-endian values recomposed from bytes (portable
 * parsers written without unaligned loads: p[0] | p[1] << 8 | ...): 16-,
 * 32- and 64-bit values the disjoint fields of 28-byte records
 * at unaligned offsets, summed; 32 times. Idioms:
 * byte-recomposed little-endian loads (one wide load where allowed).
 */
#include "bench.h"

#define REPS 32

static __always_inline __u32 rd_le16(const __u8 *p) { return p[0] | (__u32)p[1] << 8; }
static __always_inline __u32 rd_le32(const __u8 *p)
{
	return p[0] | (__u32)p[1] << 8 | (__u32)p[2] << 16 | (__u32)p[3] << 24;
}
static __always_inline __u64 rd_le64(const __u8 *p)
{
	return rd_le32(p) | (__u64)rd_le32(p + 4) << 32;
}

SEC("xdp")
int bench_recomp_le(struct xdp_md *ctx)
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
			s64 = s64 * 3 + (rd_le64(p + i) ^ rd_le64(p + i + 8));
			s32 += rd_le32(p + i + 16) * 7 + rd_le32(p + i + 20);
			s16 ^= rd_le16(p + i + 24) + rd_le16(p + i + 26);
		}
	}
	return (int)(s64 ^ (s64 >> 32) ^ s32 ^ s16 << 16);
}

BENCH_LICENSE
