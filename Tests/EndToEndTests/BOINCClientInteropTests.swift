import OutpostRPC
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The real peer: Debian's BOINC client, run as a plain process with its own data directory and loopback URLs only,
/// attaches to outpost-coordinator and runs a submitted job through download, run, upload, report and ack.
@Suite("BOINC client interop (real boinc-client)")
struct BOINCClientInteropTests {
    static let client = "/usr/bin/boinc"
    static let command = "/usr/bin/boinccmd"

    @Test func theRealBOINCClientRunsAJobFromTheCoordinator() throws {
        guard access(Self.client, X_OK) == 0, access(Self.command, X_OK) == 0 else {
            throw TestFailure("boinc-client is not installed: .ci/setup installs it (apt-get install boinc-client)")
        }
        let coordinator = try Coordinator(extra: "[project]\nrequest_delay = 1")
        try coordinator.addApp()
        try coordinator.submit(input: "from the real client\n", count: 1)
        let account = try coordinator.cli(["account", "create", "boinc-test"])
        let authenticator = account.output.trimmingWhitespace()
        #expect(account.status == 0 && authenticator.count == 32, "\(account.error)")

        let data = try TemporaryDirectory()
        let port = try Coordinator.freePort()
        try writeFile(
            data.file("cc_config.xml"),
            """
            <cc_config><options><no_info_fetch>1</no_info_fetch>
            <report_results_immediately>1</report_results_immediately></options></cc_config>
            """
        )
        // The client's defaults point at google.com and boinc.berkeley.edu: loopback only in tests.
        try writeFile(
            data.file("nvc_config.xml"),
            """
            <nvc_config><network_test_url>http://127.0.0.1:1/</network_test_url>
            <client_version_check_url>http://127.0.0.1:1/</client_version_check_url>
            <client_download_url>http://127.0.0.1:1/</client_download_url></nvc_config>
            """
        )
        // Run even while the machine is busy (the test suite itself keeps the CPUs busy).
        try writeFile(
            data.file("global_prefs_override.xml"),
            """
            <global_preferences><suspend_cpu_usage>0</suspend_cpu_usage><run_if_user_active>1</run_if_user_active>
            <idle_time_to_run>0</idle_time_to_run><max_ncpus_pct>100</max_ncpus_pct></global_preferences>
            """
        )
        try writeFile(data.file("gui_rpc_auth.cfg"), "interop\n", mode: 0o600)
        let boinc = try ChildProcess(
            Self.client,
            [
                "--dir", data.path, "--gui_rpc_port", String(port), "--no_info_fetch", "--skip_cpu_benchmarks",
                "--no_gpus",
            ],
            environment: ["PATH": "/usr/bin:/bin", "HOME": data.path],
            directory: data
        )
        defer {
            boinc.signal(SIGTERM)
            _ = try? boinc.waitForExit(timeout: .seconds(10))
        }
        let attached = try eventually(timeout: .seconds(20)) {
            let attach = try ChildProcess(
                Self.command,
                [
                    "--host", "127.0.0.1:\(port)", "--passwd", "interop", "--project_attach",
                    coordinator.url + "/boinc/", authenticator,
                ],
                environment: ["PATH": "/usr/bin:/bin"],
                directory: data
            )
            return try attach.waitForExit(timeout: .seconds(10)) == 0
        }
        #expect(attached, "boinccmd could not attach: \(boinc.standardError)")

        let done = try eventually(timeout: .seconds(150)) { (try coordinator.summary()["done"] ?? 0) == 1 }
        #expect(done, "the job did not complete; client log:\n\(boinc.standardOutput.suffix(3000))")
        let job = try #require(try coordinator.jobs().first)
        let result = try #require(job["results"]?.arrayValue?.first)
        #expect(result["outcome"]?.stringValue == "success" && result["exitStatus"]?.integerValue == 0)
        #expect(result["client"] == .null, "a BOINC account, not an enrolled node")
        let output = try #require(result["outputs"]?.arrayValue?.first?["path"]?.stringValue)
        #expect(try readFile(output) == "FROM THE REAL CLIENT\n")
        #expect(result["stderr"]?.stringValue?.contains("ran in \(data.path)/slots/0") == true, "\(result)")
    }
}

extension String {
    func trimmingWhitespace() -> String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
