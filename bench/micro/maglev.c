/* maglev.c - Maglev consistent hashing as in a software load balancer: the
 * flow hash (jhash-style rotates) modulo the table size 251 (a prime)
 * indexes a lookup table of backend ids in read-only data (filled offline
 * by Maglev's permutation algorithm for 7 backends), and per-backend
 * packet counters grow; 512 packets with varying source ports. Idioms:
 * rotates, modulo by a constant, byte table loads, indexed counters.
 */
#include "bench.h"

#define ITERS 512
#define M 251
#define NBACKENDS 7

static const __u8 lookup[M] RODATA = {
	3, 2, 3, 0, 3, 1, 3, 1, 3, 0, 3, 1, 4, 4, 6, 5, 1, 2, 0, 6,
	5, 4, 2, 0, 1, 6, 0, 2, 1, 2, 5, 4, 4, 1, 2, 5, 6, 1, 0, 6,
	4, 6, 4, 0, 0, 5, 1, 0, 5, 0, 4, 6, 0, 5, 1, 2, 6, 2, 5, 6,
	0, 4, 6, 1, 2, 5, 0, 1, 5, 4, 4, 2, 6, 5, 1, 1, 2, 6, 2, 4,
	1, 4, 6, 6, 1, 3, 5, 6, 6, 4, 2, 5, 1, 6, 4, 0, 5, 1, 4, 4,
	0, 1, 2, 0, 6, 1, 5, 3, 4, 6, 4, 2, 0, 1, 1, 0, 2, 0, 2, 5,
	0, 5, 1, 0, 5, 2, 0, 4, 4, 5, 6, 1, 2, 3, 5, 6, 5, 0, 4, 2,
	0, 3, 2, 0, 2, 6, 2, 4, 1, 5, 6, 6, 1, 3, 5, 3, 4, 5, 2, 3,
	0, 6, 5, 0, 1, 1, 4, 5, 4, 1, 2, 6, 6, 1, 5, 3, 4, 0, 4, 2,
	0, 3, 1, 0, 2, 4, 2, 6, 4, 3, 5, 3, 6, 2, 1, 5, 4, 0, 6, 1,
	2, 3, 5, 6, 2, 4, 4, 2, 6, 3, 5, 3, 2, 3, 0, 3, 1, 0, 6, 6,
	0, 3, 2, 3, 6, 3, 2, 3, 5, 3, 5, 3, 1, 5, 0, 3, 4, 3, 5, 3,
	2, 3, 3, 4, 4, 3, 0, 3, 5, 3, 1,
};

static __always_inline __u32 hash_flow(__u32 saddr, __u32 daddr, __u32 ports)
{
	__u32 a = saddr + 0x9e3779b9u, b = daddr + 0x9e3779b9u, c = ports;
	c ^= b; c -= ROTL32(b, 14);
	a ^= c; a -= ROTL32(c, 11);
	b ^= a; b -= ROTL32(a, 25);
	c ^= b; c -= ROTL32(b, 16);
	a ^= c; a -= ROTL32(c, 4);
	b ^= a; b -= ROTL32(a, 14);
	c ^= b; c -= ROTL32(b, 24);
	return c;
}

SEC("xdp")
int bench_maglev(struct xdp_md *ctx)
{
	const __u8 *pkt = packet(ctx, PKT_LEN);
	if (!pkt)
		return 0;
	__u32 saddr = load_be32(pkt + OFF_IP + 12), daddr = load_be32(pkt + OFF_IP + 16);
	__u32 ports = load_be32(pkt + OFF_TCP);
	__u32 count[8];
	for (int b = 0; b < 8; b++)
		count[b] = pkt[OFF_PAY + b];
	NOUNROLL
	for (int i = 0; i < ITERS; i++) {
		__u32 h = hash_flow(saddr, daddr, ports + ((__u32)i << 16));
		__u32 slot = h % M;
		opaque(slot);          /* keep the check: clang knows it holds, the verifier does not */
		if (slot >= M)
			continue;
		__u32 be = lookup[slot];
		count[be & 7]++;
	}
	__u32 digest = 0;
	for (int b = 0; b < 8; b++)
		digest = digest * 1009 + count[b];
	return (int)digest;
}

BENCH_LICENSE
