internal import CLibNFTNL
internal import Glibc

extension NFTablesSocket {
    /// Deletes table `inet <name>` with everything in it, in one transaction; does nothing if it is absent.
    /// No other table is touched.
    ///
    /// - Throws: ``NFTablesError`` if the name is invalid or the kernel refuses (EPERM without CAP_NET_ADMIN).
    public func removeTable(named name: String) throws(NFTablesError) {
        try MSSClampRuleset.validateTableName(name)
        // Create-if-absent then delete: both in one transaction, so an absent table is no error.
        try commit { (batch: inout NetlinkBatch) throws(NFTablesError) in
            try batch.addTable(named: name)
            try batch.deleteTable(named: name)
        }
    }

    /// Whether table `inet <name>` exists in this socket's network namespace.
    public func tableExists(named name: String) throws(NFTablesError) -> Bool {
        try MSSClampRuleset.validateTableName(name)
        guard let table = nftnl_table_alloc() else { throw .socket(operation: "nftnl_table_alloc", errno: ENOMEM) }
        defer { nftnl_table_free(table) }
        nftnl_table_set_u32(table, UInt16(NFTNL_TABLE_FAMILY.rawValue), UInt32(NetlinkBatch.family))
        nftnl_table_set_str(table, UInt16(NFTNL_TABLE_NAME.rawValue), name)
        do {
            try query(
                "GETTABLE inet \(name)", type: NFT_MSG_GETTABLE, flags: 0,
                payload: { nftnl_table_nlmsg_build_payload($0, table) }, onReply: { _ in })
            return true
        } catch .request(_, errno: ENOENT) {
            return false
        }
    }
}
