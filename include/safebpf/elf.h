/* safebpf/elf.h - reading clang-compiled BPF objects (clang -O2 -target bpf)
 * through libbpf's object API, without loading anything into the kernel:
 * list the programs, pick one by name or section, and get its instructions
 * after libbpf's own relocation of local (bpf-to-bpf) calls. Objects that
 * need what user-space runs cannot give (maps and global data, BTF CO-RE
 * relocations, kernel symbols, kfuncs) are refused with a reason.
 */
#ifndef SAFEBPF_ELF_H
#define SAFEBPF_ELF_H

#include <stddef.h>
#include <stdint.h>

#include "safebpf/isa.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Why an object or program was refused, for people. */
struct sbpf_elf_error {
	char msg[320];      /* e.g. "program 'f': instruction 7 references map 'counts': ..." */
};

/* 1 when @buf (@len bytes) starts with the ELF magic "\177ELF", else 0. */
int sbpf_elf_is_elf(const void *buf, size_t len);

struct sbpf_elf;

/* Opens the BPF object @path and lists its programs (nothing is loaded into
 * the kernel). Returns NULL with errno set and @err filled on failure (not a
 * BPF object, unreadable, malformed). */
struct sbpf_elf *sbpf_elf__open(const char *path, struct sbpf_elf_error *err);
void sbpf_elf__close(struct sbpf_elf *obj);

/* Number of entry programs (subprograms in .text are not counted). */
size_t sbpf_elf__prog_count(const struct sbpf_elf *obj);
/* Function name / ELF section of program @i (NULL when out of range). */
const char *sbpf_elf__prog_name(const struct sbpf_elf *obj, size_t i);
const char *sbpf_elf__prog_section(const struct sbpf_elf *obj, size_t i);
/* 1 when libbpf recognises program @i's section as an XDP program. */
int sbpf_elf__prog_is_xdp(const struct sbpf_elf *obj, size_t i);

/* Index of the program whose name or section is @which; -ENOENT when none
 * matches (the error names the programs there are). */
int sbpf_elf__find_prog(const struct sbpf_elf *obj, const char *which,
			struct sbpf_elf_error *err);

/* The instructions of program @i with its subprograms appended and local
 * calls relocated by libbpf, as a malloc'ed array in *@out (*@n slots).
 * Returns 0, -EOPNOTSUPP with @err filled when the program needs maps or
 * global data, CO-RE relocations, kernel symbols, kfuncs or callbacks, or
 * another negative errno. */
int sbpf_elf__prog_insns(struct sbpf_elf *obj, size_t i, struct sbpf_insn **out,
			 size_t *n, struct sbpf_elf_error *err);

#ifdef __cplusplus
}
#endif
#endif /* SAFEBPF_ELF_H */
