#include "log.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *log_prefix = "inetboot-blockd";
static int log_fd = 2;

void ib_log_set_prefix(const char *prefix) {
        log_prefix = prefix;
}

void ib_log_keep_stderr(void) {
        int fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
        if (fd >= 0)
                log_fd = fd;
}

void ib_log(const char *fmt, ...) {
        char line[1200];
        va_list ap;

        int n = snprintf(line, sizeof(line), "%s: ", log_prefix);
        va_start(ap, fmt);
        vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
        va_end(ap);
        size_t len = strlen(line);
        line[len++] = '\n';
        /* One write per line, so that lines of several threads do not interleave. */
        ssize_t w = write(log_fd, line, len);
        (void)w;
}
