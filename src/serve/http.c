/* http.c - the smallest HTTP/1.1 server `safebpf serve` needs: one
 * listening socket (loopback unless told otherwise), one request per
 * connection (Connection: close), GET or HEAD of /metrics answered in the
 * Prometheus text format, or in OpenMetrics when the Accept header asks for
 * application/openmetrics-text; / gets a short page, anything else 404 or
 * 405. A client that sends nothing for 5 seconds is dropped.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "serve/serveInt.h"

struct serve_http {
	int fd;             /* listening socket */
	uint64_t scrapes[2]; /* GET /metrics answered, per enum serve_format */
};

/* Splits "host:port", "[v6]:port" or ":port" (every interface). */
static int split_addr(const char *addr, char *host, size_t hostsz, char *port, size_t portsz)
{
	const char *colon;
	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');
		if (!close || close[1] != ':')
			return -EINVAL;
		snprintf(host, hostsz, "%.*s", (int)(close - addr - 1), addr + 1);
		colon = close + 1;
	} else {
		colon = strrchr(addr, ':');
		if (!colon)
			return -EINVAL;
		snprintf(host, hostsz, "%.*s", (int)(colon - addr), addr);
	}
	if (!colon[1])
		return -EINVAL;
	snprintf(port, portsz, "%s", colon + 1);
	return 0;
}

struct serve_http *serve_http_listen(const char *addr, char *bound, size_t boundsz, char *err, size_t errsz)
{
	char host[256], port[32];
	if (split_addr(addr, host, sizeof(host), port, sizeof(port))) {
		snprintf(err, errsz, "bad listen address '%s' (HOST:PORT, [V6]:PORT or :PORT)", addr);
		errno = EINVAL;
		return NULL;
	}
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	struct addrinfo *res;
	int gai = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (gai) {
		snprintf(err, errsz, "cannot resolve '%s': %s", addr, gai_strerror(gai));
		errno = EINVAL;
		return NULL;
	}
	int fd = -1, e = 0;
	for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			e = errno;
			continue;
		}
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 16)) {
			e = errno;
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errsz, "cannot listen on %s: %s", addr, strerror(e));
		errno = e;
		return NULL;
	}
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char h[INET6_ADDRSTRLEN] = "?";
	int p = 0;
	if (!getsockname(fd, (struct sockaddr *)&ss, &len)) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *a = (struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &a->sin_addr, h, sizeof(h));
			p = ntohs(a->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &a->sin6_addr, h, sizeof(h));
			p = ntohs(a->sin6_port);
		}
	}
	snprintf(bound, boundsz, ss.ss_family == AF_INET6 ? "[%s]:%d" : "%s:%d", h, p);
	struct serve_http *s = calloc(1, sizeof(*s));
	if (!s) {
		close(fd);
		return NULL;
	}
	s->fd = fd;
	return s;
}

int serve_http_fd(const struct serve_http *h)
{
	return h->fd;
}

void serve_http_close(struct serve_http *h)
{
	if (!h)
		return;
	close(h->fd);
	free(h);
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void respond(int fd, const char *status, const char *type, const char *body, size_t len, bool head)
{
	char hdr[256];
	int n = snprintf(hdr, sizeof(hdr),
			 "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", status,
			 type, len);
	write_all(fd, hdr, (size_t)n);
	if (!head)
		write_all(fd, body, len);
}

/* Reads the request head (up to the blank line) into @buf. */
static ssize_t read_head(int fd, char *buf, size_t sz)
{
	size_t n = 0;
	while (n + 1 < sz) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, 5000);
		if (r <= 0)
			return -1;
		ssize_t k = recv(fd, buf + n, sz - 1 - n, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		n += (size_t)k;
		buf[n] = '\0';
		if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
			return (ssize_t)n;
	}
	return -1;
}

void serve_http_handle(struct serve_http *h,
		       void (*render)(void *ctx, FILE *f, enum serve_format fmt, const uint64_t scrapes[2]), void *ctx)
{
	int c = accept4(h->fd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return;
	char req[8192];
	if (read_head(c, req, sizeof(req)) < 0) {
		close(c);
		return;
	}
	char method[16] = "", path[1024] = "";
	if (sscanf(req, "%15s %1023s", method, path) != 2) {
		respond(c, "400 Bad Request", "text/plain", "bad request\n", 12, false);
		close(c);
		return;
	}
	bool head = !strcmp(method, "HEAD");
	char *q = strchr(path, '?');
	if (q)
		*q = '\0';
	if (strcmp(method, "GET") && !head) {
		respond(c, "405 Method Not Allowed", "text/plain", "only GET\n", 9, false);
	} else if (!strcmp(path, "/metrics")) {
		/* Accept: application/openmetrics-text asks for OpenMetrics. */
		enum serve_format fmt = SERVE_TEXT;
		for (char *line = strchr(req, '\n'); line; line = strchr(line + 1, '\n'))
			if (!strncasecmp(line + 1, "accept:", 7)) {
				char *end = strchr(line + 1, '\n');
				size_t len = end ? (size_t)(end - line - 1) : strlen(line + 1);
				if (memmem(line + 1, len, "application/openmetrics-text", 28))
					fmt = SERVE_OPENMETRICS;
			}
		char *body = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&body, &len);
		if (f) {
			h->scrapes[fmt]++;
			render(ctx, f, fmt, h->scrapes);
			fclose(f);
			respond(c, "200 OK",
				fmt == SERVE_OPENMETRICS ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
							 : "text/plain; version=0.0.4; charset=utf-8",
				body, len, head);
		} else {
			respond(c, "500 Internal Server Error", "text/plain", "out of memory\n", 14, false);
		}
		free(body);
	} else if (!strcmp(path, "/")) {
		static const char page[] = "safebpf serve: metrics at /metrics\n";
		respond(c, "200 OK", "text/plain; charset=utf-8", page, sizeof(page) - 1, head);
	} else {
		respond(c, "404 Not Found", "text/plain", "not found\n", 10, head);
	}
	close(c);
}
