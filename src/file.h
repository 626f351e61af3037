/* SPDX-License-Identifier: Apache-2.0 */
/* File records: resolve the names, apply the write policy, report what it flags. */
#pragma once

#include <stddef.h>

#include "daemon.h"
#include "intact/events.h"

int file_record_handle(struct daemon *d, const struct intact_file *e, size_t size);
