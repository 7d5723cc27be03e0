#include "disk.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "block.h"
#include "file.h"
#include "log.h"

/* Blocks waiting to be written: at most this many, and at most IB_DISK_QUEUE_BYTES of them (their
 * stored, mostly compressed bytes), so a slow stick costs a bounded amount of RAM. */
#define IB_DISK_QUEUE 1024
#define IB_DISK_QUEUE_BYTES (16u * 1024u * 1024u)

struct job {
        uint32_t block;
        uint8_t *data;
        size_t len;
};

struct ib_disk {
        char dir[1024]; /* for messages: what it was called when opened */
        int fd;         /* the folder itself: its path may not name it after switch_root */
        int readonly;
        const struct ib_index *idx;
        pthread_mutex_t lock;
        pthread_cond_t wake;
        struct job queue[IB_DISK_QUEUE];
        unsigned qhead, qlen;
        size_t qbytes;
        int writing; /* the writer holds a job */
        int stopped; /* a write failed: no more writes this boot */
        int want_room; /* ib_disk_room said no: wake the fetcher when a write made room */
        void (*wake_fetcher)(void *);
        void *fetcher;
        struct ib_disk_stats st;
        pthread_t thread;
        int thread_started;
};

int ib_disk_open(struct ib_disk **out, const char *dir, int readonly) {
        if (strlen(dir) >= 900)
                return -ENAMETOOLONG;
        /* Held open: the miniroot's switch_root moves the mount under the new root, and this
         * daemon stays in the old one, where the path names nothing any more. */
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        struct ib_disk *d = calloc(1, sizeof(*d));
        if (!d) {
                close(fd);
                return -ENOMEM;
        }
        d->fd = fd;
        snprintf(d->dir, sizeof(d->dir), "%s", dir);
        d->readonly = readonly;
        pthread_mutex_init(&d->lock, NULL);
        pthread_cond_init(&d->wake, NULL);
        *out = d;
        return 0;
}

void ib_disk_set_index(struct ib_disk *d, const struct ib_index *idx) {
        d->idx = idx;
}

static void bump(struct ib_disk *d, unsigned long long *counter, unsigned long long n) {
        pthread_mutex_lock(&d->lock);
        *counter += n;
        pthread_mutex_unlock(&d->lock);
}

/* Writes data to DIR/NAME through DIR/.NAME.tmp (DIR relative to the cache folder, "" for
 * itself): written, synced, renamed. Returns 0 or -errno. */
static int write_atomic(struct ib_disk *d, const char *dir, const char *name, const uint8_t *data, size_t len) {
        char tmp[1200], final[1200];
        snprintf(tmp, sizeof(tmp), "%s%s.%s.tmp", dir, *dir ? "/" : "", name);
        snprintf(final, sizeof(final), "%s%s%s", dir, *dir ? "/" : "", name);
        int fd = openat(d->fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -errno;
        size_t done = 0;
        int r = 0;
        while (done < len) {
                ssize_t n = write(fd, data + done, len - done);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        r = n < 0 ? -errno : -ENOSPC;
                        break;
                }
                done += (size_t)n;
        }
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r == 0 && renameat(d->fd, tmp, d->fd, final) < 0)
                r = -errno;
        if (r < 0)
                unlinkat(d->fd, tmp, 0);
        return r;
}

static int mkdir_ok(struct ib_disk *d, const char *path) {
        return mkdirat(d->fd, path, 0755) == 0 || errno == EEXIST ? 0 : -errno;
}

/* The writer's side: one block from the queue onto the disk. */
static int write_block(struct ib_disk *d, const struct job *j) {
        char name[80], shard[16];
        ib_block_name(&d->idx->blocks[j->block], name, sizeof(name)); /* "HH/HASH[.zst]" */
        int r = 0;
        if ((r = mkdir_ok(d, "blocks")) < 0)
                return r;
        snprintf(shard, sizeof(shard), "blocks/%.2s", name);
        if ((r = mkdir_ok(d, shard)) < 0)
                return r;
        return write_atomic(d, shard, name + 3, j->data, j->len);
}

static void stop_writing(struct ib_disk *d, const char *what, int err) {
        ib_log("WARNING: cache: could not write %s in %s: %s: no more blocks are cached this boot (the system goes on from the network)", what, d->dir, strerror(-err));
        pthread_mutex_lock(&d->lock);
        d->stopped = 1;
        d->st.write_failures++;
        pthread_mutex_unlock(&d->lock);
}

static void *writer(void *arg) {
        struct ib_disk *d = arg;
        for (;;) {
                pthread_mutex_lock(&d->lock);
                while (d->qlen == 0)
                        pthread_cond_wait(&d->wake, &d->lock);
                struct job j = d->queue[d->qhead];
                d->qhead = (d->qhead + 1) % IB_DISK_QUEUE;
                d->qlen--;
                d->qbytes -= j.len;
                d->writing = 1;
                int stopped = d->stopped;
                pthread_mutex_unlock(&d->lock);
                if (!stopped) {
                        int r = write_block(d, &j);
                        if (r < 0) {
                                char what[96];
                                snprintf(what, sizeof(what), "block %u", j.block);
                                stop_writing(d, what, r);
                        } else {
                                pthread_mutex_lock(&d->lock);
                                d->st.writes++;
                                d->st.write_bytes += j.len;
                                pthread_mutex_unlock(&d->lock);
                        }
                }
                free(j.data);
                pthread_mutex_lock(&d->lock);
                d->writing = 0;
                pthread_cond_broadcast(&d->wake);
                int wake = d->want_room && d->wake_fetcher;
                d->want_room = 0;
                pthread_mutex_unlock(&d->lock);
                if (wake)
                        d->wake_fetcher(d->fetcher);
        }
        return NULL;
}

int ib_disk_start_writer(struct ib_disk *d) {
        if (d->readonly)
                return 0;
        int r = pthread_create(&d->thread, NULL, writer, d);
        d->thread_started = r == 0;
        return -r;
}

int ib_disk_get(struct ib_disk *d, uint32_t i, uint8_t *out) {
        char name[80], rel[100], path[1200], why[256];
        ib_block_name(&d->idx->blocks[i], name, sizeof(name));
        snprintf(rel, sizeof(rel), "blocks/%s", name);
        snprintf(path, sizeof(path), "%s/%s", d->dir, rel);
        uint8_t *stored = NULL;
        size_t len = 0;
        /* A block's file is at most what zstd can make of the block (a raw one: the block). */
        int r = ib_read_file_at(d->fd, rel, ZSTD_compressBound(ib_block_length(d->idx, i)), &stored, &len);
        if (r == -ENOENT) {
                bump(d, &d->st.misses, 1);
                return -1;
        }
        if (r == 0)
                r = ib_block_check(d->idx, i, stored, len, out, why, sizeof(why));
        else
                snprintf(why, sizeof(why), "%s", r == -EINVAL ? "not a regular file of a block's size" : strerror(-r));
        free(stored);
        if (r == 0) {
                bump(d, &d->st.hits, 1);
                return 0;
        }
        char hex[65];
        ib_hex(d->idx->blocks[i].sha256, 32, hex);
        int gone = d->readonly ? 0 : unlinkat(d->fd, rel, 0) == 0;
        ib_log("cache: block %u (%.16s...) in %s is unusable (%s): %s; fetching it again", i, hex, path, why, gone ? "removed it" : "left it (read-only)");
        bump(d, &d->st.corrupt, 1);
        return -1;
}

void ib_disk_set_wake(struct ib_disk *d, void (*wake)(void *), void *fetcher) {
        pthread_mutex_lock(&d->lock);
        d->wake_fetcher = wake;
        d->fetcher = fetcher;
        pthread_mutex_unlock(&d->lock);
}

int ib_disk_room(struct ib_disk *d) {
        pthread_mutex_lock(&d->lock);
        int room = d->readonly || d->stopped || !d->thread_started ||
                   (d->qlen < IB_DISK_QUEUE / 2 && d->qbytes + IB_MAX_BLOCK_LEN <= IB_DISK_QUEUE_BYTES / 2);
        if (!room)
                d->want_room = 1;
        pthread_mutex_unlock(&d->lock);
        return room;
}

void ib_disk_put(struct ib_disk *d, uint32_t i, const uint8_t *stored, size_t len) {
        if (d->readonly)
                return;
        pthread_mutex_lock(&d->lock);
        if (d->stopped) {
                pthread_mutex_unlock(&d->lock);
                return;
        }
        uint8_t *copy = d->qlen < IB_DISK_QUEUE && d->qbytes + len <= IB_DISK_QUEUE_BYTES ? malloc(len) : NULL;
        if (!copy) {
                d->st.dropped++;
                pthread_mutex_unlock(&d->lock);
                return;
        }
        memcpy(copy, stored, len);
        d->queue[(d->qhead + d->qlen) % IB_DISK_QUEUE] = (struct job){ .block = i, .data = copy, .len = len };
        d->qlen++;
        d->qbytes += len;
        pthread_cond_broadcast(&d->wake);
        pthread_mutex_unlock(&d->lock);
}

int ib_disk_file_get(struct ib_disk *d, const uint8_t sha[32], size_t len, uint8_t **out) {
        char hex[65], path[1200];
        ib_hex(sha, 32, hex);
        snprintf(path, sizeof(path), "%s/%s", d->dir, hex);
        uint8_t *buf = NULL;
        size_t got = 0;
        int r = ib_read_file_at(d->fd, hex, len, &buf, &got);
        if (r == -ENOENT)
                return -1;
        uint8_t have[32];
        if (r == 0)
                ib_sha256(buf, got, have);
        if (r == 0 && got == len && memcmp(have, sha, 32) == 0) {
                *out = buf;
                return 0;
        }
        free(buf);
        int gone = d->readonly ? 0 : unlinkat(d->fd, hex, 0) == 0;
        ib_log("cache: %s is not the file it is named after: %s", path, gone ? "removed it" : "left it (read-only)");
        bump(d, &d->st.corrupt, 1);
        return -1;
}

void ib_disk_file_put(struct ib_disk *d, const uint8_t sha[32], const uint8_t *data, size_t len) {
        if (d->readonly)
                return;
        char hex[65];
        ib_hex(sha, 32, hex);
        int r = write_atomic(d, "", hex, data, len);
        if (r < 0)
                stop_writing(d, hex, r);
}

void ib_disk_flush(struct ib_disk *d, int seconds) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += seconds;
        pthread_mutex_lock(&d->lock);
        while ((d->qlen > 0 || d->writing) && !d->readonly && d->thread_started)
                if (pthread_cond_timedwait(&d->wake, &d->lock, &until) == ETIMEDOUT)
                        break;
        pthread_mutex_unlock(&d->lock);
}

void ib_disk_stats(struct ib_disk *d, struct ib_disk_stats *out) {
        pthread_mutex_lock(&d->lock);
        *out = d->st;
        out->queued = d->qlen + (unsigned)d->writing;
        pthread_mutex_unlock(&d->lock);
}
