import MeshgateTestSupport
import Testing

extension Tag {
    /// Needs root: network namespaces, veth pairs and TUN devices.
    @Tag static var privileged: Self
    /// Talks to a reference implementation (wireguard-go, wg-quick).
    @Tag static var interop: Self
}

extension Trait where Self == ConditionTrait {
    /// Runs the test only as root with the lab's base tools and `tools` installed; skips it otherwise.
    /// (A missing meshgate-wg binary is a failure, not a skip: see ``LabEnvironment/meshgateBinary()``.)
    static func requiresLab(_ tools: String...) -> Self {
        .enabled(
            if: LabEnvironment.canRunLab(needing: tools),
            Comment(rawValue: "netns lab unavailable: \(LabEnvironment.reasonLabCannotRun(needing: tools))"))
    }
}
