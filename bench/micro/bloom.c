/* bloom.c - a Bloom filter of flows on the stack: 1024 bits (16 words, as
 * found in the packet), three bit positions per key from two hashes
 * (double hashing: h1 + k*h2, rotates and multiplies); 256 keys inserted
 * (set bits), 256 others tested (all three bits set?). Idioms: bit set and
 * test at a variable position (shift by register), indexed words,
 * extraction, rotates.
 */
#include "bench.h"

#define NINS 256
#define NQRY 256
#define NWORDS 16

static __always_inline __u32 h1(__u32 x)
{
	x ^= x >> 16;
	x *= 0x7feb352du;
	x ^= x >> 15;
	x *= 0x846ca68bu;
	x ^= x >> 16;
	return x;
}

static __always_inline __u32 h2(__u32 x)
{
	return ROTL32(x * 0xcc9e2d51u, 15) * 0x1b873593u | 1;
}

SEC("xdp")
int bench_bloom(struct xdp_md *ctx)
{
	const __u8 *pkt = packet(ctx, PKT_LEN);
	if (!pkt)
		return 0;
	__u64 bits[NWORDS];
	for (int w = 0; w < NWORDS; w++)
		bits[w] = load_le64(pkt + OFF_PAY + 8 * w) & load_le64(pkt + OFF_PAY + 128 + 8 * w) &
			  0x1111111111111111ull;
	__u32 base = load_le32(pkt + OFF_IP + 12);
	NOUNROLL
	for (int i = 0; i < NINS; i++) {
		__u32 key = base + (__u32)i * 2654435761u;
		__u32 a = h1(key), b = h2(key);
		for (int k = 0; k < 3; k++) {
			__u32 pos = (a + (__u32)k * b) & (NWORDS * 64 - 1);
			bits[pos >> 6] |= 1ull << (pos & 63);
		}
	}
	__u32 hits = 0;
	NOUNROLL
	for (int i = 0; i < NQRY; i++) {
		__u32 key = base + (__u32)(i + NINS / 2) * 2654435761u;  /* half were inserted */
		__u32 a = h1(key), b = h2(key);
		__u64 all = 1;
		for (int k = 0; k < 3; k++) {
			__u32 pos = (a + (__u32)k * b) & (NWORDS * 64 - 1);
			all &= bits[pos >> 6] >> (pos & 63);
		}
		hits += (__u32)(all & 1);
	}
	__u64 digest = hits;
	for (int w = 0; w < NWORDS; w++)
		digest = digest * 31 + bits[w];
	return (int)(digest ^ (digest >> 32));
}

BENCH_LICENSE
