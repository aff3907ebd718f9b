/* safebpf/ctx.h - program-type contexts shared by every user-space engine
 * (interpreter and JIT): the user-space xdp context and the load-time
 * context conversion that lets the same bytecode run in the kernel and in
 * user space on the same packet bytes.
 *
 * A clang-compiled XDP program reads `struct xdp_md` (six u32 fields) with
 * 32-bit loads such as `r2 = *(u32 *)(r1 + 0)` and then uses the result as
 * a packet pointer. The kernel rewrites those loads when it loads the
 * program; safebpf does the same: each context load becomes a load from
 * struct sbpf_xdp_ctx, where data, data_end and data_meta are real 64-bit
 * host pointers. The rewrite is one instruction for one instruction, so
 * jump offsets and instruction indexes do not change.
 * Pointer arguments may not be NULL unless their comment says so; every
 * __free / __close function accepts NULL (and does nothing).
 */
#ifndef SAFEBPF_CTX_H
#define SAFEBPF_CTX_H

#include <stddef.h>
#include <stdint.h>

#include "safebpf/isa.h"
#include "safebpf/vm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a rewritten XDP program reads through r1 (read-only for it). The
 * defaults match what BPF_PROG_TEST_RUN gives a program run without a
 * context: the loopback device (ifindex 1), receive queue 0. */
struct sbpf_xdp_ctx {
	uint64_t data;             /* host address of the first packet byte */
	uint64_t data_end;         /* host address one past the last packet byte */
	uint64_t data_meta;        /* start of metadata; == data (no metadata) */
	uint32_t ingress_ifindex;  /* 1 (loopback) */
	uint32_t rx_queue_index;   /* 0 */
	uint32_t egress_ifindex;   /* 0 (the kernel refuses reads outside devmap programs) */
	uint32_t reserved;         /* 0, keeps the size a multiple of 8 */
};

/* Size of the uapi struct xdp_md the bytecode was compiled against. */
#define SBPF_XDP_MD_SIZE 24

/* Fills @ctx for a packet of @len bytes at @pkt, with the defaults above. */
void sbpf_xdp_ctx__init(struct sbpf_xdp_ctx *ctx, void *pkt, size_t len);

/* Context conversion for program type @type, in place on @insns (@n slots,
 * a program that passed sbpf_validate()). A static analysis follows the
 * context pointer from r1 through register moves, 8-byte stack spills and
 * fills and into local calls (r1..r5); every load through it is rewritten.
 * For SBPF_PROG_MEM nothing changes. Returns 0, or -EINVAL with @err filled
 * (when not NULL) for what the kernel would refuse as well: a context
 * access that is not an aligned 4-byte load of a struct xdp_md field, a
 * store or atomic into the context, a load through a modified context
 * pointer, or one instruction that reads the context on some paths and
 * other memory on others. */
int sbpf_ctx_rewrite(enum sbpf_prog_type type, struct sbpf_insn *insns, size_t n,
		     struct sbpf_validate_error *err);

#ifdef __cplusplus
}
#endif
#endif /* SAFEBPF_CTX_H */
