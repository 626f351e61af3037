/* SPDX-License-Identifier: Apache-2.0 */
/* intactd's state, shared by the event handlers. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "container.h"
#include "metrics.h"
#include "probe.h"
#include "process.h"
#include "policy.h"
#include "rules.h"
#include "stream.h"

struct ring_buffer;
struct stream_server;
struct verifier;

struct daemon_stats {
	uint64_t records;	  /* ring buffer records read */
	uint64_t records_invalid; /* records that failed validation, skipped */
	uint64_t events_written;
	uint64_t kernel_lost_reported; /* ring-buffer-full count already reported */
	uint64_t file_records_allowed; /* file records the policy allowed: no event */
};

#define IMAGE_LAYERS_WATCHED_MAX 4096

/* A lower layer directory whose host writes the kernel reports. */
struct image_layer {
	uint32_t dev; /* kernel dev_t */
	uint64_t ino;
	char *path;
	sd_event_source *recheck; /* a pending recheck after a host write */
	struct daemon *daemon;
};

struct daemon {
	sd_event *loop;
	struct intact_bpf *skel;
	struct ring_buffer *ringbuf;
	struct probe_options probe_options;
	struct probe_host host;
	struct container_cache containers;
	struct process_table processes;
	struct config config; /* the running configuration, replaced on SIGHUP */
	const struct shell_list *shells;
	/* Host paths whose writes are reported, with --watch-host. */
	const char *host_paths[CONFIG_HOST_PATHS_MAX];
	size_t host_paths_count;
	struct metrics *metrics;   /* NULL when no metrics address is set */
	struct verifier *verifier; /* NULL when there is no trust directory */
	struct image_layer layers[IMAGE_LAYERS_WATCHED_MAX];
	size_t layer_count;
	struct metrics_snapshot metrics_snapshot; /* the running counters it serves */
	char node_name[256];
	char boot_id[37];	      /* random per start: events are named by (boot_id, seq) */
	uint64_t seq;		      /* of the last event sent */
	struct stream_server *stream; /* NULL when no socket is served */
	struct stream_options stream_options;
	bool no_socket;
	int64_t realtime_minus_boottime_ns;
	FILE *out;
	bool out_pending; /* events written to out since its last flush */
	bool journal;	  /* also log events that match a rule to the journal */
	struct daemon_stats stats;
};

/* Set a time source's next expiry and enable it for one more run. */
int timer_rearm(sd_event_source *s, uint64_t usec);

/*
 * Handle one ring buffer record. Always returns 0, because an error would
 * stop ring_buffer__consume(); a bad record is counted and skipped.
 */
int daemon_record_handle(void *ctx, void *data, size_t size);
