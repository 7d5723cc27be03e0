/* The block index of a published image (inetboot publish; README "Publishing a root"):
 *
 *   offset size
 *   0      8    magic "IBINDEX1"
 *   8      4    block size, a power of two from 64 KiB to 4 MiB
 *   12     4    block count, at least 1
 *   16     8    image size in bytes: more than (count - 1) * block size, at most count * block size
 *   24     8    zero
 *   32     40 * count records, in image order:
 *            0   32  SHA-256 of the block's uncompressed bytes (the last block: of its
 *                    image size % block size bytes when that is not 0; no padding)
 *            32  4   stored size: the bytes of its file (raw: exactly the block's length;
 *                    zstd: 1 to ZSTD_compressBound(block size))
 *            36  1   codec: 0 raw (blocks/HH/HASH), 1 zstd (blocks/HH/HASH.zst)
 *            37  3   zero
 * All numbers little-endian. The file is exactly 32 + 40 * count bytes. A block's file is named
 * by its hash, so identical blocks are stored once and a name never changes content.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define IB_INDEX_MAGIC "IBINDEX1"
#define IB_INDEX_HEADER 32
#define IB_INDEX_RECORD 40
#define IB_MIN_BLOCK_SIZE (64u * 1024u)
#define IB_MAX_BLOCK_SIZE (4u * 1024u * 1024u)
/* 2^24 blocks of 4 MiB are 64 TiB: far above any root filesystem, and it keeps every size
 * computation below far from overflowing. */
#define IB_MAX_BLOCKS (1u << 24)

enum ib_codec {
        IB_CODEC_RAW = 0,
        IB_CODEC_ZSTD = 1,
};

struct ib_block {
        uint8_t sha256[32];
        uint32_t stored_size;
        uint8_t codec;
};

struct ib_index {
        uint32_t block_size;
        uint32_t block_count;
        uint64_t image_size;
        struct ib_block *blocks;
};

/* Parses an index from untrusted bytes. Returns 0, or -EINVAL (bad format) / -ENOMEM, and on
 * failure writes why to `why` (a sentence without a final period). */
int ib_index_parse(const uint8_t *buf, size_t len, struct ib_index *idx, char *why, size_t why_len);
void ib_index_free(struct ib_index *idx);

/* The uncompressed length of block i. */
uint32_t ib_block_length(const struct ib_index *idx, uint32_t i);

/* Serialises an index; *out is malloc'ed. Returns 0 or -ENOMEM. */
int ib_index_write(const struct ib_index *idx, uint8_t **out, size_t *out_len);

/* "HH/HASH" or "HH/HASH.zst": the block's file below blocks/. buf holds at least 72 bytes. */
void ib_block_name(const struct ib_block *b, char *buf, size_t len);

void ib_hex(const uint8_t *bytes, size_t n, char *out);
