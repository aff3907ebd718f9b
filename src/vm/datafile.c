/* datafile.c - reader for bpf_conformance-style ".data" instruction test
 * files (format in include/safebpf/datafile.h): splits the file into
 * sections, decodes hex and numbers with line:column diagnostics, and hands
 * the -- asm section to the assembler with the file's line numbers intact.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "safebpf/asm.h"
#include "safebpf/datafile.h"

enum section { SEC_NONE, SEC_ASM, SEC_RAW, SEC_MEM, SEC_RESULT, SEC_ERROR, SEC_IGNORED };

/* A growing byte array. */
struct bytes {
	uint8_t *p;   /* data */
	size_t n;     /* used */
	size_t cap;   /* allocated */
};

static int bytes_push(struct bytes *b, uint8_t v)
{
	if (b->n == b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 64;
		uint8_t *np = realloc(b->p, ncap);
		if (!np)
			return -ENOMEM;
		b->p = np;
		b->cap = ncap;
	}
	b->p[b->n++] = v;
	return 0;
}

static int hexdigit(int c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

/* Parses @len hex digits at @s into *@v. Returns 0, or -1 on a non-digit
 * or more than 16 digits. */
static int parse_hex(const char *s, size_t len, uint64_t *v)
{
	if (len == 0 || len > 16)
		return -1;
	*v = 0;
	for (size_t i = 0; i < len; i++) {
		int d = hexdigit((unsigned char)s[i]);
		if (d < 0)
			return -1;
		*v = *v << 4 | (uint64_t)d;
	}
	return 0;
}

/* The section named by a "-- name" header line (@name, @len chars). */
static enum section section_named(const char *name, size_t len)
{
	static const struct { const char *name; enum section sec; } known[] = {
		{ "asm", SEC_ASM }, { "raw", SEC_RAW }, { "mem", SEC_MEM },
		{ "result", SEC_RESULT }, { "error", SEC_ERROR },
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strlen(known[i].name) == len && !memcmp(known[i].name, name, len))
			return known[i].sec;
	return SEC_IGNORED;
}

/* Per-parse context for diagnostics. */
struct parser {
	const char *text;          /* whole file */
	const char *file;          /* its name */
	struct sbpf_diags *diags;  /* where problems go */
	int errors;                /* problems found */
	int raw_bad;               /* bad tokens in -- raw (its length is then meaningless) */
};

static void problem(struct parser *p, const char *at, size_t len, const char *hint, const char *msg)
{
	p->errors++;
	sbpf_diags__add(p->diags, p->file, p->text, (size_t)(at - p->text), (int)len, hint, "%s", msg);
}

/* Decodes one whitespace-separated token of a -- raw (@raw set) or -- mem
 * section into @out. */
static int hex_token(struct parser *p, const char *tok, size_t len, int raw, struct bytes *out)
{
	uint64_t v;
	int prefixed = len > 2 && tok[0] == '0' && (tok[1] == 'x' || tok[1] == 'X');
	const char *digits = prefixed ? tok + 2 : tok;
	size_t nd = prefixed ? len - 2 : len;
	if (parse_hex(digits, nd, &v)) {
		p->raw_bad |= raw;
		problem(p, tok, len, raw ? "write bytes as two hex digits (\"b7\") or instructions as 0x-prefixed 64-bit words"
					 : "write bytes as two hex digits, e.g. \"00 ff 1a\"",
			"bad hex value");
		return 0;
	}
	if (raw && prefixed) { /* one instruction as a 64-bit little-endian word */
		for (int i = 0; i < 8; i++)
			if (bytes_push(out, (uint8_t)(v >> (8 * i))))
				return -ENOMEM;
		return 0;
	}
	if (v > 0xff) {
		p->raw_bad |= raw;
		problem(p, tok, len, "write one byte per token, separated by spaces", "hex byte out of range");
		return 0;
	}
	return bytes_push(out, (uint8_t)v);
}

/* Decodes the -- result value in @tok (@len chars). */
static void result_token(struct parser *p, const char *tok, size_t len, struct sbpf_datafile *df)
{
	int neg = len > 1 && tok[0] == '-';
	const char *s = tok + neg;
	size_t n = len - (size_t)neg;
	uint64_t v = 0;
	int ok;
	if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		ok = !parse_hex(s + 2, n - 2, &v);
	} else {
		ok = n > 0 && n <= 20;
		for (size_t i = 0; ok && i < n; i++) {
			if (!isdigit((unsigned char)s[i]) || v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
				ok = 0;
			else
				v = v * 10 + (uint64_t)(s[i] - '0');
		}
	}
	if (!ok) {
		problem(p, tok, len, "write the expected r0 as 0x-prefixed hex or decimal", "bad result value");
		return;
	}
	df->has_result = 1;
	df->result = neg ? 0 - v : v;
}

/* End of the meaningful part of the line [@s, @e): before a '#' comment,
 * trailing blanks dropped. */
static const char *content_end(const char *s, const char *e)
{
	const char *hash = memchr(s, '#', (size_t)(e - s));
	if (hash)
		e = hash;
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	return e;
}

/* Handles one line [@s, @e) of section @sec. */
static int section_line(struct parser *p, enum section sec, const char *s, const char *e,
			struct sbpf_datafile *df, struct bytes *raw, struct bytes *mem)
{
	if (sec == SEC_ERROR) {
		while (s < e && isspace((unsigned char)*s))
			s++;
		while (e > s && isspace((unsigned char)e[-1]))
			e--;
		if (s == e || *s == '#')
			return 0;
		char *copy = strndup(s, (size_t)(e - s));
		if (!copy)
			return -ENOMEM;
		free(df->error);
		df->error = copy;
		return 0;
	}
	e = content_end(s, e);
	while (s < e) {
		while (s < e && isspace((unsigned char)*s))
			s++;
		const char *t = s;
		while (s < e && !isspace((unsigned char)*s))
			s++;
		if (t == s)
			break;
		int rc = 0;
		if (sec == SEC_RAW || sec == SEC_MEM)
			rc = hex_token(p, t, (size_t)(s - t), sec == SEC_RAW, sec == SEC_RAW ? raw : mem);
		else if (sec == SEC_RESULT)
			result_token(p, t, (size_t)(s - t), df);
		if (rc)
			return rc;
	}
	return 0;
}

int sbpf_datafile__parse(const char *text, const char *file, struct sbpf_datafile *df,
			 struct sbpf_diags *diags)
{
	memset(df, 0, sizeof(*df));
	struct parser p = { .text = text, .file = file, .diags = diags };
	struct bytes raw = { 0 }, mem = { 0 };
	size_t tlen = strlen(text);
	char *asm_text = malloc(tlen + 1);
	size_t asm_len = 0;
	int has_asm = 0, has_raw = 0, has_mem = 0, rc = 0;
	const char *raw_start = NULL;
	enum section sec = SEC_NONE;
	if (!asm_text)
		return -ENOMEM;

	for (const char *s = text; *s && !rc;) {
		const char *e = strchr(s, '\n');
		if (!e)
			e = text + tlen;
		const char *ce = e > s && e[-1] == '\r' ? e - 1 : e;
		const char *t = s;
		while (t < ce && (*t == ' ' || *t == '\t'))
			t++;
		int header = ce - t >= 2 && t[0] == '-' && t[1] == '-';
		if (header) {
			const char *n = t + 2, *ne = ce;
			while (n < ne && isspace((unsigned char)*n))
				n++;
			while (ne > n && isspace((unsigned char)ne[-1]))
				ne--;
			sec = section_named(n, (size_t)(ne - n));
			has_asm |= sec == SEC_ASM;
			has_mem |= sec == SEC_MEM;
			if (sec == SEC_RAW && !has_raw) {
				has_raw = 1;
				raw_start = t;
			}
		} else if (sec == SEC_ASM) {
			const char *end = content_end(s, ce);
			memcpy(asm_text + asm_len, s, (size_t)(end - s));
			asm_len += (size_t)(end - s);
		} else if (*t != '#') {
			rc = section_line(&p, sec, s, ce, df, &raw, &mem);
		}
		if (*e == '\n')
			asm_text[asm_len++] = '\n';
		s = *e ? e + 1 : e;
	}
	asm_text[asm_len] = '\0';
	if (!rc && has_raw && !p.raw_bad && raw.n % 8)
		problem(&p, raw_start, 6, "each instruction is 8 bytes",
			"-- raw section is not a whole number of instructions");
	if (has_asm)
		df->asm_text = asm_text;
	else
		free(asm_text);
	if (has_raw) {
		df->raw = raw.p ? raw.p : calloc(1, 1);
		df->raw_len = raw.n;
	} else {
		free(raw.p);
	}
	if (has_mem) {
		df->mem = mem.p ? mem.p : calloc(1, 1);
		df->mem_len = mem.n;
	} else {
		free(mem.p);
	}
	if (rc)
		return rc;
	if ((has_raw && !df->raw) || (has_mem && !df->mem))
		return -ENOMEM;
	return p.errors ? -EINVAL : 0;
}

static int blank(const char *s)
{
	for (; *s; s++)
		if (!isspace((unsigned char)*s))
			return 0;
	return 1;
}

int sbpf_datafile__program(const struct sbpf_datafile *df, const char *file,
			   struct sbpf_insn **out, size_t *n, struct sbpf_diags *diags)
{
	if (df->raw) {
		if (!df->raw_len)
			return -ENOENT;
		*out = malloc(df->raw_len);
		if (!*out)
			return -ENOMEM;
		memcpy(*out, df->raw, df->raw_len);
		*n = df->raw_len / sizeof(struct sbpf_insn);
		return 0;
	}
	if (!df->asm_text || blank(df->asm_text))
		return -ENOENT;
	int rc = sbpf_assemble(df->asm_text, file, out, n, diags);
	if (rc)
		return rc == -ENOMEM ? rc : -EINVAL;
	if (*n == 0) {
		free(*out);
		*out = NULL;
		return -ENOENT;
	}
	return 0;
}

void sbpf_datafile__free(struct sbpf_datafile *df)
{
	if (!df)
		return;
	free(df->asm_text);
	free(df->raw);
	free(df->mem);
	free(df->error);
	memset(df, 0, sizeof(*df));
}
