/* lb_select.c - a load balancer choosing a backend per new connection with
 * "the better of two random choices": the flow hash picks two of 16
 * backends (bit-field extraction), the one with the lower load relative to
 * its weight wins (compare of cross products, then select), its load
 * grows; the minimum and maximum load are tracked on the way; 512
 * connections. Weights in read-only data, loads as found (from the
 * packet). Idioms: min/max/select, extraction, multiply, indexed stack.
 */
#include "bench.h"

#define ITERS 512
#define NB 16

static const __u32 weight[NB] RODATA = { 10, 10, 20, 20, 5, 5, 40, 40, 10, 10, 20, 20, 5, 5, 40, 40 };

SEC("xdp")
int bench_lb_select(struct xdp_md *ctx)
{
	const __u8 *pkt = packet(ctx, PKT_LEN);
	if (!pkt)
		return 0;
	__u32 load[NB];
	for (int b = 0; b < NB; b++)
		load[b] = pkt[OFF_PAY + 100 + b];
	__u32 flow = load_le32(pkt + OFF_IP + 12) ^ load_le32(pkt + OFF_IP + 16);
	__u32 lo = ~0u, hi = 0, digest = 0;
	NOUNROLL
	for (int i = 0; i < ITERS; i++) {
		__u32 h = fmix32(flow + (__u32)i * 0x9e3779b9u);
		__u32 a = (h >> 4) & (NB - 1), b = (h >> 12) & (NB - 1);
		__u32 la = load[a], lb = load[b];
		/* la / weight[a] <= lb / weight[b] without a division */
		__u32 pick = la * weight[b] <= lb * weight[a] ? a : b;
		__u32 l = load[pick] + 1;
		load[pick] = l;
		lo = l < lo ? l : lo;
		hi = l > hi ? l : hi;
		digest = digest * 31 + pick;
	}
	return (int)(digest ^ (lo << 16) ^ hi);
}

BENCH_LICENSE
