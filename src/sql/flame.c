/* flame.c - stack output: rows as flame-graph "folded" lines
 * (`frame;frame;frame count`, the input format of flame-graph tools) and a
 * flame-graph SVG drawn from them, both used by the sink (sink.c) for
 * `-f folded` and `-f svg`.
 *
 * A row becomes one folded line: every output column but the last, joined
 * with ';' (empty and NULL values left out; a stack column is already
 * "root;...;leaf"), then a space and the count, which is the last column
 * when it is an integer (COUNT(*)), else 1 (and the last column is a frame
 * too). The SVG merges the lines into a tree (children in name order, as
 * flame graphs do) and draws one box per node: width proportional to its
 * count, the root ("all") at the bottom, a tooltip with the count and share.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql/sqlInt.h"

/* ---- folded lines ------------------------------------------------------------ */

static bool integer_type(enum sql_type t)
{
	return t == SQL_T_INT || t == SQL_T_UINT;
}

size_t sql_folded_row(const struct sql_query *q, const struct sql_value *vals, char *buf, size_t bufsz,
		      uint64_t *count)
{
	size_t n = q->ncols, len = 0;
	*count = 1;
	if (n && integer_type(q->cols[n - 1].type)) {
		const struct sql_value *c = &vals[n - 1];
		*count = c->type == SQL_T_NULL ? 0 : c->type == SQL_T_INT ? (c->i < 0 ? 0 : (uint64_t)c->i) : c->u;
		n--;
	}
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		char tmp[32];
		const char *s = tmp;
		const struct sql_value *v = &vals[i];
		switch (v->type) {
		case SQL_T_NULL:
			continue;
		case SQL_T_STR:
			s = v->s ? v->s : "";
			break;
		case SQL_T_UINT:
			snprintf(tmp, sizeof(tmp), "%" PRIu64, v->u);
			break;
		case SQL_T_BOOL:
			s = v->i ? "true" : "false";
			break;
		default:
			snprintf(tmp, sizeof(tmp), "%" PRId64, v->i);
			break;
		}
		size_t k = strlen(s);
		if (!k)
			continue;
		if (len + k + 2 > bufsz)
			break;
		if (len)
			buf[len++] = ';';
		/* a frame name cannot hold the separators of the format */
		for (size_t j = 0; j < k; j++)
			buf[len + j] = s[j] == ' ' ? '_' : s[j];
		len += k;
		buf[len] = '\0';
	}
	return len;
}

/* ---- the flame graph -------------------------------------------------------------- */

struct node {
	char *name;              /* frame name */
	uint64_t count;          /* samples in this frame and above */
	struct node **kids;      /* children, unsorted until drawn */
	size_t nkids, cap;       /* used / allocated */
};

struct sql_flame {
	struct node root;        /* "all" */
	size_t depth;            /* deepest stack (frames) */
};

struct sql_flame *sql_flame_new(void)
{
	return calloc(1, sizeof(struct sql_flame));
}

static void node_free(struct node *n)
{
	for (size_t i = 0; i < n->nkids; i++) {
		node_free(n->kids[i]);
		free(n->kids[i]);
	}
	free(n->kids);
	free(n->name);
}

void sql_flame_free(struct sql_flame *f)
{
	if (!f)
		return;
	node_free(&f->root);
	free(f);
}

static struct node *child(struct node *n, const char *name, size_t len)
{
	for (size_t i = 0; i < n->nkids; i++)
		if (strlen(n->kids[i]->name) == len && !memcmp(n->kids[i]->name, name, len))
			return n->kids[i];
	if (n->nkids == n->cap) {
		size_t c = n->cap ? n->cap * 2 : 4;
		struct node **nk = realloc(n->kids, c * sizeof(*nk));
		if (!nk)
			return NULL;
		n->kids = nk;
		n->cap = c;
	}
	struct node *k = calloc(1, sizeof(*k));
	if (!k || !(k->name = strndup(name, len))) {
		free(k);
		return NULL;
	}
	n->kids[n->nkids++] = k;
	return k;
}

int sql_flame_add(struct sql_flame *f, const char *frames, uint64_t count)
{
	struct node *n = &f->root;
	size_t depth = 0;
	n->count += count;
	for (const char *p = frames; *p;) {
		size_t len = strcspn(p, ";");
		if (len) {
			if (!(n = child(n, p, len)))
				return -ENOMEM;
			n->count += count;
			depth++;
		}
		p += len;
		if (*p == ';')
			p++;
	}
	if (depth > f->depth)
		f->depth = depth;
	return 0;
}

#define SVG_WIDTH 1200
#define SVG_FRAME 16      /* pixels per frame */
#define SVG_PAD 10        /* margin */
#define SVG_TOP 34        /* room for the title */

static int name_cmp(const void *a, const void *b)
{
	return strcmp((*(struct node *const *)a)->name, (*(struct node *const *)b)->name);
}

static void xml_text(FILE *out, const char *s, size_t max)
{
	for (size_t i = 0; s[i] && i < max; i++) {
		switch (s[i]) {
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '&': fputs("&amp;", out); break;
		case '"': fputs("&quot;", out); break;
		default: fputc(s[i], out); break;
		}
	}
}

/* A warm colour from the name (stable across runs). */
static void colour(const char *name, int *r, int *g, int *b)
{
	uint32_t h = 2166136261u;
	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	*r = 205 + (int)(h % 50);
	*g = (int)((h >> 8) % 180);
	*b = (int)((h >> 16) % 55);
}

static void draw(FILE *out, struct node *n, const char *name, double x, size_t level, double scale, uint64_t total,
		 double height)
{
	double w = (double)n->count * scale;
	if (w < 0.1)
		return;
	double y = height - SVG_PAD - (double)(level + 1) * SVG_FRAME;
	int r, g, b;
	colour(name, &r, &g, &b);
	fputs("<g><title>", out);
	xml_text(out, name, SIZE_MAX);
	fprintf(out, " (%" PRIu64 " samples, %.2f%%)</title>", n->count, total ? 100.0 * (double)n->count / (double)total : 0);
	fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"rgb(%d,%d,%d)\" rx=\"2\"/>",
		x, y, w, SVG_FRAME - 1, r, g, b);
	size_t fit = (size_t)(w / 7); /* characters of 12px monospace that fit */
	if (fit >= 3) {
		fprintf(out, "<text x=\"%.1f\" y=\"%.1f\">", x + 3, y + SVG_FRAME - 4);
		size_t len = strlen(name);
		if (len <= fit) {
			xml_text(out, name, len);
		} else {
			xml_text(out, name, fit - 2);
			fputs("..", out);
		}
		fputs("</text>", out);
	}
	fputs("</g>\n", out);
	if (n->nkids)
		qsort(n->kids, n->nkids, sizeof(*n->kids), name_cmp);
	for (size_t i = 0; i < n->nkids; i++) {
		draw(out, n->kids[i], n->kids[i]->name, x, level + 1, scale, total, height);
		x += (double)n->kids[i]->count * scale;
	}
}

int sql_flame_write_svg(struct sql_flame *f, FILE *out, const char *title)
{
	double height = SVG_TOP + SVG_PAD + (double)(f->depth + 1) * SVG_FRAME;
	double scale = f->root.count ? (double)(SVG_WIDTH - 2 * SVG_PAD) / (double)f->root.count : 0;
	fprintf(out, "<?xml version=\"1.0\" standalone=\"no\"?>\n"
		"<svg version=\"1.1\" width=\"%d\" height=\"%.0f\" viewBox=\"0 0 %d %.0f\" "
		"xmlns=\"http://www.w3.org/2000/svg\">\n"
		"<style>text { font-family: monospace; font-size: 12px; fill: #000; }</style>\n"
		"<rect x=\"0\" y=\"0\" width=\"100%%\" height=\"100%%\" fill=\"#f8f8f0\"/>\n"
		"<text x=\"%d\" y=\"22\" style=\"font-size: 16px\">",
		SVG_WIDTH, height, SVG_WIDTH, height, SVG_PAD);
	xml_text(out, title ? title : "flame graph", 200);
	fprintf(out, " (%" PRIu64 " samples)</text>\n", f->root.count);
	draw(out, &f->root, "all", SVG_PAD, 0, scale, f->root.count, height);
	fputs("</svg>\n", out);
	return ferror(out) ? -EIO : 0;
}
