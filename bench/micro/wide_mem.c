/* wide_mem.c - dense fields of unknown alignment read byte by byte, the
 * portable way a parser reads them (p[0] | p[1] << 8 | ..., and the
 * big-endian order): little-endian 16-, 32- and 64-bit and big-endian
 * 32-bit reads at every 7th payload byte (one loop each), 16 times. clang -O2 keeps the
 * byte loads, shifts and ors for BPF. Idioms: wide_load (little-endian),
 * bswap_load (big-endian byte compositions).
 */
#include "bench.h"

#define REPS 16

static __always_inline __u16 rd_le16(const __u8 *p)
{
	return (__u16)(p[0] | p[1] << 8);
}

static __always_inline __u32 rd_le32(const __u8 *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (__u32)p[3] << 24;
}

static __always_inline __u64 rd_le64(const __u8 *p)
{
	return (__u64)p[0] | (__u64)p[1] << 8 | (__u64)p[2] << 16 | (__u64)p[3] << 24 |
	       (__u64)p[4] << 32 | (__u64)p[5] << 40 | (__u64)p[6] << 48 | (__u64)p[7] << 56;
}

static __always_inline __u32 rd_be32(const __u8 *p)
{
	return (__u32)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

SEC("xdp")
int bench_wide_mem(struct xdp_md *ctx)
{
	const __u8 *pkt = packet(ctx, PKT_LEN);
	if (!pkt)
		return 0;
	__u64 h = 0;
	NOUNROLL
	for (int r = 0; r < REPS; r++) {
		barrier();
		const __u8 *p = pkt + OFF_PAY;
		/* one read per loop body: clang interleaves the byte loads of
		 * reads in one body, and the recognizer's windows of two
		 * interleaved reads overlap (one site for the pair) */
		NOUNROLL
		for (int i = 0; i < PAY_LEN - 8; i += 7)
			h = h * 31 + rd_le32(p + i);
		NOUNROLL
		for (int i = 1; i < PAY_LEN - 8; i += 7)
			h ^= rd_le64(p + i) + i;
		NOUNROLL
		for (int i = 2; i < PAY_LEN - 8; i += 7)
			h += rd_le16(p + i) * 3;
		NOUNROLL
		for (int i = 3; i < PAY_LEN - 8; i += 7)
			h ^= rd_be32(p + i);
	}
	return (int)(h ^ (h >> 32));
}

BENCH_LICENSE
