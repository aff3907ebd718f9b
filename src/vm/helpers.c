/* helpers.c - the helper functions every VM starts with (listed in vm.h).
 * Helpers take r1..r5 and return r0; none of these touches program memory.
 */
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include "vm/vmInt.h"

/* id 5: returns r1 unchanged (bpf_conformance's "call 5" tests). */
static uint64_t h_identity(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r2, (void)r3, (void)r4, (void)r5;
	return r1;
}

/* id 8: the CPU the calling thread runs on (0 when unknown). */
static uint64_t h_smp_processor_id(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r1, (void)r2, (void)r3, (void)r4, (void)r5;
	int cpu = sched_getcpu();
	return cpu < 0 ? 0 : (uint64_t)cpu;
}

/* id 14: tgid in the upper 32 bits, thread id in the lower. */
static uint64_t h_pid_tgid(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r1, (void)r2, (void)r3, (void)r4, (void)r5;
	return (uint64_t)(uint32_t)getpid() << 32 | (uint32_t)gettid();
}

/* id 125: CLOCK_BOOTTIME in nanoseconds. */
static uint64_t h_ktime_boot_ns(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r1, (void)r2, (void)r3, (void)r4, (void)r5;
	struct timespec ts;
	if (clock_gettime(CLOCK_BOOTTIME, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void vm_helpers_register_defaults(struct sbpf_vm *vm)
{
	sbpf_vm__set_helper(vm, SBPF_HELPER_IDENTITY, "identity", h_identity);
	sbpf_vm__set_helper(vm, 8, "get_smp_processor_id", h_smp_processor_id);
	sbpf_vm__set_helper(vm, 14, "get_current_pid_tgid", h_pid_tgid);
	sbpf_vm__set_helper(vm, 125, "ktime_get_boot_ns", h_ktime_boot_ns);
}
