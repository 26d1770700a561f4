/*
 * loadgen.c: an open-loop HTTP/1.1 load generator for the latency targets (bench/README.md).
 *
 * wrk keeps each of its connections busy: every connection sends its next request as soon
 * as the last reply arrives, so the load is whatever the server can take and the latency
 * is the queue that builds up in front of it (64 connections at 10,000 replies/s wait
 * 6.4 ms on average by Little's law, whatever the server does). A target such as "p99 <=
 * 10 ms at 10,000 requests/s" asks something else: the latency of requests that arrive at
 * that rate. loadgen sends requests on a fixed schedule, request i at start + i/RATE,
 * over CONNECTIONS keep-alive connections (one request in flight on each), and measures
 * each latency from the request's scheduled time, not from when a connection was free to
 * send it; so when the server falls behind, the wait counts (no "coordinated omission").
 *
 *   build/bench/loadgen --port PORT --rate 10000 --seconds 10 [--connections 64]
 *       [--method POST --path /api/v1/checkins --tokens FILE --body TEMPLATE]
 *
 * TEMPLATE is the request body; in it "%n" becomes the request's number and "%m" the
 * number modulo 11 (a mood). --tokens names a file of bearer tokens, one per line, used in
 * turn. Prints the offered and achieved rate, the replies by class, and the latency
 * percentiles. --timeline FILE also writes each request's due time and latency (ms from
 * the start, ms), one line each, to see when the slow ones happened. Talks to 127.0.0.1 only. Single-threaded (epoll): at 10,000 requests/s it
 * needs about a fifth of a core.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 1024
#define RX_MAX 65536

struct conn {
	int fd;
	int busy;         /* a request is in flight */
	int64_t sched_ns; /* when the request in flight was due */
	char *tx;         /* the request being written */
	size_t tx_len, tx_off;
	char rx[RX_MAX];
	size_t rx_len;
};

static int64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void die(const char *msg)
{
	fprintf(stderr, "loadgen: %s\n", msg);
	exit(2);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static char **read_tokens(const char *path, size_t *n)
{
	FILE *f = fopen(path, "r");
	if (!f)
		die("cannot open the tokens file");
	char **v = NULL, line[512];
	*n = 0;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0])
			continue;
		v = realloc(v, (*n + 1) * sizeof(*v));
		if (!v || !(v[*n] = strdup(line)))
			die("out of memory");
		(*n)++;
	}
	fclose(f);
	if (!*n)
		die("the tokens file is empty");
	return v;
}

/* Expands the body template for request number i. */
static size_t expand(const char *tpl, uint64_t i, char *out, size_t cap)
{
	size_t o = 0;
	for (const char *p = tpl; *p && o + 24 < cap; p++) {
		if (p[0] == '%' && (p[1] == 'n' || p[1] == 'm')) {
			o += (size_t)snprintf(out + o, cap - o, "%llu",
			                      (unsigned long long)(p[1] == 'n' ? i : i % 11));
			p++;
		} else {
			out[o++] = *p;
		}
	}
	out[o] = '\0';
	return o;
}

static int connect_to(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	int one = 1;
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
		die("cannot connect to 127.0.0.1");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

/* The reply in c->rx is complete: returns its length, or 0 while more is to come. */
static size_t reply_complete(struct conn *c, int *status)
{
	c->rx[c->rx_len < RX_MAX ? c->rx_len : RX_MAX - 1] = '\0';
	char *end = strstr(c->rx, "\r\n\r\n");
	if (!end)
		return 0;
	size_t head = (size_t)(end - c->rx) + 4, body = 0;
	for (char *h = strstr(c->rx, "\r\n"); h && h < end; h = strstr(h + 2, "\r\n"))
		if (!strncasecmp(h + 2, "Content-Length:", 15))
			body = strtoul(h + 17, NULL, 10);
	if (c->rx_len < head + body)
		return 0;
	*status = atoi(c->rx + 9);
	return head + body;
}

int main(int argc, char **argv)
{
	int port = 0, nconns = 64;
	double rate = 0, seconds = 0;
	const char *method = "GET", *path = "/healthz", *tokens_path = NULL, *tpl = NULL;
	const char *timeline = NULL;
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];
		if (!strcmp(k, "--port"))
			port = atoi(v);
		else if (!strcmp(k, "--rate"))
			rate = atof(v);
		else if (!strcmp(k, "--seconds"))
			seconds = atof(v);
		else if (!strcmp(k, "--connections"))
			nconns = atoi(v);
		else if (!strcmp(k, "--method"))
			method = v;
		else if (!strcmp(k, "--path"))
			path = v;
		else if (!strcmp(k, "--tokens"))
			tokens_path = v;
		else if (!strcmp(k, "--body"))
			tpl = v;
		else if (!strcmp(k, "--timeline"))
			timeline = v;
		else
			die("unknown option (see the comment at the top of bench/loadgen.c)");
	}
	if (argc % 2 == 0 || port <= 0 || rate <= 0 || seconds <= 0 || nconns < 1 ||
	    nconns > MAX_CONNS)
		die("usage: loadgen --port PORT --rate PER_SECOND --seconds S [--connections N] "
		    "[--method M] [--path P] [--tokens FILE] [--body TEMPLATE] [--timeline FILE]");
	size_t ntokens = 0;
	char **tokens = tokens_path ? read_tokens(tokens_path, &ntokens) : NULL;

	uint64_t total = (uint64_t)(rate * seconds);
	int64_t *lat = malloc(total * sizeof(*lat)), *due_at = malloc(total * sizeof(*due_at));
	struct conn *conns = calloc((size_t)nconns, sizeof(*conns));
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (!lat || !due_at || !conns || ep < 0)
		die("out of memory");
	for (int i = 0; i < nconns; i++) {
		conns[i].fd = connect_to(port);
		conns[i].tx = malloc(8192);
		struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.u32 = (uint32_t)i};
		if (!conns[i].tx || epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev))
			die("epoll_ctl");
	}
	/* Free connections as a stack; requests that are due but find none wait in order. */
	int *free_stack = malloc((size_t)nconns * sizeof(int)), nfree = nconns;
	for (int i = 0; i < nconns; i++)
		free_stack[i] = nconns - 1 - i;

	uint64_t next = 0, done = 0, late = 0, by_class[6] = {0};
	const int64_t start = now_ns() + 10000000, interval = (int64_t)(1e9 / rate);
	struct epoll_event evs[256];
	while (done < total) {
		int64_t t = now_ns();
		/* Send every request that is due while a connection is free. */
		while (next < total && start + (int64_t)next * interval <= t && nfree) {
			struct conn *c = &conns[free_stack[--nfree]];
			char body[4096];
			size_t blen = tpl ? expand(tpl, next, body, sizeof(body)) : 0;
			char auth[600] = "";
			if (tokens)
				snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n",
				         tokens[next % ntokens]);
			int n = snprintf(c->tx, 8192,
			                 "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s"
			                 "Content-Length: %zu\r\n\r\n%s",
			                 method, path, auth,
			                 tpl ? "Content-Type: application/json\r\n" : "", blen,
			                 tpl ? body : "");
			if (n < 0 || n >= 8192)
				die("request too long");
			c->sched_ns = start + (int64_t)next * interval;
			if (t - c->sched_ns > 1000000)
				late++; /* waited more than 1 ms for a free connection */
			c->tx_len = (size_t)n;
			c->tx_off = 0;
			c->rx_len = 0;
			c->busy = 1;
			next++;
			ssize_t w = write(c->fd, c->tx, c->tx_len);
			if (w > 0)
				c->tx_off = (size_t)w;
			else if (w < 0 && errno != EAGAIN)
				die("write failed (the server closed a connection?)");
		}
		/* Sleep until the next request is due (or a reply comes). */
		struct timespec wait = {0, 100000000};
		if (next < total && nfree) {
			int64_t due = start + (int64_t)next * interval - now_ns();
			due = due > 0 ? due : 0;
			wait.tv_sec = (time_t)(due / 1000000000);
			wait.tv_nsec = (long)(due % 1000000000);
		}
		int n = epoll_pwait2(ep, evs, 256, &wait, NULL);
		for (int e = 0; e < n; e++) {
			struct conn *c = &conns[evs[e].data.u32];
			if (!c->busy)
				continue;
			if (c->tx_off < c->tx_len) {
				ssize_t w = write(c->fd, c->tx + c->tx_off, c->tx_len - c->tx_off);
				if (w > 0)
					c->tx_off += (size_t)w;
			}
			for (;;) {
				ssize_t r = read(c->fd, c->rx + c->rx_len, RX_MAX - 1 - c->rx_len);
				if (r == 0)
					die("the server closed a connection");
				if (r < 0)
					break;
				c->rx_len += (size_t)r;
				if (c->rx_len >= RX_MAX - 1)
					die("a reply larger than 64 KiB");
			}
			int status = 0;
			if (reply_complete(c, &status)) {
				due_at[done] = c->sched_ns - start;
				lat[done++] = now_ns() - c->sched_ns;
				by_class[status / 100 < 6 ? status / 100 : 0]++;
				c->busy = 0;
				free_stack[nfree++] = (int)(c - conns);
			}
		}
	}
	double elapsed = (double)(now_ns() - start) / 1e9;
	if (timeline) {
		FILE *f = fopen(timeline, "w");
		if (!f)
			die("cannot write the timeline file");
		for (uint64_t i = 0; i < total; i++)
			fprintf(f, "%.3f %.3f\n", (double)due_at[i] / 1e6, (double)lat[i] / 1e6);
		fclose(f);
	}
	qsort(lat, total, sizeof(*lat), cmp_i64);
	double sum = 0;
	for (uint64_t i = 0; i < total; i++)
		sum += (double)lat[i];
#define PCT(p) ((double)lat[(uint64_t)((double)(total - 1) * (p))] / 1e6)
	printf("offered %.0f/s achieved %.0f/s requests %llu 2xx %llu 4xx %llu 5xx %llu "
	       "late %llu\n",
	       rate, (double)total / elapsed, (unsigned long long)total,
	       (unsigned long long)by_class[2], (unsigned long long)by_class[4],
	       (unsigned long long)by_class[5], (unsigned long long)late);
	printf("latency ms: mean %.2f p50 %.2f p90 %.2f p99 %.2f p99.9 %.2f max %.2f\n",
	       sum / (double)total / 1e6, PCT(0.50), PCT(0.90), PCT(0.99), PCT(0.999),
	       (double)lat[total - 1] / 1e6);
	return by_class[2] == total ? 0 : 1;
}
