/* fuzz_elf.c - libFuzzer target for ELF loading (src/elf/elf.c): any bytes
 * handed to sbpf_elf__open() and, for every program found, to
 * sbpf_elf__prog_insns() must give a result or an error, never a crash.
 * The input goes through a memfd because libbpf opens objects by path.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "safebpf/elf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz_elf", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	struct sbpf_elf_error err;
	struct sbpf_elf *obj = sbpf_elf__open(path, &err);
	for (size_t i = 0; obj && i < sbpf_elf__prog_count(obj); i++) {
		struct sbpf_insn *insns = NULL;
		size_t n = 0;
		if (sbpf_elf__prog_insns(obj, i, &insns, &n, &err) == 0)
			free(insns);
	}
	sbpf_elf__close(obj);
	close(fd);
	return 0;
}
