/* wide.c - Kops recognizer test program: little- and big-endian numbers
 * read byte by byte, as clang -O2 emits a parser's reads of fields of
 * unknown alignment (b0 | b1 << 8 | ..., the sums b0 + (b1 << 8) + ...
 * and xors of disjoint bytes too): 2, 4 and 8 bytes, in helpers and
 * inline. Returns a value mixed from every read (not an XDP action).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

typedef unsigned long long u64;
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;

static __attribute__((noinline)) u64 le64_at(const u8 *b)
{
	return (u64)b[0] | (u64)b[1] << 8 | (u64)b[2] << 16 | (u64)b[3] << 24 |
	       (u64)b[4] << 32 | (u64)b[5] << 40 | (u64)b[6] << 48 | (u64)b[7] << 56;
}

static __attribute__((noinline)) u32 le32_sum_at(const u8 *b)
{
	return b[0] + (b[1] << 8) + (b[2] << 16) + ((u32)b[3] << 24);
}

static __attribute__((noinline)) u32 le32_xor_at(const u8 *b)
{
	return b[0] ^ (b[1] << 8) ^ (b[2] << 16) ^ ((u32)b[3] << 24);
}

static __attribute__((noinline)) u16 be16_at(const u8 *b)
{
	return (u16)(b[0] << 8 | b[1]);
}

SEC("xdp")
int xdp_wide(struct xdp_md *ctx)
{
	u8 *p = (void *)(long)ctx->data;
	u8 *end = (void *)(long)ctx->data_end;
	if (p + 96 > end)
		return 0;
	/* clang interleaves these three reads: the recognizer's windows of
	 * two of them overlap, and only one site is written for the pair */
	u64 acc = (u32)(p[1] | p[2] << 8 | p[3] << 16 | (u32)p[4] << 24);   /* odd offset */
	acc += (u16)(p[9] | p[10] << 8) * 3;
	acc ^= (u64)p[20] | (u64)p[21] << 8 | (u64)p[22] << 16 | (u64)p[23] << 24 |
	       (u64)p[24] << 32 | (u64)p[25] << 40 | (u64)p[26] << 48 | (u64)p[27] << 56;
	acc += le64_at(p + 33) * 5;
	acc ^= le32_sum_at(p + 45);
	acc += le32_xor_at(p + 51) * 7;
	acc ^= be16_at(p + 61);
	return (int)(acc ^ (acc >> 32));
}

char _license[] SEC("license") = "GPL";
