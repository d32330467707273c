internal import CLibNFTNL
internal import Glibc

// Tables, chains and rules as libnftnl objects, each allocated, serialised into the batch and freed at once.

extension NetlinkBatch {
    /// `NEWTABLE inet <name>` with `NLM_F_CREATE` and no `NLM_F_EXCL`: creates the table, or leaves an
    /// existing one unchanged. With a comment, the table carries it as user data, as `nft` stores it.
    mutating func addTable(named name: String, comment: String? = nil) throws(NFTablesError) {
        guard let table = nftnl_table_alloc() else { throw .socket(operation: "nftnl_table_alloc", errno: ENOMEM) }
        defer { nftnl_table_free(table) }
        nftnl_table_set_u32(table, UInt16(NFTNL_TABLE_FAMILY.rawValue), UInt32(Self.family))
        nftnl_table_set_str(table, UInt16(NFTNL_TABLE_NAME.rawValue), name)
        if let comment {
            let userData = Self.commentUserData(comment)
            _ = userData.withUnsafeBytes {
                nftnl_table_set_data(
                    table, UInt16(NFTNL_TABLE_USERDATA.rawValue), $0.baseAddress, UInt32($0.count))
            }
        }
        append("NEWTABLE inet \(name)", type: NFT_MSG_NEWTABLE, flags: NLM_F_CREATE) { header in
            nftnl_table_nlmsg_build_payload(header, table)
        }
    }

    /// `DELTABLE inet <name>`: deletes the table with its chains and rules; fails with ENOENT if absent.
    mutating func deleteTable(named name: String) throws(NFTablesError) {
        guard let table = nftnl_table_alloc() else { throw .socket(operation: "nftnl_table_alloc", errno: ENOMEM) }
        defer { nftnl_table_free(table) }
        nftnl_table_set_u32(table, UInt16(NFTNL_TABLE_FAMILY.rawValue), UInt32(Self.family))
        nftnl_table_set_str(table, UInt16(NFTNL_TABLE_NAME.rawValue), name)
        append("DELTABLE inet \(name)", type: NFT_MSG_DELTABLE, flags: 0) { header in
            nftnl_table_nlmsg_build_payload(header, table)
        }
    }

    /// `NEWCHAIN`: a base chain `type filter hook <hook> priority <priority>; policy <policy>`.
    mutating func addFilterChain(
        table tableName: String, named name: String, hook: nf_inet_hooks, priority: Int32,
        policy: Int32 = NF_ACCEPT
    ) throws(NFTablesError) {
        guard let chain = nftnl_chain_alloc() else { throw .socket(operation: "nftnl_chain_alloc", errno: ENOMEM) }
        defer { nftnl_chain_free(chain) }
        nftnl_chain_set_u32(chain, UInt16(NFTNL_CHAIN_FAMILY.rawValue), UInt32(Self.family))
        nftnl_chain_set_str(chain, UInt16(NFTNL_CHAIN_TABLE.rawValue), tableName)
        nftnl_chain_set_str(chain, UInt16(NFTNL_CHAIN_NAME.rawValue), name)
        nftnl_chain_set_str(chain, UInt16(NFTNL_CHAIN_TYPE.rawValue), "filter")
        nftnl_chain_set_u32(chain, UInt16(NFTNL_CHAIN_HOOKNUM.rawValue), hook.rawValue)
        nftnl_chain_set_s32(chain, UInt16(NFTNL_CHAIN_PRIO.rawValue), priority)
        nftnl_chain_set_u32(chain, UInt16(NFTNL_CHAIN_POLICY.rawValue), UInt32(policy))
        append("NEWCHAIN inet \(tableName) \(name)", type: NFT_MSG_NEWCHAIN, flags: NLM_F_CREATE) { header in
            nftnl_chain_nlmsg_build_payload(header, chain)
        }
    }

    /// `NEWRULE`, appended at the end of the chain.
    mutating func appendRule(
        table tableName: String, chain chainName: String, index: Int, expressions: [RuleExpression]
    ) throws(NFTablesError) {
        guard let rule = nftnl_rule_alloc() else { throw .socket(operation: "nftnl_rule_alloc", errno: ENOMEM) }
        defer { nftnl_rule_free(rule) }
        nftnl_rule_set_u32(rule, UInt16(NFTNL_RULE_FAMILY.rawValue), UInt32(Self.family))
        nftnl_rule_set_str(rule, UInt16(NFTNL_RULE_TABLE.rawValue), tableName)
        nftnl_rule_set_str(rule, UInt16(NFTNL_RULE_CHAIN.rawValue), chainName)
        for expression in expressions {
            guard let built = expression.makeNFTNLExpression() else {
                throw .socket(operation: "nftnl_expr_alloc(\(expression.typeName))", errno: ENOMEM)
            }
            nftnl_rule_add_expr(rule, built)  // The rule owns it from here.
        }
        append(
            "NEWRULE inet \(tableName) \(chainName) #\(index)", type: NFT_MSG_NEWRULE,
            flags: NLM_F_CREATE | NLM_F_APPEND
        ) { header in
            nftnl_rule_nlmsg_build_payload(header, rule)
        }
    }

    /// A table comment in libnftnl's user-data TLV form, as nft writes and reads it: type
    /// `NFTNL_UDATA_TABLE_COMMENT` (0), one length byte, then the text with its NUL.
    static func commentUserData(_ comment: String) -> [UInt8] {
        let text = Array(comment.utf8.prefix(254)) + [0]
        return [0, UInt8(text.count)] + text
    }
}
