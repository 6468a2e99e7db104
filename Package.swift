// swift-tools-version:6.2
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "samrom",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "samrom", targets: ["SamromCLI"]),
        .executable(name: "samrom-bench", targets: ["SamromBenchCLI"]),
        .executable(name: "samrom-fuzz", targets: ["SamromFuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.8.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
    ],
    targets: [
        // libsodium 1.0.18 (Debian 12) through pkg-config; only `Sodium` imports it.
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        // libqrencode 4.1.1 (Debian 12) through pkg-config; only `SamromServer`
        // imports it (the TOTP enrolment QR code), so the fuzz build does not need it.
        // <sys/timex.h> from glibc, for `samrom doctor`'s clock check.
        .systemLibrary(name: "CSystemClock"),
        .systemLibrary(
            name: "CQRencode",
            pkgConfig: "libqrencode",
            providers: [.apt(["libqrencode-dev"])]
        ),
        .target(
            name: "Sodium",
            dependencies: ["CSodium"],
            swiftSettings: strict
        ),
        .target(
            name: "SamromCore",
            dependencies: [
                "Sodium",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "SamromStore",
            dependencies: [
                "SamromCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                // SQLite's C API, for scanning the audit log without per-row overhead.
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: strict
        ),
        // The shared store for several instances: PostgreSQL through postgres-nio.
        .target(
            name: "SamromPostgres",
            dependencies: [
                "SamromCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "SamromServer",
            dependencies: [
                "SamromCore",
                "SamromStore",
                "Sodium",
                "CQRencode",
                "CSystemClock",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "SamromCLI",
            dependencies: [
                "SamromServer",
                "SamromStore",
                // `--store postgres://…` (StoreLocation.swift).
                "SamromPostgres",
                "SamromCore",
                "Sodium",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The benchmark suite (`make bench`): a load generator speaking our
        // protocol, the bare-stack ceiling relay, and a SaltyRTC client.
        .target(
            name: "SamromBench",
            dependencies: [
                "SamromCore",
                "SamromStore",
                // The `cluster` scenario: two PostgreSQL-backed audit logs in
                // process, and the cluster tests' launchers for PostgreSQL,
                // HAProxy and `samrom serve`.
                "SamromPostgres",
                "SamromTestSupport",
                "Sodium",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "SamromBenchCLI",
            dependencies: [
                "SamromBench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        // libFuzzer harnesses for every decoder of outside input (scripts/fuzz.sh);
        // only SamromCore and Sodium, so the sanitized build compiles little.
        .target(
            name: "SamromFuzzHarnesses",
            dependencies: ["SamromCore", "Sodium"],
            swiftSettings: strict
        ),
        // Built plainly it replays Tests/Fuzz/corpus; built with -DFUZZING and
        // -sanitize=fuzzer,address it is the libFuzzer binary.
        .executableTarget(
            name: "SamromFuzz",
            dependencies: ["SamromFuzzHarnesses"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SamromBenchTests",
            dependencies: [
                "SamromBench",
                "SamromBenchCLI",
                "SamromCLI",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SodiumTests",
            dependencies: ["Sodium"],
            swiftSettings: strict
        ),
        // RFC 9162 written again from the RFC with swift-crypto, for the tests
        // to check the production tree and proofs against.
        .target(
            name: "ReferenceMerkle",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            path: "Tests/ReferenceMerkle",
            swiftSettings: strict
        ),
        // What the server and CLI tests share: a protocol-speaking WebSocket
        // client and a way to run the built `samrom` binary.
        .target(
            name: "SamromTestSupport",
            dependencies: [
                "SamromCore",
                "Sodium",
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            path: "Tests/SamromTestSupport",
            swiftSettings: strict
        ),
        .testTarget(
            name: "SamromCoreTests",
            dependencies: [
                "SamromCore", "SamromStore", "Sodium", "ReferenceMerkle", "SamromFuzzHarnesses",
                .product(name: "GRDB", package: "GRDB.swift"),
                // An independent Ed25519 for checking our signed notes.
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        // The same assertions against every store: SQLite, and a real
        // PostgreSQL 15 the tests start (SamromTestSupport.PostgresServer).
        .testTarget(
            name: "SamromStoreTests",
            dependencies: [
                "SamromCore",
                "SamromStore",
                "SamromPostgres",
                "SamromTestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SamromServerTests",
            dependencies: [
                // SAMROM_TEST_STORE=postgres runs the suite on PostgreSQL.
                "SamromPostgres",
                "SamromServer",
                "SamromCore",
                "SamromStore",
                "ReferenceMerkle",
                "SamromTestSupport",
                "Sodium",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strict
        ),
        // Runs the built `samrom` binary as a user would.
        .testTarget(
            name: "SamromCLITests",
            dependencies: [
                "SamromCLI",
                "SamromTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict
        ),
        // Several `samrom serve` processes on one PostgreSQL 15 behind HAProxy
        // (deploy/haproxy.cfg), one of them killed mid-call (issue 14).
        .testTarget(
            name: "SamromClusterTests",
            dependencies: [
                "SamromCore",
                "SamromTestSupport",
                "Sodium",
                // Builds the `samrom` binary the tests run.
                "SamromCLI",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict
        ),
    ]
)
