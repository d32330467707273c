import CLinuxShims
import Glibc

/// A pthread mutex for the few places that cannot use `Synchronization.Mutex` (class-held, non-generic).
public final class PThreadMutex: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    public init() {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    public func withLock<R>(_ body: () throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}

/// A dedicated OS thread (the data plane keeps its loops off Swift's cooperative pool).
public final class OSThread: @unchecked Sendable {
    private var thread: pthread_t = 0

    private final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    /// Starts `body` on a new thread named `name` (at most 15 characters are kept).
    public init(name: String, _ body: @escaping @Sendable () -> Void) {
        let threadName = String(name.prefix(15))
        let box = Unmanaged.passRetained(
            Box({
                CLinuxShims_set_thread_name(threadName)
                body()
            })
        ).toOpaque()
        let rc = pthread_create(
            &thread, nil,
            { raw in
                let box = Unmanaged<AnyObject>.fromOpaque(raw!).takeRetainedValue() as! Box
                box.body()
                return nil
            }, box)
        precondition(rc == 0, "pthread_create failed: \(rc)")
    }

    /// Gives the calling thread a lower scheduling priority (a nice value, 1...19): work that must yield the
    /// CPU to the packet threads when both want it. Failing is harmless (the thread keeps its priority).
    public static func lowerCurrentPriority(nice: Int32) {
        _ = CLinuxShims_set_thread_nice(nice)
    }

    /// Waits for the thread to finish.
    public func join() {
        pthread_join(thread, nil)
    }
}
