/* rot_forms.c - the rotate idioms clang writes besides (x << k) | (x >> (w
 * - k)): rotates by a register amount taken from the data ((x << n) | (x
 * >> (-n & 63))), halves joined by + and ^, and rotates of a product,
 * which clang folds into two multiplies ((t * (c << k)) | ((t * c) >>
 * (64 - k))); over the 32 payload words, 16 times. Idioms: rotate.
 */
#include "bench.h"

#define REPS 16

static __always_inline __u64 rotl_var(__u64 x, __u64 n)
{
	return (x << (n & 63)) | (x >> (-n & 63));
}

SEC("xdp")
int bench_rot_forms(struct xdp_md *ctx)
{
	const __u8 *pkt = packet(ctx, PKT_LEN);
	if (!pkt)
		return 0;
	__u64 h = 0x243f6a8885a308d3ull, g = 0;
	NOUNROLL
	for (int r = 0; r < REPS; r++) {
		barrier();
		const __u8 *p = pkt + OFF_PAY;
		NOUNROLL
		for (int i = 0; i < PAY_LEN; i += 8) {
			__u64 w = load_le64(p + i) + (__u64)r;
			h = rotl_var(h ^ w, w >> 58);                       /* by register */
			g += (w << 13) + (w >> 51);                         /* joined by + */
			g ^= (h << 7) ^ (h >> 57);                          /* joined by ^ */
			h += ROTL64(w * 0x9e3779b97f4a7c15ull, 31);        /* of a product */
		}
	}
	return (int)(h ^ (h >> 32) ^ g);
}

BENCH_LICENSE
