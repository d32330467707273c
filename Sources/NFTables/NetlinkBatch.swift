internal import CLibNFTNL
internal import Netlink

/// nf_tables messages laid end to end for one `sendto`: `NFNL_MSG_BATCH_BEGIN`, the messages, then
/// `NFNL_MSG_BATCH_END`. The kernel applies everything between begin and end as one transaction, or none of it.
///
/// Every message asks for an acknowledgement (`NLM_F_ACK`), and the batch remembers which sequence number
/// carried which operation, so a rejection names the message the kernel refused.
struct NetlinkBatch {
    /// The messages, ready to send once ``end()`` has been called.
    private(set) var bytes: [UInt8] = []
    /// The sequence number and description of every message, in order; the begin and end markers included.
    private(set) var operations: [(sequence: UInt32, operation: String, expectsAcknowledgement: Bool)] = []
    private var nextSequence: UInt32
    /// Big enough for any single message built here: a rule of 14 expressions is under 1 KiB, and element
    /// messages are cut at ``NetlinkBatch/elementBytesPerMessage``.
    private var scratch = [UInt8](repeating: 0, count: 128 << 10)

    /// The nf_tables family of meshgate's main table: `inet`, one table for IPv4 and IPv6.
    static let family = UInt16(NFPROTO_INET)

    init(firstSequence: UInt32) {
        nextSequence = firstSequence
        appendMessage("batch begin", expectsAcknowledgement: false) { buffer, sequence in
            nftnl_batch_begin(buffer, sequence)
        }
    }

    /// The sequence number the next batch should start at.
    var sequenceAfterBatch: UInt32 { nextSequence }

    mutating func end() {
        appendMessage("batch end", expectsAcknowledgement: false) { buffer, sequence in
            nftnl_batch_end(buffer, sequence)
        }
    }

    /// Builds one message at the start of a zeroed scratch buffer and appends its `nlmsg_len` bytes.
    /// `build` returns the header it wrote; every builder pads to NLMSG_ALIGNTO, so messages stay aligned.
    private mutating func appendMessage(
        _ operation: String, expectsAcknowledgement: Bool,
        _ build: (UnsafeMutablePointer<CChar>, UInt32) -> UnsafeMutablePointer<nlmsghdr>?
    ) {
        let sequence = nextSequence
        nextSequence &+= 1
        let length = scratch.withUnsafeMutableBytes { raw -> Int in
            raw.initializeMemory(as: UInt8.self, repeating: 0)
            let buffer = raw.baseAddress!.assumingMemoryBound(to: CChar.self)
            guard let header = build(buffer, sequence) else { return 0 }
            precondition(
                Int(NetlinkTransport.MessageHeader(header).length) <= raw.count,
                "netlink message overflowed its scratch buffer")
            return Int(NetlinkTransport.MessageHeader(header).length)
        }
        bytes += scratch[0..<length]
        operations.append((sequence, operation, expectsAcknowledgement))
    }

    /// Appends an nf_tables message of `type` (an `NFT_MSG_*` value) whose payload `payload` writes.
    mutating func append(
        _ operation: String, type: nf_tables_msg_types, flags: Int32, family: UInt16 = NetlinkBatch.family,
        payload: (UnsafeMutablePointer<nlmsghdr>) -> Void
    ) {
        appendMessage(operation, expectsAcknowledgement: true) { buffer, sequence in
            let header = nftnl_nlmsg_build_hdr(
                buffer, UInt16(type.rawValue), family, UInt16(flags | NLM_F_ACK), sequence)
            if let header { payload(header) }
            return header
        }
    }
}
