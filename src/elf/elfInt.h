/* elfInt.h - private interfaces of the ELF module (src/elf/): byte blobs
 * and running a parser in a child process (isolate.c), so that a malformed
 * object that crashes libbpf becomes an error instead of taking the caller
 * down.
 */
#ifndef SAFEBPF_ELF_INT_H
#define SAFEBPF_ELF_INT_H

#include <stddef.h>
#include <stdint.h>

/* A growable byte buffer; the first allocation failure sticks. */
struct elf_blob {
	uint8_t *p;       /* bytes */
	size_t len, cap;  /* used / allocated */
	int oom;          /* an append failed */
};

void elf_blob_put(struct elf_blob *b, const void *src, size_t n);
void elf_blob_put_u32(struct elf_blob *b, uint32_t v);
/* Appends @s with its terminating NUL. */
void elf_blob_put_str(struct elf_blob *b, const char *s);
void elf_blob_free(struct elf_blob *b);

/* Readers: take from @b at *@pos and advance it; return -1 when the blob
 * is too short (nothing is read then). get_str points into the blob. */
int elf_blob_get(const struct elf_blob *b, size_t *pos, void *dst, size_t n);
int elf_blob_get_u32(const struct elf_blob *b, size_t *pos, uint32_t *v);
int elf_blob_get_str(const struct elf_blob *b, size_t *pos, const char **s);

/* Runs @fn(@arg, out) in a forked child (CPU time limited) and returns what
 * it appended to out in @reply (which the caller frees). Returns 0; -ECHILD
 * when the child did not finish normally (*@sig is the signal that ended
 * it, or 0); -ENOMEM / other negative errnos when the child could not be
 * run. */
int elf_isolated(void (*fn)(void *arg, struct elf_blob *out), void *arg,
		 struct elf_blob *reply, int *sig);

/* Test-only (tests/fuzz/fuzz_elf.c): when @on, elf_isolated() runs @fn in
 * the calling process, so that a coverage-guided fuzzer sees the parsers'
 * edges and a crash in them is a finding instead of an error. Not for
 * production: a malformed object can then crash the caller. */
void elf_set_in_process(int on);

/* Objects with a legacy "maps" section, which libbpf refuses (legacy.c). */
struct sbpf_insn;
/* 1 when @path has a "maps" section and a symbol table. */
int elf_legacy_detect(const char *path);
/* Lists its programs into @progs (per program: str name, str section,
 * u32 is_xdp), *@count of them. 0 or -EINVAL. */
int elf_legacy_list(const char *path, struct elf_blob *progs, uint32_t *count);
/* The program of section @section with its map references renumbered, and
 * the map definitions serialised into @maps as elf.c's collect_maps()
 * does. 0, or a negative errno with a reason in @why. */
int elf_legacy_insns(const char *path, const char *section, struct sbpf_insn **out, size_t *n,
		     struct elf_blob *maps, char *why, size_t whysz);

#endif /* SAFEBPF_ELF_INT_H */
