/* SPDX-License-Identifier: Apache-2.0 */
/*
 * intactd's configuration: every option, its built-in default, and the YAML
 * file that overrides the defaults (docs/configuration.md lists the keys).
 *
 * The loader reads the file with libyaml's event API. Its errors name the
 * file, line, column and key. It rejects unknown and duplicate keys, values
 * of the wrong type or out of range, relative paths, lists longer than their
 * maximum, files larger than CONFIG_FILE_MAX, and several documents. It also
 * rejects tags, anchors and aliases, so no alias expansion can blow up.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "policy.h"
#include "rules.h"

#define CONFIG_PATH_DEFAULT "/etc/intact/intactd.yaml"
/* Largest configuration file read, in bytes. */
#define CONFIG_FILE_MAX (1024 * 1024)
/* Maximum string value length in bytes, the terminating NUL excluded. */
#define CONFIG_STRING_MAX 4095
#define CONFIG_SHELLS_MAX 64
#define CONFIG_HOST_PATHS_MAX 16
#define CONFIG_OVERRIDES_MAX 256

#define CONFIG_RING_BUFFER_BYTES_DEFAULT (8u * 1024 * 1024)
#define CONFIG_TRUST_DIRECTORY_DEFAULT "/etc/intact/trust"
#define CONFIG_VERIFICATION_INTERVAL_SEC_DEFAULT 600
/*
 * An estimate, not a measurement: low enough that re-hashing image layers
 * does not starve the node's workloads of disk bandwidth.
 */
#define CONFIG_VERIFICATION_RATE_LIMIT_DEFAULT (64u * 1024 * 1024)
#define CONFIG_HEALTH_TIMEOUT_SEC_DEFAULT 10

/* The paths policy of one container: which files may change, which mounts are watched. */
struct config_policy {
	/* Paths of the root filesystem where writes are normal; first so that
	 * &policy->write can be passed to write_policy_forbids(). */
	struct write_policy write;
	/*
	 * Mount points, as paths inside the container, whose writes are
	 * reported like writes to the root filesystem. Volumes are not watched
	 * otherwise.
	 */
	const char *watched_mounts[POLICY_PATHS_MAX];
	size_t watched_mounts_count;
};

/*
 * One entry of policy.overrides. A container matches when every pattern
 * that is set matches (fnmatch(3), no flags, so '*' also matches '/').
 */
struct config_override {
	const char *image;     /* pattern on the image reference; NULL matches every image */
	const char *namespace; /* pattern on the Kubernetes namespace; NULL matches every one */
	/* The lists the file left out are copied from the top-level policy. */
	struct config_policy policy;
	bool writable_set; /* whether the file set the lists */
	bool watched_mounts_set;
	unsigned line; /* of the entry in the file, for messages */
};

/*
 * Every option of intactd. Strings and lists point either to static
 * defaults or to memory that config_free() releases, so a struct config
 * may be copied, but only one copy may be freed.
 */
struct config {
	/* The file the values came from; NULL when they are the built-in defaults. */
	const char *path;

	/* outputs */
	bool stdout_json;	  /* one JSON event per line on standard output */
	bool socket_enabled;	  /* serve the protobuf stream on a Unix socket */
	const char *socket_path;  /* never NULL */
	const char *socket_group; /* NULL: the process's group */
	uint64_t queue_frames;	  /* per-subscriber queue limits, see struct stream_options */
	uint64_t queue_bytes;
	uint64_t subscribers_max;
	const char *tls_listen; /* "host:port"; NULL for no TLS listener */
	const char *tls_cert;	/* set, with tls_key and tls_ca, when tls_listen is set */
	const char *tls_key;
	const char *tls_ca;

	/* verification of images against signatures */
	const char *trust_directory;
	uint64_t verification_interval_sec; /* 0: verify only when a container starts */
	uint64_t verification_rate_limit;   /* bytes hashed per second; 0: unlimited */

	/* rules */
	struct shell_list shells;

	/* policy */
	struct config_policy policy;
	struct config_override *overrides;
	size_t overrides_count;

	/* host */
	bool watch_host; /* true when host.watch is true or host.paths is not empty */
	const char *host_paths[CONFIG_HOST_PATHS_MAX];
	size_t host_paths_count;

	/* metrics */
	const char *metrics_address; /* "host:port"; NULL for no metrics server */
	uint64_t health_timeout_sec;

	enum log_level log_level;
	uint64_t ring_buffer_bytes; /* a power of two, 4096 to 1 GiB */
	const char *node_name;	    /* NULL: the host name */

	/* Every allocation the loader made, released by config_free(). */
	void **allocations;
	size_t allocations_count;
	size_t allocations_capacity;
};

/* The position, key and reason of a configuration error. */
struct config_error {
	char file[256];
	unsigned line;	 /* 1-based; 0 when the error concerns the whole file */
	unsigned column; /* 1-based; 0 when unknown */
	char key[256];	 /* "policy.overrides[1].match.image"; empty for the whole file */
	char message[512];
};

/* Fills ret with the built-in defaults; they need no config_free(). */
void config_defaults(struct config *ret);

/*
 * Loads path over the built-in defaults into *ret. path NULL means
 * CONFIG_PATH_DEFAULT, and when that file does not exist the result is the
 * defaults with ret->path NULL; a missing file named explicitly is an error.
 * Returns 0, or a negative errno and fills *err when err is not NULL:
 * -ENOENT and other open(2) and read(2) errors, -EFBIG for a file over
 * CONFIG_FILE_MAX, -EINVAL for a syntax or value error, -ENOMEM. On failure
 * *ret contains the defaults, and nothing needs freeing.
 */
int config_load(const char *path, struct config *ret, struct config_error *err);

/* Formats err as "FILE:LINE:COLUMN: KEY: MESSAGE", leaving out the parts it lacks. */
void config_error_format(const struct config_error *err, char *buf, size_t size);

/* Releases what config_load() allocated and resets c to the defaults. NULL is a no-op. */
void config_free(struct config *c);

/*
 * Returns the policy for a container: that of the first override whose
 * patterns match image and ns, else the top-level one. image or ns NULL
 * (unknown, or not a Kubernetes pod) matches only overrides that leave that
 * pattern out. The result lives as long as c.
 */
const struct config_policy *config_policy_for(const struct config *c, const char *image,
					      const char *ns);

/* Parses "error", "warning", "info" or "debug". Returns 0 or -EINVAL. */
int config_log_level_parse(const char *text, enum log_level *ret);
