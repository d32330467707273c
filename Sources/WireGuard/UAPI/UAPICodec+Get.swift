import CryptoPrimitives
import NetworkTypes

extension UAPICodec {
    /// The complete reply to `get=1`, byte for byte as wireguard-go's `IpcGetOperation` writes it,
    /// followed by `errno=0` and the blank line.
    ///
    /// Interface lines: `private_key` (only if set and non-zero), `listen_port` (only if non-zero),
    /// `fwmark` (only if non-zero). Then per peer, always in this order: `public_key`, `preshared_key`
    /// (all zeros when none), `protocol_version=1`, `endpoint` (only if known),
    /// `last_handshake_time_sec`, `last_handshake_time_nsec`, `tx_bytes`, `rx_bytes`,
    /// `persistent_keepalive_interval`, then one `allowed_ip` per prefix. Keys are lower-case hex.
    public static func formatGet(_ snapshot: UAPIDeviceSnapshot) -> String {
        var reply = ""
        if let privateKey = snapshot.privateKey, !privateKey.isZero {
            reply += "private_key=\(privateKey.hex)\n"
        }
        if snapshot.listenPort != 0 {
            reply += "listen_port=\(snapshot.listenPort)\n"
        }
        if snapshot.firewallMark != 0 {
            reply += "fwmark=\(snapshot.firewallMark)\n"
        }
        for peer in snapshot.peers {
            reply += "public_key=\(peer.publicKey.hex)\n"
            reply += "preshared_key=\((peer.presharedKey ?? .zero).hex)\n"
            reply += "protocol_version=1\n"
            if let endpoint = peer.endpoint {
                reply += "endpoint=\(endpoint.description)\n"
            }
            // `wg` parses these with a digits-only reader, so a negative number would fail the whole get.
            reply += "last_handshake_time_sec=\(max(peer.lastHandshakeSeconds, 0))\n"
            reply += "last_handshake_time_nsec=\(max(peer.lastHandshakeNanoseconds, 0))\n"
            reply += "tx_bytes=\(peer.txBytes)\n"
            reply += "rx_bytes=\(peer.rxBytes)\n"
            reply += "persistent_keepalive_interval=\(peer.persistentKeepaliveInterval)\n"
            for prefix in peer.allowedIPs {
                reply += "allowed_ip=\(prefix.canonical.description)\n"
            }
        }
        reply += successReply
        return reply
    }
}
