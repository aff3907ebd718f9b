/* config.c - the configuration of `safebpf serve` (docs/serve.md):
 *
 *   # comment
 *   listen = 127.0.0.1:9477        global settings first (a value may end with # comment)
 *   interval = 1s
 *   max_series = 10000
 *
 *   [query syscalls]               one section per named query
 *   sql = SELECT syscall_name(syscall_number) AS syscall, COUNT(*) AS calls
 *         FROM system_calls GROUP BY syscall     (indented lines continue a value)
 *   interval = 500ms
 *   max_series = 1000
 *   plan = auto
 *
 * Errors name the file and line. Queries are only checked for their names
 * and options here; the SQL is compiled when the query starts.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/serveInt.h"

bool serve_name_ok(const char *name, size_t len)
{
	if (!len || len >= SERVE_MAX_NAME || isdigit((unsigned char)name[0]))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '_')
			return false;
	return true;
}

void serve_conf_free(struct serve_conf *c)
{
	for (size_t i = 0; i < c->nq; i++)
		free(c->q[i].sql);
	free(c->q);
	memset(c, 0, sizeof(*c));
}

static struct serve_qconf *add_query(struct serve_conf *c, const char *name, size_t len)
{
	struct serve_qconf *nq = realloc(c->q, (c->nq + 1) * sizeof(*nq));
	if (!nq)
		return NULL;
	c->q = nq;
	struct serve_qconf *q = &c->q[c->nq++];
	memset(q, 0, sizeof(*q));
	memcpy(q->name, name, len);
	q->name[len] = '\0';
	return q;
}

static bool duplicate(const struct serve_conf *c, const char *name, size_t len)
{
	for (size_t i = 0; i < c->nq; i++)
		if (strlen(c->q[i].name) == len && !memcmp(c->q[i].name, name, len))
			return true;
	return false;
}

int serve_conf_add(struct serve_conf *c, const char *name, size_t len, const char *sql, char *err, size_t errsz)
{
	if (!serve_name_ok(name, len)) {
		snprintf(err, errsz, "bad query name '%.*s' (letters, digits and _, not starting with a digit)",
			 (int)len, name);
		return -EINVAL;
	}
	if (duplicate(c, name, len)) {
		snprintf(err, errsz, "query '%.*s' is defined twice", (int)len, name);
		return -EINVAL;
	}
	struct serve_qconf *q = add_query(c, name, len);
	if (!q || !(q->sql = strdup(sql)))
		return -ENOMEM;
	q->from_cli = true;
	return 0;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Applies "key = value" to the query @q, or to the globals when @q is NULL. */
static int set_key(struct serve_conf *c, struct serve_qconf *q, const char *key, char *val, char *why,
		   size_t whysz)
{
	/* A comment may follow a value after blanks (not in sql, which may hold '#'). */
	for (char *p = val; strcmp(key, "sql") && *p; p++)
		if (*p == '#' && p > val && (p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			val = trim(val);
			break;
		}
	if (!strcmp(key, "interval")) {
		uint64_t ns;
		if (sbpf_parse_duration(val, &ns) || ns < 1000000) {
			snprintf(why, whysz, "bad interval '%s' (at least 1ms: 500ms, 1s, 10s)", val);
			return -EINVAL;
		}
		*(q ? &q->interval_ns : &c->interval_ns) = ns;
	} else if (!strcmp(key, "max_series")) {
		char *end;
		unsigned long long n = strtoull(val, &end, 10);
		if (*end || !*val || n == 0 || n > 10000000) {
			snprintf(why, whysz, "bad max_series '%s' (1 to 10000000)", val);
			return -EINVAL;
		}
		*(q ? &q->max_series : &c->max_series) = (size_t)n;
	} else if (!strcmp(key, "listen") && !q) {
		if (strlen(val) >= sizeof(c->listen)) {
			snprintf(why, whysz, "listen address too long");
			return -EINVAL;
		}
		strcpy(c->listen, val);
	} else if (!strcmp(key, "sql") && q) {
		free(q->sql);
		if (!(q->sql = strdup(val)))
			return -ENOMEM;
	} else if (!strcmp(key, "plan") && q) {
		if (sbpf_plan_strategy_parse(val, &q->plan)) {
			snprintf(why, whysz, "unknown plan '%s' (auto, mvsf or kernel-max)", val);
			return -EINVAL;
		}
	} else {
		snprintf(why, whysz, "unknown setting '%s'%s", key,
			 q ? " in a query (sql, interval, max_series, plan)" : " (listen, interval, max_series; "
									 "queries go in [query NAME] sections)");
		return -EINVAL;
	}
	return 0;
}

int serve_conf_parse(const char *text, const char *file, struct serve_conf *out, char *err, size_t errsz)
{
	char *copy = strdup(text);
	if (!copy)
		return -ENOMEM;
	struct serve_qconf *q = NULL;
	int rc = 0, lineno = 0;
	char why[256];
	/* A value may continue on indented lines: gather them first. */
	char *key = NULL, *val = NULL;
	size_t vlen = 0;
	int keyline = 0;
	char *line = copy;
	for (bool more = true; more && !rc;) {
		char *nl = strchr(line, '\n');
		more = nl != NULL;
		if (nl)
			*nl = '\0';
		lineno++;
		bool cont = key && (*line == ' ' || *line == '\t') && *trim(line);
		if (cont) {
			char *t = trim(line);
			char *nv = realloc(val, vlen + strlen(t) + 2);
			if (!nv) {
				rc = -ENOMEM;
				break;
			}
			val = nv;
			val[vlen++] = ' ';
			strcpy(val + vlen, t);
			vlen += strlen(t);
		}
		if (!cont && key) {
			/* The previous setting is complete. */
			if ((rc = set_key(out, q, key, val, why, sizeof(why)))) {
				snprintf(err, errsz, "%s:%d: %s", file, keyline, why);
				break;
			}
			free(key);
			free(val);
			key = val = NULL;
		}
		if (cont) {
			line = nl ? nl + 1 : line;
			continue;
		}
		char *t = trim(line);
		if (!*t || *t == '#') {
			/* blank or comment */
		} else if (*t == '[') {
			char *close = strchr(t, ']');
			if (!close || strncmp(t, "[query", 6) || !isspace((unsigned char)t[6]) || *trim(close + 1)) {
				snprintf(err, errsz, "%s:%d: a section is written [query NAME]", file, lineno);
				rc = -EINVAL;
				break;
			}
			*close = '\0';
			char *name = trim(t + 6);
			if (!serve_name_ok(name, strlen(name))) {
				snprintf(err, errsz, "%s:%d: bad query name '%s' (letters, digits and _, not starting "
					 "with a digit)", file, lineno, name);
				rc = -EINVAL;
				break;
			}
			if (duplicate(out, name, strlen(name))) {
				snprintf(err, errsz, "%s:%d: query '%s' is defined twice", file, lineno, name);
				rc = -EINVAL;
				break;
			}
			if (!(q = add_query(out, name, strlen(name)))) {
				rc = -ENOMEM;
				break;
			}
		} else {
			char *eq = strchr(t, '=');
			if (!eq) {
				snprintf(err, errsz, "%s:%d: expected 'key = value'", file, lineno);
				rc = -EINVAL;
				break;
			}
			*eq = '\0';
			if (!(key = strdup(trim(t))) || !(val = strdup(trim(eq + 1)))) {
				rc = -ENOMEM;
				break;
			}
			vlen = strlen(val);
			keyline = lineno;
		}
		line = nl ? nl + 1 : line;
	}
	if (!rc && key && (rc = set_key(out, q, key, val, why, sizeof(why))))
		snprintf(err, errsz, "%s:%d: %s", file, keyline, why);
	free(key);
	free(val);
	for (size_t i = 0; !rc && i < out->nq; i++)
		if (!out->q[i].sql || !*out->q[i].sql) {
			snprintf(err, errsz, "%s: query '%s' has no sql setting", file, out->q[i].name);
			rc = -EINVAL;
		}
	free(copy);
	return rc;
}

int serve_conf_load(const char *path, struct serve_conf *out, char *err, size_t errsz)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		int e = errno;
		snprintf(err, errsz, "cannot read %s: %s", path, strerror(e));
		return -e;
	}
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	char chunk[4096];
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (len + n + 1 > cap) {
			cap = (len + n + 1) * 2;
			char *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				return -ENOMEM;
			}
			buf = nb;
		}
		memcpy(buf + len, chunk, n);
		len += n;
	}
	fclose(f);
	if (!buf && !(buf = calloc(1, 1)))
		return -ENOMEM;
	buf[len] = '\0';
	int rc = serve_conf_parse(buf, path, out, err, errsz);
	free(buf);
	return rc;
}
