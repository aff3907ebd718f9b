/* sqlcheck_rows.c - the comparison side of `safebpf sqlcheck`: CSV output
 * normalised to a sorted multiset of rows (the window column dropped:
 * windows close on each run's own clock), windows merged per key (sum,
 * maximum or minimum of the value columns), distinct rows, the multiset
 * difference of two outputs, and the loss a run reported on its log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/sqlcheck.h"

/* One CSV field: [start, start + len) of the line, quotes included. */
struct field {
	const char *start;
	size_t len;
};

/* Splits @line (@len bytes) at the commas outside double quotes into at
 * most @max fields. Returns the number of fields. */
static size_t split_fields(const char *line, size_t len, struct field *f, size_t max)
{
	size_t n = 0;
	const char *p = line, *end = line + len;
	while (n < max) {
		const char *s = p;
		bool quoted = false;
		while (p < end && (quoted || *p != ',')) {
			if (*p == '"')
				quoted = !quoted;
			p++;
		}
		f[n++] = (struct field){ s, (size_t)(p - s) };
		if (p >= end)
			break;
		p++; /* the comma */
	}
	return n;
}

/* Parses a whole field as a decimal integer into *@v. */
static bool parse_int(const struct field *f, __int128 *v)
{
	const char *p = f->start, *end = f->start + f->len;
	bool neg = false;
	if (p < end && *p == '-') {
		neg = true;
		p++;
	}
	if (p >= end || p + 39 < end)
		return false;
	__int128 x = 0;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return false;
		x = x * 10 + (*p - '0');
	}
	*v = neg ? -x : x;
	return true;
}

static void print_int(char *buf, size_t sz, __int128 v)
{
	char tmp[48];
	size_t n = 0;
	bool neg = v < 0;
	unsigned __int128 u = neg ? -(unsigned __int128)v : (unsigned __int128)v;
	do {
		tmp[n++] = (char)('0' + (int)(u % 10));
		u /= 10;
	} while (u);
	size_t k = 0;
	if (neg && k + 1 < sz)
		buf[k++] = '-';
	while (n && k + 1 < sz)
		buf[k++] = tmp[--n];
	buf[k] = '\0';
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A data row being merged: its key text and its value columns. */
struct mrow {
	char *key;                   /* key fields (and unmergeable ones), '\x1f'-joined */
	size_t nf;                   /* fields */
	struct field f[SQLC_MAX_COLS];
	__int128 val[SQLC_MAX_COLS]; /* merged value of a value field */
	bool has[SQLC_MAX_COLS];     /* a value was seen (empty fields: NULL) */
	bool isval[SQLC_MAX_COLS];   /* the field is merged */
	char *line;                  /* the row it came from (owns the fields' text) */
};

static int cmp_mrow(const void *a, const void *b)
{
	return strcmp(((const struct mrow *)a)->key, ((const struct mrow *)b)->key);
}

/* The op of column @col of @nf: from @ops, or @last for the last column. */
static char op_of(const struct sqlc_mode *m, size_t col, size_t nf)
{
	size_t n = strlen(m->ops);
	char op = n ? (col < n ? m->ops[col] : 'k') : (col + 1 == nf ? m->last : 'k');
	return op == 's' || op == 'x' || op == 'n' ? op : 'k';
}

/* Merges rows v[1..*k) per key as @m says; the result replaces them. */
static bool merge_rows(char **v, size_t *k, const struct sqlc_mode *m)
{
	size_t n = *k - 1;
	struct mrow *r = calloc(n ? n : 1, sizeof(*r));
	if (!r)
		return false;
	for (size_t i = 0; i < n; i++) {
		struct mrow *x = &r[i];
		x->line = v[i + 1];
		x->nf = split_fields(x->line, strlen(x->line), x->f, SQLC_MAX_COLS);
		size_t klen = 1;
		for (size_t c = 0; c < x->nf; c++)
			klen += x->f[c].len + 2; /* the text or "*", and a separator */
		x->key = malloc(klen);
		if (!x->key) {
			for (size_t j = 0; j < i; j++)
				free(r[j].key);
			free(r);
			return false;
		}
		size_t p = 0;
		for (size_t c = 0; c < x->nf; c++) {
			char op = op_of(m, c, x->nf);
			if (op != 'k' && (!x->f[c].len || parse_int(&x->f[c], &x->val[c]))) {
				x->isval[c] = true;
				x->has[c] = x->f[c].len > 0;
				memcpy(x->key + p, "*", 1);
				p += 1;
			} else {
				memcpy(x->key + p, x->f[c].start, x->f[c].len);
				p += x->f[c].len;
			}
			x->key[p++] = '\x1f';
		}
		x->key[p] = '\0';
	}
	qsort(r, n, sizeof(*r), cmp_mrow);
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		if (w && !strcmp(r[w - 1].key, r[i].key) && r[w - 1].nf == r[i].nf) {
			struct mrow *a = &r[w - 1], *b = &r[i];
			for (size_t c = 0; c < a->nf; c++) {
				if (!a->isval[c] || !b->has[c])
					continue;
				char op = op_of(m, c, a->nf);
				if (!a->has[c])
					a->val[c] = b->val[c];
				else if (op == 's')
					a->val[c] += b->val[c];
				else if (op == 'x')
					a->val[c] = b->val[c] > a->val[c] ? b->val[c] : a->val[c];
				else
					a->val[c] = b->val[c] < a->val[c] ? b->val[c] : a->val[c];
				a->has[c] = true;
			}
			free(b->key);
			free(b->line);
			continue;
		}
		r[w++] = r[i];
	}
	/* rebuild the merged rows' text */
	bool ok = true;
	for (size_t i = 0; i < w; i++) {
		struct mrow *x = &r[i];
		size_t len = 1;
		for (size_t c = 0; c < x->nf; c++)
			len += (x->isval[c] ? 48 : x->f[c].len) + 1;
		char *s = malloc(len);
		if (!s) {
			ok = false;
			s = x->line;
			x->line = NULL;
		} else {
			size_t p = 0;
			for (size_t c = 0; c < x->nf; c++) {
				if (c)
					s[p++] = ',';
				if (x->isval[c]) {
					if (x->has[c])
						print_int(s + p, 48, x->val[c]);
					else
						s[p] = '\0';
					p += strlen(s + p);
				} else {
					memcpy(s + p, x->f[c].start, x->f[c].len);
					p += x->f[c].len;
				}
			}
			s[p] = '\0';
		}
		free(x->key);
		free(x->line);
		v[i + 1] = s;
	}
	*k = w + 1;
	free(r);
	return ok;
}

/* Removes the columns @m marks 'd' from every row of v[0..k); the ops of
 * the remaining columns go to *@rest. */
static bool drop_columns(char **v, size_t k, const struct sqlc_mode *m, struct sqlc_mode *rest)
{
	*rest = *m;
	if (!strchr(m->ops, 'd'))
		return true;
	size_t w = 0;
	for (size_t c = 0; m->ops[c]; c++)
		if (m->ops[c] != 'd')
			rest->ops[w++] = m->ops[c];
	rest->ops[w] = '\0';
	/* Nothing left to merge: a key's rows then number the windows it was
	 * seen in, which depends on where they closed; the keys seen do not. */
	if (rest->cmp == SQLC_MERGE && !strpbrk(rest->ops, "sxn"))
		rest->cmp = SQLC_DISTINCT;
	for (size_t i = 0; i < k; i++) {
		struct field f[SQLC_MAX_COLS];
		size_t nf = split_fields(v[i], strlen(v[i]), f, SQLC_MAX_COLS), p = 0, kept = 0;
		char *s = malloc(strlen(v[i]) + 1);
		if (!s)
			return false;
		for (size_t c = 0; c < nf; c++) {
			if (c < strlen(m->ops) && m->ops[c] == 'd')
				continue;
			if (kept++) /* a separator after every kept field, empty ones too */
				s[p++] = ',';
			memcpy(s + p, f[c].start, f[c].len);
			p += f[c].len;
		}
		s[p] = '\0';
		free(v[i]);
		v[i] = s;
	}
	return true;
}

char **sqlc_rows(const char *csv, const struct sqlc_mode *mode, size_t *n)
{
	size_t cap = 16, k = 0;
	char **v = malloc(cap * sizeof(*v));
	bool windowed = !strncmp(csv, "window,", 7);
	for (const char *p = csv; v && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		const char *start = p;
		if (windowed) {
			/* the first field: an ISO time without commas or quotes */
			const char *c = memchr(p, ',', len);
			if (c) {
				len -= (size_t)(c + 1 - p);
				start = c + 1;
			}
		}
		if (k == cap) {
			char **nv = realloc(v, (cap *= 2) * sizeof(*v));
			if (!nv) {
				sqlc_rows_free(v, k);
				return NULL;
			}
			v = nv;
		}
		if (!(v[k++] = strndup(start, len))) {
			sqlc_rows_free(v, k - 1);
			return NULL;
		}
		p = nl ? nl + 1 : p + len;
	}
	if (!v)
		return NULL;
	struct sqlc_mode rest, *m = &rest;
	if (!drop_columns(v, k, mode, &rest)) {
		sqlc_rows_free(v, k);
		return NULL;
	}
	if (k > 1 && m->cmp == SQLC_MERGE && !merge_rows(v, &k, m)) {
		sqlc_rows_free(v, k);
		return NULL;
	}
	if (k > 1)
		qsort(v + 1, k - 1, sizeof(*v), cmp_str);
	if (k > 1 && m->cmp == SQLC_DISTINCT) {
		size_t w = 1;
		for (size_t i = 1; i < k; i++) {
			if (w > 1 && !strcmp(v[w - 1], v[i]))
				free(v[i]);
			else
				v[w++] = v[i];
		}
		k = w;
	}
	*n = k;
	return v;
}

void sqlc_rows_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

bool sqlc_compare(const char *a, const char *b, const struct sqlc_mode *m, size_t *only_a, size_t *only_b,
		  size_t *rows_a)
{
	size_t na = 0, nb = 0;
	char **ra = sqlc_rows(a ? a : "", m, &na), **rb = sqlc_rows(b ? b : "", m, &nb);
	bool ok = ra && rb && (na ? 1 : 0) == (nb ? 1 : 0) && (!na || !strcmp(ra[0], rb[0]));
	*only_a = *only_b = 0;
	*rows_a = na ? na - 1 : 0;
	if (ok && m->cmp == SQLC_COUNT) {
		*only_a = na > nb ? na - nb : 0;
		*only_b = nb > na ? nb - na : 0;
	} else if (ok) {
		size_t i = 1, j = 1;
		while (i < na || j < nb) {
			int c = i >= na ? 1 : j >= nb ? -1 : strcmp(ra[i], rb[j]);
			if (c < 0) {
				(*only_a)++;
				i++;
			} else if (c > 0) {
				(*only_b)++;
				j++;
			} else {
				i++;
				j++;
			}
		}
	}
	sqlc_rows_free(ra, na);
	sqlc_rows_free(rb, nb);
	return ok;
}

long long sqlc_lost(const char *log)
{
	long long lost = -1;
	for (const char *p = log; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		long long events, l;
		/* the last summary wins; per-window lines start "safebpf: window" */
		if (!strncmp(p, "safebpf: ", 9) && strncmp(p, "safebpf: window", 15) &&
		    sscanf(p, "safebpf: %lld events, %lld lost", &events, &l) == 2)
			lost = l;
		p = nl ? nl + 1 : p + len;
	}
	return lost;
}
