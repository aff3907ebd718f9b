/* tiny_pass.c - the smallest useful program: pass every frame of at least
 * an Ethernet header, drop shorter ones (a length check and a return).
 * Measures an engine's per-run overhead.
 */
#include "bench.h"

SEC("xdp")
int bench_tiny_pass(struct xdp_md *ctx)
{
	const __u8 *pkt = packet(ctx, 14);
	return pkt ? 2 /* XDP_PASS */ : 1 /* XDP_DROP */;
}

BENCH_LICENSE
