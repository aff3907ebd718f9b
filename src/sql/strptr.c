/* strptr.c - str(ptr[, len]) and kstr(ptr[, len]): the NUL-terminated
 * string at the address held by an integer column (a user function's
 * argument or return value, a pointer field of a tracepoint), read by the
 * probe itself when the event happens, since the memory may be gone or
 * reused by the time user space sees the record.
 *
 * The binder turns such a call into a reference to a column derived for
 * the query: the query gets its own copy of the table (in the query's
 * arena) with one more column per distinct call, whose source is the same
 * probe field read as an address (SQL_CONV_USTR: bpf_probe_read_user_str,
 * SQL_CONV_KSTR: bpf_probe_read_kernel_str; record.c, codegen.c). Every plan
 * (MVSF, kernel filters, kernel aggregation) then sees an ordinary string
 * column, so they all give the same rows. A fault (unmapped page, NULL)
 * gives the empty string, as for the paths of openat; a longer string is
 * cut to len bytes.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sql/sqlInt.h"

bool sql_strptr_name(const char *fn, bool *user)
{
	bool u = !strcasecmp(fn, "str");
	if (!u && strcasecmp(fn, "kstr"))
		return false;
	*user = u;
	return true;
}

bool sql_strptr_refusal(const struct sql_table *t, size_t col, char *why, size_t whysz)
{
	const struct sql_column *c = &t->cols[col];
	if (c->type != SQL_T_INT && c->type != SQL_T_UINT) {
		snprintf(why, whysz, "it needs a column holding an address (an integer such as arg0 or retval)");
		return true;
	}
	const struct sql_input *in = &c->src.in[0];
	if (c->src.conv != SQL_CONV_NUM || !in->name || in->name[0] == '$' || in->elem >= 0 || c->src.in[1].name ||
	    in->probe >= t->nprobes) {
		snprintf(why, whysz, "that column is not read from the probe's fields as a whole 64-bit value "
			 "(only arguments, return values and pointer fields hold addresses)");
		return true;
	}
	/* The field itself: a register or an 8-byte integer or pointer (not a
	 * USDT argument kept in memory or a constant, not a narrower integer). */
	struct sql_tp_format fmt;
	char err[256];
	if (sql_tracefs_load(t->probes[in->probe].tp, &fmt, err, sizeof(err)))
		return false; /* the table's own error comes when its probes are read */
	const struct sql_tp_field *f = sql_tp_field(&fmt, in->name);
	bool ok = f && (f->kind == SQL_FIELD_INT || f->kind == SQL_FIELD_PTR) && f->size == 8 && f->nelem == 1;
	if (!ok)
		snprintf(why, whysz, "its value (%s%s) is not a 64-bit address the probe holds", f ? f->type : "?",
			 f && f->kind == SQL_FIELD_UMEM ? ", kept in memory" : "");
	sql_tp_format_free(&fmt);
	return !ok;
}

int sql_strptr_column(struct sql_arena *a, struct sql_query *q, int side, int col, bool user, unsigned len)
{
	const struct sql_table *t = q->tables[side];
	const struct sql_column *c = &t->cols[col];
	char name[128];
	if (len == SQL_STR_DEFAULT)
		snprintf(name, sizeof(name), "%s(%s)", user ? "str" : "kstr", c->name);
	else
		snprintf(name, sizeof(name), "%s(%s, %u)", user ? "str" : "kstr", c->name, len);
	for (size_t i = 0; i < t->ncols; i++)
		if (sql_column_is_derived(&t->cols[i]) && !strcmp(t->cols[i].name, name))
			return (int)i;
	/* A copy of the table with one more column (earlier copies of this
	 * query stay in the arena, unused). */
	struct sql_table *nt = sql_arena_alloc(a, sizeof(*nt));
	struct sql_column *cols = sql_arena_alloc(a, (t->ncols + 1) * sizeof(*cols));
	char *nm = sql_arena_strndup(a, name, strlen(name));
	char doc[200];
	snprintf(doc, sizeof(doc), "string at the %s address in %s (up to %u bytes; empty when unreadable)",
		 user ? "user" : "kernel", c->name, len);
	char *dc = sql_arena_strndup(a, doc, strlen(doc));
	if (!nt || !cols || !nm || !dc)
		return -ENOMEM;
	memcpy(cols, t->cols, t->ncols * sizeof(*cols));
	cols[t->ncols] = (struct sql_column){
		.name = nm, .type = SQL_T_STR, .doc = dc,
		.src = { .conv = user ? SQL_CONV_USTR : SQL_CONV_KSTR, .in = { c->src.in[0] },
			 .strmax = (uint16_t)(len + 1) },
	};
	*nt = *t;
	nt->cols = cols;
	nt->ncols = t->ncols + 1;
	/* A self-join reads one table for both sides: both get the copy. */
	for (int s = 0; s < q->ntables; s++)
		if (q->tables[s] == t)
			q->tables[s] = nt;
	return (int)t->ncols;
}
