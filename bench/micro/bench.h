/* bench.h - the one header of the microbenchmarks (bench/micro/NAME.c). Every
 * benchmark is restricted C built twice from the same file:
 *   clang -O2 -target bpf   an XDP program (SEC("xdp"), the verifier's rules)
 *   cc -O2 -fPIC            a native function of the same name in
 *                           build/bench/micro/native.so (this header's shim
 *                           makes struct xdp_md hold real pointers, and
 *                           SEC() vanish)
 * A benchmark is one function `int bench_<name>(struct xdp_md *ctx)` that
 * reads the packet of packet.txt (the layout below), does its work a fixed
 * number of times with bounded loops, and returns a 32-bit digest of what
 * it computed; SUITE lists the expected digest of each.
 */
#ifndef BENCH_MICRO_H
#define BENCH_MICRO_H

#include <linux/types.h>

#if defined(__bpf__)
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#else
/* Native shim: the context holds pointers (the kernel's holds 32-bit
 * offsets that its verifier rewrites into pointers); SEC() is dropped. */
struct xdp_md {
	unsigned long data;      /* first packet byte */
	unsigned long data_end;  /* one past the last packet byte */
	unsigned long data_meta; /* unused */
	__u32 ingress_ifindex;   /* unused */
	__u32 rx_queue_index;    /* unused */
	__u32 egress_ifindex;    /* unused */
};
#define SEC(name)
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#endif

/* Keep a loop rolled (clang would unroll the outer repetition loops into
 * programs the verifier walks for nothing); gcc does not unroll at -O2. */
#if defined(__clang__)
#define NOUNROLL _Pragma("clang loop unroll(disable)")
#else
#define NOUNROLL
#endif

/* Constant tables: read-only data. Placed in .rodata explicitly because
 * clang moves small constants of some sizes into mergeable sections
 * (.rodata.cst16, .rodata.cst32) that libbpf 1.1 cannot open. */
#define RODATA SEC(".rodata")

/* A compiler barrier: memory may have changed, so loads after it are
 * redone. The repetition loops of the parsing benchmarks use it so that
 * every round parses the packet again, as for a new packet. */
#ifndef barrier
#define barrier() __asm__ __volatile__("" : : : "memory")
#endif

/* Hides @var's value from the optimizer at this point (it must assume any
 * value): keeps branch-free code branch-free on both compilers. */
#define opaque(var) __asm__ __volatile__("" : "+r"(var))

/* Layout of the benchmark packet (packet.txt). */
#define OFF_ETH   0     /* Ethernet header */
#define OFF_VLAN  14    /* 802.1Q tag (TPID 0x8100 at 12) */
#define OFF_IP    18    /* IPv4 header, 20 bytes */
#define OFF_TCP   38    /* TCP header, 20 bytes */
#define OFF_PAY   58    /* payload */
#define PAY_LEN   256   /* payload bytes */
#define PKT_LEN   314   /* whole frame */

/* The packet as bytes, after the one bounds check every benchmark does
 * (NULL when the packet is shorter than @need bytes). */
static __always_inline const __u8 *packet(struct xdp_md *ctx, unsigned need)
{
	const __u8 *data = (const __u8 *)(long)ctx->data;
	const __u8 *end = (const __u8 *)(long)ctx->data_end;
	if (data + need > end)
		return 0;
	return data;
}

/* One past the last packet byte: what a variable-offset header pointer is
 * checked against again (the verifier forgets the range of a packet
 * pointer with a variable offset added). */
static __always_inline const __u8 *packet_end(struct xdp_md *ctx)
{
	return (const __u8 *)(long)ctx->data_end;
}

/* Idioms written the portable way (no builtins the BPF target lacks):
 * rotates, byte-order loads. */
#define ROTL32(x, r) (((__u32)(x) << (r)) | ((__u32)(x) >> (32 - (r))))
#define ROTR32(x, r) (((__u32)(x) >> (r)) | ((__u32)(x) << (32 - (r))))
#define ROTL64(x, r) (((__u64)(x) << (r)) | ((__u64)(x) >> (64 - (r))))
#define ROTR64(x, r) (((__u64)(x) >> (r)) | ((__u64)(x) << (64 - (r))))

static __always_inline __u16 load_be16(const __u8 *p)
{
	return __builtin_bswap16(*(const __u16 *)p);
}

static __always_inline __u32 load_be32(const __u8 *p)
{
	return __builtin_bswap32(*(const __u32 *)p);
}

static __always_inline __u64 load_be64(const __u8 *p)
{
	return __builtin_bswap64(*(const __u64 *)p);
}

static __always_inline __u32 load_le32(const __u8 *p)
{
	return *(const __u32 *)p;
}

static __always_inline __u64 load_le64(const __u8 *p)
{
	return *(const __u64 *)p;
}

/* Loads and stores of stack buffers (any alignment, no aliasing rules
 * broken): one load or store instruction on both targets. */
static __always_inline __u16 get16(const void *p)
{
	__u16 v;
	__builtin_memcpy(&v, p, 2);
	return v;
}

static __always_inline __u32 get32(const void *p)
{
	__u32 v;
	__builtin_memcpy(&v, p, 4);
	return v;
}

static __always_inline void put16(void *p, __u16 v)
{
	__builtin_memcpy(p, &v, 2);
}

static __always_inline void put32(void *p, __u32 v)
{
	__builtin_memcpy(p, &v, 4);
}

/* A 32-bit finalizer for digests (murmur3's fmix32). */
static __always_inline __u32 fmix32(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

#if defined(__bpf__)
#define BENCH_LICENSE char _license[] SEC("license") = "GPL";
#else
#define BENCH_LICENSE
#endif

#endif /* BENCH_MICRO_H */
