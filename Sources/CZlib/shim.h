#ifndef WEIGHTKIT_CZLIB_SHIM_H
#define WEIGHTKIT_CZLIB_SHIM_H
#include <zlib.h>

/* inflateInit2 and deflateInit2 are macros that pass ZLIB_VERSION and the struct size;
   Swift cannot import function-like macros, so these inline shims call the real functions. */
static inline int weightkit_inflateInit2(z_streamp strm, int windowBits) {
    return inflateInit2_(strm, windowBits, ZLIB_VERSION, (int)sizeof(z_stream));
}
static inline int weightkit_deflateInit2(z_streamp strm, int level, int windowBits) {
    return deflateInit2_(strm, level, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY,
                         ZLIB_VERSION, (int)sizeof(z_stream));
}
#endif
