/* toeplitz.c - the Toeplitz hash of receive-side scaling over the IPv4
 * 4-tuple (12 bytes: addresses, ports) with the common 40-byte RSS key in
 * read-only data, bit by bit; 64 flows (the source port varies). Idioms:
 * bit extraction, multiply-by-bit xor, 64-bit shifts of a key window, byte-order
 * loads.
 */
#include "bench.h"

#define ITERS 64

static const __u8 rss_key[40] RODATA = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
	0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
	0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
	0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

/* Toeplitz hash of the 12 bytes @in. The key window holds 64 bits: its
 * top 32 are the key bits aligned with the current input bit. */
static __always_inline __u32 toeplitz12(const __u8 in[12])
{
	__u64 win = 0;
	for (int k = 0; k < 8; k++)
		win = win << 8 | rss_key[k];
	__u32 h = 0;
	NOUNROLL
	for (int i = 0; i < 12; i++) {
		__u8 b = in[i];
		for (int bit = 7; bit >= 0; bit--) {
			/* A multiply by the bit, not a {0, -1} mask: the 6.18
			 * verifier forks on "and" with a {-1, 0} scalar, which
			 * makes 96 mask bits 2^96 paths. */
			h ^= (__u32)(win >> 32) * ((b >> bit) & 1);
			win <<= 1;
		}
		win |= (__u64)rss_key[i + 8];
	}
	return h;
}

SEC("xdp")
int bench_toeplitz(struct xdp_md *ctx)
{
	const __u8 *pkt = packet(ctx, PKT_LEN);
	if (!pkt)
		return 0;
	__u8 tuple[12];
	__builtin_memcpy(tuple, pkt + OFF_IP + 12, 8);
	__builtin_memcpy(tuple + 8, pkt + OFF_TCP, 4);
	__u32 acc = 0;
	NOUNROLL
	for (int i = 0; i < ITERS; i++) {
		__u16 sport = (__u16)(load_be16(pkt + OFF_TCP) + i);
		tuple[8] = (__u8)(sport >> 8);
		tuple[9] = (__u8)sport;
		acc = acc * 31 + toeplitz12(tuple);
	}
	return (int)acc;
}

BENCH_LICENSE
