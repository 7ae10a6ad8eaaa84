#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CWeightKitKernels
import Synchronization

/// A persistent pool of worker threads for the forward pass.
///
/// A token runs ~250 parallel regions (7 matrix products and one attention per layer); starting
/// each through Dispatch costs tens of microseconds, a large share of a 20 ms token. Workers here
/// stay alive and spin briefly on a generation counter between regions, then back off to short
/// sleeps, so an idle pool costs almost nothing.
final class ThreadPool: @unchecked Sendable {
    // @unchecked: `job` and `parts` are written only by the caller before it publishes a new
    // generation (release) and read by workers after they observe it (acquire).

    /// Worker threads besides the caller.
    let workers: Int
    private let generation = Atomic<Int>(0)
    private let remaining = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    fileprivate nonisolated(unsafe) var job: (@Sendable (Int) -> Void)?
    private var threads: [PlatformThread] = []

    /// Starts `workers` threads.
    init(workers: Int) {
        self.workers = workers
        for index in 1...max(1, workers) where workers > 0 {
            // Unretained: deinit joins this thread, so the pool outlives the loop, and a strong
            // reference here would keep the pool (and its threads) alive forever.
            let pool = Unmanaged.passUnretained(self)
            if let thread = PlatformThread.start({ unsafe pool._withUnsafeGuaranteedRef { $0.workerLoop(index: index) } }) {
                threads.append(thread)
            }
        }
    }

    deinit {
        stopping.store(true, ordering: .releasing)
        generation.add(1, ordering: .releasing)
        for thread in threads { thread.join() }
    }

    /// Runs `body(part)` for part in 0...workers: the caller takes part 0, worker i part i.
    /// Returns when every part is done.
    ///
    /// `body` must be a real escaping closure: workers retain it from other threads, which a
    /// stack-allocated (non-escaping) closure context does not allow.
    func run(_ body: @escaping @Sendable (Int) -> Void) {
        job = body
        remaining.store(threads.count, ordering: .relaxed)
        generation.add(1, ordering: .releasing)
        body(0)
        var spins = 0
        while remaining.load(ordering: .acquiring) > 0 {
            spins += 1
            if spins > 1 << 16 { sched_yield() } else { wk_cpu_relax() }
        }
        job = nil
    }

    private func workerLoop(index: Int) {
        // Every worker is created in init, before the first run: generation 0 is the start,
        // whenever this thread gets scheduled (loading it here could miss the first region).
        var seen = 0
        while true {
            var spins = 0
            var current = generation.load(ordering: .acquiring)
            while current == seen {
                spins += 1
                // Between the regions of one token the main thread works alone for a few µs:
                // poll with `pause` (a sched_yield system call per poll costs a visible share of decode), then
                // yield, and when idle for long, sleep 50 µs at a time instead of burning a core.
                if spins > 300_000 {
                    var pause = timespec(tv_sec: 0, tv_nsec: 50_000)
                    unsafe nanosleep(&pause, nil)
                } else if spins > 100_000 {
                    sched_yield()
                } else {
                    wk_cpu_relax()
                }
                current = generation.load(ordering: .acquiring)
            }
            seen = current
            if stopping.load(ordering: .acquiring) { return }
            runJob(index)
            remaining.subtract(1, ordering: .releasing)
        }
    }
}

extension ThreadPool {
    /// Calls the current job; the reference to it is released before this returns, so a caller
    /// that wrapped a non-escaping closure (`withoutActuallyEscaping`) sees it unescaped.
    @inline(never)
    fileprivate func runJob(_ index: Int) {
        guard let job = job else { return }
        job(index)
    }
}

