import Dispatch

/// Splits work over disjoint ranges on all cores (llama2.c's "parallelize over output rows and
/// heads"), on a persistent `ThreadPool`. Falls back to one thread below a size threshold and
/// never nests.
public struct Parallel: Sendable {
    /// Threads to use (≥ 1).
    public let threads: Int
    private let pool: ThreadPool?

    /// Creates a splitter for `threads` threads (0 or less: one per core). With `pool` it starts
    /// `threads - 1` worker threads, stopped when the last copy of this value goes away; without,
    /// every region goes through Dispatch's `concurrentPerform` (slower; for comparisons).
    public init(threads: Int = 0, pool: Bool = true) {
        self.threads = threads > 0 ? threads : Parallel.coreCount
        self.pool = pool && self.threads > 1 ? ThreadPool(workers: self.threads - 1) : nil
    }

    /// Number of online cores.
    public static let coreCount: Int = {
        #if canImport(Glibc) || canImport(Darwin)
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #else
        return 1
        #endif
    }()

    /// Calls `body` on disjoint sub-ranges covering `0..<count`, concurrently when worth it.
    /// `minimumPerThread` is the smallest range worth a thread.
    public func forEachRange(_ count: Int, minimumPerThread: Int = 16, _ body: @escaping @Sendable (Range<Int>) -> Void) {
        let pieces = min(threads, max(1, count / max(1, minimumPerThread)))
        if pieces <= 1 {
            body(0..<count)
            return
        }
        let step = (count + pieces - 1) / pieces
        let work: @Sendable (Int) -> Void = { i in
            let lower = i * step
            let upper = min(count, lower + step)
            if lower < upper { body(lower..<upper) }
        }
        if let pool, pieces == threads {
            pool.run(work)
        } else {
            DispatchQueue.concurrentPerform(iterations: pieces, execute: work)
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
