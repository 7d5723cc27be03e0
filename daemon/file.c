#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int ib_read_file(const char *path, size_t max, uint8_t **out, size_t *len) {
        return ib_read_file_at(AT_FDCWD, path, max, out, len);
}

int ib_read_file_at(int dirfd, const char *path, size_t max, uint8_t **out, size_t *len) {
        int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
                close(fd);
                return -EINVAL;
        }
        uint8_t *buf = malloc(st.st_size ? (size_t)st.st_size : 1);
        size_t got = 0;
        while (buf && got < (size_t)st.st_size) {
                ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
                if (n <= 0)
                        break;
                got += (size_t)n;
        }
        close(fd);
        if (!buf || got != (size_t)st.st_size) {
                free(buf);
                return buf ? -EIO : -ENOMEM;
        }
        *out = buf;
        *len = got;
        return 0;
}
