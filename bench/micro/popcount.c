/* popcount.c - population counts of a bitmap: the 256 payload bytes as 32
 * 64-bit words, each counted with the SWAR method (pairs, nibbles, bytes,
 * then a multiply that adds the bytes), plus the parity of each word and
 * the count of bits that differ from the neighbouring word; 32 times.
 * Idioms: shift-and-mask chains, multiply-accumulate.
 */
#include "bench.h"

#define REPS 32

static __always_inline __u64 popcount64(__u64 x)
{
	x = x - ((x >> 1) & 0x5555555555555555ull);
	x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (x * 0x0101010101010101ull) >> 56;
}

SEC("xdp")
int bench_popcount(struct xdp_md *ctx)
{
	const __u8 *pkt = packet(ctx, PKT_LEN);
	if (!pkt)
		return 0;
	__u64 total = 0, parity = 0, changes = 0;
	NOUNROLL
	for (int r = 0; r < REPS; r++) {
		barrier();
		const __u8 *p = pkt + OFF_PAY;
		__u64 prev = (__u64)r;
		NOUNROLL
		for (int i = 0; i < PAY_LEN; i += 8) {
			__u64 w = load_le64(p + i);
			__u64 c = popcount64(w);
			total += c;
			parity = parity << 1 | (c & 1);
			changes += popcount64(w ^ prev);
			prev = w;
		}
	}
	return (int)(total * 1000003 + changes) ^ (int)(parity ^ (parity >> 32));
}

BENCH_LICENSE
