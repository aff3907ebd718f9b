/* mapjson.c - map contents as JSON (safebpf/maps.h, docs/vm.md "Map
 * contents"): a small reader for the subset the format needs (objects,
 * arrays, strings without escapes beyond \" and \\, numbers, true, false,
 * null) applied straight to the maps, and the writer of the dump.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/vmInt.h"

/* ---- reader ---------------------------------------------------------------- */

struct jr {
	const char *s, *p;     /* text, position */
	char *why;             /* reason buffer */
	size_t whysz;
	int failed;            /* first error recorded */
};

static int jfail(struct jr *r, const char *fmt, ...)
{
	if (r->failed)
		return -EINVAL;
	int line = 1, col = 1;
	for (const char *q = r->s; q < r->p; q++)
		if (*q == '\n')
			line++, col = 1;
		else
			col++;
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(r->why, r->whysz, "maps JSON %d:%d: %s", line, col, msg);
	r->failed = 1;
	return -EINVAL;
}

static void ws(struct jr *r)
{
	while (*r->p && isspace((unsigned char)*r->p))
		r->p++;
}

static int eat(struct jr *r, char c)
{
	ws(r);
	if (*r->p != c)
		return 0;
	r->p++;
	return 1;
}

/* A string into @buf (@bufsz bytes, truncation is an error). */
static int jstr(struct jr *r, char *buf, size_t bufsz)
{
	ws(r);
	if (*r->p != '"')
		return jfail(r, "expected a string");
	r->p++;
	size_t n = 0;
	while (*r->p && *r->p != '"') {
		char c = *r->p++;
		if (c == '\\') {
			c = *r->p++;
			if (c != '"' && c != '\\' && c != '/')
				return jfail(r, "unsupported escape \\%c", c ? c : '0');
		}
		if (n + 1 >= bufsz)
			return jfail(r, "string too long");
		buf[n++] = c;
	}
	if (*r->p != '"')
		return jfail(r, "unterminated string");
	r->p++;
	buf[n] = '\0';
	return 0;
}

static int jnum(struct jr *r, unsigned long long *v)
{
	ws(r);
	char *end;
	errno = 0;
	*v = strtoull(r->p, &end, 0);
	if (end == r->p || errno || *r->p == '-')
		return jfail(r, "expected a non-negative number");
	r->p = end;
	return 0;
}

/* Skips any value. */
static int jskip(struct jr *r)
{
	ws(r);
	char tmp[4096];
	unsigned long long v;
	if (*r->p == '"')
		return jstr(r, tmp, sizeof(tmp));
	if (eat(r, '{')) {
		if (eat(r, '}'))
			return 0;
		do {
			if (jstr(r, tmp, sizeof(tmp)) || !eat(r, ':'))
				return jfail(r, "expected \"key\": value");
			if (jskip(r))
				return -EINVAL;
		} while (eat(r, ','));
		return eat(r, '}') ? 0 : jfail(r, "expected , or }");
	}
	if (eat(r, '[')) {
		if (eat(r, ']'))
			return 0;
		do {
			if (jskip(r))
				return -EINVAL;
		} while (eat(r, ','));
		return eat(r, ']') ? 0 : jfail(r, "expected , or ]");
	}
	for (const char *w = "true\0false\0null\0"; *w; w += strlen(w) + 1)
		if (!strncmp(r->p, w, strlen(w))) {
			r->p += strlen(w);
			return 0;
		}
	return jnum(r, &v);
}

/* A hex string of exactly @len bytes into @out ("" only when @len is 0;
 * spaces allowed between bytes). */
static int jhex(struct jr *r, uint8_t *out, size_t len, const char *what)
{
	char *buf = malloc(len * 3 + 16);
	if (!buf)
		return jfail(r, "out of memory");
	int rc = jstr(r, buf, len * 3 + 16);
	size_t n = 0;
	for (const char *q = buf; !rc && *q;) {
		if (*q == ' ') {
			q++;
			continue;
		}
		unsigned v;
		if (!isxdigit((unsigned char)q[0]) || !isxdigit((unsigned char)q[1]) || sscanf(q, "%2x", &v) != 1 ||
		    n >= len) {
			rc = jfail(r, "%s: want %zu bytes as hex", what, len);
			break;
		}
		out[n++] = (uint8_t)v;
		q += 2;
	}
	if (!rc && n != len)
		rc = jfail(r, "%s: want %zu bytes as hex, got %zu", what, len, n);
	free(buf);
	return rc;
}

/* One entry {"key": HEX, "value": HEX | [HEX...]} of map @m. */
static int jentry(struct jr *r, struct sbpf_map *m, unsigned ncpus)
{
	uint32_t ks = sbpf_map__key_size(m), vs = sbpf_map__value_size(m), vsz = (vs + 7) & ~7u;
	unsigned nv = sbpf_map__percpu(m) ? ncpus : 1;
	uint8_t *key = calloc(1, ks + 1), *vals = calloc(nv, vsz);
	int have_key = 0, have_val = 0, rc = 0;
	char name[32];
	if (!key || !vals) {
		rc = jfail(r, "out of memory");
		goto out;
	}
	if (!eat(r, '{')) {
		rc = jfail(r, "an entry is {\"key\": HEX, \"value\": HEX}");
		goto out;
	}
	do {
		if ((rc = jstr(r, name, sizeof(name))) || !eat(r, ':')) {
			rc = jfail(r, "expected \"key\" or \"value\"");
			goto out;
		}
		if (!strcmp(name, "key")) {
			rc = jhex(r, key, ks, "key");
			have_key = 1;
		} else if (!strcmp(name, "value")) {
			have_val = 1;
			ws(r);
			if (eat(r, '[')) {
				unsigned c = 0;
				do {
					if (c >= nv) {
						rc = jfail(r, "map '%s': more than %u per-CPU values", sbpf_map__name(m), nv);
						goto out;
					}
					if ((rc = jhex(r, vals + (size_t)c++ * vsz, vs, "value")))
						goto out;
				} while (eat(r, ','));
				if (!eat(r, ']') || c != nv) {
					rc = jfail(r, "map '%s': a list of %u per-CPU values is needed", sbpf_map__name(m), nv);
					goto out;
				}
			} else {
				rc = jhex(r, vals, vs, "value");
				for (unsigned c = 1; !rc && c < nv; c++)
					memcpy(vals + (size_t)c * vsz, vals, vs);
			}
		} else {
			rc = jskip(r);
		}
		if (rc)
			goto out;
	} while (eat(r, ','));
	if (!eat(r, '}')) {
		rc = jfail(r, "expected , or }");
		goto out;
	}
	if (!have_key || !have_val) {
		rc = jfail(r, "map '%s': an entry needs \"key\" and \"value\"", sbpf_map__name(m));
		goto out;
	}
	int urc = sbpf_map__update_all(m, key, vals);
	if (urc)
		rc = jfail(r, "map '%s': cannot store the entry: %s", sbpf_map__name(m), strerror(-urc));
out:
	free(key);
	free(vals);
	return rc;
}

/* The object describing map @m. */
static int jmap(struct jr *r, struct sbpf_map *m, unsigned ncpus)
{
	char field[32], tname[32];
	if (!eat(r, '{'))
		return jfail(r, "map '%s': expected an object", sbpf_map__name(m));
	if (eat(r, '}'))
		return 0;
	do {
		unsigned long long v;
		if (jstr(r, field, sizeof(field)) || !eat(r, ':'))
			return jfail(r, "expected \"field\": value");
		if (!strcmp(field, "type")) {
			if (jstr(r, tname, sizeof(tname)))
				return -EINVAL;
			if (strcmp(tname, sbpf_map__type_name(m)))
				return jfail(r, "map '%s' is a %s, not a %s", sbpf_map__name(m), sbpf_map__type_name(m), tname);
		} else if (!strcmp(field, "key_size") || !strcmp(field, "value_size") || !strcmp(field, "max_entries")) {
			if (jnum(r, &v))
				return -EINVAL;
			uint32_t want = field[0] == 'k' ? sbpf_map__key_size(m) : field[0] == 'v'
					? sbpf_map__value_size(m) : sbpf_map__max_entries(m);
			if (v != want)
				return jfail(r, "map '%s' has %s %u, not %llu", sbpf_map__name(m), field, want, v);
		} else if (!strcmp(field, "entries")) {
			if (!eat(r, '['))
				return jfail(r, "\"entries\" is a list");
			if (eat(r, ']'))
				continue;
			if (!sbpf_map__supported(m) || sbpf_map__type(m) == SBPF_MAP_RINGBUF ||
			    sbpf_map__type(m) == SBPF_MAP_PROG_ARRAY || sbpf_map__type(m) == SBPF_MAP_PERF_EVENT_ARRAY ||
			    vm_map_is_redirect(sbpf_map__type(m)))
				return jfail(r, "map '%s' (%s) takes no entries in user space", sbpf_map__name(m),
					     sbpf_map__type_name(m));
			do {
				if (jentry(r, m, ncpus))
					return -EINVAL;
			} while (eat(r, ','));
			if (!eat(r, ']'))
				return jfail(r, "expected , or ]");
		} else if (!strcmp(field, "records")) {
			if (sbpf_map__type(m) != SBPF_MAP_RINGBUF)
				return jfail(r, "map '%s' is no ring buffer", sbpf_map__name(m));
			if (!eat(r, '['))
				return jfail(r, "\"records\" is a list");
			if (eat(r, ']'))
				continue;
			do {
				char *buf = malloc(1 << 16);
				if (!buf)
					return jfail(r, "out of memory");
				int rc = jstr(r, buf, 1 << 16);
				uint8_t *bytes = rc ? NULL : malloc(strlen(buf) / 2 + 1);
				size_t n = 0;
				for (const char *q = buf; !rc && bytes && q[0] && q[1]; q += 2) {
					unsigned b;
					if (sscanf(q, "%2x", &b) != 1)
						break;
					bytes[n++] = (uint8_t)b;
				}
				if (!rc && (!bytes || sbpf_map__ringbuf_push(m, bytes, (uint32_t)n)))
					rc = jfail(r, "map '%s': the record does not fit", sbpf_map__name(m));
				free(bytes);
				free(buf);
				if (rc)
					return rc;
			} while (eat(r, ','));
			if (!eat(r, ']'))
				return jfail(r, "expected , or ]");
		} else if (jskip(r)) {
			return -EINVAL;
		}
	} while (eat(r, ','));
	return eat(r, '}') ? 0 : jfail(r, "expected , or }");
}

int sbpf_maps__load_json(struct sbpf_maps *m, const char *text, char *why, size_t whysz)
{
	struct jr r = { text, text, why, whysz, 0 };
	char name[80];
	if (!eat(&r, '{'))
		return jfail(&r, "expected an object keyed by map name");
	if (!eat(&r, '}')) {
		do {
			if (jstr(&r, name, sizeof(name)) || !eat(&r, ':'))
				return jfail(&r, "expected \"map name\": {...}");
			struct sbpf_map *map = sbpf_maps__find(m, name);
			if (!map) {
				char list[160] = "";
				for (size_t i = 0; i < sbpf_maps__count(m); i++)
					snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
						 sbpf_map__name(sbpf_maps__get(m, i)));
				return jfail(&r, "no map named '%s' (the program has: %s)", name, *list ? list : "none");
			}
			if (jmap(&r, map, sbpf_maps__ncpus(m)))
				return -EINVAL;
		} while (eat(&r, ','));
		if (!eat(&r, '}'))
			return jfail(&r, "expected , or }");
	}
	ws(&r);
	if (*r.p)
		return jfail(&r, "text after the object");
	return 0;
}

/* ---- writer ---------------------------------------------------------------- */

struct jw {
	char *p;          /* text */
	size_t len, cap;  /* used / allocated */
	int oom;          /* an append failed */
};

static void put(struct jw *w, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		if (w->oom)
			return;
		va_start(ap, fmt);
		int n = vsnprintf(w->p ? w->p + w->len : NULL, w->p ? w->cap - w->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			w->oom = 1;
			return;
		}
		if (w->p && w->len + (size_t)n < w->cap) {
			w->len += (size_t)n;
			return;
		}
		size_t cap = (w->cap ? w->cap * 2 : 4096) + (size_t)n;
		char *q = realloc(w->p, cap);
		if (!q) {
			w->oom = 1;
			return;
		}
		w->p = q;
		w->cap = cap;
	}
}

static void put_hex(struct jw *w, const uint8_t *b, size_t n)
{
	put(w, "\"");
	for (size_t i = 0; i < n; i++)
		put(w, "%02x", b[i]);
	put(w, "\"");
}

static int all_zero(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

char *sbpf_maps__dump_json(const struct sbpf_maps *m)
{
	struct jw w = { 0 };
	put(&w, "{");
	for (size_t i = 0; i < sbpf_maps__count(m); i++) {
		struct sbpf_map *map = sbpf_maps__get(m, i);
		uint32_t ks = sbpf_map__key_size(map), vs = sbpf_map__value_size(map), vsz = (vs + 7) & ~7u;
		unsigned nv = sbpf_map__percpu(map) ? sbpf_maps__ncpus(m) : 1;
		put(&w, "%s\n  \"%s\": {\"type\": \"%s\", \"key_size\": %u, \"value_size\": %u, \"max_entries\": %u",
		    i ? "," : "", sbpf_map__name(map), sbpf_map__type_name(map), ks, vs, sbpf_map__max_entries(map));
		if (sbpf_map__type(map) == SBPF_MAP_RINGBUF) {
			put(&w, ", \"records\": [");
			for (size_t k = 0; k < sbpf_map__ringbuf_count(map); k++) {
				uint32_t len;
				const void *d = sbpf_map__ringbuf_record(map, k, &len);
				put(&w, "%s", k ? ", " : "");
				put_hex(&w, d, len);
			}
			put(&w, "]}");
			continue;
		}
		put(&w, ", \"entries\": [");
		uint8_t *key = calloc(1, ks + 4), *prev = calloc(1, ks + 4);
		int first = 1;
		if (!key || !prev) {
			w.oom = 1;
		} else if (ks && sbpf_map__supported(map)) {
			int have = 0;
			while (!sbpf_map__next_key(map, have ? prev : NULL, key)) {
				const uint8_t *vals = sbpf_map__values(map, key);
				have = 1;
				memcpy(prev, key, ks);
				if (!vals)
					continue;
				int isarray = sbpf_map__type(map) == SBPF_MAP_ARRAY ||
					      sbpf_map__type(map) == SBPF_MAP_PERCPU_ARRAY;
				int zero = 1;
				for (unsigned c = 0; c < nv; c++)
					zero &= all_zero(vals + (size_t)c * vsz, vs);
				if (isarray && zero)
					continue;
				put(&w, "%s\n    {\"key\": ", first ? "" : ",");
				first = 0;
				put_hex(&w, key, ks);
				put(&w, ", \"value\": ");
				if (sbpf_map__percpu(map)) {
					put(&w, "[");
					for (unsigned c = 0; c < nv; c++) {
						put(&w, "%s", c ? ", " : "");
						put_hex(&w, vals + (size_t)c * vsz, vs);
					}
					put(&w, "]");
				} else {
					put_hex(&w, vals, vs);
				}
				put(&w, "}");
			}
		}
		free(key);
		free(prev);
		put(&w, "%s]}", first ? "" : "\n  ");
	}
	put(&w, "\n}\n");
	if (w.oom) {
		free(w.p);
		errno = ENOMEM;
		return NULL;
	}
	return w.p;
}
