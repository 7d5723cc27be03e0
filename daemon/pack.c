/* inetboot-pack IMAGE BLOCKS-DIR INDEX-OUT BLOCK-SIZE: cuts a root image into blocks for
 * `inetboot publish` (src/pipeline/publish/publish.ts runs it), at content-defined points of an
 * average length of BLOCK-SIZE (chunk.h).
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
#include "chunk.h"
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
                if (ib_read_file(path, ZSTD_compressBound(b->length), &data, &len) == 0) {
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

/* Reads len bytes at off of fd into buf. Returns 0 or -1 (and says why). */
static int read_at(int fd, const char *image, uint8_t *buf, size_t len, uint64_t off) {
        size_t got = 0;
        while (got < len) {
                ssize_t n = pread(fd, buf + got, len - got, (off_t)(off + got));
                if (n <= 0) {
                        ib_log("cannot read %s at %llu: %s", image, (unsigned long long)(off + got), n < 0 ? strerror(errno) : "short read");
                        return -1;
                }
                got += (size_t)n;
        }
        return 0;
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
                ib_log("block size %s is not a power of two from 64 KiB to 1 MiB", argv[4]);
                return 2;
        }
        int fd = open(image, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0 || st.st_size == 0) {
                ib_log("cannot read %s: %s", image, fd < 0 ? strerror(errno) : "empty");
                return 1;
        }
        uint64_t size = (uint64_t)st.st_size;
        static struct ib_chunker chunker;
        ib_chunker_init(&chunker, (uint32_t)bs);
        /* At least size / max blocks, at most size / min + 1: start with the average. */
        uint32_t cap = (uint32_t)(size / bs + 16 < IB_MAX_BLOCKS ? size / bs + 16 : IB_MAX_BLOCKS);
        struct ib_index idx = { .block_size = (uint32_t)bs, .image_size = size };
        idx.blocks = calloc(cap, sizeof(*idx.blocks));
        size_t bound = ZSTD_compressBound(chunker.max);
        uint8_t *raw = malloc(chunker.max), *packed = malloc(bound), *scratch = malloc(chunker.max);
        if (!idx.blocks || !raw || !packed || !scratch) {
                ib_log("out of memory");
                return 1;
        }
        unsigned long long added = 0, reused = 0, written = 0, stored = 0;
        uint64_t off = 0, next_report = 64ull << 20;
        while (off < size) {
                if (idx.block_count == cap) {
                        if (cap == IB_MAX_BLOCKS) {
                                ib_log("%s needs more than 2^24 blocks", image);
                                return 1;
                        }
                        uint32_t more = cap > IB_MAX_BLOCKS / 2 ? IB_MAX_BLOCKS : cap * 2;
                        struct ib_block *grown = realloc(idx.blocks, (size_t)more * sizeof(*grown));
                        if (!grown) {
                                ib_log("out of memory");
                                return 1;
                        }
                        memset(grown + cap, 0, (size_t)(more - cap) * sizeof(*grown));
                        idx.blocks = grown;
                        cap = more;
                }
                uint64_t left = size - off;
                size_t window = left < chunker.max ? (size_t)left : chunker.max;
                if (read_at(fd, image, raw, window, off) < 0)
                        return 1;
                uint32_t len = (uint32_t)ib_chunk_next(&chunker, raw, window);
                uint32_t i = idx.block_count++;
                struct ib_block *b = &idx.blocks[i];
                b->length = len;
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
                off += len;
                if (off >= next_report || off == size) {
                        ib_log("%llu of %llu MiB, %u blocks", (unsigned long long)(off >> 20), (unsigned long long)(size >> 20), idx.block_count);
                        next_report = off + (64ull << 20);
                }
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
