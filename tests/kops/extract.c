/* extract.c - Kops recognizer test program: bit-field extracts as clang -O2
 * emits them (shift right, then and with 2^len - 1): IPv4 version/ihl,
 * DSCP/ECN, fragment flags and offset, TCP data offset and flags, and
 * fields of a packed 64-bit word, bytes and halfwords at bit 0 and a low
 * word of a value that stays live. Returns a value mixed from every field
 * (not an XDP action).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

typedef unsigned long long u64;
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;

SEC("xdp")
int xdp_extract(struct xdp_md *ctx)
{
	u8 *p = (void *)(long)ctx->data;
	u8 *end = (void *)(long)ctx->data_end;
	if (p + 64 > end)
		return 0;
	u8 *ip = p + 14, *tcp = p + 34;
	u32 version = ip[0] >> 4, ihl = ip[0] & 0xf;
	u32 dscp = ip[1] >> 2, ecn = ip[1] & 3;
	u16 frag = *(u16 *)(ip + 6);
	u32 mf = (frag >> 5) & 1, off = (frag >> 8) & 0x1f;
	u32 doff = (tcp[12] >> 4) & 0xf;
	u32 tflags = *(u16 *)(tcp + 12) >> 8 & 0x3f;
	u64 w = *(u64 *)(p + 48);
	u64 f1 = (w >> 3) & 0x7f, f2 = (w >> 17) & 0xfff, f3 = (w >> 40) & 0xffffff;
	u32 lo = *(u32 *)(p + 56);
	u32 g1 = (lo >> 9) & 0x3ff, g2 = (lo >> 27) & 0x1f;
	/* fields at bit 0 of a value that stays live: a byte and a halfword
	 * (one movzx each instead of mov; and), and its low word */
	u64 v = w * 0x9e3779b97f4a7c15ull;
	u32 b0 = v & 0xff, h0 = v & 0xffff;
	u64 z = (u32)(v >> 7);
	u64 acc = version * 3 + ihl * 5 + dscp * 7 + ecn * 11 + mf * 13 + off * 17 + doff * 19 + tflags * 23;
	acc += f1 * 29 + f2 * 31 + f3 * 37 + g1 * 41 + g2 * 43;
	acc += b0 * 47 + h0 * 53 + z * 59 + (v >> 3);
	return (int)(acc ^ (acc >> 32));
}

char _license[] SEC("license") = "GPL";
