import CLinuxShims
import Glibc

/// An owned file descriptor, closed exactly once when the owner calls ``close()`` or is deinitialized.
public final class FileDescriptor: @unchecked Sendable {
    public let rawValue: Int32
    private var isClosed = false
    private let lock = PThreadMutex()

    public init(rawValue: Int32) { self.rawValue = rawValue }

    public func close() {
        lock.withLock {
            if !isClosed {
                isClosed = true
                _ = Glibc.close(rawValue)
            }
        }
    }

    deinit { if !isClosed { _ = Glibc.close(rawValue) } }

    /// Sets O_NONBLOCK.
    public func setNonBlocking() throws(SystemError) {
        let flags = try syscall("fcntl(F_GETFL)") { fcntl(rawValue, F_GETFL) }
        _ = try syscall("fcntl(F_SETFL)") { fcntl(rawValue, F_SETFL, flags | O_NONBLOCK) }
    }
}

/// An eventfd used to wake threads blocked in `poll`.
public final class WakeEvent: @unchecked Sendable {
    public let descriptor: FileDescriptor

    public init() throws(SystemError) {
        let fd = try checkShim("eventfd", CLinuxShims_eventfd())
        descriptor = FileDescriptor(rawValue: fd)
    }

    /// Sleeps up to `milliseconds`; true if the event was signalled (it stays signalled for other waiters).
    public func wait(milliseconds: Int32) -> Bool {
        var p = pollfd(fd: descriptor.rawValue, events: Int16(POLLIN), revents: 0)
        while true {
            let r = poll(&p, 1, milliseconds)
            if r < 0 && errno == EINTR { continue }
            return r > 0
        }
    }

    public func signal() {
        var one: UInt64 = 1
        _ = write(descriptor.rawValue, &one, 8)
    }

    /// Clears the event (for a wake-up event that is signalled again and again).
    public func drain() {
        var value: UInt64 = 0
        _ = read(descriptor.rawValue, &value, 8)
    }
}

/// Waits until `fd` is readable or `wake` fires; returns false when woken (time to stop).
public func waitReadable(_ fd: Int32, wake: WakeEvent, timeoutMilliseconds: Int32 = -1) -> Bool {
    var fds = [
        pollfd(fd: fd, events: Int16(POLLIN), revents: 0),
        pollfd(fd: wake.descriptor.rawValue, events: Int16(POLLIN), revents: 0),
    ]
    while true {
        let r = poll(&fds, 2, timeoutMilliseconds)
        if r < 0 && errno == EINTR { continue }
        if fds[1].revents != 0 { return false }
        return true
    }
}
