/* counters.c - statistics with conditional updates: every payload byte is
 * classified (lower-case, upper-case, digit, white space or control,
 * other; a chain of range tests) and its class counter grows, a 16-bin
 * histogram of the byte's high nibble grows, and line/field counters
 * follow CR/LF and ':' bytes; 8 times. Counters start as found (the
 * packet). Idioms: range compares, conditional increments, indexed
 * counters, bit-field extraction.
 */
#include "bench.h"

#define REPS 8

SEC("xdp")
int bench_counters(struct xdp_md *ctx)
{
	const __u8 *pkt = packet(ctx, PKT_LEN);
	if (!pkt)
		return 0;
	__u32 hist[16];
	for (int b = 0; b < 16; b++)
		hist[b] = pkt[OFF_PAY + 200 + b];
	__u32 lower = pkt[OFF_PAY + 220], upper = pkt[OFF_PAY + 221], digit = pkt[OFF_PAY + 222];
	__u32 space = pkt[OFF_PAY + 223], other = pkt[OFF_PAY + 224];
	__u32 lines = 0, fields = 0;
	NOUNROLL
	for (int r = 0; r < REPS; r++) {
		barrier();
		const __u8 *p = pkt + OFF_PAY;
		NOUNROLL
		for (int i = 0; i < PAY_LEN; i++) {
			__u8 c = p[i];
			if (c >= 'a' && c <= 'z')
				lower++;
			else if (c >= 'A' && c <= 'Z')
				upper++;
			else if (c >= '0' && c <= '9')
				digit++;
			else if (c <= ' ')
				space++;
			else
				other++;
			hist[c >> 4]++;
			lines += c == '\n';
			fields += c == ':';
		}
	}
	__u32 digest = lower | upper << 8 | digit << 16 | space << 24;
	digest ^= other * 0x9e3779b9u + (lines << 12 | fields);
	for (int b = 0; b < 16; b++)
		digest = digest * 31 + hist[b];
	return (int)digest;
}

BENCH_LICENSE
