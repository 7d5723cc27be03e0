#include "fetch.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "block.h"
#include "log.h"

/* How many times every source is tried for one block before the read fails. */
#define IB_ROUNDS 2

/* A response body kept in a buffer of the size it must have: more is cut off (overflow). */
struct sink {
        uint8_t *buf;
        size_t got, max;
        int overflow;
};

static size_t on_body(char *data, size_t size, size_t n, void *user) {
        struct sink *s = user;
        size_t len = size * n;
        if (len > s->max - s->got) {
                s->overflow = 1;
                return 0;
        }
        memcpy(s->buf + s->got, data, len);
        s->got += len;
        return len;
}

struct transfer {
        uint32_t block;
        int source;   /* index into cfg->sources */
        int attempts; /* sources tried so far */
        unsigned refused; /* sources that sent wrong bytes for this block (bit per source) */
        unsigned epoch;   /* the source's epoch when this request was sent */
        struct sink body;
        char url[2048];
        CURL *easy;
};

/* What the fetcher knows of each source this boot. Sources are tried in the order given (the
 * preboot's measured order, best first): the first that is neither bad nor resting. */
struct source {
        int bad;           /* sent a block with wrong bytes: asked only when no other is left */
        time_t rest_until; /* did not answer: others first until then */
        int said;          /* the console was told of this outage */
        int outages;       /* failures in a row: each doubles the rest */
        unsigned epoch;    /* counts failures: a request sent before the last one says nothing
                            * of whether the source answers again (it may have been answered
                            * just before the source died) */
};

/* How long a source that did not answer is left to rest while others are asked: IB_REST_S,
 * doubled at each failure in a row (a source that stalls costs a stall each time it is asked),
 * at most IB_MAX_REST_S. */
#define IB_REST_S 10
#define IB_MAX_REST_S 300

struct ib_fetcher {
        struct ib_store *store;
        const struct ib_fetch_config *cfg;
        CURLM *multi;
        pthread_t thread;
        int active;
        struct source sources[IB_MAX_SOURCES];
};

/* The source to ask for a block, best first: one that never sent wrong bytes before one that
 * did, one that answers before one that rests (the shortest rest first), a source other than
 * `not` (the one that just failed), then the order given. Never one in `refused` (the sources
 * that sent wrong bytes for this very block). -1: none is left. */
static int pick(struct ib_fetcher *f, int not, unsigned refused) {
        time_t now = time(NULL);
        int best = -1;
        long long best_key = 0;
        for (int i = 0; i < f->cfg->nsources; i++) {
                const struct source *src = &f->sources[i];
                if (refused & (1u << i))
                        continue;
                time_t rest = src->rest_until > now ? src->rest_until - now : 0;
                long long key = ((long long)src->bad << 40) + ((long long)(rest > 0 ? 1 + rest : 0) << 8) + ((long long)(i == not) << 6) + i;
                if (best < 0 || key < best_key) {
                        best = i;
                        best_key = key;
                }
        }
        return best;
}

static const char *source_name(struct ib_fetcher *f, int i) {
        return i >= 0 ? f->cfg->sources[i] : "no source";
}

void ib_fetch_setopts(CURL *h, const struct ib_fetch_config *cfg) {
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(h, CURLOPT_MAXREDIRS, 3L);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
        /* A transfer that moves less than 1 byte/s for 15 s has stalled. */
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 15L);
        curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(h, CURLOPT_USERAGENT, "inetboot-blockd/1");
        curl_easy_setopt(h, CURLOPT_PROXY, cfg->proxy ? cfg->proxy : "");
        if (cfg->resolve)
                curl_easy_setopt(h, CURLOPT_RESOLVE, cfg->resolve);
        if (cfg->ca_blob) {
                struct curl_blob blob = { .data = (void *)cfg->ca_blob, .len = cfg->ca_len, .flags = CURL_BLOB_NOCOPY };
                curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
        }
}

static int start(struct ib_fetcher *f, struct transfer *t) {
        const struct ib_block *b = &f->store->idx.blocks[t->block];
        char name[80];
        ib_block_name(b, name, sizeof(name));
        snprintf(t->url, sizeof(t->url), "%sblocks/%s", f->cfg->sources[t->source], name);
        t->body.got = 0;
        t->body.overflow = 0;
        t->epoch = f->sources[t->source].epoch;
        t->easy = curl_easy_init();
        if (!t->easy)
                return -ENOMEM;
        ib_fetch_setopts(t->easy, f->cfg);
        curl_easy_setopt(t->easy, CURLOPT_URL, t->url);
        curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, &t->body);
        curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t);
        curl_multi_add_handle(f->multi, t->easy);
        f->active++;
        pthread_mutex_lock(&f->store->lock);
        f->store->stats.transfers++;
        pthread_mutex_unlock(&f->store->lock);
        return 0;
}

static void count(struct ib_fetcher *f, unsigned long long *counter, unsigned long long n) {
        pthread_mutex_lock(&f->store->lock);
        *counter += n;
        pthread_mutex_unlock(&f->store->lock);
}

/* A transfer ended: verified bytes go to the store, else the next source is tried. */
static void finish(struct ib_fetcher *f, struct transfer *t, CURLcode rc) {
        struct ib_store *s = f->store;
        struct source *src = &f->sources[t->source];
        long status = 0;
        char why[256];
        int wrong = 0; /* the source answered, with bytes that are not the block */
        curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
        curl_multi_remove_handle(f->multi, t->easy);
        curl_easy_cleanup(t->easy);
        t->easy = NULL;
        f->active--;
        count(f, &s->stats.bytes_received, t->body.got);

        uint32_t len = ib_block_length(&s->idx, t->block);
        if (rc != CURLE_OK && !t->body.overflow) {
                snprintf(why, sizeof(why), "%s", curl_easy_strerror(rc));
        } else if (t->body.overflow) {
                snprintf(why, sizeof(why), "the server sent more than the %zu bytes of the block", t->body.max);
                wrong = 1;
        } else if (status != 200) {
                snprintf(why, sizeof(why), "HTTP %ld", status);
        } else {
                uint8_t *data = malloc(len);
                if (!data) {
                        snprintf(why, sizeof(why), "out of memory");
                } else if (ib_block_decode(&s->idx, t->block, t->body.buf, t->body.got, data, why, sizeof(why)) == 0) {
                        /* Only a request sent since the last failure ends an outage. */
                        if (t->epoch == src->epoch) {
                                if (src->said)
                                        ib_log("source %s answers again", source_name(f, t->source));
                                src->said = 0;
                                src->rest_until = 0;
                                src->outages = 0;
                        }
                        if (f->cfg->disk)
                                ib_disk_put(f->cfg->disk, t->block, t->body.buf, t->body.got);
                        free(t->body.buf);
                        uint32_t block = t->block;
                        free(t);
                        ib_store_ready(s, block, data);
                        return;
                } else {
                        free(data);
                        count(f, &s->stats.verify_failures, 1);
                        wrong = 1;
                }
        }
        count(f, &s->stats.transfer_failures, 1);
        char hex[65];
        ib_hex(s->idx.blocks[t->block].sha256, 32, hex);
        int failed = t->source;
        int next = -1;
        t->attempts++;
        if (wrong) {
                t->refused |= 1u << failed;
                next = pick(f, failed, t->refused);
                if (!src->bad)
                        ib_log("block %u (%.16s...) from %s: %s: that source is not asked again this boot while another is left; %s %s", t->block, hex, t->url, why,
                               next >= 0 ? "moving to" : "and there is", source_name(f, next));
                else
                        ib_log("block %u (%.16s...) from %s: %s", t->block, hex, t->url, why);
                src->bad = 1;
        } else {
                int rest = IB_REST_S << (src->outages < 5 ? src->outages : 5);
                src->epoch++;
                src->outages++;
                src->rest_until = time(NULL) + (rest < IB_MAX_REST_S ? rest : IB_MAX_REST_S);
                next = pick(f, failed, t->refused);
                /* Once per outage, not once per block: a dead mirror fails every block at once. */
                if (!src->said) {
                        src->said = 1;
                        ib_log("block %u (%.16s...) from %s: %s; %s %s", t->block, hex, t->url, why,
                               next == failed ? "trying it again" : "moving to", source_name(f, next));
                }
        }
        if (next >= 0 && t->attempts < f->cfg->nsources * IB_ROUNDS) {
                t->source = next;
                if (start(f, t) == 0)
                        return;
        }
        /* Said once per block, not at each retry in the background. */
        if (ib_store_failed(s, t->block, t->refused == 0))
                ib_log("block %u (%s) refused or unreachable on every source (last: %s: %s): reads of it fail with an I/O error until a source delivers it", t->block, hex, t->url, why);
        free(t->body.buf);
        free(t);
}

static void *run(void *arg) {
        struct ib_fetcher *f = arg;
        for (;;) {
                while (f->active < f->cfg->parallel) {
                        /* The profile's blocks take at most all transfers but one: a read that
                         * comes meanwhile finds one free; and they wait while the cache disk's
                         * write queue is half full (disk.h, ib_disk_room). */
                        int ahead = f->cfg->parallel == 1 || f->active < f->cfg->parallel - 1;
                        if (ahead && f->cfg->disk)
                                ahead = ib_disk_room(f->cfg->disk);
                        long b = ib_store_next(f->store, ahead);
                        if (b < 0)
                                break;
                        /* The local cache first: a block found there costs no request. */
                        if (f->cfg->disk) {
                                uint8_t *data = malloc(ib_block_length(&f->store->idx, (uint32_t)b));
                                if (data && ib_disk_get(f->cfg->disk, (uint32_t)b, data) == 0) {
                                        ib_store_ready(f->store, (uint32_t)b, data);
                                        continue;
                                }
                                free(data);
                        }
                        struct transfer *t = calloc(1, sizeof(*t));
                        if (t) {
                                t->block = (uint32_t)b;
                                t->body.max = f->store->idx.blocks[b].stored_size;
                                t->body.buf = malloc(t->body.max);
                                t->source = pick(f, -1, 0);
                        }
                        if (!t || !t->body.buf || start(f, t) < 0) {
                                ib_log("block %ld: out of memory", b);
                                if (t)
                                        free(t->body.buf);
                                free(t);
                                ib_store_failed(f->store, (uint32_t)b, 1);
                        }
                }
                int running = 0;
                curl_multi_perform(f->multi, &running);
                CURLMsg *m;
                int left;
                while ((m = curl_multi_info_read(f->multi, &left))) {
                        if (m->msg != CURLMSG_DONE)
                                continue;
                        struct transfer *t = NULL;
                        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
                        finish(f, t, m->data.result);
                }
                curl_multi_poll(f->multi, NULL, 0, 1000, NULL);
                /* Blocks that failed are asked for again in the background for a while, so that
                 * a network that comes back brings the system back (store.c). */
                ib_store_retry_failed(f->store);
        }
        return NULL;
}

void ib_fetcher_wake(void *fetcher) {
        struct ib_fetcher *f = fetcher;
        curl_multi_wakeup(f->multi);
}

int ib_fetcher_start(struct ib_fetcher **out, struct ib_store *store, const struct ib_fetch_config *cfg) {
        struct ib_fetcher *f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;
        f->store = store;
        f->cfg = cfg;
        f->multi = curl_multi_init();
        if (!f->multi) {
                free(f);
                return -ENOMEM;
        }
        curl_multi_setopt(f->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)cfg->parallel);
        curl_multi_setopt(f->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)cfg->parallel);
        store->wake_fetcher = ib_fetcher_wake;
        store->fetcher = f;
        if (cfg->disk)
                ib_disk_set_wake(cfg->disk, ib_fetcher_wake, f);
        int r = pthread_create(&f->thread, NULL, run, f);
        if (r != 0) {
                curl_multi_cleanup(f->multi);
                free(f);
                return -r;
        }
        *out = f;
        return 0;
}

int ib_fetch_small(const struct ib_fetch_config *cfg, const char *url, size_t max, unsigned char **out, size_t *out_len, char *why, size_t why_len) {
        struct sink s = { .buf = malloc(max ? max : 1), .max = max };
        CURL *h = curl_easy_init();
        if (!s.buf || !h) {
                free(s.buf);
                if (h)
                        curl_easy_cleanup(h);
                snprintf(why, why_len, "out of memory");
                return -1;
        }
        ib_fetch_setopts(h, cfg);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
        CURLcode rc = curl_easy_perform(h);
        long status = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(h);
        if (s.overflow)
                snprintf(why, why_len, "more than the %zu bytes it must have", max);
        else if (rc != CURLE_OK)
                snprintf(why, why_len, "%s", curl_easy_strerror(rc));
        else if (status != 200)
                snprintf(why, why_len, "HTTP %ld", status);
        else {
                *out = s.buf;
                *out_len = s.got;
                return 0;
        }
        free(s.buf);
        return -1;
}
