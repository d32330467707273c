import MeshgateTestSupport
import Testing

/// Brings one two-region ``GatewayLab`` up around a whole suite and tears it down after the suite's
/// last test, failing the suite if teardown finds anything left behind (namespaces, daemons, sockets).
///
/// The suite's tests reach the lab through ``GatewayLabScope/current``. While the lab is up no other
/// netns lab of this test process runs (failover timings on two shared cores need the machine).
/// A missing meshgated or meshgate binary is a failure with build instructions, not a skip.
struct GatewayLabScope: SuiteTrait, TestScoping {
    /// The lab of the suite being run.
    @TaskLocal static var current: GatewayLab?

    var isRecursive: Bool { false }

    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        try await GatewayLab.withExclusiveMachine {
            let clock = ContinuousClock()
            let started = clock.now
            let lab = try await GatewayLab.make()
            print("gateway lab \(lab.prefix) up and settled in \(started.duration(to: clock.now))")
            let outcome: Result<Void, any Error>
            do {
                try await GatewayLabScope.$current.withValue(lab) { try await function() }
                outcome = .success(())
            } catch {
                outcome = .failure(error)
            }
            let leftovers = await lab.shutdown()
            print("gateway lab \(lab.prefix) torn down; \(leftovers.isEmpty ? "nothing left behind" : "LEFTOVERS")")
            if !leftovers.isEmpty { throw LabError.leaked(leftovers) }
            try outcome.get()
        }
    }
}

extension Trait where Self == GatewayLabScope {
    /// One ``GatewayLab`` for the whole suite.
    static var gatewayLab: Self { Self() }
}
