/* chacha.c - the ChaCha20 block function (RFC 8439: 10 double rounds of
 * quarter rounds, 32-bit add/xor/rotate by 16, 12, 8, 7) keyed by the
 * first 32 payload bytes, nonce from the IPv4 addresses, 16 counters; the
 * digest folds every keystream block. Idioms: dense 32-bit rotates.
 */
#include "bench.h"

#define BLOCKS 16

#define QR(a, b, c, d)                          \
	do {                                        \
		a += b; d ^= a; d = ROTL32(d, 16);      \
		c += d; b ^= c; b = ROTL32(b, 12);      \
		a += b; d ^= a; d = ROTL32(d, 8);       \
		c += d; b ^= c; b = ROTL32(b, 7);       \
	} while (0)

SEC("xdp")
int bench_chacha(struct xdp_md *ctx)
{
	const __u8 *pkt = packet(ctx, PKT_LEN);
	if (!pkt)
		return 0;
	__u32 digest = 0;
	NOUNROLL
	for (__u32 blk = 0; blk < BLOCKS; blk++) {
		barrier();
		const __u8 *k = pkt + OFF_PAY;
		__u32 x0 = 0x61707865, x1 = 0x3320646e, x2 = 0x79622d32, x3 = 0x6b206574;
		__u32 x4 = load_le32(k), x5 = load_le32(k + 4), x6 = load_le32(k + 8), x7 = load_le32(k + 12);
		__u32 x8 = load_le32(k + 16), x9 = load_le32(k + 20), x10 = load_le32(k + 24), x11 = load_le32(k + 28);
		__u32 x12 = blk, x13 = load_le32(pkt + OFF_IP + 12), x14 = load_le32(pkt + OFF_IP + 16);
		__u32 x15 = load_le32(pkt + OFF_TCP);
		NOUNROLL
		for (int r = 0; r < 10; r++) {
			QR(x0, x4, x8, x12);
			QR(x1, x5, x9, x13);
			QR(x2, x6, x10, x14);
			QR(x3, x7, x11, x15);
			QR(x0, x5, x10, x15);
			QR(x1, x6, x11, x12);
			QR(x2, x7, x8, x13);
			QR(x3, x4, x9, x14);
		}
		digest = ROTL32(digest, 5) ^ (x0 + x1 + x2 + x3) ^ (x4 ^ x5 ^ x6 ^ x7) ^
			 (x8 + x9 + x10 + x11) ^ (x12 ^ x13 ^ x14 ^ x15);
	}
	return (int)digest;
}

BENCH_LICENSE
