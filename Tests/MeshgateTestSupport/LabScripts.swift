/// Small python3 programs the lab runs with `python3 -c`, kept here so every test uses the same ones.
public enum LabScripts {
    /// `uapiClient SOCKET`: sends stdin to the UAPI unix socket and prints the reply up to the blank line
    /// that ends it (or until the server closes the connection).
    public static let uapiClient = """
        import socket, sys
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(sys.argv[1])
        s.sendall(sys.stdin.buffer.read())
        reply = b""
        while not reply.endswith(b"\\n\\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
        sys.stdout.write(reply.decode())
        """

    /// `tcpSink ADDRESS PORT`: prints `listening`, accepts one connection, reads it to the end and
    /// prints `<bytes> <sha256 hex>`.
    public static let tcpSink = """
        import hashlib, socket, sys
        address, port = sys.argv[1], int(sys.argv[2])
        server = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((address, port))
        server.listen(1)
        server.settimeout(60)
        print("listening", flush=True)
        connection, _ = server.accept()
        connection.settimeout(60)
        digest, count = hashlib.sha256(), 0
        while True:
            chunk = connection.recv(1 << 16)
            if not chunk:
                break
            digest.update(chunk)
            count += len(chunk)
        connection.close()
        print(count, digest.hexdigest(), flush=True)
        """

    /// `tcpSource ADDRESS PORT BYTES SEED`: connects, sends BYTES bytes from `random.Random(SEED)`, waits
    /// for the receiver to close, and prints `<bytes> <sha256 hex>` of what it sent.
    public static let tcpSource = """
        import hashlib, random, socket, sys
        address, port, total, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
        generator, digest, sent = random.Random(seed), hashlib.sha256(), 0
        connection = socket.create_connection((address, port), timeout=60)
        while sent < total:
            chunk = generator.randbytes(min(1 << 16, total - sent))
            digest.update(chunk)
            connection.sendall(chunk)
            sent += len(chunk)
        connection.shutdown(socket.SHUT_WR)
        connection.recv(1)
        print(sent, digest.hexdigest(), flush=True)
        """

    /// `datagramSender FROM_ADDRESS TO_ADDRESS PORT HEX...`: sends each hex string as one UDP datagram from
    /// FROM_ADDRESS (so it leaves through the tunnel with that inner source) and prints `sent N`.
    public static let datagramSender = """
        import socket, sys
        source, target, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((source, 0))
        for payload in sys.argv[4:]:
            s.sendto(bytes.fromhex(payload), (target, port))
        print("sent", len(sys.argv) - 4, flush=True)
        """
}
