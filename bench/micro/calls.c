/* calls.c - BPF-to-BPF calls: a flow hash built from small subprograms
 * the compiler may not inline (noinline: a mixing round, a 16-byte key
 * hash that calls the mixer, a bucket clamp), called for every 16-byte
 * window of the payload; 16 times. Idioms: calls and returns, argument
 * moves, callee-saved registers across calls.
 */
#include "bench.h"

#define REPS 16

static __attribute__((noinline)) __u32 mix_round(__u32 h, __u32 k)
{
	k *= 0xcc9e2d51u;
	k = ROTL32(k, 15);
	k *= 0x1b873593u;
	h ^= k;
	h = ROTL32(h, 13);
	return h * 5 + 0xe6546b64u;
}

static __attribute__((noinline)) __u32 hash_key(__u32 a, __u32 b, __u32 c, __u32 d)
{
	__u32 h = mix_round(0x12345678u, a);
	h = mix_round(h, b);
	h = mix_round(h, c);
	return mix_round(h, d);
}

static __attribute__((noinline)) __u32 bucket(__u32 h, __u32 n)
{
	return n ? h % n : 0;
}

SEC("xdp")
int bench_calls(struct xdp_md *ctx)
{
	const __u8 *pkt = packet(ctx, PKT_LEN);
	if (!pkt)
		return 0;
	__u32 digest = 0, hits = 0;
	NOUNROLL
	for (int r = 0; r < REPS; r++) {
		barrier();
		const __u8 *p = pkt + OFF_PAY;
		NOUNROLL
		for (int i = 0; i < PAY_LEN; i += 16) {
			__u32 h = hash_key(load_le32(p + i) + r, load_le32(p + i + 4), load_le32(p + i + 8),
					   load_le32(p + i + 12));
			hits += bucket(h, 61) == 7;
			digest = digest * 31 + fmix32(h);
		}
	}
	return (int)(digest ^ hits);
}

BENCH_LICENSE
