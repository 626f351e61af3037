/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The metrics server: Prometheus text exposition format 0.0.4 on /metrics
 * and a health check on /healthz, served by libmicrohttpd from its own
 * thread. The daemon stays single-threaded: it fills a struct
 * metrics_snapshot from its own counters and hands it to metrics_update(),
 * for example from its 1 s timer, and the server thread renders the last
 * snapshot under a mutex.
 *
 * /healthz returns 200 "ok" when the last snapshot marked healthy arrived
 * at most health_timeout_sec seconds ago (CLOCK_MONOTONIC), else 503.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define METRICS_EVENT_SERIES_MAX 64
#define METRICS_VERDICTS_MAX 8
#define METRICS_CACHES_MAX 8
/* Maximum label value size, the NUL included; longer values are cut. */
#define METRICS_LABEL_MAX 64
#define METRICS_HEALTH_TIMEOUT_SEC_DEFAULT 10
/* Connections served at once; more wait in the listen backlog. */
#define METRICS_CONNECTIONS_MAX 16

struct metrics_event_series {
	char kind[METRICS_LABEL_MAX]; /* "exec", "file", "lost", ... */
	char rule[METRICS_LABEL_MAX]; /* "shell_in_container"; "" for events without a rule */
	uint64_t count;
};

struct metrics_named_value {
	char name[METRICS_LABEL_MAX];
	uint64_t value;
};

/*
 * Everything /metrics shows. Counters are totals since the daemon started;
 * the daemon keeps one snapshot as its running counters and passes it on.
 */
struct metrics_snapshot {
	bool healthy; /* the daemon's loop runs and its probes are attached */

	struct metrics_event_series events[METRICS_EVENT_SERIES_MAX];
	size_t events_count;
	uint64_t events_unlabeled; /* events beyond METRICS_EVENT_SERIES_MAX series */

	uint64_t records_read;	     /* ring buffer records */
	uint64_t records_invalid;    /* records that failed validation */
	uint64_t kernel_events_lost; /* records the kernel dropped: ring buffer full */

	uint64_t subscribers_connected; /* gauge */
	uint64_t subscribers_accepted;
	uint64_t subscribers_dropped;
	uint64_t subscribers_rejected;
	uint64_t subscriber_events_lost; /* summed over subscribers */

	uint64_t containers_tracked; /* gauge */
	uint64_t processes_tracked;  /* gauge */

	/* Image verification verdicts by outcome: "verified", "unsigned", "mismatch", ... */
	struct metrics_named_value verdicts[METRICS_VERDICTS_MAX];
	size_t verdicts_count;
	uint64_t hashed_bytes;

	/* Entries of each cache, by cache name: "containers", "layers", ... */
	struct metrics_named_value caches[METRICS_CACHES_MAX];
	size_t caches_count;
};

struct metrics_options {
	/* "host:port" or "[v6addr]:port"; an empty host means every address, port 0 any port. */
	const char *address;
	unsigned health_timeout_sec; /* 0 for METRICS_HEALTH_TIMEOUT_SEC_DEFAULT */
	const char *version;	     /* the build_info label */
};

struct metrics;

/*
 * Binds the address and starts the server thread, with every signal blocked
 * in it so that the daemon's signalfd sources still receive them. Returns 0
 * and sets *ret, or a negative errno: -EINVAL for a bad address, the
 * socket(2), bind(2) or listen(2) error, -EIO when libmicrohttpd fails to start.
 */
int metrics_server_new(const struct metrics_options *opts, struct metrics **ret);

/* The port the server listens on, useful after binding port 0. */
uint16_t metrics_server_port(const struct metrics *m);

/* Replaces the snapshot that /metrics shows; records the time when s->healthy. */
void metrics_update(struct metrics *m, const struct metrics_snapshot *s);

/* Stops the thread, closes the socket and frees m. NULL is a no-op. */
void metrics_server_free(struct metrics *m);

/*
 * Adds one event of kind and rule (NULL for none) to s. Events of a series
 * that does not fit are counted in events_unlabeled.
 */
void metrics_snapshot_event_count(struct metrics_snapshot *s, const char *kind, const char *rule);

/* Sets the value of the named entry of values (verdicts or caches), adding it when it fits. */
void metrics_named_value_set(struct metrics_named_value *values, size_t *count, size_t max,
			     const char *name, uint64_t value);

/* Adds delta to the named entry, adding it when it fits. */
void metrics_named_value_add(struct metrics_named_value *values, size_t *count, size_t max,
			     const char *name, uint64_t delta);

/*
 * Renders s in the text exposition format into a malloc'd string. Returns
 * 0 and sets *ret and *ret_len, or -ENOMEM.
 */
int metrics_render(const struct metrics_snapshot *s, const char *version, char **ret,
		   size_t *ret_len);
