/* meas.c - the measurements an ACK gives a program (names, record order)
 * and where the running kernel keeps them: offsets of tcp_sock, sock and
 * rate_sample fields read from vmlinux BTF at run time (no fixed layout is
 * assumed; a kernel without one of them is told clearly).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <bpf/btf.h>

#include "cc/ccInt.h"

static const char *const names[CC_NMEAS] = {
	"acked", "rtt", "srtt", "min_rtt", "loss", "timeout", "recovery", "ecn", "inflight",
	"delivered", "interval", "rate", "now", "mss", "cwnd", "app_limited", "cwnd_limited",
};

const char *cc_meas_name(int m)
{
	return m >= 0 && m < CC_NMEAS ? names[m] : NULL;
}

int cc_meas_find(const char *name)
{
	for (int m = 0; m < CC_NMEAS; m++)
		if (!strcmp(names[m], name))
			return m;
	return -1;
}

/* Finds member @name anywhere inside struct/union type @id (nested
 * structures and unions included, depth first) and stores its bit offset
 * from the start of the outer type, its bitfield size (0: not a bitfield)
 * and its byte size. Returns 0 or -ENOENT. */
static int find_member(const struct btf *btf, __u32 id, const char *name, __u32 base, __u32 *bitoff,
		       __u32 *bitsz, __u32 *bytes, int depth)
{
	const struct btf_type *t = btf__type_by_id(btf, id);
	if (!t || depth > 8 || (!btf_is_struct(t) && !btf_is_union(t)))
		return -ENOENT;
	const struct btf_member *m = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++, m++) {
		__u32 off = base + btf_member_bit_offset(t, (__u32)i);
		const char *mn = btf__name_by_offset(btf, m->name_off);
		__s32 rid = btf__resolve_type(btf, m->type);
		if (mn && !strcmp(mn, name)) {
			*bitoff = off;
			*bitsz = btf_member_bitfield_size(t, (__u32)i);
			__s64 sz = rid >= 0 ? btf__resolve_size(btf, (__u32)rid) : -1;
			*bytes = sz > 0 ? (__u32)sz : 0;
			return 0;
		}
		if (rid >= 0 && find_member(btf, (__u32)rid, name, off, bitoff, bitsz, bytes, depth + 1) == 0)
			return 0;
	}
	return -ENOENT;
}

static struct cc_layout cached;   /* filled once */
static int cached_err = 1;        /* 1: not yet; 0: ok; <0: error */
static char cached_why[200];      /* reason of the error */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* One field: byte offset of @field in @type, which must be @want bytes
 * (0: any) and not a bitfield. */
static int field(const struct btf *btf, const char *type, const char *field, __u32 want, uint32_t *out)
{
	__s32 id = btf__find_by_name_kind(btf, type, BTF_KIND_STRUCT);
	__u32 bo, bs, bytes;
	if (id < 0 || find_member(btf, (__u32)id, field, 0, &bo, &bs, &bytes, 0) || bs || bo % 8 ||
	    (want && bytes != want)) {
		snprintf(cached_why, sizeof(cached_why), "vmlinux BTF has no %u-byte %s.%s", want, type, field);
		return -ENOENT;
	}
	*out = bo / 8;
	return 0;
}

static int load_layout(struct cc_layout *l)
{
	struct btf *btf = btf__load_vmlinux_btf();
	if (!btf) {
		snprintf(cached_why, sizeof(cached_why), "cannot read vmlinux BTF (/sys/kernel/btf/vmlinux): %s",
			 strerror(errno));
		return -errno ? -errno : -ENOENT;
	}
	uint32_t minmax = 0;
	int err = field(btf, "tcp_sock", "snd_cwnd", 4, &l->snd_cwnd) ||
		  field(btf, "tcp_sock", "srtt_us", 4, &l->srtt_us) ||
		  field(btf, "tcp_sock", "rtt_min", 24, &minmax) ||
		  field(btf, "tcp_sock", "mss_cache", 4, &l->mss_cache) ||
		  field(btf, "tcp_sock", "packets_out", 4, &l->packets_out) ||
		  field(btf, "tcp_sock", "sacked_out", 4, &l->sacked_out) ||
		  field(btf, "tcp_sock", "lost_out", 4, &l->lost_out) ||
		  field(btf, "tcp_sock", "retrans_out", 4, &l->retrans_out) ||
		  field(btf, "tcp_sock", "tcp_mstamp", 8, &l->tcp_mstamp) ||
		  field(btf, "sock", "sk_pacing_rate", 8, &l->pacing_rate) ||
		  field(btf, "sock", "sk_pacing_status", 4, &l->pacing_status) ||
		  field(btf, "sock", "sk_max_pacing_rate", 8, &l->max_pacing_rate) ||
		  field(btf, "tcp_sock", "snd_ssthresh", 4, &l->snd_ssthresh) ||
		  field(btf, "tcp_sock", "max_packets_out", 4, &l->max_packets_out) ||
		  field(btf, "rate_sample", "delivered", 4, &l->rs_delivered) ||
		  field(btf, "rate_sample", "interval_us", 8, &l->rs_interval_us) ||
		  field(btf, "rate_sample", "rtt_us", 8, &l->rs_rtt_us) ||
		  field(btf, "rate_sample", "losses", 4, &l->rs_losses) ||
		  field(btf, "rate_sample", "acked_sacked", 4, &l->rs_acked_sacked) ||
		  field(btf, "rate_sample", "is_app_limited", 1, &l->rs_is_app_limited);
	/* struct minmax { struct minmax_sample { u32 t, v; } s[3]; }: s[0].v */
	l->rtt_min_v = minmax + 4;
	if (!err) {
		__s32 id = btf__find_by_name_kind(btf, "tcp_sock", BTF_KIND_STRUCT);
		__u32 bo, bs, bytes;
		if (find_member(btf, (__u32)id, "icsk_ca_state", 0, &bo, &bs, &bytes, 0) || !bs || bs > 8 ||
		    (bo % 8) + bs > 8) {
			snprintf(cached_why, sizeof(cached_why), "vmlinux BTF has no icsk_ca_state bitfield");
			err = 1;
		} else {
			l->ca_state_byte = bo / 8;
			l->ca_state_shift = bo % 8; /* little endian: bit offsets count from bit 0 */
			l->ca_state_mask = (1u << bs) - 1;
		}
	}
	if (!err) {
		__s32 id = btf__find_by_name_kind(btf, "tcp_sock", BTF_KIND_STRUCT);
		__u32 bo, bs, bytes;
		if (find_member(btf, (__u32)id, "is_cwnd_limited", 0, &bo, &bs, &bytes, 0) || bs != 1) {
			snprintf(cached_why, sizeof(cached_why), "vmlinux BTF has no is_cwnd_limited bit");
			err = 1;
		} else {
			l->cwnd_limited_byte = bo / 8;
			l->cwnd_limited_shift = bo % 8;
		}
	}
	if (!err) {
		__s32 a = btf__find_by_name_kind(btf, "tcp_sock", BTF_KIND_STRUCT);
		__s32 b = btf__find_by_name_kind(btf, "rate_sample", BTF_KIND_STRUCT);
		l->tcp_sock_size = (uint32_t)btf__resolve_size(btf, (__u32)a);
		l->rate_sample_size = (uint32_t)btf__resolve_size(btf, (__u32)b);
	}
	btf__free(btf);
	return err ? -ENOENT : 0;
}

int cc_layout_get(struct cc_layout *l, char *err, size_t errsz)
{
	pthread_mutex_lock(&lock);
	if (cached_err == 1)
		cached_err = load_layout(&cached);
	int r = cached_err;
	if (!r)
		*l = cached;
	else
		snprintf(err, errsz, "%s", cached_why);
	pthread_mutex_unlock(&lock);
	return r;
}
