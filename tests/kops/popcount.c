/* popcount.c - Kops recognizer test program: bit counts as clang -O2
 * emits __builtin_popcountll and __builtin_popcount for BPF (the SWAR
 * sequence: shifts, ands with 0x55.., 0x33.., 0x0f.., a multiply by
 * 0x0101..01 and a shift right), of packet words, of a mixed value and of
 * a 32-bit field. Returns a value mixed from every count (not an XDP
 * action).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

typedef unsigned long long u64;
typedef unsigned int u32;

SEC("xdp")
int xdp_popcount(struct xdp_md *ctx)
{
	u64 *p = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	if ((void *)(p + 4) > end)
		return 0;
	u64 a = p[0], b = p[1];
	u32 w = (u32)p[2];
	/* each count depends on the one before, so that clang cannot
	 * interleave them (interleaved counts exceed a 32-instruction window) */
	u64 acc = __builtin_popcountll(a);                 /* 64-bit */
	acc = __builtin_popcountll(b ^ (acc << 40));      /* of a computed value */
	acc = acc * 131 + __builtin_popcount(w ^ (u32)acc); /* 32-bit */
	acc = acc * 131 + __builtin_popcount((u32)(p[3] >> 7) + (u32)acc);
	return (int)(acc ^ (acc >> 32));
}

char _license[] SEC("license") = "GPL";
