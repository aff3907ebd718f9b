/* lea_index.c - indexed tables on the stack: a 64-entry table of 32-bit
 * counters and a 16-entry table of 64-bit weights addressed by fields of
 * the payload bytes (base + index * 4 / * 8), read-modify-write; 16
 * times. Idioms: address arithmetic (shift, add base, add displacement:
 * LEA), indexed loads and stores.
 */
#include "bench.h"

#define REPS 16

SEC("xdp")
int bench_lea_index(struct xdp_md *ctx)
{
	const __u8 *pkt = packet(ctx, PKT_LEN);
	if (!pkt)
		return 0;
	__u32 cnt[64];
	__u64 wt[16];
	for (int i = 0; i < 64; i++)
		cnt[i] = i;
	for (int i = 0; i < 16; i++)
		wt[i] = (__u64)i * 0x9e3779b97f4a7c15ull;
	__u64 acc = 0;
	NOUNROLL
	for (int r = 0; r < REPS; r++) {
		barrier();
		const __u8 *p = pkt + OFF_PAY;
		NOUNROLL
		for (int i = 0; i < PAY_LEN; i++) {
			__u32 c = p[i] ^ r;
			__u32 a = c & 63, b = (c >> 4) & 15;
			cnt[a] += 1;
			wt[b] = wt[b] * 3 + cnt[(a + 1) & 63];
			acc += wt[(b + 7) & 15] ^ cnt[a];
		}
	}
	__u32 digest = (__u32)(acc ^ (acc >> 32));
	for (int i = 0; i < 64; i++)
		digest = digest * 31 + cnt[i];
	return (int)digest;
}

BENCH_LICENSE
