/* fuzz_elf.c - libFuzzer target for ELF loading (src/elf/elf.c): any bytes
 * handed to sbpf_elf__open() and, for every program found, to
 * sbpf_elf__prog_insns() must give a result or an error, never a crash.
 * The input goes through a memfd because libbpf opens objects by path.
 * Under libFuzzer (the Makefile defines SBPF_LIBFUZZER) the parsers run in
 * process (elf_set_in_process): the library forks a child per parse, whose
 * coverage the fuzzer would never see. libbpf 1.1 itself crashes on some
 * objects (corpus libbpf-1.1-crash.o), so run it with libFuzzer's
 * "-fork=1 -ignore_crashes=1" (scripts/run-fuzz.sh does for fuzz_elf) and
 * read the stacks of the artifacts: only a crash outside libbpf is ours.
 * FUZZ_ELF_FORK=1 fuzzes the forking entry points as shipped; the corpus
 * replay (gcc build, make test) always does.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "elf/elfInt.h"
#include "safebpf/elf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int once;
	if (!once) {
		once = 1;
#ifdef SBPF_LIBFUZZER
		const char *fork_env = getenv("FUZZ_ELF_FORK");
		elf_set_in_process(!(fork_env && *fork_env == '1'));
#endif
	}
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
