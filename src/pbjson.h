/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Prints any protobuf-c message as proto3 JSON
 * (https://protobuf.dev/programming-guides/json/), driven by its descriptor.
 * The printer options are fixed: fields keep their .proto names, and fields
 * without presence are printed even when they hold the default value, so
 * "rules":[] and "exe_truncated":false always appear. Unset sub-messages,
 * unset oneof members and unset proto3 "optional" fields are omitted.
 */
#pragma once

#include <protobuf-c/protobuf-c.h>
#include <stdio.h>

#include "json.h"

/*
 * Writes msg as a JSON object member named key (NULL at the top level and in
 * arrays). Returns 0, -E2BIG when the message nests deeper than the writer's
 * JSON_DEPTH_MAX, or -ERANGE for a Timestamp outside years 0001..9999. On
 * error, part of the message may already be written.
 */
int pbjson_write(struct json_writer *w, const char *key, const ProtobufCMessage *msg);

/*
 * Writes msg to f as one JSON object and a newline. The line is built in
 * memory first, so on error nothing is written. Returns 0, an error of
 * pbjson_write(), -ENOMEM, or -EIO when writing to f failed.
 */
int pbjson_fprint_line(FILE *f, const ProtobufCMessage *msg);
