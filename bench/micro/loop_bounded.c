/* loop_bounded.c - loops whose trip count the data decides under a fixed
 * bound (as option lists and records are walked): for 64 start offsets
 * in the payload, a record count from the first byte (1 to 24 records of
 * 8 bytes), each record summed until a zero type byte ends the list
 * early. Idioms: bounded data-dependent loops, early exits, constant-
 * stride loads.
 */
#include "bench.h"

#define STARTS 64
#define MAXREC 24

SEC("xdp")
int bench_loop_bounded(struct xdp_md *ctx)
{
	const __u8 *pkt = packet(ctx, PKT_LEN);
	if (!pkt)
		return 0;
	__u32 digest = 0, total = 0;
	NOUNROLL
	for (__u32 s = 0; s < STARTS; s++) {
		barrier();
		const __u8 *p = pkt + OFF_PAY + (s & 63);
		__u32 n = p[0] % MAXREC + 1;
		NOUNROLL
		for (__u32 k = 0; k < MAXREC; k++) {
			if (k >= n)
				break;
			const __u8 *rec = p + 1 + 8 * k;
			__u32 type = rec[0];
			if (type == 0)          /* end of list */
				break;
			digest = digest * 33 + (type << 8 | rec[1]) + load_le32(rec + 4);
			total += rec[2];
		}
	}
	return (int)(digest ^ total << 20);
}

BENCH_LICENSE
