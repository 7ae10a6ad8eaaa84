/* File-system calls Swift's Glibc module does not expose (they need _GNU_SOURCE). */
#define _GNU_SOURCE
#include "wk_kernels.h"
#if defined(__linux__)
#include <fcntl.h>
#endif

int wk_start_writeback(int fd, long long offset, long long count) {
#if defined(__linux__)
    return sync_file_range(fd, offset, count, SYNC_FILE_RANGE_WRITE);
#else
    (void)fd; (void)offset; (void)count;
    return 0;
#endif
}
