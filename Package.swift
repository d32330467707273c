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
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // MARK: - C edge
        .systemLibrary(
            name: "CLibCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(name: "CLinuxShims", cSettings: [.define("_GNU_SOURCE")]),

        // MARK: - Pure cores and wrappers
        .target(name: "NetworkTypes", swiftSettings: swiftSettings),
        .target(name: "CryptoPrimitives", dependencies: ["CLibCrypto"], swiftSettings: swiftSettings),
        .target(name: "WireGuard", dependencies: ["CryptoPrimitives", "NetworkTypes"], swiftSettings: swiftSettings),
        .target(name: "LinuxSystem", dependencies: ["CLinuxShims", "NetworkTypes"], swiftSettings: swiftSettings),

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
        .executableTarget(
            name: "MeshgateCLI",
            dependencies: [
                "CryptoPrimitives",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: - Tests
        .target(
            name: "MeshgateTestSupport",
            dependencies: ["WireGuard", "CryptoPrimitives", "NetworkTypes"],
            path: "Tests/MeshgateTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "NetworkTypesTests", dependencies: ["NetworkTypes"], swiftSettings: swiftSettings),
        .testTarget(name: "CryptoPrimitivesTests", dependencies: ["CryptoPrimitives"], swiftSettings: swiftSettings),
        .testTarget(
            name: "WireGuardTests",
            dependencies: ["WireGuard", "CryptoPrimitives", "NetworkTypes", "MeshgateTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DataplaneTests",
            dependencies: ["Dataplane", "LinuxSystem"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["MeshgateTestSupport", "NetworkTypes"],
            swiftSettings: swiftSettings
        ),
    ]
)
