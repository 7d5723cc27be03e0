/* inetboot-blockd: the block daemon of a lazily fetched root (README, "Publishing a root").
 *
 *   inetboot-blockd --source URL [--source URL ...] --index-sha256 HEX --index-size BYTES
 *                   [--profile-sha256 HEX --profile-size BYTES]
 *                   [--ca-file PEM] [--proxy URL] [--cache-mb N] [--parallel N] [--ahead N]
 *                   [--cache-dir DIR [--cache-readonly]] [--foreground] MOUNTPOINT
 *
 * Fetches the index (SOURCE/index/HEX), refuses it unless its size and SHA-256 are the given
 * ones, and mounts MOUNTPOINT/image: the image, whose blocks are fetched when read
 * (SOURCE/blocks/HH/HASH[.zst]), checked and kept in RAM (--cache-mb), with read-ahead while
 * reads run sequentially. MOUNTPOINT/stats holds the counters, MOUNTPOINT/profile the blocks
 * the reads touched, in order (what `inetboot publish --profile` takes). With a published profile
 * (--profile-*: SOURCE/profile/HEX, profile.h) its blocks are fetched in the background, in
 * parallel, ahead of the reads; a profile that cannot be had is a warning. With --cache-dir (the
 * inetboot-cache folder of a local cache disk, disk.h) the index and every block are taken from
 * there when they are there and pass their check, and what is fetched is written there
 * (--cache-readonly: never written); with everything cached it starts and serves with no
 * source answering.
 *
 * It is made to keep serving after the miniroot's switch_root: everything it opens or looks up
 * happens before it mounts (the CA bundle is read into memory; each source's host name is
 * resolved once and pinned with CURLOPT_RESOLVE; curl and OpenSSL are initialised). Run it as
 * "@inetboot-blockd" (argv[0] starting with '@'): systemd then leaves it alive at shutdown, as
 * it does for the daemons of root storage.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block.h"
#include "disk.h"
#include "file.h"
#include "fs.h"
#include "log.h"
#include "profile.h"

#define MAX_CA_BYTES (4u * 1024u * 1024u)

static int usage(const char *why) {
        fprintf(stderr, "inetboot-blockd: %s\n"
                        "usage: inetboot-blockd --source URL [--source URL ...] --index-sha256 HEX --index-size BYTES\n"
                        "                       [--profile-sha256 HEX --profile-size BYTES]\n"
                        "                       [--ca-file PEM] [--proxy URL] [--cache-mb N] [--parallel N] [--ahead N]\n"
                        "                       [--cache-dir DIR [--cache-readonly]] [--foreground] MOUNTPOINT\n",
                why);
        return 2;
}

static int parse_hex(const char *s, uint8_t out[32]) {
        if (strlen(s) != 64)
                return -1;
        for (int i = 0; i < 32; i++) {
                unsigned v;
                if (!isxdigit((unsigned char)s[2 * i]) || !isxdigit((unsigned char)s[2 * i + 1]) || sscanf(s + 2 * i, "%2x", &v) != 1)
                        return -1;
                out[i] = (uint8_t)v;
        }
        return 0;
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || end == s || *end || v == 0 || v > max || s[0] == '-')
                return -1;
        *out = v;
        return 0;
}

/* Resolves the host of each source now, and pins the answer for curl: after switch_root the
 * resolver's files (resolv.conf, NSS modules) would be the new root's. */
static int pin_hosts(struct ib_fetch_config *cfg) {
        for (int i = 0; i < cfg->nsources; i++) {
                CURLU *u = curl_url();
                char *host = NULL, *port = NULL;
                if (!u || curl_url_set(u, CURLUPART_URL, cfg->sources[i], 0) != CURLUE_OK ||
                    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
                        ib_log("%s is not a URL", cfg->sources[i]);
                        curl_url_cleanup(u);
                        return -1;
                }
                struct in6_addr a6;
                struct in_addr a4;
                int literal = inet_pton(AF_INET, host, &a4) == 1 || (host[0] == '[') || inet_pton(AF_INET6, host, &a6) == 1;
                if (!literal) {
                        struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
                        int r = getaddrinfo(host, port, &hints, &res);
                        if (r != 0) {
                                /* Not fatal: with the blocks in the cache no source is needed, and
                                 * curl resolves the name itself when a block is fetched. */
                                ib_log("WARNING: cannot resolve %s: %s (its blocks are fetched by name, through the booted system's resolver)", host, gai_strerror(r));
                                curl_free(host);
                                curl_free(port);
                                curl_url_cleanup(u);
                                continue;
                        }
                        char entry[1024];
                        int n = snprintf(entry, sizeof(entry), "%s:%s:", host, port);
                        for (struct addrinfo *ai = res; ai && n < (int)sizeof(entry) - 64; ai = ai->ai_next) {
                                char addr[INET6_ADDRSTRLEN];
                                const void *src = ai->ai_family == AF_INET ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr : (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
                                if (!inet_ntop(ai->ai_family, src, addr, sizeof(addr)))
                                        continue;
                                n += snprintf(entry + n, sizeof(entry) - (size_t)n, ai->ai_family == AF_INET6 ? "%s[%s]" : "%s%s", entry[n - 1] == ':' ? "" : ",", addr);
                        }
                        freeaddrinfo(res);
                        cfg->resolve = curl_slist_append(cfg->resolve, entry);
                }
                curl_free(host);
                curl_free(port);
                curl_url_cleanup(u);
        }
        return 0;
}

/* KIND/HEX (the index, the profile): exactly `size` bytes whose sha256 is `sha`, from the cache
 * disk, else from the first source that delivers it whole and right (and then kept on the
 * disk). Returns 0 and *out (malloc'ed), or -1 when no source delivered it (each failure said). */
static int fetch_named(struct ib_daemon *d, const char *kind, const uint8_t sha[32], size_t size, uint8_t **out) {
        char hex[65], why[256];
        ib_hex(sha, 32, hex);
        if (d->cfg.disk && ib_disk_file_get(d->cfg.disk, sha, size, out) == 0) {
                ib_log("%s %s from the cache", kind, hex);
                return 0;
        }
        for (int i = 0; i < d->cfg.nsources; i++) {
                char url[2048];
                unsigned char *buf;
                size_t len;
                snprintf(url, sizeof(url), "%s%s/%s", d->cfg.sources[i], kind, hex);
                if (ib_fetch_small(&d->cfg, url, size, &buf, &len, why, sizeof(why)) < 0) {
                        ib_log("%s %s: %s", kind, url, why);
                        continue;
                }
                uint8_t got[32];
                ib_sha256(buf, len, got);
                if (len != size || memcmp(got, sha, 32) != 0) {
                        char got_hex[65];
                        ib_hex(got, 32, got_hex);
                        ib_log("%s %s refused: %zu bytes with sha256 %s, expected %zu bytes with sha256 %s", kind, url, len, got_hex, size, hex);
                        free(buf);
                        continue;
                }
                ib_log("%s %s", kind, url);
                if (d->cfg.disk)
                        ib_disk_file_put(d->cfg.disk, sha, buf, len);
                *out = buf;
                return 0;
        }
        return -1;
}

int main(int argc, char **argv) {
        static struct ib_daemon d;
        char *sources[IB_MAX_SOURCES];
        int nsources = 0, foreground = 0, cache_readonly = 0;
        const char *ca_file = NULL, *mountpoint = NULL, *cache_dir = NULL;
        uint8_t index_sha[32], profile_sha[32];
        int have_sha = 0, have_profile_sha = 0;
        unsigned long long index_size = 0, profile_size = 0, cache_mb = 64, parallel = 8, ahead = 16;

        ib_log_keep_stderr();
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];
                const char *v = i + 1 < argc ? argv[i + 1] : NULL;
                if (strcmp(a, "--foreground") == 0) {
                        foreground = 1;
                        continue;
                }
                if (strcmp(a, "--cache-readonly") == 0) {
                        cache_readonly = 1;
                        continue;
                }
                if (a[0] != '-') {
                        if (mountpoint)
                                return usage("only one MOUNTPOINT");
                        mountpoint = a;
                        continue;
                }
                if (!v)
                        return usage("an option lacks its value");
                i++;
                if (strcmp(a, "--source") == 0) {
                        size_t n = strlen(v);
                        if (nsources == IB_MAX_SOURCES)
                                return usage("at most 16 --source");
                        if (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0)
                                return usage("--source must be an http:// or https:// URL");
                        char *s = malloc(n + 2);
                        if (!s)
                                return 1;
                        snprintf(s, n + 2, "%s%s", v, v[n - 1] == '/' ? "" : "/");
                        sources[nsources++] = s;
                } else if (strcmp(a, "--index-sha256") == 0) {
                        if (parse_hex(v, index_sha) < 0)
                                return usage("--index-sha256 must be 64 hexadecimal digits");
                        have_sha = 1;
                } else if (strcmp(a, "--index-size") == 0) {
                        if (parse_uint(v, IB_INDEX_HEADER + (unsigned long long)IB_MAX_BLOCKS * IB_INDEX_RECORD, &index_size) < 0)
                                return usage("--index-size must be the index's size in bytes");
                } else if (strcmp(a, "--profile-sha256") == 0) {
                        if (parse_hex(v, profile_sha) < 0)
                                return usage("--profile-sha256 must be 64 hexadecimal digits");
                        have_profile_sha = 1;
                } else if (strcmp(a, "--profile-size") == 0) {
                        if (parse_uint(v, IB_PROFILE_HEADER + 4ull * IB_MAX_BLOCKS, &profile_size) < 0)
                                return usage("--profile-size must be the profile's size in bytes");
                } else if (strcmp(a, "--cache-dir") == 0) {
                        cache_dir = v;
                } else if (strcmp(a, "--ca-file") == 0) {
                        ca_file = v;
                } else if (strcmp(a, "--proxy") == 0) {
                        d.cfg.proxy = v;
                } else if (strcmp(a, "--cache-mb") == 0) {
                        if (parse_uint(v, 65536, &cache_mb) < 0)
                                return usage("--cache-mb must be from 1 to 65536");
                } else if (strcmp(a, "--parallel") == 0) {
                        if (parse_uint(v, 64, &parallel) < 0)
                                return usage("--parallel must be from 1 to 64");
                } else if (strcmp(a, "--ahead") == 0) {
                        if (parse_uint(v, 256, &ahead) < 0)
                                return usage("--ahead must be from 1 to 256");
                } else {
                        return usage("unknown option");
                }
        }
        if (nsources == 0 || !have_sha || index_size == 0 || !mountpoint)
                return usage("--source, --index-sha256, --index-size and MOUNTPOINT are required");
        if (have_profile_sha != (profile_size != 0))
                return usage("--profile-sha256 and --profile-size go together");
        if (cache_readonly && !cache_dir)
                return usage("--cache-readonly needs --cache-dir");
        if (cache_dir) {
                int r = ib_disk_open(&d.cfg.disk, cache_dir, cache_readonly);
                if (r < 0) {
                        ib_log("WARNING: cache: %s: %s: going on without the block cache", cache_dir, strerror(-r));
                        d.cfg.disk = NULL;
                } else {
                        ib_log("cache: blocks in %s/blocks%s", cache_dir, cache_readonly ? " (read-only)" : "");
                }
        }

        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                ib_log("cannot initialise curl");
                return 1;
        }
        d.cfg.sources = sources;
        d.cfg.nsources = nsources;
        d.cfg.parallel = (int)parallel;
        if (ca_file) {
                uint8_t *ca = NULL;
                if (ib_read_file(ca_file, MAX_CA_BYTES, &ca, &d.cfg.ca_len) < 0 || d.cfg.ca_len == 0) {
                        ib_log("cannot read the CA bundle %s (a regular file of at most 4 MiB)", ca_file);
                        return 1;
                }
                d.cfg.ca_blob = (const char *)ca;
        }
        if (pin_hosts(&d.cfg) < 0)
                return 1;

        /* The index: its sha256 is the pinned one, so one that does not parse is bad from
         * anywhere. */
        char hex[65], why[256];
        ib_hex(index_sha, 32, hex);
        struct ib_index idx;
        uint8_t *buf = NULL;
        if (fetch_named(&d, "index", index_sha, (size_t)index_size, &buf) < 0) {
                ib_log("no source delivered the index: nothing mounted");
                return 1;
        }
        if (ib_index_parse(buf, (size_t)index_size, &idx, why, sizeof(why)) < 0) {
                ib_log("index %s refused: %s", hex, why);
                return 1;
        }
        free(buf);
        ib_log("index %s: %u blocks of %u KiB on average, image %llu bytes", hex, idx.block_count, idx.block_size / 1024, (unsigned long long)idx.image_size);
        size_t limit = (size_t)cache_mb * 1024 * 1024;
        if (ib_store_init(&d.store, &idx, limit, (unsigned)ahead) < 0) {
                ib_log("out of memory");
                return 1;
        }
        if (d.cfg.disk)
                ib_disk_set_index(d.cfg.disk, &d.store.idx);
        /* The profile only speeds the boot up: without it the reads fetch what they need. */
        if (have_profile_sha) {
                uint32_t *blocks, n;
                ib_hex(profile_sha, 32, hex);
                if (fetch_named(&d, "profile", profile_sha, (size_t)profile_size, &buf) < 0) {
                        ib_log("WARNING: no source delivered the boot profile: blocks are fetched as they are read");
                } else if (ib_profile_parse(buf, (size_t)profile_size, idx.block_count, &blocks, &n, why, sizeof(why)) < 0) {
                        ib_log("WARNING: profile %s refused: %s: blocks are fetched as they are read", hex, why);
                        free(buf);
                } else {
                        /* Half the RAM cache for blocks fetched ahead and not read yet: the rest
                         * keeps what the reads took. */
                        ib_store_set_prefetch(&d.store, blocks, n, limit / 2);
                        ib_log("profile %s: %u blocks to fetch ahead of the reads", hex, n);
                        free(buf);
                }
        }

        char *fargv[8];
        int fargc = 0;
        fargv[fargc++] = argv[0];
        if (foreground)
                fargv[fargc++] = "-f";
        fargv[fargc++] = "-o";
        fargv[fargc++] = "ro,allow_other,fsname=inetboot-blockd,subtype=blockd";
        fargv[fargc++] = (char *)mountpoint;
        fargv[fargc] = NULL;
        return fuse_main(fargc, fargv, &ib_fs_ops, &d);
}
