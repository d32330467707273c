import Foundation
import GatewayConfig
import Testing

@Suite("Configuration: ha.on_role_change")
struct RoleChangeHookConfigTests {
    static func ha(_ extra: String) -> String {
        ConfigFixtures.ha + "\n" + extra.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n")
    }

    func parse(_ extra: String) -> Result<GatewayConfiguration, ConfigErrorList> {
        GatewayConfiguration.parse(yaml: ConfigFixtures.config(ha: Self.ha(extra)))
    }

    func errors(_ extra: String) -> [String] {
        switch parse(extra) {
        case .success: []
        case .failure(let list): list.errors.map(\.description)
        }
    }

    @Test("absent by default, with a 10 s timeout")
    func absent() throws {
        let ha = try #require(try parse("").get().ha)
        #expect(ha.onRoleChange == nil)
        #expect(ha.onRoleChangeTimeout == .seconds(10))
    }

    @Test("an argv list and a timeout are read as written")
    func read() throws {
        let ha = try #require(
            try parse(
                """
                on_role_change: [/usr/local/sbin/move-vip, --vip, "10.10.10.1", "two words"]
                on_role_change_timeout: 30s
                """
            ).get().ha)
        #expect(ha.onRoleChange == ["/usr/local/sbin/move-vip", "--vip", "10.10.10.1", "two words"])
        #expect(ha.onRoleChangeTimeout == .seconds(30))
    }

    @Test(
        "refused with the key named",
        arguments: [
            ("on_role_change: move-vip", "ha.on_role_change"),
            ("on_role_change: []", "ha.on_role_change"),
            ("on_role_change: [move-vip, --now]", "ha.on_role_change[0]"),
            ("on_role_change: [/bin/sh, [nested]]", "ha.on_role_change[1]"),
            ("on_role_change_timeout: 10m", "ha.on_role_change_timeout"),
            ("on_role_change_timeout: 10ms", "ha.on_role_change_timeout"),
            ("on_role_chnge: [/bin/true]", "ha.on_role_change"),
        ])
    func refused(line: String, key: String) {
        let found = errors(line)
        #expect(found.count == 1, "\(found)")
        #expect(found.first?.contains(key) == true, "\(found)")
    }

    @Test("a changed hook is a live change, not a restart")
    func diff() throws {
        let old = try parse("").get()
        let new = try parse("on_role_change: [/bin/true]").get()
        let diff = ConfigDiff(from: old, to: new)
        #expect(diff.haChanges == ["ha.on_role_change"])
        #expect(!diff.requiresRestart)
    }
}
