/* One line per event that matters, prefixed like the preboot's messages, on stderr (the
 * miniroot's init points it at the console). */
#pragma once

#include <stdarg.h>

void ib_log_set_prefix(const char *prefix);
void ib_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
