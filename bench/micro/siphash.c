/* siphash.c - SipHash-2-4 (64-bit ARX: add, rotate by 13/16/17/21/32, xor)
 * of the 16-byte flow key (IPv4 addresses and ports, protocol), keyed with
 * a 128-bit key, 128 times; each hash is keyed by the previous result.
 * Idioms: 64-bit rotates, byte-order loads.
 */
#include "bench.h"

#define ITERS 128

#define SIPROUND(v0, v1, v2, v3)                          \
	do {                                              \
		v0 += v1; v1 = ROTL64(v1, 13); v1 ^= v0;   \
		v0 = ROTL64(v0, 32);                      \
		v2 += v3; v3 = ROTL64(v3, 16); v3 ^= v2;   \
		v0 += v3; v3 = ROTL64(v3, 21); v3 ^= v0;   \
		v2 += v1; v1 = ROTL64(v1, 17); v1 ^= v2;   \
		v2 = ROTL64(v2, 32);                      \
	} while (0)

/* SipHash-2-4 of two 64-bit words (a 16-byte message). */
static __always_inline __u64 siphash16(__u64 k0, __u64 k1, __u64 m0, __u64 m1)
{
	__u64 v0 = k0 ^ 0x736f6d6570736575ull;
	__u64 v1 = k1 ^ 0x646f72616e646f6dull;
	__u64 v2 = k0 ^ 0x6c7967656e657261ull;
	__u64 v3 = k1 ^ 0x7465646279746573ull;
	v3 ^= m0;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	v0 ^= m0;
	v3 ^= m1;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	v0 ^= m1;
	__u64 b = 16ull << 56;
	v3 ^= b;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

SEC("xdp")
int bench_siphash(struct xdp_md *ctx)
{
	const __u8 *pkt = packet(ctx, PKT_LEN);
	if (!pkt)
		return 0;
	__u64 m0 = load_le64(pkt + OFF_IP + 12);            /* saddr, daddr */
	__u64 m1 = (__u64)load_le32(pkt + OFF_TCP) << 8 | pkt[OFF_IP + 9]; /* ports, protocol */
	__u64 k0 = 0x0706050403020100ull, k1 = 0x0f0e0d0c0b0a0908ull;
	__u64 h = 0;
	NOUNROLL
	for (int i = 0; i < ITERS; i++) {
		h = siphash16(k0 ^ h, k1 + i, m0, m1 + i);
	}
	return (int)(h ^ (h >> 32));
}

BENCH_LICENSE
