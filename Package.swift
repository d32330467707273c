// swift-tools-version:6.0
import PackageDescription

/// Settings shared by every Swift target.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "meshgate",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "meshgate-wg", targets: ["MeshgateWGMain"]),
        .executable(name: "meshgate", targets: ["MeshgateCLI"]),
        .executable(name: "meshgated", targets: ["MeshgatedMain"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // MARK: - C edge
        .systemLibrary(
            name: "CLibCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(
            name: "CLibMNL",
            pkgConfig: "libmnl",
            providers: [.apt(["libmnl-dev"])]
        ),
        .systemLibrary(
            name: "CLibNFTNL",
            pkgConfig: "libnftnl",
            providers: [.apt(["libnftnl-dev", "libmnl-dev"])]
        ),
        .target(name: "CLinuxShims", cSettings: [.define("_GNU_SOURCE")]),

        // MARK: - Pure cores and wrappers
        .target(name: "NetworkTypes", swiftSettings: swiftSettings),
        .target(name: "CryptoPrimitives", dependencies: ["CLibCrypto"], swiftSettings: swiftSettings),
        .target(name: "WireGuard", dependencies: ["CryptoPrimitives", "NetworkTypes"], swiftSettings: swiftSettings),
        .target(name: "LinuxSystem", dependencies: ["CLinuxShims", "NetworkTypes"], swiftSettings: swiftSettings),

        .target(
            name: "Netlink",
            dependencies: ["CLibMNL", "LinuxSystem", "NetworkTypes"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "NFTables",
            dependencies: ["CLibNFTNL", "Netlink", "NetworkTypes", "Policy"],
            swiftSettings: swiftSettings
        ),
        .target(name: "Routing", dependencies: ["NetworkTypes"], swiftSettings: swiftSettings),
        // The least-privilege policy: HuJSON file, rules, route approvals, tests, kernel lookup tables (pure).
        .target(name: "Policy", dependencies: ["NetworkTypes", "CryptoPrimitives"], swiftSettings: swiftSettings),
        .target(name: "KernelSync", dependencies: ["Netlink", "NetworkTypes"], swiftSettings: swiftSettings),
        .target(
            name: "GatewayConfig",
            dependencies: ["NetworkTypes", "CryptoPrimitives", "Policy", .product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),
        .target(name: "ControlProtocol", dependencies: ["NetworkTypes"], swiftSettings: swiftSettings),
        // The gateway's decisions: pure, driven by inputs at an injected time (no I/O imports).
        .target(
            name: "GatewayController",
            dependencies: ["GatewayConfig", "Routing", "NetworkTypes", "CryptoPrimitives", "Policy"],
            swiftSettings: swiftSettings
        ),

        .target(
            name: "Telemetry",
            dependencies: [
                "NetworkTypes",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: - Drivers
        .target(
            name: "Dataplane",
            dependencies: [
                "WireGuard", "CryptoPrimitives", "NetworkTypes", "LinuxSystem",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: - Executables
        .executableTarget(
            name: "MeshgateWGMain",
            dependencies: [
                "Dataplane", "LinuxSystem", "WireGuard", "CryptoPrimitives",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MeshgateDaemon",
            dependencies: [
                "Dataplane", "WireGuard", "CryptoPrimitives", "NetworkTypes", "LinuxSystem", "Netlink", "NFTables",
                "KernelSync", "Routing", "GatewayConfig", "GatewayController", "ControlProtocol", "Telemetry", "Policy",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "MeshgatedMain",
            dependencies: [
                "MeshgateDaemon", "GatewayConfig", "ControlProtocol", "LinuxSystem",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "MeshgateCLI",
            dependencies: [
                "CryptoPrimitives", "ControlProtocol", "GatewayConfig", "LinuxSystem", "Policy", "NetworkTypes",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: - Fuzzing (libFuzzer entry points; built with --sanitize=fuzzer by scripts/fuzz.sh)
        .executableTarget(
            name: "FuzzRouteProtocol", dependencies: ["Routing", "NetworkTypes"], path: "Sources/Fuzz/FuzzRouteProtocol",
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "FuzzWireGuardReceive", dependencies: ["WireGuard", "MeshgateTestSupport"],
            path: "Sources/Fuzz/FuzzWireGuardReceive", swiftSettings: swiftSettings),
        .executableTarget(
            name: "FuzzUAPI", dependencies: ["WireGuard"], path: "Sources/Fuzz/FuzzUAPI", swiftSettings: swiftSettings),
        .executableTarget(
            name: "FuzzControlProtocol", dependencies: ["ControlProtocol"], path: "Sources/Fuzz/FuzzControlProtocol",
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "FuzzConfig", dependencies: ["GatewayConfig"], path: "Sources/Fuzz/FuzzConfig",
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "FuzzPolicy", dependencies: ["Policy"], path: "Sources/Fuzz/FuzzPolicy",
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "FuzzProbePort",
            dependencies: ["GatewayController", "GatewayConfig", "CryptoPrimitives", "LinuxSystem", "NetworkTypes", "Routing"],
            path: "Sources/Fuzz/FuzzProbePort", swiftSettings: swiftSettings),

        // MARK: - Tests
        .target(
            name: "MeshgateTestSupport",
            dependencies: ["WireGuard", "CryptoPrimitives", "NetworkTypes"],
            path: "Tests/MeshgateTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "NetworkTypesTests", dependencies: ["NetworkTypes"], swiftSettings: swiftSettings),
        .testTarget(name: "LinuxSystemTests", dependencies: ["LinuxSystem", "NetworkTypes"], swiftSettings: swiftSettings),
        .testTarget(name: "CryptoPrimitivesTests", dependencies: ["CryptoPrimitives"], swiftSettings: swiftSettings),
        .testTarget(
            name: "WireGuardTests",
            dependencies: ["WireGuard", "CryptoPrimitives", "NetworkTypes", "MeshgateTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "NetlinkTests", dependencies: ["Netlink", "KernelSync", "NetworkTypes"], swiftSettings: swiftSettings),
        .testTarget(name: "KernelSyncTests", dependencies: ["KernelSync", "Netlink", "NetworkTypes"], swiftSettings: swiftSettings),
        .testTarget(name: "NFTablesTests", dependencies: ["NFTables", "NetworkTypes", "Policy"], swiftSettings: swiftSettings),
        .testTarget(name: "RoutingTests", dependencies: ["Routing", "NetworkTypes"], swiftSettings: swiftSettings),
        .testTarget(name: "PolicyTests", dependencies: ["Policy", "NetworkTypes"], swiftSettings: swiftSettings),
        .testTarget(
            name: "GatewayConfigTests", dependencies: ["GatewayConfig", "NetworkTypes", "CryptoPrimitives"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "GatewayControllerTests",
            dependencies: ["GatewayController", "GatewayConfig", "Routing", "NetworkTypes", "CryptoPrimitives"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DataplaneTests",
            dependencies: ["Dataplane", "LinuxSystem"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TelemetryTests",
            dependencies: ["Telemetry", "NetworkTypes"],
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MeshgateDaemonTests",
            dependencies: ["MeshgateDaemon", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["MeshgateTestSupport", "NetworkTypes"],
            swiftSettings: swiftSettings
        ),
    ]
)
