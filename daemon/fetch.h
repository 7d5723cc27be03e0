/* The fetcher: one thread running one curl multi handle, so several block requests are in
 * flight at once over kept-alive connections (curl's connection cache), from the sources of
 * the published tree (each "http(s)://.../DIR/", tried in turn when one fails). Every block's
 * bytes are checked against the index before the store gets them.
 */
#pragma once

#include <curl/curl.h>
#include <stddef.h>

#include "disk.h"
#include "store.h"

#define IB_MAX_SOURCES 16

struct ib_fetch_config {
        char **sources; /* base URLs of the published tree, each ending in "/" */
        int nsources;
        int parallel;   /* transfers in flight at most */
        const char *ca_blob; /* PEM, loaded before the root is switched; NULL: curl's default */
        size_t ca_len;
        const char *proxy;   /* NULL: none (the environment's *_proxy is ignored) */
        struct curl_slist *resolve; /* host:port:address entries fixed at start-up */
        struct ib_disk *disk;       /* the local block cache (disk.h), or NULL */
};

struct ib_fetcher;

/* Applies what every transfer of the daemon shares (TLS, proxy, time limits, names). */
void ib_fetch_setopts(CURL *h, const struct ib_fetch_config *cfg);

int ib_fetcher_start(struct ib_fetcher **out, struct ib_store *store, const struct ib_fetch_config *cfg);
void ib_fetcher_wake(void *fetcher);

/* Downloads url into a malloc'ed buffer of at most max bytes (the index at start-up).
 * Returns 0, or -1 with why. */
int ib_fetch_small(const struct ib_fetch_config *cfg, const char *url, size_t max, unsigned char **out, size_t *out_len, char *why, size_t why_len);
