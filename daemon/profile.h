/* A published boot profile (inetboot publish --profile; README "Boot profiles"): the blocks a
 * system's boots read, in the order they first read them, which the daemon fetches ahead of the
 * reads. It is named by its sha256 in the manifest, beside the index it numbers the blocks of:
 *
 *   offset size
 *   0      8    magic "IBPROFL1"
 *   8      4    count, at least 1, at most the index's block count
 *   12     4    zero
 *   16     4 * count block numbers, each below the index's block count, none twice
 *
 * All numbers little-endian; the file is exactly 16 + 4 * count bytes.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define IB_PROFILE_MAGIC "IBPROFL1"
#define IB_PROFILE_HEADER 16

/* Parses a profile from untrusted bytes against an index of block_count blocks. Returns 0 and
 * *blocks (malloc'ed, *n of them), or -EINVAL with why / -ENOMEM. */
int ib_profile_parse(const uint8_t *buf, size_t len, uint32_t block_count, uint32_t **blocks, uint32_t *n, char *why, size_t why_len);
