/* copy_hdrs.c - copying headers of several sizes out of the packet into
 * stack structures (an Ethernet header, an IPv4 header, a TCP header, a
 * 40-byte flow record and 96 payload bytes; memcpy of constant length),
 * a few fields of each copy read back; 256 times. Idioms: bulk copies
 * (runs of loads and stores of 8/4/2/1 bytes).
 */
#include "bench.h"

#define ITERS 256

SEC("xdp")
int bench_copy_hdrs(struct xdp_md *ctx)
{
	const __u8 *pkt = packet(ctx, PKT_LEN);
	if (!pkt)
		return 0;
	__u64 eth[2], ip[3], tcp[3], rec[5], pay[12];
	__u32 digest = 0;
	NOUNROLL
	for (int i = 0; i < ITERS; i++) {
		barrier();
		__builtin_memcpy(eth, pkt + OFF_ETH, 14);
		__builtin_memcpy(ip, pkt + OFF_IP, 20);
		__builtin_memcpy(tcp, pkt + OFF_TCP, 20);
		__builtin_memcpy(rec, pkt + OFF_IP + 8, 40);
		__builtin_memcpy(pay, pkt + OFF_PAY + (i & 63), 96);
		barrier();
		digest = digest * 31 + (__u32)(eth[0] ^ ip[1] ^ tcp[2] ^ rec[4] ^ pay[11] ^ (pay[5] >> 8));
	}
	return (int)digest;
}

BENCH_LICENSE
