public import ControlProtocol
import Foundation
import Glibc
import LinuxSystem
public import Logging
import Synchronization

/// Serves the control socket: one JSON request per line, one JSON response per line, each connection on
/// its own thread so a drill (seconds long) never holds up `meshgate status`.
///
/// Bounds, so no client can hold the socket: a whole request must arrive within ``requestDeadline`` (one
/// deadline for the request, not per read, so a byte every few seconds does not keep a connection
/// open); at most ``maximumClients`` are served at once and the next one is answered "busy" at once; a
/// request line is at most 1 MiB. The socket is mode 0600 (root only), like the UAPI socket. A failing
/// `accept` (for example `EMFILE` under a descriptor flood) is logged and retried; it never ends the
/// accept thread.
public final class ControlServer: @unchecked Sendable {
    public typealias Handler = @Sendable (ControlRequest) -> ControlResponse

    /// How long a client has to send its whole request.
    public static let requestDeadline: Duration = .seconds(5)
    /// Clients served at the same time.
    public static let maximumClients = 16
    static let maximumRequestBytes = 1 << 20

    private let listener: UnixListener
    private let handler: Handler
    private let logger: Logger
    private var thread: OSThread?
    private let active = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)

    public init(path: String, logger: Logger, handler: @escaping Handler) throws {
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        if !directory.isEmpty { makeDirectories(directory) }
        self.listener = try UnixListener(path: path)
        self.handler = handler
        self.logger = logger
    }

    public var path: String { listener.path }

    public func start() {
        thread = OSThread(name: "mg-control") { [self] in
            var lastFailure: Int32 = 0
            while !stopping.load(ordering: .acquiring) {
                let connection: FileDescriptor
                do {
                    connection = try listener.accept(timeoutSeconds: 5)
                } catch {
                    if stopping.load(ordering: .acquiring) { break }
                    let code = (error as? SystemError)?.errno ?? -1
                    if code != lastFailure { logger.error("control socket: accept failed (retrying): \(error)") }
                    lastFailure = code
                    usleep(100_000)
                    continue
                }
                lastFailure = 0
                guard active.add(1, ordering: .acquiringAndReleasing).newValue <= Self.maximumClients else {
                    active.subtract(1, ordering: .acquiringAndReleasing)
                    Self.respond(
                        .failure("meshgated is busy: \(Self.maximumClients) clients are being served; try again"),
                        on: connection)
                    connection.close()
                    continue
                }
                _ = OSThread(name: "mg-control-client") { [self] in
                    serve(connection)
                    connection.close()
                    active.subtract(1, ordering: .acquiringAndReleasing)
                }
            }
        }
    }

    public func stop() {
        stopping.store(true, ordering: .releasing)
        listener.close()
        thread?.join()
    }

    private func serve(_ connection: FileDescriptor) {
        guard let line = Self.readRequestLine(connection, deadline: ContinuousClock.now + Self.requestDeadline) else {
            return
        }
        let response: ControlResponse
        do {
            let envelope = try JSONDecoder().decode(ControlEnvelope<ControlRequest>.self, from: line)
            if envelope.version != ControlProtocol.version {
                response = .failure(
                    "control protocol version \(envelope.version) is not supported (this daemon speaks \(ControlProtocol.version))"
                )
            } else {
                response = handler(envelope.body)
            }
        } catch {
            logger.warning("control: unreadable request: \(error)")
            response = .failure("unreadable request: \(error)")
        }
        Self.respond(response, on: connection)
    }

    /// The first line the client sends, or nil when it does not arrive whole before `deadline` (or is
    /// longer than 1 MiB, or the client hangs up).
    static func readRequestLine(_ connection: FileDescriptor, deadline: ContinuousClock.Instant) -> Data? {
        var pending = [UInt8]()
        while !pending.contains(UInt8(ascii: "\n")) {
            let left = ContinuousClock.now.duration(to: deadline)
            guard left > .zero else { return nil }
            let milliseconds = Int32(
                clamping: left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1)
            var descriptor = pollfd(fd: connection.rawValue, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, milliseconds)
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { return nil }
            let bytes = connection.readSome()
            if bytes.isEmpty { return nil }
            pending += bytes
            if pending.count > maximumRequestBytes { return nil }
        }
        return Data(pending.prefix { $0 != UInt8(ascii: "\n") })
    }

    static func respond(_ response: ControlResponse, on connection: FileDescriptor) {
        guard var data = try? JSONEncoder().encode(ControlEnvelope(response)) else { return }
        data.append(UInt8(ascii: "\n"))
        connection.writeAll(Array(data))
    }
}
