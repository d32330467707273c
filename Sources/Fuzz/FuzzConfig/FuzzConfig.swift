// libFuzzer target: the gateway configuration parser and validator (YAML through Yams). Built and run by
// scripts/fuzz.sh.

import GatewayConfig

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if case .failure(let errors) = GatewayConfiguration.parse(yaml: text) { _ = errors.description }
    _ = GatewayConfiguration.declaredPrivateKeyFile(yaml: text)
    return 0
}
