import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Accepts connections on a ``UnixListener`` and serves each on its own thread, with bounds a local
/// client cannot get around: at most `maximumClients` at once (the next is handed to `refuse` and closed
/// at once), and a failing `accept` (`EMFILE` under a descriptor flood, for example) is reported and
/// retried, so the accept thread never ends before ``stop()``. Deadlines inside a connection are the
/// handler's, with ``readLine(_:deadline:maximumBytes:)`` and ``waitReadable(_:until:)``.
public final class UnixStreamServer: @unchecked Sendable {
    public typealias Serve = @Sendable (FileDescriptor) -> Void

    private let listener: UnixListener
    private let name: String
    private let maximumClients: Int
    private let serve: Serve
    private let refuse: Serve
    private let report: @Sendable (String) -> Void
    private let active = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private var thread: OSThread?

    /// - Parameters:
    ///   - name: thread name prefix (at most 10 characters).
    ///   - report: receives a sentence when `accept` starts failing (once per distinct errno).
    public init(
        listener: UnixListener, name: String, maximumClients: Int, report: @escaping @Sendable (String) -> Void,
        refuse: @escaping Serve = { _ in }, serve: @escaping Serve
    ) {
        self.listener = listener
        self.name = name
        self.maximumClients = maximumClients
        self.report = report
        self.refuse = refuse
        self.serve = serve
    }

    public func start() {
        thread = OSThread(name: name) { [self] in acceptLoop() }
    }

    /// Stops accepting (the path is removed); clients being served finish on their own threads.
    public func stop() {
        stopping.store(true, ordering: .releasing)
        listener.close()
        thread?.join()
        thread = nil
    }

    private func acceptLoop() {
        var lastFailure: Int32 = 0
        while !stopping.load(ordering: .acquiring) {
            let connection: FileDescriptor
            do {
                connection = try listener.accept(timeoutSeconds: 5)
            } catch {
                if stopping.load(ordering: .acquiring) { return }
                if error.errno != lastFailure { report("\(listener.path): accept failed (retrying): \(error)") }
                lastFailure = error.errno
                usleep(100_000)
                continue
            }
            lastFailure = 0
            guard active.add(1, ordering: .acquiringAndReleasing).newValue <= maximumClients else {
                active.subtract(1, ordering: .acquiringAndReleasing)
                refuse(connection)
                connection.close()
                continue
            }
            _ = OSThread(name: "\(name)-c") { [self] in
                serve(connection)
                connection.close()
                active.subtract(1, ordering: .acquiringAndReleasing)
            }
        }
    }

    /// Waits until `connection` is readable or `deadline` passes; false on the deadline.
    public static func waitReadable(_ connection: FileDescriptor, until deadline: ContinuousClock.Instant) -> Bool {
        while true {
            let left = ContinuousClock.now.duration(to: deadline)
            guard left > .zero else { return false }
            let milliseconds = Int32(
                clamping: left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1)
            var descriptor = pollfd(fd: connection.rawValue, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, milliseconds)
            if ready < 0 && errno == EINTR { continue }
            return ready > 0
        }
    }

    /// The bytes of the first line `connection` sends (without its newline), or nil when the whole line
    /// does not arrive before `deadline`, grows past `maximumBytes`, or the client hangs up. One deadline
    /// for the whole line: a client dripping a byte at a time cannot hold the connection longer.
    public static func readLine(
        _ connection: FileDescriptor, deadline: ContinuousClock.Instant, maximumBytes: Int
    ) -> [UInt8]? {
        var pending = [UInt8]()
        while !pending.contains(UInt8(ascii: "\n")) {
            guard waitReadable(connection, until: deadline) else { return nil }
            let bytes = connection.readSome()
            if bytes.isEmpty { return nil }
            pending += bytes
            if pending.count > maximumBytes { return nil }
        }
        return Array(pending.prefix { $0 != UInt8(ascii: "\n") })
    }
}
