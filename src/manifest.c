// SPDX-License-Identifier: Apache-2.0
/* Signed image manifests: JSON through jansson, signatures through OpenSSL EVP. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "manifest.h"

/* Ed25519 signatures have a fixed size (RFC 8032, section 5.1.6). */
#define ED25519_SIGNATURE_SIZE 64

static void bio_freep(BIO **bio)
{
	BIO_free(*bio);
}

__attribute__((format(printf, 3, 4))) static void error_set(char *err, size_t err_size,
							    const char *fmt, ...)
{
	va_list ap;

	if (!err || err_size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, err_size, fmt, ap);
	va_end(ap);
}

static const char *openssl_error(void)
{
	static __thread char text[256];
	unsigned long e = ERR_peek_last_error();

	if (!e)
		return "unknown error";
	ERR_error_string_n(e, text, sizeof(text));
	return text;
}

/* --- Building and writing --- */

/* A new JSON string, NULL when s is not valid UTF-8. */
static json_t *json_text(const char *s)
{
	return json_stringn(s, strlen(s));
}

static int text_copy(char **dst, const char *src)
{
	if (!src) {
		*dst = NULL;
		return 0;
	}
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

int manifest_new(const char *image, const char *manifest_digest, const char *config_digest,
		 const char *architecture, const char *os, const char *variant,
		 struct manifest **ret)
{
	struct manifest *m = calloc(1, sizeof(*m));
	int r;

	if (!m)
		return -ENOMEM;
	snprintf(m->manifest_digest, sizeof(m->manifest_digest), "%s", manifest_digest);
	snprintf(m->config_digest, sizeof(m->config_digest), "%s", config_digest);
	r = text_copy(&m->image, image ? image : "");
	if (r >= 0)
		r = text_copy(&m->architecture, architecture ? architecture : "");
	if (r >= 0)
		r = text_copy(&m->os, os ? os : "");
	if (r >= 0)
		r = text_copy(&m->variant, variant && variant[0] ? variant : NULL);
	if (r < 0) {
		manifest_free(m);
		return r;
	}
	*ret = m;
	return 0;
}

int manifest_layer_add(struct manifest *m, const char *blob_digest, const char *diff_id,
		       struct layer_digest *d)
{
	struct manifest_layer *grown, *l;

	if (m->n_layers >= MANIFEST_LAYERS_MAX)
		return -E2BIG;
	grown = realloc(m->layers, (m->n_layers + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	m->layers = grown;
	l = &m->layers[m->n_layers++];
	memset(l, 0, sizeof(*l));
	snprintf(l->blob_digest, sizeof(l->blob_digest), "%s", blob_digest);
	snprintf(l->diff_id, sizeof(l->diff_id), "%s", diff_id);
	snprintf(l->content_digest, sizeof(l->content_digest), "%s", d->digest);
	l->entries = d->entries;
	l->n_entries = d->n_entries;
	d->entries = NULL;
	d->n_entries = 0;
	return 0;
}

static void layer_entries_free(struct layer_entry *entries, size_t n)
{
	for (size_t i = 0; i < n; i++)
		layer_entry_clear(&entries[i]);
	free(entries);
}

void manifest_free(struct manifest *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n_layers; i++)
		layer_entries_free(m->layers[i].entries, m->layers[i].n_entries);
	free(m->layers);
	free(m->image);
	free(m->architecture);
	free(m->os);
	free(m->variant);
	free(m);
}

static char *base64_encode(const void *data, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);

	if (out)
		EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

/*
 * Decode standard base64 with padding, strictly: no whitespace, no stray
 * characters. Returns the decoded length or -EINVAL.
 */
static long base64_decode(const char *text, size_t len, uint8_t *out, size_t out_size)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t pad = 0;
	int n;

	if (len % 4 != 0 || len / 4 * 3 > out_size)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '=' && i >= len - 2) {
			pad++;
			continue;
		}
		if (pad || !text[i] || !memchr(alphabet, text[i], sizeof(alphabet) - 1))
			return -EINVAL;
	}
	n = EVP_DecodeBlock(out, (const unsigned char *)text, (int)len);
	if (n < 0)
		return -EINVAL;
	return n - (long)pad;
}

/* Set key to a string, or key_base64 to its base64 when it is not valid UTF-8 (jansson's rule). */
static int json_set_bytes(json_t *obj, const char *key, const char *s)
{
	char name[64];
	char *b64;
	json_t *j = json_text(s);

	if (j)
		return json_object_set_new(obj, key, j) == 0 ? 0 : -ENOMEM;
	b64 = base64_encode(s, strlen(s));
	if (!b64)
		return -ENOMEM;
	snprintf(name, sizeof(name), "%s_base64", key);
	j = json_text(b64);
	free(b64);
	return json_object_set_new(obj, name, j) == 0 ? 0 : -ENOMEM;
}

static json_t *entry_to_json(const struct layer_entry *e)
{
	json_t *j __attribute__((cleanup(json_decrefp))) = json_object();
	json_t *out;
	char hex[2 * SHA256_SIZE + 1];
	int r = 0;

	if (!j || json_set_bytes(j, "path", e->path) < 0)
		return NULL;
	r |= json_object_set_new(j, "type", json_text(layer_entry_type_name(e->type)));
	r |= json_object_set_new(j, "mode", json_integer(e->mode));
	r |= json_object_set_new(j, "uid", json_integer((json_int_t)e->uid));
	r |= json_object_set_new(j, "gid", json_integer((json_int_t)e->gid));
	if (e->type == LAYER_ENTRY_REGULAR) {
		hex_encode(e->sha256, SHA256_SIZE, hex);
		r |= json_object_set_new(j, "sha256", json_text(hex));
	}
	if (e->type == LAYER_ENTRY_SYMLINK && json_set_bytes(j, "target", e->target) < 0)
		return NULL;
	if (e->type == LAYER_ENTRY_CHAR || e->type == LAYER_ENTRY_BLOCK) {
		r |= json_object_set_new(j, "major", json_integer((json_int_t)e->major));
		r |= json_object_set_new(j, "minor", json_integer((json_int_t)e->minor));
	}
	if (e->opaque)
		r |= json_object_set_new(j, "opaque", json_true());
	if (e->n_xattrs > 0) {
		json_t *x = json_object();

		r |= json_object_set_new(j, "xattrs", x);
		for (size_t i = 0; x && i < e->n_xattrs; i++) {
			char *b64 = base64_encode(e->xattrs[i].value, e->xattrs[i].len);

			r |= json_object_set_new(x, e->xattrs[i].name, json_text(b64 ? b64 : ""));
			if (!b64)
				r = -1;
			free(b64);
		}
	}
	if (r != 0)
		return NULL;
	out = j;
	j = NULL;
	return out;
}

static json_t *layer_to_json(const struct manifest_layer *l)
{
	json_t *j __attribute__((cleanup(json_decrefp))) = json_object();
	json_t *files = json_array(), *out;
	int r = 0;

	if (!j || !files) {
		json_decref(files);
		return NULL;
	}
	r |= json_object_set_new(j, "files", files);
	r |= json_object_set_new(j, "blob_digest", json_text(l->blob_digest));
	r |= json_object_set_new(j, "diff_id", json_text(l->diff_id));
	r |= json_object_set_new(j, "content_digest", json_text(l->content_digest));
	for (size_t i = 0; r == 0 && i < l->n_entries; i++) {
		json_t *e = entry_to_json(&l->entries[i]);

		if (!e || json_array_append_new(files, e) != 0)
			return NULL;
	}
	if (r != 0)
		return NULL;
	out = j;
	j = NULL;
	return out;
}

int manifest_write(const struct manifest *m, char **ret_data, size_t *ret_len)
{
	json_t *j __attribute__((cleanup(json_decrefp))) = json_object();
	json_t *platform = json_object(), *layers = json_array();
	char *text, *data;
	size_t len;
	int r = 0;

	if (!j || !platform || !layers) {
		json_decref(platform);
		json_decref(layers);
		return -ENOMEM;
	}
	r |= json_object_set_new(j, "platform", platform);
	r |= json_object_set_new(j, "layers", layers);
	r |= json_object_set_new(j, "schema_version", json_integer(MANIFEST_SCHEMA_VERSION));
	r |= json_object_set_new(j, "manifest_digest", json_text(m->manifest_digest));
	r |= json_object_set_new(j, "config_digest", json_text(m->config_digest));
	r |= json_object_set_new(j, "key_id", json_text(m->key_id));
	r |= json_object_set_new(platform, "architecture", json_text(m->architecture));
	r |= json_object_set_new(platform, "os", json_text(m->os));
	if (m->variant)
		r |= json_object_set_new(platform, "variant", json_text(m->variant));
	if (r != 0 || json_set_bytes(j, "image", m->image) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < m->n_layers; i++) {
		json_t *l = layer_to_json(&m->layers[i]);

		if (!l || json_array_append_new(layers, l) != 0)
			return -ENOMEM;
	}

	/* Sorted keys, fixed indentation and ASCII-only output make the bytes a
	 * function of the content alone. */
	text = json_dumps(j, JSON_SORT_KEYS | JSON_INDENT(1) | JSON_ENSURE_ASCII);
	if (!text)
		return -ENOMEM;
	len = strlen(text);
	data = realloc(text, len + 2);
	if (!data) {
		free(text);
		return -ENOMEM;
	}
	data[len++] = '\n';
	data[len] = '\0';
	*ret_data = data;
	*ret_len = len;
	return 0;
}

/* --- Parsing --- */

struct parse {
	char *err;
	size_t err_size;
};

__attribute__((format(printf, 2, 3))) static int parse_fail(struct parse *p, const char *fmt, ...)
{
	va_list ap;

	if (p->err && p->err_size) {
		va_start(ap, fmt);
		vsnprintf(p->err, p->err_size, fmt, ap);
		va_end(ap);
	}
	return -EBADMSG;
}

/* A required string member, at most max bytes. */
static int member_string(struct parse *p, json_t *obj, const char *key, size_t max,
			 const char **ret)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_string(v))
		return parse_fail(p, "\"%s\" is missing or not a string", key);
	if (json_string_length(v) > max || strlen(json_string_value(v)) != json_string_length(v))
		return parse_fail(p, "\"%s\" is too long or contains a NUL", key);
	*ret = json_string_value(v);
	return 0;
}

static int member_digest(struct parse *p, json_t *obj, const char *key, char ret[DIGEST_TEXT_SIZE])
{
	uint8_t raw[SHA256_SIZE];
	const char *s;
	int r = member_string(p, obj, key, DIGEST_TEXT_SIZE, &s);

	if (r < 0)
		return r;
	if (digest_from_text(s, raw) < 0)
		return parse_fail(p, "\"%s\" is not a sha256:<64 hex digits> digest: %.80s", key,
				  s);
	memcpy(ret, s, DIGEST_TEXT_SIZE);
	return 0;
}

static int member_uint(struct parse *p, json_t *obj, const char *key, uint64_t max, uint64_t *ret)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max)
		return parse_fail(p, "\"%s\" is missing or not an integer from 0 to %ju", key,
				  (uintmax_t)max);
	*ret = (uint64_t)json_integer_value(v);
	return 0;
}

/* A byte string stored as KEY (UTF-8) or KEY_base64. Returns a malloc'd copy. */
static int member_bytes(struct parse *p, json_t *obj, const char *key, char **ret)
{
	char name[64];
	json_t *b64;
	const char *s;
	char *out;
	long n;

	snprintf(name, sizeof(name), "%s_base64", key);
	b64 = json_object_get(obj, name);
	if (!b64) {
		int r = member_string(p, obj, key, LAYER_PATH_MAX, &s);

		if (r < 0)
			return r;
		*ret = strdup(s);
		return *ret ? 0 : -ENOMEM;
	}
	if (!json_is_string(b64) || json_string_length(b64) > 2 * LAYER_PATH_MAX)
		return parse_fail(p, "\"%s\" is not a string of at most %d bytes", name,
				  2 * LAYER_PATH_MAX);
	out = malloc(json_string_length(b64) + 1);
	if (!out)
		return -ENOMEM;
	n = base64_decode(json_string_value(b64), json_string_length(b64), (uint8_t *)out,
			  json_string_length(b64));
	if (n < 0 || memchr(out, '\0', (size_t)n)) {
		free(out);
		return parse_fail(p, "\"%s\" is not valid base64 of a name", name);
	}
	out[n] = '\0';
	*ret = out;
	return 0;
}

static int entry_xattrs_parse(struct parse *p, json_t *obj, struct layer_entry *e)
{
	json_t *x = json_object_get(obj, "xattrs"), *v;
	const char *name;
	size_t n = 0;

	if (!x)
		return 0;
	if (!json_is_object(x) || json_object_size(x) > 16)
		return parse_fail(p, "\"xattrs\" of %s is not an object of at most 16 members",
				  e->path);
	e->xattrs = calloc(json_object_size(x) + 1, sizeof(*e->xattrs));
	if (!e->xattrs)
		return -ENOMEM;
	json_object_foreach(x, name, v)
	{
		struct layer_xattr *xa = &e->xattrs[n];
		long len;

		if (!layer_xattr_recorded(name) || !json_is_string(v) ||
		    json_string_length(v) > 2 * LAYER_XATTR_VALUE_MAX)
			return parse_fail(
			    p, "extended attribute %.64s of %s is not recorded or invalid", name,
			    e->path);
		xa->name = strdup(name);
		xa->value = malloc(json_string_length(v) + 1);
		e->n_xattrs = ++n;
		if (!xa->name || !xa->value)
			return -ENOMEM;
		len = base64_decode(json_string_value(v), json_string_length(v), xa->value,
				    json_string_length(v) + 1);
		if (len < 0)
			return parse_fail(p, "extended attribute %s of %s is not valid base64",
					  name, e->path);
		xa->len = (size_t)len;
	}
	/* jansson keeps insertion order: sort by name as the record requires. */
	for (size_t i = 1; i < n; i++)
		for (size_t k = i; k > 0 && strcmp(e->xattrs[k - 1].name, e->xattrs[k].name) > 0;
		     k--) {
			struct layer_xattr t = e->xattrs[k];

			e->xattrs[k] = e->xattrs[k - 1];
			e->xattrs[k - 1] = t;
		}
	return 0;
}

/*
 * Whether path is a layer path as the digest defines it: relative, its
 * components neither empty nor "." nor "..", so one file has one name.
 */
static bool path_canonical(const char *path)
{
	const char *c = path;

	if (!*path || *path == '/')
		return false;
	while (*c) {
		size_t n = strcspn(c, "/");

		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		c += n;
		if (*c == '/') {
			c++;
			if (!*c)
				return false;
		}
	}
	return true;
}

static int entry_parse(struct parse *p, json_t *obj, struct layer_entry *e)
{
	const char *type, *hex;
	uint64_t mode;
	json_t *opaque;
	int r;

	if (!json_is_object(obj))
		return parse_fail(p, "a file entry is not an object");
	r = member_bytes(p, obj, "path", &e->path);
	if (r < 0)
		return r;
	if (!path_canonical(e->path))
		return parse_fail(p,
				  "a file path is not in canonical form (relative, no empty, "
				  "\".\" or \"..\" component): %.200s",
				  e->path);
	r = member_string(p, obj, "type", 16, &type);
	if (r < 0)
		return r;
	if (layer_entry_type_from_name(type, &e->type) < 0)
		return parse_fail(p, "unknown file type \"%s\" of %s", type, e->path);
	r = member_uint(p, obj, "mode", 07777, &mode);
	if (r >= 0)
		r = member_uint(p, obj, "uid", INT64_MAX, &e->uid);
	if (r >= 0)
		r = member_uint(p, obj, "gid", INT64_MAX, &e->gid);
	if (r < 0)
		return r;
	e->mode = (uint32_t)mode;

	switch (e->type) {
	case LAYER_ENTRY_REGULAR:
		r = member_string(p, obj, "sha256", 2 * SHA256_SIZE, &hex);
		if (r < 0)
			return r;
		{
			char text[DIGEST_TEXT_SIZE];

			snprintf(text, sizeof(text), "sha256:%s", hex);
			if (digest_from_text(text, e->sha256) < 0)
				return parse_fail(p, "\"sha256\" of %s is not 64 hex digits",
						  e->path);
		}
		break;
	case LAYER_ENTRY_SYMLINK:
		r = member_bytes(p, obj, "target", &e->target);
		if (r < 0)
			return r;
		break;
	case LAYER_ENTRY_CHAR:
	case LAYER_ENTRY_BLOCK:
		r = member_uint(p, obj, "major", UINT32_MAX, &e->major);
		if (r >= 0)
			r = member_uint(p, obj, "minor", UINT32_MAX, &e->minor);
		if (r < 0)
			return r;
		break;
	default:
		break;
	}

	opaque = json_object_get(obj, "opaque");
	if (opaque && (!json_is_boolean(opaque) || e->type != LAYER_ENTRY_DIRECTORY))
		return parse_fail(p, "\"opaque\" of %s is not a boolean of a directory", e->path);
	e->opaque = json_is_true(opaque);
	return entry_xattrs_parse(p, obj, e);
}

static int layer_parse(struct parse *p, json_t *obj, size_t index, struct manifest_layer *l)
{
	json_t *files;
	char digest[DIGEST_TEXT_SIZE];
	int r;

	if (!json_is_object(obj))
		return parse_fail(p, "layer %zu is not an object", index);
	r = member_digest(p, obj, "blob_digest", l->blob_digest);
	if (r >= 0)
		r = member_digest(p, obj, "diff_id", l->diff_id);
	if (r >= 0)
		r = member_digest(p, obj, "content_digest", l->content_digest);
	if (r < 0)
		return r;
	files = json_object_get(obj, "files");
	if (!json_is_array(files) || json_array_size(files) > LAYER_DIGEST_MAX_ENTRIES_DEFAULT)
		return parse_fail(p, "\"files\" of layer %zu is not an array of at most %d entries",
				  index, LAYER_DIGEST_MAX_ENTRIES_DEFAULT);
	l->entries = calloc(json_array_size(files) + 1, sizeof(*l->entries));
	if (!l->entries)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(files); i++) {
		r = entry_parse(p, json_array_get(files, i), &l->entries[i]);
		l->n_entries = i + 1;
		if (r < 0)
			return r;
		/* The canonical list is sorted with no duplicates; anything else was not
		 * written by manifest_write(). */
		if (i > 0 && strcmp(l->entries[i - 1].path, l->entries[i].path) >= 0)
			return parse_fail(p,
					  "the files of layer %zu are not sorted by path at %.200s",
					  index, l->entries[i].path);
	}

	r = layer_entries_digest(l->entries, l->n_entries, digest);
	if (r < 0)
		return r;
	if (strcmp(digest, l->content_digest) != 0)
		return parse_fail(p,
				  "the files of layer %zu hash to %s, not to its content_digest %s",
				  index, digest, l->content_digest);
	return 0;
}

static int manifest_parse_json(struct parse *p, json_t *root, struct manifest *m)
{
	json_t *platform, *layers, *version, *variant;
	const char *s;
	int r;

	if (!json_is_object(root))
		return parse_fail(p, "the manifest is not a JSON object");
	version = json_object_get(root, "schema_version");
	if (!json_is_integer(version) || json_integer_value(version) != MANIFEST_SCHEMA_VERSION)
		return parse_fail(p, "\"schema_version\" is not %d", MANIFEST_SCHEMA_VERSION);

	r = member_bytes(p, root, "image", &m->image);
	if (r >= 0)
		r = member_digest(p, root, "manifest_digest", m->manifest_digest);
	if (r >= 0)
		r = member_digest(p, root, "config_digest", m->config_digest);
	if (r >= 0)
		r = member_string(p, root, "key_id", KEY_ID_SIZE - 1, &s);
	if (r < 0)
		return r;
	if (strlen(s) != KEY_ID_SIZE - 1 || strspn(s, "0123456789abcdef") != KEY_ID_SIZE - 1)
		return parse_fail(p, "\"key_id\" is not 64 lowercase hex digits");
	memcpy(m->key_id, s, KEY_ID_SIZE);

	platform = json_object_get(root, "platform");
	if (!json_is_object(platform))
		return parse_fail(p, "\"platform\" is missing or not an object");
	r = member_string(p, platform, "architecture", 64, &s);
	if (r < 0 || !(m->architecture = strdup(s)))
		return r < 0 ? r : -ENOMEM;
	r = member_string(p, platform, "os", 64, &s);
	if (r < 0 || !(m->os = strdup(s)))
		return r < 0 ? r : -ENOMEM;
	variant = json_object_get(platform, "variant");
	if (variant) {
		r = member_string(p, platform, "variant", 64, &s);
		if (r < 0 || !(m->variant = strdup(s)))
			return r < 0 ? r : -ENOMEM;
	}

	layers = json_object_get(root, "layers");
	if (!json_is_array(layers) || json_array_size(layers) == 0 ||
	    json_array_size(layers) > MANIFEST_LAYERS_MAX)
		return parse_fail(p, "\"layers\" is not an array of 1 to %d layers",
				  MANIFEST_LAYERS_MAX);
	m->layers = calloc(json_array_size(layers), sizeof(*m->layers));
	if (!m->layers)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(layers); i++) {
		m->n_layers = i + 1;
		r = layer_parse(p, json_array_get(layers, i), i, &m->layers[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

int manifest_parse(const char *data, size_t len, struct manifest **ret, char *err, size_t err_size)
{
	struct parse p = {.err = err, .err_size = err_size};
	json_t *root __attribute__((cleanup(json_decrefp))) = NULL;
	struct manifest *m;
	json_error_t jerr;
	int r;

	*ret = NULL;
	if (len > MANIFEST_SIZE_MAX)
		return parse_fail(&p, "the manifest is larger than %d bytes", MANIFEST_SIZE_MAX);
	root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return parse_fail(&p, "invalid JSON at line %d: %s", jerr.line, jerr.text);
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	r = manifest_parse_json(&p, root, m);
	if (r < 0) {
		manifest_free(m);
		return r;
	}
	*ret = m;
	return 0;
}

/* --- Comparison --- */

const char *manifest_difference_kind_name(enum manifest_difference_kind kind)
{
	switch (kind) {
	case MANIFEST_FILE_ADDED:
		return "added";
	case MANIFEST_FILE_REMOVED:
		return "removed";
	case MANIFEST_FILE_MODIFIED:
		return "modified";
	}
	return "?";
}

void manifest_differences_free(struct manifest_difference *list, size_t n)
{
	for (size_t i = 0; list && i < n; i++)
		free(list[i].path);
	free(list);
}

int manifest_layer_compare(const struct manifest_layer *layer, const struct layer_digest *d,
			   size_t max_listed, struct manifest_difference **ret_list,
			   size_t *ret_n_listed, size_t *ret_count)
{
	struct manifest_difference *list = calloc(max_listed + 1, sizeof(*list));
	size_t i = 0, k = 0, n = 0, count = 0;

	if (!list)
		return -ENOMEM;
	/* Both lists are sorted by path: one merge pass. */
	while (i < layer->n_entries || k < d->n_entries) {
		const struct layer_entry *want = i < layer->n_entries ? &layer->entries[i] : NULL;
		const struct layer_entry *have = k < d->n_entries ? &d->entries[k] : NULL;
		enum manifest_difference_kind kind;
		const char *path;
		int c;

		/* An entry only one list still has sorts first. */
		if (!want)
			c = 1;
		else if (!have)
			c = -1;
		else
			c = strcmp(want->path, have->path);

		if (c < 0) {
			kind = MANIFEST_FILE_REMOVED;
			path = want->path;
			i++;
		} else if (c > 0) {
			kind = MANIFEST_FILE_ADDED;
			path = have->path;
			k++;
		} else {
			i++;
			k++;
			if (layer_entry_equal(want, have))
				continue;
			kind = MANIFEST_FILE_MODIFIED;
			path = want->path;
		}
		count++;
		if (n == max_listed)
			continue;
		list[n].kind = kind;
		list[n].path = strdup(path);
		if (!list[n].path) {
			manifest_differences_free(list, n);
			return -ENOMEM;
		}
		n++;
	}
	*ret_list = list;
	*ret_n_listed = n;
	*ret_count = count;
	return 0;
}

/* --- Keys and signatures --- */

static int key_check_type(EVP_PKEY *key, const char *path, char *err, size_t err_size)
{
	char group[64];

	if (EVP_PKEY_is_a(key, "ED25519"))
		return 0;
	if (EVP_PKEY_is_a(key, "EC") &&
	    EVP_PKEY_get_group_name(key, group, sizeof(group), NULL) == 1 &&
	    strcmp(group, "prime256v1") == 0)
		return 0;
	error_set(err, err_size, "unsupported key type in %s: expected ECDSA P-256 or Ed25519",
		  path);
	return -EINVAL;
}

static int key_load(const char *path, bool private, EVP_PKEY **ret, char *err, size_t err_size)
{
	char *pem __attribute__((cleanup(freep))) = NULL;
	BIO *bio __attribute__((cleanup(bio_freep))) = NULL;
	EVP_PKEY *key;
	size_t len;
	int r;

	r = file_read_all(path, MANIFEST_KEY_SIZE_MAX, &pem, &len);
	if (r < 0) {
		error_set(err, err_size, "failed to read the key %s: %s", path, strerror(-r));
		return r;
	}
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio)
		return -ENOMEM;
	ERR_clear_error();
	key = private ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)
		      : PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	OPENSSL_cleanse(pem, len);
	if (!key) {
		error_set(err, err_size, "invalid %s key in %s: %s", private ? "private" : "public",
			  path, openssl_error());
		return -EINVAL;
	}
	r = key_check_type(key, path, err, err_size);
	if (r < 0) {
		EVP_PKEY_free(key);
		return r;
	}
	*ret = key;
	return 0;
}

int key_load_private(const char *path, EVP_PKEY **ret, char *err, size_t err_size)
{
	return key_load(path, true, ret, err, err_size);
}

int key_load_public(const char *path, EVP_PKEY **ret, char *err, size_t err_size)
{
	return key_load(path, false, ret, err, err_size);
}

int key_parse_public(const char *pem, size_t len, EVP_PKEY **ret, char *err, size_t err_size)
{
	BIO *bio __attribute__((cleanup(bio_freep))) = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *key;
	int r;

	if (!bio)
		return -ENOMEM;
	ERR_clear_error();
	key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	if (!key) {
		error_set(err, err_size, "invalid public key: %s", openssl_error());
		return -EINVAL;
	}
	r = key_check_type(key, "the PEM data", err, err_size);
	if (r < 0) {
		EVP_PKEY_free(key);
		return r;
	}
	*ret = key;
	return 0;
}

int key_id_compute(EVP_PKEY *key, char ret[KEY_ID_SIZE])
{
	unsigned char *der = NULL;
	uint8_t md[SHA256_SIZE];
	int len = i2d_PUBKEY(key, &der);

	if (len <= 0)
		return -EINVAL;
	if (EVP_Digest(der, (size_t)len, md, NULL, EVP_sha256(), NULL) != 1) {
		OPENSSL_free(der);
		return -EIO;
	}
	OPENSSL_free(der);
	hex_encode(md, SHA256_SIZE, ret);
	return 0;
}

/* SHA-256 for ECDSA; Ed25519 hashes internally and takes no digest (RFC 8032). */
static const EVP_MD *key_digest(EVP_PKEY *key)
{
	return EVP_PKEY_is_a(key, "ED25519") ? NULL : EVP_sha256();
}

int manifest_sign(EVP_PKEY *key, const void *data, size_t len, char **ret_text)
{
	EVP_MD_CTX *ctx __attribute__((cleanup(md_ctx_freep))) = EVP_MD_CTX_new();
	uint8_t *sig __attribute__((cleanup(freep))) = NULL;
	size_t sig_len = 0, text_len;
	char *text;

	if (!ctx || EVP_DigestSignInit(ctx, NULL, key_digest(key), NULL, key) != 1 ||
	    EVP_DigestSign(ctx, NULL, &sig_len, data, len) != 1)
		return -EINVAL;
	sig = malloc(sig_len);
	if (!sig)
		return -ENOMEM;
	if (EVP_DigestSign(ctx, sig, &sig_len, data, len) != 1)
		return -EINVAL;
	text = base64_encode(sig, sig_len);
	if (!text)
		return -ENOMEM;
	text_len = strlen(text);
	*ret_text = realloc(text, text_len + 2);
	if (!*ret_text) {
		free(text);
		return -ENOMEM;
	}
	memcpy(*ret_text + text_len, "\n", 2);
	return 0;
}

int manifest_verify(EVP_PKEY *key, const void *data, size_t len, const char *sig_text,
		    size_t sig_len, char *err, size_t err_size)
{
	EVP_MD_CTX *ctx __attribute__((cleanup(md_ctx_freep))) = EVP_MD_CTX_new();
	uint8_t sig[MANIFEST_SIGNATURE_SIZE_MAX];
	long n;
	int k;

	if (!ctx)
		return -ENOMEM;
	while (sig_len > 0 && (sig_text[sig_len - 1] == '\n' || sig_text[sig_len - 1] == '\r'))
		sig_len--;
	if (sig_len == 0) {
		error_set(err, err_size, "the signature file is empty");
		return -EBADMSG;
	}
	n = base64_decode(sig_text, sig_len, sig, sizeof(sig));
	if (n <= 0) {
		error_set(
		    err, err_size,
		    "the signature is not valid base64 (%zu characters): truncated or damaged",
		    sig_len);
		return -EBADMSG;
	}

	if (EVP_PKEY_is_a(key, "ED25519")) {
		if (n != ED25519_SIGNATURE_SIZE) {
			error_set(
			    err, err_size,
			    "the Ed25519 signature has %ld bytes, not %d: truncated or damaged", n,
			    ED25519_SIGNATURE_SIZE);
			return -EBADMSG;
		}
	} else {
		const unsigned char *der = sig;
		ECDSA_SIG *parsed = d2i_ECDSA_SIG(NULL, &der, n);

		if (!parsed || der != sig + n) {
			ECDSA_SIG_free(parsed);
			error_set(err, err_size,
				  "the ECDSA signature (%ld bytes) is not valid DER: truncated or "
				  "damaged",
				  n);
			return -EBADMSG;
		}
		ECDSA_SIG_free(parsed);
	}

	ERR_clear_error();
	if (EVP_DigestVerifyInit(ctx, NULL, key_digest(key), NULL, key) != 1)
		return -EINVAL;
	k = EVP_DigestVerify(ctx, sig, (size_t)n, data, len);
	if (k != 1) {
		error_set(err, err_size,
			  "the signature does not match: the manifest was changed after signing, "
			  "or another key signed it");
		return -EKEYREJECTED;
	}
	return 0;
}
