// SPDX-License-Identifier: Apache-2.0
/*
 * intactd: watches execs in containers through BPF programs and writes one
 * JSON event per line on stdout.
 */
#include <bpf/libbpf.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "event.h"
#include "exec.h"
#include "file.h"
#include "image.h"
#include "intact.skel.h"
#include "intact/events.h"
#include "log.h"
#include "metrics.h"
#include "privileges.h"
#include "stream.h"

#define STATS_INTERVAL_USEC (1000 * 1000)
#define INTACT_VERSION "0.1.0"

/* Command-line options; each one that is set overrides the configuration file. */
static struct cli {
	const char *config_path; /* NULL: CONFIG_PATH_DEFAULT, which may be missing */
	bool check_config;
	bool watch_host;
	const char *host_paths[CONFIG_HOST_PATHS_MAX];
	size_t host_paths_count;
	const char *socket_path;
	const char *socket_group;
	bool no_socket;
	const char *tls_listen;
	const char *tls_cert;
	const char *tls_key;
	const char *tls_ca;
	const char *metrics_address;
	const char *trust_dir;
	uint32_t ringbuf_bytes; /* 0: not set */
	const char *node_name;
	bool verbose;
} cli;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: intactd [OPTIONS]\n"
		"Watch execs and file writes in containers; write one JSON event per line on\n"
		"stdout and serve the same events as protobuf on a socket.\n\n"
		"  --config PATH          configuration file (default " CONFIG_PATH_DEFAULT ",\n"
		"                         built-in defaults when it is missing)\n"
		"  --check-config         validate the configuration and exit\n"
		"  --watch-host           also report processes outside containers\n"
		"  --host-path PATH       report host writes under PATH (repeatable; implies\n"
		"                         --watch-host)\n"
		"  --socket PATH          event stream socket (default /run/intact/events.sock)\n"
		"  --socket-group GROUP   group owning the socket, mode 0660\n"
		"  --no-socket            serve no event stream, print events only\n"
		"  --tls-listen HOST:PORT also serve the stream over TLS 1.3 (needs --tls-cert,\n"
		"                         --tls-key and --tls-ca; client certificates required)\n"
		"  --trust-dir DIR        verify images against DIR/keys/*.pem and\n"
		"                         DIR/manifests/ (default /etc/intact/trust)\n"
		"  --metrics-address HOST:PORT\n"
		"                         serve Prometheus metrics on /metrics and /healthz\n"
		"  --ringbuf-size BYTES   kernel ring buffer size, a power of two (default "
		"8388608)\n"
		"  --node-name NAME       node name in events (default: the host name)\n"
		"  -v, --verbose          log debug messages\n"
		"  -h, --help             show this help\n"
		"  --version              show the version\n"
		"Options given here override the configuration file.\n");
}

static int parse_size(const char *s, uint32_t *ret)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || v < 4096 || v > (1ull << 30) || (v & (v - 1)))
		return -EINVAL;
	*ret = (uint32_t)v;
	return 0;
}

static int cli_parse(int argc, char **argv, struct cli *ret)
{
	enum {
		OPT_CONFIG = 256,
		OPT_CHECK_CONFIG,
		OPT_WATCH_HOST,
		OPT_HOST_PATH,
		OPT_RINGBUF_SIZE,
		OPT_NODE_NAME,
		OPT_SOCKET,
		OPT_SOCKET_GROUP,
		OPT_NO_SOCKET,
		OPT_TLS_LISTEN,
		OPT_TLS_CERT,
		OPT_TLS_KEY,
		OPT_TLS_CA,
		OPT_METRICS_ADDRESS,
		OPT_TRUST_DIR,
		OPT_VERSION,
	};
	static const struct option options[] = {
	    {"config", required_argument, NULL, OPT_CONFIG},
	    {"check-config", no_argument, NULL, OPT_CHECK_CONFIG},
	    {"socket", required_argument, NULL, OPT_SOCKET},
	    {"socket-group", required_argument, NULL, OPT_SOCKET_GROUP},
	    {"no-socket", no_argument, NULL, OPT_NO_SOCKET},
	    {"tls-listen", required_argument, NULL, OPT_TLS_LISTEN},
	    {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
	    {"tls-key", required_argument, NULL, OPT_TLS_KEY},
	    {"tls-ca", required_argument, NULL, OPT_TLS_CA},
	    {"metrics-address", required_argument, NULL, OPT_METRICS_ADDRESS},
	    {"trust-dir", required_argument, NULL, OPT_TRUST_DIR},
	    {"watch-host", no_argument, NULL, OPT_WATCH_HOST},
	    {"host-path", required_argument, NULL, OPT_HOST_PATH},
	    {"ringbuf-size", required_argument, NULL, OPT_RINGBUF_SIZE},
	    {"node-name", required_argument, NULL, OPT_NODE_NAME},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, OPT_VERSION},
	    {},
	};
	int c;

	while ((c = getopt_long(argc, argv, "vh", options, NULL)) != -1) {
		switch (c) {
		case OPT_CONFIG:
			ret->config_path = optarg;
			break;
		case OPT_CHECK_CONFIG:
			ret->check_config = true;
			break;
		case OPT_WATCH_HOST:
			ret->watch_host = true;
			break;
		case OPT_SOCKET:
			ret->socket_path = optarg;
			break;
		case OPT_SOCKET_GROUP:
			ret->socket_group = optarg;
			break;
		case OPT_NO_SOCKET:
			ret->no_socket = true;
			break;
		case OPT_TLS_LISTEN:
			ret->tls_listen = optarg;
			break;
		case OPT_TLS_CERT:
			ret->tls_cert = optarg;
			break;
		case OPT_TLS_KEY:
			ret->tls_key = optarg;
			break;
		case OPT_TLS_CA:
			ret->tls_ca = optarg;
			break;
		case OPT_METRICS_ADDRESS:
			ret->metrics_address = optarg;
			break;
		case OPT_TRUST_DIR:
			ret->trust_dir = optarg;
			break;
		case OPT_HOST_PATH:
			if (optarg[0] != '/' || ret->host_paths_count >= CONFIG_HOST_PATHS_MAX) {
				log_error(
				    "invalid --host-path %s: expected an absolute path, at most "
				    "%d of them",
				    optarg, CONFIG_HOST_PATHS_MAX);
				return -EINVAL;
			}
			ret->host_paths[ret->host_paths_count++] = optarg;
			break;
		case OPT_RINGBUF_SIZE:
			if (parse_size(optarg, &ret->ringbuf_bytes) < 0) {
				log_error("invalid --ringbuf-size %s: expected a power of two "
					  "between 4096 and 1073741824 bytes",
					  optarg);
				return -EINVAL;
			}
			break;
		case OPT_NODE_NAME:
			ret->node_name = optarg;
			break;
		case 'v':
			ret->verbose = true;
			break;
		case 'h':
			usage(stdout);
			exit(EXIT_SUCCESS);
		case OPT_VERSION:
			printf("intactd %s\n", INTACT_VERSION);
			exit(EXIT_SUCCESS);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		log_error("unexpected argument: %s", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

/* Overwrite the configuration with what the command line set. */
static void cli_apply(const struct cli *options, struct config *cfg)
{
	if (options->watch_host)
		cfg->watch_host = true;
	if (options->host_paths_count > 0) {
		memcpy(cfg->host_paths, options->host_paths, sizeof(options->host_paths));
		cfg->host_paths_count = options->host_paths_count;
		cfg->watch_host = true;
	}
	if (options->socket_path)
		cfg->socket_path = options->socket_path;
	if (options->socket_group)
		cfg->socket_group = options->socket_group;
	if (options->no_socket)
		cfg->socket_enabled = false;
	if (options->tls_listen)
		cfg->tls_listen = options->tls_listen;
	if (options->tls_cert)
		cfg->tls_cert = options->tls_cert;
	if (options->tls_key)
		cfg->tls_key = options->tls_key;
	if (options->tls_ca)
		cfg->tls_ca = options->tls_ca;
	if (options->metrics_address)
		cfg->metrics_address = options->metrics_address;
	if (options->trust_dir)
		cfg->trust_directory = options->trust_dir;
	if (options->ringbuf_bytes)
		cfg->ring_buffer_bytes = options->ringbuf_bytes;
	if (options->node_name)
		cfg->node_name = options->node_name;
	if (options->verbose)
		cfg->log_level = LOG_LEVEL_DEBUG;
}

/*
 * Check what the configuration file cannot: values from the command line,
 * and whether named things exist, so that --check-config and the start agree.
 */
static int config_check_runtime(const struct config *cfg)
{
	size_t sun_path_size = sizeof(((struct sockaddr_un *)0)->sun_path);
	char host[256];
	const char *port;
	struct stat st;

	if (cfg->socket_enabled && strlen(cfg->socket_path) >= sun_path_size) {
		log_error("invalid socket path %s: longer than %zu bytes", cfg->socket_path,
			  sun_path_size - 1);
		return -EINVAL;
	}
	if (cfg->socket_enabled && cfg->socket_group && !getgrnam(cfg->socket_group)) {
		char *end;

		(void)strtoul(cfg->socket_group, &end, 10);
		if (*end || end == cfg->socket_group) {
			log_error("group %s of the event socket not found", cfg->socket_group);
			return -ENOENT;
		}
	}
	if (cfg->metrics_address &&
	    stream_address_split(cfg->metrics_address, host, sizeof(host), &port) < 0) {
		log_error("invalid metrics address %s: expected HOST:PORT or [ADDRESS]:PORT",
			  cfg->metrics_address);
		return -EINVAL;
	}
	if (cfg->trust_directory && stat(cfg->trust_directory, &st) == 0 && !S_ISDIR(st.st_mode)) {
		log_error("invalid trust directory %s: not a directory", cfg->trust_directory);
		return -ENOTDIR;
	}
	return 0;
}

/* Read the configuration file and the command line into cfg; log why when it fails. */
static int config_read(const struct cli *options, struct config *cfg)
{
	struct config_error err = {};
	char message[1024];
	int r;

	r = config_load(options->config_path, cfg, &err);
	if (r < 0) {
		config_error_format(&err, message, sizeof(message));
		log_error("invalid configuration: %s", message);
		return r;
	}
	cli_apply(options, cfg);
	r = config_check_runtime(cfg);
	if (r < 0) {
		config_free(cfg);
		return r;
	}
	return 0;
}

/* Settings that take effect at once, at start and on every reload. */
static void daemon_config_use(struct daemon *d, struct config *cfg)
{
	d->config = *cfg;
	d->shells = &d->config.shells;
	d->host_paths_count = d->config.host_paths_count;
	memcpy(d->host_paths, d->config.host_paths, sizeof(d->host_paths));
	log_max_level = d->config.log_level;
}

/* Settings read once, at start: the kernel side, sockets and listeners. */
static void daemon_config_start(struct daemon *d)
{
	const struct config *cfg = &d->config;

	d->probe_options.watch_host = cfg->watch_host;
	d->probe_options.ringbuf_bytes = (uint32_t)cfg->ring_buffer_bytes;
	stream_options_init(&d->stream_options);
	d->no_socket = !cfg->socket_enabled;
	d->stream_options.socket_path = cfg->socket_path;
	d->stream_options.socket_group = cfg->socket_group;
	d->stream_options.tls_listen = cfg->tls_listen;
	d->stream_options.tls_cert = cfg->tls_cert;
	d->stream_options.tls_key = cfg->tls_key;
	d->stream_options.tls_ca = cfg->tls_ca;
	if (cfg->queue_frames)
		d->stream_options.queue_frames_max = cfg->queue_frames;
	if (cfg->queue_bytes)
		d->stream_options.queue_bytes_max = cfg->queue_bytes;
	if (cfg->subscribers_max)
		d->stream_options.subscribers_max = (unsigned)cfg->subscribers_max;
	if (cfg->node_name)
		snprintf(d->node_name, sizeof(d->node_name), "%s", cfg->node_name);
	else if (gethostname(d->node_name, sizeof(d->node_name) - 1) < 0)
		snprintf(d->node_name, sizeof(d->node_name), "unknown");
}

int daemon_record_handle(void *ctx, void *data, size_t size)
{
	const struct intact_record_header *header = data;
	struct daemon *d = ctx;

	d->stats.records++;
	/* Returning an error would stop ring_buffer__consume(): skip bad records instead. */
	if (size < sizeof(*header) || header->size > size) {
		d->stats.records_invalid++;
		return 0;
	}
	switch (header->type) {
	case INTACT_RECORD_EXEC:
		if (size < sizeof(struct intact_exec))
			break;
		(void)exec_record_handle(d, data, size);
		return 0;
	case INTACT_RECORD_EXIT:
		if (size < sizeof(struct intact_exit))
			break;
		exit_record_handle(d, data);
		return 0;
	case INTACT_RECORD_FILE:
		if (size < sizeof(struct intact_file))
			break;
		(void)file_record_handle(d, data, size);
		return 0;
	case INTACT_RECORD_CGROUP_RMDIR:
		if (size < sizeof(struct intact_cgroup_rmdir))
			break;
		container_forget(&d->containers,
				 ((const struct intact_cgroup_rmdir *)data)->cgroup_id);
		return 0;
	default:
		break;
	}
	d->stats.records_invalid++;
	return 0;
}

/* Report records the kernel could not send, as an event and a log line. */
static void losses_report(struct daemon *d)
{
	/*
	 * A record is lost in the kernel when the ring buffer is full, and also
	 * when a syscall's arguments found no room until its exit or no scratch
	 * buffer was there to build the record: all are reported as one count.
	 */
	uint64_t lost = probe_counter_read(d->skel, INTACT_COUNTER_RINGBUF_FULL) +
			probe_counter_read(d->skel, INTACT_COUNTER_PENDING_FULL) +
			probe_counter_read(d->skel, INTACT_COUNTER_SCRATCH_MISSING);
	struct timespec ts;
	struct event ev;

	if (lost <= d->stats.kernel_lost_reported)
		return;
	log_warning("%" PRIu64 " records lost in the kernel ring buffer since the last report "
		    "(%" PRIu64 " in all): the buffer was full, or a syscall's arguments found no "
		    "room until its exit",
		    lost - d->stats.kernel_lost_reported, lost);
	clock_gettime(CLOCK_BOOTTIME, &ts);
	event_init(&ev, d, "lost", (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
	intact__v1__lost__init(&ev.lost);
	ev.lost.source = "kernel_ring_buffer";
	ev.lost.count = lost - d->stats.kernel_lost_reported;
	ev.lost.total = lost;
	ev.msg.body_case = INTACT__V1__EVENT__BODY_LOST;
	ev.msg.lost = &ev.lost;
	event_send(d, &ev);
	d->stats.kernel_lost_reported = lost;
}

static int on_ringbuf(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct daemon *d = userdata;
	int r;

	r = ring_buffer__consume(d->ringbuf);
	if (r < 0)
		log_error("failed to read the ring buffer: %s", strerror(-r));
	return 0;
}

/*
 * Flush the JSON output after each loop iteration that wrote events, so a
 * burst read from the ring buffer costs one write, not one per event.
 */
static int on_output_flush(sd_event_source *s, void *userdata)
{
	struct daemon *d = userdata;

	if (!d->out_pending)
		return 0;
	d->out_pending = false;
	if (fflush(d->out) != 0)
		log_error("failed to write events to standard output: %m");
	return 0;
}

/* Time sources fire once: set the next time and enable the source again. */
int timer_rearm(sd_event_source *s, uint64_t usec)
{
	int r = sd_event_source_set_time(s, usec);

	if (r < 0)
		return r;
	return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

/* Copy the counters into the metrics server's snapshot. */
static void metrics_refresh(struct daemon *d)
{
	struct metrics_snapshot *m = &d->metrics_snapshot;
	struct stream_counters sc = {};

	if (!d->metrics)
		return;
	m->healthy = true;
	m->records_read = d->stats.records;
	m->records_invalid = d->stats.records_invalid;
	m->kernel_events_lost = d->stats.kernel_lost_reported;
	if (d->stream)
		stream_server_get_counters(d->stream, &sc);
	m->subscribers_connected = sc.subscribers_connected;
	m->subscribers_accepted = sc.subscribers_accepted;
	m->subscribers_dropped = sc.subscribers_dropped;
	m->subscribers_rejected = sc.subscribers_rejected;
	m->subscriber_events_lost = sc.events_lost;
	m->containers_tracked = d->containers.table.count;
	m->processes_tracked = d->processes.table.count;
	metrics_named_value_set(m->caches, &m->caches_count, METRICS_CACHES_MAX, "containers",
				d->containers.table.count);
	metrics_named_value_set(m->caches, &m->caches_count, METRICS_CACHES_MAX, "processes",
				d->processes.table.count);
	metrics_update(d->metrics, m);
}

static int on_stats_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct daemon *d = userdata;

	losses_report(d);
	metrics_refresh(d);
	return timer_rearm(s, usec + STATS_INTERVAL_USEC);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct daemon *d = userdata;

	log_info("received %s, draining the ring buffer and stopping", strsignal(si->ssi_signo));
	(void)sd_notify(0, "STOPPING=1\nSTATUS=Draining the ring buffer and the subscribers");
	(void)ring_buffer__consume(d->ringbuf);
	losses_report(d);
	return sd_event_exit(sd_event_source_get_event(s), 0);
}

/*
 * Reload the configuration: a valid file replaces the rules and policies at
 * once; an invalid one is rejected and the running configuration stays.
 * Events keep flowing meanwhile: this runs between two ring buffer reads.
 */
static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct daemon *d = userdata;
	struct config next, old;

	(void)sd_notify(0, "RELOADING=1\nSTATUS=Reloading the configuration");
	if (config_read(&cli, &next) < 0) {
		log_error("configuration reload rejected; the running configuration stays");
		(void)sd_notify(0, "READY=1\nSTATUS=Watching; the last reload was rejected");
		return 0;
	}
	old = d->config;
	daemon_config_use(d, &next);
	config_free(&old);
	if (probe_policy_set(d->skel, &d->config) < 0)
		log_error("the kernel keeps the writable paths of the previous configuration");
	image_verification_reload(d);
	log_info("configuration reloaded from %s; the socket, TLS, metrics, ring buffer and "
		 "host watching settings apply at the next start",
		 d->config.path ? d->config.path : "built-in defaults");
	(void)sd_notify(0, "READY=1\nSTATUS=Watching execs and file writes");
	return 0;
}

static int realtime_offset(int64_t *ret)
{
	struct timespec real, boot;

	if (clock_gettime(CLOCK_REALTIME, &real) < 0 || clock_gettime(CLOCK_BOOTTIME, &boot) < 0)
		return -errno;
	*ret = ((int64_t)real.tv_sec - boot.tv_sec) * 1000000000 + (real.tv_nsec - boot.tv_nsec);
	return 0;
}

/* Take the event sockets systemd passed (socket activation), when it did. */
static int stream_socket_activated(struct stream_options *opts)
{
	int n = sd_listen_fds(1);

	if (n < 0) {
		log_error("failed to read the sockets passed by systemd: %s", strerror(-n));
		return n;
	}
	for (int fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + n; fd++) {
		if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) > 0) {
			opts->listen_fd = fd;
			log_info("serving events on the Unix socket passed by systemd");
		} else if (sd_is_socket_inet(fd, AF_UNSPEC, SOCK_STREAM, 1, 0) > 0) {
			opts->tls_listen_fd = fd;
			log_info("serving events over TLS on the TCP socket passed by systemd");
		} else {
			log_warning("ignoring socket %d passed by systemd: not a listening stream "
				    "socket",
				    fd);
		}
	}
	return 0;
}

/* A random id for this start of the agent, in the kernel's UUID text form. */
static int boot_id_generate(char *buf, size_t size)
{
	FILE *f = fopen("/proc/sys/kernel/random/uuid", "re");
	int r = 0;

	if (!f)
		return -errno;
	if (!fgets(buf, (int)size, f))
		r = -EIO;
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return r;
}

static int daemon_setup(struct daemon *d)
{
	uint64_t now;
	sigset_t mask;
	int r;

	r = realtime_offset(&d->realtime_minus_boottime_ns);
	if (r < 0)
		return r;
	d->out = stdout;
	/* systemd sets JOURNAL_STREAM when standard error goes to the journal. */
	d->journal = getenv("JOURNAL_STREAM") != NULL;
	r = boot_id_generate(d->boot_id, sizeof(d->boot_id));
	if (r < 0) {
		log_error("failed to generate a boot id: %s", strerror(-r));
		return r;
	}

	r = probe_host_prepare(&d->host);
	if (r < 0)
		return r;
	r = container_cache_init(&d->containers, d->host.cgroup_v1_controller);
	if (r < 0)
		return r;
	r = process_table_init(&d->processes);
	if (r < 0)
		return r;
	r = probe_load(&d->probe_options, &d->host, &d->skel);
	if (r < 0)
		return r;
	r = probe_policy_set(d->skel, &d->config);
	if (r < 0)
		return r;

	d->ringbuf =
	    ring_buffer__new(bpf_map__fd(d->skel->maps.events), daemon_record_handle, d, NULL);
	if (!d->ringbuf) {
		r = -errno;
		log_error("failed to open the ring buffer: %s", strerror(-r));
		return r;
	}

	r = sd_event_default(&d->loop);
	if (r < 0)
		return r;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	r = sd_event_add_signal(d->loop, NULL, SIGINT, on_signal, d);
	if (r < 0)
		return r;
	r = sd_event_add_signal(d->loop, NULL, SIGTERM, on_signal, d);
	if (r < 0)
		return r;
	r = sd_event_add_signal(d->loop, NULL, SIGHUP, on_sighup, d);
	if (r < 0)
		return r;
	/* Sends WATCHDOG=1 on time when the service manager set WATCHDOG_USEC. */
	r = sd_event_set_watchdog(d->loop, true);
	if (r < 0)
		return r;
	if (!d->no_socket) {
		d->stream_options.node = d->node_name;
		d->stream_options.boot_id = d->boot_id;
		r = stream_socket_activated(&d->stream_options);
		if (r < 0)
			return r;
		r = stream_server_new(d->loop, &d->stream_options, &d->stream);
		if (r < 0)
			return r;
	}
	/* Before any thread starts, so that every thread runs with what is left. */
	r = privileges_drop(true);
	if (r < 0)
		return r;
	r = image_verification_start(d);
	if (r < 0)
		return r;
	r = privileges_drop(false);
	if (r < 0)
		return r;
	log_info("dropped every capability but CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH, and "
		 "CAP_SYS_ADMIN in the image verifier's thread");
	if (d->config.metrics_address) {
		struct metrics_options mo = {
		    .address = d->config.metrics_address,
		    .health_timeout_sec = (unsigned)d->config.health_timeout_sec,
		    .version = INTACT_VERSION,
		};

		r = metrics_server_new(&mo, &d->metrics);
		if (r < 0)
			return r;
		log_info("serving metrics on http://%s/metrics", d->config.metrics_address);
	}
	r = sd_event_add_post(d->loop, NULL, on_output_flush, d);
	if (r < 0)
		return r;
	r = sd_event_add_io(d->loop, NULL, ring_buffer__epoll_fd(d->ringbuf), EPOLLIN, on_ringbuf,
			    d);
	if (r < 0)
		return r;
	r = sd_event_now(d->loop, CLOCK_MONOTONIC, &now);
	if (r < 0)
		return r;
	return sd_event_add_time(d->loop, NULL, CLOCK_MONOTONIC, now + STATS_INTERVAL_USEC, 0,
				 on_stats_timer, d);
}

static void daemon_teardown(struct daemon *d)
{
	image_verification_stop(d);
	metrics_server_free(d->metrics);
	stream_server_free(d->stream);
	sd_event_unref(d->loop);
	ring_buffer__free(d->ringbuf);
	if (d->skel)
		probe_unload(d->skel);
	process_table_free(&d->processes);
	container_cache_free(&d->containers);
	config_free(&d->config);
}

int main(int argc, char **argv)
{
	struct daemon d = {};
	struct config cfg;
	int r;

	log_set_program("intactd");
	if (cli_parse(argc, argv, &cli) < 0)
		return EXIT_FAILURE;
	if (config_read(&cli, &cfg) < 0)
		return EXIT_FAILURE;
	if (cli.check_config) {
		struct stat st;

		if (cfg.trust_directory && stat(cfg.trust_directory, &st) < 0)
			log_warning("trust directory %s not found: images will not be verified",
				    cfg.trust_directory);
		printf("configuration OK: %s\n", cfg.path ? cfg.path : "built-in defaults");
		config_free(&cfg);
		return EXIT_SUCCESS;
	}
	daemon_config_use(&d, &cfg);
	daemon_config_start(&d);
	(void)sd_notify(0, "STATUS=Loading the BPF programs");

	r = daemon_setup(&d);
	if (r < 0) {
		log_error("failed to start: %s", strerror(-r));
		daemon_teardown(&d);
		return EXIT_FAILURE;
	}
	log_info("ready: BPF programs attached, watching %s",
		 d.probe_options.watch_host ? "containers and the host" : "containers");
	image_verification_discover(&d);
	metrics_refresh(&d);
	(void)sd_notify(0, "READY=1\nSTATUS=Watching execs and file writes");

	r = sd_event_loop(d.loop);
	if (r < 0)
		log_error("event loop failed: %s", strerror(-r));
	(void)sd_notify(0, "STOPPING=1");
	(void)fflush(d.out);
	if (d.stream && stream_server_shutdown(d.stream) < 0)
		log_warning("some subscribers did not take all their events before the shutdown "
			    "timeout");
	log_info("stopped: %" PRIu64 " records read, %" PRIu64 " invalid, %" PRIu64
		 " events written",
		 d.stats.records, d.stats.records_invalid, d.stats.events_written);
	if (d.skel)
		log_info("kernel side: %" PRIu64 " execs seen, %" PRIu64 " filtered; %" PRIu64
			 " file syscalls seen, %" PRIu64 " filtered, %" PRIu64 " allowed, %" PRIu64
			 " sent; %" PRIu64 " records lost, %" PRIu64
			 " without room until their exit",
			 probe_counter_read(d.skel, INTACT_COUNTER_EXEC_SEEN),
			 probe_counter_read(d.skel, INTACT_COUNTER_EXEC_FILTERED),
			 probe_counter_read(d.skel, INTACT_COUNTER_FILE_SEEN),
			 probe_counter_read(d.skel, INTACT_COUNTER_FILE_FILTERED),
			 probe_counter_read(d.skel, INTACT_COUNTER_FILE_ALLOWED),
			 probe_counter_read(d.skel, INTACT_COUNTER_FILE_SENT),
			 probe_counter_read(d.skel, INTACT_COUNTER_RINGBUF_FULL),
			 probe_counter_read(d.skel, INTACT_COUNTER_PENDING_FULL));
	daemon_teardown(&d);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
