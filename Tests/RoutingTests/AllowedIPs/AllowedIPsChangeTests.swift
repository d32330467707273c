import NetworkTypes
import Routing
import Testing

@Suite("AllowedIPsChange")
struct AllowedIPsChangeTests {
    @Test("only moved, added and removed prefixes are touched")
    func difference() {
        let old = [
            prefix("100.64.0.3/32"): "gw-fsn1-a", prefix("100.64.0.4/32"): "gw-fsn1-b",
            prefix("10.20.10.0/24"): "gw-fsn1-a", prefix("10.30.0.0/16"): "gw-fsn1-b",
        ]
        var new = old
        new[prefix("10.20.10.0/24")] = "gw-fsn1-b"  // failover: moved
        new[prefix("10.30.0.0/16")] = nil  // withdrawn
        new[prefix("10.40.0.0/16")] = "gw-fsn1-a"  // new
        let change = AllowedIPsChange(from: old, to: new)
        #expect(change.removed == [prefix("10.30.0.0/16")])
        #expect(change.assigned.map(\.prefix) == [prefix("10.20.10.0/24"), prefix("10.40.0.0/16")])
        #expect(change.assigned.map(\.peer) == ["gw-fsn1-b", "gw-fsn1-a"])
        #expect(AllowedIPsChange(from: new, to: new).isEmpty)
    }
}
