#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"

static struct ib_daemon *daemon_of(void) {
        return fuse_get_context()->private_data;
}

/* Runs in the mounted daemon (after libfuse forked into the background): the fetcher's thread
 * starts here, not before the fork, which would not carry it over. */
static void *fs_init(struct fuse_conn_info *conn, struct fuse_config *cfg) {
        (void)conn;
        struct ib_daemon *d = daemon_of();
        cfg->kernel_cache = 1; /* the image never changes: the kernel may keep its pages */
        cfg->attr_timeout = 86400;
        cfg->entry_timeout = 86400;
        if (d->cfg.disk && ib_disk_start_writer(d->cfg.disk) < 0) {
                ib_log("WARNING: cache: cannot start its writer: blocks are read from the cache, not written");
                d->cfg.disk = NULL;
        }
        int r = ib_fetcher_start(&d->fetcher, &d->store, &d->cfg);
        if (r < 0) {
                ib_log("cannot start the fetcher: %s", strerror(-r));
                fuse_exit(fuse_get_context()->fuse);
        }
        return d;
}

/* At unmount: what is queued for the cache disk is written first (bounded). */
static void fs_destroy(void *private_data) {
        struct ib_daemon *d = private_data;
        if (d->cfg.disk)
                ib_disk_flush(d->cfg.disk, 10);
}

static int fs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi) {
        (void)fi;
        memset(st, 0, sizeof(*st));
        if (strcmp(path, "/") == 0) {
                st->st_mode = S_IFDIR | 0555;
                st->st_nlink = 2;
        } else if (strcmp(path, "/image") == 0) {
                st->st_mode = S_IFREG | 0444;
                st->st_nlink = 1;
                st->st_size = (off_t)daemon_of()->store.idx.image_size;
        } else if (strcmp(path, "/stats") == 0 || strcmp(path, "/profile") == 0) {
                st->st_mode = S_IFREG | 0444;
                st->st_nlink = 1;
        } else {
                return -ENOENT;
        }
        return 0;
}

static int fs_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off, struct fuse_file_info *fi, enum fuse_readdir_flags flags) {
        (void)off;
        (void)fi;
        (void)flags;
        if (strcmp(path, "/") != 0)
                return -ENOENT;
        fill(buf, ".", NULL, 0, 0);
        fill(buf, "..", NULL, 0, 0);
        fill(buf, "image", NULL, 0, 0);
        fill(buf, "stats", NULL, 0, 0);
        fill(buf, "profile", NULL, 0, 0);
        return 0;
}

static int fs_open(const char *path, struct fuse_file_info *fi) {
        if ((fi->flags & O_ACCMODE) != O_RDONLY)
                return -EROFS;
        if (strcmp(path, "/image") == 0) {
                fi->keep_cache = 1;
                return 0;
        }
        if (strcmp(path, "/stats") == 0 || strcmp(path, "/profile") == 0) {
                fi->direct_io = 1; /* its size is not known before it is read */
                return 0;
        }
        return -ENOENT;
}

static int fs_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
        (void)fi;
        struct ib_daemon *d = daemon_of();
        if (off < 0)
                return -EINVAL;
        if (strcmp(path, "/image") == 0)
                return (int)ib_store_read(&d->store, (uint8_t *)buf, (uint64_t)off, size);
        if (strcmp(path, "/profile") == 0)
                return (int)ib_store_profile(&d->store, buf, (uint64_t)off, size);
        if (strcmp(path, "/stats") == 0) {
                char text[2048];
                int n = ib_store_stats(&d->store, text, sizeof(text));
                if (n > 0 && n < (int)sizeof(text) && d->cfg.disk) {
                        struct ib_disk_stats ds;
                        ib_disk_stats(d->cfg.disk, &ds);
                        int m = snprintf(text + n, sizeof(text) - (size_t)n,
                                         "disk_hits %llu\ndisk_misses %llu\ndisk_corrupt %llu\ndisk_writes %llu\ndisk_write_bytes %llu\ndisk_write_failures %llu\ndisk_dropped %llu\ndisk_queued %llu\n",
                                         ds.hits, ds.misses, ds.corrupt, ds.writes, ds.write_bytes, ds.write_failures, ds.dropped, ds.queued);
                        n = m > 0 ? n + m : n;
                }
                if (n < 0 || off >= n)
                        return 0;
                size_t len = (size_t)n - (size_t)off;
                if (len > size)
                        len = size;
                memcpy(buf, text + off, len);
                return (int)len;
        }
        return -ENOENT;
}

const struct fuse_operations ib_fs_ops = {
        .init = fs_init,
        .destroy = fs_destroy,
        .getattr = fs_getattr,
        .readdir = fs_readdir,
        .open = fs_open,
        .read = fs_read,
};
