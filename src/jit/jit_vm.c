/* jit_vm.c - binds the interpreter's helper table to a JIT (kept apart from
 * jit.c so the JIT links without the interpreter when nobody asks for this).
 */
#include <errno.h>

#include "jit/jitInt.h"

int sbpf_jit__helpers_from_vm(struct sbpf_jit *jit, const struct sbpf_vm *vm)
{
	if (!jit || !vm)
		return -EINVAL;
	for (uint32_t id = 0; id < SBPF_MAX_HELPERS; id++) {
		sbpf_helper_fn fn = sbpf_vm__helper(vm, id);
		if (fn) {
			int rc = sbpf_jit__set_helper(jit, id, fn);
			if (rc)
				return rc;
		}
	}
	return 0;
}
