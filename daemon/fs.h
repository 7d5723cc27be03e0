/* The FUSE side: a read-only directory with two files, image (the published image, served from
 * the store) and stats (the store's counters, made on each read). */
#pragma once

#define FUSE_USE_VERSION 31
#include <fuse.h>

#include "fetch.h"
#include "store.h"

struct ib_daemon {
        struct ib_store store;
        struct ib_fetch_config cfg;
        struct ib_fetcher *fetcher;
};

extern const struct fuse_operations ib_fs_ops;
