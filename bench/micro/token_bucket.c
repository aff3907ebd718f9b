/* token_bucket.c - a per-flow rate limiter: 16 token buckets (tokens and
 * last refill time, as found in the packet bytes), a packet's flow chosen
 * by hash; refill by the elapsed time times the rate, capped at the burst
 * (min), then pass and pay if enough tokens, else drop; 1024 packets with a
 * made-up clock. Idioms: min/clamp selects, conditional updates, indexed
 * stack state.
 */
#include "bench.h"

#define ITERS 1024
#define NBUCKET 16
#define RATE 3          /* tokens per time unit */
#define BURST 2000
#define COST 150

SEC("xdp")
int bench_token_bucket(struct xdp_md *ctx)
{
	const __u8 *pkt = packet(ctx, PKT_LEN);
	if (!pkt)
		return 0;
	__u64 tokens[NBUCKET], last[NBUCKET];
	for (int b = 0; b < NBUCKET; b++) {
		tokens[b] = load_le32(pkt + OFF_PAY + 4 * b) & 0x3ff;
		last[b] = pkt[OFF_PAY + 64 + b];
	}
	__u32 seed = load_le32(pkt + OFF_TCP);
	__u64 now = 256;
	__u32 passed = 0, dropped = 0;
	NOUNROLL
	for (int i = 0; i < ITERS; i++) {
		__u32 h = fmix32(seed + (__u32)i);
		__u32 f = h & (NBUCKET - 1);
		now += (h >> 8) & 63;                  /* packets arrive at random gaps */
		__u64 elapsed = now - last[f];
		__u64 t = tokens[f] + elapsed * RATE;
		t = t > BURST ? BURST : t;
		last[f] = now;
		if (t >= COST) {
			t -= COST;
			passed++;
		} else {
			dropped++;
		}
		tokens[f] = t;
	}
	__u64 left = 0;
	for (int b = 0; b < NBUCKET; b++)
		left = left * 7 + tokens[b];
	return (int)(passed << 20 ^ dropped << 10 ^ (__u32)left);
}

BENCH_LICENSE
