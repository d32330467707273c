/// A path-compressed binary trie mapping canonical prefixes of one address family to values, with
/// longest-prefix-match lookup. `AllowedIPs` keeps one per family.
///
/// Keys are addresses as unsigned integers whose most significant bit is the first bit of the address
/// (`UInt32` for IPv4, `UInt128` for IPv6). Each node stores a canonical prefix (host bits clear). The
/// structure follows the WireGuard whitepaper §3 and the Linux/wireguard-go `allowedips` trie:
/// - a node's children are longer prefixes that extend it; the bit right after the node's prefix
///   (bit number `node.length`, counting from the most significant) chooses the child slot;
/// - a node without a value exists only to branch, so it always has two children (path compression:
///   chains of single-child, valueless nodes are never kept).
///
/// Lookup walks from the root while each node's prefix matches the key and remembers the last value
/// seen, which is the longest match. It allocates nothing. Insert and remove are recursive, with depth
/// bounded by the key width plus one.
struct PrefixTrie<Key: FixedWidthInteger & UnsignedInteger, Value: AnyObject> {
    /// One trie node: a canonical prefix, an optional value, and up to two longer prefixes below it.
    final class Node {
        /// The prefix bits, with every bit after the first `length` clear.
        let key: Key
        /// The prefix length in bits, from 0 to `Key.bitWidth`.
        let length: Int
        /// The value stored for exactly this prefix, or `nil` if the node only branches.
        var value: Value?
        /// The child whose bit number `length` is 0.
        var zero: Node?
        /// The child whose bit number `length` is 1.
        var one: Node?

        init(key: Key, length: Int, value: Value?) {
            self.key = key
            self.length = length
            self.value = value
        }
    }

    /// The root, or `nil` when the trie is empty.
    private(set) var root: Node?
    /// The number of prefixes that have a value.
    private(set) var count = 0

    /// Maps `key/length` to `value`, replacing any value the prefix already had. Host bits in `key`
    /// are ignored.
    ///
    /// - Precondition: `0 <= length <= Key.bitWidth`.
    mutating func insert(_ key: Key, length: Int, value: Value) {
        precondition(length >= 0 && length <= Key.bitWidth, "prefix length out of range")
        root = insert(key & Self.mask(length), length: length, value: value, below: root)
    }

    /// Removes the value stored for exactly `key/length`, if any. Host bits in `key` are ignored.
    mutating func remove(_ key: Key, length: Int) {
        guard length >= 0 && length <= Key.bitWidth else { return }
        root = remove(key & Self.mask(length), length: length, below: root)
    }

    /// The value of the longest prefix that contains `key`, or `nil` if none does. Allocation-free.
    func lookup(_ key: Key) -> Value? {
        var node = root
        var best: Value?
        while let current = node {
            // The node matches when the key agrees with it on the node's first `length` bits.
            guard (key ^ current.key).leadingZeroBitCount >= current.length else { break }
            if let value = current.value { best = value }
            guard current.length < Key.bitWidth else { break }
            node = Self.bit(key, at: current.length) ? current.one : current.zero
        }
        return best
    }

    /// Calls `body` with every stored prefix and its value, ordered by key and then by length.
    func forEach(_ body: (_ key: Key, _ length: Int, _ value: Value) -> Void) {
        func visit(_ node: Node?) {
            guard let node else { return }
            if let value = node.value { body(node.key, node.length, value) }
            visit(node.zero)
            visit(node.one)
        }
        visit(root)
    }

    // MARK: - Bit helpers

    /// A mask with the first `length` bits set.
    static func mask(_ length: Int) -> Key {
        length == 0 ? 0 : Key.max &<< (Key.bitWidth - length)
    }

    /// Whether bit number `index` of `key` is set, counting from the most significant bit as 0.
    static func bit(_ key: Key, at index: Int) -> Bool {
        (key &>> (Key.bitWidth - 1 - index)) & 1 == 1
    }

    // MARK: - Recursive updates

    private mutating func insert(_ key: Key, length: Int, value: Value, below node: Node?) -> Node {
        guard let node else {
            count += 1
            return Node(key: key, length: length, value: value)
        }
        let common = min((key ^ node.key).leadingZeroBitCount, node.length, length)

        if common == node.length && common == length {
            // The same prefix: move it to the new value.
            if node.value == nil { count += 1 }
            node.value = value
            return node
        }
        if common == node.length {
            // The node's prefix contains the new one: descend.
            if Self.bit(key, at: node.length) {
                node.one = insert(key, length: length, value: value, below: node.one)
            } else {
                node.zero = insert(key, length: length, value: value, below: node.zero)
            }
            return node
        }

        count += 1
        let leaf = Node(key: key, length: length, value: value)
        if common == length {
            // The new prefix contains the node's: it goes above the node.
            if Self.bit(node.key, at: length) { leaf.one = node } else { leaf.zero = node }
            return leaf
        }
        // The prefixes diverge at bit `common`: join them under a valueless branch node.
        let branch = Node(key: key & Self.mask(common), length: common, value: nil)
        if Self.bit(key, at: common) {
            branch.one = leaf
            branch.zero = node
        } else {
            branch.zero = leaf
            branch.one = node
        }
        return branch
    }

    private mutating func remove(_ key: Key, length: Int, below node: Node?) -> Node? {
        guard let node else { return nil }
        guard node.length <= length, (key ^ node.key).leadingZeroBitCount >= node.length else {
            return node  // the prefix is not in this subtree
        }
        if node.length == length {
            guard node.value != nil else { return node }
            node.value = nil
            count -= 1
        } else if Self.bit(key, at: node.length) {
            node.one = remove(key, length: length, below: node.one)
        } else {
            node.zero = remove(key, length: length, below: node.zero)
        }
        return Self.compacted(node)
    }

    /// Restores path compression after `node` lost its value or a child: a valueless node with fewer
    /// than two children is replaced by its only child, or dropped.
    private static func compacted(_ node: Node) -> Node? {
        guard node.value == nil else { return node }
        switch (node.zero, node.one) {
        case (nil, nil): return nil
        case (let child?, nil), (nil, let child?): return child
        case (.some, .some): return node
        }
    }
}
