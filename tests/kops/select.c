/* select.c - Kops recognizer test program: conditional selects as clang -O2
 * emits them (a conditional jump over a mov): min/max/clamp of packet
 * fields, signed and unsigned, 64- and 32-bit, with register and constant
 * values. Returns a value mixed from every select (not an XDP action).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

typedef unsigned long long u64;
typedef long long s64;
typedef unsigned int u32;
typedef int s32;
typedef unsigned short u16;
typedef unsigned char u8;

static inline u64 umin64(u64 a, u64 b) { return a < b ? a : b; }
static inline s64 smax64(s64 a, s64 b) { return a > b ? a : b; }
static inline u32 clamp32(u32 v, u32 lo, u32 hi) { return v < lo ? lo : v > hi ? hi : v; }

SEC("xdp")
int xdp_select(struct xdp_md *ctx)
{
	u8 *p = (void *)(long)ctx->data;
	u8 *end = (void *)(long)ctx->data_end;
	if (p + 40 > end)
		return 0;
	u64 a = *(u64 *)p, b = *(u64 *)(p + 8);
	s64 c = *(s64 *)(p + 16);
	u32 x = *(u32 *)(p + 24), y = *(u32 *)(p + 28);
	u16 port = *(u16 *)(p + 32);
	u8 flags = p[34], ttl = p[35];
	u64 acc = umin64(a, b);
	acc ^= (u64)smax64(c, (s64)b);
	acc += clamp32(x, 64, 1500);
	acc ^= (s32)x < (s32)y ? x : y;
	acc += port == 53 ? 7 : 3;
	acc += flags & 0x10 ? ttl : 0;
	acc += ttl > 64 ? a : c;
	acc ^= a != b ? y : x;
	return (int)(acc ^ (acc >> 32));
}

char _license[] SEC("license") = "GPL";
