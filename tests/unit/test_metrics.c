// SPDX-License-Identifier: Apache-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "metrics.h"
#include "test.h"

struct http_response {
	int status;
	char headers[4096];
	char *body; /* malloc'd, NUL-terminated */
	size_t body_len;
};

/* Sends request (a whole HTTP/1.0 request) to 127.0.0.1:port and reads the response to EOF. */
static int http_exchange(uint16_t port, const char *request, struct http_response *ret)
{
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
	size_t len = 0, size = 65536;
	char *buf = malloc(size + 1), *split;
	int fd;

	*ret = (struct http_response){};
	if (!buf)
		return -ENOMEM;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    write(fd, request, strlen(request)) != (ssize_t)strlen(request)) {
		if (fd >= 0)
			close(fd);
		free(buf);
		return -errno;
	}
	for (;;) {
		ssize_t n;

		if (len == size) {
			char *grown = realloc(buf, 2 * size + 1);

			if (!grown)
				break;
			buf = grown;
			size *= 2;
		}
		n = read(fd, buf + len, size - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';

	split = strstr(buf, "\r\n\r\n");
	if (!split || sscanf(buf, "HTTP/1.%*d %d", &ret->status) != 1) {
		free(buf);
		return -EPROTO;
	}
	snprintf(ret->headers, sizeof(ret->headers), "%.*s", (int)(split - buf), buf);
	ret->body_len = len - (size_t)(split + 4 - buf);
	ret->body = malloc(ret->body_len + 1);
	if (ret->body)
		memcpy(ret->body, split + 4, ret->body_len + 1);
	free(buf);
	return ret->body ? 0 : -ENOMEM;
}

static int http_get(uint16_t port, const char *path, struct http_response *ret)
{
	char request[256];

	snprintf(request, sizeof(request), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
	return http_exchange(port, request, ret);
}

/* The value of the sample line that starts with series followed by a space, or -1. */
static long long sample_value(const char *body, const char *series)
{
	size_t len = strlen(series);

	for (const char *line = body; line && *line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (strncmp(line, series, len) == 0 && line[len] == ' ')
			return atoll(line + len + 1);
	}
	return -1;
}

/* Runs promtool check metrics on text; returns its exit status and stores its output. */
static int promtool_check(const char *text, size_t len, char *output, size_t output_size)
{
	char path[] = "/tmp/intact-metrics-XXXXXX", command[128];
	size_t used = 0;
	FILE *p;
	int fd, status;

	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	if (write(fd, text, len) != (ssize_t)len) {
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	snprintf(command, sizeof(command), "promtool check metrics < %s 2>&1", path);
	p = popen(command, "r");
	if (!p) {
		unlink(path);
		return -1;
	}
	output[0] = '\0';
	while (used + 1 < output_size && fgets(output + used, (int)(output_size - used), p))
		used += strlen(output + used);
	status = pclose(p);
	unlink(path);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void snapshot_fill(struct metrics_snapshot *s)
{
	*s = (struct metrics_snapshot){.healthy = true};
	metrics_snapshot_event_count(s, "exec", "shell_in_container");
	metrics_snapshot_event_count(s, "exec", "shell_in_container");
	metrics_snapshot_event_count(s, "file", "write_readonly_path");
	metrics_snapshot_event_count(s, "lost", NULL);
	/* A label value with every character the format escapes. */
	metrics_snapshot_event_count(s, "odd\"kind\\\n", "r");
	s->records_read = 100;
	s->records_invalid = 2;
	s->kernel_events_lost = 3;
	s->subscribers_connected = 2;
	s->subscribers_accepted = 5;
	s->subscriber_events_lost = 7;
	s->containers_tracked = 4;
	s->processes_tracked = 40;
	metrics_named_value_add(s->verdicts, &s->verdicts_count, METRICS_VERDICTS_MAX, "verified",
				3);
	metrics_named_value_add(s->verdicts, &s->verdicts_count, METRICS_VERDICTS_MAX, "mismatch",
				1);
	s->hashed_bytes = 1 << 20;
	metrics_named_value_set(s->caches, &s->caches_count, METRICS_CACHES_MAX, "containers", 4);
	metrics_named_value_set(s->caches, &s->caches_count, METRICS_CACHES_MAX, "processes", 40);
}

TEST(metrics_snapshot_counting)
{
	struct metrics_snapshot s = {};
	char kind[32];

	metrics_snapshot_event_count(&s, "exec", "a");
	metrics_snapshot_event_count(&s, "exec", "a");
	metrics_snapshot_event_count(&s, "exec", NULL);
	CHECK_INT_EQ(s.events_count, 2);
	CHECK_INT_EQ(s.events[0].count, 2);
	CHECK_STR_EQ(s.events[1].rule, "");
	for (int i = 0; i < METRICS_EVENT_SERIES_MAX + 5; i++) {
		snprintf(kind, sizeof(kind), "k%d", i);
		metrics_snapshot_event_count(&s, kind, "r");
	}
	CHECK_INT_EQ(s.events_count, METRICS_EVENT_SERIES_MAX);
	CHECK_INT_EQ(s.events_unlabeled, 7);

	metrics_named_value_add(s.verdicts, &s.verdicts_count, METRICS_VERDICTS_MAX, "v", 2);
	metrics_named_value_add(s.verdicts, &s.verdicts_count, METRICS_VERDICTS_MAX, "v", 3);
	CHECK_INT_EQ(s.verdicts_count, 1);
	CHECK_INT_EQ(s.verdicts[0].value, 5);
	metrics_named_value_set(s.verdicts, &s.verdicts_count, METRICS_VERDICTS_MAX, "v", 1);
	CHECK_INT_EQ(s.verdicts[0].value, 1);
}

TEST(metrics_render_passes_promtool)
{
	struct metrics_snapshot s;
	char *text, output[4096];
	size_t len;

	snapshot_fill(&s);
	CHECK_INT_EQ(metrics_render(&s, "1.2.3", &text, &len), 0);
	CHECK_INT_EQ(promtool_check(text, len, output, sizeof(output)), 0);
	if (output[0])
		fprintf(stderr, "  promtool: %s", output);
	CHECK(strstr(text, "intact_build_info{version=\"1.2.3\"} 1\n") != NULL);
	CHECK(strstr(text, "intact_events_total{kind=\"odd\\\"kind\\\\\\n\",rule=\"r\"} 1\n") !=
	      NULL);
	CHECK_INT_EQ(sample_value(text, "intact_events_total{kind=\"lost\",rule=\"\"}"), 1);
	free(text);

	/* An empty snapshot is valid too. */
	s = (struct metrics_snapshot){};
	CHECK_INT_EQ(metrics_render(&s, "", &text, &len), 0);
	CHECK_INT_EQ(promtool_check(text, len, output, sizeof(output)), 0);
	free(text);
}

TEST(metrics_server_serves_updates)
{
	struct metrics_options opts = {.address = "127.0.0.1:0", .version = "test"};
	struct http_response res;
	struct metrics_snapshot s;
	struct metrics *m = NULL;
	char output[4096];
	uint16_t port;

	CHECK_INT_EQ(metrics_server_new(&opts, &m), 0);
	if (!m)
		return;
	port = metrics_server_port(m);
	CHECK(port != 0);

	/* No snapshot yet: zeros, and not healthy. */
	CHECK_INT_EQ(http_get(port, "/metrics", &res), 0);
	CHECK_INT_EQ(res.status, 200);
	CHECK(strstr(res.headers, "text/plain; version=0.0.4") != NULL);
	CHECK_INT_EQ(sample_value(res.body, "intact_ring_buffer_records_total"), 0);
	free(res.body);
	CHECK_INT_EQ(http_get(port, "/healthz", &res), 0);
	CHECK_INT_EQ(res.status, 503);
	free(res.body);

	snapshot_fill(&s);
	metrics_update(m, &s);
	CHECK_INT_EQ(http_get(port, "/metrics", &res), 0);
	CHECK_INT_EQ(res.status, 200);
	CHECK_INT_EQ(promtool_check(res.body, res.body_len, output, sizeof(output)), 0);
	if (output[0])
		fprintf(stderr, "  promtool: %s", output);
	CHECK_INT_EQ(sample_value(res.body, "intact_ring_buffer_records_total"), 100);
	CHECK_INT_EQ(sample_value(res.body, "intact_ring_buffer_records_invalid_total"), 2);
	CHECK_INT_EQ(sample_value(res.body, "intact_kernel_events_lost_total"), 3);
	CHECK_INT_EQ(sample_value(res.body, "intact_subscribers"), 2);
	CHECK_INT_EQ(sample_value(res.body, "intact_subscriber_events_lost_total"), 7);
	CHECK_INT_EQ(sample_value(res.body, "intact_containers_tracked"), 4);
	CHECK_INT_EQ(sample_value(res.body, "intact_hashed_bytes_total"), 1 << 20);
	CHECK_INT_EQ(sample_value(res.body,
				  "intact_events_total{kind=\"exec\",rule=\"shell_in_container\"}"),
		     2);
	CHECK_INT_EQ(sample_value(res.body, "intact_image_verdicts_total{verdict=\"verified\"}"),
		     3);
	CHECK_INT_EQ(sample_value(res.body, "intact_cache_entries{cache=\"processes\"}"), 40);
	CHECK_INT_EQ(sample_value(res.body, "intact_build_info{version=\"test\"}"), 1);
	free(res.body);
	CHECK_INT_EQ(http_get(port, "/healthz", &res), 0);
	CHECK_INT_EQ(res.status, 200);
	CHECK_STR_EQ(res.body, "ok\n");
	free(res.body);

	/* Values change with the next update. */
	s.records_read = 250;
	metrics_snapshot_event_count(&s, "exec", "shell_in_container");
	metrics_update(m, &s);
	CHECK_INT_EQ(http_get(port, "/metrics", &res), 0);
	CHECK_INT_EQ(sample_value(res.body, "intact_ring_buffer_records_total"), 250);
	CHECK_INT_EQ(sample_value(res.body,
				  "intact_events_total{kind=\"exec\",rule=\"shell_in_container\"}"),
		     3);
	free(res.body);

	metrics_server_free(m);
}

TEST(metrics_health_times_out)
{
	struct metrics_options opts = {
	    .address = "127.0.0.1:0", .version = "test", .health_timeout_sec = 1};
	struct metrics_snapshot s = {.healthy = true};
	struct http_response res;
	struct metrics *m = NULL;

	CHECK_INT_EQ(metrics_server_new(&opts, &m), 0);
	if (!m)
		return;
	metrics_update(m, &s);
	CHECK_INT_EQ(http_get(metrics_server_port(m), "/healthz", &res), 0);
	CHECK_INT_EQ(res.status, 200);
	free(res.body);

	/* An unhealthy snapshot does not renew the health report. */
	s.healthy = false;
	metrics_update(m, &s);
	usleep(1200 * 1000);
	CHECK_INT_EQ(http_get(metrics_server_port(m), "/healthz", &res), 0);
	CHECK_INT_EQ(res.status, 503);
	CHECK(res.body != NULL);
	CHECK(res.body);
	if (res.body)
		CHECK(strncmp(res.body, "unhealthy", 9) == 0);
	free(res.body);
	metrics_server_free(m);
}

TEST(metrics_server_rejects_other_requests)
{
	struct metrics_options opts = {.address = "127.0.0.1:0"};
	struct http_response res;
	struct metrics *m = NULL;
	uint16_t port;

	CHECK_INT_EQ(metrics_server_new(&opts, &m), 0);
	if (!m)
		return;
	port = metrics_server_port(m);
	CHECK_INT_EQ(http_get(port, "/", &res), 0);
	CHECK_INT_EQ(res.status, 404);
	free(res.body);
	CHECK_INT_EQ(http_get(port, "/metrics/../etc", &res), 0);
	CHECK_INT_EQ(res.status, 404);
	free(res.body);
	CHECK_INT_EQ(
	    http_exchange(port, "POST /metrics HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc", &res), 0);
	CHECK_INT_EQ(res.status, 405);
	CHECK(strstr(res.headers, "Allow: GET, HEAD") != NULL);
	free(res.body);
	CHECK_INT_EQ(http_exchange(port, "HEAD /metrics HTTP/1.0\r\n\r\n", &res), 0);
	CHECK_INT_EQ(res.status, 200);
	CHECK_INT_EQ(res.body_len, 0);
	free(res.body);
	/* The server rejects garbage and keeps serving. */
	CHECK(http_exchange(port, "\x01\x02garbage\r\n\r\n", &res) <= 0);
	free(res.body);
	CHECK_INT_EQ(http_get(port, "/metrics", &res), 0);
	CHECK_INT_EQ(res.status, 200);
	free(res.body);
	metrics_server_free(m);
}

TEST(metrics_server_bad_addresses)
{
	struct metrics_options opts = {};
	struct metrics *m = NULL;

	opts.address = "no-port";
	CHECK_INT_EQ(metrics_server_new(&opts, &m), -EINVAL);
	opts.address = "256.1.1.1:80";
	CHECK(metrics_server_new(&opts, &m) < 0);
	opts.address = NULL;
	CHECK_INT_EQ(metrics_server_new(&opts, &m), -EINVAL);
	CHECK(m == NULL);
}

TEST(metrics_server_ipv6_loopback)
{
	struct metrics_options opts = {.address = "[::1]:0"};
	struct metrics *m = NULL;
	struct sockaddr_in6 addr = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	int fd;

	/* Only where the machine has IPv6 loopback. */
	if (metrics_server_new(&opts, &m) == -EADDRNOTAVAIL)
		return;
	CHECK(m != NULL);
	if (!m)
		return;
	addr.sin6_port = htons(metrics_server_port(m));
	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0);
	CHECK_INT_EQ(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	close(fd);
	metrics_server_free(m);
}

TEST(metrics_server_port_in_use)
{
	struct metrics_options opts = {.address = "127.0.0.1:0"};
	struct metrics *first = NULL, *second = NULL;
	char address[64];

	CHECK_INT_EQ(metrics_server_new(&opts, &first), 0);
	if (!first)
		return;
	snprintf(address, sizeof(address), "127.0.0.1:%u", metrics_server_port(first));
	opts.address = address;
	CHECK_INT_EQ(metrics_server_new(&opts, &second), -EADDRINUSE);
	metrics_server_free(first);
}
