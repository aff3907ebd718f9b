/* ringbuf.c - consuming BPF ring buffers through libbpf (ring_buffer__new,
 * ring_buffer__poll, then ring_buffer__consume when the wait times out, so
 * that records submitted without a wake-up are read at the poll timer),
 * optionally bounded to a number of records and a time per poll (so that a
 * consumer slower than its producers still returns to its caller), plus a read-only view of the producer and consumer positions so that a
 * caller can wait until everything reserved before a given moment has been
 * consumed.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "safebpf/kernel.h"

struct sbpf_kringbuf {
	struct ring_buffer *rb;     /* libbpf consumer */
	sbpf_kringbuf_fn fn;        /* user callback */
	void *ctx;                  /* its argument */
	int stopped;                /* the callback asked to stop in this poll */
	size_t budget;              /* records per poll at most (0: no bound) */
	size_t taken;               /* records handed over in this poll */
	int full;                   /* this poll stopped at the budget */
	uint64_t budget_ns;         /* time per poll at most (0: no bound) */
	uint64_t until_ns;          /* end of this poll's time budget */
	void *pos_pages;            /* read-only map of the consumer and producer pages */
	size_t page;                /* page size */
};

/* Records between two readings of the clock under a time budget. */
#define CLOCK_EVERY 64

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int on_sample(void *ctx, void *data, size_t len)
{
	struct sbpf_kringbuf *r = ctx;
	/* the time budget counts from the first record (a wait does not use it) */
	if (r->budget_ns && r->taken == 0)
		r->until_ns = mono_ns() + r->budget_ns;
	if (r->fn(r->ctx, data, len)) {
		r->stopped = 1;
		return -ECANCELED; /* libbpf stops at a negative value, record consumed */
	}
	if (r->budget && r->taken + 1 >= r->budget) {
		++r->taken;
		r->full = 1;
		return -EAGAIN; /* bounded: producers faster than us must not keep us here */
	}
	++r->taken;
	if (r->budget_ns && r->taken % CLOCK_EVERY == 0 && mono_ns() >= r->until_ns) {
		r->full = 1;
		return -EAGAIN; /* out of time: a slow callback must not keep us here either */
	}
	return 0;
}

struct sbpf_kringbuf *sbpf_kringbuf__new(int map_fd, sbpf_kringbuf_fn fn, void *ctx)
{
	struct sbpf_kringbuf *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->fn = fn;
	r->ctx = ctx;
	r->page = (size_t)sysconf(_SC_PAGESIZE);
	r->rb = ring_buffer__new(map_fd, on_sample, r, NULL);
	if (!r->rb) {
		int e = errno;
		free(r);
		errno = e;
		return NULL;
	}
	/* Page 0 holds the consumer position, page 1 the producer position. */
	r->pos_pages = mmap(NULL, 2 * r->page, PROT_READ, MAP_SHARED, map_fd, 0);
	if (r->pos_pages == MAP_FAILED) {
		int e = errno;
		ring_buffer__free(r->rb);
		free(r);
		errno = e;
		return NULL;
	}
	return r;
}

int sbpf_kringbuf__poll(struct sbpf_kringbuf *r, int timeout_ms)
{
	r->stopped = 0;
	r->full = 0;
	r->taken = 0;
	int n = timeout_ms == 0 ? ring_buffer__consume(r->rb) : ring_buffer__poll(r->rb, timeout_ms);
	if (r->full && !r->stopped)
		return (int)r->taken;
	/* Producers may submit without waking us (BPF_RB_NO_WAKEUP, batched
	 * output): when the wait times out, take what is there anyway. */
	if (n == 0 && timeout_ms != 0 && !r->stopped) {
		n = ring_buffer__consume(r->rb);
		if (r->full && !r->stopped)
			return (int)r->taken; /* bounded here too: not an error */
	}
	if (r->stopped)
		return -ECANCELED;
	if (n == -EINTR)
		return 0;
	return n;
}

void sbpf_kringbuf__set_budget(struct sbpf_kringbuf *r, size_t max_records)
{
	r->budget = max_records;
}

void sbpf_kringbuf__set_time_budget(struct sbpf_kringbuf *r, unsigned max_ms)
{
	r->budget_ns = (uint64_t)max_ms * 1000000u;
}

int sbpf_kringbuf__positions(const struct sbpf_kringbuf *r, uint64_t *consumer, uint64_t *producer)
{
	const volatile uint64_t *cons = r->pos_pages;
	const volatile uint64_t *prod = (const volatile uint64_t *)((const char *)r->pos_pages + r->page);
	*producer = __atomic_load_n(prod, __ATOMIC_ACQUIRE);
	*consumer = __atomic_load_n(cons, __ATOMIC_ACQUIRE);
	return 0;
}

void sbpf_kringbuf__free(struct sbpf_kringbuf *r)
{
	if (!r)
		return;
	if (r->pos_pages && r->pos_pages != MAP_FAILED)
		munmap(r->pos_pages, 2 * r->page);
	ring_buffer__free(r->rb);
	free(r);
}
