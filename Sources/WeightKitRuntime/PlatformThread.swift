#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A POSIX thread running a closure: the one place that spells pthread's types, which differ
/// between Glibc (`pthread_t` a number, the start routine's argument optional) and Darwin
/// (`pthread_t` a pointer, the argument not optional).
struct PlatformThread {
    private let handle: pthread_t

    /// Starts a thread running `body`; nil when the system refuses one.
    static func start(_ body: @escaping @Sendable () -> Void) -> PlatformThread? {
        let box = unsafe Unmanaged.passRetained(Body(body))
        #if os(Linux)
        var thread = pthread_t()
        let status = unsafe pthread_create(&thread, nil, { raw in
            unsafe Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue().run()
            return nil
        }, box.toOpaque())
        #else
        var created: pthread_t?
        let status = unsafe pthread_create(&created, nil, { raw in
            unsafe Unmanaged<Body>.fromOpaque(raw).takeRetainedValue().run()
            return nil
        }, box.toOpaque())
        guard status == 0, let thread = created else { unsafe box.release(); return nil }
        #endif
        guard status == 0 else { unsafe box.release(); return nil }
        return PlatformThread(handle: thread)
    }

    /// Waits for the thread to return (calls `pthread_join`).
    func join() { _ = pthread_join(handle, nil) }

    /// The closure a new thread runs, passed through pthread_create's context pointer.
    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }
}
