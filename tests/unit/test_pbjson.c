// SPDX-License-Identifier: Apache-2.0
#include <errno.h>

#include "intact/v1/event.pb-c.h"
#include "intact/v1/subscribe.pb-c.h"
#include "pbjson.h"
#include "test.h"

/* Prints msg with pbjson_fprint_line() and returns the line without its newline. */
static char *json_of(const ProtobufCMessage *msg, int *ret_r)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		abort();
	*ret_r = pbjson_fprint_line(f, msg);
	fclose(f);
	if (len > 0 && text[len - 1] == '\n')
		text[len - 1] = '\0';
	return text;
}

#define CHECK_JSON(msg, expected)                                                                  \
	do {                                                                                       \
		int r_;                                                                            \
		char *text_ = json_of((const ProtobufCMessage *)(msg), &r_);                       \
		CHECK_INT_EQ(r_, 0);                                                               \
		CHECK_STR_EQ(text_, expected);                                                     \
		free(text_);                                                                       \
	} while (0)

TEST(pbjson_empty_event)
{
	Intact__V1__Event ev = INTACT__V1__EVENT__INIT;

	CHECK_JSON(&ev, "{\"seq\":\"0\",\"event\":\"\",\"boot_id\":\"\",\"node\":\"\","
			"\"rules\":[],\"host\":false}");
}

TEST(pbjson_exec_event)
{
	Intact__V1__Event ev = INTACT__V1__EVENT__INIT;
	Google__Protobuf__Timestamp time = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	Intact__V1__Container container = INTACT__V1__CONTAINER__INIT;
	Intact__V1__Pod pod = INTACT__V1__POD__INIT;
	Intact__V1__Process process = INTACT__V1__PROCESS__INIT;
	Intact__V1__Process parent = INTACT__V1__PROCESS__INIT;
	char *rules[] = {"shell_in_container", "write_below_etc"};
	char *args[] = {"sh", "-c", "echo \"hi\"\n"};
	uint8_t raw_arg[] = {'a', 0xff, 'b'};
	ProtobufCBinaryData args_bytes[] = {{0, NULL}, {0, NULL}, {sizeof(raw_arg), raw_arg}};

	time.seconds = 1700000000;
	time.nanos = 5000000;
	pod.name = "web-0";
	pod.namespace_ = "shop";
	pod.uid = "5f0c";
	container.id = "3f2a";
	container.runtime = "containerd";
	container.namespace_ = "k8s.io";
	container.cgroup = "/kubepods/pod5f0c/3f2a";
	container.pod = &pod;
	container.name = "web";
	container.image = "nginx:1.25";

	parent.pid = 10;
	parent.comm = "bash";
	process.pid = 4242;
	process.ns_pid = 7;
	process.ppid = 10;
	process.uid = 1000;
	process.gid = 1000;
	process.euid = 0;
	process.egid = 0;
	process.comm = "sh";
	process.exe = "/bin/dash";
	process.filename = "/bin/sh";
	process.n_args = 3;
	process.args = args;
	process.argc = 3;
	process.cwd = "/";
	process.exe_inode = UINT64_MAX;
	process.exe_dev = 2049;
	process.exec_id = "4242:123456789";
	process.parent = &parent;
	process.n_args_bytes = 3;
	process.args_bytes = args_bytes;

	ev.seq = 18446744073709551615u;
	ev.event = "exec";
	ev.time = &time;
	ev.boot_id = "b00t";
	ev.node = "node-1";
	ev.n_rules = 2;
	ev.rules = rules;
	ev.container = &container;
	ev.process = &process;

	CHECK_JSON(&ev,
		   "{\"seq\":\"18446744073709551615\",\"event\":\"exec\","
		   "\"time\":\"2023-11-14T22:13:20.005Z\",\"boot_id\":\"b00t\",\"node\":\"node-1\","
		   "\"rules\":[\"shell_in_container\",\"write_below_etc\"],"
		   "\"container\":{\"id\":\"3f2a\",\"runtime\":\"containerd\","
		   "\"namespace\":\"k8s.io\",\"cgroup\":\"/kubepods/pod5f0c/3f2a\","
		   "\"cgroup_partial\":false,"
		   "\"pod\":{\"name\":\"web-0\",\"namespace\":\"shop\",\"uid\":\"5f0c\"},"
		   "\"name\":\"web\",\"image\":\"nginx:1.25\"},"
		   "\"process\":{\"pid\":4242,\"ns_pid\":7,\"ppid\":10,\"uid\":1000,\"gid\":1000,"
		   "\"euid\":0,\"egid\":0,\"comm\":\"sh\",\"exe\":\"/bin/dash\","
		   "\"exe_truncated\":false,\"exe_outside_root\":false,\"filename\":\"/bin/sh\","
		   "\"args\":[\"sh\",\"-c\",\"echo \\\"hi\\\"\\n\"],\"argc\":3,"
		   "\"args_truncated\":false,\"cwd\":\"/\",\"cwd_truncated\":false,"
		   "\"script\":\"\",\"interpreter\":\"\",\"script_upper_layer\":false,"
		   "\"exe_upper_layer\":false,\"exe_writable_mount\":false,"
		   "\"exe_fileless\":false,\"exe_inode\":\"18446744073709551615\","
		   "\"exe_dev\":2049,\"exec_id\":\"4242:123456789\","
		   "\"parent\":{\"pid\":10,\"ns_pid\":0,\"ppid\":0,\"uid\":0,\"gid\":0,"
		   "\"euid\":0,\"egid\":0,\"comm\":\"bash\",\"exe\":\"\","
		   "\"exe_truncated\":false,\"exe_outside_root\":false,\"filename\":\"\","
		   "\"args\":[],\"argc\":0,\"args_truncated\":false,\"cwd\":\"\","
		   "\"cwd_truncated\":false,\"script\":\"\",\"interpreter\":\"\","
		   "\"script_upper_layer\":false,\"exe_upper_layer\":false,"
		   "\"exe_writable_mount\":false,\"exe_fileless\":false,\"exe_inode\":\"0\","
		   "\"exe_dev\":0,\"exec_id\":\"\",\"exe_bytes\":\"\",\"filename_bytes\":\"\","
		   "\"args_bytes\":[],\"cwd_bytes\":\"\",\"script_bytes\":\"\"},"
		   "\"exe_bytes\":\"\",\"filename_bytes\":\"\",\"args_bytes\":[\"\",\"\",\"Yf9i\"],"
		   "\"cwd_bytes\":\"\",\"script_bytes\":\"\"},"
		   "\"host\":false}");
}

TEST(pbjson_file_event)
{
	Intact__V1__Event ev = INTACT__V1__EVENT__INIT;
	Intact__V1__File file = INTACT__V1__FILE__INIT;
	Intact__V1__Mount mount = INTACT__V1__MOUNT__INIT;
	uint8_t raw_path[] = {'/', 't', 'm', 'p', '/', 0x80};

	mount.id = 31;
	mount.fs_type = "overlay";
	mount.path = "/";
	mount.root = 1;
	file.op = "open";
	file.syscall = "openat";
	file.path = "/tmp/\xef\xbf\xbd";
	file.path_arg = "x";
	file.flags = 0101;
	file.mode = 0644;
	file.result = -13;
	file.dev = 66;
	file.inode = 1234567890123ull;
	file.mount = &mount;
	file.upper_layer = 1;
	file.path_bytes.data = raw_path;
	file.path_bytes.len = sizeof(raw_path);
	ev.seq = 7;
	ev.event = "file";
	ev.host = 1;
	ev.body_case = INTACT__V1__EVENT__BODY_FILE;
	ev.file = &file;

	CHECK_JSON(&ev,
		   "{\"seq\":\"7\",\"event\":\"file\",\"boot_id\":\"\",\"node\":\"\","
		   "\"rules\":[],\"host\":true,"
		   "\"file\":{\"op\":\"open\",\"syscall\":\"openat\","
		   "\"path\":\"/tmp/\xef\xbf\xbd\",\"path_truncated\":false,"
		   "\"path_arg\":\"x\",\"target\":\"\",\"target_arg\":\"\",\"flags\":65,"
		   "\"mode\":420,\"uid\":0,\"gid\":0,\"result\":-13,\"dev\":66,"
		   "\"inode\":\"1234567890123\","
		   "\"mount\":{\"id\":31,\"fs_type\":\"overlay\",\"path\":\"/\","
		   "\"read_only\":false,\"root\":true},"
		   "\"upper_layer\":true,\"xattr\":\"\",\"layer\":\"\",\"path_bytes\":\"L3RtcC+A\","
		   "\"target_bytes\":\"\",\"path_arg_bytes\":\"\",\"target_arg_bytes\":\"\"}}");
}

TEST(pbjson_lost_event)
{
	Intact__V1__Event ev = INTACT__V1__EVENT__INIT;
	Intact__V1__Lost lost = INTACT__V1__LOST__INIT;

	lost.source = "kernel_ring_buffer";
	lost.count = 3;
	lost.total = 9007199254740993ull;
	ev.event = "lost";
	ev.body_case = INTACT__V1__EVENT__BODY_LOST;
	ev.lost = &lost;

	CHECK_JSON(&ev, "{\"seq\":\"0\",\"event\":\"lost\",\"boot_id\":\"\",\"node\":\"\","
			"\"rules\":[],\"host\":false,\"lost\":{\"source\":\"kernel_ring_buffer\","
			"\"count\":\"3\",\"total\":\"9007199254740993\"}}");
}

TEST(pbjson_oneof_only_set_member)
{
	Intact__V1__Event ev = INTACT__V1__EVENT__INIT;
	Intact__V1__AgentStatus status = INTACT__V1__AGENT_STATUS__INIT;

	/* The union shares storage: only the member named by body_case prints. */
	status.state = "stopping";
	ev.body_case = INTACT__V1__EVENT__BODY_STATUS;
	ev.status = &status;

	CHECK_JSON(&ev, "{\"seq\":\"0\",\"event\":\"\",\"boot_id\":\"\",\"node\":\"\","
			"\"rules\":[],\"host\":false,"
			"\"status\":{\"state\":\"stopping\",\"message\":\"\",\"file\":\"\"}}");
}

TEST(pbjson_enum_names)
{
	Intact__V1__ImageVerdict verdict = INTACT__V1__IMAGE_VERDICT__INIT;
	Intact__V1__LayerResult layer = INTACT__V1__LAYER_RESULT__INIT;
	Intact__V1__LayerResult *layers[] = {&layer};

	layer.index = 1;
	layer.differing_count = 2;
	verdict.verdict = INTACT__V1__VERDICT__VERDICT_LAYER_MISMATCH;
	verdict.n_layers = 1;
	verdict.layers = layers;
	CHECK_JSON(&verdict, "{\"verdict\":\"VERDICT_LAYER_MISMATCH\",\"image\":\"\","
			     "\"manifest\":\"\",\"key_id\":\"\",\"layers\":[{\"index\":1,"
			     "\"directory\":\"\",\"expected_digest\":\"\",\"actual_digest\":\"\","
			     "\"differing_paths\":[],\"differing_count\":2,\"match\":false}],"
			     "\"message\":\"\"}");

	verdict.verdict = INTACT__V1__VERDICT__VERDICT_UNSPECIFIED;
	verdict.n_layers = 0;
	CHECK_JSON(&verdict, "{\"verdict\":\"VERDICT_UNSPECIFIED\",\"image\":\"\","
			     "\"manifest\":\"\",\"key_id\":\"\",\"layers\":[],\"message\":\"\"}");

	/* A number with no name, as a newer sender may use, prints as the number. */
	verdict.verdict = (Intact__V1__Verdict)77;
	CHECK_JSON(&verdict, "{\"verdict\":77,\"image\":\"\","
			     "\"manifest\":\"\",\"key_id\":\"\",\"layers\":[],\"message\":\"\"}");
}

TEST(pbjson_bytes_base64_padding)
{
	static const struct {
		const char *in;
		const char *out;
	} cases[] = {
	    {"", "\"\""},	 {"f", "\"Zg==\""},	   {"fo", "\"Zm8=\""},
	    {"foo", "\"Zm9v\""}, {"foob", "\"Zm9vYg==\""}, {"\xfb\xff", "\"+/8=\""},
	};
	Intact__V1__Process process = INTACT__V1__PROCESS__INIT;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char expected[128];
		int r;
		char *text;

		process.exe_bytes.data = (uint8_t *)cases[i].in;
		process.exe_bytes.len = strlen(cases[i].in);
		text = json_of((const ProtobufCMessage *)&process, &r);
		CHECK_INT_EQ(r, 0);
		snprintf(expected, sizeof(expected), "\"exe_bytes\":%s,", cases[i].out);
		CHECK(text != NULL);
		CHECK(text);
		if (text)
			CHECK(strstr(text, expected) != NULL);
		if (text && !strstr(text, expected))
			fprintf(stderr, "  expected %s in %s\n", expected, text);
		free(text);
	}
}

TEST(pbjson_bytes_long_input)
{
	Intact__V1__Process process = INTACT__V1__PROCESS__INIT;
	uint8_t data[2000];
	char *text, *start;
	int r;

	/* Longer than one encoding chunk: 2000 bytes are 2668 characters, ending in "=". */
	memset(data, 0, sizeof(data));
	process.exe_bytes.data = data;
	process.exe_bytes.len = sizeof(data);
	text = json_of((const ProtobufCMessage *)&process, &r);
	CHECK_INT_EQ(r, 0);
	start = text ? strstr(text, "\"exe_bytes\":\"") : NULL;
	CHECK(start != NULL);
	if (start) {
		char *value = start + strlen("\"exe_bytes\":\"");
		size_t len = strcspn(value, "\"");

		CHECK_INT_EQ(len, 2668);
		CHECK_INT_EQ(strspn(value, "A"), 2667);
		CHECK(value[2667] == '=');
	}
	free(text);
}

TEST(pbjson_timestamp_fraction_digits)
{
	static const struct {
		int64_t seconds;
		int32_t nanos;
		const char *text;
	} cases[] = {
	    {0, 0, "\"1970-01-01T00:00:00Z\""},
	    {1700000000, 100000000, "\"2023-11-14T22:13:20.100Z\""},
	    {1700000000, 120000, "\"2023-11-14T22:13:20.000120Z\""},
	    {1700000000, 1, "\"2023-11-14T22:13:20.000000001Z\""},
	    {1700000000, 999999999, "\"2023-11-14T22:13:20.999999999Z\""},
	    {-1, 0, "\"1969-12-31T23:59:59Z\""},
	    {-62135596800, 0, "\"0001-01-01T00:00:00Z\""},
	    {253402300799, 0, "\"9999-12-31T23:59:59Z\""},
	    {951782400, 0, "\"2000-02-29T00:00:00Z\""},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;

		ts.seconds = cases[i].seconds;
		ts.nanos = cases[i].nanos;
		CHECK_JSON(&ts, cases[i].text);
	}
}

TEST(pbjson_timestamp_out_of_range)
{
	static const struct {
		int64_t seconds;
		int32_t nanos;
	} cases[] = {
	    {-62135596801, 0}, {253402300800, 0}, {0, -1}, {0, 1000000000}, {INT64_MIN, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
		Intact__V1__Event ev = INTACT__V1__EVENT__INIT;
		char *text;
		int r;

		ts.seconds = cases[i].seconds;
		ts.nanos = cases[i].nanos;
		ev.time = &ts;
		text = json_of((const ProtobufCMessage *)&ev, &r);
		CHECK_INT_EQ(r, -ERANGE);
		/* Nothing of a failed line reaches the output. */
		CHECK_STR_EQ(text, "");
		free(text);
	}
}

TEST(pbjson_subscribe_request)
{
	Intact__V1__SubscribeRequest req = INTACT__V1__SUBSCRIBE_REQUEST__INIT;

	req.rules_only = 1;
	req.pod_namespace = "shop";
	CHECK_JSON(&req, "{\"rules_only\":true,\"container_id\":\"\",\"pod_namespace\":\"shop\"}");
}

TEST(pbjson_null_strings_print_empty)
{
	Intact__V1__Pod pod = INTACT__V1__POD__INIT;

	pod.name = NULL;
	CHECK_JSON(&pod, "{\"name\":\"\",\"namespace\":\"\",\"uid\":\"\"}");
}

TEST(pbjson_invalid_utf8_escaped)
{
	Intact__V1__Pod pod = INTACT__V1__POD__INIT;

	/* A string that is not UTF-8 uses escape.h's \udcXX scheme, not raw bytes. */
	pod.name = "a\xff";
	CHECK_JSON(&pod, "{\"name\":\"a\\udcff\",\"namespace\":\"\",\"uid\":\"\"}");
}

TEST(pbjson_deep_nesting_rejected)
{
	Intact__V1__Event ev = INTACT__V1__EVENT__INIT;
	Intact__V1__Process chain[20];
	char *text;
	int r;

	for (size_t i = 0; i < 20; i++) {
		intact__v1__process__init(&chain[i]);
		chain[i].parent = i + 1 < 20 ? &chain[i + 1] : NULL;
	}
	ev.process = &chain[0];
	text = json_of((const ProtobufCMessage *)&ev, &r);
	CHECK_INT_EQ(r, -E2BIG);
	CHECK_STR_EQ(text, "");
	free(text);

	/* Depth 15 is the writer's limit: an event with 13 nested processes fits. */
	chain[12].parent = NULL;
	text = json_of((const ProtobufCMessage *)&ev, &r);
	CHECK_INT_EQ(r, 0);
	free(text);
}

TEST(pbjson_member_key)
{
	Intact__V1__Lost lost = INTACT__V1__LOST__INIT;
	struct json_writer w;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	lost.source = "subscriber_queue";
	json_writer_init(&w, f);
	jsonw_object_begin(&w, NULL);
	jsonw_cstring(&w, "kind", "x");
	CHECK_INT_EQ(pbjson_write(&w, "lost", (const ProtobufCMessage *)&lost), 0);
	jsonw_object_end(&w);
	fclose(f);
	CHECK_STR_EQ(text, "{\"kind\":\"x\",\"lost\":{\"source\":\"subscriber_queue\","
			   "\"count\":\"0\",\"total\":\"0\"}}");
	free(text);
}
