/* safebpf/diag.h - diagnostics for people: errors that point at a line and
 * column of the source (assembly text, SQL query) with a caret and a hint.
 * The library only collects and formats them; src/cli/ prints them.
 * Pointer arguments may not be NULL unless their comment says so; every
 * __free / __close function accepts NULL (and does nothing).
 */
#ifndef SAFEBPF_DIAG_H
#define SAFEBPF_DIAG_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct sbpf_diag {
	char *file;        /* name shown before line:col ("<query>", "prog.s") */
	int line, col;     /* 1-based position of the problem */
	int len;           /* characters to underline (at least 1) */
	char *message;     /* what is wrong */
	char *hint;        /* how to fix it, or NULL */
	char *source_line; /* copy of the offending source line */
};

struct sbpf_diags {
	struct sbpf_diag *items; /* collected diagnostics, in order */
	size_t n, cap;           /* count / allocated */
};

/* Adds a diagnostic at byte @offset of @text (the whole source); line, column
 * and the source line are derived from it. @file, @text and @hint may be
 * NULL; @d and @fmt may not (-EINVAL). Returns 0 or -ENOMEM. */
int sbpf_diags__add(struct sbpf_diags *d, const char *file, const char *text,
		    size_t offset, int len, const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

/* Formats all diagnostics as
 *   file:3:5: error: message
 *       3 | source line
 *         |     ^~~
 *         = hint: ...
 * into a malloc'ed string (NULL on allocation failure; @d NULL or empty
 * gives ""). A source line longer than 120 characters is shown as a window
 * around the column, with "..." where it is cut. */
char *sbpf_diags__format(const struct sbpf_diags *d);

/* Frees the diagnostics of @d (NULL: nothing) and empties it for reuse. */
void sbpf_diags__free(struct sbpf_diags *d);

/* The candidate closest to @word by edit distance, if close enough to be a
 * plausible typo, else NULL. */
const char *sbpf_suggest(const char *word, const char *const *cands, size_t n);

#ifdef __cplusplus
}
#endif
#endif /* SAFEBPF_DIAG_H */
