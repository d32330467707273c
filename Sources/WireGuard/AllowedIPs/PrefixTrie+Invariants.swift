extension PrefixTrie {
    /// Describes the first structural invariant the trie breaks, or returns `nil` if it is sound.
    /// Walks the whole trie; meant for tests.
    ///
    /// The invariants: every key is canonical for its length; every child is strictly longer than its
    /// parent, lies inside the parent's prefix and sits in the slot named by its bit at the parent's
    /// length; every valueless node has two children; `count` equals the number of valued nodes.
    func invariantViolation() -> String? {
        var valuedNodes = 0

        func check(_ node: Node, parent: Node?, isOneChild: Bool) -> String? {
            guard node.length >= 0 && node.length <= Key.bitWidth else {
                return "node length \(node.length) is out of range"
            }
            guard node.key & ~Self.mask(node.length) == 0 else {
                return "node \(node.key)/\(node.length) has host bits set"
            }
            if let parent {
                guard node.length > parent.length else {
                    return "child /\(node.length) is not longer than its parent /\(parent.length)"
                }
                guard (node.key ^ parent.key).leadingZeroBitCount >= parent.length else {
                    return "child \(node.key)/\(node.length) is outside its parent \(parent.key)/\(parent.length)"
                }
                guard Self.bit(node.key, at: parent.length) == isOneChild else {
                    return "child \(node.key)/\(node.length) is in the wrong slot"
                }
            }
            if node.value == nil {
                guard node.zero != nil && node.one != nil else {
                    return "valueless node \(node.key)/\(node.length) has fewer than two children"
                }
            } else {
                valuedNodes += 1
            }
            if let zero = node.zero, let problem = check(zero, parent: node, isOneChild: false) {
                return problem
            }
            if let one = node.one, let problem = check(one, parent: node, isOneChild: true) {
                return problem
            }
            return nil
        }

        if let root, let problem = check(root, parent: nil, isOneChild: false) {
            return problem
        }
        guard valuedNodes == count else {
            return "count is \(count) but \(valuedNodes) nodes have values"
        }
        return nil
    }
}
