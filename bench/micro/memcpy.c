/* memcpy.c - copying headers around: the 64 bytes from the packet start
 * into a stack buffer in 8-byte chunks, a reflector's rewrite of the copy
 * (swap MAC addresses, IPv4 addresses and TCP ports), the buffer copied
 * again (memcpy of 64 stack bytes), and a digest of the result; 512
 * packets. Idioms: bulk copies (chunked loads/stores), byte-order loads.
 */
#include "bench.h"

#define ITERS 512
#define HDR 64

SEC("xdp")
int bench_memcpy(struct xdp_md *ctx)
{
	const __u8 *pkt = packet(ctx, PKT_LEN);
	if (!pkt)
		return 0;
	__u64 a[HDR / 8], b[HDR / 8];
	__u8 *x = (__u8 *)a;
	__u32 digest = 0;
	NOUNROLL
	for (int i = 0; i < ITERS; i++) {
		barrier();
		const __u8 *src = pkt + (i & 7);            /* a different alignment each time */
		for (int k = 0; k < HDR / 8; k++)
			a[k] = load_le64(src + 8 * k);
		/* Swap MACs (6 + 6 bytes at 0), IPv4 addresses (at 30), ports (at 38). */
		__u8 mac[6];
		__builtin_memcpy(mac, x, 6);
		__builtin_memcpy(x, x + 6, 6);
		__builtin_memcpy(x + 6, mac, 6);
		__u32 s = get32(x + 28), d = get32(x + 32);   /* 4-aligned in a */
		put32(x + 28, d);
		put32(x + 32, s);
		__u16 sp = get16(x + 38), dp = get16(x + 40);
		put16(x + 38, dp);
		put16(x + 40, sp);
		__builtin_memcpy(b, a, HDR);
		digest = digest * 31 + (__u32)(b[0] ^ b[3] ^ (b[4] >> 16) ^ b[7]) +
			 __builtin_bswap16(get16((__u8 *)b + 38));
	}
	return (int)digest;
}

BENCH_LICENSE
