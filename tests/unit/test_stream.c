// SPDX-License-Identifier: Apache-2.0
/*
 * The event server on a real sd-event loop, with real client sockets in a
 * temporary directory. TLS clients run in child processes, since a blocking
 * handshake needs the server loop to turn at the same time.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "framing.h"
#include "intact/v1/subscribe.pb-c.h"
#include "log.h"
#include "stream.h"
#include "test.h"

#define CLIENT_EVENTS_MAX 8192

struct client {
	int fd;
	struct frame_decoder decoder;
	bool eof;
	size_t count;
	Intact__V1__Event *events[CLIENT_EVENTS_MAX];
};

static char temp_dir[64];
static char socket_path[96];

static void temp_dir_create(void)
{
	if (temp_dir[0])
		return;
	snprintf(temp_dir, sizeof(temp_dir), "/tmp/intact-stream-XXXXXX");
	if (!mkdtemp(temp_dir))
		abort();
	snprintf(socket_path, sizeof(socket_path), "%s/run/events.sock", temp_dir);
	log_max_level = LOG_LEVEL_ERROR;
}

static void temp_dir_remove(void)
{
	char command[128];

	snprintf(command, sizeof(command), "rm -rf '%s'", temp_dir);
	if (system(command) != 0)
		fprintf(stderr, "failed to remove %s\n", temp_dir);
}

static uint64_t monotonic_msec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Runs every ready callback of the loop, without waiting. */
static void loop_pump(sd_event *loop)
{
	for (int i = 0; i < 1000 && sd_event_run(loop, 0) > 0; i++)
		;
}

static void loop_pump_for(sd_event *loop, unsigned msec)
{
	uint64_t end = monotonic_msec() + msec;

	while (monotonic_msec() < end) {
		(void)sd_event_run(loop, 5 * 1000);
	}
}

static struct stream_server *server_start(sd_event *loop, size_t queue_frames)
{
	struct stream_options opts;
	struct stream_server *s = NULL;

	temp_dir_create();
	stream_options_init(&opts);
	opts.socket_path = socket_path;
	opts.node = "node-1";
	opts.boot_id = "b00t";
	if (queue_frames)
		opts.queue_frames_max = queue_frames;
	CHECK_INT_EQ(stream_server_new(loop, &opts, &s), 0);
	return s;
}

static void client_connect(struct client *c, sd_event *loop)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};

	memset(c, 0, sizeof(*c));
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", socket_path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	CHECK(c->fd >= 0);
	CHECK_INT_EQ(connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	frame_decoder_init(&c->decoder, 1 << 20);
	loop_pump(loop);
}

static void client_send(struct client *c, const void *data, size_t len)
{
	CHECK_INT_EQ(send(c->fd, data, len, MSG_NOSIGNAL), (ssize_t)len);
}

static void client_send_request(struct client *c, const Intact__V1__SubscribeRequest *req)
{
	uint8_t *frame;
	size_t len;

	CHECK_INT_EQ(frame_pack(&req->base, 4096, &frame, &len), 0);
	client_send(c, frame, len);
	free(frame);
}

/* Reads what is available; returns the number of events decoded. */
static size_t client_read(struct client *c)
{
	uint8_t buffer[16384];
	size_t before = c->count;

	for (;;) {
		ssize_t n = recv(c->fd, buffer, sizeof(buffer), MSG_DONTWAIT);
		size_t off = 0;

		if (n == 0)
			c->eof = true;
		if (n <= 0)
			break;
		while (off < (size_t)n) {
			const uint8_t *payload;
			size_t len;
			long used = frame_decoder_feed(&c->decoder, buffer + off, (size_t)n - off,
						       &payload, &len);

			CHECK(used >= 0);
			if (used < 0)
				return c->count - before;
			off += (size_t)used;
			if (payload && c->count < CLIENT_EVENTS_MAX) {
				c->events[c->count] = intact__v1__event__unpack(NULL, len, payload);
				CHECK(c->events[c->count] != NULL);
				if (c->events[c->count])
					c->count++;
			}
		}
	}
	return c->count - before;
}

static void client_free(struct client *c)
{
	for (size_t i = 0; i < c->count; i++)
		intact__v1__event__free_unpacked(c->events[i], NULL);
	frame_decoder_free(&c->decoder);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->count = 0;
}

/* Publishes an exec event; args make it about 300 bytes when packed. */
static void publish_exec(struct stream_server *s, uint64_t seq, bool matched,
			 const char *container_id, const char *pod_namespace)
{
	Intact__V1__Event ev = INTACT__V1__EVENT__INIT;
	Intact__V1__Container container = INTACT__V1__CONTAINER__INIT;
	Intact__V1__Pod pod = INTACT__V1__POD__INIT;
	Intact__V1__Process process = INTACT__V1__PROCESS__INIT;
	char *rules[] = {"shell_in_container"};
	char arg[256];
	char *args[] = {arg};

	memset(arg, 'x', sizeof(arg) - 1);
	arg[sizeof(arg) - 1] = '\0';
	process.n_args = 1;
	process.args = args;
	ev.seq = seq;
	ev.event = "exec";
	ev.process = &process;
	if (matched) {
		ev.n_rules = 1;
		ev.rules = rules;
	}
	if (container_id) {
		container.id = (char *)container_id;
		ev.container = &container;
		if (pod_namespace) {
			pod.namespace_ = (char *)pod_namespace;
			container.pod = &pod;
		}
	}
	stream_publish(s, &ev);
}

static void publish_lost(struct stream_server *s, uint64_t seq)
{
	Intact__V1__Event ev = INTACT__V1__EVENT__INIT;
	Intact__V1__Lost lost = INTACT__V1__LOST__INIT;

	lost.source = "kernel_ring_buffer";
	lost.count = 2;
	lost.total = 2;
	ev.seq = seq;
	ev.event = "lost";
	ev.body_case = INTACT__V1__EVENT__BODY_LOST;
	ev.lost = &lost;
	stream_publish(s, &ev);
}

static uint64_t connected(const struct stream_server *s)
{
	struct stream_counters counters;

	stream_server_get_counters(s, &counters);
	return counters.subscribers_connected;
}

TEST(stream_stalled_subscriber_loses_alone)
{
	enum { EVENTS = 5000 };
	sd_event *loop = NULL;
	struct stream_server *s;
	struct stream_counters counters;
	struct stream_subscriber_info infos[4];
	static struct client reader, stalled;
	uint64_t lost, next_seq = 1;
	size_t n, i;

	CHECK_INT_EQ(sd_event_new(&loop), 0);
	s = server_start(loop, 16);
	if (!s)
		return;
	client_connect(&reader, loop);
	client_connect(&stalled, loop);
	CHECK_INT_EQ(connected(s), 2);

	for (uint64_t seq = 1; seq <= EVENTS; seq++) {
		publish_exec(s, seq, false, NULL, NULL);
		loop_pump(loop);
		(void)client_read(&reader);
	}
	for (int k = 0; k < 100 && reader.count < EVENTS; k++) {
		loop_pump(loop);
		(void)client_read(&reader);
	}

	/* The reading subscriber got every event, in order, and no loss notice. */
	CHECK_INT_EQ(reader.count, EVENTS);
	for (i = 0; i < reader.count; i++)
		if (reader.events[i]->seq != i + 1)
			break;
	CHECK_INT_EQ(i, EVENTS);

	stream_server_get_counters(s, &counters);
	lost = counters.events_lost;
	CHECK(lost > 0);
	n = stream_server_get_subscribers(s, infos, 4);
	CHECK_INT_EQ(n, 2);
	CHECK_INT_EQ(infos[0].events_lost + infos[1].events_lost, lost);

	/* The stalled one reads now: events, then one loss notice with the count. */
	for (int k = 0; k < 200; k++) {
		loop_pump(loop);
		(void)client_read(&stalled);
	}
	CHECK_INT_EQ(stalled.count, EVENTS - lost + 1);
	for (i = 0;
	     i < stalled.count && stalled.events[i]->body_case != INTACT__V1__EVENT__BODY_LOST;
	     i++) {
		if (stalled.events[i]->seq != next_seq)
			break;
		next_seq++;
	}
	CHECK_INT_EQ(i, EVENTS - lost);
	if (i < stalled.count) {
		Intact__V1__Event *notice = stalled.events[i];

		CHECK_INT_EQ(notice->body_case, INTACT__V1__EVENT__BODY_LOST);
		CHECK_STR_EQ(notice->event, "lost");
		CHECK_STR_EQ(notice->node, "node-1");
		CHECK_STR_EQ(notice->boot_id, "b00t");
		CHECK(notice->time != NULL);
		CHECK_STR_EQ(notice->lost->source, "subscriber_queue");
		CHECK_INT_EQ(notice->lost->count, lost);
		CHECK_INT_EQ(notice->lost->total, lost);
	}

	/* Later events follow the notice. */
	publish_exec(s, EVENTS + 1, false, NULL, NULL);
	loop_pump(loop);
	(void)client_read(&stalled);
	CHECK_INT_EQ(stalled.count, EVENTS - lost + 2);
	if (stalled.count == EVENTS - lost + 2)
		CHECK_INT_EQ(stalled.events[stalled.count - 1]->seq, EVENTS + 1);

	client_free(&reader);
	client_free(&stalled);
	stream_server_free(s);
	sd_event_unref(loop);
}

TEST(stream_bad_input_drops_subscriber)
{
	static const struct {
		const char *name;
		const char *data;
		size_t len;
	} cases[] = {
	    {"oversized length", "\xff\xff\xff\x7f", 4},
	    {"not a message", "\x03\x00\x00\x00", 4},
	    {"malformed varint", "\x80\x80\x80\x80\x80\x80", 6},
	    {"HTTP request",
	     "GET /events HTTP/1.1\r\nHost: localhost\r\nUser-Agent: curl/7.88\r\n"
	     "Accept: */*\r\nConnection: keep-alive\r\n\r\n",
	     102},
	};
	sd_event *loop = NULL;
	struct stream_server *s;
	struct stream_counters counters;
	static struct client reader, bad;

	CHECK_INT_EQ(sd_event_new(&loop), 0);
	s = server_start(loop, 0);
	if (!s)
		return;
	client_connect(&reader, loop);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		client_connect(&bad, loop);
		CHECK_INT_EQ(connected(s), 2);
		client_send(&bad, cases[i].data, cases[i].len);
		loop_pump_for(loop, 20);
		CHECK_INT_EQ(connected(s), 1);
		if (connected(s) != 1)
			fprintf(stderr, "  case: %s\n", cases[i].name);
		(void)client_read(&bad);
		CHECK(bad.eof);
		client_free(&bad);
	}
	stream_server_get_counters(s, &counters);
	CHECK_INT_EQ(counters.subscribers_dropped, 4);

	/* The good subscriber goes on receiving. */
	publish_exec(s, 1, false, NULL, NULL);
	loop_pump(loop);
	CHECK_INT_EQ(client_read(&reader), 1);

	client_free(&reader);
	stream_server_free(s);
	sd_event_unref(loop);
}

TEST(stream_bytes_after_request)
{
	Intact__V1__SubscribeRequest req = INTACT__V1__SUBSCRIBE_REQUEST__INIT;
	sd_event *loop = NULL;
	struct stream_server *s;
	static struct client c;
	char trailing[100];

	CHECK_INT_EQ(sd_event_new(&loop), 0);
	s = server_start(loop, 0);
	if (!s)
		return;
	client_connect(&c, loop);
	req.rules_only = 1;
	client_send_request(&c, &req);
	/* A few stray bytes are ignored. */
	client_send(&c, "\n", 1);
	loop_pump_for(loop, 10);
	CHECK_INT_EQ(connected(s), 1);

	memset(trailing, 'x', sizeof(trailing));
	client_send(&c, trailing, sizeof(trailing));
	loop_pump_for(loop, 10);
	CHECK_INT_EQ(connected(s), 0);

	client_free(&c);
	stream_server_free(s);
	sd_event_unref(loop);
}

/* Returns the seq numbers a client received, as a string "1,2,3". */
static void seqs_of(const struct client *c, char *out, size_t out_size)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < c->count && len + 24 < out_size; i++)
		len += (size_t)snprintf(out + len, out_size - len, "%s%" PRIu64, i ? "," : "",
					c->events[i]->seq);
}

TEST(stream_filters)
{
	Intact__V1__SubscribeRequest rules_req = INTACT__V1__SUBSCRIBE_REQUEST__INIT;
	Intact__V1__SubscribeRequest container_req = INTACT__V1__SUBSCRIBE_REQUEST__INIT;
	Intact__V1__SubscribeRequest ns_req = INTACT__V1__SUBSCRIBE_REQUEST__INIT;
	sd_event *loop = NULL;
	struct stream_server *s;
	static struct client all, rules, container, ns;
	char seqs[128];

	CHECK_INT_EQ(sd_event_new(&loop), 0);
	s = server_start(loop, 0);
	if (!s)
		return;
	client_connect(&all, loop);
	client_connect(&rules, loop);
	client_connect(&container, loop);
	client_connect(&ns, loop);
	rules_req.rules_only = 1;
	client_send_request(&rules, &rules_req);
	container_req.container_id = "3f2a";
	client_send_request(&container, &container_req);
	ns_req.pod_namespace = "shop";
	client_send_request(&ns, &ns_req);
	loop_pump_for(loop, 20);
	CHECK_INT_EQ(connected(s), 4);

	publish_exec(s, 1, false, "3f2a9c", "shop");
	publish_exec(s, 2, true, "77aa", "other");
	publish_exec(s, 3, true, NULL, NULL);
	publish_exec(s, 4, false, "3f2b", "shopping");
	publish_lost(s, 5);
	loop_pump_for(loop, 20);

	(void)client_read(&all);
	seqs_of(&all, seqs, sizeof(seqs));
	CHECK_STR_EQ(seqs, "1,2,3,4,5");
	(void)client_read(&rules);
	seqs_of(&rules, seqs, sizeof(seqs));
	CHECK_STR_EQ(seqs, "2,3,5");
	(void)client_read(&container);
	seqs_of(&container, seqs, sizeof(seqs));
	CHECK_STR_EQ(seqs, "1,5");
	(void)client_read(&ns);
	seqs_of(&ns, seqs, sizeof(seqs));
	CHECK_STR_EQ(seqs, "1,5");

	/* The stopping notice passes every filter, and then the server closes. */
	CHECK_INT_EQ(stream_server_shutdown(s), 0);
	(void)client_read(&container);
	CHECK_INT_EQ(container.count, 3);
	if (container.count == 3) {
		Intact__V1__Event *last = container.events[2];

		CHECK_INT_EQ(last->body_case, INTACT__V1__EVENT__BODY_STATUS);
		CHECK_STR_EQ(last->event, "status");
		CHECK_STR_EQ(last->status->state, "stopping");
		CHECK_INT_EQ(last->seq, 6);
	}
	CHECK(container.eof);

	client_free(&all);
	client_free(&rules);
	client_free(&container);
	client_free(&ns);
	stream_server_free(s);
	sd_event_unref(loop);
}

TEST(stream_shutdown_after_losses)
{
	sd_event *loop = NULL;
	struct stream_server *s;
	static struct client stalled;
	uint64_t lost;
	struct stream_counters counters;
	bool got_stopping = false;

	CHECK_INT_EQ(sd_event_new(&loop), 0);
	s = server_start(loop, 8);
	if (!s)
		return;
	client_connect(&stalled, loop);
	for (uint64_t seq = 1; seq <= 3000; seq++) {
		publish_exec(s, seq, false, NULL, NULL);
		loop_pump(loop);
	}
	stream_server_get_counters(s, &counters);
	lost = counters.events_lost;
	CHECK(lost > 0);

	/* Shutdown waits 1 s for the reader, which starts reading only afterwards. */
	CHECK_INT_EQ(stream_server_shutdown(s), -ETIMEDOUT);
	for (int k = 0; k < 100 && !stalled.eof; k++)
		(void)client_read(&stalled);
	CHECK(stalled.eof);
	for (size_t i = 0; i < stalled.count; i++)
		if (stalled.events[i]->body_case == INTACT__V1__EVENT__BODY_STATUS)
			got_stopping = true;
	/* The reader got what the socket buffer held, but the queue, notice included, was not sent.
	 */
	CHECK(stalled.count > 0);
	CHECK(!got_stopping);

	client_free(&stalled);
	stream_server_free(s);
	sd_event_unref(loop);
}

TEST(stream_shutdown_delivers_loss_and_stop)
{
	sd_event *loop = NULL;
	struct stream_server *s;
	static struct client slow;
	struct stream_counters counters;
	uint64_t child_result[2] = {0, 0};
	int result_pipe[2];
	pid_t pid;
	int status;

	CHECK_INT_EQ(sd_event_new(&loop), 0);
	s = server_start(loop, 8);
	if (!s)
		return;
	client_connect(&slow, loop);
	for (uint64_t seq = 1; seq <= 3000; seq++) {
		publish_exec(s, seq, false, NULL, NULL);
		loop_pump(loop);
	}
	stream_server_get_counters(s, &counters);
	CHECK(counters.events_lost > 0);

	/* A child reads while shutdown flushes: events, then a loss notice, then "stopping". */
	CHECK_INT_EQ(pipe(result_pipe), 0);
	pid = fork();
	if (pid == 0) {
		uint64_t result[2] = {0, 0};

		/* The server's end of the connection was inherited too: without closing it, no EOF.
		 */
		for (int fd = 3; fd < 1024; fd++)
			if (fd != slow.fd && fd != result_pipe[1])
				close(fd);
		while (!slow.eof) {
			struct pollfd pfd = {.fd = slow.fd, .events = POLLIN};

			if (poll(&pfd, 1, 3000) <= 0)
				_exit(2);
			(void)client_read(&slow);
		}
		for (size_t i = 0; i < slow.count; i++)
			if (slow.events[i]->body_case == INTACT__V1__EVENT__BODY_LOST)
				result[0] += slow.events[i]->lost->count;
		result[1] = slow.count > 0 && slow.events[slow.count - 1]->body_case ==
						  INTACT__V1__EVENT__BODY_STATUS;
		_exit(write(result_pipe[1], result, sizeof(result)) == sizeof(result) ? 0 : 2);
	}
	close(result_pipe[1]);
	CHECK_INT_EQ(stream_server_shutdown(s), 0);
	CHECK_INT_EQ(waitpid(pid, &status, 0), pid);
	CHECK_INT_EQ(status, 0);
	CHECK_INT_EQ(read(result_pipe[0], child_result, sizeof(child_result)),
		     sizeof(child_result));
	close(result_pipe[0]);
	/* Shutdown may drop a few more events to make room for the notices; they are reported too.
	 */
	stream_server_get_counters(s, &counters);
	CHECK_INT_EQ(child_result[0], counters.events_lost);
	CHECK_INT_EQ(child_result[1], 1);

	client_free(&slow);
	stream_server_free(s);
	sd_event_unref(loop);
}

TEST(stream_socket_file_handling)
{
	sd_event *loop = NULL;
	struct stream_server *s, *second = NULL;
	struct stream_options opts;
	char path[160];
	struct stat st;
	int fd;

	CHECK_INT_EQ(sd_event_new(&loop), 0);
	temp_dir_create();

	/* A stale socket file is replaced, the directory created, the mode 0660. */
	s = server_start(loop, 0);
	CHECK(s != NULL);
	CHECK_INT_EQ(stat(socket_path, &st), 0);
	CHECK_INT_EQ(st.st_mode & 0777, 0660);

	/* A second server on a live socket fails and leaves it in place. */
	stream_options_init(&opts);
	opts.socket_path = socket_path;
	CHECK_INT_EQ(stream_server_new(loop, &opts, &second), -EADDRINUSE);
	CHECK_INT_EQ(stat(socket_path, &st), 0);
	stream_server_free(s);
	/* The server removed its socket file. */
	CHECK_INT_EQ(stat(socket_path, &st), -1);
	CHECK_INT_EQ(errno, ENOENT);

	/* A socket file left behind by a dead process is removed. */
	{
		struct sockaddr_un addr = {.sun_family = AF_UNIX};

		snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", socket_path);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		CHECK_INT_EQ(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
		close(fd);
	}
	s = server_start(loop, 0);
	CHECK(s != NULL);
	stream_server_free(s);

	/* A regular file at the path is never removed. */
	snprintf(path, sizeof(path), "%s/not-a-socket", temp_dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	opts.socket_path = path;
	CHECK_INT_EQ(stream_server_new(loop, &opts, &second), -EEXIST);
	CHECK_INT_EQ(stat(path, &st), 0);
	CHECK(S_ISREG(st.st_mode));

	/* An unknown group is rejected. */
	opts.socket_path = socket_path;
	opts.socket_group = "no-such-group-intact";
	CHECK_INT_EQ(stream_server_new(loop, &opts, &second), -ENOENT);
	opts.socket_group = "0";
	CHECK_INT_EQ(stream_server_new(loop, &opts, &second), 0);
	stream_server_free(second);

	sd_event_unref(loop);
}

TEST(stream_activated_socket)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	sd_event *loop = NULL;
	struct stream_server *s = NULL;
	struct stream_options opts;
	static struct client c;
	int fd;

	CHECK_INT_EQ(sd_event_new(&loop), 0);
	temp_dir_create();
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", socket_path);
	(void)unlink(socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK_INT_EQ(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);

	/* A socket that does not listen is rejected. */
	stream_options_init(&opts);
	opts.listen_fd = fd;
	CHECK_INT_EQ(stream_server_new(loop, &opts, &s), -EINVAL);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	(void)unlink(socket_path);
	CHECK_INT_EQ(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	CHECK_INT_EQ(listen(fd, 8), 0);
	opts.listen_fd = fd;
	CHECK_INT_EQ(stream_server_new(loop, &opts, &s), 0);
	if (!s)
		return;
	client_connect(&c, loop);
	CHECK_INT_EQ(connected(s), 1);
	publish_exec(s, 1, false, NULL, NULL);
	loop_pump(loop);
	CHECK_INT_EQ(client_read(&c), 1);
	client_free(&c);
	stream_server_free(s);
	/* The activated socket's file belongs to the service manager and stays. */
	CHECK_INT_EQ(access(socket_path, F_OK), 0);
	(void)unlink(socket_path);
	sd_event_unref(loop);
}

/* ---- TLS ---- */

static bool tls_files_created;

static int run(const char *command)
{
	char full[2048];

	snprintf(full, sizeof(full), "cd '%s' && (%s) >/dev/null 2>&1", temp_dir, command);
	return system(full);
}

/* Creates a CA, a server and a client certificate it signs, and a second, unrelated CA and client.
 */
static bool tls_files_create(void)
{
	static const char *const commands[] = {
	    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
	    "-subj /CN=intact-test-ca -keyout ca.key -out ca.pem",
	    "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
	    "-subj /CN=localhost -keyout server.key -out server.csr",
	    "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > server.ext && "
	    "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
	    "-extfile server.ext -out server.pem",
	    "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
	    "-subj /CN=subscriber -keyout client.key -out client.csr",
	    "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
	    "-out client.pem",
	    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
	    "-subj /CN=other-ca -keyout other-ca.key -out other-ca.pem",
	    "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
	    "-subj /CN=intruder -keyout other.key -out other.csr",
	    "openssl x509 -req -in other.csr -CA other-ca.pem -CAkey other-ca.key "
	    "-CAcreateserial -days 2 -out other.pem",
	};

	temp_dir_create();
	if (tls_files_created)
		return true;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (run(commands[i]) != 0) {
			fprintf(stderr, "  failed: %s\n", commands[i]);
			return false;
		}
	}
	tls_files_created = true;
	return true;
}

static char *temp_file(const char *name)
{
	static char paths[8][160];
	static int next;
	char *p = paths[next++ % 8];

	snprintf(p, 160, "%s/%s", temp_dir, name);
	return p;
}

/*
 * The child's side: connects with TLS 1.3, verifies the server against the
 * CA, presents cert/key if given and reads one event. Exits 0 when it
 * received an event, 1 when the server refused it, 2 on other errors.
 */
static void tls_client_run(int port, const char *cert, const char *key)
{
	struct sockaddr_in addr = {.sin_family = AF_INET,
				   .sin_port = htons((uint16_t)port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	struct frame_decoder d;
	uint8_t buffer[4096];
	SSL *ssl;
	int fd;

	alarm(5);
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	if (SSL_CTX_load_verify_locations(ctx, temp_file("ca.pem"), NULL) != 1)
		_exit(2);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (cert && (SSL_CTX_use_certificate_file(ctx, cert, SSL_FILETYPE_PEM) != 1 ||
		     SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1))
		_exit(2);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		_exit(2);
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	SSL_set1_host(ssl, "127.0.0.1");
	if (SSL_connect(ssl) != 1)
		_exit(1);
	frame_decoder_init(&d, 1 << 20);
	for (;;) {
		int n = SSL_read(ssl, buffer, sizeof(buffer));
		size_t off = 0;

		/* TLS 1.3 checks the client's certificate after the client's handshake ends. */
		if (n <= 0)
			_exit(1);
		while (off < (size_t)n) {
			const uint8_t *payload;
			size_t len;
			long used =
			    frame_decoder_feed(&d, buffer + off, (size_t)n - off, &payload, &len);
			Intact__V1__Event *ev;

			if (used < 0)
				_exit(2);
			off += (size_t)used;
			if (!payload)
				continue;
			ev = intact__v1__event__unpack(NULL, len, payload);
			_exit(ev && strcmp(ev->event, "exec") == 0 ? 0 : 2);
		}
	}
}

/* Runs a TLS client child against s while the loop turns; returns its exit code. */
static int tls_client_exit_code(sd_event *loop, struct stream_server *s, int port, const char *cert,
				const char *key)
{
	uint64_t end = monotonic_msec() + 5000, seq = 0;
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	if (pid == 0)
		tls_client_run(port, cert, key);
	while (monotonic_msec() < end) {
		pid_t done = waitpid(pid, &status, WNOHANG);

		if (done == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
		(void)sd_event_run(loop, 10 * 1000);
		/* Subscribers still in their handshake get nothing, so publish until one is served.
		 */
		publish_exec(s, ++seq, false, NULL, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return 124;
}

TEST(stream_tls_client_certificates)
{
	struct sockaddr_in addr = {.sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t addr_len = sizeof(addr);
	sd_event *loop = NULL;
	struct stream_server *s = NULL;
	struct stream_options opts;
	struct stream_counters counters;
	int fd, port;

	if (!tls_files_create()) {
		CHECK(!"openssl could not create the test certificates");
		return;
	}
	CHECK_INT_EQ(sd_event_new(&loop), 0);

	/* The test listens on port 0 and passes the socket, as socket activation does. */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK_INT_EQ(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	CHECK_INT_EQ(listen(fd, 8), 0);
	CHECK_INT_EQ(getsockname(fd, (struct sockaddr *)&addr, &addr_len), 0);
	port = ntohs(addr.sin_port);

	stream_options_init(&opts);
	opts.socket_path = socket_path;
	opts.tls_listen_fd = fd;
	opts.tls_cert = temp_file("server.pem");
	opts.tls_key = temp_file("server.key");
	opts.tls_ca = temp_file("ca.pem");
	CHECK_INT_EQ(stream_server_new(loop, &opts, &s), 0);
	if (!s)
		return;

	CHECK_INT_EQ(
	    tls_client_exit_code(loop, s, port, temp_file("client.pem"), temp_file("client.key")),
	    0);
	CHECK_INT_EQ(tls_client_exit_code(loop, s, port, NULL, NULL), 1);
	CHECK_INT_EQ(
	    tls_client_exit_code(loop, s, port, temp_file("other.pem"), temp_file("other.key")), 1);
	loop_pump_for(loop, 20);
	stream_server_get_counters(s, &counters);
	CHECK_INT_EQ(counters.subscribers_rejected, 2);
	CHECK_INT_EQ(counters.subscribers_connected, 0);

	stream_server_free(s);
	sd_event_unref(loop);
}

TEST(stream_tls_bad_options)
{
	sd_event *loop = NULL;
	struct stream_server *s = NULL;
	struct stream_options opts;

	if (!tls_files_create()) {
		CHECK(!"openssl could not create the test certificates");
		return;
	}
	CHECK_INT_EQ(sd_event_new(&loop), 0);
	stream_options_init(&opts);
	opts.socket_path = socket_path;
	opts.tls_listen = "127.0.0.1:0";
	opts.tls_cert = temp_file("server.pem");
	opts.tls_key = temp_file("client.key");
	opts.tls_ca = temp_file("ca.pem");
	/* A key that does not match the certificate. */
	CHECK_INT_EQ(stream_server_new(loop, &opts, &s), -EPROTO);
	opts.tls_key = temp_file("server.key");
	opts.tls_listen = "127.0.0.1";
	CHECK_INT_EQ(stream_server_new(loop, &opts, &s), -EINVAL);
	opts.tls_listen = "[::1";
	CHECK_INT_EQ(stream_server_new(loop, &opts, &s), -EINVAL);
	opts.tls_listen = "127.0.0.1:0";
	CHECK_INT_EQ(stream_server_new(loop, &opts, &s), 0);
	stream_server_free(s);
	sd_event_unref(loop);
}

TEST(stream_cleanup)
{
	temp_dir_remove();
}
