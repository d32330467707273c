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
internal import Netlink

/// A netlink socket for nf_tables (`NETLINK_NETFILTER`), through which meshgate programs its own table.
///
/// The socket belongs to the network namespace of the thread that created it and keeps it for life: to
/// program another namespace, create the socket with the thread inside that namespace, then use it anywhere.
/// Closed when released. Not safe for concurrent use: one caller at a time (each exchange is a send and
/// its replies, matched by sequence number).
public final class NFTablesSocket {
    /// The one netlink transport of meshgate (the Netlink module's), here for `NETLINK_NETFILTER`.
    private let transport: NetlinkTransport
    /// How long to wait for a reply the kernel owes us before giving up.
    private static let replyTimeoutMilliseconds: Int32 = 5000

    /// Opens and binds the socket (close-on-exec, kernel-assigned port ID).
    ///
    /// - Throws: ``NFTablesError/socket(operation:errno:)``.
    public init() throws(NFTablesError) {
        do {
            transport = try NetlinkTransport(.netfilter)
        } catch {
            throw .socket(operation: "open netlink socket (NETLINK_NETFILTER)", errno: error.errno ?? EIO)
        }
        // Error acks carry only the failed message's header, and a policy's thousands of acks fit.
        var one: Int32 = 1
        _ = setsockopt(transport.descriptor, 270, NETLINK_CAP_ACK, &one, socklen_t(MemoryLayout<Int32>.size))  // SOL_NETLINK
        var receiveBytes: Int32 = 8 << 20
        _ = setsockopt(
            transport.descriptor, SOL_SOCKET, SO_RCVBUFFORCE, &receiveBytes, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Lets one `sendto` carry `bytes` (a policy's batch can be tens of megabytes): the kernel refuses a
    /// netlink datagram larger than the socket's send buffer.
    private func allowSend(of bytes: Int) {
        guard bytes > 128 << 10 else { return }
        var size = Int32(clamping: bytes + 4096)
        _ = setsockopt(transport.descriptor, SOL_SOCKET, SO_SNDBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size))
    }

    // MARK: - Transactions

    /// Sends the messages `build` appends as one atomic batch, and checks that the kernel acknowledged each.
    ///
    /// - Throws: ``NFTablesError/request(operation:errno:)`` naming the first message the kernel rejected
    ///   (the whole batch is then rolled back), or a socket error.
    func commit(_ build: (inout NetlinkBatch) throws(NFTablesError) -> Void) throws(NFTablesError) {
        let first = transport.takeSequences(0)
        var batch = NetlinkBatch(firstSequence: first)
        try build(&batch)
        batch.end()
        _ = transport.takeSequences(Int(batch.sequenceAfterBatch &- first))
        allowSend(of: batch.bytes.count)
        try send(batch.bytes, operation: "batch")

        var pending = Set(batch.operations.filter(\.expectsAcknowledgement).map(\.sequence))
        let markers = Set(batch.operations.filter { !$0.expectsAcknowledgement }.map(\.sequence))
        let operations = Dictionary(
            batch.operations.map { ($0.sequence, $0.operation) }, uniquingKeysWith: { first, _ in first })
        var firstRejection: (sequence: UInt32, errno: Int32)?
        // The replies are already queued when sendto returns; the wait only guards against a kernel that differs.
        // A rejected batch begin or end marker means nothing in between was processed, so no acks follow.
        while !pending.isEmpty, !(firstRejection.map { markers.contains($0.sequence) } ?? false) {
            guard let datagram = try receive(operation: "batch") else { break }
            forEachMessage(datagram) { header in
                let sequence = NetlinkTransport.MessageHeader(header).sequence
                guard operations[sequence] != nil, NetlinkTransport.MessageHeader(header).type == UInt16(NLMSG_ERROR)
                else { return }
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
    /// - Parameter onAttempt: called before each request; a dump the kernel interrupted is asked for again,
    ///   and what the caller gathered from the first attempt must be dropped there.
    /// - Throws: ``NFTablesError/request(operation:errno:)`` with the kernel's errno (ENOENT for a missing
    ///   object), or whatever `onReply` throws.
    func query(
        _ operation: String, type: nf_tables_msg_types, flags: Int32, family: UInt16 = NetlinkBatch.family,
        payload: (UnsafeMutablePointer<nlmsghdr>) -> Void, onAttempt: () -> Void = {},
        onReply: (UnsafePointer<nlmsghdr>) throws(NFTablesError) -> Void
    ) throws(NFTablesError) {
        let isDump = flags & NLM_F_DUMP == NLM_F_DUMP
        for _ in 0..<5 {
            onAttempt()
            let sequence = transport.takeSequences(1)
            var request = [UInt8](repeating: 0, count: 4096)
            let length = request.withUnsafeMutableBytes { raw -> Int in
                let buffer = raw.baseAddress!.assumingMemoryBound(to: CChar.self)
                let requestFlags = UInt16(NLM_F_REQUEST | (isDump ? flags : flags | NLM_F_ACK))
                guard
                    let header = nftnl_nlmsg_build_hdr(
                        buffer, UInt16(type.rawValue), family, requestFlags, sequence)
                else { return 0 }
                payload(header)
                return Int(NetlinkTransport.MessageHeader(header).length)
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
                    guard !finished, failure == nil, NetlinkTransport.MessageHeader(header).sequence == sequence else {
                        return
                    }
                    switch Int32(NetlinkTransport.MessageHeader(header).type) {
                    case NLMSG_ERROR:
                        let code = Self.errorCode(header)
                        if code != 0 { failure = .request(operation: operation, errno: code) }
                        finished = true
                    case NLMSG_DONE:
                        finished = true
                    default:
                        if Int32(NetlinkTransport.MessageHeader(header).flags) & NLM_F_DUMP_INTR != 0 {
                            interrupted = true
                        }
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
        let failure = bytes.withUnsafeBytes { raw -> NetlinkError? in
            do throws(NetlinkError) {
                try transport.send(raw, operation: operation)
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw .socket(operation: "sendto (\(operation))", errno: failure.errno ?? EIO) }
    }

    /// Receives one datagram; nil if none arrived within the reply timeout.
    private func receive(operation: String) throws(NFTablesError) -> UnsafeRawBufferPointer? {
        do {
            return try transport.receive(operation: operation, timeoutMilliseconds: Self.replyTimeoutMilliseconds)
        } catch {
            // ENOBUFS: replies were dropped; ENOSPC: a message exceeded the buffer.
            throw .socket(operation: "recvfrom (\(operation))", errno: error.errno ?? EIO)
        }
    }

    /// Reads and discards the remaining messages of an abandoned dump.
    private func drainDump(sequence: UInt32) {
        var done = false
        while !done, let datagram = try? receive(operation: "drain") {
            forEachMessage(datagram) { header in
                let type = Int32(NetlinkTransport.MessageHeader(header).type)
                if NetlinkTransport.MessageHeader(header).sequence == sequence
                    && (type == NLMSG_DONE || type == NLMSG_ERROR)
                {
                    done = true
                }
            }
        }
    }

    /// Walks the netlink messages of `datagram` that are addressed to us.
    private func forEachMessage(_ datagram: UnsafeRawBufferPointer, _ body: (UnsafeMutablePointer<nlmsghdr>) -> Void) {
        let portID = transport.portID
        NetlinkTransport.forEachMessage(in: datagram) { (start, _) in
            let header = UnsafeMutablePointer(mutating: start.assumingMemoryBound(to: nlmsghdr.self))
            if NetlinkTransport.MessageHeader(header).portID == portID
                || NetlinkTransport.MessageHeader(header).portID == 0
            {
                body(header)
            }
        }
    }

    /// The positive errno of an NLMSG_ERROR message, 0 for an acknowledgement.
    private static func errorCode(_ header: UnsafeMutablePointer<nlmsghdr>) -> Int32 {
        guard
            NetlinkTransport.MessageHeader(header).length
                >= UInt32(NetlinkTransport.headerBytes + MemoryLayout<Int32>.size)
        else {
            return EPROTO
        }
        return -UnsafeRawPointer(header).loadUnaligned(fromByteOffset: NetlinkTransport.headerBytes, as: Int32.self)
    }
}
