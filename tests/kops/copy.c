/* copy.c - Kops recognizer test program: fixed-size copies as clang -O2
 * emits them (runs of loads and stores through one temporary): aligned
 * packet headers copied into stack structs, a stack struct copied into
 * another, and a struct written back into the packet. Returns a value
 * mixed from the copies (not an XDP action).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

typedef unsigned long long u64;
typedef unsigned int u32;
typedef unsigned char u8;

struct flow {
	u64 a, b, c, d;
};

struct small {
	u32 x, y, z, w;
};

static __attribute__((noinline)) u64 fold(struct flow *f, struct small *s)
{
	return f->a ^ f->b * 3 ^ f->c * 5 ^ f->d * 7 ^ s->x ^ s->y ^ s->z ^ s->w;
}

SEC("xdp")
int xdp_copy(struct xdp_md *ctx)
{
	u8 *p = (void *)(long)ctx->data;
	u8 *end = (void *)(long)ctx->data_end;
	if (p + 128 > end)
		return 0;
	struct flow *pf = (struct flow *)p, *out = (struct flow *)(p + 64);
	struct small *ps = (struct small *)(p + 32);
	struct flow f, g;
	struct small s;
	__builtin_memcpy(&f, pf, sizeof(f));
	__builtin_memcpy(&s, ps, sizeof(s));
	u64 h = fold(&f, &s);
	__builtin_memcpy(&g, &f, sizeof(g));
	g.a ^= h;
	h ^= fold(&g, &s);
	*out = g;
	return (int)(h ^ (h >> 32));
}

char _license[] SEC("license") = "GPL";
