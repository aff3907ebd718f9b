/* zext.c - Kops recognizer test program: a 32-bit value zero-extended
 * (clang's `lsh 32; rsh 32` for the default CPU) inside a loop over the
 * packet, with a branch per iteration. The kernel verifier walks every
 * iteration; the zero-extension's site must lower to the very shifts it
 * replaces, so the verifier processes exactly as many instructions for
 * the lowered program as for the original (46-kops-recognize.sh).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_zext(struct xdp_md *ctx)
{
	unsigned char *p = (void *)(long)ctx->data;
	unsigned char *end = (void *)(long)ctx->data_end;
	__u32 a = 1, b = 0, c = 7;
	for (int i = 0; i < 512; i++) {
		if (p + i + 1 > end)
			break;
		__u32 x = p[i];
		a = a * 31 + x;
		__u64 w = (__u64)a * 0x9e3779b1u;
		b ^= (__u32)(w >> 32);
		if (x & 1)
			c += b;
		else
			c ^= a >> 3;
	}
	return (a ^ b ^ c) & 3;
}

char _license[] SEC("license") = "GPL";
