internal import CLibMNL
import Glibc

// Sending requests and matching the kernel's answers to them.

extension RouteNetlink {
    /// Sends `requests` (already checked) in as few sendmsg calls as the buffers allow and returns the
    /// kernel's answer to each: 0 for success, a positive errno otherwise. `reply` sees any non-ack message
    /// answering request `index` (the link of an `RTM_GETLINK`).
    ///
    /// Throws only when the conversation itself fails (send or receive error, acks lost to a full buffer).
    func exchange(
        count: Int, operation: String, encode: (Int, UnsafeMutablePointer<nlmsghdr>) -> Void,
        reply: (Int, ReceivedMessage) throws(NetlinkError) -> Void = { _, _ in }
    ) throws(NetlinkError) -> [Int32] {
        var results = [Int32](repeating: 0, count: count)
        var start = 0
        while start < count {
            let base = transport.takeSequences(0)
            var length = 0
            var end = start
            while end < count, end - start < maximumRequestsPerSend,
                length == 0 || length + Self.maximumMessageBytes <= maximumBytesPerSend
            {
                let header = mnl_nlmsg_put_header(sendBuffer.baseAddress! + length)!
                header.pointee.nlmsg_flags = UInt16(NLM_F_REQUEST | NLM_F_ACK)
                header.pointee.nlmsg_seq = base &+ UInt32(truncatingIfNeeded: end - start)
                encode(end, header)
                precondition(Int(header.pointee.nlmsg_len) <= Self.maximumMessageBytes, "netlink message too large")
                length += Int(header.pointee.nlmsg_len)
                end += 1
            }
            _ = transport.takeSequences(end - start)
            try send(length: length, operation: operation)

            var pending = end - start
            while pending > 0 {
                let received = try receive(operation: operation)
                try forEachMessage(in: received) { message throws(NetlinkError) in
                    guard message.portID == portID else { return }
                    let offset = Int(message.sequence &- base)
                    guard offset < end - start else { return }  // an answer to an earlier operation
                    if message.type == UInt16(NLMSG_ERROR) {
                        guard let answer = message.familyHeader(as: Int32.self) else {
                            throw .malformedReply("\(operation): short NLMSG_ERROR")
                        }
                        results[start + offset] = -answer
                        pending -= 1
                    } else {
                        try reply(start + offset, message)
                    }
                }
            }
            start = end
        }
        return results
    }

    /// Runs an `NLM_F_DUMP` request and returns what `parse` makes of each answering message (nil skips a
    /// message). Repeats the dump when the kernel marks it interrupted by a concurrent change.
    func dump<T>(
        operation: String, encode: (UnsafeMutablePointer<nlmsghdr>) -> Void,
        parse: (ReceivedMessage) throws(NetlinkError) -> T?
    ) throws(NetlinkError) -> [T] {
        for _ in 0..<5 {
            let sequence = transport.takeSequences(1)
            let header = mnl_nlmsg_put_header(sendBuffer.baseAddress!)!
            header.pointee.nlmsg_flags = UInt16(NLM_F_REQUEST | NLM_F_DUMP)
            header.pointee.nlmsg_seq = sequence
            encode(header)
            try send(length: Int(header.pointee.nlmsg_len), operation: operation)

            var items: [T] = []
            var interrupted = false
            var done = false
            while !done {
                let received = try receive(operation: operation)
                try forEachMessage(in: received) { message throws(NetlinkError) in
                    guard !done, message.portID == portID, message.sequence == sequence else { return }
                    if message.flags & UInt16(NLM_F_DUMP_INTR) != 0 { interrupted = true }
                    switch Int32(message.type) {
                    case NLMSG_DONE:
                        // A dump that fails part-way ends with a negative errno in NLMSG_DONE.
                        if let code = message.familyHeader(as: Int32.self), code < 0 {
                            throw .request(op: operation, errno: -code)
                        }
                        done = true
                    case NLMSG_ERROR:
                        let code = message.familyHeader(as: Int32.self) ?? -EPROTO
                        throw .request(op: operation, errno: code < 0 ? -code : EPROTO)
                    default:
                        if let item = try parse(message) { items.append(item) }
                    }
                }
            }
            if !interrupted { return items }
        }
        throw .dumpInterrupted(op: operation)
    }

    private func send(length: Int, operation: String) throws(NetlinkError) {
        try transport.send(UnsafeRawBufferPointer(rebasing: sendBuffer[0..<length]), operation: operation)
    }

    /// Receives one datagram of answers; a kernel silent for ``replyTimeoutMilliseconds`` is an error.
    private func receive(operation: String) throws(NetlinkError) -> UnsafeRawBufferPointer {
        guard
            let datagram = try transport.receive(
                operation: operation, timeoutMilliseconds: Self.replyTimeoutMilliseconds)
        else { throw .system(op: "receive netlink answers (\(operation)): no answer in 10 s", errno: ETIMEDOUT) }
        return datagram
    }
}
