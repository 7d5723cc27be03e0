/* The block index of a published image (inetboot publish; README "Publishing a root"). The
 * image is cut where its content says (content-defined blocks, chunk.h), so each block has a
 * length of its own:
 *
 *   offset size
 *   0      8    magic "IBINDEX2"
 *   8      4    block size: the average length the publisher cut for, a power of two from
 *               64 KiB to 1 MiB (what read-ahead counts in); no block is longer than 4 MiB
 *   12     4    block count, at least 1, at most 2^24
 *   16     8    image size in bytes: the sum of the blocks' lengths
 *   24     8    zero
 *   32     48 * count records, in image order:
 *            0   32  SHA-256 of the block's uncompressed bytes
 *            32  4   stored size: the bytes of its file (raw: exactly the block's length;
 *                    zstd: 1 to ZSTD_compressBound(length))
 *            36  4   length: its uncompressed bytes, 1 to 4 MiB
 *            40  1   codec: 0 raw (blocks/HH/HASH), 1 zstd (blocks/HH/HASH.zst)
 *            41  7   zero
 * All numbers little-endian. The file is exactly 32 + 48 * count bytes. A block's file is named
 * by its hash, so identical blocks are stored once and a name never changes content.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define IB_INDEX_MAGIC "IBINDEX2"
#define IB_INDEX_HEADER 32
#define IB_INDEX_RECORD 48
#define IB_MIN_BLOCK_SIZE (64u * 1024u)
#define IB_MAX_BLOCK_SIZE (1024u * 1024u)
/* The longest block: 4 times the largest average (chunk.h cuts at 4 times the average). */
#define IB_MAX_BLOCK_LEN (4u * 1024u * 1024u)
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
        uint32_t length;
        uint8_t codec;
};

struct ib_index {
        uint32_t block_size; /* the average the publisher cut for */
        uint32_t block_count;
        uint64_t image_size;
        struct ib_block *blocks;
        uint64_t *offsets; /* block_count + 1 entries: where each block starts, then the image size */
};

/* Parses an index from untrusted bytes. Returns 0, or -EINVAL (bad format) / -ENOMEM, and on
 * failure writes why to `why` (a sentence without a final period). */
int ib_index_parse(const uint8_t *buf, size_t len, struct ib_index *idx, char *why, size_t why_len);
void ib_index_free(struct ib_index *idx);

/* The uncompressed length of block i. */
uint32_t ib_block_length(const struct ib_index *idx, uint32_t i);
/* The block that holds byte off of the image (off < image_size). */
uint32_t ib_block_at(const struct ib_index *idx, uint64_t off);

/* Fills idx->offsets from the blocks' lengths (a packer's index). Returns 0 or -ENOMEM. */
int ib_index_offsets(struct ib_index *idx);

/* Serialises an index; *out is malloc'ed. Returns 0 or -ENOMEM. */
int ib_index_write(const struct ib_index *idx, uint8_t **out, size_t *out_len);

/* "HH/HASH" or "HH/HASH.zst": the block's file below blocks/. buf holds at least 72 bytes. */
void ib_block_name(const struct ib_block *b, char *buf, size_t len);

void ib_hex(const uint8_t *bytes, size_t n, char *out);
