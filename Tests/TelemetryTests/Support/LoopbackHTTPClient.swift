import Glibc

/// A deliberately dumb HTTP/1.1 client over a raw TCP socket to 127.0.0.1, so the server tests depend on
/// neither URLSession nor curl. Every socket has a 5 s receive timeout, so a hung server fails the test
/// instead of hanging it.
enum LoopbackHTTPClient {
    struct Response {
        var statusLine: String
        var headers: [(String, String)]
        var body: String

        var statusCode: Int? { statusLine.split(separator: " ").dropFirst().first.flatMap { Int($0) } }

        func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    enum ClientError: Error, Equatable {
        case socket(errno: Int32)
        case connect(errno: Int32)
        case send(errno: Int32)
        case receive(errno: Int32)
        case malformedResponse(String)
    }

    /// Opens a connection to 127.0.0.1:`port`.
    static func connect(port: Int) throws(ClientError) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw .socket(errno: errno) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            let error = errno
            close(fd)
            throw .connect(errno: error)
        }
        return fd
    }

    /// Sends `rawRequests` (one or more requests, written in one go) and reads until the server closes
    /// the connection, then splits what came back into responses by `Content-Length`.
    static func exchange(port: Int, rawRequests: String) throws -> [Response] {
        try parse(exchangeRaw(port: port, rawRequests: rawRequests))
    }

    /// Sends `rawRequests` and returns every byte the server sent until it closed the connection.
    static func exchangeRaw(port: Int, rawRequests: String) throws -> [UInt8] {
        let fd = try connect(port: port)
        defer { close(fd) }
        var bytes = Array(rawRequests.utf8)
        while !bytes.isEmpty {
            let sent = send(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL))
            guard sent > 0 else { throw ClientError.send(errno: errno) }
            bytes.removeFirst(sent)
        }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(fd, &chunk, chunk.count, 0)
            if count == 0 { break }
            guard count > 0 else { throw ClientError.receive(errno: errno) }
            received += chunk[0..<count]
        }
        return received
    }

    /// One request with `Connection: close`.
    static func request(port: Int, method: String = "GET", path: String) throws -> Response {
        let responses = try exchange(
            port: port,
            rawRequests: "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        guard responses.count == 1 else { throw ClientError.malformedResponse("\(responses.count) responses") }
        return responses[0]
    }

    private static func parse(_ bytes: [UInt8]) throws -> [Response] {
        var responses: [Response] = []
        var rest = bytes[...]
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        while !rest.isEmpty {
            guard let end = rest.firstRange(of: separator) else {
                throw ClientError.malformedResponse(String(decoding: rest, as: UTF8.self))
            }
            let headText = String(decoding: rest[..<end.lowerBound], as: UTF8.self)
            var lines = headText.components(separatedBy: "\r\n")
            let statusLine = lines.removeFirst()
            let headers = lines.compactMap { line -> (String, String)? in
                guard let colon = line.firstIndex(of: ":") else { return nil }
                return (String(line[..<colon]), line[line.index(after: colon)...].trimmingPrefix(" ").description)
            }
            let length = headers.first { $0.0.lowercased() == "content-length" }.flatMap { Int($0.1) } ?? 0
            let bodyStart = end.upperBound
            guard rest.endIndex - bodyStart >= length else {
                throw ClientError.malformedResponse("short body: wanted \(length) bytes")
            }
            let body = String(decoding: rest[bodyStart..<bodyStart + length], as: UTF8.self)
            responses.append(Response(statusLine: statusLine, headers: headers, body: body))
            rest = rest[(bodyStart + length)...]
        }
        return responses
    }
}

extension String {
    fileprivate func components(separatedBy separator: String) -> [String] {
        split(separator: separator, omittingEmptySubsequences: false).map(String.init)
    }
}
