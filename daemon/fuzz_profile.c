/* libFuzzer target of the profile parser (make fuzz): any bytes against an index of 1 to 256
 * blocks (the first byte), no crash, no leak, and a profile it accepts names each block below
 * the count at most once. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1)
                return 0;
        uint32_t count = (uint32_t)data[0] + 1, *blocks, n;
        char why[160];
        if (ib_profile_parse(data + 1, size - 1, count, &blocks, &n, why, sizeof(why)) == 0) {
                uint8_t seen[256];
                memset(seen, 0, sizeof(seen));
                assert(n >= 1 && n <= count);
                for (uint32_t i = 0; i < n; i++) {
                        assert(blocks[i] < count && !seen[blocks[i]]);
                        seen[blocks[i]] = 1;
                }
                free(blocks);
        }
        return 0;
}
