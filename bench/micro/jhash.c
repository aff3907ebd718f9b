/* jhash.c - Bob Jenkins' lookup3 hash of three words (the kernel's
 * jhash_3words: source address, destination address, ports), 256 times
 * with the port word and the initial value varying. Idioms: 32-bit rotates
 * (14, 11, 25, 16, 4, 24), add/sub/xor chains.
 */
#include "bench.h"

#define ITERS 256
#define JHASH_INITVAL 0xdeadbeefu

/* lookup3's final mix of (a, b, c); returns c. */
static __always_inline __u32 jhash_final(__u32 a, __u32 b, __u32 c)
{
	c ^= b; c -= ROTL32(b, 14);
	a ^= c; a -= ROTL32(c, 11);
	b ^= a; b -= ROTL32(a, 25);
	c ^= b; c -= ROTL32(b, 16);
	a ^= c; a -= ROTL32(c, 4);
	b ^= a; b -= ROTL32(a, 14);
	c ^= b; c -= ROTL32(b, 24);
	return c;
}

static __always_inline __u32 jhash_3words(__u32 a, __u32 b, __u32 c, __u32 initval)
{
	__u32 s = JHASH_INITVAL + (3u << 2) + initval;
	return jhash_final(a + s, b + s, c + s);
}

SEC("xdp")
int bench_jhash(struct xdp_md *ctx)
{
	const __u8 *pkt = packet(ctx, PKT_LEN);
	if (!pkt)
		return 0;
	__u32 saddr = load_le32(pkt + OFF_IP + 12), daddr = load_le32(pkt + OFF_IP + 16);
	__u32 ports = load_le32(pkt + OFF_TCP);
	__u32 h = 0, acc = 0;
	NOUNROLL
	for (int i = 0; i < ITERS; i++) {
		h = jhash_3words(saddr, daddr, ports ^ (__u32)i, h);
		acc += h & 0xfff;
	}
	return (int)(h ^ acc);
}

BENCH_LICENSE
