/* bswap_dense.c - big-endian loads: the payload read as network-order
 * 16-, 32- and 64-bit values (ntohs/ntohl/be64toh of memory) as the
 * disjoint fields of 28-byte records at unaligned offsets, summed and
 * compared; 32 times. Idioms: dense byte-swapped
 * loads (load + bswap).
 */
#include "bench.h"

#define REPS 32

SEC("xdp")
int bench_bswap_dense(struct xdp_md *ctx)
{
	const __u8 *pkt = packet(ctx, PKT_LEN);
	if (!pkt)
		return 0;
	__u64 s64 = 0;
	__u32 s32 = 0, s16 = 0, gt = 0;
	NOUNROLL
	for (int r = 0; r < REPS; r++) {
		barrier();
		const __u8 *p = pkt + OFF_PAY + (r & 7);
		NOUNROLL
		for (int i = 0; i < 224; i += 28) {      /* 28-byte records, disjoint fields */
			__u64 a = load_be64(p + i), b = load_be64(p + i + 8);
			__u32 c = load_be32(p + i + 16), d = load_be32(p + i + 20);
			__u16 e = load_be16(p + i + 24), f = load_be16(p + i + 26);
			s64 += a ^ (b >> 3);
			s32 += c - d;
			s16 += e * f;
			gt += a > b;
		}
	}
	return (int)(s64 ^ (s64 >> 32) ^ s32 ^ s16 ^ gt << 28);
}

BENCH_LICENSE
