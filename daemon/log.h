/* One line per event that matters, prefixed like the preboot's messages, on stderr (the
 * miniroot's init points it at the console). */
#pragma once

#include <stdarg.h>

void ib_log_set_prefix(const char *prefix);
/* Keeps a descriptor of stderr as it is now, to write to from then on: libfuse points stdin,
 * stdout and stderr at /dev/null when it goes into the background (fuse_daemonize), and the
 * lines that matter most (a block refused, a source down, the cache disk full) come after. */
void ib_log_keep_stderr(void);
void ib_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
