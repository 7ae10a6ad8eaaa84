#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// System calls named like methods of the types that use them, so those types can call them.
public enum SystemIO {
    /// Writes up to `count` bytes at `buffer` to `fd` (calls `write(2)`): the bytes written, or
    /// -1 with `errno` set.
    @unsafe public static func write(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
        #if canImport(Glibc)
        return unsafe Glibc.write(fd, buffer, count)
        #else
        return unsafe Darwin.write(fd, buffer, count)
        #endif
    }
}
