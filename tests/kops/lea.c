/* lea.c - Kops recognizer test program: address arithmetic as clang -O2
 * emits it (shift the index, add the base, add a displacement): indexing
 * arrays of 2-, 4- and 8-byte elements in the packet with indexes read
 * from the packet, each access bounds-checked again as the verifier wants.
 * Returns a value mixed from the elements read (not an XDP action).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

typedef unsigned long long u64;
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;

SEC("xdp")
int xdp_lea(struct xdp_md *ctx)
{
	u8 *p = (void *)(long)ctx->data;
	u8 *end = (void *)(long)ctx->data_end;
	if (p + 8 > end)
		return 0;
	u32 i = p[0] & 7, j = p[1] & 15, k = p[2] & 31;
	u64 acc = p[3];
	u64 *w = (u64 *)(p + 16) + i + 1;
	if ((void *)(w + 1) <= (void *)end)
		acc += *w;
	u32 *x = (u32 *)(p + 8) + j + 2;
	if ((void *)(x + 1) <= (void *)end)
		acc ^= *x * 3;
	u16 *y = (u16 *)(p + 4) + k + 3;
	if ((void *)(y + 1) <= (void *)end)
		acc += *y * 5;
	return (int)(acc ^ (acc >> 32));
}

char _license[] SEC("license") = "GPL";
