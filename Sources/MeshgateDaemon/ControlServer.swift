public import ControlProtocol
import Foundation
import LinuxSystem
public import Logging

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

    private let server: UnixStreamServer
    private let socketPath: String

    public init(path: String, logger: Logger, handler: @escaping Handler) throws {
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        if !directory.isEmpty { makeDirectories(directory) }
        let listener = try UnixListener(path: path)
        self.socketPath = listener.path
        self.server = UnixStreamServer(
            listener: listener, name: "mg-control", maximumClients: Self.maximumClients,
            report: { logger.error("control socket: \($0)") },
            refuse: { connection in
                Self.respond(
                    .failure("meshgated is busy: \(Self.maximumClients) clients are being served; try again"),
                    on: connection)
            },
            serve: { connection in Self.serve(connection, handler: handler, logger: logger) })
    }

    public var path: String { socketPath }

    public func start() { server.start() }

    public func stop() { server.stop() }

    private static func serve(_ connection: FileDescriptor, handler: Handler, logger: Logger) {
        guard
            let bytes = UnixStreamServer.readLine(
                connection, deadline: ContinuousClock.now + requestDeadline, maximumBytes: maximumRequestBytes)
        else { return }
        let line = Data(bytes)
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
        respond(response, on: connection)
    }

    static func respond(_ response: ControlResponse, on connection: FileDescriptor) {
        guard var data = try? JSONEncoder().encode(ControlEnvelope(response)) else { return }
        data.append(UInt8(ascii: "\n"))
        connection.writeAll(Array(data))
    }
}
