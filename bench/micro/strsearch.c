/* strsearch.c - finding header names in the HTTP payload: for each of four
 * needles (up to 8 bytes), every position is tested with a 4-byte load
 * against the needle's head and, on a hit, a second masked 4-byte compare
 * of the tail; matches are counted and the last position kept; twice.
 * Idioms: unaligned 32-bit loads and compares, masks, a branch-free select
 * of the match position.
 *
 * Sized for the verifier: it walks one path through all positions and
 * stacks the other side of every branch, at most 8192 of them, so the
 * positions tested times the branches per position stay below that.
 */
#include "bench.h"

#define REPS 2
#define NNEEDLE 4
#define NLEN 8

static const __u8 needles[NNEEDLE][NLEN] RODATA = {
	"Host: ww", "User-Age", "\r\n\r\n\0\0\0\0", "X-Trace:",
};
static const __u32 tail_mask[NNEEDLE] RODATA = { 0xffffffffu, 0xffffffffu, 0, 0xffffffffu };

SEC("xdp")
int bench_strsearch(struct xdp_md *ctx)
{
	const __u8 *pkt = packet(ctx, PKT_LEN);
	if (!pkt)
		return 0;
	__u32 digest = 0;
	NOUNROLL
	for (int r = 0; r < REPS; r++) {
		barrier();
		const __u8 *p = pkt + OFF_PAY;
		NOUNROLL
		for (int k = 0; k < NNEEDLE; k++) {
			__u32 head = load_le32(needles[k]), tail = load_le32(needles[k] + 4);
			__u32 mask = tail_mask[k];
			__u32 hits = 0, last = 0;
			NOUNROLL
			for (__u32 pos = 0; pos < PAY_LEN - NLEN; pos++) {
				if (load_le32(p + pos) != head)
					continue;
				__u32 match = ((load_le32(p + pos + 4) ^ tail) & mask) == 0;
				hits += match;
				last ^= (last ^ pos) * match;           /* last = match ? pos : last */
			}
			digest = digest * 257 + (hits << 16 | last);
		}
	}
	return (int)digest;
}

BENCH_LICENSE
