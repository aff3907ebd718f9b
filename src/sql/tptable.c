/* tptable.c - generic tables: every tracepoint of the running kernel is a
 * table, named tracepoint.<subsystem>.<event> or, shorter,
 * <subsystem>.<event> ("oom.mark_victim"). Stable table names are single
 * identifiers, so a dotted name is always a tracepoint and never shadows
 * (or is shadowed by) a stable table.
 *
 * A generic table is built on first use from the tracepoint's tracefs
 * format file and kept for the life of the process (one per tracepoint):
 * the context columns of every table (ts, cpu, pid, tid, comm, uid, gid,
 * cgroup), then one column per field of the record, typed from its C
 * declaration. The table is an ordinary one-probe event table, so the MVSF
 * generator, the optimizer's candidates and the executor treat it exactly
 * as a stable table. Its columns depend on the kernel: generic tables are
 * kernel-version-specific, the stable tables are the portable interface.
 *
 * Field to column rules (documented in docs/schema.md):
 *   - integers (and bool): int when signed (by the format or the C type),
 *     else uint; bool for "bool";
 *   - char arrays and __data_loc/__rel_loc char[]: string;
 *   - other byte arrays (u8 saddr[4]): string of hex bytes;
 *   - arrays of wider integers with up to 16 elements: one column per
 *     element, <name>_0, <name>_1, ...;
 *   - pointers: uint (the address), except character pointers of the
 *     syscalls/ tracepoints, which are user-space strings read at the event;
 *   - fields named like a context column or an SQL keyword are prefixed
 *     with "event_" (oom.mark_victim's pid is event_pid);
 *   - __data_loc arrays of numbers: string of hex bytes (the first bytes);
 *   - fields of unknown length (char buf[]) are not columns.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "safebpf/kernel.h"
#include "sql/sqlInt.h"

#define TPT_MAX_COLS 160      /* columns of one generic table */
#define TPT_STR_BUDGET 2560   /* record bytes shared by the string columns (the two stacks
				 take 2 x 512 more) */
#define TPT_STR_MAX 256       /* bytes per string read through a pointer or __data_loc */
#define TPT_MAX_ELEMS 16      /* arrays up to this many elements become columns */

/* One generic table and everything its pointers reach (never freed: the
 * table is handed out as a borrowed pointer for the life of the process). */
struct tpt {
	struct sql_table t;        /* the table */
	struct sql_probe probe;    /* its only probe */
	const char *tps[2];        /* tracepoint list (NULL-terminated) */
	char tp[128];              /* "oom/mark_victim" */
	struct tpt *next;          /* next cached table */
};

static struct tpt *cache;      /* tables built so far */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

int sql_tptable_path(const char *name, char *tp, size_t tpsz)
{
	if (!name)
		return -EINVAL;
	if (!strncasecmp(name, "tracepoint.", 11))
		name += 11;
	const char *dot = strchr(name, '.');
	if (!dot || dot == name || !dot[1] || strchr(dot + 1, '.'))
		return -EINVAL;
	for (const char *c = name; *c; c++)
		if (c != dot && !isalnum((unsigned char)*c) && *c != '_' && *c != '-')
			return -EINVAL;
	if ((size_t)snprintf(tp, tpsz, "%.*s/%s", (int)(dot - name), name, dot + 1) >= tpsz)
		return -EINVAL;
	return 0;
}

/* Whether @name is taken by a context column or is an SQL keyword. */
static bool reserved(const char *name)
{
	size_t n;
	const struct sql_column *ctx = sql_catalog_context(&n);
	for (size_t i = 0; i < n; i++)
		if (!strcasecmp(ctx[i].name, name) || (ctx[i].alias && !strcasecmp(ctx[i].alias, name)))
			return true;
	if (!strcasecmp(name, "kstack") || !strcasecmp(name, "ustack"))
		return true;
#define KW_TEXT(k) #k,
	static const char *const kws[] = { SQL_KEYWORDS(KW_TEXT) };
#undef KW_TEXT
	for (size_t i = 0; i < sizeof(kws) / sizeof(kws[0]); i++)
		if (!strcasecmp(kws[i], name))
			return true;
	static const char *const words[] = { "left", "right", "full", "cross", "outer", "natural",
					     "union", "intersect", "except", "offset" };
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcasecmp(words[i], name))
			return true;
	return false;
}

/* Whether the C type @type (as tracefs writes it) is a signed integer. */
static bool c_signed(const char *type)
{
	if (strstr(type, "unsigned") || strchr(type, '*'))
		return false;
	static const char *const s[] = { "int", "long", "short", "long long", "pid_t", "s8", "s16", "s32", "s64",
					  "__s8", "__s16", "__s32", "__s64", "ssize_t", "loff_t", "off_t",
					  "time64_t", "ktime_t", "signed char", "int8_t", "int16_t", "int32_t",
					  "int64_t", "long int", "short int" };
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		if (!strcmp(type, s[i]))
			return true;
	return false;
}

/* Whether pointer field @f points to characters (one level: "const char *"). */
static bool char_pointer(const struct sql_tp_field *f)
{
	const char *star = strchr(f->type, '*');
	return star && !strchr(star + 1, '*') && strstr(f->type, "char") && strstr(f->type, "char") < star;
}

/* Column builder: columns so far, with their names checked for clashes. */
struct builder {
	struct sql_column *cols;   /* TPT_MAX_COLS entries */
	size_t n;                  /* used */
	const char *tp;            /* tracepoint */
};

static bool taken(const struct builder *b, const char *name)
{
	for (size_t i = 0; i < b->n; i++)
		if (!strcasecmp(b->cols[i].name, name) || (b->cols[i].alias && !strcasecmp(b->cols[i].alias, name)))
			return true;
	return false;
}

/* Adds a column named @name (prefixed with "event_" when reserved; dropped
 * when the name is still taken or the table is full). Returns it or NULL. */
static struct sql_column *add(struct builder *b, const char *name, enum sql_type type, const char *doc)
{
	char nm[96];
	snprintf(nm, sizeof(nm), "%s%s", reserved(name) ? "event_" : "", name);
	if (b->n >= TPT_MAX_COLS - 2 || taken(b, nm)) /* two left for the stacks */
		return NULL;
	struct sql_column *c = &b->cols[b->n];
	memset(c, 0, sizeof(*c));
	c->name = strdup(nm);
	c->doc = strdup(doc);
	if (!c->name || !c->doc)
		return NULL;
	c->type = type;
	b->n++;
	return c;
}

/* The columns of field @f. Returns 0 or -ENOMEM. */
static int field_columns(struct builder *b, const struct sql_tp_field *f, uint16_t strmax)
{
	char doc[400];
	unsigned es = f->nelem ? f->size / f->nelem : f->size;
	const char *fname = strdup(f->name);
	if (!fname)
		return -ENOMEM;
	struct sql_column *c = NULL;
	switch (f->kind) {
	case SQL_FIELD_INT:
		if (f->nelem == 1) {
			if (es != 1 && es != 2 && es != 4 && es != 8)
				break;
			bool sgn = f->is_signed || c_signed(f->type);
			snprintf(doc, sizeof(doc), "field '%s %s' (%u bytes)", f->type, f->name, f->size);
			c = add(b, f->name, !strcmp(f->type, "bool") ? SQL_T_BOOL : sgn ? SQL_T_INT : SQL_T_UINT, doc);
			if (c)
				c->src = (struct sql_colsrc){ .conv = SQL_CONV_NUM, .in = { { 0, -1, fname } } };
		} else if (es == 1) {
			snprintf(doc, sizeof(doc), "field '%s %s' as hex bytes", f->type, f->name);
			if ((c = add(b, f->name, SQL_T_STR, doc)))
				c->src = (struct sql_colsrc){ .conv = SQL_CONV_HEX, .in = { { 0, -1, fname } } };
		} else if ((es == 2 || es == 4 || es == 8) && f->nelem <= TPT_MAX_ELEMS) {
			bool sgn = f->is_signed;
			for (unsigned i = 0; i < f->nelem; i++) {
				char nm[96];
				snprintf(nm, sizeof(nm), "%s_%u", f->name, i);
				snprintf(doc, sizeof(doc), "element %u of field '%s %s'", i, f->type, f->name);
				if ((c = add(b, nm, sgn ? SQL_T_INT : SQL_T_UINT, doc)))
					c->src = (struct sql_colsrc){ .conv = SQL_CONV_NUM,
								      .in = { { 0, (int8_t)i, fname } } };
			}
		}
		break;
	case SQL_FIELD_CHARS:
		snprintf(doc, sizeof(doc), "field '%s %s' (string)", f->type, f->name);
		if ((c = add(b, f->name, SQL_T_STR, doc)))
			c->src = (struct sql_colsrc){ .conv = SQL_CONV_STR, .in = { { 0, -1, fname } } };
		break;
	case SQL_FIELD_DATA_LOC:
	case SQL_FIELD_REL_LOC:
		if (!strstr(f->type, "char")) {
			/* An array of numbers: its bytes as hex (the first strmax). */
			snprintf(doc, sizeof(doc), "field '%s %s' as hex bytes (up to %u bytes)", f->type, f->name,
				 strmax - 8u);
			if ((c = add(b, f->name, SQL_T_STR, doc)))
				c->src = (struct sql_colsrc){ .conv = SQL_CONV_HEX, .in = { { 0, -1, fname } },
							      .strmax = (uint16_t)(strmax - 8) };
			break;
		}
		snprintf(doc, sizeof(doc), "field '%s %s' (string, up to %u bytes)", f->type, f->name, strmax - 1u);
		if ((c = add(b, f->name, SQL_T_STR, doc)))
			c->src = (struct sql_colsrc){ .conv = SQL_CONV_STR, .in = { { 0, -1, fname } }, .strmax = strmax };
		break;
	case SQL_FIELD_PTR:
		if (!strncmp(b->tp, "syscalls/", 9) && char_pointer(f)) {
			snprintf(doc, sizeof(doc), "field '%s %s': the string it points to in user memory "
				 "(up to %u bytes; empty when not resident)", f->type, f->name, strmax - 1u);
			if ((c = add(b, f->name, SQL_T_STR, doc)))
				c->src = (struct sql_colsrc){ .conv = SQL_CONV_STR, .in = { { 0, -1, fname } },
							      .strmax = strmax };
		} else {
			snprintf(doc, sizeof(doc), "field '%s %s' (an address)", f->type, f->name);
			if ((c = add(b, f->name, SQL_T_UINT, doc)))
				c->src = (struct sql_colsrc){ .conv = SQL_CONV_NUM, .in = { { 0, -1, fname } } };
		}
		break;
	case SQL_FIELD_OPAQUE:
	case SQL_FIELD_UMEM:  /* USDT formats only (usdt.c) */
	case SQL_FIELD_CONST:
	case SQL_FIELD_USDT_SITES:
		break;
	}
	return 0;
}

/* Whether field @f becomes a string read through a pointer or __data_loc
 * (whose size the record budget shares). */
static bool long_string(const char *tp, const struct sql_tp_field *f)
{
	if (f->offset < 8)
		return false;
	if (f->kind == SQL_FIELD_DATA_LOC || f->kind == SQL_FIELD_REL_LOC)
		return true;
	return f->kind == SQL_FIELD_PTR && !strncmp(tp, "syscalls/", 9) && char_pointer(f);
}

/* Builds the table of @tp from @fmt. NULL with errno on failure. */
static struct tpt *build(const char *tp, const struct sql_tp_format *fmt)
{
	struct tpt *x = calloc(1, sizeof(*x));
	struct builder b = { .cols = calloc(TPT_MAX_COLS, sizeof(struct sql_column)), .tp = NULL };
	if (!x || !b.cols)
		goto nomem;
	snprintf(x->tp, sizeof(x->tp), "%s", tp);
	b.tp = x->tp;
	size_t nctx;
	const struct sql_column *ctx = sql_catalog_context(&nctx);
	for (size_t i = 0; i < nctx; i++)
		b.cols[b.n++] = ctx[i];
	/* Fixed bytes first; strings share what is left of the record. */
	size_t fixed = 64, nstr = 0;
	for (size_t i = 0; i < fmt->nfields; i++) {
		if (long_string(tp, &fmt->fields[i]))
			nstr++;
		else if (fmt->fields[i].offset >= 8 && fmt->fields[i].kind != SQL_FIELD_OPAQUE)
			fixed += fmt->fields[i].size + 8u;
	}
	size_t each = nstr ? (TPT_STR_BUDGET > fixed ? (TPT_STR_BUDGET - fixed) / nstr : 0) : TPT_STR_MAX;
	if (each > TPT_STR_MAX)
		each = TPT_STR_MAX;
	each &= ~(size_t)7;
	if (each < 16)
		each = 16;
	for (size_t i = 0; i < fmt->nfields; i++)
		if (fmt->fields[i].offset >= 8 && field_columns(&b, &fmt->fields[i], (uint16_t)each))
			goto nomem;
	size_t nstk;
	const struct sql_column *stk = sql_catalog_stacks(&nstk);
	for (size_t i = 0; i < nstk && b.n < TPT_MAX_COLS; i++)
		b.cols[b.n++] = stk[i];
	const char *slash = strchr(x->tp, '/');
	char name[200], alias[160], doc[300], notes[700];
	snprintf(alias, sizeof(alias), "%.*s.%s", (int)(slash - x->tp), x->tp, slash + 1);
	snprintf(name, sizeof(name), "tracepoint.%s", alias);
	snprintf(doc, sizeof(doc), "one row per %s event (generic, kernel-version-specific)", x->tp);
	snprintf(notes, sizeof(notes),
		 "Generated at run time from the tracefs format of %s on this kernel: its fields and their "
		 "types are those of the running kernel and may differ on another one (the stable tables are "
		 "the portable interface). Fields named like a context column or an SQL keyword are "
		 "prefixed with event_.", x->tp);
	x->tps[0] = x->tp;
	x->probe.tp = x->tp;
	x->probe.doc = "the tracepoint itself";
	x->t.name = strdup(name);
	x->t.alias = strdup(alias);
	x->t.doc = strdup(doc);
	x->t.notes = strdup(notes);
	if (!x->t.name || !x->t.alias || !x->t.doc || !x->t.notes)
		goto nomem;
	x->t.cols = b.cols;
	x->t.ncols = b.n;
	x->t.tracepoints = x->tps;
	x->t.probes = &x->probe;
	x->t.nprobes = 1;
	x->t.attribution = "rows belong to the task running when the tracepoint fired (for events raised in an "
			   "interrupt or by a kernel worker, that task rather than the one the event is about); "
			   "-p/-c match its pid";
	x->t.filter_gap = "events this tracepoint raises in an interrupt or in a kernel worker on behalf of the "
			  "traced processes belong to whatever task was running and are not kept";
	return x;
nomem:
	/* Partially built strings stay allocated: this only happens out of memory. */
	free(b.cols);
	free(x);
	errno = ENOMEM;
	return NULL;
}

const struct sql_table *sql_tptable_find(const char *name, char *err, size_t errsz)
{
	char tp[128], why[300];
	if (sql_tptable_path(name, tp, sizeof(tp))) {
		snprintf(err, errsz, "'%s' is not a tracepoint table name (tracepoint.SUBSYSTEM.EVENT or "
			 "SUBSYSTEM.EVENT)", name ? name : "");
		errno = EINVAL;
		return NULL;
	}
	pthread_mutex_lock(&lock);
	struct tpt *x = cache;
	while (x && strcmp(x->tp, tp))
		x = x->next;
	if (!x) {
		struct sql_tp_format fmt;
		int rc = sql_tracefs_load(tp, &fmt, why, sizeof(why));
		if (rc) {
			pthread_mutex_unlock(&lock);
			snprintf(err, errsz, "%s", why);
			errno = -rc;
			return NULL;
		}
		x = build(tp, &fmt);
		sql_tp_format_free(&fmt);
		if (!x) {
			pthread_mutex_unlock(&lock);
			snprintf(err, errsz, "out of memory");
			errno = ENOMEM;
			return NULL;
		}
		x->next = cache;
		cache = x;
	}
	pthread_mutex_unlock(&lock);
	return &x->t;
}

bool sql_table_generic(const struct sql_table *t)
{
	return t && t->name && !strncmp(t->name, "tracepoint.", 11);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Whether directory entry @name is a plain name (no dot files). */
static bool plain(const char *name)
{
	return name[0] && name[0] != '.';
}

int sql_tptable_list(char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	const char *root = sbpf_kernel_tracefs();
	if (!root)
		return -(errno ? errno : ENOENT);
	char path[512];
	snprintf(path, sizeof(path), "%s/events", root);
	DIR *d = opendir(path);
	if (!d)
		return -errno;
	char **v = NULL;
	size_t cap = 0, cnt = 0;
	int rc = 0;
	struct dirent *s;
	while (!rc && (s = readdir(d))) {
		/* ftrace/ holds the formats of ftrace's own records (function, print):
		 * not tracepoints, no program can attach to them. */
		if (!plain(s->d_name) || s->d_type != DT_DIR || !strcmp(s->d_name, "ftrace"))
			continue;
		char sub[800];
		snprintf(sub, sizeof(sub), "%s/%s", path, s->d_name);
		DIR *e = opendir(sub);
		if (!e)
			continue;
		struct dirent *ev;
		while ((ev = readdir(e))) {
			if (!plain(ev->d_name) || ev->d_type != DT_DIR)
				continue;
			if (cnt == cap) {
				size_t nc = cap ? 2 * cap : 1024;
				char **nv = realloc(v, nc * sizeof(*nv));
				if (!nv) {
					rc = -ENOMEM;
					break;
				}
				v = nv;
				cap = nc;
			}
			size_t len = strlen(s->d_name) + strlen(ev->d_name) + 2;
			if (!(v[cnt] = malloc(len))) {
				rc = -ENOMEM;
				break;
			}
			snprintf(v[cnt++], len, "%s/%s", s->d_name, ev->d_name);
		}
		closedir(e);
	}
	closedir(d);
	if (rc) {
		sql_tptable_list_free(v, cnt);
		return rc;
	}
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_str);
	*out = v;
	*n = cnt;
	return 0;
}

void sql_tptable_list_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}
