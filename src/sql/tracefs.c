/* tracefs.c - tracepoint record layouts read at run time from tracefs
 * (events/<sys>/<name>/format), so that generated programs use the field
 * offsets of the running kernel rather than of the machine they were
 * written on.
 *
 * A format file looks like:
 *   name: sys_enter
 *   ID: 443
 *   format:
 *   \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
 *   \tfield:long id;\toffset:8;\tsize:8;\tsigned:1;
 *   print fmt: "..."
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safebpf/kernel.h"
#include "sql/sqlInt.h"

#define MAX_FIELDS 256
#define MAX_FORMAT_BYTES (1 << 20)

/* Copies the text between @p and @end (trimmed) into @out. */
static void copy_trim(char *out, size_t outsz, const char *p, const char *end)
{
	while (p < end && isspace((unsigned char)*p))
		p++;
	while (end > p && isspace((unsigned char)end[-1]))
		end--;
	size_t n = (size_t)(end - p);
	if (n >= outsz)
		n = outsz - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

/* Parses "key:NUMBER;" somewhere in @line. Returns 0 and the value, or -1. */
static int find_number(const char *line, const char *key, long *val)
{
	const char *p = strstr(line, key);
	if (!p)
		return -1;
	p += strlen(key);
	char *end;
	errno = 0;
	long v = strtol(p, &end, 10);
	if (end == p || errno || *end != ';')
		return -1;
	*val = v;
	return 0;
}

/* Splits a declaration "unsigned long args[6]" into its name ("args"), the
 * type as the kernel would write it without the name ("unsigned long[6]"),
 * and the array length (0 when not an array, -1 for "[]").
 * Returns 0 or -1 when no name can be found. */
static int split_decl(const char *decl, struct sql_tp_field *f, long *alen)
{
	char buf[192];
	copy_trim(buf, sizeof(buf), decl, decl + strlen(decl));
	size_t n = strlen(buf);
	*alen = 0;
	char suffix[32] = "";
	if (n && buf[n - 1] == ']') {
		char *lb = strrchr(buf, '[');
		if (!lb)
			return -1;
		if (lb[1] == ']') {
			*alen = -1;
		} else {
			char *end;
			long v = strtol(lb + 1, &end, 10);
			if (end == lb + 1 || *end != ']' || v <= 0)
				return -1;
			*alen = v;
		}
		snprintf(suffix, sizeof(suffix), "%.30s", lb);
		*lb = '\0';
		n = strlen(buf);
	}
	while (n && isspace((unsigned char)buf[n - 1]))
		buf[--n] = '\0';
	size_t e = n;
	while (n && (isalnum((unsigned char)buf[n - 1]) || buf[n - 1] == '_'))
		n--;
	if (n == e || isdigit((unsigned char)buf[n]))
		return -1;
	snprintf(f->name, sizeof(f->name), "%s", buf + n);
	buf[n] = '\0';
	char type[96];
	copy_trim(type, sizeof(type), buf, buf + n);
	if (!type[0])
		return -1;
	snprintf(f->type, sizeof(f->type), "%.72s%.23s", type, suffix);
	return 0;
}

/* Whether @type (without array suffix) is a character type holding text. */
static int is_char_type(const char *type)
{
	return !strncmp(type, "char[", 5) || !strncmp(type, "const char[", 11) ||
	       !strncmp(type, "signed char[", 12) || !strncmp(type, "unsigned char[", 14);
}

/* Fills in kind and nelem from the type, size and array length; -1 when the
 * layout makes no sense. */
static int classify(struct sql_tp_field *f, long alen)
{
	if (strstr(f->type, "__data_loc")) {
		f->kind = SQL_FIELD_DATA_LOC;
		f->nelem = 1;
		return f->size == 4 ? 0 : -1;
	}
	if (strstr(f->type, "__rel_loc")) {
		f->kind = SQL_FIELD_REL_LOC;
		f->nelem = 1;
		return f->size == 4 ? 0 : -1;
	}
	if (strchr(f->type, '*')) {
		f->kind = SQL_FIELD_PTR;
		f->nelem = 1;
		return f->size == 8 || f->size == 4 ? 0 : -1;
	}
	if (alen > 0) {
		if (f->size % alen)
			return -1;
		f->nelem = (uint16_t)alen;
		f->kind = is_char_type(f->type) ? SQL_FIELD_CHARS : SQL_FIELD_INT;
		return 0;
	}
	if (alen < 0) { /* "[]" outside __data_loc: bytes of unknown length, never read */
		f->kind = SQL_FIELD_OPAQUE;
		f->nelem = 1;
		return 0;
	}
	f->kind = SQL_FIELD_INT;
	f->nelem = 1;
	return 0;
}

/* Parses one "field:...;" line into @f. Returns 0 or -1 with @why set. */
static int parse_field(const char *line, struct sql_tp_field *f, const char **why)
{
	const char *p = strstr(line, "field:");
	const char *semi = p ? strchr(p, ';') : NULL;
	if (!p || !semi) {
		*why = "expected 'field:<declaration>;'";
		return -1;
	}
	char decl[192];
	copy_trim(decl, sizeof(decl), p + 6, semi);
	long alen, off, size, sgn = 0;
	memset(f, 0, sizeof(*f));
	if (split_decl(decl, f, &alen)) {
		*why = "cannot find the field name in the declaration";
		return -1;
	}
	if (find_number(semi, "offset:", &off) || find_number(semi, "size:", &size)) {
		*why = "missing or malformed offset:/size:";
		return -1;
	}
	if (find_number(semi, "signed:", &sgn))
		sgn = 0; /* very old kernels omit it */
	if (off < 0 || size <= 0 || off + size > 65535) {
		*why = "offset or size out of range";
		return -1;
	}
	f->offset = (uint16_t)off;
	f->size = (uint16_t)size;
	f->is_signed = sgn != 0;
	if (classify(f, alen)) {
		*why = "field type does not match its size";
		return -1;
	}
	return 0;
}

int sql_tracefs_parse(const char *text, struct sql_tp_format *fmt, char *err, size_t errsz)
{
	memset(fmt, 0, sizeof(*fmt));
	int lineno = 0, have_id = 0, have_name = 0;
	const char *why = NULL;
	struct sql_tp_field *fields = calloc(MAX_FIELDS, sizeof(*fields));
	if (!fields) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	size_t nfields = 0;
	for (const char *p = text; p && *p;) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char line[512];
		lineno++;
		copy_trim(line, sizeof(line), p, p + len);
		p = end ? end + 1 : NULL;
		if (!strncmp(line, "name:", 5)) {
			copy_trim(fmt->name, sizeof(fmt->name), line + 5, line + strlen(line));
			have_name = 1;
		} else if (!strncmp(line, "ID:", 3)) {
			char *e;
			errno = 0;
			unsigned long id = strtoul(line + 3, &e, 10);
			while (isspace((unsigned char)*e))
				e++;
			if (e == line + 3 || *e || errno || id > UINT32_MAX) {
				why = "malformed ID";
				goto bad;
			}
			fmt->id = (uint32_t)id;
			have_id = 1;
		} else if (!strncmp(line, "field:", 6)) {
			if (nfields == MAX_FIELDS) {
				why = "too many fields";
				goto bad;
			}
			if (parse_field(line, &fields[nfields], &why))
				goto bad;
			nfields++;
		} else if (!strncmp(line, "print fmt:", 10)) {
			break;
		}
		/* "format:" and blank lines carry nothing */
	}
	if (!have_name || !have_id || nfields == 0) {
		snprintf(err, errsz, "not a tracepoint format (missing %s)",
			 !have_name ? "name:" : !have_id ? "ID:" : "fields");
		free(fields);
		return -EINVAL;
	}
	struct sql_tp_field *fit = realloc(fields, nfields * sizeof(*fields));
	fmt->fields = fit ? fit : fields;
	fmt->nfields = nfields;
	return 0;
bad:
	snprintf(err, errsz, "line %d: %s", lineno, why);
	free(fields);
	memset(fmt, 0, sizeof(*fmt));
	return -EINVAL;
}

/* Whether @tp is "sys/name" with plain identifier parts (no path tricks). */
static int valid_tp_name(const char *tp)
{
	const char *slash = strchr(tp, '/');
	if (!slash || slash == tp || !slash[1] || strchr(slash + 1, '/'))
		return 0;
	for (const char *c = tp; *c; c++)
		if (c != slash && !isalnum((unsigned char)*c) && *c != '_' && *c != '-')
			return 0;
	return 1;
}

enum sql_probe_kind sql_probe_kind(const char *tp)
{
	if (!strcmp(tp, SQL_CPU_CLOCK_TP))
		return SQL_PROBE_CPU_CLOCK;
	if (!strncmp(tp, "uprobe/", 7))
		return SQL_PROBE_UPROBE;
	if (!strncmp(tp, "uretprobe/", 10))
		return SQL_PROBE_URETPROBE;
	if (!strncmp(tp, "usdt/", 5))
		return SQL_PROBE_USDT;
	return SQL_PROBE_TRACEPOINT;
}

/* Record ids of the built-in probes (the record header's first word; only
 * unique within one source, which never mixes them with tracepoints of
 * the same id range: tracefs ids are small). */
#define ID_CPU_CLOCK 0x7fff0001u
#define ID_UPROBE 0x7fff0002u
#define ID_URETPROBE 0x7fff0003u
#define ID_USDT 0x7fff0004u

/* struct pt_regs (x86-64) offsets of the argument and return registers. */
static const struct { const char *name; uint16_t off; } pt_regs_args[] = {
	{ "di", 112 }, { "si", 104 }, { "dx", 96 }, { "cx", 88 }, { "r8", 72 }, { "r9", 64 }, { "ax", 80 },
};

/* The format of USDT probe @tp ("usdt/PATH:SPEC"): one field per argument,
 * named arg0, arg1, ..., read where the probe's note says (usdt.c). */
static int usdt_format(const char *tp, struct sql_tp_format *fmt, char *err, size_t errsz)
{
	char path[4096];
	const char *spec = tp + 5, *colon = strchr(spec, ':');
	if (!colon || (size_t)(colon - spec) >= sizeof(path)) {
		snprintf(err, errsz, "bad USDT probe name '%s'", tp);
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "%.*s", (int)(colon - spec), spec);
	struct sql_usdt_probe *p = malloc(sizeof(*p));
	int rc = p ? sql_usdt_find(path, colon + 1, p, err, errsz) : -ENOMEM;
	/* the fields, then (several variants) each field's places, in one block */
	size_t nv = !rc && p->nvariants > 1 ? p->nvariants : 0;
	if (!rc && !(fmt->fields = calloc(1, (p->nargs ? p->nargs : 1) * (sizeof(*fmt->fields) +
									   nv * sizeof(struct sql_usdt_arg)))))
		rc = -ENOMEM;
	if (rc == -ENOMEM)
		snprintf(err, errsz, "out of memory");
	struct sql_usdt_arg *places = rc ? NULL : (struct sql_usdt_arg *)(fmt->fields + p->nargs);
	for (size_t i = 0; !rc && i < p->nargs; i++) {
		const struct sql_usdt_arg *a = &p->args[0][i];
		struct sql_tp_field *f = &fmt->fields[i];
		bool bad = false;
		for (size_t v = 0; v < p->nvariants; v++)
			bad |= p->args[v][i].loc == SQL_USDT_BAD;
		snprintf(f->name, sizeof(f->name), "arg%zu", i);
		snprintf(f->type, sizeof(f->type), "%s", a->text);
		f->kind = bad ? SQL_FIELD_OPAQUE : nv ? SQL_FIELD_USDT_SITES : a->loc == SQL_USDT_REG ? SQL_FIELD_INT
			: a->loc == SQL_USDT_MEM ? SQL_FIELD_UMEM : SQL_FIELD_CONST;
		f->offset = a->loc == SQL_USDT_REG || a->loc == SQL_USDT_MEM ? a->reg : 0;
		f->size = a->size;
		f->nelem = 1;
		f->is_signed = a->is_signed;
		f->imm = a->imm;
		if (nv) {
			f->offset = 0; /* the record slot: 8-byte aligned */
			for (size_t v = 0; v < nv; v++)
				places[i * nv + v] = p->args[v][i];
			f->sites = &places[i * nv];
			f->nsites = (uint8_t)nv;
		}
	}
	if (!rc)
		fmt->nfields = p->nargs;
	free(p);
	return rc;
}

/* The built-in format of a probe that is not a tracepoint. */
static int builtin_format(const char *tp, enum sql_probe_kind k, struct sql_tp_format *fmt, char *err,
			  size_t errsz)
{
	snprintf(fmt->name, sizeof(fmt->name), "%s", k == SQL_PROBE_CPU_CLOCK ? "cpu_clock"
		 : k == SQL_PROBE_USDT ? "usdt" : "uprobe");
	fmt->id = k == SQL_PROBE_CPU_CLOCK ? ID_CPU_CLOCK : k == SQL_PROBE_UPROBE ? ID_UPROBE
		: k == SQL_PROBE_USDT ? ID_USDT : ID_URETPROBE;
	if (k == SQL_PROBE_CPU_CLOCK)
		return 0;
	if (k == SQL_PROBE_USDT)
		return usdt_format(tp, fmt, err, errsz);
	size_t n = sizeof(pt_regs_args) / sizeof(pt_regs_args[0]);
	if (!(fmt->fields = calloc(n, sizeof(*fmt->fields)))) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		struct sql_tp_field *f = &fmt->fields[i];
		snprintf(f->name, sizeof(f->name), "%s", pt_regs_args[i].name);
		snprintf(f->type, sizeof(f->type), "unsigned long");
		f->kind = SQL_FIELD_INT;
		f->offset = pt_regs_args[i].off;
		f->size = 8;
		f->nelem = 1;
	}
	fmt->nfields = n;
	(void)tp;
	return 0;
}

/* Format texts read so far, per tracepoint: a format does not change while
 * the kernel runs, and the binder and the query generator ask for the same
 * ones thousands of times. Entries are never removed, so a text stays valid
 * once found. */
static pthread_mutex_t format_cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct format_text { char *tp, *text; } *format_cache;
static size_t format_cache_n, format_cache_cap;

static const char *cached_format(const char *tp)
{
	const char *text = NULL;
	pthread_mutex_lock(&format_cache_mu);
	for (size_t i = 0; i < format_cache_n && !text; i++)
		if (!strcmp(format_cache[i].tp, tp))
			text = format_cache[i].text;
	pthread_mutex_unlock(&format_cache_mu);
	return text;
}

/* Keeps @text (malloc'ed) as @tp's format; returns the text to parse (the
 * one kept, or @text itself when memory is short). */
static char *cache_format(const char *tp, char *text)
{
	pthread_mutex_lock(&format_cache_mu);
	if (format_cache_n == format_cache_cap) {
		size_t cap = format_cache_cap ? 2 * format_cache_cap : 64;
		struct format_text *c = realloc(format_cache, cap * sizeof(*c));
		if (c) {
			format_cache = c;
			format_cache_cap = cap;
		}
	}
	char *name = format_cache_n < format_cache_cap ? strdup(tp) : NULL;
	char *kept = name ? realloc(text, strlen(text) + 1) : NULL;
	if (kept) {
		format_cache[format_cache_n++] = (struct format_text){ name, kept };
		text = kept;
	} else {
		free(name);
	}
	pthread_mutex_unlock(&format_cache_mu);
	return kept ? NULL : text; /* NULL: the cache owns it */
}

/* Reads @tp's format file into a malloc'ed string. */
static int read_format(const char *tp, char **out, char *err, size_t errsz)
{
	const char *root = sbpf_kernel_tracefs();
	if (!root) {
		int e = errno;
		snprintf(err, errsz, "tracefs is not mounted and cannot be mounted (%s)", strerror(e));
		return -(e ? e : ENOENT);
	}
	char path[512];
	snprintf(path, sizeof(path), "%s/events/%s/format", root, tp);
	FILE *f = fopen(path, "r");
	if (!f) {
		int e = errno;
		if (e == ENOENT)
			snprintf(err, errsz, "tracepoint %s does not exist on this kernel", tp);
		else
			snprintf(err, errsz, "cannot read %s: %s", path, strerror(e));
		return -e;
	}
	char *buf = malloc(MAX_FORMAT_BYTES + 1);
	if (!buf) {
		fclose(f);
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	size_t n = fread(buf, 1, MAX_FORMAT_BYTES, f);
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		free(buf);
		snprintf(err, errsz, "cannot read %s", path);
		return -EIO;
	}
	buf[n] = '\0';
	*out = buf;
	return 0;
}

int sql_tracefs_load(const char *tp, struct sql_tp_format *fmt, char *err, size_t errsz)
{
	memset(fmt, 0, sizeof(*fmt));
	enum sql_probe_kind kind = sql_probe_kind(tp);
	if (kind != SQL_PROBE_TRACEPOINT)
		return builtin_format(tp, kind, fmt, err, errsz);
	if (!valid_tp_name(tp)) {
		snprintf(err, errsz, "'%s' is not a tracepoint name (sys/name)", tp);
		return -EINVAL;
	}
	const char *text = cached_format(tp);
	char *own = NULL;
	if (!text) {
		char *buf = NULL;
		int rc = read_format(tp, &buf, err, errsz);
		if (rc)
			return rc;
		own = cache_format(tp, buf);
		text = own ? own : cached_format(tp);
	}
	char why[160];
	int rc = sql_tracefs_parse(text, fmt, why, sizeof(why));
	free(own);
	if (rc)
		snprintf(err, errsz, "%s/events/%s/format: %s", sbpf_kernel_tracefs(), tp, why);
	return rc;
}

const struct sql_tp_field *sql_tp_field(const struct sql_tp_format *fmt, const char *name)
{
	for (size_t i = 0; i < fmt->nfields; i++)
		if (!strcmp(fmt->fields[i].name, name))
			return &fmt->fields[i];
	return NULL;
}

void sql_tp_format_free(struct sql_tp_format *fmt)
{
	if (!fmt)
		return;
	free(fmt->fields);
	fmt->fields = NULL;
	fmt->nfields = 0;
}
