/* SPDX-License-Identifier: Apache-2.0 */
/* Exec records: the rules they match and the JSON event they become. */
#pragma once

#include <stddef.h>

#include "daemon.h"
#include "intact/events.h"

int exec_record_handle(struct daemon *d, const struct intact_exec *e, size_t size);
void exit_record_handle(struct daemon *d, const struct intact_exit *e);
