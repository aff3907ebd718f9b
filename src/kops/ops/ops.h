/* ops.h - variant bits and descriptors of the EInsn operations
 * (one file per operation in src/kops/ops/).
 */
#ifndef SAFEBPF_KOPS_OPS_H
#define SAFEBPF_KOPS_OPS_H

#include "kops/kopsInt.h"

/* rotate */
enum { KOPS_ROT_32 = 1, KOPS_ROT_REG = 2, KOPS_ROT_RIGHT = 4 };
/* select: bits 0-3 = jump condition (SBPF_JEQ.. >> 4) */
enum { KOPS_SEL_COND_MASK = 0xf, KOPS_SEL_RHS_REG = 0x10, KOPS_SEL_CMP32 = 0x20, KOPS_SEL_MOV32 = 0x40 };
/* The jump condition (SBPF_JEQ.. >> 4) that holds exactly when @cond does
 * not, or -1 (SBPF_JSET has none). */
int kops_inverse_cond(int cond);
/* extract */
enum { KOPS_EXT_32 = 1 };
/* bswap load: access size */
enum { KOPS_BSL_16 = 0, KOPS_BSL_32 = 1, KOPS_BSL_64 = 2 };
/* bulk copy: variant = length in bytes */
#define KOPS_COPY_MAX 256
/* lea: variant = shift (0..3) */
/* popcount: bit0 = 32-bit source; bit1 (with bit0) = ALU32 proof sequence */
enum { KOPS_POP_32 = 1, KOPS_POP_ALU32 = 2 };
/* wide load: bits 0-1 = size (0=16, 1=32, 2=64 bit); bit 2 = big-endian */
enum { KOPS_WIDE_16 = 0, KOPS_WIDE_32 = 1, KOPS_WIDE_64 = 2, KOPS_WIDE_SIZE = 3, KOPS_WIDE_BE = 4 };

extern const struct kops_op kops_op_rotate;
extern const struct kops_op kops_op_select;
extern const struct kops_op kops_op_extract;
extern const struct kops_op kops_op_bswap_load;
extern const struct kops_op kops_op_prefetch;
extern const struct kops_op kops_op_bulk_copy;
extern const struct kops_op kops_op_lea;
extern const struct kops_op kops_op_popcount;
extern const struct kops_op kops_op_wide_load;

#endif
