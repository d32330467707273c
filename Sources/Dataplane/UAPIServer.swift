public import LinuxSystem
import WireGuard

/// Serves the cross-platform userspace API at `/var/run/wireguard/<interface>.sock`, so `wg` works
/// against a ``Device`` exactly as against wireguard-go.
///
/// Each connection is served on its own thread (at most ``maximumClients`` at once), so a 3 MB `get=1`
/// dump or a stalled client never holds up another `wg`. A connection must deliver each request within
/// ``requestDeadline`` of the previous answer (one deadline per request, not per read), and a failing
/// `accept` is retried rather than ending the server.
public final class UAPIServer: @unchecked Sendable {
    /// The directory wireguard-tools looks in.
    public static let directory = "/var/run/wireguard"
    /// Connections served at once; more are closed at once (wg reports the error).
    public static let maximumClients = 8
    /// How long a client has to send each whole request.
    public static let requestDeadline: Duration = .seconds(5)

    public let listener: UnixListener
    private let server: UnixStreamServer

    public init(
        device: Device, directory: String = UAPIServer.directory,
        report: @escaping @Sendable (String) -> Void = { _ in }
    ) throws(SystemError) {
        makeDirectories(directory)
        let listener = try UnixListener(path: "\(directory)/\(device.interfaceName).sock")
        self.listener = listener
        self.server = UnixStreamServer(
            listener: listener, name: "wg-uapi", maximumClients: Self.maximumClients, report: report,
            serve: { connection in UAPIServer.serve(connection, device: device) })
    }

    public func start() { server.start() }

    public func stop() { server.stop() }

    private static func serve(_ connection: FileDescriptor, device: Device) {
        var parser = UAPIRequestParser()
        var deadline = ContinuousClock.now + requestDeadline
        while !parser.isClosed {
            guard UnixStreamServer.waitReadable(connection, until: deadline) else { return }
            let bytes = connection.readSome()
            if bytes.isEmpty { return }
            parser.append(bytes)
            while let request = parser.nextRequest() {
                let reply = device.handle(request)
                if reply.isEmpty { return }
                guard connection.writeAll(Array(reply.utf8)) else { return }
                if case .failed = request, parser.isClosed { return }
                deadline = ContinuousClock.now + requestDeadline
            }
        }
    }
}
