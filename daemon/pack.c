/* inetboot-pack IMAGE BLOCKS-DIR INDEX-OUT BLOCK-SIZE: cuts a root image into blocks for
 * `inetboot publish` (src/pipeline/publish/blocks.ts runs it).
 *
 * Each block is stored once, under the SHA-256 of its uncompressed bytes, in BLOCKS-DIR/HH/:
 * HASH.zst when zstd makes it smaller, else HASH (raw). A block whose file is there already is
 * reused after it was decoded and its hash checked (a file that does not check, say a torn one
 * from a crash, is written again). New files are written under a temporary name and renamed;
 * nothing is synced here: the caller syncs the file system once before it writes the manifest,
 * the only file that makes new blocks reachable. The index goes to INDEX-OUT.
 *
 * stdout: one JSON object with the counts; stderr: progress lines "pack: N/M blocks".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "block.h"
#include "file.h"
#include "index.h"
#include "log.h"

/* The image is a zstd squashfs already: most blocks do not shrink again, and a high level would
 * only cost minutes. */
#define ZSTD_LEVEL 3

/* Writes PATH under a temporary name beside it and renames it into place. */
static int write_new(const char *path, const uint8_t *data, size_t len) {
        char tmp[4200];
        snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        size_t done = 0;
        while (done < len) {
                ssize_t n = write(fd, data + done, len - done);
                if (n < 0) {
                        int e = -errno;
                        close(fd);
                        unlink(tmp);
                        return e;
                }
                done += (size_t)n;
        }
        if (close(fd) < 0 || rename(tmp, path) < 0) {
                int e = -errno;
                unlink(tmp);
                return e;
        }
        return 0;
}

/* An existing file for block i that decodes and checks: its codec and size go in the index. */
static int reuse(const char *dir, struct ib_index *idx, uint32_t i, uint8_t *scratch) {
        struct ib_block *b = &idx->blocks[i];
        for (uint8_t codec = IB_CODEC_ZSTD;; codec = IB_CODEC_RAW) {
                char name[80], path[4200], why[160];
                uint8_t *data = NULL;
                size_t len = 0;
                b->codec = codec;
                ib_block_name(b, name, sizeof(name));
                snprintf(path, sizeof(path), "%s/%s", dir, name);
                if (ib_read_file(path, ZSTD_compressBound(idx->block_size), &data, &len) == 0) {
                        b->stored_size = (uint32_t)len;
                        int ok = ib_block_decode(idx, i, data, len, scratch, why, sizeof(why)) == 0;
                        free(data);
                        if (ok)
                                return 1;
                        ib_log("%s does not check (%s): writing it again", path, why);
                }
                if (codec == IB_CODEC_RAW)
                        return 0;
        }
}

int main(int argc, char **argv) {
        ib_log_set_prefix("pack");
        if (argc != 5) {
                fprintf(stderr, "usage: inetboot-pack IMAGE BLOCKS-DIR INDEX-OUT BLOCK-SIZE\n");
                return 2;
        }
        const char *image = argv[1], *dir = argv[2], *index_out = argv[3];
        unsigned long bs = strtoul(argv[4], NULL, 10);
        if (bs < IB_MIN_BLOCK_SIZE || bs > IB_MAX_BLOCK_SIZE || (bs & (bs - 1)) != 0) {
                ib_log("block size %s is not a power of two from 64 KiB to 4 MiB", argv[4]);
                return 2;
        }
        int fd = open(image, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0 || st.st_size == 0) {
                ib_log("cannot read %s: %s", image, fd < 0 ? strerror(errno) : "empty");
                return 1;
        }
        uint64_t size = (uint64_t)st.st_size;
        uint64_t count64 = (size + bs - 1) / bs;
        if (count64 > IB_MAX_BLOCKS) {
                ib_log("%s needs %llu blocks, more than 2^24", image, (unsigned long long)count64);
                return 1;
        }
        struct ib_index idx = { .block_size = (uint32_t)bs, .block_count = (uint32_t)count64, .image_size = size };
        idx.blocks = calloc(idx.block_count, sizeof(*idx.blocks));
        size_t bound = ZSTD_compressBound(bs);
        uint8_t *raw = malloc(bs), *packed = malloc(bound), *scratch = malloc(bs);
        if (!idx.blocks || !raw || !packed || !scratch) {
                ib_log("out of memory");
                return 1;
        }
        unsigned long long added = 0, reused = 0, written = 0, stored = 0;
        for (uint32_t i = 0; i < idx.block_count; i++) {
                uint32_t len = ib_block_length(&idx, i);
                size_t got = 0;
                while (got < len) {
                        ssize_t n = pread(fd, raw + got, len - got, (off_t)((uint64_t)i * bs + got));
                        if (n <= 0) {
                                ib_log("cannot read block %u of %s: %s", i, image, n < 0 ? strerror(errno) : "short read");
                                return 1;
                        }
                        got += (size_t)n;
                }
                struct ib_block *b = &idx.blocks[i];
                ib_sha256(raw, len, b->sha256);
                if (reuse(dir, &idx, i, scratch)) {
                        reused++;
                        stored += b->stored_size;
                } else {
                        size_t z = ZSTD_compress(packed, bound, raw, len, ZSTD_LEVEL);
                        int zstd = !ZSTD_isError(z) && z < len;
                        b->codec = zstd ? IB_CODEC_ZSTD : IB_CODEC_RAW;
                        b->stored_size = zstd ? (uint32_t)z : len;
                        char name[80], shard[4200];
                        ib_block_name(b, name, sizeof(name));
                        snprintf(shard, sizeof(shard), "%s/%.2s", dir, name);
                        if (mkdir(shard, 0755) < 0 && errno != EEXIST) {
                                ib_log("cannot make %s: %s", shard, strerror(errno));
                                return 1;
                        }
                        char path[4200];
                        snprintf(path, sizeof(path), "%s/%s", dir, name);
                        int r = write_new(path, zstd ? packed : raw, b->stored_size);
                        if (r < 0) {
                                ib_log("cannot write %s/%s: %s", dir, name, strerror(-r));
                                return 1;
                        }
                        added++;
                        written += b->stored_size;
                        stored += b->stored_size;
                }
                if ((i + 1) % 256 == 0 || i + 1 == idx.block_count)
                        ib_log("%u/%u blocks", i + 1, idx.block_count);
        }
        uint8_t *ibuf;
        size_t ilen;
        if (ib_index_write(&idx, &ibuf, &ilen) < 0 || write_new(index_out, ibuf, ilen) < 0) {
                ib_log("cannot write the index %s: %s", index_out, strerror(errno));
                return 1;
        }
        printf("{\"image_bytes\": %llu, \"block_size\": %lu, \"blocks\": %u, \"blocks_added\": %llu, \"blocks_reused\": %llu, \"bytes_written\": %llu, \"stored_bytes\": %llu}\n",
               (unsigned long long)size, bs, idx.block_count, added, reused, written, stored);
        return 0;
}
