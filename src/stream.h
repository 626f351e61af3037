/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The event server: sends each Event as a length-delimited protobuf frame
 * (see framing.h) to every subscriber of a Unix socket and, optionally, of a
 * TCP port with TLS 1.3 and required client certificates. It runs on the
 * daemon's sd-event loop and never blocks on a subscriber. Each subscriber has
 * a bounded queue. Events that do not fit are counted, and once the queue has
 * room again the subscriber receives an in-band "lost" event with the count.
 *
 * A subscriber may send one SubscribeRequest frame at any time after
 * connecting. A frame longer than STREAM_REQUEST_MAX, one that does not
 * unpack, or more than STREAM_TRAILING_BYTES_MAX bytes after the request get
 * the subscriber dropped. Events of kind "lost" and "status" pass every filter.
 *
 * stream_server_new() sets SIGPIPE to ignored, since OpenSSL writes to
 * sockets with write(), which raises it when a subscriber has gone.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "intact/v1/event.pb-c.h"

#define STREAM_SOCKET_PATH_DEFAULT "/run/intact/events.sock"
#define STREAM_QUEUE_FRAMES_DEFAULT 4096
#define STREAM_QUEUE_FRAMES_MIN 4
#define STREAM_QUEUE_BYTES_DEFAULT (8u * 1024 * 1024)
#define STREAM_SUBSCRIBERS_DEFAULT 64
#define STREAM_SHUTDOWN_TIMEOUT_USEC_DEFAULT (1000 * 1000)
#define STREAM_HANDSHAKE_TIMEOUT_USEC (10 * 1000 * 1000)
/* Largest SubscribeRequest frame payload a subscriber may send. */
#define STREAM_REQUEST_MAX 4096
/* Bytes a subscriber may send after its SubscribeRequest before it is dropped. */
#define STREAM_TRAILING_BYTES_MAX 64
/* Largest event the server packs; larger events are not sent, and are counted as lost. */
#define STREAM_EVENT_MAX (16u * 1024 * 1024)

struct stream_options {
	/* Unix socket to create; NULL for STREAM_SOCKET_PATH_DEFAULT. */
	const char *socket_path;
	/* A listening Unix socket from socket activation, used in place of socket_path; -1 for
	 * none. */
	int listen_fd;
	/* Group, by name or number, that owns the socket (mode 0660); NULL keeps the process's. */
	const char *socket_group;
	/* TCP address "host:port" or "[v6addr]:port" for TLS; NULL for no TCP. */
	const char *tls_listen;
	/* A listening TCP socket from socket activation, used in place of tls_listen; -1 for none.
	 */
	int tls_listen_fd;
	/* PEM files: server certificate chain, its key, and the CA that signs client certificates.
	 */
	const char *tls_cert;
	const char *tls_key;
	const char *tls_ca;
	/* Per-subscriber queue limits: a frame is dropped when either is reached (frames >= 4). */
	size_t queue_frames_max;
	size_t queue_bytes_max;
	/* Connections beyond this are closed at once. */
	unsigned subscribers_max;
	/* How long stream_server_shutdown() tries to deliver the queues. */
	uint64_t shutdown_timeout_usec;
	/* Copied into the events that the server makes itself ("lost", "status"). */
	const char *node;
	const char *boot_id;
};

struct stream_counters {
	/* Subscribers connected now, TLS handshakes included. */
	uint64_t subscribers_connected;
	uint64_t subscribers_accepted;
	/* Dropped for bad input: oversized or malformed frames, or trailing bytes. */
	uint64_t subscribers_dropped;
	/* Closed at connection: over subscribers_max, or a failed TLS handshake. */
	uint64_t subscribers_rejected;
	/* Events not queued for some subscriber, summed over subscribers. */
	uint64_t events_lost;
};

struct stream_subscriber_info {
	uint64_t id;
	/* "pid 123 uid 0" for the Unix socket, "address:port" for TCP. */
	char peer[64];
	bool tls;
	size_t queued_frames;
	size_t queued_bytes;
	uint64_t events_lost;
};

struct stream_server;

/* Fills o with the defaults, no TLS and no activated sockets. */
void stream_options_init(struct stream_options *o);

/*
 * Creates the server and starts listening. Returns 0 and sets *ret, or a
 * negative errno: -EEXIST when socket_path exists and is not a socket,
 * -EADDRINUSE when another process listens on it, -EINVAL for bad options,
 * -EPROTO when OpenSSL rejects the TLS files. The reason is logged.
 */
int stream_server_new(sd_event *loop, const struct stream_options *opts,
		      struct stream_server **ret);

/* Queues ev for every subscriber whose filter it passes; packs it once. */
void stream_publish(struct stream_server *s, const Intact__V1__Event *ev);

/*
 * Stops accepting, sends each subscriber a "status" event with state
 * "stopping" after its queue, and tries for up to shutdown_timeout_usec to
 * deliver everything, then closes every connection. Returns 0, or
 * -ETIMEDOUT when some subscriber did not take all of its queue. Publishing
 * afterwards does nothing. Call it outside of sd-event callbacks or inside:
 * it does not run the loop.
 */
int stream_server_shutdown(struct stream_server *s);

/* Closes everything, removes the socket file the server created, and frees s. NULL is a no-op. */
void stream_server_free(struct stream_server *s);

void stream_server_get_counters(const struct stream_server *s, struct stream_counters *ret);

/* Fills up to max entries of ret and returns the number of subscribers. */
size_t stream_server_get_subscribers(const struct stream_server *s,
				     struct stream_subscriber_info *ret, size_t max);

/*
 * Splits "host:port" or "[v6addr]:port" into host (an empty host means every
 * address) and *ret_port, which points into text. Returns 0 or -EINVAL.
 */
int stream_address_split(const char *text, char *host, size_t host_size, const char **ret_port);
