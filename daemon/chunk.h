/* Where `inetboot publish` cuts an image into blocks: at content-defined points (FastCDC: a gear
 * rolling hash over the last 64 bytes, with normalized chunking; Xia et al., USENIX ATC 2016),
 * not every N bytes. A file that grows or a package that is added moves every byte after it;
 * fixed cuts would then give every later block new content (measured on the Debian 12 test
 * root: one package installed, 80% of the blocks new), while cuts chosen by the bytes around
 * them fall at the same places again a little after the change (the same change: 1% new at an
 * average of 256 KiB; src/pipeline/publish/order.ts keeps a package's files together).
 *
 * For a block size A (a power of two): no block is shorter than A/4 (unless it is the image's
 * last) or longer than 4A; from A/4 to 3A/4 a cut needs the top log2(A)+2 bits of the hash to
 * be zero, from 3A/4 to 4A only log2(A)-2 bits, which draws the lengths together. Measured on the
 * Debian 12 test image with A = 256 KiB: 240 KiB on average, and a byte read at random lies in a
 * block of 263 KiB on average (the longer blocks hold more bytes), about what a block of
 * A bytes cut every A bytes costs such a read. With the bend at A instead of 3A/4 that was
 * 320 KiB, and a boot fetched a sixth more.
 *
 * The gear table and the masks are part of what makes a new version reuse the blocks of the
 * last: changing them cuts every image differently (still correct, as every block's length is
 * in the index, but nothing would be shared with what was published before).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct ib_chunker {
        uint32_t min, normal, avg, max;
        uint64_t mask_small, mask_large;
        uint64_t gear[256];
};

/* avg: a power of two from 2^8 to 2^30. */
void ib_chunker_init(struct ib_chunker *c, uint32_t avg);

/* The length of the block that starts at data, where len bytes of the image are left. */
size_t ib_chunk_next(const struct ib_chunker *c, const uint8_t *data, size_t len);
