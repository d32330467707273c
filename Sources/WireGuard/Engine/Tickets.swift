public import CryptoPrimitives
public import NetworkTypes

/// Permission to seal one outbound packet: the keypair and counter reserved for it under the engine's
/// serialization. Sealing with it (``Engine/seal(_:buffer:payloadLength:mtu:aead:)``) needs no lock.
public struct SendTicket: Sendable {
    let keypair: Keypair
    let counter: UInt64
    /// Where to send the sealed datagram.
    public let endpoint: Endpoint
}

/// Permission to open one inbound transport message outside the engine's serialization.
public struct ReceiveTicket: Sendable {
    let keypair: Keypair
    let peer: Peer
    let counter: UInt64
}

/// A datagram the engine wants sent: handshake messages, cookie replies, keepalives, flushed packets.
public struct OutboundDatagram: Sendable {
    public var bytes: [UInt8]
    public var endpoint: Endpoint

    public init(bytes: [UInt8], endpoint: Endpoint) {
        self.bytes = bytes
        self.endpoint = endpoint
    }
}

/// What to do with a packet read from the TUN device.
public enum SendDecision: Sendable {
    /// Seal it with the ticket and send it.
    case send(SendTicket)
    /// Held until a handshake completes; the engine will emit it through its outbox.
    case staged
    /// Discarded and counted.
    case drop(DropReason)
}

/// What to do with a datagram read from the UDP socket.
public enum ReceiveDecision: Sendable {
    /// A transport message: open it with the ticket, then call ``Engine/completeReceive(_:opened:from:now:)``.
    case open(ReceiveTicket)
    /// A handshake or cookie message, fully processed; check the outbox.
    case handled
    /// Discarded and counted.
    case drop(DropReason)
}

/// What to do with an opened transport message.
public enum DeliverDecision: Sendable, Equatable {
    /// Write `length` bytes starting at the transport header's end to the TUN device.
    case deliver(length: Int)
    /// A keepalive: nothing to deliver.
    case keepalive
    /// Discarded and counted.
    case drop(DropReason)
}
