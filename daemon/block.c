#include "block.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <zstd.h>

void ib_sha256(const uint8_t *data, size_t len, uint8_t out[32]) {
        unsigned int n = 32;
        EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

int ib_block_decode(const struct ib_index *idx, uint32_t i, const uint8_t *stored, size_t stored_len, uint8_t *out, char *why, size_t why_len) {
        const struct ib_block *b = &idx->blocks[i];
        if (stored_len != b->stored_size) {
                snprintf(why, why_len, "%zu bytes instead of %u", stored_len, b->stored_size);
                return -EBADMSG;
        }
        return ib_block_check(idx, i, stored, stored_len, out, why, why_len);
}

int ib_block_check(const struct ib_index *idx, uint32_t i, const uint8_t *stored, size_t stored_len, uint8_t *out, char *why, size_t why_len) {
        const struct ib_block *b = &idx->blocks[i];
        uint32_t len = ib_block_length(idx, i);
        if (b->codec == IB_CODEC_RAW) {
                if (stored_len != len) {
                        snprintf(why, why_len, "%zu bytes instead of %u", stored_len, len);
                        return -EBADMSG;
                }
                memcpy(out, stored, len);
        } else {
                /* The frame must decode to exactly the block's length, into a buffer of that size. */
                unsigned long long declared = ZSTD_getFrameContentSize(stored, stored_len);
                if (declared != len) {
                        snprintf(why, why_len, "its zstd frame does not declare %u bytes", len);
                        return -EBADMSG;
                }
                size_t got = ZSTD_decompress(out, len, stored, stored_len);
                if (ZSTD_isError(got) || got != len) {
                        snprintf(why, why_len, "it does not decompress: %s", ZSTD_isError(got) ? ZSTD_getErrorName(got) : "wrong length");
                        return -EBADMSG;
                }
        }
        uint8_t sha[32];
        ib_sha256(out, len, sha);
        if (memcmp(sha, b->sha256, 32) != 0) {
                char hex[65];
                ib_hex(sha, 32, hex);
                snprintf(why, why_len, "sha256 mismatch (got %s)", hex);
                return -EBADMSG;
        }
        return 0;
}
