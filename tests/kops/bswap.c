/* bswap.c - Kops recognizer test program: big-endian field reads as clang
 * -O2 emits them: bpf_ntohs/bpf_ntohl of header fields (load + be),
 * __builtin_bswap32/64 of loads, and big-endian values assembled from byte
 * loads with shifts and ors. Returns a value mixed from every read (not an
 * XDP action).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

typedef unsigned long long u64;
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;

/* Big-endian reads assembled from bytes, as a parser's helpers do them. */
static __attribute__((noinline)) u64 be64_at(const u8 *b)
{
	return (u64)b[0] << 56 | (u64)b[1] << 48 | (u64)b[2] << 40 | (u64)b[3] << 32 |
	       (u64)b[4] << 24 | (u64)b[5] << 16 | (u64)b[6] << 8 | b[7];
}

static __attribute__((noinline)) u32 be32_at(const u8 *b)
{
	return (u32)b[0] << 24 | (u32)b[1] << 16 | (u32)b[2] << 8 | b[3];
}

SEC("xdp")
int xdp_bswap(struct xdp_md *ctx)
{
	u8 *p = (void *)(long)ctx->data;
	u8 *end = (void *)(long)ctx->data_end;
	if (p + 72 > end)
		return 0;
	u64 acc = bpf_ntohs(*(u16 *)(p + 12));            /* ethertype */
	acc += bpf_ntohs(*(u16 *)(p + 16)) * 3;          /* IPv4 total length */
	acc ^= bpf_ntohl(*(u32 *)(p + 26));              /* source address */
	acc += __builtin_bswap32(*(u32 *)(p + 30)) >> 3; /* destination address */
	acc ^= __builtin_bswap64(*(u64 *)(p + 40));
	u32 seq = (u32)p[38] << 24 | (u32)p[39] << 16 | (u32)p[40] << 8 | p[41];
	u16 port = (u16)(p[34] << 8 | p[35]);
	u64 big = (u64)p[48] << 56 | (u64)p[49] << 48 | (u64)p[50] << 40 | (u64)p[51] << 32 |
		  (u64)p[52] << 24 | (u64)p[53] << 16 | (u64)p[54] << 8 | p[55];
	acc += seq * 5 + port * 7;
	acc ^= big;
	acc += be64_at(p + 56) ^ be32_at(p + 60);
	return (int)(acc ^ (acc >> 32));
}

char _license[] SEC("license") = "GPL";
