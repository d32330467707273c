import CryptoPrimitives

/// Configuration texts for the tests: the issue's example and a builder for variants that differ in
/// one section.
enum ConfigFixtures {
    /// A valid public key whose bytes are `seed, seed+1, …`.
    static func key(_ seed: UInt8) -> String {
        Key32(bytes: (0..<32).map { seed &+ UInt8($0) })?.base64 ?? ""
    }

    /// The example from issue 3, with a real key in place of `<base64>`.
    static let issueExample = """
        node:
          name: gw-nyc1-a                      # unique in the mesh
          private_key_file: /etc/meshgate/private.key   # `wg genkey` format; refuse it if group/world-readable
        overlay:
          interface: mg0
          address: 100.64.0.1                  # this gateway's stable overlay address
          listen_port: 51820
          mtu: 1280                            # default 1280
        advertise: [10.10.10.0/24]             # subnets behind this gateway
        ha:                                    # optional: membership of a region's HA pair (or larger group)
          group: nyc1
          priority: 200                        # higher is preferred
          preempt: false                       # default: a recovered gateway does not take the role back
          lan:
            interface: eth1
            virtual_ip: 10.10.10.1/24          # held only by the group's primary; LAN hosts route via it
        peers:                                 # the whole mesh; the same list may be shared by every gateway
          - name: gw-fsn1-a
            public_key: \(key(1))
            endpoint: 198.51.100.7:51820
            overlay_address: 100.64.0.3
            persistent_keepalive: 25
        control:
          socket: /run/meshgate/control.sock
        """

    static let node = """
        node:
          name: gw-nyc1-a
          private_key_file: /etc/meshgate/private.key
        """

    static let overlay = """
        overlay:
          interface: mg0
          address: 100.64.0.1
        """

    static let advertise = "advertise: [10.10.10.0/24]"

    static let ha = """
        ha:
          group: nyc1
          lan:
            interface: eth1
            virtual_ip: 10.10.10.1/24
        """

    static let peers = """
        peers:
          - name: gw-nyc1-b
            public_key: \(key(1))
            endpoint: 192.0.2.2:51820
            overlay_address: 100.64.0.2
          - name: gw-fsn1-a
            public_key: \(key(2))
            endpoint: 198.51.100.7:51820
            overlay_address: 100.64.0.3
        """

    /// A valid configuration with any section replaced (pass `""` to drop it) and `extra` appended.
    static func config(
        node: String = node, overlay: String = overlay, advertise: String = advertise, ha: String = ha,
        peers: String = peers, extra: String = ""
    ) -> String {
        [node, overlay, advertise, ha, peers, extra].filter { !$0.isEmpty }.joined(separator: "\n")
    }
}
