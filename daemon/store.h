/* The blocks of the image as the FUSE side sees them: each is absent, being fetched, in RAM (a
 * bounded LRU of decoded, verified blocks) or failed. Readers ask for blocks and wait; the fetcher
 * (fetch.c) takes what is queued and hands back verified bytes or an error.
 *
 * One mutex guards every field of struct ib_store (slots, queue, LRU, counters); one condition
 * variable wakes the readers when a block is done. The fetcher is woken through its own
 * callback (curl_multi_wakeup) when the queue grows.
 */
#pragma once

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "index.h"

enum ib_slot_state {
        IB_ABSENT = 0,
        IB_QUEUED,
        IB_FETCHING,
        IB_READY,
        IB_FAILED,
};

struct ib_entry {
        uint32_t block;
        uint8_t *data;
        struct ib_entry *prev, *next; /* LRU: head is the most recently used */
};

struct ib_slot {
        uint8_t state;
        uint8_t recorded;   /* a read touched it: it is in the recorded profile */
        uint8_t prefetched; /* fetched for the profile and not read yet (counts in prefetch_bytes) */
        uint16_t waiters; /* readers waiting for or copying from it: never evicted meanwhile */
        time_t failed_at;
        time_t first_failed; /* when it first failed since it was last fetched (0: never) */
        struct ib_entry *entry;
};

struct ib_stats {
        unsigned long long reads, read_bytes, cache_hits, cache_misses, readahead;
        unsigned long long transfers, transfer_failures, bytes_received, blocks_fetched, verify_failures, blocks_failed, retries;
        unsigned long long prefetched, prefetch_hits, prefetch_wasted, prefetch_failed;
};

struct ib_store {
        struct ib_index idx;
        pthread_mutex_t lock;
        pthread_cond_t done;
        struct ib_slot *slots;
        uint32_t *queue; /* ring of block numbers, capacity block_count */
        uint32_t qhead, qlen;
        struct ib_entry *lru_head, *lru_tail;
        size_t cached_bytes, cache_limit;
        uint64_t next_off;  /* where the previous read ended, for read-ahead */
        uint64_t run_bytes; /* the bytes read back to back up to next_off */
        unsigned max_ahead;
        struct ib_stats stats;
        uint32_t nfailed;      /* slots in IB_FAILED */
        time_t last_retry;
        /* The boot profile (README, "Boot profiles"): what reads touched, in the order they first
         * did (recorded, for `inetboot publish --profile`), and the published profile to fetch
         * ahead of the reads: prefetch[ppos..] are next, while the blocks fetched for it and not
         * read yet (prefetch_bytes) stay within prefetch_budget. */
        uint32_t *recorded;
        uint32_t nrecorded;
        uint32_t *prefetch;
        uint32_t nprefetch, ppos;
        size_t prefetch_bytes, prefetch_budget;
        void (*wake_fetcher)(void *);
        void *fetcher;
};

int ib_store_init(struct ib_store *s, struct ib_index *idx, size_t cache_limit, unsigned max_ahead);

/* Copies [off, off+len) of the image into buf, fetching what is missing. Returns the bytes
 * copied, or -EIO when a block could not be fetched and verified. */
long ib_store_read(struct ib_store *s, uint8_t *buf, uint64_t off, size_t len);

/* The blocks to fetch ahead of the reads, in order (each < block_count; taken over). Fetching
 * for it keeps at most `budget` bytes that no read has asked for yet. */
void ib_store_set_prefetch(struct ib_store *s, uint32_t *blocks, uint32_t n, size_t budget);

/* The fetcher's side (called with the lock NOT held). ib_store_next returns the next queued
 * block and marks it fetching; when none is queued and `prefetch` is set, the next block of the
 * profile that nothing has yet (within the budget); -1 when there is nothing to fetch. */
long ib_store_next(struct ib_store *s, int prefetch);
/* Hands back a verified block (data of ib_block_length bytes, malloc'ed; the store owns it). */
void ib_store_ready(struct ib_store *s, uint32_t block, uint8_t *data);
/* again: fetch it again in the background (it was unreachable; not when sources sent wrong
 * bytes for it). Returns 1 when this is its first failure since it was last fetched (to be said
 * on the console); 0 for a block fetched for the profile, which is left absent instead. */
int ib_store_failed(struct ib_store *s, uint32_t block, int again);
/* Queues again the blocks that failed IB_RETRY_AFTER_S or more ago, for IB_RETRY_FOR_S after
 * their first failure (the fetcher calls it about once a second). */
void ib_store_retry_failed(struct ib_store *s);

/* The recorded profile as lines "HASH\n" (IB_PROFILE_LINE bytes each), from byte off, at most
 * len bytes (the FUSE file /profile). Returns the bytes written to buf. */
#define IB_PROFILE_LINE 65
size_t ib_store_profile(struct ib_store *s, char *buf, uint64_t off, size_t len);

/* The counters as "name value" lines (the FUSE file /stats). */
int ib_store_stats(struct ib_store *s, char *buf, size_t len);
