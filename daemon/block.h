/* A block as it travels: its stored bytes are decoded (zstd or raw) into exactly its length, and
 * its SHA-256 compared with the index before a byte of it is used. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "index.h"

void ib_sha256(const uint8_t *data, size_t len, uint8_t out[32]);

/* Decodes `stored` (stored_len bytes, as block b of the index) into out (exactly
 * ib_block_length() bytes) and checks its hash. Returns 0, or -EBADMSG with why. */
int ib_block_decode(const struct ib_index *idx, uint32_t i, const uint8_t *stored, size_t stored_len, uint8_t *out, char *why, size_t why_len);

/* The same without the index's stored size: for a block file of the local cache, which another
 * zstd may have made (bounded by the caller). */
int ib_block_check(const struct ib_index *idx, uint32_t i, const uint8_t *stored, size_t stored_len, uint8_t *out, char *why, size_t why_len);
