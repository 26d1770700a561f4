/*
 * test_api_shutdown.c: graceful shutdown. A request whose body is half sent when the
 * server is told to stop still gets its reply; the stop waits for it; new connections
 * are refused meanwhile.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api_test.h"
#include "harness.h"

static atomic_int stopped;

static void *stopper(void *arg)
{
	struct haven_api **api = arg;
	haven_api_stop(api);
	atomic_store(&stopped, 1);
	return NULL;
}

static int connect_to(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	return fd;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

TEST(api_graceful_shutdown_finishes_in_flight)
{
	struct test_server s;
	test_server_start(&s, NULL);
	test_make_user(&s, "patient", "p@example.org");
	int port = haven_api_port(s.api);
	const char *body = "{\"email\":\"p@example.org\",\"password\":\"" TEST_PASSWORD "\"}";
	size_t blen = strlen(body), half = blen / 2;
	char head[512];
	int hl = snprintf(head, sizeof(head),
	                  "POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	                  "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
	                  blen);
	int fd = connect_to(port);
	ASSERT(fd >= 0);
	ASSERT_EQ(write(fd, head, (size_t)hl), hl);
	ASSERT_EQ(write(fd, body, half), (ssize_t)half);
	sleep_ms(200); /* the server has read the headers: the request is in flight */

	atomic_store(&stopped, 0);
	pthread_t t;
	ASSERT_OK(pthread_create(&t, NULL, stopper, &s.api));
	sleep_ms(300);
	ASSERT_EQ(atomic_load(&stopped), 0); /* still waiting for our request */
	int late = connect_to(port);
	ASSERT(late < 0); /* no new connections */

	ASSERT_EQ(write(fd, body + half, blen - half), (ssize_t)(blen - half));
	char reply[4096];
	size_t got = 0;
	ssize_t n;
	while (got < sizeof(reply) - 1 &&
	       (n = read(fd, reply + got, sizeof(reply) - 1 - got)) > 0) {
		got += (size_t)n;
		reply[got] = '\0';
		if (strstr(reply, "\r\n\r\n") && strstr(reply, "\"token\""))
			break;
	}
	reply[got] = '\0';
	close(fd);
	ASSERT(!strncmp(reply, "HTTP/1.1 200", 12));
	ASSERT_CONTAINS(reply, "\"token\"");
	pthread_join(t, NULL);
	ASSERT_EQ(atomic_load(&stopped), 1);
	test_server_stop(&s);
}
