/* tiny_eth.c - a filter of a few instructions: VLAN-tagged IPv4 TCP to
 * port 80 is sent back (XDP_TX), other IPv4 passes, the rest is dropped.
 * Per-run overhead plus a handful of byte-order loads and compares.
 */
#include "bench.h"

SEC("xdp")
int bench_tiny_eth(struct xdp_md *ctx)
{
	const __u8 *pkt = packet(ctx, OFF_TCP + 4);
	if (!pkt)
		return 1;
	__u16 proto = load_be16(pkt + 12);
	__u32 off = 14;
	if (proto == 0x8100) {
		proto = load_be16(pkt + 16);
		off = 18;
	}
	if (proto != 0x0800)
		return 1;
	if (off != 18 || pkt[OFF_IP + 9] != 6)
		return 2;
	return load_be16(pkt + OFF_TCP + 2) == 80 ? 3 : 2;
}

BENCH_LICENSE
