/* The block cache on a local disk (README, "The block cache"): the inetboot-cache/ folder of the
 * cache disk the preboot uses, which then holds
 *
 *   inetboot-cache/SHA256                 files the preboot caches, and the index, by their sha256
 *   inetboot-cache/blocks/HH/HASH[.zst]   blocks, as published (stored bytes), sharded by the
 *                                         first two hex digits of their hash (FAT: at most
 *                                         65,535 entries in a folder)
 *
 * Keyed by content, so it holds across versions and across published systems sharing blocks.
 * Nothing read from it is trusted: a block is decoded and its SHA-256 checked like one from the
 * network, and a file that fails is removed. A file is written as .NAME.tmp, synced and renamed,
 * so a power cut leaves under a final name only what was whole when renamed; a torn file (FAT
 * has no journal) is caught by the check on its next read. Writes run on their own thread
 * through a bounded queue: a slow stick never holds a read up (a block that finds the queue
 * full is simply not cached this time), and a write error (a full disk, a stick pulled out)
 * says so once and stops the caching, never the system.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "index.h"

struct ib_disk;

struct ib_disk_stats {
        unsigned long long hits, misses, corrupt, writes, write_bytes, write_failures, dropped;
        unsigned long long queued; /* waiting to be written, or being written, now */
};

/* DIR is the inetboot-cache folder; readonly: blocks are read, never written. Returns 0 or
 * -errno (DIR is not a directory). */
int ib_disk_open(struct ib_disk **out, const char *dir, int readonly);
/* The index is known once the disk is open (the index itself comes through ib_disk_file_*). */
void ib_disk_set_index(struct ib_disk *d, const struct ib_index *idx);
int ib_disk_start_writer(struct ib_disk *d);

/* Block i into out (ib_block_length bytes), checked. Returns 0, or -1: not there, or it failed
 * its check (then it is removed and the console says so). */
int ib_disk_get(struct ib_disk *d, uint32_t i, uint8_t *out);
/* Queues the stored bytes of block i (verified already) to be written; copies them. */
void ib_disk_put(struct ib_disk *d, uint32_t i, const uint8_t *stored, size_t len);

/* Whether blocks fetched ahead of the reads (a boot profile, fetch.c) may be queued now: the
 * queue is at most half full, even after a block of IB_MAX_BLOCK_LEN. The other half is kept
 * for the blocks reads fetch, so that fetching ahead, which can outrun a slow stick many times
 * over, never makes the queue drop a block (it would be fetched again at the next boot). When
 * it says no, the writer calls the wake function (ib_disk_set_wake) as soon as it has written
 * one more. Always 1 when nothing is written (read-only, stopped, no writer). */
int ib_disk_room(struct ib_disk *d);
void ib_disk_set_wake(struct ib_disk *d, void (*wake)(void *), void *fetcher);

/* A whole file named by its sha256 in the folder (the index): 0 and *out (malloc'ed) holding
 * exactly len bytes whose sha256 is sha, or -1 (absent; a wrong one is removed). */
int ib_disk_file_get(struct ib_disk *d, const uint8_t sha[32], size_t len, uint8_t **out);
/* Writes it now (start-up, before the writer runs); a failure is a warning. */
void ib_disk_file_put(struct ib_disk *d, const uint8_t sha[32], const uint8_t *data, size_t len);

/* Waits until the queued blocks are written, at most `seconds` (at unmount). */
void ib_disk_flush(struct ib_disk *d, int seconds);

void ib_disk_stats(struct ib_disk *d, struct ib_disk_stats *out);
