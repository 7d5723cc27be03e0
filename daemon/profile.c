#include "profile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t get32(const uint8_t *p) {
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int ib_profile_parse(const uint8_t *buf, size_t len, uint32_t block_count, uint32_t **blocks, uint32_t *n, char *why, size_t why_len) {
        *blocks = NULL;
        *n = 0;
        if (len < IB_PROFILE_HEADER || memcmp(buf, IB_PROFILE_MAGIC, 8) != 0) {
                snprintf(why, why_len, "it does not start with " IB_PROFILE_MAGIC);
                return -EINVAL;
        }
        uint32_t count = get32(buf + 8);
        if (count == 0 || count > block_count || get32(buf + 12) != 0 || len != IB_PROFILE_HEADER + (size_t)count * 4) {
                snprintf(why, why_len, "its count or length is not valid for an index of %u blocks", block_count);
                return -EINVAL;
        }
        uint32_t *out = malloc((size_t)count * sizeof(*out));
        uint8_t *seen = calloc(block_count, 1);
        if (!out || !seen) {
                free(out);
                free(seen);
                return -ENOMEM;
        }
        for (uint32_t i = 0; i < count; i++) {
                uint32_t b = get32(buf + IB_PROFILE_HEADER + (size_t)i * 4);
                if (b >= block_count || seen[b]) {
                        snprintf(why, why_len, "entry %u names block %u, %s", i, b, b >= block_count ? "past the index's end" : "twice");
                        free(out);
                        free(seen);
                        return -EINVAL;
                }
                seen[b] = 1;
                out[i] = b;
        }
        free(seen);
        *blocks = out;
        *n = count;
        return 0;
}
