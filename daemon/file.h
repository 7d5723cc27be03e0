/* Reading a whole regular file of bounded size (the CA bundle, a block file being reused). */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Reads PATH, a regular file of at most max bytes, into a malloc'ed buffer. Returns 0, or
 * -errno (-EINVAL: not a regular file, or larger than max; -EIO: it changed while read). */
int ib_read_file(const char *path, size_t max, uint8_t **out, size_t *len);
/* The same for PATH relative to the directory dirfd (not following a final symbolic link). */
int ib_read_file_at(int dirfd, const char *path, size_t max, uint8_t **out, size_t *len);
