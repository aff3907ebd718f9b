/* rotate.c - Kops recognizer test program: rotates as clang -O2 emits them.
 * A SipHash-style round over four 64-bit packet words (64-bit rotates by
 * constants) and a jhash-style mix over 32-bit words (32-bit rotates), whose
 * result is reduced to 16 bits so only the low 32 bits of the 32-bit
 * rotates matter. Returns the mixed value (not an XDP action).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

typedef unsigned long long u64;
typedef unsigned int u32;
typedef unsigned char u8;

static inline u64 rol64(u64 w, unsigned s) { return (w << s) | (w >> (64 - s)); }
static inline u32 rol32(u32 w, unsigned s) { return (w << s) | (w >> (32 - s)); }

#define SIPROUND(v0, v1, v2, v3)                                       \
	do {                                                           \
		v0 += v1; v1 = rol64(v1, 13); v1 ^= v0; v0 = rol64(v0, 32); \
		v2 += v3; v3 = rol64(v3, 16); v3 ^= v2;                \
		v0 += v3; v3 = rol64(v3, 21); v3 ^= v0;                \
		v2 += v1; v1 = rol64(v1, 17); v1 ^= v2; v2 = rol64(v2, 32); \
	} while (0)

#define JMIX(a, b, c)                                                  \
	do {                                                           \
		a -= c; a ^= rol32(c, 4); c += b;                      \
		b -= a; b ^= rol32(a, 6); a += c;                      \
		c -= b; c ^= rol32(b, 8); b += a;                      \
	} while (0)

SEC("xdp")
int xdp_rotate(struct xdp_md *ctx)
{
	u8 *p = (void *)(long)ctx->data;
	u8 *end = (void *)(long)ctx->data_end;
	if (p + 48 > end)
		return 0;
	u64 v0 = *(u64 *)p, v1 = *(u64 *)(p + 8), v2 = *(u64 *)(p + 16), v3 = *(u64 *)(p + 24);
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	u64 s = v0 ^ v1 ^ v2 ^ v3;
	u32 a = *(u32 *)(p + 32), b = *(u32 *)(p + 36), c = *(u32 *)(p + 40);
	JMIX(a, b, c);
	JMIX(a, b, c);
	u32 h = a ^ b ^ c;
	return (int)(((u32)(s >> 32) ^ (u32)s ^ h) & 0xffff);
}

char _license[] SEC("license") = "GPL";
