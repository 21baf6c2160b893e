// swift-tools-version:6.1
import PackageDescription

// Load generators for Benchmarks/*.sh. A package of its own so that the product's build stays free of them.
let package = Package(
    name: "outpost-benchmarks",
    dependencies: [.package(name: "outpost", path: "..")],
    targets: [
        .executableTarget(
            name: "outpost-bench",
            dependencies: [
                .product(name: "OutpostClient", package: "outpost"),
                .product(name: "OutpostScheduler", package: "outpost"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        )
    ]
)
