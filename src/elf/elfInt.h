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

#endif /* SAFEBPF_ELF_INT_H */
