public import LinuxSystem
import WireGuard

/// Serves the cross-platform userspace API at `/var/run/wireguard/<interface>.sock`, so `wg` works
/// against a ``Device`` exactly as against wireguard-go. Connections are served one at a time on one
/// thread; a client that stalls is cut off by the socket's read timeout.
public final class UAPIServer: @unchecked Sendable {
    /// The directory wireguard-tools looks in.
    public static let directory = "/var/run/wireguard"

    public let listener: UnixListener
    private let device: Device
    private var thread: OSThread?

    public init(device: Device, directory: String = UAPIServer.directory) throws(SystemError) {
        makeDirectories(directory)
        self.listener = try UnixListener(path: "\(directory)/\(device.interfaceName).sock")
        self.device = device
    }

    public func start() {
        thread = OSThread(name: "wg-uapi") { [self] in acceptLoop() }
    }

    public func stop() {
        listener.close()
        thread?.join()
        thread = nil
    }

    private func acceptLoop() {
        while true {
            guard let connection = try? listener.accept() else { return }
            serve(connection)
            connection.close()
        }
    }

    private func serve(_ connection: FileDescriptor) {
        var parser = UAPIRequestParser()
        while !parser.isClosed {
            let bytes = connection.readSome()
            if bytes.isEmpty { return }
            parser.append(bytes)
            while let request = parser.nextRequest() {
                let reply = device.handle(request)
                if reply.isEmpty { return }
                guard connection.writeAll(Array(reply.utf8)) else { return }
                if case .failed = request, parser.isClosed { return }
            }
        }
    }
}
