// swift-tools-version:6.1
import PackageDescription

/// Settings every Outpost target shares: Swift 6 language mode with the upcoming features the style guide asks for.
let strictSwift: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "outpost",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "outpostd", targets: ["outpostd"]),
        .executable(name: "outpostctl", targets: ["outpostctl"]),
        .executable(name: "outpost-coordinator", targets: ["outpost-coordinator"]),
        // What outpostd execs to start a lane task: joins the task's cgroup, sets its limits, execs the task.
        .executable(name: "outpost-launch", targets: ["outpost-launch"]),
        .library(name: "OutpostClient", targets: ["OutpostClient"]),
        // For Benchmarks/ (reply parsing rate) and for tools that speak BOINC's scheduler RPC.
        .library(name: "OutpostScheduler", targets: ["OutpostScheduler"]),
        // For Benchmarks/ (transfer throughput and bandwidth limits against curl).
        .library(name: "OutpostTransfers", targets: ["OutpostTransfers"]),
        .library(name: "OutpostCrypto", targets: ["OutpostCrypto"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // Without its default "SubprocessFoundation" trait: lanes pass bytes, not Foundation's Data.
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2", traits: []),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
    ],
    targets: [
        // C libraries and system calls that Swift's Glibc module cannot reach (its header says why each is needed).
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        .target(name: "CLinuxShims", cSettings: [.define("_GNU_SOURCE")]),
        // A small C program, not Swift: it runs before every lane task. It is freestanding (its own `_start`, raw
        // system calls; see its main.c for why): no stack protector, which would read thread-local storage that no C
        // library set up, no builtins that could become library calls, and no C start files. SwiftPM links it with
        // swiftc, which adds the Swift runtime: statically, so there is nothing for a dynamic loader to do, and
        // none of it runs. lld, because gold warns about the static runtime's unused dlopen.
        .executableTarget(
            name: "outpost-launch",
            cSettings: [.unsafeFlags(["-ffreestanding", "-fno-builtin", "-fno-stack-protector"])],
            linkerSettings: [
                .unsafeFlags(["-static-executable", "-use-ld=lld", "-Xclang-linker", "-nostartfiles", "-Xlinker", "--gc-sections"])
            ]
        ),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),

        .target(name: "OutpostCore", dependencies: ["CLinuxShims"], swiftSettings: strictSwift),
        .target(name: "OutpostTOML", swiftSettings: strictSwift),
        // What every Outpost daemon shares: systemd notification and watchdog, journald logging, the state directory
        // and configuration-file checks.
        .target(
            name: "OutpostService",
            dependencies: [
                "CSystemd", "OutpostTOML",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSwift
        ),
        .target(name: "OutpostCrypto", dependencies: ["COpenSSL"], swiftSettings: strictSwift),
        // What the coordinator's and outpostd's HTTP servers share: TLS settings, the slow-client deadline, listen
        // addresses.
        .target(
            name: "OutpostHTTP",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: strictSwift
        ),
        // The check-in protocol both sides speak: the Client entity's vocabulary, metrics and message shapes.
        .target(
            name: "OutpostCheckin",
            dependencies: [
                "OutpostRPC", "OutpostCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strictSwift
        ),
        .target(name: "OutpostRPC", dependencies: ["OutpostCore"], swiftSettings: strictSwift),
        // BOINC's scheduler RPC as values: the XML reader and writer, requests, replies, the upload protocol. Pure:
        // bytes in, values out, no sockets.
        .target(name: "OutpostScheduler", swiftSettings: strictSwift),
        .target(
            name: "OutpostTransfers",
            dependencies: [
                "OutpostCore", "OutpostCrypto", "OutpostScheduler",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSwift
        ),
        .target(name: "OutpostFiles", dependencies: ["CLinuxShims"], swiftSettings: strictSwift),
        .target(name: "OutpostState", dependencies: ["OutpostRPC"], swiftSettings: strictSwift),
        .target(
            name: "OutpostLanes",
            dependencies: [
                "OutpostCore", "OutpostState", "OutpostRPC", "OutpostFiles", "CLinuxShims",
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSwift
        ),
        // The control API's client, local (Unix socket) and remote (WebSocket over TLS), and remote file transfers.
        .target(
            name: "OutpostClient",
            dependencies: [
                "OutpostRPC", "OutpostCrypto", "CLinuxShims",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strictSwift
        ),
        .target(
            name: "OutpostNode",
            dependencies: [
                "OutpostCore", "OutpostRPC", "OutpostTOML", "OutpostFiles", "OutpostState", "OutpostLanes", "CSystemd",
                "CLinuxShims", "OutpostService", "OutpostCheckin", "OutpostScheduler", "OutpostCrypto", "OutpostTransfers",
                "OutpostHTTP",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "outpostd",
            dependencies: [
                "OutpostNode", "OutpostCore", "OutpostService", .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSwift
        ),
        .target(
            name: "OutpostCoordinator",
            dependencies: [
                "OutpostCore", "OutpostRPC", "OutpostTOML", "OutpostService", "OutpostCheckin", "OutpostCrypto",
                "OutpostScheduler", "OutpostHTTP",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "outpost-coordinator",
            dependencies: [
                "OutpostCoordinator", "OutpostCheckin", "OutpostRPC", "OutpostCore", "OutpostService", "OutpostCrypto",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "outpostctl",
            dependencies: [
                "OutpostClient", "OutpostRPC", "OutpostState", "OutpostCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSwift
        ),

        .testTarget(name: "OutpostTOMLTests", dependencies: ["OutpostTOML"], swiftSettings: strictSwift),
        .testTarget(name: "OutpostFilesTests", dependencies: ["OutpostFiles"], swiftSettings: strictSwift),
        .testTarget(name: "OutpostRPCTests", dependencies: ["OutpostRPC"], swiftSettings: strictSwift),
        .testTarget(name: "OutpostTransfersTests", dependencies: ["OutpostTransfers"], swiftSettings: strictSwift),
        .testTarget(
            name: "OutpostSchedulerTests",
            dependencies: ["OutpostScheduler", "OutpostCrypto"],
            exclude: ["Fixtures"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "OutpostStateTests",
            dependencies: ["OutpostState", "OutpostRPC"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "OutpostLanesTests",
            dependencies: [
                "OutpostLanes", "OutpostState", "OutpostRPC", "CLinuxShims", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "OutpostNodeTests",
            dependencies: [
                "OutpostNode", "OutpostCore", "OutpostRPC", "OutpostFiles", "OutpostLanes", "OutpostService",
                "OutpostCheckin", "OutpostScheduler", "OutpostCrypto",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "OutpostCoordinatorTests",
            dependencies: [
                "OutpostCoordinator", "OutpostCheckin", "OutpostRPC", "OutpostCrypto", "OutpostService",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "OutpostClient", "OutpostRPC", "OutpostState", "CLinuxShims",
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift
        ),
    ]
)
