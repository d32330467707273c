internal import CLibNFTNL
internal import Glibc

// Tables, chains and rules as libnftnl objects, each allocated, serialised into the batch and freed at once.

extension NetlinkBatch {
    /// `NEWTABLE inet <name>` with `NLM_F_CREATE` and no `NLM_F_EXCL`: creates the table, or leaves an
    /// existing one unchanged. With a comment, the table carries it as user data, as `nft` stores it.
    mutating func addTable(
        named name: String, comment: String? = nil, family: NFTRuleset.Family = .inet
    ) throws(NFTablesError) {
        guard let table = nftnl_table_alloc() else { throw .socket(operation: "nftnl_table_alloc", errno: ENOMEM) }
        defer { nftnl_table_free(table) }
        nftnl_table_set_u32(table, UInt16(NFTNL_TABLE_FAMILY.rawValue), UInt32(family.rawValue))
        nftnl_table_set_str(table, UInt16(NFTNL_TABLE_NAME.rawValue), name)
        if let comment {
            let userData = Self.commentUserData(comment)
            _ = userData.withUnsafeBytes {
                nftnl_table_set_data(
                    table, UInt16(NFTNL_TABLE_USERDATA.rawValue), $0.baseAddress, UInt32($0.count))
            }
        }
        append(
            "NEWTABLE \(family) \(name)", type: NFT_MSG_NEWTABLE, flags: NLM_F_CREATE, family: family.rawValue
        ) { header in
            nftnl_table_nlmsg_build_payload(header, table)
        }
    }

    /// `DELTABLE inet <name>`: deletes the table with its chains and rules; fails with ENOENT if absent.
    mutating func deleteTable(named name: String, family: NFTRuleset.Family = .inet) throws(NFTablesError) {
        guard let table = nftnl_table_alloc() else { throw .socket(operation: "nftnl_table_alloc", errno: ENOMEM) }
        defer { nftnl_table_free(table) }
        nftnl_table_set_u32(table, UInt16(NFTNL_TABLE_FAMILY.rawValue), UInt32(family.rawValue))
        nftnl_table_set_str(table, UInt16(NFTNL_TABLE_NAME.rawValue), name)
        append("DELTABLE \(family) \(name)", type: NFT_MSG_DELTABLE, flags: 0, family: family.rawValue) { header in
            nftnl_table_nlmsg_build_payload(header, table)
        }
    }

    /// `NEWCHAIN`: a base chain `type filter hook <hook> priority <priority>; policy <policy>`.
    mutating func addFilterChain(
        table tableName: String, named name: String, hook: nf_inet_hooks, priority: Int32,
        policy: Int32 = NF_ACCEPT, family: NFTRuleset.Family = .inet
    ) throws(NFTablesError) {
        guard let chain = nftnl_chain_alloc() else { throw .socket(operation: "nftnl_chain_alloc", errno: ENOMEM) }
        defer { nftnl_chain_free(chain) }
        nftnl_chain_set_u32(chain, UInt16(NFTNL_CHAIN_FAMILY.rawValue), UInt32(family.rawValue))
        nftnl_chain_set_str(chain, UInt16(NFTNL_CHAIN_TABLE.rawValue), tableName)
        nftnl_chain_set_str(chain, UInt16(NFTNL_CHAIN_NAME.rawValue), name)
        nftnl_chain_set_str(chain, UInt16(NFTNL_CHAIN_TYPE.rawValue), "filter")
        nftnl_chain_set_u32(chain, UInt16(NFTNL_CHAIN_HOOKNUM.rawValue), hook.rawValue)
        nftnl_chain_set_s32(chain, UInt16(NFTNL_CHAIN_PRIO.rawValue), priority)
        nftnl_chain_set_u32(chain, UInt16(NFTNL_CHAIN_POLICY.rawValue), UInt32(policy))
        append(
            "NEWCHAIN \(family) \(tableName) \(name)", type: NFT_MSG_NEWCHAIN, flags: NLM_F_CREATE,
            family: family.rawValue
        ) { header in
            nftnl_chain_nlmsg_build_payload(header, chain)
        }
    }

    /// `NEWRULE`, appended at the end of the chain.
    mutating func appendRule(
        table tableName: String, chain chainName: String, index: Int, expressions: [RuleExpression],
        family: NFTRuleset.Family = .inet
    ) throws(NFTablesError) {
        guard let rule = nftnl_rule_alloc() else { throw .socket(operation: "nftnl_rule_alloc", errno: ENOMEM) }
        defer { nftnl_rule_free(rule) }
        nftnl_rule_set_u32(rule, UInt16(NFTNL_RULE_FAMILY.rawValue), UInt32(family.rawValue))
        nftnl_rule_set_str(rule, UInt16(NFTNL_RULE_TABLE.rawValue), tableName)
        nftnl_rule_set_str(rule, UInt16(NFTNL_RULE_CHAIN.rawValue), chainName)
        for expression in expressions {
            guard let built = expression.makeNFTNLExpression() else {
                throw .socket(operation: "nftnl_expr_alloc(\(expression.typeName))", errno: ENOMEM)
            }
            nftnl_rule_add_expr(rule, built)  // The rule owns it from here.
        }
        append(
            "NEWRULE \(family) \(tableName) \(chainName) #\(index)", type: NFT_MSG_NEWRULE,
            flags: NLM_F_CREATE | NLM_F_APPEND, family: family.rawValue
        ) { header in
            nftnl_rule_nlmsg_build_payload(header, rule)
        }
    }

    /// `NEWSET`: a named set of `keyType` (an nft datatype number, `keyLength` bytes), with `NFT_SET_TIMEOUT`
    /// when its elements carry timeouts.
    mutating func addSet(
        table tableName: String, _ declaration: NFTRuleset.NamedSet, id: UInt32, family: NFTRuleset.Family
    ) throws(NFTablesError) {
        guard let set = nftnl_set_alloc() else { throw .socket(operation: "nftnl_set_alloc", errno: ENOMEM) }
        defer { nftnl_set_free(set) }
        nftnl_set_set_u32(set, UInt16(NFTNL_SET_FAMILY.rawValue), UInt32(family.rawValue))
        nftnl_set_set_str(set, UInt16(NFTNL_SET_TABLE.rawValue), tableName)
        nftnl_set_set_str(set, UInt16(NFTNL_SET_NAME.rawValue), declaration.name)
        nftnl_set_set_u32(set, UInt16(NFTNL_SET_KEY_TYPE.rawValue), declaration.keyType.datatype)
        nftnl_set_set_u32(set, UInt16(NFTNL_SET_KEY_LEN.rawValue), declaration.keyType.length)
        nftnl_set_set_u32(set, UInt16(NFTNL_SET_ID.rawValue), id)
        var flags: UInt32 = 0
        if declaration.hasTimeouts { flags |= NFT_SET_TIMEOUT.rawValue }
        if declaration.isInterval { flags |= NFT_SET_INTERVAL.rawValue }
        if var fields = declaration.keyType.fieldLengths {
            // Interval concatenations (the kernel's pipapo set) need each field's length.
            flags |= NFT_SET_CONCAT.rawValue
            fields += [UInt8](repeating: 0, count: 16 - fields.count)
            _ = fields.withUnsafeBytes {
                nftnl_set_set_data(set, UInt16(NFTNL_SET_DESC_CONCAT.rawValue), $0.baseAddress, UInt32($0.count))
            }
        }
        switch declaration.mapsTo {
        case .value(let type):
            flags |= NFT_SET_MAP.rawValue
            nftnl_set_set_u32(set, UInt16(NFTNL_SET_DATA_TYPE.rawValue), type.datatype)
            nftnl_set_set_u32(set, UInt16(NFTNL_SET_DATA_LEN.rawValue), type.length)
        case .counter:
            flags |= NFT_SET_OBJECT.rawValue
            nftnl_set_set_u32(set, UInt16(NFTNL_SET_OBJ_TYPE.rawValue), UInt32(NFT_OBJECT_COUNTER))
        case nil:
            break
        }
        if flags != 0 { nftnl_set_set_u32(set, UInt16(NFTNL_SET_FLAGS.rawValue), flags) }
        // The size hint lets the kernel pick a backend sized for the elements (a hash set grows otherwise).
        if !declaration.elements.isEmpty {
            nftnl_set_set_u32(set, UInt16(NFTNL_SET_DESC_SIZE.rawValue), UInt32(declaration.elements.count))
        }
        append(
            "NEWSET \(family) \(tableName) \(declaration.name)", type: NFT_MSG_NEWSET, flags: NLM_F_CREATE,
            family: family.rawValue
        ) { header in
            nftnl_set_nlmsg_build_payload(header, set)
        }
    }

    /// `NEWSETELEM` (with `timeout`, in milliseconds, for a set with timeouts) or `DELSETELEM` of one key.
    /// A NEWSETELEM of a key already present is accepted but changes nothing, its timeout included.
    mutating func setElement(
        _ operation: ElementOperation, table tableName: String, set setName: String, key: [UInt8],
        timeoutMilliseconds: UInt64?, family: NFTRuleset.Family
    ) throws(NFTablesError) {
        guard let set = nftnl_set_alloc() else { throw .socket(operation: "nftnl_set_alloc", errno: ENOMEM) }
        defer { nftnl_set_free(set) }
        nftnl_set_set_u32(set, UInt16(NFTNL_SET_FAMILY.rawValue), UInt32(family.rawValue))
        nftnl_set_set_str(set, UInt16(NFTNL_SET_TABLE.rawValue), tableName)
        nftnl_set_set_str(set, UInt16(NFTNL_SET_NAME.rawValue), setName)
        guard let element = nftnl_set_elem_alloc() else {
            throw .socket(operation: "nftnl_set_elem_alloc", errno: ENOMEM)
        }
        _ = key.withUnsafeBytes {
            nftnl_set_elem_set(element, UInt16(NFTNL_SET_ELEM_KEY), $0.baseAddress, UInt32($0.count))
        }
        if let timeoutMilliseconds, operation == .add {
            nftnl_set_elem_set_u64(element, UInt16(NFTNL_SET_ELEM_TIMEOUT), timeoutMilliseconds)
        }
        nftnl_set_elem_add(set, element)  // The set owns it from here.
        let (type, flags, name): (nf_tables_msg_types, Int32, String) =
            operation == .add ? (NFT_MSG_NEWSETELEM, NLM_F_CREATE, "NEWSETELEM") : (NFT_MSG_DELSETELEM, 0, "DELSETELEM")
        append("\(name) \(family) \(tableName) \(setName)", type: type, flags: flags, family: family.rawValue) {
            header in
            nftnl_set_elems_nlmsg_build_payload(header, set)
        }
    }

    enum ElementOperation { case add, delete }

    /// Element bytes per NEWSETELEM message: the element list is one netlink attribute, whose 16-bit length
    /// caps it below 64 KiB.
    static let elementBytesPerMessage = 48 << 10

    /// The set's initial elements, as many NEWSETELEM messages as their size needs.
    mutating func addElements(
        table tableName: String, _ declaration: NFTRuleset.NamedSet, family: NFTRuleset.Family
    ) throws(NFTablesError) {
        var start = 0
        while start < declaration.elements.count {
            guard let set = nftnl_set_alloc() else { throw .socket(operation: "nftnl_set_alloc", errno: ENOMEM) }
            defer { nftnl_set_free(set) }
            nftnl_set_set_u32(set, UInt16(NFTNL_SET_FAMILY.rawValue), UInt32(family.rawValue))
            nftnl_set_set_str(set, UInt16(NFTNL_SET_TABLE.rawValue), tableName)
            nftnl_set_set_str(set, UInt16(NFTNL_SET_NAME.rawValue), declaration.name)
            var bytes = 0
            var end = start
            while end < declaration.elements.count, bytes < Self.elementBytesPerMessage {
                let element = declaration.elements[end]
                guard let built = nftnl_set_elem_alloc() else {
                    throw .socket(operation: "nftnl_set_elem_alloc", errno: ENOMEM)
                }
                _ = element.key.withUnsafeBytes {
                    nftnl_set_elem_set(built, UInt16(NFTNL_SET_ELEM_KEY), $0.baseAddress, UInt32($0.count))
                }
                if let keyEnd = element.keyEnd {
                    _ = keyEnd.withUnsafeBytes {
                        nftnl_set_elem_set(built, UInt16(NFTNL_SET_ELEM_KEY_END), $0.baseAddress, UInt32($0.count))
                    }
                }
                if element.isIntervalEnd {
                    nftnl_set_elem_set_u32(built, UInt16(NFTNL_SET_ELEM_FLAGS), NFT_SET_ELEM_INTERVAL_END.rawValue)
                }
                if let value = element.value {
                    _ = value.withUnsafeBytes {
                        nftnl_set_elem_set(built, UInt16(NFTNL_SET_ELEM_DATA), $0.baseAddress, UInt32($0.count))
                    }
                }
                if let counter = element.counter {
                    nftnl_set_elem_set_str(built, UInt16(NFTNL_SET_ELEM_OBJREF), counter)
                }
                nftnl_set_elem_add(set, built)  // The set owns it from here.
                // Attribute headers and padding: about 40 bytes beyond the key, value and name.
                let valueBytes = element.value?.count ?? 0
                let nameBytes = element.counter?.utf8.count ?? 0
                bytes += 48 + 2 * element.key.count + valueBytes + nameBytes
                end += 1
            }
            append(
                "NEWSETELEM \(family) \(tableName) \(declaration.name) [\(start)..<\(end)]", type: NFT_MSG_NEWSETELEM,
                flags: NLM_F_CREATE, family: family.rawValue
            ) { header in
                nftnl_set_elems_nlmsg_build_payload(header, set)
            }
            start = end
        }
    }

    /// `NEWOBJ`: a named counter starting at zero.
    mutating func addCounter(table tableName: String, named name: String, family: NFTRuleset.Family)
        throws(NFTablesError)
    {
        guard let object = nftnl_obj_alloc() else { throw .socket(operation: "nftnl_obj_alloc", errno: ENOMEM) }
        defer { nftnl_obj_free(object) }
        nftnl_obj_set_u32(object, UInt16(NFTNL_OBJ_FAMILY), UInt32(family.rawValue))
        nftnl_obj_set_str(object, UInt16(NFTNL_OBJ_TABLE), tableName)
        nftnl_obj_set_str(object, UInt16(NFTNL_OBJ_NAME), name)
        nftnl_obj_set_u32(object, UInt16(NFTNL_OBJ_TYPE), UInt32(NFT_OBJECT_COUNTER))
        append(
            "NEWOBJ \(family) \(tableName) counter \(name)", type: NFT_MSG_NEWOBJ, flags: NLM_F_CREATE,
            family: family.rawValue
        ) { header in
            nftnl_obj_nlmsg_build_payload(header, object)
        }
    }

    /// A table comment in libnftnl's user-data TLV form, as nft writes and reads it: type
    /// `NFTNL_UDATA_TABLE_COMMENT` (0), one length byte, then the text with its NUL.
    static func commentUserData(_ comment: String) -> [UInt8] {
        let text = Array(comment.utf8.prefix(254)) + [0]
        return [0, UInt8(text.count)] + text
    }
}
