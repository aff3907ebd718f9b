/* parse_tcp.c - one packet's Ethernet (optional 802.1Q), IPv4 (version,
 * IHL, fragment, protocol) and TCP (data offset, flags) headers parsed and
 * validated once, the verdict and a flow key folded into r0. A parser of
 * well under 100 ns: per-run overhead and bounds checks.
 */
#include "bench.h"

SEC("xdp")
int bench_parse_tcp(struct xdp_md *ctx)
{
	const __u8 *data = (const __u8 *)(long)ctx->data;
	const __u8 *end = (const __u8 *)(long)ctx->data_end;
	if (data + 14 > end)
		return 1;
	__u16 proto = load_be16(data + 12);
	const __u8 *ip = data + 14;
	if (proto == 0x8100) {
		if (data + 18 > end)
			return 1;
		proto = load_be16(data + 16);
		ip = data + 18;
	}
	if (proto != 0x0800)
		return 2;
	if (ip + 20 > end)
		return 1;
	if ((ip[0] >> 4) != 4)
		return 1;
	__u32 ihl = (ip[0] & 15) * 4;
	if (ihl < 20)
		return 1;
	if (load_be16(ip + 6) & 0x3fff)     /* fragment */
		return 2;
	if (ip[9] != 6)
		return 2;
	const __u8 *tcp = ip + ihl;
	if (tcp + 20 > end)
		return 1;
	__u32 doff = (tcp[12] >> 4) * 4;
	if (doff < 20 || tcp + doff > end)
		return 1;
	__u32 flags = tcp[13];
	__u32 key = load_be32(ip + 12) ^ load_be32(ip + 16) ^ load_be32(tcp);
	__u32 verdict = (flags & 0x02) ? 3 : 2;  /* SYN: XDP_TX */
	return (int)(fmix32(key) << 8 | flags << 3 | verdict);
}

BENCH_LICENSE
