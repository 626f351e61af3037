/* SPDX-License-Identifier: Apache-2.0 */
/* Reading whole files of bounded size, the way every parser here needs them. */
#pragma once

#include <stddef.h>

/*
 * Read fd to its end into a new buffer, NUL-terminated. Returns 0, -EFBIG
 * when it contains more than max bytes, -ENOMEM or a read error.
 */
int fd_read_all(int fd, size_t max, char **ret_data, size_t *ret_len);

/*
 * Read a regular file of at most max bytes (opened without blocking on a
 * FIFO). Returns 0, -EINVAL when it is not a regular file, -EFBIG, or an
 * open or read error.
 */
int file_read_all(const char *path, size_t max, char **ret_data, size_t *ret_len);
