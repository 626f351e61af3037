// SPDX-License-Identifier: Apache-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "stream.h"

#define CONTENT_TYPE_METRICS "text/plain; version=0.0.4; charset=utf-8"

struct metrics {
	struct MHD_Daemon *httpd;
	int listen_fd; /* closed by MHD_stop_daemon() once httpd runs */
	uint16_t port;
	unsigned health_timeout_sec;
	char version[METRICS_LABEL_MAX];

	/* Shared with the server thread. */
	pthread_mutex_t lock;
	struct metrics_snapshot snapshot;
	bool healthy_seen;
	uint64_t healthy_at_nsec; /* CLOCK_MONOTONIC of the last healthy snapshot */
};

static uint64_t monotonic_nsec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

static void label_copy(char dst[METRICS_LABEL_MAX], const char *src)
{
	snprintf(dst, METRICS_LABEL_MAX, "%s", src ? src : "");
}

void metrics_snapshot_event_count(struct metrics_snapshot *s, const char *kind, const char *rule)
{
	struct metrics_event_series *series;

	kind = kind ? kind : "";
	rule = rule ? rule : "";
	for (size_t i = 0; i < s->events_count; i++) {
		series = &s->events[i];
		if (strncmp(series->kind, kind, METRICS_LABEL_MAX - 1) == 0 &&
		    strncmp(series->rule, rule, METRICS_LABEL_MAX - 1) == 0) {
			series->count++;
			return;
		}
	}
	if (s->events_count == METRICS_EVENT_SERIES_MAX) {
		s->events_unlabeled++;
		return;
	}
	series = &s->events[s->events_count++];
	label_copy(series->kind, kind);
	label_copy(series->rule, rule);
	series->count = 1;
}

static struct metrics_named_value *named_value_find(struct metrics_named_value *values,
						    size_t *count, size_t max, const char *name)
{
	for (size_t i = 0; i < *count; i++)
		if (strncmp(values[i].name, name, METRICS_LABEL_MAX - 1) == 0)
			return &values[i];
	if (*count == max)
		return NULL;
	label_copy(values[*count].name, name);
	values[*count].value = 0;
	return &values[(*count)++];
}

void metrics_named_value_set(struct metrics_named_value *values, size_t *count, size_t max,
			     const char *name, uint64_t value)
{
	struct metrics_named_value *v = named_value_find(values, count, max, name);

	if (v)
		v->value = value;
}

void metrics_named_value_add(struct metrics_named_value *values, size_t *count, size_t max,
			     const char *name, uint64_t delta)
{
	struct metrics_named_value *v = named_value_find(values, count, max, name);

	if (v)
		v->value += delta;
}

/* Writes a label value with the escapes the text format requires: \\, \" and \n. */
static void label_write(FILE *f, const char *value)
{
	for (const char *p = value; *p; p++) {
		if (*p == '\\')
			fputs("\\\\", f);
		else if (*p == '"')
			fputs("\\\"", f);
		else if (*p == '\n')
			fputs("\\n", f);
		else
			fputc(*p, f);
	}
}

static void family_write(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void value_write(FILE *f, const char *name, const char *type, const char *help,
			uint64_t value)
{
	family_write(f, name, type, help);
	fprintf(f, "%s %" PRIu64 "\n", name, value);
}

static void named_values_write(FILE *f, const char *name, const char *type, const char *help,
			       const char *label, const struct metrics_named_value *values,
			       size_t count)
{
	family_write(f, name, type, help);
	for (size_t i = 0; i < count; i++) {
		fprintf(f, "%s{%s=\"", name, label);
		label_write(f, values[i].name);
		fprintf(f, "\"} %" PRIu64 "\n", values[i].value);
	}
}

int metrics_render(const struct metrics_snapshot *s, const char *version, char **ret,
		   size_t *ret_len)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	f = open_memstream(&text, &len);
	if (!f)
		return -ENOMEM;

	family_write(f, "intact_build_info", "gauge",
		     "Always 1; the version label is the intactd version.");
	fputs("intact_build_info{version=\"", f);
	label_write(f, version ? version : "");
	fputs("\"} 1\n", f);

	family_write(f, "intact_events_total", "counter", "Events sent, by kind and rule.");
	for (size_t i = 0; i < s->events_count; i++) {
		fputs("intact_events_total{kind=\"", f);
		label_write(f, s->events[i].kind);
		fputs("\",rule=\"", f);
		label_write(f, s->events[i].rule);
		fprintf(f, "\"} %" PRIu64 "\n", s->events[i].count);
	}
	value_write(f, "intact_events_unlabeled_total", "counter",
		    "Events sent but left out of intact_events_total, whose series limit was "
		    "reached.",
		    s->events_unlabeled);

	value_write(f, "intact_ring_buffer_records_total", "counter",
		    "Records read from the kernel ring buffer.", s->records_read);
	value_write(f, "intact_ring_buffer_records_invalid_total", "counter",
		    "Ring buffer records that failed validation and were skipped.",
		    s->records_invalid);
	value_write(f, "intact_kernel_events_lost_total", "counter",
		    "Records the BPF programs could not send because the ring buffer was full.",
		    s->kernel_events_lost);

	value_write(f, "intact_subscribers", "gauge",
		    "Subscribers connected to the event stream, TLS handshakes included.",
		    s->subscribers_connected);
	value_write(f, "intact_subscribers_accepted_total", "counter",
		    "Subscriber connections accepted.", s->subscribers_accepted);
	value_write(f, "intact_subscribers_dropped_total", "counter",
		    "Subscribers disconnected for sending invalid requests.",
		    s->subscribers_dropped);
	value_write(f, "intact_subscribers_rejected_total", "counter",
		    "Connections closed at once: too many subscribers or a failed TLS handshake.",
		    s->subscribers_rejected);
	value_write(f, "intact_subscriber_events_lost_total", "counter",
		    "Events not queued for a subscriber whose queue was full, summed over "
		    "subscribers.",
		    s->subscriber_events_lost);

	value_write(f, "intact_containers_tracked", "gauge", "Containers the daemon knows of.",
		    s->containers_tracked);
	value_write(f, "intact_processes_tracked", "gauge", "Processes the daemon knows of.",
		    s->processes_tracked);

	named_values_write(f, "intact_image_verdicts_total", "counter",
			   "Image verifications, by verdict.", "verdict", s->verdicts,
			   s->verdicts_count);
	value_write(f, "intact_hashed_bytes_total", "counter",
		    "Bytes of image content hashed for verification.", s->hashed_bytes);
	named_values_write(f, "intact_cache_entries", "gauge", "Entries in each cache.", "cache",
			   s->caches, s->caches_count);

	if (fclose(f) != 0) {
		free(text);
		return -ENOMEM;
	}
	*ret = text;
	*ret_len = len;
	return 0;
}

static enum MHD_Result response_send(struct MHD_Connection *connection, unsigned status,
				     const char *content_type, char *body, size_t len,
				     enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *response;
	enum MHD_Result result;

	response = MHD_create_response_from_buffer(len, body, mode);
	if (!response) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	(void)MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		(void)MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	result = MHD_queue_response(connection, status, response);
	MHD_destroy_response(response);
	return result;
}

static enum MHD_Result static_send(struct MHD_Connection *connection, unsigned status,
				   const char *body)
{
	return response_send(connection, status, "text/plain; charset=utf-8", (char *)body,
			     strlen(body), MHD_RESPMEM_PERSISTENT);
}

static enum MHD_Result metrics_send(struct metrics *m, struct MHD_Connection *connection)
{
	struct metrics_snapshot *copy;
	char *text;
	size_t len;
	int r;

	/* Render from a copy: the daemon waits at most for this copy, never for a client. */
	copy = malloc(sizeof(*copy));
	if (!copy)
		return static_send(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	pthread_mutex_lock(&m->lock);
	*copy = m->snapshot;
	pthread_mutex_unlock(&m->lock);
	r = metrics_render(copy, m->version, &text, &len);
	free(copy);
	if (r < 0)
		return static_send(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	return response_send(connection, MHD_HTTP_OK, CONTENT_TYPE_METRICS, text, len,
			     MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result health_send(struct metrics *m, struct MHD_Connection *connection)
{
	uint64_t age_nsec = 0;
	bool seen;

	pthread_mutex_lock(&m->lock);
	seen = m->healthy_seen;
	if (seen)
		age_nsec = monotonic_nsec() - m->healthy_at_nsec;
	pthread_mutex_unlock(&m->lock);

	if (!seen)
		return static_send(connection, MHD_HTTP_SERVICE_UNAVAILABLE,
				   "unhealthy: the daemon has not reported healthy yet\n");
	if (age_nsec > (uint64_t)m->health_timeout_sec * 1000000000)
		return static_send(connection, MHD_HTTP_SERVICE_UNAVAILABLE,
				   "unhealthy: no healthy report within the health timeout\n");
	return static_send(connection, MHD_HTTP_OK, "ok\n");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *connection, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **request_state)
{
	struct metrics *m = cls;

	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return static_send(connection, MHD_HTTP_METHOD_NOT_ALLOWED,
				   "method not allowed: use GET or HEAD\n");
	if (strcmp(url, "/metrics") == 0)
		return metrics_send(m, connection);
	if (strcmp(url, "/healthz") == 0)
		return health_send(m, connection);
	return static_send(connection, MHD_HTTP_NOT_FOUND,
			   "not found: the paths are /metrics and /healthz\n");
}

static void on_httpd_log(void *cls, const char *fmt, va_list ap)
{
	char message[512];

	vsnprintf(message, sizeof(message), fmt, ap);
	message[strcspn(message, "\n")] = '\0';
	log_warning("metrics server: %s", message);
}

/* Creates a listening TCP socket on address. Returns the fd or a negative errno. */
static int listen_socket_open(const char *address, uint16_t *ret_port)
{
	struct addrinfo hints = {
	    .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_PASSIVE | AI_NUMERICSERV,
	};
	struct sockaddr_storage bound;
	socklen_t bound_len = sizeof(bound);
	struct addrinfo *ai = NULL;
	char host[256];
	const char *port;
	int fd = -1, r, one = 1;

	r = stream_address_split(address, host, sizeof(host), &port);
	if (r < 0)
		return r;
	r = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
	if (r != 0)
		return r == EAI_SYSTEM ? -errno : -EINVAL;

	r = -EADDRNOTAVAIL;
	for (struct addrinfo *a = ai; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			    a->ai_protocol);
		if (fd < 0) {
			r = -errno;
			continue;
		}
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 64) == 0) {
			r = 0;
			break;
		}
		r = -errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (r < 0)
		return r;

	if (getsockname(fd, (struct sockaddr *)&bound, &bound_len) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	if (bound.ss_family == AF_INET6)
		*ret_port = ntohs(((struct sockaddr_in6 *)&bound)->sin6_port);
	else
		*ret_port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
	return fd;
}

int metrics_server_new(const struct metrics_options *opts, struct metrics **ret)
{
	sigset_t all, saved;
	struct metrics *m;
	int r;

	if (!opts->address)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->health_timeout_sec = opts->health_timeout_sec ? opts->health_timeout_sec
							 : METRICS_HEALTH_TIMEOUT_SEC_DEFAULT;
	label_copy(m->version, opts->version);
	pthread_mutex_init(&m->lock, NULL);

	r = listen_socket_open(opts->address, &m->port);
	if (r < 0) {
		log_error("failed to listen for metrics on %s: %s", opts->address, strerror(-r));
		goto fail;
	}
	m->listen_fd = r;

	/* The thread inherits this mask: signals must reach the daemon's signalfd. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &saved);
	m->httpd = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG, 0, NULL, NULL,
	    on_request, m, MHD_OPTION_EXTERNAL_LOGGER, on_httpd_log, NULL, MHD_OPTION_LISTEN_SOCKET,
	    m->listen_fd, MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_CONNECTIONS_MAX,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (!m->httpd) {
		r = -EIO;
		log_error("failed to start the metrics server on %s", opts->address);
		close(m->listen_fd);
		goto fail;
	}
	*ret = m;
	return 0;

fail:
	pthread_mutex_destroy(&m->lock);
	free(m);
	return r;
}

uint16_t metrics_server_port(const struct metrics *m)
{
	return m->port;
}

void metrics_update(struct metrics *m, const struct metrics_snapshot *s)
{
	pthread_mutex_lock(&m->lock);
	m->snapshot = *s;
	if (s->healthy) {
		m->healthy_seen = true;
		m->healthy_at_nsec = monotonic_nsec();
	}
	pthread_mutex_unlock(&m->lock);
}

void metrics_server_free(struct metrics *m)
{
	if (!m)
		return;
	/* Joins the thread and closes the listening socket. */
	MHD_stop_daemon(m->httpd);
	pthread_mutex_destroy(&m->lock);
	free(m);
}
