// SPDX-License-Identifier: Apache-2.0
/* intactctl: the companion tool of intactd. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "framing.h"
#include "intact/v1/event.pb-c.h"
#include "intact/v1/subscribe.pb-c.h"
#include "layer_digest.h"
#include "log.h"
#include "manifest.h"
#include "oci_layout.h"
#include "pbjson.h"
#include "stream.h"

#define INTACT_VERSION "0.1.0"
#define READ_CHUNK (64 * 1024)

struct events_options {
	const char *socket_path;
	const char *tls_address;
	const char *cert, *key, *ca;
	bool json;
	bool rules_only;
	const char *container_id;
	const char *pod_namespace;
};

/* A connection to intactd: a plain socket, or TLS on top of it. */
struct connection {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: intactctl COMMAND [OPTIONS]\n\n"
		"Commands:\n"
		"  events    print the events of a running intactd, one per line\n"
		"  seal      write a signed manifest of an image in an OCI layout\n"
		"  verify    check a signed manifest, and layer directories against it\n"
		"  version   print the version\n"
		"  help      show this help\n\n"
		"Options of events:\n"
		"  --socket PATH       intactd's event socket (default " STREAM_SOCKET_PATH_DEFAULT
		")\n"
		"  --json              print each event as proto3 JSON\n"
		"  --rules-only        only events that matched a rule\n"
		"  --container ID      only events of this container (full id or a prefix)\n"
		"  --namespace NS      only events of pods in this Kubernetes namespace\n"
		"  --tls HOST:PORT     connect over TLS 1.3 instead of the Unix socket\n"
		"  --cert FILE         client certificate (PEM) for --tls\n"
		"  --key FILE          client key (PEM) for --tls\n"
		"  --ca FILE           CA certificates (PEM) that sign intactd's certificate\n\n"
		"events exits with 0 when intactd stops, and with 1 when the connection\n"
		"fails or ends without intactd's stopping notice.\n\n"
		"intactctl seal --key KEY.pem --output FILE [--name IMAGE] OCI_LAYOUT[:TAG]\n"
		"  Reads the image tagged TAG (default: the first image) from the OCI layout,\n"
		"  checks every blob against its digest, and writes the manifest FILE and its\n"
		"  signature FILE.sig. KEY.pem is an ECDSA P-256 or Ed25519 private key.\n"
		"  --name sets the image name that intactd matches (default: the layout's\n"
		"  io.containerd.image.name or org.opencontainers.image.ref.name annotation).\n\n"
		"intactctl verify --key PUB.pem MANIFEST [DIR...] [--layer N=DIR...]\n"
		"  Checks MANIFEST.sig with the public key PUB.pem, then compares each DIR with\n"
		"  the manifest's layers in order, bottom-most (0) first, or layer N with DIR.\n"
		"  DIR is a layer as an overlay snapshotter unpacked it. Exits with 0 only\n"
		"  when the signature is valid and every directory matches its layer.\n");
}

static int unix_connect(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		log_error("invalid socket path %s: longer than %zu bytes", path,
			  sizeof(addr.sun_path) - 1);
		return -EINVAL;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
		return fd;

	if (errno == ENOENT)
		log_error("event socket %s not found: is intactd running? (use --socket PATH for "
			  "another path)",
			  path);
	else if (errno == ECONNREFUSED)
		log_error("connection to %s refused: is intactd running?", path);
	else if (errno == EACCES)
		log_error("permission denied on %s: run as root or as a member of the socket's "
			  "group",
			  path);
	else
		log_error("failed to connect to %s: %s", path, strerror(errno));
	close(fd);
	return -ECONNREFUSED;
}

static int tcp_connect(const char *host, const char *port, const char *address)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *list = NULL;
	int r, fd = -1, e = ECONNREFUSED;

	r = getaddrinfo(host, port, &hints, &list);
	if (r != 0) {
		log_error("failed to resolve %s: %s", address, gai_strerror(r));
		return -EINVAL;
	}
	for (struct addrinfo *ai = list; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		e = errno;
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(list);
	if (fd < 0) {
		log_error("failed to connect to %s: %s: is intactd listening with TLS there?",
			  address, strerror(e));
		return -e;
	}
	return fd;
}

static const char *ssl_error_string(void)
{
	static char text[256];
	unsigned long e = ERR_peek_last_error();

	if (!e)
		return "connection closed";
	ERR_error_string_n(e, text, sizeof(text));
	return text;
}

static int tls_connect(struct connection *c, const struct events_options *o)
{
	char host[256];
	const char *port;
	int r;

	if (!o->cert || !o->key || !o->ca) {
		log_error("--tls needs --cert, --key and --ca");
		return -EINVAL;
	}
	r = stream_address_split(o->tls_address, host, sizeof(host), &port);
	if (r < 0 || !host[0]) {
		log_error("invalid address %s: expected HOST:PORT or [ADDRESS]:PORT",
			  o->tls_address);
		return -EINVAL;
	}
	c->ctx = SSL_CTX_new(TLS_client_method());
	if (!c->ctx)
		return -ENOMEM;
	SSL_CTX_set_min_proto_version(c->ctx, TLS1_3_VERSION);
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(c->ctx, o->ca, NULL) != 1) {
		log_error("failed to load the CA file %s: %s", o->ca, ssl_error_string());
		return -EINVAL;
	}
	if (SSL_CTX_use_certificate_chain_file(c->ctx, o->cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(c->ctx, o->key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(c->ctx) != 1) {
		log_error("failed to load the client certificate %s and key %s: %s", o->cert,
			  o->key, ssl_error_string());
		return -EINVAL;
	}

	c->fd = tcp_connect(host, port, o->tls_address);
	if (c->fd < 0)
		return c->fd;
	c->ssl = SSL_new(c->ctx);
	if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1)
		return -ENOMEM;
	/* OpenSSL 3 checks an IP address against the certificate's IP names, and a name against DNS
	 * names. */
	if (SSL_set1_host(c->ssl, host) != 1)
		return -ENOMEM;
	(void)SSL_set_tlsext_host_name(c->ssl, host);
	ERR_clear_error();
	if (SSL_connect(c->ssl) != 1) {
		log_error("TLS handshake with %s failed: %s", o->tls_address, ssl_error_string());
		return -ECONNREFUSED;
	}
	return 0;
}

static void connection_close(struct connection *c)
{
	SSL_free(c->ssl);
	SSL_CTX_free(c->ctx);
	if (c->fd >= 0)
		close(c->fd);
}

static int connection_write(struct connection *c, const uint8_t *data, size_t len)
{
	while (len > 0) {
		ssize_t n;

		if (c->ssl) {
			int k = SSL_write(c->ssl, data, len > INT_MAX ? INT_MAX : (int)len);

			if (k <= 0)
				return -ECONNRESET;
			n = k;
		} else {
			n = send(c->fd, data, len, MSG_NOSIGNAL);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return -errno;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Returns the bytes read, 0 at the end of the stream, or a negative errno. */
static ssize_t connection_read(struct connection *c, uint8_t *buffer, size_t size)
{
	if (c->ssl) {
		int k;

		ERR_clear_error();
		k = SSL_read(c->ssl, buffer, (int)size);
		if (k > 0)
			return k;
		if (SSL_get_error(c->ssl, k) == SSL_ERROR_ZERO_RETURN)
			return 0;
		log_error("TLS connection failed: %s", ssl_error_string());
		return -ECONNRESET;
	}
	for (;;) {
		ssize_t n = read(c->fd, buffer, size);

		if (n >= 0)
			return n;
		if (errno != EINTR)
			return -errno;
	}
}

/*
 * Prints s for a terminal: control characters, including the C1 range that
 * some terminals act on, become \xNN escapes. Other bytes pass unchanged.
 */
static void text_print(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	for (; *p; p++) {
		if (*p < 0x20 || *p == 0x7f || *p == '\\')
			fprintf(f, "\\x%02x", *p);
		else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			fprintf(f, "\\xc2\\x%02x", *++p);
		else
			fputc(*p, f);
	}
}

/* Prints an argument, quoted when it is empty or contains a space. */
static void arg_print(FILE *f, const char *s)
{
	bool quote = !s || !*s || strpbrk(s, " \t'\"") != NULL;

	if (quote)
		fputc('\'', f);
	text_print(f, s);
	if (quote)
		fputc('\'', f);
}

static void time_print(FILE *f, const Google__Protobuf__Timestamp *ts)
{
	struct tm tm;
	time_t t;

	if (!ts) {
		fputs("-", f);
		return;
	}
	t = (time_t)ts->seconds;
	if (!gmtime_r(&t, &tm) || ts->nanos < 0 || ts->nanos > 999999999) {
		fputs("invalid-time", f);
		return;
	}
	fprintf(f, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ts->nanos / 1000000));
}

/* Prints the event's place: namespace/pod/container, a container id, or "host". */
static void place_print(FILE *f, const Intact__V1__Event *ev)
{
	const Intact__V1__Container *c = ev->container;

	if (c && c->pod && c->pod->name && c->pod->name[0]) {
		text_print(f, c->pod->namespace_);
		fputc('/', f);
		text_print(f, c->pod->name);
		if (c->name && c->name[0]) {
			fputc('/', f);
			text_print(f, c->name);
		}
	} else if (c && c->id && c->id[0]) {
		for (size_t i = 0; c->id[i] && i < 12; i++)
			fputc(c->id[i] >= 0x21 && c->id[i] < 0x7f ? c->id[i] : '?', f);
	} else {
		fputs(ev->host ? "host" : "-", f);
	}
}

static void process_print(FILE *f, const Intact__V1__Process *p)
{
	if (!p)
		return;
	fprintf(f, " pid=%" PRIu32 " ", p->pid);
	arg_print(f, p->exe && p->exe[0] ? p->exe : p->filename);
	if (p->n_args > 1) {
		fputs(" [", f);
		for (size_t i = 1; i < p->n_args; i++) {
			if (i > 1)
				fputc(' ', f);
			arg_print(f, p->args[i]);
		}
		if (p->args_truncated)
			fputs(" ...", f);
		fputc(']', f);
	}
}

static void event_print(FILE *f, const Intact__V1__Event *ev)
{
	time_print(f, ev->time);
	fputc(' ', f);
	text_print(f, ev->node && ev->node[0] ? ev->node : "-");
	fputc(' ', f);
	place_print(f, ev);
	fputc(' ', f);
	text_print(f, ev->event && ev->event[0] ? ev->event : "?");
	if (ev->n_rules > 0) {
		fputs(" rules=", f);
		for (size_t i = 0; i < ev->n_rules; i++) {
			if (i > 0)
				fputc(',', f);
			text_print(f, ev->rules[i]);
		}
	}

	switch (ev->body_case) {
	case INTACT__V1__EVENT__BODY_FILE:
		fputs(" ", f);
		text_print(f, ev->file->op);
		fputc(' ', f);
		arg_print(f, ev->file->path);
		if (ev->file->target && ev->file->target[0]) {
			fputs(" -> ", f);
			arg_print(f, ev->file->target);
		}
		process_print(f, ev->process);
		break;
	case INTACT__V1__EVENT__BODY_IMAGE: {
		const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
		    &intact__v1__verdict__descriptor, ev->image->verdict);

		fprintf(f, " %s ", v ? v->name : "VERDICT_UNKNOWN");
		text_print(f, ev->image->image);
		break;
	}
	case INTACT__V1__EVENT__BODY_STATUS:
		fputc(' ', f);
		text_print(f, ev->status->state);
		if (ev->status->message && ev->status->message[0]) {
			fputs(": ", f);
			text_print(f, ev->status->message);
		}
		break;
	case INTACT__V1__EVENT__BODY_LOST:
		fputs(" source=", f);
		text_print(f, ev->lost->source);
		fprintf(f, " count=%" PRIu64 " total=%" PRIu64, ev->lost->count, ev->lost->total);
		break;
	default:
		process_print(f, ev->process);
		break;
	}
	fputc('\n', f);
}

static int request_send(struct connection *c, const struct events_options *o)
{
	Intact__V1__SubscribeRequest req = INTACT__V1__SUBSCRIBE_REQUEST__INIT;
	uint8_t *frame;
	size_t len;
	int r;

	if (!o->rules_only && !o->container_id && !o->pod_namespace)
		return 0;
	req.rules_only = o->rules_only;
	req.container_id = (char *)(o->container_id ? o->container_id : "");
	req.pod_namespace = (char *)(o->pod_namespace ? o->pod_namespace : "");
	r = frame_pack(&req.base, STREAM_REQUEST_MAX, &frame, &len);
	if (r < 0) {
		log_error("the filter is too long: a request has at most %d bytes",
			  STREAM_REQUEST_MAX);
		return r;
	}
	r = connection_write(c, frame, len);
	free(frame);
	if (r < 0)
		log_error("failed to send the subscription request: %s", strerror(-r));
	return r;
}

/* Prints one received event. Returns 1 for the stopping notice, 0 for others, or -errno. */
static int payload_handle(const uint8_t *payload, size_t len, const struct events_options *o)
{
	Intact__V1__Event *ev = intact__v1__event__unpack(NULL, len, payload);
	int r = 0;

	if (!ev) {
		log_error("received an invalid event (%zu bytes) from intactd", len);
		return -EBADMSG;
	}
	if (o->json) {
		r = pbjson_fprint_line(stdout, &ev->base);
		if (r < 0)
			log_error("failed to print event %" PRIu64 " as JSON: %s", ev->seq,
				  strerror(-r));
	} else {
		event_print(stdout, ev);
	}
	if (r >= 0 && ev->body_case == INTACT__V1__EVENT__BODY_STATUS && ev->status->state &&
	    strcmp(ev->status->state, "stopping") == 0)
		r = 1;
	intact__v1__event__free_unpacked(ev, NULL);
	fflush(stdout);
	return r;
}

static int events_stream(struct connection *c, const struct events_options *o)
{
	struct frame_decoder d;
	static uint8_t buffer[READ_CHUNK];
	bool stopping = false;
	int r = 0;

	frame_decoder_init(&d, STREAM_EVENT_MAX);
	for (;;) {
		ssize_t n = connection_read(c, buffer, sizeof(buffer));
		size_t off = 0;

		if (n == 0)
			break;
		if (n < 0) {
			if (n != -ECONNRESET)
				log_error("failed to read from intactd: %s", strerror((int)-n));
			r = (int)n;
			break;
		}
		while (off < (size_t)n && r >= 0) {
			const uint8_t *payload;
			size_t len;
			long used =
			    frame_decoder_feed(&d, buffer + off, (size_t)n - off, &payload, &len);

			if (used < 0) {
				log_error("received a malformed frame from intactd: %s",
					  strerror((int)-used));
				r = (int)used;
				break;
			}
			off += (size_t)used;
			if (!payload)
				continue;
			r = payload_handle(payload, len, o);
			if (r == 1)
				stopping = true;
		}
		if (r < 0)
			break;
	}
	frame_decoder_free(&d);
	if (r < 0)
		return r;
	if (!stopping) {
		log_error("the connection to intactd ended without its stopping notice: intactd "
			  "may have crashed or dropped this subscriber (see its log)");
		return -ECONNRESET;
	}
	return 0;
}

static int events_options_parse(int argc, char **argv, struct events_options *o)
{
	enum {
		OPT_SOCKET = 256,
		OPT_JSON,
		OPT_RULES_ONLY,
		OPT_CONTAINER,
		OPT_NAMESPACE,
		OPT_TLS,
		OPT_CERT,
		OPT_KEY,
		OPT_CA
	};
	static const struct option options[] = {
	    {"socket", required_argument, NULL, OPT_SOCKET},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"rules-only", no_argument, NULL, OPT_RULES_ONLY},
	    {"container", required_argument, NULL, OPT_CONTAINER},
	    {"namespace", required_argument, NULL, OPT_NAMESPACE},
	    {"tls", required_argument, NULL, OPT_TLS},
	    {"cert", required_argument, NULL, OPT_CERT},
	    {"key", required_argument, NULL, OPT_KEY},
	    {"ca", required_argument, NULL, OPT_CA},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->socket_path = STREAM_SOCKET_PATH_DEFAULT;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (c) {
		case OPT_SOCKET:
			o->socket_path = optarg;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_RULES_ONLY:
			o->rules_only = true;
			break;
		case OPT_CONTAINER:
			o->container_id = optarg;
			break;
		case OPT_NAMESPACE:
			o->pod_namespace = optarg;
			break;
		case OPT_TLS:
			o->tls_address = optarg;
			break;
		case OPT_CERT:
			o->cert = optarg;
			break;
		case OPT_KEY:
			o->key = optarg;
			break;
		case OPT_CA:
			o->ca = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(EXIT_SUCCESS);
		default:
			return -EINVAL;
		}
	}
	if (optind < argc) {
		log_error("unexpected argument: %s (see intactctl help)", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

static int events_run(int argc, char **argv)
{
	struct events_options o;
	struct connection c = {.fd = -1};
	int r;

	r = events_options_parse(argc, argv, &o);
	if (r < 0)
		return r;
	if (o.tls_address) {
		r = tls_connect(&c, &o);
	} else {
		c.fd = unix_connect(o.socket_path);
		r = c.fd < 0 ? c.fd : 0;
	}
	if (r >= 0)
		r = request_send(&c, &o);
	if (r >= 0)
		r = events_stream(&c, &o);
	connection_close(&c);
	return r;
}

/* Writes data to path through a temporary file and rename(), so readers never see part of it. */
static int file_write_atomic(const char *path, const char *data, size_t len)
{
	char *tmp = NULL;
	int fd, r = 0;

	if (asprintf(&tmp, "%s.tmp.XXXXXX", path) < 0)
		return -ENOMEM;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		free(tmp);
		return r;
	}
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		data += n;
		len -= (size_t)n;
	}
	if (r == 0 && (fchmod(fd, 0644) < 0 || fsync(fd) < 0))
		r = -errno;
	close(fd);
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		(void)unlink(tmp);
	free(tmp);
	return r;
}

struct seal_options {
	const char *key, *output, *name, *layout;
};

static int seal_options_parse(int argc, char **argv, struct seal_options *o)
{
	enum { OPT_KEY = 256, OPT_OUTPUT, OPT_NAME };
	static const struct option options[] = {
	    {"key", required_argument, NULL, OPT_KEY},
	    {"output", required_argument, NULL, OPT_OUTPUT},
	    {"name", required_argument, NULL, OPT_NAME},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	int c;

	memset(o, 0, sizeof(*o));
	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (c) {
		case OPT_KEY:
			o->key = optarg;
			break;
		case OPT_OUTPUT:
			o->output = optarg;
			break;
		case OPT_NAME:
			o->name = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(EXIT_SUCCESS);
		default:
			return -EINVAL;
		}
	}
	if (!o->key || !o->output || optind + 1 != argc) {
		log_error("usage: intactctl seal --key KEY.pem --output FILE [--name IMAGE] "
			  "OCI_LAYOUT[:TAG]");
		return -EINVAL;
	}
	o->layout = argv[optind];
	return 0;
}

static int seal_run(int argc, char **argv)
{
	struct seal_options o;
	EVP_PKEY *key = NULL;
	char *dir = NULL, *tag = NULL, *data = NULL, *sig = NULL, *sig_path = NULL;
	struct oci_image *image = NULL;
	struct manifest *m = NULL;
	char err[1024], key_id[KEY_ID_SIZE];
	size_t len;
	int r;

	r = seal_options_parse(argc, argv, &o);
	if (r < 0)
		return r;
	r = key_load_private(o.key, &key, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		goto out;
	}
	r = key_id_compute(key, key_id);
	if (r < 0)
		goto out;
	r = oci_layout_spec_split(o.layout, &dir, &tag);
	if (r < 0)
		goto out;
	r = oci_layout_read(dir, tag, NULL, &image, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		goto out;
	}

	r = manifest_new(o.name ? o.name : image->name, image->manifest_digest,
			 image->config_digest, image->architecture, image->os, image->variant, &m);
	for (size_t i = 0; r >= 0 && i < image->n_layers; i++) {
		const struct oci_layer *l = &image->layers[i];

		if (l->digest->n_errors > 0) {
			log_error("layer %zu (blob %s) has %zu invalid entries, first: %s", i,
				  l->blob_digest, l->digest->n_errors, l->digest->errors[0]);
			r = -EBADMSG;
			goto out;
		}
		r = manifest_layer_add(m, l->blob_digest, l->diff_id, l->digest);
	}
	if (r < 0)
		goto out;
	memcpy(m->key_id, key_id, KEY_ID_SIZE);
	r = manifest_write(m, &data, &len);
	if (r >= 0)
		r = manifest_sign(key, data, len, &sig);
	if (r < 0) {
		log_error("failed to write or sign the manifest: %s", strerror(-r));
		goto out;
	}

	if (asprintf(&sig_path, "%s.sig", o.output) < 0) {
		sig_path = NULL;
		r = -ENOMEM;
		goto out;
	}
	r = file_write_atomic(o.output, data, len);
	if (r >= 0)
		r = file_write_atomic(sig_path, sig, strlen(sig));
	if (r < 0) {
		log_error("failed to write %s: %s", r == 0 ? sig_path : o.output, strerror(-r));
		goto out;
	}
	printf("sealed %s (%zu layers) into %s and %s, key %s\n",
	       m->image[0] ? m->image : "(unnamed image)", m->n_layers, o.output, sig_path, key_id);
out:
	free(sig_path);
	free(sig);
	free(data);
	manifest_free(m);
	oci_image_free(image);
	free(dir);
	free(tag);
	EVP_PKEY_free(key);
	return r;
}

#define VERIFY_DIRS_MAX 256

struct verify_options {
	const char *key, *manifest;
	const char *dirs[VERIFY_DIRS_MAX]; /* by layer index */
	size_t n_dirs;
};

static int verify_layer_option(struct verify_options *o, const char *arg)
{
	char *end;
	unsigned long index;

	errno = 0;
	index = strtoul(arg, &end, 10);
	if (errno || end == arg || *end != '=' || !end[1] || index >= VERIFY_DIRS_MAX) {
		log_error("invalid --layer %s: expected N=DIR with N from 0 to %d", arg,
			  VERIFY_DIRS_MAX - 1);
		return -EINVAL;
	}
	o->dirs[index] = end + 1;
	if (index + 1 > o->n_dirs)
		o->n_dirs = index + 1;
	return 0;
}

static int verify_options_parse(int argc, char **argv, struct verify_options *o)
{
	enum { OPT_KEY = 256, OPT_LAYER };
	static const struct option options[] = {
	    {"key", required_argument, NULL, OPT_KEY},
	    {"layer", required_argument, NULL, OPT_LAYER},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	size_t next = 0;
	int c, r;

	memset(o, 0, sizeof(*o));
	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (c) {
		case OPT_KEY:
			o->key = optarg;
			break;
		case OPT_LAYER:
			r = verify_layer_option(o, optarg);
			if (r < 0)
				return r;
			break;
		case 'h':
			usage(stdout);
			exit(EXIT_SUCCESS);
		default:
			return -EINVAL;
		}
	}
	if (!o->key || optind >= argc) {
		log_error(
		    "usage: intactctl verify --key PUB.pem MANIFEST [DIR...] [--layer N=DIR...]");
		return -EINVAL;
	}
	o->manifest = argv[optind++];
	/* Plain directories fill the layers from 0 up, skipping those given with --layer. */
	for (; optind < argc; optind++) {
		while (next < VERIFY_DIRS_MAX && o->dirs[next])
			next++;
		if (next == VERIFY_DIRS_MAX) {
			log_error("too many layer directories: at most %d", VERIFY_DIRS_MAX);
			return -EINVAL;
		}
		o->dirs[next++] = argv[optind];
		if (next > o->n_dirs)
			o->n_dirs = next;
	}
	return 0;
}

/* Reads and checks the manifest and its signature; prints why when they fail. */
static int manifest_load_verified(const char *path, EVP_PKEY *key, struct manifest **ret)
{
	char *data = NULL, *sig = NULL, *sig_path = NULL;
	char err[1024], key_id[KEY_ID_SIZE];
	struct manifest *claimed = NULL;
	size_t len, sig_len;
	int r;

	r = key_id_compute(key, key_id);
	if (r < 0)
		return r;
	r = file_read_all(path, MANIFEST_SIZE_MAX, &data, &len);
	if (r < 0) {
		log_error("failed to read the manifest %s: %s", path, strerror(-r));
		goto out;
	}
	if (asprintf(&sig_path, "%s.sig", path) < 0) {
		sig_path = NULL;
		r = -ENOMEM;
		goto out;
	}
	r = file_read_all(sig_path, MANIFEST_SIGNATURE_SIZE_MAX, &sig, &sig_len);
	if (r < 0) {
		log_error("failed to read the signature %s: %s", sig_path,
			  r == -EFBIG ? "larger than any signature, not a signature file"
				      : strerror(-r));
		goto out;
	}

	/* The key the manifest names distinguishes an untrusted key from an edited
	 * file. Nothing else of it is used before the signature verifies. */
	if (manifest_parse(data, len, &claimed, err, sizeof(err)) == 0 &&
	    strcmp(claimed->key_id, key_id) != 0) {
		log_error("%s is signed by key %s, not by the trusted key %s: untrusted key", path,
			  claimed->key_id, key_id);
		r = -EKEYREJECTED;
		goto out;
	}
	r = manifest_verify(key, data, len, sig, sig_len, err, sizeof(err));
	if (r == -EBADMSG) {
		log_error("invalid signature %s: %s", sig_path, err);
		goto out;
	}
	if (r < 0) {
		log_error("the signature of %s does not verify with key %s: the manifest or its "
			  "signature was changed after signing",
			  path, key_id);
		goto out;
	}

	r = manifest_parse(data, len, ret, err, sizeof(err));
	if (r < 0) {
		log_error("invalid manifest %s: %s", path, err);
		goto out;
	}
	if (strcmp((*ret)->key_id, key_id) != 0) {
		log_error("%s names key %s but key %s signed it", path, (*ret)->key_id, key_id);
		manifest_free(*ret);
		*ret = NULL;
		r = -EKEYREJECTED;
	}
out:
	manifest_free(claimed);
	free(sig_path);
	free(sig);
	free(data);
	return r;
}

/* Compares one directory with a manifest layer and prints the result. Returns 1 when it matches. */
static int verify_layer(const struct manifest *m, size_t index, const char *dir)
{
	const struct manifest_layer *layer = &m->layers[index];
	struct manifest_difference *differences = NULL;
	struct layer_digest *d = NULL;
	size_t n_listed = 0, count = 0;
	char err[1024];
	int r;

	r = layer_digest_from_dir(dir, NULL, &d, err, sizeof(err));
	if (r < 0) {
		log_error("layer %zu: %s", index, err);
		return r;
	}
	if (d->n_errors == 0 && strcmp(d->digest, layer->content_digest) == 0) {
		printf("layer %zu (%s): verified %s\n", index, dir, d->digest);
		layer_digest_free(d);
		return 1;
	}

	printf("layer %zu (%s): differs: expected %s, computed %s\n", index, dir,
	       layer->content_digest, d->digest);
	for (size_t i = 0; i < d->n_errors_listed; i++) {
		fputs("  unreadable ", stdout);
		text_print(stdout, d->errors[i]);
		fputc('\n', stdout);
	}
	r = manifest_layer_compare(layer, d, 100, &differences, &n_listed, &count);
	for (size_t i = 0; r >= 0 && i < n_listed; i++) {
		printf("  %s ", manifest_difference_kind_name(differences[i].kind));
		text_print(stdout, differences[i].path);
		fputc('\n', stdout);
	}
	if (count > n_listed)
		printf("  ... and %zu more differences\n", count - n_listed);
	manifest_differences_free(differences, n_listed);
	layer_digest_free(d);
	return r < 0 ? r : 0;
}

static int verify_run(int argc, char **argv)
{
	struct verify_options o;
	struct manifest *m = NULL;
	EVP_PKEY *key = NULL;
	char err[1024];
	bool all_match = true;
	int r;

	r = verify_options_parse(argc, argv, &o);
	if (r < 0)
		return r;
	r = key_load_public(o.key, &key, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		return r;
	}
	r = manifest_load_verified(o.manifest, key, &m);
	EVP_PKEY_free(key);
	if (r < 0)
		return r;
	printf("signature verified: %s, image %s, %zu layers, key %s\n", o.manifest,
	       m->image[0] ? m->image : "(unnamed)", m->n_layers, m->key_id);
	if (o.n_dirs > m->n_layers) {
		log_error("%zu layer directories given, but the manifest has %zu layers", o.n_dirs,
			  m->n_layers);
		manifest_free(m);
		return -EINVAL;
	}

	for (size_t i = 0; i < o.n_dirs; i++) {
		if (!o.dirs[i])
			continue;
		r = verify_layer(m, i, o.dirs[i]);
		if (r < 0) {
			manifest_free(m);
			return r;
		}
		all_match &= r == 1;
	}
	manifest_free(m);
	return all_match ? 0 : -EBADMSG;
}

int main(int argc, char **argv)
{
	log_set_program("intactctl");
	if (argc < 2) {
		usage(stderr);
		return EXIT_FAILURE;
	}
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("intactctl %s\n", INTACT_VERSION);
		return EXIT_SUCCESS;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return EXIT_SUCCESS;
	}
	if (strcmp(argv[1], "events") == 0)
		return events_run(argc - 1, argv + 1) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
	if (strcmp(argv[1], "seal") == 0)
		return seal_run(argc - 1, argv + 1) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
	if (strcmp(argv[1], "verify") == 0)
		return verify_run(argc - 1, argv + 1) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
	log_error("unknown command: %s (see intactctl help)", argv[1]);
	return EXIT_FAILURE;
}
