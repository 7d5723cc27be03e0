#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A block that failed is not fetched again for this long: a read of it fails at once. */
#define IB_RETRY_AFTER_S 5
/* For this long after a block first failed it is fetched again in the background, every
 * IB_RETRY_AFTER_S, read or not: a network that comes back within it brings the system back
 * without waiting for a read. After that, only a read asks for it again. */
#define IB_RETRY_FOR_S 600

int ib_store_init(struct ib_store *s, struct ib_index *idx, size_t cache_limit, unsigned max_ahead) {
        memset(s, 0, sizeof(*s));
        s->idx = *idx;
        s->slots = calloc(idx->block_count, sizeof(*s->slots));
        s->queue = calloc(idx->block_count, sizeof(*s->queue));
        s->recorded = calloc(idx->block_count, sizeof(*s->recorded));
        if (!s->slots || !s->queue || !s->recorded)
                return -ENOMEM;
        s->cache_limit = cache_limit;
        s->max_ahead = max_ahead;
        s->next_off = UINT64_MAX;
        pthread_mutex_init(&s->lock, NULL);
        pthread_cond_init(&s->done, NULL);
        return 0;
}

/* Lock held. */
static void lru_unlink(struct ib_store *s, struct ib_entry *e) {
        if (e->prev)
                e->prev->next = e->next;
        else
                s->lru_head = e->next;
        if (e->next)
                e->next->prev = e->prev;
        else
                s->lru_tail = e->prev;
        e->prev = e->next = NULL;
}

static void lru_push(struct ib_store *s, struct ib_entry *e) {
        e->prev = NULL;
        e->next = s->lru_head;
        if (s->lru_head)
                s->lru_head->prev = e;
        s->lru_head = e;
        if (!s->lru_tail)
                s->lru_tail = e;
}

/* Drops the least recently used blocks nobody is reading until the cache fits its limit. */
static void evict(struct ib_store *s) {
        struct ib_entry *e = s->lru_tail;
        while (s->cached_bytes > s->cache_limit && e) {
                struct ib_entry *prev = e->prev;
                struct ib_slot *slot = &s->slots[e->block];
                if (slot->waiters == 0) {
                        lru_unlink(s, e);
                        s->cached_bytes -= ib_block_length(&s->idx, e->block);
                        if (slot->prefetched) {
                                slot->prefetched = 0;
                                s->prefetch_bytes -= ib_block_length(&s->idx, e->block);
                                s->stats.prefetch_wasted++;
                        }
                        slot->state = IB_ABSENT;
                        slot->entry = NULL;
                        free(e->data);
                        free(e);
                }
                e = prev;
        }
}

/* Lock held. Queues block b when nothing has it yet; returns 1 when it was queued. */
static int want(struct ib_store *s, uint32_t b) {
        struct ib_slot *slot = &s->slots[b];
        if (slot->state == IB_FAILED && time(NULL) - slot->failed_at >= IB_RETRY_AFTER_S) {
                slot->state = IB_ABSENT;
                s->nfailed--;
        }
        if (slot->state != IB_ABSENT)
                return 0;
        slot->state = IB_QUEUED;
        s->queue[(s->qhead + s->qlen) % s->idx.block_count] = b;
        s->qlen++;
        return 1;
}

long ib_store_read(struct ib_store *s, uint8_t *buf, uint64_t off, size_t len) {
        if (off >= s->idx.image_size)
                return 0;
        if (len > s->idx.image_size - off)
                len = (size_t)(s->idx.image_size - off);
        if (len == 0)
                return 0;
        uint32_t bs = s->idx.block_size; /* the average length */
        uint32_t first = ib_block_at(&s->idx, off), last = ib_block_at(&s->idx, off + len - 1);
        int queued = 0;

        pthread_mutex_lock(&s->lock);
        s->stats.reads++;
        for (uint32_t b = first; b <= last; b++) {
                s->slots[b].waiters++;
                if (!s->slots[b].recorded) {
                        s->slots[b].recorded = 1;
                        s->recorded[s->nrecorded++] = b;
                }
                if (s->slots[b].state == IB_READY)
                        s->stats.cache_hits++;
                else
                        s->stats.cache_misses++;
                queued |= want(s, b);
        }
        /* Read-ahead, only for a reader that streams: a read that starts exactly where the
         * previous one ended extends the run; once the run covers two blocks, the blocks after it
         * are fetched too, one more for each block the run covers, up to max_ahead. Scattered
         * reads (metadata, small files, a library's pages) fetch only what they touch: in a
         * boot most reads are of that kind, and every block fetched for nothing is network. */
        if (off == s->next_off)
                s->run_bytes += len;
        else
                s->run_bytes = len;
        s->next_off = off + len;
        uint64_t run_blocks = s->run_bytes / bs;
        unsigned ahead = run_blocks >= 2 ? (unsigned)(run_blocks < s->max_ahead ? run_blocks : s->max_ahead) : 0;
        for (uint32_t b = last + 1; b <= last + ahead && b < s->idx.block_count; b++) {
                if (want(s, b)) {
                        queued = 1;
                        s->stats.readahead++;
                }
        }
        if (queued && s->wake_fetcher) {
                pthread_mutex_unlock(&s->lock);
                s->wake_fetcher(s->fetcher);
                pthread_mutex_lock(&s->lock);
        }

        long result = (long)len;
        size_t done = 0;
        int budget_freed = 0;
        for (uint32_t b = first; b <= last; b++) {
                struct ib_slot *slot = &s->slots[b];
                for (;;) {
                        if (slot->state == IB_READY || slot->state == IB_FAILED)
                                break;
                        /* Evicted between our request and now (waiters pins it only after the
                         * copy started): ask again. */
                        if (slot->state == IB_ABSENT && want(s, b)) {
                                pthread_mutex_unlock(&s->lock);
                                s->wake_fetcher(s->fetcher);
                                pthread_mutex_lock(&s->lock);
                                continue;
                        }
                        pthread_cond_wait(&s->done, &s->lock);
                }
                if (slot->state == IB_FAILED || result < 0) {
                        result = -EIO;
                } else {
                        uint64_t start = s->idx.offsets[b];
                        uint64_t from = off > start ? off - start : 0;
                        size_t n = ib_block_length(&s->idx, b) - (size_t)from;
                        if (n > len - done)
                                n = len - done;
                        memcpy(buf + done, slot->entry->data + from, n);
                        done += n;
                        if (slot->prefetched) {
                                slot->prefetched = 0;
                                s->prefetch_bytes -= ib_block_length(&s->idx, b);
                                s->stats.prefetch_hits++;
                                budget_freed = 1;
                        }
                        lru_unlink(s, slot->entry);
                        lru_push(s, slot->entry);
                }
        }
        for (uint32_t b = first; b <= last; b++)
                s->slots[b].waiters--;
        if (result > 0)
                s->stats.read_bytes += (unsigned long long)result;
        evict(s);
        /* The profile's fetching waits for the reads to catch up: they just did. */
        int wake = budget_freed && s->ppos < s->nprefetch && s->wake_fetcher;
        pthread_mutex_unlock(&s->lock);
        if (wake)
                s->wake_fetcher(s->fetcher);
        return result;
}

void ib_store_set_prefetch(struct ib_store *s, uint32_t *blocks, uint32_t n, size_t budget) {
        pthread_mutex_lock(&s->lock);
        free(s->prefetch);
        s->prefetch = blocks;
        s->nprefetch = n;
        s->ppos = 0;
        s->prefetch_budget = budget;
        pthread_mutex_unlock(&s->lock);
}

long ib_store_next(struct ib_store *s, int prefetch) {
        long b = -1;
        pthread_mutex_lock(&s->lock);
        while (s->qlen > 0) {
                uint32_t q = s->queue[s->qhead];
                s->qhead = (s->qhead + 1) % s->idx.block_count;
                s->qlen--;
                if (s->slots[q].state == IB_QUEUED) {
                        s->slots[q].state = IB_FETCHING;
                        b = q;
                        break;
                }
        }
        /* Nothing a read waits for: the profile's next block that nothing has, unless what was
         * fetched for it and not read yet fills the budget (then it waits for the reads to catch
         * up, rather than push out of RAM what they are about to read). A block the reads took
         * already, or that is here, is passed over for good. */
        while (b < 0 && prefetch && s->ppos < s->nprefetch) {
                uint32_t p = s->prefetch[s->ppos];
                struct ib_slot *slot = &s->slots[p];
                if (slot->state != IB_ABSENT || slot->recorded) {
                        s->ppos++;
                        continue;
                }
                uint32_t len = ib_block_length(&s->idx, p);
                if (s->prefetch_bytes + len > s->prefetch_budget)
                        break;
                s->ppos++;
                slot->state = IB_FETCHING;
                slot->prefetched = 1;
                s->prefetch_bytes += len;
                s->stats.prefetched++;
                b = p;
        }
        pthread_mutex_unlock(&s->lock);
        return b;
}

void ib_store_ready(struct ib_store *s, uint32_t block, uint8_t *data) {
        struct ib_entry *e = calloc(1, sizeof(*e));
        pthread_mutex_lock(&s->lock);
        struct ib_slot *slot = &s->slots[block];
        if (!e) {
                free(data);
                slot->state = IB_FAILED;
                slot->failed_at = time(NULL);
                s->nfailed++;
        } else {
                e->block = block;
                e->data = data;
                slot->entry = e;
                slot->state = IB_READY;
                slot->first_failed = 0;
                lru_push(s, e);
                s->cached_bytes += ib_block_length(&s->idx, block);
                s->stats.blocks_fetched++;
                evict(s);
        }
        pthread_cond_broadcast(&s->done);
        pthread_mutex_unlock(&s->lock);
}

int ib_store_failed(struct ib_store *s, uint32_t block, int again) {
        pthread_mutex_lock(&s->lock);
        struct ib_slot *slot = &s->slots[block];
        if (slot->prefetched) {
                /* Fetched for the profile: no read has asked for it, and none may (a profile
                 * names what earlier boots read). Left as if never asked for: a read that needs
                 * it fetches it then, and says so if it fails; nothing is retried for it in the
                 * background. A reader waiting for it meanwhile asks for it itself. */
                slot->prefetched = 0;
                s->prefetch_bytes -= ib_block_length(&s->idx, block);
                slot->state = IB_ABSENT;
                s->stats.prefetch_failed++;
                pthread_cond_broadcast(&s->done);
                pthread_mutex_unlock(&s->lock);
                return 0;
        }
        int first = slot->first_failed == 0;
        slot->state = IB_FAILED;
        slot->failed_at = time(NULL);
        if (first)
                slot->first_failed = slot->failed_at;
        if (!again)
                slot->first_failed = slot->failed_at - IB_RETRY_FOR_S; /* no background retries */
        s->nfailed++;
        s->stats.blocks_failed++;
        pthread_cond_broadcast(&s->done);
        pthread_mutex_unlock(&s->lock);
        return first;
}

void ib_store_retry_failed(struct ib_store *s) {
        time_t now = time(NULL);
        int queued = 0;
        pthread_mutex_lock(&s->lock);
        if (s->nfailed > 0 && now - s->last_retry >= IB_RETRY_AFTER_S) {
                s->last_retry = now;
                for (uint32_t b = 0; b < s->idx.block_count; b++) {
                        struct ib_slot *slot = &s->slots[b];
                        if (slot->state == IB_FAILED && now - slot->first_failed < IB_RETRY_FOR_S && want(s, b)) {
                                queued = 1;
                                s->stats.retries++;
                        }
                }
        }
        pthread_mutex_unlock(&s->lock);
        if (queued && s->wake_fetcher)
                s->wake_fetcher(s->fetcher);
}

size_t ib_store_profile(struct ib_store *s, char *buf, uint64_t off, size_t len) {
        size_t done = 0;
        char line[IB_PROFILE_LINE + 1];
        pthread_mutex_lock(&s->lock);
        while (done < len) {
                uint64_t i = (off + done) / IB_PROFILE_LINE;
                if (i >= s->nrecorded)
                        break;
                size_t from = (size_t)((off + done) % IB_PROFILE_LINE);
                ib_hex(s->idx.blocks[s->recorded[i]].sha256, 32, line);
                line[64] = '\n';
                size_t n = IB_PROFILE_LINE - from;
                if (n > len - done)
                        n = len - done;
                memcpy(buf + done, line + from, n);
                done += n;
        }
        pthread_mutex_unlock(&s->lock);
        return done;
}

int ib_store_stats(struct ib_store *s, char *buf, size_t len) {
        pthread_mutex_lock(&s->lock);
        struct ib_stats t = s->stats;
        size_t cached = s->cached_bytes;
        uint32_t nrecorded = s->nrecorded, nprefetch = s->nprefetch;
        pthread_mutex_unlock(&s->lock);
        return snprintf(buf, len,
                        "image_bytes %llu\nblock_size %u\nblocks %u\n"
                        "reads %llu\nread_bytes %llu\ncache_hits %llu\ncache_misses %llu\ncached_bytes %zu\nreadahead %llu\n"
                        "transfers %llu\ntransfer_failures %llu\nbytes_received %llu\nblocks_fetched %llu\nverify_failures %llu\nblocks_failed %llu\nretries %llu\n"
                        "blocks_read %u\nprofile_blocks %u\nprefetched %llu\nprefetch_hits %llu\nprefetch_wasted %llu\nprefetch_failed %llu\n",
                        (unsigned long long)s->idx.image_size, s->idx.block_size, s->idx.block_count,
                        t.reads, t.read_bytes, t.cache_hits, t.cache_misses, cached, t.readahead,
                        t.transfers, t.transfer_failures, t.bytes_received, t.blocks_fetched, t.verify_failures, t.blocks_failed, t.retries,
                        nrecorded, nprefetch, t.prefetched, t.prefetch_hits, t.prefetch_wasted, t.prefetch_failed);
}
