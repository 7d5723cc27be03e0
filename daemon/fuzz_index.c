/* libFuzzer target of the index parser (make fuzz): any bytes, no crash, no leak, and an index
 * it accepts is one whose every field is in range. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <zstd.h>

#include "index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct ib_index idx;
        char why[160];
        if (ib_index_parse(data, size, &idx, why, sizeof(why)) == 0) {
                uint64_t total = 0;
                for (uint32_t i = 0; i < idx.block_count; i++) {
                        uint32_t len = ib_block_length(&idx, i);
                        assert(len > 0 && len <= IB_MAX_BLOCK_LEN);
                        assert(idx.blocks[i].codec <= IB_CODEC_ZSTD);
                        assert(idx.blocks[i].stored_size <= ZSTD_compressBound(len));
                        assert(idx.offsets[i] == total);
                        assert(ib_block_at(&idx, total) == i && ib_block_at(&idx, total + len - 1) == i);
                        total += len;
                }
                assert(total == idx.image_size && idx.offsets[idx.block_count] == total);
                uint8_t *out;
                size_t out_len;
                assert(ib_index_write(&idx, &out, &out_len) == 0 && out_len == size);
                free(out);
                ib_index_free(&idx);
        }
        return 0;
}
