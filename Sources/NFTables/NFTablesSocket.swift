// A NETLINK_NETFILTER socket speaking nf_tables.
//
// Two kinds of exchange, both checked message by message:
// - transactions (``commit(_:)``): one batch, every message with NLM_F_ACK. The kernel handles the whole batch
//   inside our sendto() and queues one reply per message (an ack, or the errno for the messages it rejected),
//   then commits all or nothing. We drain the replies and name the first rejected message.
// - queries (``query(_:type:flags:payload:onReply:)``): one GET request, answered by data messages and then
//   an ack (single object) or NLMSG_DONE (dump). A dump the kernel marks NLM_F_DUMP_INTR raced with a change
//   and is repeated.

internal import CLibNFTNL
internal import Glibc

/// A netlink socket for nf_tables (`NETLINK_NETFILTER`), through which meshgate programs its own table.
///
/// The socket belongs to the network namespace of the thread that created it and keeps it for life: to
/// program another namespace, create the socket with the thread inside that namespace, then use it anywhere.
/// Closed when released. Not safe for concurrent use: one caller at a time (each exchange is a send and
/// its replies, matched by sequence number).
public final class NFTablesSocket {
    private let socket: OpaquePointer
    private let portID: UInt32
    private var nextSequence: UInt32
    private let receiveBuffer: UnsafeMutableRawBufferPointer

    /// Large enough for any reply; dump messages never exceed 32 KiB.
    private static let receiveBufferBytes = 65536
    /// How long to wait for a reply the kernel owes us before giving up.
    private static let replyTimeoutMilliseconds: Int32 = 5000

    /// Opens and binds the socket (close-on-exec, kernel-assigned port ID).
    ///
    /// - Throws: ``NFTablesError/socket(operation:errno:)``.
    public init() throws(NFTablesError) {
        guard let socket = mnl_socket_open2(NETLINK_NETFILTER, Int32(SOCK_CLOEXEC.rawValue)) else {
            throw .socket(operation: "mnl_socket_open2(NETLINK_NETFILTER)", errno: errno)
        }
        guard mnl_socket_bind(socket, 0, MNL_SOCKET_AUTOPID) == 0 else {
            let code = errno
            mnl_socket_close(socket)
            throw .socket(operation: "mnl_socket_bind", errno: code)
        }
        self.socket = socket
        portID = mnl_socket_get_portid(socket)
        nextSequence = UInt32(truncatingIfNeeded: time(nil))
        receiveBuffer = .allocate(byteCount: Self.receiveBufferBytes, alignment: 8)
    }

    deinit {
        mnl_socket_close(socket)
        receiveBuffer.deallocate()
    }

    // MARK: - Transactions

    /// Sends the messages `build` appends as one atomic batch, and checks that the kernel acknowledged each.
    ///
    /// - Throws: ``NFTablesError/request(operation:errno:)`` naming the first message the kernel rejected
    ///   (the whole batch is then rolled back), or a socket error.
    func commit(_ build: (inout NetlinkBatch) throws(NFTablesError) -> Void) throws(NFTablesError) {
        var batch = NetlinkBatch(firstSequence: nextSequence)
        try build(&batch)
        batch.end()
        nextSequence = batch.sequenceAfterBatch
        try send(batch.bytes, operation: "batch")

        var pending = Set(batch.operations.filter(\.expectsAcknowledgement).map(\.sequence))
        let markers = Set(batch.operations.filter { !$0.expectsAcknowledgement }.map(\.sequence))
        let operations = Dictionary(
            batch.operations.map { ($0.sequence, $0.operation) }, uniquingKeysWith: { first, _ in first })
        var firstRejection: (sequence: UInt32, errno: Int32)?
        // The replies are already queued when sendto returns; the wait only guards against a kernel that differs.
        // A rejected batch begin or end marker means nothing in between was processed, so no acks follow.
        while !pending.isEmpty, !(firstRejection.map { markers.contains($0.sequence) } ?? false) {
            guard let length = try receive(operation: "batch") else { break }
            forEachMessage(length) { header in
                let sequence = header.pointee.nlmsg_seq
                guard operations[sequence] != nil, header.pointee.nlmsg_type == UInt16(NLMSG_ERROR) else { return }
                pending.remove(sequence)
                let code = Self.errorCode(header)
                if code != 0, sequence < firstRejection?.sequence ?? .max { firstRejection = (sequence, code) }
            }
        }
        if let rejection = firstRejection {
            throw .request(operation: operations[rejection.sequence] ?? "batch", errno: rejection.errno)
        }
        if let missing = pending.min() {
            throw .missingAcknowledgement(operation: operations[missing] ?? "batch")
        }
    }

    // MARK: - Queries

    /// Sends one `NFT_MSG_GET*` request and hands each data message of the reply to `onReply`.
    ///
    /// - Parameter flags: `NLM_F_DUMP` for a dump; otherwise the request is acknowledged after its reply.
    /// - Throws: ``NFTablesError/request(operation:errno:)`` with the kernel's errno (ENOENT for a missing
    ///   object), or whatever `onReply` throws.
    func query(
        _ operation: String, type: nf_tables_msg_types, flags: Int32,
        payload: (UnsafeMutablePointer<nlmsghdr>) -> Void,
        onReply: (UnsafePointer<nlmsghdr>) throws(NFTablesError) -> Void
    ) throws(NFTablesError) {
        let isDump = flags & NLM_F_DUMP == NLM_F_DUMP
        for _ in 0..<5 {
            let sequence = nextSequence
            nextSequence &+= 1
            var request = [UInt8](repeating: 0, count: 4096)
            let length = request.withUnsafeMutableBytes { raw -> Int in
                let buffer = raw.baseAddress!.assumingMemoryBound(to: CChar.self)
                let requestFlags = UInt16(NLM_F_REQUEST | (isDump ? flags : flags | NLM_F_ACK))
                guard
                    let header = nftnl_nlmsg_build_hdr(
                        buffer, UInt16(type.rawValue), NetlinkBatch.family, requestFlags, sequence)
                else { return 0 }
                payload(header)
                return Int(header.pointee.nlmsg_len)
            }
            try send(Array(request[0..<length]), operation: operation)

            var finished = false
            var interrupted = false
            var failure: NFTablesError?
            while !finished {
                guard let received = try receive(operation: operation) else {
                    throw .missingAcknowledgement(operation: operation)
                }
                forEachMessage(received) { header in
                    guard !finished, failure == nil, header.pointee.nlmsg_seq == sequence else { return }
                    switch Int32(header.pointee.nlmsg_type) {
                    case NLMSG_ERROR:
                        let code = Self.errorCode(header)
                        if code != 0 { failure = .request(operation: operation, errno: code) }
                        finished = true
                    case NLMSG_DONE:
                        finished = true
                    default:
                        if Int32(header.pointee.nlmsg_flags) & NLM_F_DUMP_INTR != 0 { interrupted = true }
                        do throws(NFTablesError) { try onReply(UnsafePointer(header)) } catch { failure = error }
                    }
                }
                if let failure {
                    // Consume the rest of a dump so the next exchange starts clean.
                    if isDump && !finished { drainDump(sequence: sequence) }
                    throw failure
                }
            }
            if !interrupted { return }
        }
        throw .request(operation: operation, errno: EINTR)
    }

    // MARK: - Socket I/O

    private func send(_ bytes: [UInt8], operation: String) throws(NFTablesError) {
        let sent = bytes.withUnsafeBytes { mnl_socket_sendto(socket, $0.baseAddress, $0.count) }
        guard sent == bytes.count else { throw .socket(operation: "sendto (\(operation))", errno: errno) }
    }

    /// Receives one datagram into `receiveBuffer`; nil if none arrived within the reply timeout.
    private func receive(operation: String) throws(NFTablesError) -> Int? {
        let fd = mnl_socket_get_fd(socket)
        while true {
            var readable = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&readable, 1, Self.replyTimeoutMilliseconds)
            if ready < 0 {
                if errno == EINTR { continue }
                throw .socket(operation: "poll (\(operation))", errno: errno)
            }
            if ready == 0 { return nil }
            let length = mnl_socket_recvfrom(socket, receiveBuffer.baseAddress, receiveBuffer.count)
            if length < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                // ENOBUFS: replies were dropped; ENOSPC: a message exceeded the buffer.
                throw .socket(operation: "recvfrom (\(operation))", errno: errno)
            }
            return length
        }
    }

    /// Reads and discards the remaining messages of an abandoned dump.
    private func drainDump(sequence: UInt32) {
        var done = false
        while !done, let length = try? receive(operation: "drain") {
            forEachMessage(length) { header in
                let type = Int32(header.pointee.nlmsg_type)
                if header.pointee.nlmsg_seq == sequence && (type == NLMSG_DONE || type == NLMSG_ERROR) { done = true }
            }
        }
    }

    /// Walks the netlink messages in the first `length` bytes of `receiveBuffer` that are addressed to us.
    private func forEachMessage(_ length: Int, _ body: (UnsafeMutablePointer<nlmsghdr>) -> Void) {
        var remaining = Int32(length)
        var header = receiveBuffer.baseAddress!.assumingMemoryBound(to: nlmsghdr.self)
        while mnl_nlmsg_ok(header, remaining) {
            if header.pointee.nlmsg_pid == portID || header.pointee.nlmsg_pid == 0 { body(header) }
            header = mnl_nlmsg_next(header, &remaining)
        }
    }

    /// The positive errno of an NLMSG_ERROR message, 0 for an acknowledgement.
    private static func errorCode(_ header: UnsafeMutablePointer<nlmsghdr>) -> Int32 {
        guard header.pointee.nlmsg_len >= UInt32(MemoryLayout<nlmsghdr>.size + MemoryLayout<Int32>.size) else {
            return EPROTO
        }
        return -mnl_nlmsg_get_payload(header).load(as: Int32.self)
    }
}
