/* diag.c - collecting and formatting caret diagnostics, and "did you mean"
 * suggestions by edit distance. Shared by the assembler and the SQL front end.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "safebpf/diag.h"

int sbpf_diags__add(struct sbpf_diags *d, const char *file, const char *text,
		    size_t offset, int len, const char *hint, const char *fmt, ...)
{
	if (!d || !fmt)
		return -EINVAL;
	if (d->n == d->cap) {
		size_t ncap = d->cap ? d->cap * 2 : 8;
		struct sbpf_diag *ni = realloc(d->items, ncap * sizeof(*ni));
		if (!ni)
			return -ENOMEM;
		d->items = ni;
		d->cap = ncap;
	}
	size_t textlen = text ? strlen(text) : 0;
	if (offset > textlen)
		offset = textlen;
	/* Find the line holding @offset. */
	int line = 1;
	size_t line_start = 0;
	for (size_t i = 0; i < offset; i++)
		if (text[i] == '\n') {
			line++;
			line_start = i + 1;
		}
	size_t line_end = line_start;
	while (line_end < textlen && text[line_end] != '\n')
		line_end++;

	struct sbpf_diag *g = &d->items[d->n];
	memset(g, 0, sizeof(*g));
	va_list ap;
	va_start(ap, fmt);
	int rc = vasprintf(&g->message, fmt, ap);
	va_end(ap);
	if (rc < 0)
		return -ENOMEM;
	g->file = strdup(file ? file : "<input>");
	g->source_line = strndup(text ? text + line_start : "", line_end - line_start);
	g->hint = hint ? strdup(hint) : NULL;
	g->line = line;
	g->col = (int)(offset - line_start) + 1;
	g->len = len > 0 ? len : 1;
	if (!g->file || !g->source_line || (hint && !g->hint)) {
		free(g->file);
		free(g->source_line);
		free(g->hint);
		free(g->message);
		return -ENOMEM;
	}
	d->n++;
	return 0;
}

/* Source line characters shown before a long line is cut around the caret. */
#define DIAG_LINE_MAX 120

char *sbpf_diags__format(const struct sbpf_diags *d)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	if (!f)
		return NULL;
	for (size_t i = 0; d && i < d->n; i++) {
		const struct sbpf_diag *g = &d->items[i];
		fprintf(f, "%s:%d:%d: error: %s\n", g->file, g->line, g->col, g->message);
		/* A long line (a generated query) is shown as a window around the
		 * column, "..." marking what is cut. */
		size_t linelen = strlen(g->source_line), from = 0, to = linelen;
		if (linelen > DIAG_LINE_MAX) {
			size_t col0 = (size_t)g->col - 1;
			from = col0 > DIAG_LINE_MAX / 2 ? col0 - DIAG_LINE_MAX / 2 : 0;
			to = from + DIAG_LINE_MAX < linelen ? from + DIAG_LINE_MAX : linelen;
		}
		const char *pre = from ? "..." : "", *post = to < linelen ? "..." : "";
		fprintf(f, "%5d | %s%.*s%s\n", g->line, pre, (int)(to - from), g->source_line + from, post);
		fprintf(f, "      | %s", from ? "   " : "");
		/* Keep tabs so the caret lines up under tab-indented source. */
		for (size_t c = from + 1; c < (size_t)g->col && c <= to; c++)
			fputc(g->source_line[c - 1] == '\t' ? '\t' : ' ', f);
		fputc('^', f);
		for (int c = 1; c < g->len && (size_t)g->col + (size_t)c <= to; c++)
			fputc('~', f);
		fputc('\n', f);
		if (g->hint)
			fprintf(f, "      = hint: %s\n", g->hint);
	}
	fclose(f);
	return buf;
}

void sbpf_diags__free(struct sbpf_diags *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free(d->items[i].file);
		free(d->items[i].message);
		free(d->items[i].hint);
		free(d->items[i].source_line);
	}
	free(d->items);
	memset(d, 0, sizeof(*d));
}

/* Case-insensitive edit distance (insert, delete, substitute, or swap two
 * adjacent characters - "mvo" is one edit from "mov"), capped at
 * 32-character words. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 32 || lb > 32)
		return (size_t)-1;
	size_t prev2[33] = { 0 }, prev[33], cur[33];
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = strncasecmp(a + i - 1, b + j - 1, 1) != 0;
			size_t best = prev[j - 1] + cost;
			if (prev[j] + 1 < best) best = prev[j] + 1;
			if (cur[j - 1] + 1 < best) best = cur[j - 1] + 1;
			if (i > 1 && j > 1 && !strncasecmp(a + i - 1, b + j - 2, 1) &&
			    !strncasecmp(a + i - 2, b + j - 1, 1) && prev2[j - 2] + 1 < best)
				best = prev2[j - 2] + 1;
			cur[j] = best;
		}
		memcpy(prev2, prev, sizeof(prev));
		memcpy(prev, cur, sizeof(prev));
	}
	return prev[lb];
}

const char *sbpf_suggest(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1;
	for (size_t i = 0; i < n; i++) {
		size_t dist = edit_distance(word, cands[i]);
		if (dist < best_d) {
			best_d = dist;
			best = cands[i];
		}
	}
	/* A typo is at most a third of the word (and at least one edit). */
	size_t limit = strlen(word) / 3 + 1;
	return best && best_d <= limit ? best : NULL;
}
