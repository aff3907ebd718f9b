/* hll.c - a HyperLogLog sketch of distinct flows: per flow a 64-bit hash
 * (xxh64-style multiply and rotate mixing), its top 6 bits pick one of 64
 * registers (extraction) and the rank of the rest (leading zeros + 1, by
 * smearing and popcount) is kept if larger (max); then the sum of the
 * registers and the count of empty ones; 512 flows. Registers as found.
 * Idioms: 64-bit rotates and multiplies, extraction, max, popcount.
 */
#include "bench.h"

#define ITERS 512
#define NREG 64

static __always_inline __u64 mix64(__u64 x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x = ROTL64(x, 29);
	x ^= x >> 32;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 29;
	return x;
}

static __always_inline __u64 popcount64(__u64 x)
{
	x = x - ((x >> 1) & 0x5555555555555555ull);
	x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (x * 0x0101010101010101ull) >> 56;
}

SEC("xdp")
int bench_hll(struct xdp_md *ctx)
{
	const __u8 *pkt = packet(ctx, PKT_LEN);
	if (!pkt)
		return 0;
	__u8 reg[NREG];
	for (int b = 0; b < NREG; b++)
		reg[b] = pkt[OFF_PAY + 128 + b] & 3;
	__u64 flow = load_le64(pkt + OFF_IP + 12) ^ (__u64)load_le32(pkt + OFF_TCP) << 17;
	NOUNROLL
	for (int i = 0; i < ITERS; i++) {
		__u64 h = mix64(flow + (__u64)(i % 300) * 0x9E3779B97F4A7C15ull);
		__u32 idx = (__u32)(h >> 58);
		__u64 rest = h << 6 | 1u << 5;         /* the remaining 58 bits, never all zero */
		__u64 smear = rest;
		smear |= smear >> 1;
		smear |= smear >> 2;
		smear |= smear >> 4;
		smear |= smear >> 8;
		smear |= smear >> 16;
		smear |= smear >> 32;
		__u8 rank = (__u8)(64 - popcount64(smear) + 1);
		__u8 cur = reg[idx];
		reg[idx] = rank > cur ? rank : cur;
	}
	__u32 sum = 0, zeros = 0;
	for (int b = 0; b < NREG; b++) {
		sum += reg[b];
		zeros += reg[b] == 0;
	}
	return (int)(sum << 8 | zeros);
}

BENCH_LICENSE
