import Testing

/// The shipped alert rules (rootfs/etc/prometheus/meshgate-rules.yml), checked with promtool.
@Suite("Alert rules", .enabled(if: Promtool.isAvailable, "promtool is missing: run scripts/install-deps.sh"))
struct AlertRulesTests {
    static let rules = "rootfs/etc/prometheus/meshgate-rules.yml"
    static let unitTests = "Tests/TelemetryTests/Fixtures/meshgate-rules.test.yml"

    @Test("promtool check rules accepts the shipped rules")
    func checkRules() throws {
        let run = try Promtool.run(["check", "rules", Self.rules])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("SUCCESS: 12 rules found"), "\(run.output)")
    }

    @Test("promtool test rules: peer down, route without primary and the other alerts fire on synthetic series")
    func unitTestRules() throws {
        let run = try Promtool.run(["test", "rules", Self.unitTests])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("SUCCESS"), "\(run.output)")
    }
}
