/* safebpf/elf.h - reading clang-compiled BPF objects (clang -O2 -target bpf)
 * through libbpf's object API, without loading anything into the kernel:
 * list the programs, pick one by name or section, and get its instructions
 * after libbpf's own relocation of local (bpf-to-bpf) calls, and with its
 * read-only data (const tables). Objects that need what user-space runs
 * cannot give (maps and writable global data, BTF CO-RE relocations,
 * kernel symbols, kfuncs) are refused with a reason.
 * Pointer arguments may not be NULL unless their comment says so; every
 * __free / __close function accepts NULL (and does nothing).
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

/* As sbpf_elf__prog_insns(), and also takes programs that read read-only
 * global data (.rodata sections: const tables, string literals). The data
 * of every such section the program uses is merged into one malloc'ed
 * block (*@rodata, *@rodata_len bytes; NULL and 0 when there is none,
 * sections 8-byte aligned), and each reference becomes
 *   lddw dst, src=BPF_PSEUDO_MAP_IDX_VALUE imm=0, second slot imm = offset
 * i.e. "address of byte <offset> of read-only region 0": the engines
 * (vm.h, jit.h rodata options) resolve it to their copy of the block, the
 * kernel (kernel.h) to a frozen read-only array map in fd_array[0].
 * Writable global data (.data, .bss) is still refused. */
int sbpf_elf__prog_insns_rodata(struct sbpf_elf *obj, size_t i, struct sbpf_insn **out,
				size_t *n, uint8_t **rodata, size_t *rodata_len,
				struct sbpf_elf_error *err);

/* A map the object defines (BTF-defined .maps, legacy "maps", or global
 * data .data/.bss/.kconfig as one-entry arrays), as sbpf_elf__prog_insns_maps
 * reports it. */
struct sbpf_elf_map {
	char name[64];          /* libbpf's name (global data: "<obj>.data" style) */
	uint32_t type;          /* kernel map type (safebpf/maps.h SBPF_MAP_*) */
	uint32_t key_size;      /* bytes */
	uint32_t value_size;    /* bytes */
	uint32_t max_entries;   /* entries (ring buffers: bytes) */
	uint32_t flags;         /* BPF_F_* creation flags */
	uint8_t *init;          /* global data: initial value bytes (malloc'ed), else NULL */
	size_t init_len;        /* their count */
};

/* As sbpf_elf__prog_insns_rodata(), and also takes programs that use maps
 * and writable global data: every map of the object except the read-only
 * data is returned in *@maps (*@nmaps entries, malloc'ed; free with
 * sbpf_elf_maps__free), and each reference becomes
 *   lddw dst, src=BPF_PSEUDO_MAP_FD (1), imm=K          map K of *@maps
 *   lddw dst, src=BPF_PSEUDO_MAP_VALUE (2), imm=K, off  byte OFF of its value
 * (safebpf/maps.h resolves them in user space, safebpf/kernel.h to kernel
 * maps). Objects with a legacy "maps" section (struct bpf_map_def), which
 * libbpf refuses, are read without libbpf: one program per section, whose
 * relocations must all be map references. */
int sbpf_elf__prog_insns_maps(struct sbpf_elf *obj, size_t i, struct sbpf_insn **out,
			      size_t *n, uint8_t **rodata, size_t *rodata_len,
			      struct sbpf_elf_map **maps, size_t *nmaps, struct sbpf_elf_error *err);
void sbpf_elf_maps__free(struct sbpf_elf_map *maps, size_t n);

#ifdef __cplusplus
}
#endif
#endif /* SAFEBPF_ELF_H */
