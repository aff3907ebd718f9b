/* output.c - the query's output stream, guarded against a reader that does
 * not read: rows go to a stdio stream whose writes wait for the file
 * descriptor to take more (poll, in short slices) instead of blocking in
 * write(), so that a stop (Ctrl-C, -d, the traced command's exit) is still
 * noticed while a pipe is full. Once the run is stopping and the reader has
 * taken nothing for GRACE_MS, the rest is discarded and counted, so that the
 * final counts still reach the log and the run ends in time.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "sql/sqlInt.h"

/* Blocked time tolerated once the run is stopping. */
#define GRACE_MS 200
/* Wait per slice: how often the stop condition is read while blocked. */
#define SLICE_MS 50
/* Bytes per write: at most PIPE_BUF, which a writable pipe takes whole. */
#define CHUNK 4096

struct sql_output {
	FILE *orig;                 /* the caller's stream (flushed first, never closed) */
	int fd;                     /* its descriptor */
	bool (*stopping)(void *);   /* is the run stopping? */
	void *ctx;                  /* its argument */
	int blocked_ms;             /* blocked time since the run began stopping */
	bool gave_up;               /* the reader was given up: writes are discarded */
	uint64_t discarded;         /* bytes discarded */
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Cookie write: everything or -1 (a real write error). Waits in slices for
 * the descriptor to be writable; gives the reader up once stopping and
 * blocked for GRACE_MS. */
static ssize_t guarded_write(void *cookie, const char *buf, size_t n)
{
	struct sql_output *o = cookie;
	size_t done = 0;
	while (done < n) {
		if (o->gave_up) {
			o->discarded += n - done;
			return (ssize_t)n;
		}
		struct pollfd p = { .fd = o->fd, .events = POLLOUT };
		int64_t t0 = mono_ms();
		int r = poll(&p, 1, SLICE_MS);
		if (r < 0 && errno != EINTR)
			return -1;
		if (r <= 0) {
			/* not writable (or a signal): is the run stopping? */
			if (o->stopping && o->stopping(o->ctx)) {
				o->blocked_ms += (int)(mono_ms() - t0);
				if (o->blocked_ms >= GRACE_MS)
					o->gave_up = true;
			}
			continue;
		}
		if (p.revents & (POLLERR | POLLNVAL)) {
			errno = EPIPE;
			return -1;
		}
		size_t len = n - done < CHUNK ? n - done : CHUNK;
		ssize_t w = write(o->fd, buf + done, len);
		if (w < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		done += (size_t)w;
	}
	return (ssize_t)n;
}

static int guarded_close(void *cookie)
{
	(void)cookie;
	return 0;
}

FILE *sql_output_open(FILE *orig, bool (*stopping)(void *), void *ctx, struct sql_output **out)
{
	*out = NULL;
	int fd = fileno(orig);
	if (fd < 0)
		return orig; /* not a descriptor (a memory stream): it cannot block */
	struct sql_output *o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->orig = orig;
	o->fd = fd;
	o->stopping = stopping;
	o->ctx = ctx;
	fflush(orig);
	cookie_io_functions_t io = { .write = guarded_write, .close = guarded_close };
	FILE *f = fopencookie(o, "w", io);
	if (!f) {
		free(o);
		return NULL;
	}
	*out = o;
	return f;
}

uint64_t sql_output_close(FILE *f, struct sql_output *o)
{
	if (!o)
		return 0;
	fclose(f); /* flushes through guarded_write */
	uint64_t d = o->discarded;
	free(o);
	return d;
}

bool sql_output_gave_up(const struct sql_output *o)
{
	return o && o->gave_up;
}
