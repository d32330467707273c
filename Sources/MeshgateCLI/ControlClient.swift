import ControlProtocol
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Sends one request to `meshgated` over its control socket and returns the response.
enum ControlClient {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func send(_ request: ControlRequest, socketPath: String, timeoutSeconds: Int = 30) throws -> ControlResponse
    {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = Array(socketPath.utf8)
        guard path.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw Failure(description: "control socket path too long: \(socketPath)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in path.enumerated() { raw[i] = b }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            throw Failure(
                description:
                    "cannot reach meshgated at \(socketPath): \(String(cString: strerror(errno))) (is it running? pick another socket with --socket)"
            )
        }
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var line = try JSONEncoder().encode(ControlEnvelope(request))
        line.append(UInt8(ascii: "\n"))
        let written = line.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard written == line.count else { throw Failure(description: "write to control socket failed") }
        var reply = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !reply.contains(UInt8(ascii: "\n")) {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            reply.append(contentsOf: buffer[0..<n])
        }
        guard !reply.isEmpty else { throw Failure(description: "meshgated closed the connection without answering") }
        do {
            return try JSONDecoder().decode(ControlEnvelope<ControlResponse>.self, from: reply).body
        } catch {
            throw Failure(description: "unreadable answer from meshgated: \(error)")
        }
    }
}
