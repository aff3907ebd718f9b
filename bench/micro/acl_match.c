/* acl_match.c - a first-match rule table: 32 IPv4 prefix rules (prefix,
 * length, action) in read-only data, longest prefixes first, so that the
 * first match is the longest; each destination address builds its mask
 * from the prefix length and stops at the first matching rule; 128
 * destinations around the packet's. Idioms: variable shifts, masks and
 * compares, early exit, table loads.
 */
#include "bench.h"

#define ITERS 128
#define NRULES 32

struct rule {
	__u32 prefix;    /* network address, host order */
	__u32 len;       /* prefix length 0..32 */
	__u32 action;    /* what to do */
};

static const struct rule rules[NRULES] RODATA = {
	{ 0xa02f34a6u, 32, 3 },
	{ 0xc0a88d00u, 32, 6 },
	{ 0x8a7d43b5u, 32, 8 },
	{ 0x65aa9c82u, 32, 9 },
	{ 0xf6ced90au, 32, 7 },
	{ 0xbdc2ae90u, 28, 12 },
	{ 0xb6d13080u, 28, 5 },
	{ 0x651c5250u, 28, 6 },
	{ 0xc76abf40u, 28, 12 },
	{ 0x92f32770u, 28, 1 },
	{ 0x95918690u, 28, 3 },
	{ 0x79061500u, 24, 4 },
	{ 0xc0a88100u, 24, 13 },
	{ 0x88bafa00u, 24, 2 },
	{ 0xc0a8ea00u, 24, 5 },
	{ 0xc0a88000u, 20, 1 },
	{ 0x31162000u, 20, 7 },
	{ 0x420b0000u, 20, 11 },
	{ 0xe779c000u, 20, 4 },
	{ 0x5eb50000u, 16, 2 },
	{ 0x3b5f0000u, 16, 10 },
	{ 0xc0a80000u, 16, 11 },
	{ 0xc0a80000u, 16, 8 },
	{ 0x7eb00000u, 16, 10 },
	{ 0x9b000000u, 12, 4 },
	{ 0x28c00000u, 12, 1 },
	{ 0x09200000u, 12, 9 },
	{ 0xe8000000u, 8, 5 },
	{ 0xab000000u, 8, 13 },
	{ 0x4d000000u, 8, 2 },
	{ 0xc0000000u, 8, 3 },
	{ 0x00000000u, 0, 99 },
};

SEC("xdp")
int bench_acl_match(struct xdp_md *ctx)
{
	const __u8 *pkt = packet(ctx, PKT_LEN);
	if (!pkt)
		return 0;
	__u32 daddr = load_be32(pkt + OFF_IP + 16);
	__u32 digest = 0;
	NOUNROLL
	for (int i = 0; i < ITERS; i++) {
		__u32 dst = daddr + ((__u32)i << 13) + (__u32)i * 97;
		__u32 action = 0;
		NOUNROLL
		for (int k = 0; k < NRULES; k++) {
			__u32 len = rules[k].len;
			__u32 mask = len ? ~0u << (32 - len) : 0;
			if ((dst & mask) == rules[k].prefix) {
				action = rules[k].action;
				break;
			}
		}
		digest = digest * 131 + action;
	}
	return (int)digest;
}

BENCH_LICENSE
