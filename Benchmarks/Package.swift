// swift-tools-version:6.1
import PackageDescription

// Load generators for Benchmarks/*.sh. A package of its own so that the product's build stays free of them.
let package = Package(
    name: "outpost-benchmarks",
    dependencies: [
        .package(name: "outpost", path: ".."),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .executableTarget(
            name: "outpost-bench",
            dependencies: [
                .product(name: "OutpostClient", package: "outpost"),
                .product(name: "OutpostScheduler", package: "outpost"),
                .product(name: "OutpostTransfers", package: "outpost"),
                .product(name: "OutpostCrypto", package: "outpost"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        )
    ]
)
