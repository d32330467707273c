/// Why ``MetricsServer/start()`` failed.
public enum MetricsServerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// ``MetricsServer/start()`` was called while the server was already running.
    case alreadyRunning(host: String, port: Int)
    /// Binding the listening socket failed; `reason` is the system's message.
    case cannotListen(host: String, port: Int, reason: String)

    public var description: String {
        switch self {
        case .alreadyRunning(let host, let port): "metrics server already listening on \(host):\(port)"
        case .cannotListen(let host, let port, let reason): "cannot listen on \(host):\(port): \(reason)"
        }
    }
}
