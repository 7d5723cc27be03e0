#include "log.h"

#include <stdio.h>

static const char *log_prefix = "inetboot-blockd";

void ib_log_set_prefix(const char *prefix) {
        log_prefix = prefix;
}

void ib_log(const char *fmt, ...) {
        char line[1024];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        /* One write per line, so that lines of several threads do not interleave. */
        fprintf(stderr, "%s: %s\n", log_prefix, line);
}
