/* memcmp.c - memcmp of 32-byte payload windows against eight 32-byte
 * patterns in read-only data (the first one is the request line), 8 bytes
 * at a time with big-endian loads so that the first differing word orders
 * the two like memcmp does; every window against every pattern, 32 times.
 * Idioms: byte-swapped loads, compare-and-select of -1/0/1, early exit.
 */
#include "bench.h"

#define REPS 32
#define NPAT 8
#define WIN 32

static const __u8 patterns[NPAT][WIN] RODATA = {
	"GET /api/v1/items?id=12345 HTTP/",
	"GET /api/v1/items?id=12346 HTTP/",
	"GET /api/v2/items?id=12345 HTTP/",
	"POST /api/v1/items HTTP/1.1\r\nHos",
	"Host: www.example.com\r\nUser-Agen",
	"HTTP/1.1 200 OK\r\nContent-Length:",
	"User-Agent: safebpf-bench/1.0\r\nA",
	"Accept: */*\r\nX-Trace: 7f3a9c\r\n\r\n",
};

/* memcmp(a, b, WIN) < 0, == 0, > 0 as -1, 0, 1. */
static __always_inline int cmp32(const __u8 *a, const __u8 *b)
{
	for (int i = 0; i < WIN; i += 8) {
		__u64 x = load_be64(a + i), y = load_be64(b + i);
		if (x != y)
			return x < y ? -1 : 1;
	}
	return 0;
}

SEC("xdp")
int bench_memcmp(struct xdp_md *ctx)
{
	const __u8 *pkt = packet(ctx, PKT_LEN);
	if (!pkt)
		return 0;
	__u32 digest = 0;
	NOUNROLL
	for (int r = 0; r < REPS; r++) {
		barrier();
		NOUNROLL
		for (int w = 0; w < PAY_LEN / WIN; w++) {
			const __u8 *win = pkt + OFF_PAY + w * WIN;
			NOUNROLL
			for (int k = 0; k < NPAT; k++)
				digest = digest * 3 + (__u32)(cmp32(win, patterns[k]) + 1);
		}
		/* Windows at odd offsets too (unaligned compares). */
		NOUNROLL
		for (int k = 0; k < NPAT; k++)
			digest = digest * 3 + (__u32)(cmp32(pkt + OFF_PAY + 1 + 29 * k, patterns[k]) + 1);
	}
	return (int)digest;
}

BENCH_LICENSE
