extension RouteNetlink {
    /// Sends all `requests` at once, each acknowledged separately, and returns when the kernel has answered
    /// every one.
    ///
    /// The requests go out in one sendmsg (split only past about 128 KiB of messages or when the socket's
    /// receive buffer could not hold every ack) and the kernel applies them in order. Netlink routing has no
    /// transactions: a failed request stops nothing and undoes nothing, so the requests after it are still
    /// applied. When any fail, the error is ``NetlinkError/batch(failures:requestCount:)`` listing exactly
    /// those, by index; every request not listed took effect.
    ///
    /// If one request cannot be encoded (``NetlinkError/invalidArgument(_:)``), nothing is sent. A
    /// ``NetlinkError/system(op:errno:)`` error means the exchange itself broke; requests whose ack had not
    /// arrived may or may not have been applied.
    public func apply(_ requests: [NetlinkRequest]) throws(NetlinkError) {
        let failures = try submit(requests)
        if !failures.isEmpty { throw .batch(failures: failures, requestCount: requests.count) }
    }

    /// Sends one request; a refusal throws ``NetlinkError/request(op:errno:)``.
    func perform(_ request: NetlinkRequest) throws(NetlinkError) {
        if let failure = try submit([request]).first {
            throw .request(op: failure.op, errno: failure.errno)
        }
    }

    /// The failed requests of a batch, in order; empty when all succeeded.
    private func submit(_ requests: [NetlinkRequest]) throws(NetlinkError) -> [RequestFailure] {
        guard !requests.isEmpty else { return [] }
        for request in requests { try request.checkArguments() }
        let operation = requests.count == 1 ? requests[0].description : "batch of \(requests.count) requests"
        let answers = try exchange(count: requests.count, operation: operation) { index, header in
            requests[index].encode(into: header)
        }
        return answers.indices.compactMap { index in
            answers[index] == 0
                ? nil : RequestFailure(index: index, op: requests[index].description, errno: answers[index])
        }
    }
}
