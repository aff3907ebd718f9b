/* target_x86_64.c - the x86-64 target of the prover: the register map and
 * reserved registers come from the JIT backend (src/jit/x86_64), the
 * native code from an emitter (the JIT's Kops emits, or one a test hands
 * in).
 */
#include <errno.h>
#include <string.h>

#include "jit/jitInt.h"
#include "prove/proveInt.h"

int prove_target_x86_64(struct prove_target *t,
			int (*emit)(const struct sbpf_kops_payload *, unsigned int, uint8_t *, size_t, size_t *))
{
	memset(t, 0, sizeof(*t));
	t->name = "x86_64";
	for (int r = 0; r < SBPF_NREGS; r++)
		t->map[r] = (uint8_t)x64_bpf_reg(r);
	t->preserve = x64_reserved_regs();
	t->nfeatures = 1;
	t->features[0] = 0;
	t->feature_names[0] = "baseline";
	t->emit = emit;
	return emit ? 0 : -ENOTSUP;
}
