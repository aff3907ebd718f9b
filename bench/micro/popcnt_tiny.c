/* popcnt_tiny.c - a program of a few dozen nanoseconds: the number of
 * flags set in the TCP header's flag byte, the IPv4 addresses and ports
 * (bits set per field, as a crude similarity key), once per packet. What
 * the per-run overhead of an engine costs shows here. Idioms: popcount.
 */
#include "bench.h"

SEC("xdp")
int bench_popcnt_tiny(struct xdp_md *ctx)
{
	const __u8 *pkt = packet(ctx, PKT_LEN);
	if (!pkt)
		return 0;
	__u32 saddr = load_le32(pkt + OFF_IP + 12), daddr = load_le32(pkt + OFF_IP + 16);
	__u32 ports = load_le32(pkt + OFF_TCP);
	__u32 key = __builtin_popcount(saddr);
	key = key << 6 | __builtin_popcount(daddr ^ key);
	key = key << 6 | __builtin_popcount(ports + key);
	key = key << 4 | __builtin_popcount(pkt[OFF_TCP + 13] | key << 8);
	return (int)key;
}

BENCH_LICENSE
