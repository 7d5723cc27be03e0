#include "index.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

static uint32_t get32(const uint8_t *p) {
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p) {
        return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void put32(uint8_t *p, uint32_t v) {
        for (int i = 0; i < 4; i++)
                p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v) {
        put32(p, (uint32_t)v);
        put32(p + 4, (uint32_t)(v >> 32));
}

static int refuse(char *why, size_t why_len, const char *text) {
        snprintf(why, why_len, "%s", text);
        return -EINVAL;
}

int ib_index_parse(const uint8_t *buf, size_t len, struct ib_index *idx, char *why, size_t why_len) {
        memset(idx, 0, sizeof(*idx));
        if (len < IB_INDEX_HEADER)
                return refuse(why, why_len, "the index is shorter than its header");
        if (memcmp(buf, IB_INDEX_MAGIC, 8) != 0)
                return refuse(why, why_len, "the index does not start with " IB_INDEX_MAGIC " (made by another inetboot version?)");
        uint32_t bs = get32(buf + 8), count = get32(buf + 12);
        uint64_t size = get64(buf + 16);
        if (bs < IB_MIN_BLOCK_SIZE || bs > IB_MAX_BLOCK_SIZE || (bs & (bs - 1)) != 0)
                return refuse(why, why_len, "the block size is not a power of two from 64 KiB to 1 MiB");
        if (count == 0 || count > IB_MAX_BLOCKS)
                return refuse(why, why_len, "the block count is 0 or above 2^24");
        if (get64(buf + 24) != 0)
                return refuse(why, why_len, "the reserved header bytes are not zero");
        /* Each block holds 1 to IB_MAX_BLOCK_LEN bytes; count <= 2^24 and the length <= 2^22:
         * these products and the sum below fit in 64 bits with room to spare. */
        if (size < count || size > (uint64_t)count * IB_MAX_BLOCK_LEN)
                return refuse(why, why_len, "the image size does not match the block count");
        if (len != IB_INDEX_HEADER + (size_t)count * IB_INDEX_RECORD)
                return refuse(why, why_len, "the index length does not match its block count");

        struct ib_block *blocks = calloc(count, sizeof(*blocks));
        uint64_t *offsets = calloc((size_t)count + 1, sizeof(*offsets));
        if (!blocks || !offsets) {
                free(blocks);
                free(offsets);
                return -ENOMEM;
        }
        uint64_t at = 0;
        for (uint32_t i = 0; i < count; i++) {
                const uint8_t *r = buf + IB_INDEX_HEADER + (size_t)i * IB_INDEX_RECORD;
                struct ib_block *b = &blocks[i];
                memcpy(b->sha256, r, 32);
                b->stored_size = get32(r + 32);
                b->length = get32(r + 36);
                b->codec = r[40];
                int bad = r[41] || r[42] || r[43] || r[44] || r[45] || r[46] || r[47];
                bad |= b->length == 0 || b->length > IB_MAX_BLOCK_LEN;
                if (b->codec == IB_CODEC_RAW)
                        bad |= b->stored_size != b->length;
                else if (b->codec == IB_CODEC_ZSTD)
                        bad |= b->stored_size == 0 || b->stored_size > ZSTD_compressBound(b->length);
                else
                        bad = 1;
                if (bad) {
                        free(blocks);
                        free(offsets);
                        snprintf(why, why_len, "block %u: its length, codec, stored size or padding is not valid", i);
                        return -EINVAL;
                }
                offsets[i] = at;
                at += b->length;
        }
        if (at != size) {
                free(blocks);
                free(offsets);
                return refuse(why, why_len, "the blocks' lengths do not add up to the image size");
        }
        offsets[count] = at;
        idx->block_size = bs;
        idx->block_count = count;
        idx->image_size = size;
        idx->blocks = blocks;
        idx->offsets = offsets;
        return 0;
}

void ib_index_free(struct ib_index *idx) {
        free(idx->blocks);
        free(idx->offsets);
        idx->blocks = NULL;
        idx->offsets = NULL;
}

uint32_t ib_block_length(const struct ib_index *idx, uint32_t i) {
        return idx->blocks[i].length;
}

uint32_t ib_block_at(const struct ib_index *idx, uint64_t off) {
        /* The last block whose start is at or before off. */
        uint32_t lo = 0, hi = idx->block_count - 1;
        while (lo < hi) {
                uint32_t mid = lo + (hi - lo + 1) / 2;
                if (idx->offsets[mid] <= off)
                        lo = mid;
                else
                        hi = mid - 1;
        }
        return lo;
}

int ib_index_offsets(struct ib_index *idx) {
        free(idx->offsets);
        idx->offsets = calloc((size_t)idx->block_count + 1, sizeof(*idx->offsets));
        if (!idx->offsets)
                return -ENOMEM;
        uint64_t at = 0;
        for (uint32_t i = 0; i < idx->block_count; i++) {
                idx->offsets[i] = at;
                at += idx->blocks[i].length;
        }
        idx->offsets[idx->block_count] = at;
        return 0;
}

int ib_index_write(const struct ib_index *idx, uint8_t **out, size_t *out_len) {
        size_t len = IB_INDEX_HEADER + (size_t)idx->block_count * IB_INDEX_RECORD;
        uint8_t *buf = calloc(1, len);
        if (!buf)
                return -ENOMEM;
        memcpy(buf, IB_INDEX_MAGIC, 8);
        put32(buf + 8, idx->block_size);
        put32(buf + 12, idx->block_count);
        put64(buf + 16, idx->image_size);
        for (uint32_t i = 0; i < idx->block_count; i++) {
                uint8_t *r = buf + IB_INDEX_HEADER + (size_t)i * IB_INDEX_RECORD;
                memcpy(r, idx->blocks[i].sha256, 32);
                put32(r + 32, idx->blocks[i].stored_size);
                put32(r + 36, idx->blocks[i].length);
                r[40] = idx->blocks[i].codec;
        }
        *out = buf;
        *out_len = len;
        return 0;
}

void ib_hex(const uint8_t *bytes, size_t n, char *out) {
        static const char digits[] = "0123456789abcdef";
        for (size_t i = 0; i < n; i++) {
                out[2 * i] = digits[bytes[i] >> 4];
                out[2 * i + 1] = digits[bytes[i] & 15];
        }
        out[2 * n] = '\0';
}

void ib_block_name(const struct ib_block *b, char *buf, size_t len) {
        char hex[65];
        ib_hex(b->sha256, 32, hex);
        snprintf(buf, len, "%.2s/%s%s", hex, hex, b->codec == IB_CODEC_ZSTD ? ".zst" : "");
}
