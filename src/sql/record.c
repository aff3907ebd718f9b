/* record.c - the records of MVSF programs: which values a probe captures
 * for the requested columns (bound against the running kernel's tracefs
 * formats), where each sits in the record, and how records become rows.
 *
 * A record is an 8-byte header (u32 tracepoint id, u32 record size)
 * followed by captures at fixed offsets. Integer fields are copied raw at
 * their own width; sign extension and conversions to names happen here, in
 * user space, so that the generated programs stay minimal.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "sql/sqlInt.h"

#define DEFAULT_STRMAX 256
#define FORMATTED_STR 64   /* storage for strings made here (addresses, names) */

/* ---- binding inputs ------------------------------------------------------ */

struct ctx_input {
	const char *name;      /* "$tid" */
	enum sql_cap_kind kind;/* capture that holds it */
	enum sql_part part;    /* which half */
};

static const struct ctx_input ctx_inputs[] = {
	{ "$ts", SQL_CAP_TS, SQL_PART_ALL },
	{ "$cpu", SQL_CAP_CPU, SQL_PART_ALL },
	{ "$pid", SQL_CAP_PID_TGID, SQL_PART_HI32 },
	{ "$tid", SQL_CAP_PID_TGID, SQL_PART_LO32 },
	{ "$uid", SQL_CAP_UID_GID, SQL_PART_LO32 },
	{ "$gid", SQL_CAP_UID_GID, SQL_PART_HI32 },
	{ "$cgroup", SQL_CAP_CGROUP, SQL_PART_ALL },
	{ "$comm", SQL_CAP_COMM, SQL_PART_ALL },
	{ "$kstack", SQL_CAP_KSTACK, SQL_PART_ALL },
	{ "$ustack", SQL_CAP_USTACK, SQL_PART_ALL },
	{ "$runq", SQL_CAP_RUNQ, SQL_PART_ALL },
};

static uint16_t ctx_size(enum sql_cap_kind k)
{
	return k == SQL_CAP_CPU ? 4 : k == SQL_CAP_COMM ? 16
	     : k == SQL_CAP_KSTACK || k == SQL_CAP_USTACK ? 8 * SQL_STACK_DEPTH : 8;
}

/* What an input of conversion @conv at position @pos must be. */
enum want { WANT_NUM, WANT_STR, WANT_BYTES, WANT_ARGV, WANT_STACK, WANT_USTR, WANT_KSTR };

static enum want input_want(enum sql_conv conv, int pos)
{
	if (conv == SQL_CONV_STR)
		return WANT_STR;
	if (conv == SQL_CONV_USTR || conv == SQL_CONV_KSTR)
		return conv == SQL_CONV_USTR ? WANT_USTR : WANT_KSTR;
	if ((conv == SQL_CONV_INET_ADDR && pos > 0) || conv == SQL_CONV_HEX)
		return WANT_BYTES;
	if (conv == SQL_CONV_ARGV || conv == SQL_CONV_ARGC)
		return WANT_ARGV;
	if ((conv == SQL_CONV_KSTACK || conv == SQL_CONV_USTACK) && pos == 0)
		return WANT_STACK;
	return WANT_NUM;
}

/* Decides how to capture input @in of format @fmt wanted as @w.
 * Fills @cap (kind, field, size) and the element/part of @bind.
 * Returns 0 or -ENOENT/-EINVAL with a reason in @err. */
static int resolve_input(const char *tp, const struct sql_input *in, const struct sql_tp_format *fmt,
			 enum want w, uint16_t strmax, struct sql_cap *cap, struct sql_inbind *bind,
			 char *err, size_t errsz)
{
	memset(cap, 0, sizeof(*cap));
	bind->elem = -1;
	bind->part = SQL_PART_ALL;
	if (!strncmp(in->name, "$task.", 6)) {
		/* A member of the current task_struct, located through BTF. */
		uint32_t off, size;
		int rc = w == WANT_NUM ? sql_task_member(in->name + 6, &off, &size, err, errsz) : -EINVAL;
		if (rc) {
			if (w != WANT_NUM)
				snprintf(err, errsz, "context value %s cannot be used here", in->name);
			return rc;
		}
		cap->kind = SQL_CAP_TASK;
		cap->toff = off;
		cap->size = (uint16_t)size;
		return 0;
	}
	if (in->name[0] == '$') {
		for (size_t i = 0; i < sizeof(ctx_inputs) / sizeof(ctx_inputs[0]); i++) {
			if (strcmp(ctx_inputs[i].name, in->name))
				continue;
			bool stack = ctx_inputs[i].kind == SQL_CAP_KSTACK || ctx_inputs[i].kind == SQL_CAP_USTACK;
			if ((w == WANT_STR) != (ctx_inputs[i].kind == SQL_CAP_COMM) || w == WANT_BYTES ||
			    (w == WANT_STACK) != stack) {
				snprintf(err, errsz, "context value %s cannot be used here", in->name);
				return -EINVAL;
			}
			struct sql_runq_path rq;
			int rc = ctx_inputs[i].kind == SQL_CAP_RUNQ ? sql_runq_path(&rq, err, errsz) : 0;
			if (rc)
				return rc;
			cap->kind = ctx_inputs[i].kind;
			cap->size = ctx_size(cap->kind);
			bind->part = (uint8_t)ctx_inputs[i].part;
			return 0;
		}
		snprintf(err, errsz, "unknown context value %s", in->name);
		return -EINVAL;
	}
	const struct sql_tp_field *f = sql_tp_field(fmt, in->name);
	if (!f) {
		snprintf(err, errsz, "tracepoint %s has no field '%s' on this kernel", tp, in->name);
		return -ENOENT;
	}
	if (f->offset < 8 && sql_probe_kind(tp) == SQL_PROBE_TRACEPOINT) {
		snprintf(err, errsz, "%s: field '%s' lies in the common header, which programs cannot read",
			 tp, in->name);
		return -EINVAL;
	}
	cap->field = f;
	unsigned es = f->size / f->nelem;
	switch (w) {
	case WANT_STACK:
		snprintf(err, errsz, "%s: field '%s' is not a stack", tp, in->name);
		return -EINVAL;
	case WANT_ARGV:
		if (f->kind != SQL_FIELD_PTR || f->size != 8 || strncmp(tp, "syscalls/", 9)) {
			snprintf(err, errsz, "%s: field '%s' (%s) is not a user argv array", tp, in->name, f->type);
			return -EINVAL;
		}
		cap->kind = SQL_CAP_UARGV;
		cap->size = 8 + SQL_ARGV_MAX * SQL_ARGV_ARG;
		return 0;
	case WANT_STR:
		if (f->kind == SQL_FIELD_CHARS || (f->kind == SQL_FIELD_INT && es == 1 && f->nelem > 1)) {
			cap->kind = SQL_CAP_FIELD;
			cap->size = f->size;
		} else if (f->kind == SQL_FIELD_DATA_LOC || f->kind == SQL_FIELD_REL_LOC) {
			cap->kind = SQL_CAP_LOC_STR;
			cap->size = strmax;
		} else if (f->kind == SQL_FIELD_PTR) {
			cap->kind = !strncmp(tp, "syscalls/", 9) ? SQL_CAP_UPTR_STR : SQL_CAP_KPTR_STR;
			cap->size = strmax;
		} else {
			snprintf(err, errsz, "%s: field '%s' (%s) is not a string", tp, in->name, f->type);
			return -EINVAL;
		}
		return 0;
	case WANT_USTR:
	case WANT_KSTR:
		/* str()/kstr(): the field holds an address (strptr.c). */
		if ((f->kind != SQL_FIELD_INT && f->kind != SQL_FIELD_PTR) || f->size != 8 || f->nelem != 1) {
			snprintf(err, errsz, "%s: field '%s' (%s) is not a 64-bit address", tp, in->name, f->type);
			return -EINVAL;
		}
		cap->kind = w == WANT_USTR ? SQL_CAP_UPTR_STR : SQL_CAP_KPTR_STR;
		cap->size = strmax;
		return 0;
	case WANT_BYTES:
		if (f->kind == SQL_FIELD_DATA_LOC || f->kind == SQL_FIELD_REL_LOC) {
			cap->kind = SQL_CAP_LOC_BYTES;
			cap->size = (uint16_t)(8 + strmax);
			return 0;
		}
		if (f->kind != SQL_FIELD_INT || es != 1) {
			snprintf(err, errsz, "%s: field '%s' (%s) is not a byte array", tp, in->name, f->type);
			return -EINVAL;
		}
		cap->kind = SQL_CAP_FIELD;
		cap->size = f->size;
		return 0;
	case WANT_NUM:
		if (f->kind != SQL_FIELD_INT && f->kind != SQL_FIELD_PTR && f->kind != SQL_FIELD_UMEM &&
		    f->kind != SQL_FIELD_CONST && f->kind != SQL_FIELD_USDT_SITES) {
			snprintf(err, errsz, "%s: field '%s' (%s) is not a number", tp, in->name, f->type);
			return -EINVAL;
		}
		if (es != 1 && es != 2 && es != 4 && es != 8) {
			snprintf(err, errsz, "%s: field '%s' has an unsupported width (%u bytes)", tp, in->name, es);
			return -EINVAL;
		}
		if (in->elem >= 0 ? in->elem >= f->nelem : f->nelem != 1) {
			snprintf(err, errsz, "%s: field '%s' has %u elements, element %d wanted", tp, in->name,
				 f->nelem, in->elem);
			return -EINVAL;
		}
		cap->kind = SQL_CAP_FIELD;
		cap->size = f->size;
		bind->elem = in->elem;
		return 0;
	}
	return -EINVAL;
}

/* Adds @c to @lay unless an equal capture is there; returns its index or
 * -E2BIG. Offsets are assigned later by sql_layout_place(). */
static int add_cap(struct sql_layout *lay, const struct sql_cap *c)
{
	for (size_t i = 0; i < lay->ncaps; i++)
		if (lay->caps[i].kind == c->kind && lay->caps[i].field == c->field && lay->caps[i].toff == c->toff) {
			if (lay->caps[i].size < c->size)
				lay->caps[i].size = c->size;
			return (int)i;
		}
	if (lay->ncaps == SQL_MAX_CAPS)
		return -E2BIG;
	lay->caps[lay->ncaps] = *c;
	return (int)lay->ncaps++;
}

int sql_layout_place(struct sql_layout *lay, const bool *used)
{
	uint32_t off = SQL_REC_HDR;
	for (size_t i = 0; i < lay->ncaps; i++) {
		struct sql_cap *c = &lay->caps[i];
		if (used && !used[i]) {
			c->off = 0;
			c->size = 0;
			continue;
		}
		if (c->kind == SQL_CAP_FIELD)
			off += (c->field->offset - off) & 7;
		else if (c->kind == SQL_CAP_CPU)
			off = (off + 3) & ~3u;
		else
			off = (off + 7) & ~7u;
		c->off = (uint16_t)off;
		off += c->size;
		if (off > SQL_MAX_RECORD)
			return -E2BIG;
	}
	lay->size = (off + 7) & ~7u;
	return lay->size <= SQL_MAX_RECORD ? 0 : -E2BIG;
}

/* Binds input @i of column @col (or a key: @col NULL) into @rp. */
static int bind_input(struct sql_recplan *rp, const struct sql_input *in, enum want w, uint16_t strmax,
		      struct sql_inbind *bind, char *err, size_t errsz)
{
	const struct sql_table *t = rp->t;
	if (in->probe >= t->nprobes) {
		snprintf(err, errsz, "input '%s' names probe %u of a table with %zu", in->name, in->probe,
			 t->nprobes);
		return -EINVAL;
	}
	struct sql_layout *lay = &rp->lay[in->probe];
	struct sql_cap cap;
	int rc = resolve_input(lay->tp, in, lay->fmt, w, strmax, &cap, bind, err, errsz);
	if (rc)
		return rc;
	int at = add_cap(lay, &cap);
	if (at < 0) {
		snprintf(err, errsz, "%s: too many captured values", lay->tp);
		return at;
	}
	bind->probe = (int8_t)in->probe;
	bind->cap = (int8_t)at;
	return 0;
}

static int bind_column(struct sql_recplan *rp, size_t col, char *err, size_t errsz)
{
	const struct sql_column *c = &rp->t->cols[col];
	struct sql_colbind *cb = &rp->cols[col];
	uint16_t strmax = c->src.strmax ? c->src.strmax : DEFAULT_STRMAX;
	for (int i = 0; i < 3; i++) {
		cb->in[i].probe = -1;
		if (!c->src.in[i].name)
			continue;
		char why[200];
		int rc = bind_input(rp, &c->src.in[i], input_want(c->src.conv, i), strmax, &cb->in[i], why,
				    sizeof(why));
		if (rc) {
			snprintf(err, errsz, "column %s.%s: %s", rp->t->name, c->name, why);
			return rc;
		}
	}
	if (!c->src.in[0].name) {
		snprintf(err, errsz, "column %s.%s has no input", rp->t->name, c->name);
		return -EINVAL;
	}
	cb->used = true;
	return 0;
}

void sql_recplan_free(struct sql_recplan *rp)
{
	if (!rp)
		return;
	free(rp->cols);
	free(rp->strbuf);
	memset(rp, 0, sizeof(*rp));
}

int sql_recplan_build(struct sql_recplan *rp, const struct sql_table *t, const bool *needed,
		      const struct sql_tp_format *const *fmts, char *err, size_t errsz)
{
	memset(rp, 0, sizeof(*rp));
	rp->t = t;
	if (t->nprobes < 1 || t->nprobes > SQL_MAX_PROBES || (t->pair && t->nprobes != 2)) {
		snprintf(err, errsz, "table %s: bad probe list", t->name);
		return -EINVAL;
	}
	for (size_t p = 0; p < t->nprobes; p++) {
		rp->lay[p].tp = t->probes[p].tp;
		rp->lay[p].fmt = fmts[p];
		rp->lay[p].tp_id = fmts[p]->id;
	}
	rp->cols = calloc(t->ncols, sizeof(*rp->cols));
	if (!rp->cols) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	int rc = 0;
	/* Keys first: they are captured whatever columns are asked for. */
	if (t->pair) {
		for (size_t k = 0; k < 2 && !rc; k++) {
			if (!t->pair->lkey[k].name)
				break;
			char why[200];
			rc = bind_input(rp, &t->pair->lkey[k], WANT_NUM, 0, &rp->lkey[k], why, sizeof(why));
			if (!rc)
				rc = bind_input(rp, &t->pair->rkey[k], WANT_NUM, 0, &rp->rkey[k], why, sizeof(why));
			if (rc)
				snprintf(err, errsz, "table %s: pairing key: %s", t->name, why);
			else
				rp->nkeys++;
		}
	}
	uint32_t strtotal = 0;
	for (size_t col = 0; col < t->ncols && !rc; col++) {
		if (needed && !needed[col])
			continue;
		rc = bind_column(rp, col, err, errsz);
		if (rc || t->cols[col].type != SQL_T_STR)
			continue;
		struct sql_colbind *cb = &rp->cols[col];
		const struct sql_cap *cap = &rp->lay[cb->in[0].probe].caps[cb->in[0].cap];
		enum sql_conv cv = t->cols[col].src.conv;
		cb->strsize = cv == SQL_CONV_STR || cv == SQL_CONV_USTR || cv == SQL_CONV_KSTR ? cap->size + 1u
			      : t->cols[col].src.conv == SQL_CONV_HEX ? 2u * cap->size + 1u
			      : t->cols[col].src.conv == SQL_CONV_ARGV ? cap->size + 1u
			      : sql_column_is_stack(&t->cols[col]) ? SQL_STACK_STR : FORMATTED_STR;
		if (cb->strsize < FORMATTED_STR)
			cb->strsize = FORMATTED_STR;
		cb->stroff = strtotal;
		strtotal += cb->strsize;
	}
	for (size_t p = 0; p < t->nprobes && !rc; p++) {
		rc = sql_layout_place(&rp->lay[p], NULL);
		if (rc)
			snprintf(err, errsz, "%s: record larger than %d bytes", rp->lay[p].tp, SQL_MAX_RECORD);
	}
	if (!rc && !(rp->strbuf = calloc(1, strtotal + 1))) {
		snprintf(err, errsz, "out of memory");
		rc = -ENOMEM;
	}
	if (rc)
		sql_recplan_free(rp);
	return rc;
}

int sql_column_check(const struct sql_table *t, size_t col, const struct sql_tp_format *const *fmts,
		     char *err, size_t errsz)
{
	if (col >= t->ncols) {
		snprintf(err, errsz, "no such column");
		return -EINVAL;
	}
	bool *needed = calloc(t->ncols, sizeof(bool));
	if (!needed) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	needed[col] = true;
	struct sql_recplan rp;
	int rc = sql_recplan_build(&rp, t, needed, fmts, err, errsz);
	if (!rc)
		sql_recplan_free(&rp);
	free(needed);
	return rc;
}

/* ---- decoding -------------------------------------------------------------- */

static uint64_t load_le(const uint8_t *p, unsigned size)
{
	uint64_t v = 0;
	memcpy(&v, p, size); /* little-endian host: records are in host order */
	return v;
}

/* The raw value of a numeric input: element selected, sign extended when
 * the tracefs format says the field is signed, part extracted. */
static uint64_t input_u64(const struct sql_recplan *rp, const struct sql_inbind *b, const void *rec,
			  bool *is_signed)
{
	const struct sql_cap *c = &rp->lay[b->probe].caps[b->cap];
	const uint8_t *p = (const uint8_t *)rec + c->off;
	uint64_t v;
	*is_signed = false;
	if (c->kind == SQL_CAP_FIELD) {
		unsigned es = c->field->size / c->field->nelem;
		v = load_le(p + (b->elem > 0 ? (unsigned)b->elem * es : 0), es);
		if (c->field->is_signed && es < 8 && (v >> (es * 8 - 1)) & 1)
			v |= ~0ull << (es * 8);
		*is_signed = c->field->is_signed;
	} else {
		v = load_le(p, c->size > 8 ? 8 : c->size);
	}
	if (b->part == SQL_PART_LO32)
		v &= 0xffffffffu;
	else if (b->part == SQL_PART_HI32)
		v >>= 32;
	return v;
}

/* Bytes of a string input, up to its capture size (not NUL-terminated). */
static const char *input_str(const struct sql_recplan *rp, const struct sql_inbind *b, const void *rec,
			     size_t *len)
{
	const struct sql_cap *c = &rp->lay[b->probe].caps[b->cap];
	const char *p = (const char *)rec + c->off;
	*len = strnlen(p, c->size);
	return p;
}

void sql_recplan_key(const struct sql_recplan *rp, int probe, const void *rec, uint64_t key[2])
{
	const struct sql_inbind *k = probe == 0 ? rp->lkey : rp->rkey;
	bool sgn;
	key[0] = key[1] = 0;
	for (size_t i = 0; i < rp->nkeys; i++)
		key[i] = input_u64(rp, &k[i], rec, &sgn);
}

int sql_recplan_probe(const struct sql_recplan *rp, const void *rec, size_t len)
{
	if (len < SQL_REC_HDR)
		return -EINVAL;
	uint32_t id, size;
	memcpy(&id, rec, 4);
	memcpy(&size, (const uint8_t *)rec + 4, 4);
	size &= ~SQL_REC_EPOCH; /* the epoch bit (accounting) */
	for (size_t p = 0; p < rp->t->nprobes; p++)
		if (rp->lay[p].tp_id == id)
			return size == rp->lay[p].size && len >= size ? (int)p : -EINVAL;
	return -EINVAL;
}

static const char *const tcp_states[] = {
	[1] = "ESTABLISHED", [2] = "SYN_SENT", [3] = "SYN_RECV", [4] = "FIN_WAIT1",
	[5] = "FIN_WAIT2", [6] = "TIME_WAIT", [7] = "CLOSE", [8] = "CLOSE_WAIT",
	[9] = "LAST_ACK", [10] = "LISTEN", [11] = "CLOSING", [12] = "NEW_SYN_RECV",
	[13] = "BOUND_INACTIVE",
};

/* Scheduler state as the kernel reports it in sched_switch: one bit per
 * state in TASK_REPORT order; the bit above them marks a preempted task. */
static void task_state(uint64_t v, char *out, size_t outsz)
{
	static const char letters[] = "SDTtXZPI";
	if (v == 0) {
		snprintf(out, outsz, "R");
		return;
	}
	for (unsigned i = 0; i < sizeof(letters) - 1; i++)
		if (v == (1ull << i)) {
			snprintf(out, outsz, "%c", letters[i]);
			return;
		}
	if (v == (1ull << (sizeof(letters) - 1)))
		snprintf(out, outsz, "R+");
	else
		snprintf(out, outsz, "0x%llx", (unsigned long long)v);
}

static void signal_name(int64_t sig, char *out, size_t outsz)
{
	const char *n = sig > 0 && sig < 65 ? sigabbrev_np((int)sig) : NULL;
	if (n)
		snprintf(out, outsz, "%s", n);
	else if (sig >= 34 && sig <= 64)
		snprintf(out, outsz, "RT%lld", (long long)(sig - 34));
	else
		snprintf(out, outsz, "%lld", (long long)sig);
}

/* Converts one column; @recs[p] is the record of probe p. */
static void decode_column(struct sql_recplan *rp, size_t col, const void *const *recs, struct sql_value *v)
{
	const struct sql_column *c = &rp->t->cols[col];
	const struct sql_colbind *cb = &rp->cols[col];
	const struct sql_inbind *b = cb->in;
	char *s = rp->strbuf + cb->stroff;
	bool sgn;
	v->type = c->type;
	switch (c->src.conv) {
	case SQL_CONV_NUM: {
		uint64_t x = input_u64(rp, &b[0], recs[b[0].probe], &sgn);
		if (c->type == SQL_T_UINT)
			v->u = x;
		else if (c->type == SQL_T_BOOL)
			v->i = x != 0;
		else
			v->i = (int64_t)x;
		return;
	}
	case SQL_CONV_DIFF: {
		uint64_t a = input_u64(rp, &b[0], recs[b[0].probe], &sgn);
		uint64_t z = input_u64(rp, &b[1], recs[b[1].probe], &sgn);
		v->i = (int64_t)(a - z);
		return;
	}
	case SQL_CONV_STR:
	case SQL_CONV_USTR:
	case SQL_CONV_KSTR: {
		size_t len;
		const char *p = input_str(rp, &b[0], recs[b[0].probe], &len);
		if (len >= cb->strsize)
			len = cb->strsize - 1;
		/* str(p, 8) and str(p, 64) in one query share one capture (the
		 * larger): each keeps its own length. */
		if (c->src.conv != SQL_CONV_STR && c->src.strmax && len >= c->src.strmax)
			len = c->src.strmax - 1u;
		memcpy(s, p, len);
		s[len] = '\0';
		break;
	}
	case SQL_CONV_DEV: {
		/* The kernel's internal dev_t: 12 bits of major above 20 bits of minor. */
		uint64_t d = input_u64(rp, &b[0], recs[b[0].probe], &sgn);
		snprintf(s, cb->strsize, "%llu:%llu", (unsigned long long)(d >> 20),
			 (unsigned long long)(d & 0xfffff));
		break;
	}
	case SQL_CONV_FAMILY: {
		uint64_t f = input_u64(rp, &b[0], recs[b[0].probe], &sgn);
		if (f == AF_INET)
			snprintf(s, cb->strsize, "inet");
		else if (f == AF_INET6)
			snprintf(s, cb->strsize, "inet6");
		else
			snprintf(s, cb->strsize, "%llu", (unsigned long long)f);
		break;
	}
	case SQL_CONV_INET_ADDR: {
		uint64_t f = input_u64(rp, &b[0], recs[b[0].probe], &sgn);
		const struct sql_inbind *ab = f == AF_INET6 ? &b[2] : &b[1];
		const struct sql_cap *cap = &rp->lay[ab->probe].caps[ab->cap];
		const uint8_t *a = (const uint8_t *)recs[ab->probe] + cap->off;
		int af = f == AF_INET6 ? AF_INET6 : AF_INET;
		if ((af == AF_INET6 ? 16 : 4) > cap->size || !inet_ntop(af, a, s, cb->strsize))
			s[0] = '\0';
		break;
	}
	case SQL_CONV_TCP_STATE: {
		uint64_t st = input_u64(rp, &b[0], recs[b[0].probe], &sgn);
		const char *n = st < sizeof(tcp_states) / sizeof(tcp_states[0]) ? tcp_states[st] : NULL;
		if (n)
			snprintf(s, cb->strsize, "%s", n);
		else
			snprintf(s, cb->strsize, "%lld", (long long)st);
		break;
	}
	case SQL_CONV_TASK_STATE:
		task_state(input_u64(rp, &b[0], recs[b[0].probe], &sgn), s, cb->strsize);
		break;
	case SQL_CONV_SIGNAL:
		signal_name((int64_t)input_u64(rp, &b[0], recs[b[0].probe], &sgn), s, cb->strsize);
		break;
	case SQL_CONV_EXIT_STATUS:
	case SQL_CONV_EXIT_SIGNAL:
	case SQL_CONV_CORE_DUMP: {
		uint64_t code = input_u64(rp, &b[0], recs[b[0].probe], &sgn);
		v->i = c->src.conv == SQL_CONV_EXIT_STATUS ? (int64_t)((code >> 8) & 0xff)
		     : c->src.conv == SQL_CONV_EXIT_SIGNAL ? (int64_t)(code & 0x7f) : (int64_t)((code >> 7) & 1);
		return;
	}
	case SQL_CONV_ARGC: {
		uint64_t n = input_u64(rp, &b[0], recs[b[0].probe], &sgn);
		v->i = n > SQL_ARGV_MAX ? SQL_ARGV_MAX : (int64_t)n;
		return;
	}
	case SQL_CONV_ARGV: {
		const struct sql_cap *cap = &rp->lay[b[0].probe].caps[b[0].cap];
		const char *a = (const char *)recs[b[0].probe] + cap->off;
		uint64_t n = load_le((const uint8_t *)a, 8);
		size_t len = 0;
		for (uint64_t i = 0; i < n && i < SQL_ARGV_MAX; i++) {
			const char *arg = a + 8 + i * SQL_ARGV_ARG;
			size_t k = strnlen(arg, SQL_ARGV_ARG - 1);
			if (len + k + 2 > cb->strsize)
				break;
			if (i)
				s[len++] = ' ';
			memcpy(s + len, arg, k);
			len += k;
		}
		s[len] = '\0';
		break;
	}
	case SQL_CONV_KSTACK:
	case SQL_CONV_USTACK: {
		const struct sql_cap *cap = &rp->lay[b[0].probe].caps[b[0].cap];
		uint64_t ips[SQL_STACK_DEPTH];
		size_t n = cap->size / 8 < SQL_STACK_DEPTH ? cap->size / 8 : SQL_STACK_DEPTH;
		memcpy(ips, (const uint8_t *)recs[b[0].probe] + cap->off, n * 8);
		int pid = c->src.conv == SQL_CONV_USTACK ? (int)input_u64(rp, &b[1], recs[b[1].probe], &sgn) : 0;
		sql_stack_format(ips, n, c->src.conv == SQL_CONV_USTACK, pid, s, cb->strsize);
		break;
	}
	case SQL_CONV_HEX: {
		const struct sql_cap *cap = &rp->lay[b[0].probe].caps[b[0].cap];
		const uint8_t *a = (const uint8_t *)recs[b[0].probe] + cap->off;
		unsigned len = cap->size;
		if (cap->kind == SQL_CAP_LOC_BYTES) { /* u32 length, then the bytes */
			uint32_t l;
			memcpy(&l, a, 4);
			a += 8;
			len = l < cap->size - 8u ? l : cap->size - 8u;
		}
		size_t n = 0;
		for (unsigned i = 0; i < len && n + 3 <= cb->strsize; i++)
			n += (size_t)snprintf(s + n, cb->strsize - n, "%02x", a[i]);
		s[n] = '\0';
		break;
	}
	}
	v->s = s;
}

void sql_recplan_row(struct sql_recplan *rp, const void *rec0, const void *rec1, struct sql_value *row)
{
	const void *recs[SQL_MAX_PROBES] = { rec0, rec1 };
	for (size_t col = 0; col < rp->t->ncols; col++) {
		row[col].type = SQL_T_NULL;
		row[col].u = 0;
		if (rp->cols[col].used)
			decode_column(rp, col, recs, &row[col]);
	}
}
