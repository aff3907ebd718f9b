/* bulk_copy.c - Kops operation "bulk_copy": copy len bytes from a + soff to
 * dst + doff, as clang emits a fixed-size memcpy (runs of ldx/stx through a
 * temporary). Native: wide moves.
 *
 * Semantics are those of the proof sequence: 8/4/2/1-byte chunks copied in
 * ascending order through the scratch register c. When the two ranges may
 * overlap with the destination above the source, a native emit must keep
 * that chunk order (see docs/kops.md).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kops/kopsInt.h"
#include "kops/ops/ops.h"

#define SRC_OFF(p) ((int16_t)((uint32_t)(p)->imm & 0xffff))
#define DST_OFF(p) ((int16_t)((uint32_t)(p)->imm >> 16))

static int check(const struct sbpf_kops_payload *p, char *why, size_t whysz)
{
	if (p->variant < 1 || p->variant > KOPS_COPY_MAX)
		return snprintf(why, whysz, "bulk_copy: length %d outside 1..%d", p->variant, KOPS_COPY_MAX), -EINVAL;
	if ((long)SRC_OFF(p) + p->variant > INT16_MAX || (long)DST_OFF(p) + p->variant > INT16_MAX)
		return snprintf(why, whysz, "bulk_copy: offsets + length overflow 16 bits"), -EINVAL;
	if (kops_check_reg("destination base dst", p->dst, false, why, whysz) ||
	    kops_check_reg("source base a", p->a, false, why, whysz) ||
	    kops_check_reg("scratch c", p->c, true, why, whysz))
		return -EINVAL;
	if (p->c == p->dst || p->c == p->a)
		return snprintf(why, whysz, "bulk_copy: scratch c must differ from both bases"), -EINVAL;
	return 0;
}

/* Chunk size for the copy at byte @done of @len. */
static int chunk(int done, int len)
{
	int left = len - done;
	return left >= 8 ? 8 : left >= 4 ? 4 : left >= 2 ? 2 : 1;
}

static uint8_t size_bits(int bytes)
{
	return bytes == 8 ? SBPF_DW : bytes == 4 ? SBPF_W : bytes == 2 ? SBPF_H : SBPF_B;
}

/* c = *(a + soff + i); *(dst + doff + i) = c   for each chunk i */
static int instantiate(const struct sbpf_kops_payload *p, struct sbpf_builder *b)
{
	int rc = 0;
	for (int done = 0; done < p->variant;) {
		int k = chunk(done, p->variant);
		sbpf_builder__emit(b, SBPF_LDX_MEM(size_bits(k), p->c, p->a, (int16_t)(SRC_OFF(p) + done)));
		rc = sbpf_builder__emit(b, SBPF_STX_MEM(size_bits(k), p->dst, p->c, (int16_t)(DST_OFF(p) + done)));
		done += k;
	}
	return rc;
}

static void spec(const struct sbpf_kops_payload *p, uint64_t r[SBPF_NREGS])
{
	uint8_t *dst = (uint8_t *)(uintptr_t)(r[p->dst] + (uint64_t)(int64_t)DST_OFF(p));
	const uint8_t *src = (const uint8_t *)(uintptr_t)(r[p->a] + (uint64_t)(int64_t)SRC_OFF(p));
	uint64_t last = 0;
	for (int done = 0; done < p->variant;) {
		int k = chunk(done, p->variant);
		last = 0;
		memcpy(&last, src + done, (size_t)k); /* little-endian host, zero-extended like ldx */
		memcpy(dst + done, &last, (size_t)k);
		done += k;
	}
	r[p->c] = last; /* the scratch ends holding the last chunk */
}

static uint16_t clobbers(const struct sbpf_kops_payload *p)
{
	return (uint16_t)(1u << p->c);
}

const struct kops_op kops_op_bulk_copy = {
	.id = SBPF_KOPS_BULK_COPY,
	.name = "bulk_copy",
	.summary = "copy len bytes from a + soff to dst + doff (fixed-size memcpy)",
	.payload_doc = "dst = destination base; a = source base; c = scratch; "
		       "imm = soff (low 16 bits) | doff << 16; variant = length (1..256)",
	.max_proof_len = 2 * (KOPS_COPY_MAX / 8),
	.writes_dst = false,
	.check = check,
	.instantiate = instantiate,
	.spec = spec,
	.clobbers = clobbers,
};
