// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "framing.h"
#include "intact/v1/subscribe.pb-c.h"
#include "log.h"
#include "stream.h"

#define LISTEN_BACKLOG 64
/* Work done per wakeup, so that one busy subscriber cannot starve the loop. */
#define ACCEPTS_PER_WAKEUP 16
#define READS_PER_WAKEUP 4
#define IOV_PER_SEND 64
/* After EMFILE or ENFILE, accepting pauses this long instead of spinning. */
#define ACCEPT_PAUSE_USEC (1000 * 1000)
/* At most this many warnings about connections per window; the rest are counted. */
#define LOG_BURST 10
#define LOG_WINDOW_USEC (10 * 1000 * 1000)

/* A packed event, shared by the queues of all subscribers that take it. */
struct frame {
	unsigned refs;
	size_t size;
	uint8_t data[];
};

struct subscriber {
	struct stream_server *server;
	struct subscriber *prev, *next;
	uint64_t id;
	int fd;
	SSL *ssl;
	bool handshaking;
	sd_event_source *io;
	sd_event_source *handshake_timer;
	char peer[64];

	/* A ring of frames; the first head_offset bytes of the head frame are sent. */
	struct frame **queue;
	size_t head, count, queued_bytes, head_offset;
	/* TLS: the last SSL_write() must be retried once the socket is readable. */
	bool write_wants_read;

	uint64_t lost_pending, lost_total;

	struct frame_decoder decoder;
	bool request_received;
	/* The peer shut down its sending side (Unix socket only). */
	bool read_closed;
	size_t trailing_bytes;
	bool rules_only;
	char *container_id;
	char *pod_namespace;
};

struct listener {
	struct stream_server *server;
	int fd;
	bool tls;
	sd_event_source *io;
	sd_event_source *pause_timer;
};

struct ratelimit {
	uint64_t window_start;
	unsigned count;
	uint64_t suppressed;
};

struct stream_server {
	sd_event *loop;
	struct stream_options opts;
	char *socket_path;
	/* The socket file this server created, removed by stream_server_free(). */
	bool socket_created;
	dev_t socket_dev;
	ino_t socket_ino;
	struct listener unix_listener, tls_listener;
	SSL_CTX *ssl_ctx;
	char *node, *boot_id;

	struct subscriber *subscribers;
	uint64_t next_id;
	uint64_t last_seq;
	bool stopped;
	struct stream_counters counters;
	struct ratelimit connection_log;
};

static uint64_t now_usec(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Whether a warning may be logged now; counts the ones that may not. */
static bool ratelimit_test(struct ratelimit *rl)
{
	uint64_t now = now_usec(CLOCK_MONOTONIC);

	if (now - rl->window_start >= LOG_WINDOW_USEC) {
		if (rl->suppressed > 0)
			log_warning("%" PRIu64 " similar messages about subscribers suppressed",
				    rl->suppressed);
		rl->window_start = now;
		rl->count = 0;
		rl->suppressed = 0;
	}
	if (rl->count < LOG_BURST) {
		rl->count++;
		return true;
	}
	rl->suppressed++;
	return false;
}

/* Copies at most 48 bytes of a peer-supplied string for a log line, '?' for non-printable bytes. */
static void sanitize(char *out, size_t out_size, const char *in)
{
	size_t i;

	for (i = 0; in[i] && i + 1 < out_size && i < 48; i++)
		out[i] = in[i] >= 0x20 && in[i] < 0x7f ? in[i] : '?';
	out[i] = '\0';
}

static void frame_unref(struct frame *f)
{
	if (f && --f->refs == 0)
		free(f);
}

/* Packs ev into a new frame with one reference. */
static int frame_new(const Intact__V1__Event *ev, struct frame **ret)
{
	size_t payload_len = protobuf_c_message_get_packed_size(&ev->base);
	uint8_t header[FRAME_VARINT_MAX];
	size_t header_len;
	struct frame *f;

	if (payload_len > STREAM_EVENT_MAX)
		return -EMSGSIZE;
	header_len = frame_varint_encode(payload_len, header);
	f = malloc(sizeof(*f) + header_len + payload_len);
	if (!f)
		return -ENOMEM;
	f->refs = 1;
	f->size = header_len + payload_len;
	memcpy(f->data, header, header_len);
	protobuf_c_message_pack(&ev->base, f->data + header_len);
	*ret = f;
	return 0;
}

static const char *ssl_error_string(void)
{
	unsigned long e = ERR_peek_last_error();
	static char text[256];

	if (!e)
		return "unknown error";
	ERR_error_string_n(e, text, sizeof(text));
	return text;
}

/* ---- subscribers ---- */

static void subscriber_free(struct subscriber *sub)
{
	struct stream_server *s = sub->server;

	if (sub->prev)
		sub->prev->next = sub->next;
	else
		s->subscribers = sub->next;
	if (sub->next)
		sub->next->prev = sub->prev;
	s->counters.subscribers_connected--;

	sd_event_source_disable_unref(sub->io);
	sd_event_source_disable_unref(sub->handshake_timer);
	SSL_free(sub->ssl);
	if (sub->fd >= 0)
		close(sub->fd);
	for (size_t i = 0; i < sub->count; i++)
		frame_unref(sub->queue[(sub->head + i) % s->opts.queue_frames_max]);
	free(sub->queue);
	frame_decoder_free(&sub->decoder);
	free(sub->container_id);
	free(sub->pod_namespace);
	free(sub);
}

/* Drops a subscriber for bad input, logging why. */
static void subscriber_drop(struct subscriber *sub, const char *reason)
{
	sub->server->counters.subscribers_dropped++;
	log_warning("dropping subscriber %" PRIu64 " (%s): %s", sub->id, sub->peer, reason);
	subscriber_free(sub);
}

/* Closes a subscriber that went away or failed at the socket level. */
static void subscriber_close(struct subscriber *sub, const char *reason)
{
	log_info("subscriber %" PRIu64 " (%s) disconnected: %s", sub->id, sub->peer, reason);
	subscriber_free(sub);
}

/* Whether a frame of size bytes fits; an empty queue takes any one frame. */
static bool subscriber_has_room(const struct subscriber *sub, size_t size)
{
	const struct stream_options *o = &sub->server->opts;

	if (sub->count == 0)
		return true;
	return sub->count < o->queue_frames_max && sub->queued_bytes + size <= o->queue_bytes_max;
}

/* Appends f, taking a new reference. The caller checked for room, or forces it at shutdown. */
static void subscriber_push(struct subscriber *sub, struct frame *f)
{
	size_t max = sub->server->opts.queue_frames_max;

	if (sub->count == max)
		return;
	f->refs++;
	sub->queue[(sub->head + sub->count) % max] = f;
	sub->count++;
	sub->queued_bytes += f->size;
}

static void event_fill_header(struct stream_server *s, Intact__V1__Event *ev,
			      Google__Protobuf__Timestamp *time)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	time->seconds = ts.tv_sec;
	time->nanos = (int32_t)ts.tv_nsec;
	ev->time = time;
	ev->node = s->node;
	ev->boot_id = s->boot_id;
}

/* Builds the "lost" event that reports a subscriber's dropped frames. */
static int lost_notice_new(struct subscriber *sub, struct frame **ret)
{
	Intact__V1__Event ev = INTACT__V1__EVENT__INIT;
	Google__Protobuf__Timestamp time = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	Intact__V1__Lost lost = INTACT__V1__LOST__INIT;

	/*
	 * NOTE: seq stays 0, because seq numbers the agent's events for all
	 * subscribers and this notice goes to one of them only.
	 */
	event_fill_header(sub->server, &ev, &time);
	ev.event = "lost";
	lost.source = "subscriber_queue";
	lost.count = sub->lost_pending;
	lost.total = sub->lost_total;
	ev.body_case = INTACT__V1__EVENT__BODY_LOST;
	ev.lost = &lost;
	return frame_new(&ev, ret);
}

/* Queues the pending loss notice if there is room. Returns whether none is pending now. */
static bool subscriber_queue_lost_notice(struct subscriber *sub)
{
	struct frame *f;

	if (sub->lost_pending == 0)
		return true;
	if (!subscriber_has_room(sub, 64))
		return false;
	if (lost_notice_new(sub, &f) < 0)
		return false;
	subscriber_push(sub, f);
	frame_unref(f);
	sub->lost_pending = 0;
	return true;
}

static void subscriber_count_lost(struct subscriber *sub)
{
	sub->lost_pending++;
	sub->lost_total++;
	sub->server->counters.events_lost++;
}

static void subscriber_update_events(struct subscriber *sub)
{
	uint32_t events = 0;

	if (sub->handshaking) {
		/* SSL_accept() reported which direction it waits for. */
		return;
	}
	if (!sub->read_closed || sub->write_wants_read)
		events |= EPOLLIN;
	if (sub->count > 0 && !sub->write_wants_read)
		events |= EPOLLOUT;
	(void)sd_event_source_set_io_events(sub->io, events);
}

/* Sends queued frames on a plain socket. Returns 0, or -errno when the connection failed. */
static int subscriber_send_plain(struct subscriber *sub)
{
	size_t max = sub->server->opts.queue_frames_max;

	while (sub->count > 0) {
		struct iovec iov[IOV_PER_SEND];
		struct msghdr mh = {.msg_iov = iov};
		ssize_t n;

		for (size_t i = 0; i < sub->count && i < IOV_PER_SEND; i++) {
			struct frame *f = sub->queue[(sub->head + i) % max];
			size_t skip = i == 0 ? sub->head_offset : 0;

			iov[i].iov_base = f->data + skip;
			iov[i].iov_len = f->size - skip;
			mh.msg_iovlen++;
		}
		n = sendmsg(sub->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;

		while (n > 0) {
			struct frame *f = sub->queue[sub->head];
			size_t left = f->size - sub->head_offset;

			if ((size_t)n < left) {
				sub->head_offset += (size_t)n;
				break;
			}
			n -= (ssize_t)left;
			sub->head = (sub->head + 1) % max;
			sub->count--;
			sub->queued_bytes -= f->size;
			sub->head_offset = 0;
			frame_unref(f);
		}
	}
	return 0;
}

/* Sends queued frames over TLS. Returns 0, or a negative errno when the connection failed. */
static int subscriber_send_tls(struct subscriber *sub)
{
	size_t max = sub->server->opts.queue_frames_max;

	sub->write_wants_read = false;
	while (sub->count > 0) {
		struct frame *f = sub->queue[sub->head];
		size_t left = f->size - sub->head_offset;
		int n;

		ERR_clear_error();
		n = SSL_write(sub->ssl, f->data + sub->head_offset,
			      left > INT_MAX ? INT_MAX : (int)left);
		if (n <= 0) {
			switch (SSL_get_error(sub->ssl, n)) {
			case SSL_ERROR_WANT_WRITE:
				return 0;
			case SSL_ERROR_WANT_READ:
				sub->write_wants_read = true;
				return 0;
			default:
				return -ECONNRESET;
			}
		}
		sub->head_offset += (size_t)n;
		if (sub->head_offset < f->size)
			continue;
		sub->head = (sub->head + 1) % max;
		sub->count--;
		sub->queued_bytes -= f->size;
		sub->head_offset = 0;
		frame_unref(f);
	}
	return 0;
}

/* Sends what the socket takes, then queues a pending loss notice if it fits. */
static int subscriber_flush(struct subscriber *sub)
{
	int r;

	for (int round = 0; round < 2; round++) {
		r = sub->ssl ? subscriber_send_tls(sub) : subscriber_send_plain(sub);
		if (r < 0)
			return r;
		/* After shutdown began, the final frames are queued and nothing follows them. */
		if (sub->server->stopped || sub->lost_pending == 0 ||
		    !subscriber_queue_lost_notice(sub))
			break;
	}
	return 0;
}

static int subscriber_apply_request(struct subscriber *sub, const uint8_t *payload, size_t len)
{
	Intact__V1__SubscribeRequest *req;
	char container[64], ns[64];

	req = intact__v1__subscribe_request__unpack(NULL, len, payload);
	if (!req)
		return -EBADMSG;
	sub->rules_only = req->rules_only;
	if (req->container_id && req->container_id[0])
		sub->container_id = strdup(req->container_id);
	if (req->pod_namespace && req->pod_namespace[0])
		sub->pod_namespace = strdup(req->pod_namespace);
	sanitize(container, sizeof(container), req->container_id ? req->container_id : "");
	sanitize(ns, sizeof(ns), req->pod_namespace ? req->pod_namespace : "");
	intact__v1__subscribe_request__free_unpacked(req, NULL);
	if ((!sub->container_id && container[0]) || (!sub->pod_namespace && ns[0]))
		return -ENOMEM;
	sub->request_received = true;
	log_info("subscriber %" PRIu64 " (%s) subscribed: rules_only=%s container_id=\"%s\" "
		 "pod_namespace=\"%s\"",
		 sub->id, sub->peer, sub->rules_only ? "true" : "false", container, ns);
	return 0;
}

/*
 * Handles bytes received from a subscriber. Returns 0, or -EBADMSG with
 * *ret_reason set when the subscriber must be dropped.
 */
static int subscriber_consume(struct subscriber *sub, const uint8_t *data, size_t len,
			      const char **ret_reason)
{
	while (len > 0) {
		const uint8_t *payload;
		size_t payload_len;
		long used;

		if (sub->request_received) {
			sub->trailing_bytes += len;
			if (sub->trailing_bytes > STREAM_TRAILING_BYTES_MAX) {
				*ret_reason = "sent more data after its SubscribeRequest";
				return -EBADMSG;
			}
			return 0;
		}

		used = frame_decoder_feed(&sub->decoder, data, len, &payload, &payload_len);
		if (used == -EMSGSIZE) {
			*ret_reason = "sent a frame longer than "
				      "the SubscribeRequest limit of 4096 bytes";
			return -EBADMSG;
		}
		if (used < 0) {
			*ret_reason = "sent a malformed frame length";
			return -EBADMSG;
		}
		data += used;
		len -= (size_t)used;
		if (payload && subscriber_apply_request(sub, payload, payload_len) < 0) {
			*ret_reason = "sent a frame that is not a valid SubscribeRequest";
			return -EBADMSG;
		}
		if (payload)
			frame_decoder_free(&sub->decoder);
	}
	return 0;
}

/*
 * Reads what the subscriber sent. Returns 0, -EBADMSG after dropping it for
 * bad input, or -ECONNRESET after closing it.
 */
static int subscriber_read(struct subscriber *sub)
{
	uint8_t buffer[4096];
	const char *reason = NULL;

	for (int i = 0; i < READS_PER_WAKEUP && !sub->read_closed; i++) {
		ssize_t n;

		if (sub->ssl) {
			int k;

			ERR_clear_error();
			k = SSL_read(sub->ssl, buffer, sizeof(buffer));
			if (k <= 0) {
				int e = SSL_get_error(sub->ssl, k);

				if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
					return 0;
				subscriber_close(sub, e == SSL_ERROR_ZERO_RETURN ? "closed by peer"
										 : "TLS error");
				return -ECONNRESET;
			}
			n = k;
		} else {
			n = recv(sub->fd, buffer, sizeof(buffer), MSG_DONTWAIT);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return 0;
			if (n < 0) {
				subscriber_close(sub, strerror(errno));
				return -ECONNRESET;
			}
			if (n == 0) {
				if (!frame_decoder_is_idle(&sub->decoder)) {
					subscriber_drop(sub,
							"closed its side in the middle of a frame");
					return -EBADMSG;
				}
				/* A half-closed peer may still read events. */
				sub->read_closed = true;
				return 0;
			}
		}
		if (subscriber_consume(sub, buffer, (size_t)n, &reason) < 0) {
			subscriber_drop(sub, reason);
			return -EBADMSG;
		}
	}
	return 0;
}

static int subscriber_on_io(sd_event_source *source, int fd, uint32_t revents, void *userdata);

static int subscriber_handshake(struct subscriber *sub)
{
	int k, e;

	ERR_clear_error();
	k = SSL_accept(sub->ssl);
	if (k == 1) {
		sub->handshaking = false;
		sd_event_source_disable_unref(sub->handshake_timer);
		sub->handshake_timer = NULL;
		log_info("subscriber %" PRIu64 " (%s) connected over TLS", sub->id, sub->peer);
		return 0;
	}
	e = SSL_get_error(sub->ssl, k);
	if (e == SSL_ERROR_WANT_READ) {
		(void)sd_event_source_set_io_events(sub->io, EPOLLIN);
		return 0;
	}
	if (e == SSL_ERROR_WANT_WRITE) {
		(void)sd_event_source_set_io_events(sub->io, EPOLLOUT);
		return 0;
	}
	sub->server->counters.subscribers_rejected++;
	if (ratelimit_test(&sub->server->connection_log))
		log_warning("TLS handshake with %s failed: %s", sub->peer, ssl_error_string());
	subscriber_free(sub);
	return -ECONNREFUSED;
}

static int subscriber_on_handshake_timeout(sd_event_source *source, uint64_t usec, void *userdata)
{
	struct subscriber *sub = userdata;

	sub->server->counters.subscribers_rejected++;
	if (ratelimit_test(&sub->server->connection_log))
		log_warning("TLS handshake with %s timed out", sub->peer);
	subscriber_free(sub);
	return 0;
}

static int subscriber_on_io(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
	struct subscriber *sub = userdata;
	int r;

	if (sub->handshaking) {
		if (subscriber_handshake(sub) < 0 || sub->handshaking)
			return 0;
		/* The request may have come with the handshake's last bytes, now in OpenSSL's
		 * buffer. */
		revents |= EPOLLIN;
	}
	if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		r = subscriber_read(sub);
		if (r < 0)
			return 0;
	}
	if (sub->count > 0 || sub->lost_pending > 0) {
		r = subscriber_flush(sub);
		if (r < 0) {
			subscriber_close(sub, strerror(-r));
			return 0;
		}
	}
	if (revents & (EPOLLHUP | EPOLLERR)) {
		subscriber_close(sub, "connection closed");
		return 0;
	}
	subscriber_update_events(sub);
	return 0;
}

static void peer_describe(int fd, bool tls, char *out, size_t out_size)
{
	struct sockaddr_storage addr;
	socklen_t addr_len = sizeof(addr);
	char host[NI_MAXHOST], port[NI_MAXSERV];
	struct ucred cred;
	socklen_t cred_len = sizeof(cred);

	snprintf(out, out_size, "unknown peer");
	if (!tls) {
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) == 0)
			snprintf(out, out_size, "pid %d uid %u", (int)cred.pid, (unsigned)cred.uid);
		return;
	}
	if (getpeername(fd, (struct sockaddr *)&addr, &addr_len) == 0 &&
	    getnameinfo((struct sockaddr *)&addr, addr_len, host, sizeof(host), port, sizeof(port),
			NI_NUMERICHOST | NI_NUMERICSERV) == 0)
		snprintf(out, out_size, addr.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host,
			 port);
}

/* Takes ownership of fd. */
static int subscriber_new(struct stream_server *s, int fd, bool tls)
{
	struct subscriber *sub;
	int r;

	sub = calloc(1, sizeof(*sub));
	if (!sub) {
		close(fd);
		return -ENOMEM;
	}
	sub->server = s;
	sub->fd = fd;
	sub->id = ++s->next_id;
	peer_describe(fd, tls, sub->peer, sizeof(sub->peer));
	frame_decoder_init(&sub->decoder, STREAM_REQUEST_MAX);
	sub->next = s->subscribers;
	if (s->subscribers)
		s->subscribers->prev = sub;
	s->subscribers = sub;
	s->counters.subscribers_connected++;
	s->counters.subscribers_accepted++;

	sub->queue = calloc(s->opts.queue_frames_max, sizeof(*sub->queue));
	if (!sub->queue) {
		r = -ENOMEM;
		goto fail;
	}
	r = sd_event_add_io(s->loop, &sub->io, fd, EPOLLIN, subscriber_on_io, sub);
	if (r < 0)
		goto fail;

	if (tls) {
		sub->ssl = SSL_new(s->ssl_ctx);
		if (!sub->ssl || SSL_set_fd(sub->ssl, fd) != 1) {
			r = -ENOMEM;
			goto fail;
		}
		SSL_set_accept_state(sub->ssl);
		sub->handshaking = true;
		r = sd_event_add_time_relative(s->loop, &sub->handshake_timer, CLOCK_MONOTONIC,
					       STREAM_HANDSHAKE_TIMEOUT_USEC, 0,
					       subscriber_on_handshake_timeout, sub);
		if (r < 0)
			goto fail;
		return 0;
	}
	log_info("subscriber %" PRIu64 " (%s) connected", sub->id, sub->peer);
	return 0;

fail:
	log_error("failed to set up subscriber %s: %s", sub->peer, strerror(-r));
	subscriber_free(sub);
	return r;
}

static bool subscriber_wants(const struct subscriber *sub, const Intact__V1__Event *ev)
{
	const Intact__V1__Container *c = ev->container;

	/* Loss notices and agent status reach every subscriber. */
	if (ev->body_case == INTACT__V1__EVENT__BODY_LOST ||
	    ev->body_case == INTACT__V1__EVENT__BODY_STATUS)
		return true;
	if (sub->rules_only && ev->n_rules == 0)
		return false;
	if (sub->container_id &&
	    (!c || !c->id || strncmp(c->id, sub->container_id, strlen(sub->container_id)) != 0))
		return false;
	if (sub->pod_namespace && (!c || !c->pod || !c->pod->namespace_ ||
				   strcmp(c->pod->namespace_, sub->pod_namespace) != 0))
		return false;
	return true;
}

void stream_publish(struct stream_server *s, const Intact__V1__Event *ev)
{
	struct frame *f = NULL;
	struct subscriber *sub, *next;
	int r;

	if (!s || s->stopped)
		return;
	s->last_seq = ev->seq > s->last_seq ? ev->seq : s->last_seq;

	for (sub = s->subscribers; sub; sub = next) {
		next = sub->next;
		if (sub->handshaking || !subscriber_wants(sub, ev))
			continue;
		if (!f) {
			r = frame_new(ev, &f);
			if (r < 0) {
				log_error("failed to pack event %" PRIu64 ": %s", ev->seq,
					  strerror(-r));
				for (; sub; sub = sub->next)
					if (!sub->handshaking && subscriber_wants(sub, ev))
						subscriber_count_lost(sub);
				return;
			}
		}
		if (!subscriber_queue_lost_notice(sub) || !subscriber_has_room(sub, f->size)) {
			subscriber_count_lost(sub);
			continue;
		}
		subscriber_push(sub, f);
		/* Sending now saves a wakeup; the queue takes what the socket does not. */
		r = subscriber_flush(sub);
		if (r < 0) {
			subscriber_close(sub, strerror(-r));
			continue;
		}
		subscriber_update_events(sub);
	}
	frame_unref(f);
}

/* ---- listeners ---- */

static int listener_on_pause_end(sd_event_source *source, uint64_t usec, void *userdata)
{
	struct listener *l = userdata;

	sd_event_source_disable_unref(l->pause_timer);
	l->pause_timer = NULL;
	(void)sd_event_source_set_enabled(l->io, SD_EVENT_ON);
	return 0;
}

static int listener_on_io(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
	struct listener *l = userdata;
	struct stream_server *s = l->server;

	for (int i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				if (ratelimit_test(&s->connection_log))
					log_warning(
					    "failed to accept a subscriber, pausing for 1 s: %s",
					    strerror(errno));
				(void)sd_event_source_set_enabled(l->io, SD_EVENT_OFF);
				if (!l->pause_timer)
					(void)sd_event_add_time_relative(
					    s->loop, &l->pause_timer, CLOCK_MONOTONIC,
					    ACCEPT_PAUSE_USEC, 0, listener_on_pause_end, l);
			}
			return 0;
		}
		if (s->counters.subscribers_connected >= s->opts.subscribers_max) {
			s->counters.subscribers_rejected++;
			if (ratelimit_test(&s->connection_log))
				log_warning("rejecting a subscriber: %u are connected, the maximum",
					    s->opts.subscribers_max);
			close(cfd);
			continue;
		}
		(void)subscriber_new(s, cfd, l->tls);
	}
	return 0;
}

static int listener_start(struct stream_server *s, struct listener *l, int fd, bool tls)
{
	int r;

	l->server = s;
	l->fd = fd;
	l->tls = tls;
	r = sd_event_add_io(s->loop, &l->io, fd, EPOLLIN, listener_on_io, l);
	if (r < 0)
		log_error("failed to watch the event socket: %s", strerror(-r));
	return r;
}

static void listener_stop(struct listener *l)
{
	sd_event_source_disable_unref(l->io);
	sd_event_source_disable_unref(l->pause_timer);
	l->io = l->pause_timer = NULL;
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

/* Checks that an activated fd is a listening stream socket and makes it non-blocking. */
static int activated_socket_check(int fd)
{
	int value = 0, flags;
	socklen_t len = sizeof(value);

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &value, &len) < 0)
		return -errno;
	if (!value)
		return -EINVAL;
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

/* Creates each missing directory of path's parent, mode 0755. */
static int parent_directories_create(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];

	snprintf(dir, sizeof(dir), "%s", path);
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

static int group_resolve(const char *name, gid_t *ret)
{
	struct group grp, *result = NULL;
	char buffer[4096], *end;
	unsigned long gid;

	errno = 0;
	gid = strtoul(name, &end, 10);
	if (*name && !*end && !errno && gid < (gid_t)-1) {
		*ret = (gid_t)gid;
		return 0;
	}
	if (getgrnam_r(name, &grp, buffer, sizeof(buffer), &result) != 0 || !result)
		return -ENOENT;
	*ret = result->gr_gid;
	return 0;
}

/*
 * Removes the socket file at path left by an earlier run. Returns 0 when path
 * is free, -EEXIST when it is not a socket, -EADDRINUSE when something
 * listens on it.
 */
static int stale_socket_remove(const char *path, const struct sockaddr_un *addr)
{
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (const struct sockaddr *)addr, sizeof(*addr));
	r = r == 0 ? -EADDRINUSE : (errno == ECONNREFUSED ? 0 : -errno);
	close(fd);
	if (r < 0)
		return r;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static int unix_socket_open(struct stream_server *s)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	const char *path = s->socket_path;
	gid_t gid = (gid_t)-1;
	struct stat st;
	int fd, r;

	if (strlen(path) >= sizeof(addr.sun_path) || path[0] != '/') {
		log_error("invalid event socket path %s: it must be absolute and shorter than %zu "
			  "bytes",
			  path, sizeof(addr.sun_path));
		return -EINVAL;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);

	if (s->opts.socket_group) {
		r = group_resolve(s->opts.socket_group, &gid);
		if (r < 0) {
			log_error("group %s of the event socket not found", s->opts.socket_group);
			return r;
		}
	}

	r = parent_directories_create(path);
	if (r < 0) {
		log_error("failed to create the directory of %s: %s", path, strerror(-r));
		return r;
	}
	r = stale_socket_remove(path, &addr);
	if (r == -EEXIST) {
		log_error("%s exists and is not a socket: remove it or choose another path", path);
		return r;
	}
	if (r == -EADDRINUSE) {
		log_error("another process listens on %s: is intactd already running?", path);
		return r;
	}
	if (r < 0) {
		log_error("failed to remove the stale socket %s: %s", path, strerror(-r));
		return r;
	}

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		log_error("failed to create the event socket: %s", strerror(errno));
		return r;
	}
	/* A socket that is bound but not listening refuses connections, so the mode is set in time.
	 */
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		r = -errno;
		log_error("failed to bind %s: %s", path, strerror(errno));
		goto fail;
	}
	s->socket_created = true;
	if (stat(path, &st) == 0) {
		s->socket_dev = st.st_dev;
		s->socket_ino = st.st_ino;
	}
	if (chmod(path, 0660) < 0 || (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) < 0)) {
		r = -errno;
		log_error("failed to set the mode and group of %s: %s", path, strerror(errno));
		goto fail;
	}
	if (listen(fd, LISTEN_BACKLOG) < 0) {
		r = -errno;
		log_error("failed to listen on %s: %s", path, strerror(errno));
		goto fail;
	}
	return fd;

fail:
	close(fd);
	return r;
}

int stream_address_split(const char *text, char *host, size_t host_size, const char **ret_port)
{
	const char *colon, *host_start = text;
	size_t host_len;

	if (text[0] == '[') {
		const char *close_bracket = strchr(text, ']');

		if (!close_bracket || close_bracket[1] != ':')
			return -EINVAL;
		host_start = text + 1;
		host_len = (size_t)(close_bracket - host_start);
		colon = close_bracket + 1;
	} else {
		colon = strrchr(text, ':');
		if (!colon)
			return -EINVAL;
		host_len = (size_t)(colon - text);
	}
	if (host_len >= host_size || !colon[1])
		return -EINVAL;
	memcpy(host, host_start, host_len);
	host[host_len] = '\0';
	*ret_port = colon + 1;
	return 0;
}

static int tcp_socket_open(const char *address)
{
	struct addrinfo hints = {
	    .ai_family = AF_UNSPEC,
	    .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_PASSIVE | AI_NUMERICSERV,
	};
	struct addrinfo *list = NULL;
	char host[256];
	const char *port;
	int r, fd = -1, one = 1;

	r = stream_address_split(address, host, sizeof(host), &port);
	if (r < 0) {
		log_error("invalid TLS listen address %s: expected HOST:PORT or [ADDRESS]:PORT",
			  address);
		return r;
	}
	r = getaddrinfo(host[0] ? host : NULL, port, &hints, &list);
	if (r != 0) {
		log_error("invalid TLS listen address %s: %s", address, gai_strerror(r));
		return -EINVAL;
	}
	r = -EADDRNOTAVAIL;
	for (struct addrinfo *ai = list; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			r = -errno;
			continue;
		}
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, LISTEN_BACKLOG) == 0)
			break;
		r = -errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(list);
	if (fd < 0) {
		log_error("failed to listen on %s: %s", address, strerror(-r));
		return r;
	}
	return fd;
}

static int tls_context_create(struct stream_server *s)
{
	const struct stream_options *o = &s->opts;
	STACK_OF(X509_NAME) * ca_names;

	if (!o->tls_cert || !o->tls_key || !o->tls_ca) {
		log_error("TLS needs a certificate, a key and a CA file");
		return -EINVAL;
	}
	s->ssl_ctx = SSL_CTX_new(TLS_server_method());
	if (!s->ssl_ctx)
		return -ENOMEM;
	ERR_clear_error();
	if (SSL_CTX_set_min_proto_version(s->ssl_ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_use_certificate_chain_file(s->ssl_ctx, o->tls_cert) != 1) {
		log_error("failed to load the TLS certificate %s: %s", o->tls_cert,
			  ssl_error_string());
		return -EPROTO;
	}
	if (SSL_CTX_use_PrivateKey_file(s->ssl_ctx, o->tls_key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(s->ssl_ctx) != 1) {
		log_error("failed to load the TLS key %s: %s", o->tls_key, ssl_error_string());
		return -EPROTO;
	}
	if (SSL_CTX_load_verify_locations(s->ssl_ctx, o->tls_ca, NULL) != 1) {
		log_error("failed to load the TLS CA file %s: %s", o->tls_ca, ssl_error_string());
		return -EPROTO;
	}
	ca_names = SSL_load_client_CA_file(o->tls_ca);
	if (ca_names)
		SSL_CTX_set_client_CA_list(s->ssl_ctx, ca_names);
	SSL_CTX_set_verify(s->ssl_ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	/* Subscribers do not resume sessions, so session tickets would be unused writes. */
	SSL_CTX_set_num_tickets(s->ssl_ctx, 0);
	SSL_CTX_set_mode(s->ssl_ctx,
			 SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return 0;
}

void stream_options_init(struct stream_options *o)
{
	memset(o, 0, sizeof(*o));
	o->listen_fd = -1;
	o->tls_listen_fd = -1;
	o->queue_frames_max = STREAM_QUEUE_FRAMES_DEFAULT;
	o->queue_bytes_max = STREAM_QUEUE_BYTES_DEFAULT;
	o->subscribers_max = STREAM_SUBSCRIBERS_DEFAULT;
	o->shutdown_timeout_usec = STREAM_SHUTDOWN_TIMEOUT_USEC_DEFAULT;
}

int stream_server_new(sd_event *loop, const struct stream_options *opts, struct stream_server **ret)
{
	struct stream_server *s;
	int r, fd;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->loop = sd_event_ref(loop);
	s->opts = *opts;
	s->unix_listener.fd = s->tls_listener.fd = -1;
	if (s->opts.queue_frames_max == 0)
		s->opts.queue_frames_max = STREAM_QUEUE_FRAMES_DEFAULT;
	/* Shutdown needs two free slots next to a partly sent frame. */
	if (s->opts.queue_frames_max < STREAM_QUEUE_FRAMES_MIN)
		s->opts.queue_frames_max = STREAM_QUEUE_FRAMES_MIN;
	if (s->opts.queue_bytes_max == 0)
		s->opts.queue_bytes_max = STREAM_QUEUE_BYTES_DEFAULT;
	if (s->opts.subscribers_max == 0)
		s->opts.subscribers_max = STREAM_SUBSCRIBERS_DEFAULT;
	s->socket_path =
	    strdup(s->opts.socket_path ? s->opts.socket_path : STREAM_SOCKET_PATH_DEFAULT);
	s->node = strdup(s->opts.node ? s->opts.node : "");
	s->boot_id = strdup(s->opts.boot_id ? s->opts.boot_id : "");
	if (!s->socket_path || !s->node || !s->boot_id) {
		r = -ENOMEM;
		goto fail;
	}
	/* The copies must not point into the caller's strings. */
	s->opts.socket_path = s->opts.node = s->opts.boot_id = NULL;
	s->opts.socket_group = s->opts.tls_listen = NULL;
	s->opts.tls_cert = s->opts.tls_key = s->opts.tls_ca = NULL;

	(void)signal(SIGPIPE, SIG_IGN);

	if (opts->listen_fd >= 0) {
		r = activated_socket_check(opts->listen_fd);
		if (r < 0) {
			log_error(
			    "the activated event socket (fd %d) is not a listening socket: %s",
			    opts->listen_fd, strerror(-r));
			goto fail;
		}
		fd = opts->listen_fd;
	} else {
		s->opts.socket_group = opts->socket_group;
		fd = unix_socket_open(s);
		s->opts.socket_group = NULL;
		if (fd < 0) {
			r = fd;
			goto fail;
		}
	}
	r = listener_start(s, &s->unix_listener, fd, false);
	if (r < 0)
		goto fail;

	if (opts->tls_listen || opts->tls_listen_fd >= 0) {
		s->opts.tls_cert = opts->tls_cert;
		s->opts.tls_key = opts->tls_key;
		s->opts.tls_ca = opts->tls_ca;
		r = tls_context_create(s);
		s->opts.tls_cert = s->opts.tls_key = s->opts.tls_ca = NULL;
		if (r < 0)
			goto fail;
		if (opts->tls_listen_fd >= 0) {
			r = activated_socket_check(opts->tls_listen_fd);
			if (r < 0) {
				log_error("the activated TLS socket (fd %d) is not a listening "
					  "socket: %s",
					  opts->tls_listen_fd, strerror(-r));
				goto fail;
			}
			fd = opts->tls_listen_fd;
		} else {
			fd = tcp_socket_open(opts->tls_listen);
			if (fd < 0) {
				r = fd;
				goto fail;
			}
		}
		r = listener_start(s, &s->tls_listener, fd, true);
		if (r < 0)
			goto fail;
	}
	*ret = s;
	return 0;

fail:
	stream_server_free(s);
	return r;
}

/*
 * Queues a subscriber's last frames, the pending loss notice and the stopping
 * notice, past the limits if need be: they must come after every queued event.
 * To keep the ring's size, the newest events make room and are counted lost.
 */
static void subscriber_queue_final(struct subscriber *sub, struct frame *stopping)
{
	size_t max = sub->server->opts.queue_frames_max;
	struct frame *notice;

	/* Keep a head frame that is partly sent: the peer has its first bytes. */
	while (max - sub->count < 2 && (sub->count > 1 || sub->head_offset == 0)) {
		size_t last = (sub->head + sub->count - 1) % max;

		sub->queued_bytes -= sub->queue[last]->size;
		frame_unref(sub->queue[last]);
		sub->count--;
		subscriber_count_lost(sub);
	}
	if (sub->lost_pending > 0 && lost_notice_new(sub, &notice) == 0) {
		subscriber_push(sub, notice);
		frame_unref(notice);
		sub->lost_pending = 0;
	}
	if (stopping)
		subscriber_push(sub, stopping);
}

static int status_stopping_new(struct stream_server *s, struct frame **ret)
{
	Intact__V1__Event ev = INTACT__V1__EVENT__INIT;
	Google__Protobuf__Timestamp time = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	Intact__V1__AgentStatus status = INTACT__V1__AGENT_STATUS__INIT;

	event_fill_header(s, &ev, &time);
	ev.seq = s->last_seq + 1;
	ev.event = "status";
	status.state = "stopping";
	status.message = "intactd is stopping";
	ev.body_case = INTACT__V1__EVENT__BODY_STATUS;
	ev.status = &status;
	return frame_new(&ev, ret);
}

int stream_server_shutdown(struct stream_server *s)
{
	struct subscriber *sub, *next;
	struct frame *stopping = NULL;
	uint64_t deadline;
	unsigned unfinished = 0;
	int r;

	if (!s || s->stopped)
		return 0;
	s->stopped = true;
	listener_stop(&s->unix_listener);
	listener_stop(&s->tls_listener);

	r = status_stopping_new(s, &stopping);
	if (r < 0)
		log_error("failed to pack the stopping notice: %s", strerror(-r));
	for (sub = s->subscribers; sub; sub = next) {
		next = sub->next;
		if (sub->handshaking) {
			subscriber_free(sub);
			continue;
		}
		subscriber_queue_final(sub, stopping);
	}
	frame_unref(stopping);

	/* The loop may be running us, so wait with poll() instead of dispatching. */
	deadline = now_usec(CLOCK_MONOTONIC) + s->opts.shutdown_timeout_usec;
	for (;;) {
		struct pollfd pfds[64];
		struct subscriber *subs[64];
		nfds_t n = 0;
		uint64_t now = now_usec(CLOCK_MONOTONIC);

		for (sub = s->subscribers; sub; sub = next) {
			next = sub->next;
			if (sub->count > 0 && subscriber_flush(sub) < 0) {
				subscriber_close(sub, "connection closed during shutdown");
				continue;
			}
			if (sub->count > 0 && n < 64) {
				subs[n] = sub;
				pfds[n].fd = sub->fd;
				pfds[n].events = sub->write_wants_read ? POLLIN : POLLOUT;
				n++;
			}
		}
		if (n == 0 || now >= deadline)
			break;
		if (poll(pfds, n, (int)((deadline - now + 999) / 1000)) < 0 && errno != EINTR)
			break;
		for (nfds_t i = 0; i < n; i++)
			if (pfds[i].revents & POLLIN && subs[i]->write_wants_read)
				subs[i]->write_wants_read = false;
	}

	for (sub = s->subscribers; sub; sub = next) {
		next = sub->next;
		if (sub->count > 0) {
			unfinished++;
			log_warning("subscriber %" PRIu64 " (%s) did not take its last %zu events "
				    "before shutdown",
				    sub->id, sub->peer, sub->count);
		}
		if (sub->ssl && sub->count == 0) {
			ERR_clear_error();
			(void)SSL_shutdown(sub->ssl);
		}
		subscriber_free(sub);
	}
	return unfinished > 0 ? -ETIMEDOUT : 0;
}

void stream_server_free(struct stream_server *s)
{
	struct stat st;

	if (!s)
		return;
	while (s->subscribers)
		subscriber_free(s->subscribers);
	listener_stop(&s->unix_listener);
	listener_stop(&s->tls_listener);
	/* Remove the socket file only if it is still the one this server bound. */
	if (s->socket_created && lstat(s->socket_path, &st) == 0 && st.st_dev == s->socket_dev &&
	    st.st_ino == s->socket_ino)
		(void)unlink(s->socket_path);
	SSL_CTX_free(s->ssl_ctx);
	sd_event_unref(s->loop);
	free(s->socket_path);
	free(s->node);
	free(s->boot_id);
	free(s);
}

void stream_server_get_counters(const struct stream_server *s, struct stream_counters *ret)
{
	*ret = s->counters;
}

size_t stream_server_get_subscribers(const struct stream_server *s,
				     struct stream_subscriber_info *ret, size_t max)
{
	size_t n = 0;

	for (const struct subscriber *sub = s->subscribers; sub; sub = sub->next, n++) {
		if (n >= max)
			continue;
		ret[n] = (struct stream_subscriber_info){
		    .id = sub->id,
		    .tls = sub->ssl != NULL,
		    .queued_frames = sub->count,
		    .queued_bytes = sub->queued_bytes,
		    .events_lost = sub->lost_total,
		};
		snprintf(ret[n].peer, sizeof(ret[n].peer), "%s", sub->peer);
	}
	return n;
}
