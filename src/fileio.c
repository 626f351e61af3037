// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"

#define READ_CHUNK (64 * 1024)

int fd_read_all(int fd, size_t max, char **ret_data, size_t *ret_len)
{
	size_t capacity = 0, len = 0;
	char *data = NULL;

	if (max > (size_t)-1 / 2)
		return -EINVAL;

	for (;;) {
		ssize_t n;

		/*
		 * Keep room for a NUL, and let the buffer reach max + 1 bytes of
		 * data so that a file larger than max is distinguished from one of max.
		 */
		if (capacity - len < 2) {
			size_t grown_capacity = capacity ? capacity * 2 : READ_CHUNK;
			char *grown;

			if (grown_capacity > max + 2)
				grown_capacity = max + 2;
			grown = realloc(data, grown_capacity);
			if (!grown) {
				free(data);
				return -ENOMEM;
			}
			data = grown;
			capacity = grown_capacity;
		}
		n = read(fd, data + len, capacity - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = -errno;

			free(data);
			return r;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			free(data);
			return -EFBIG;
		}
	}
	data[len] = '\0';
	*ret_data = data;
	*ret_len = len;
	return 0;
}

int file_read_all(const char *path, size_t max, char **ret_data, size_t *ret_len)
{
	struct stat st;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
	} else if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
	} else if ((unsigned long long)st.st_size > max) {
		r = -EFBIG;
	} else {
		r = fd_read_all(fd, max, ret_data, ret_len);
	}
	close(fd);
	return r;
}
