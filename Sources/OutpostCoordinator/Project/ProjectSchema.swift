import GRDB

/// The BOINC project's tables, in the registry file so a scheduler RPC can tie a host to its registered client in one
/// transaction.
///
/// - `project_files`: every file in the download directory (app files, inputs), with its MD5 and signature.
/// - `apps`, `app_versions`: what can run, per platform; a version's files are `[{name, open_name, main}]` JSON.
/// - `accounts`: BOINC authenticators (SHA-256 only) for clients that are not enrolled nodes.
/// - `hosts`: every BOINC host that made an RPC, with its benchmark and, when it authenticated as a node, its client.
/// - `jobs` (BOINC workunits) and `results` (one attempt each): a job is queued, running, done or failed; a result is
///   unsent, in progress or over, and `outcome` says how it ended.
enum ProjectSchema {
    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("project") { db in
            try db.execute(
                sql: """
                    CREATE TABLE project_files (
                        name TEXT PRIMARY KEY NOT NULL,
                        md5 TEXT NOT NULL,
                        nbytes INTEGER NOT NULL,
                        signature TEXT,
                        created REAL NOT NULL
                    );
                    CREATE TABLE apps (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        name TEXT NOT NULL UNIQUE,
                        created REAL NOT NULL
                    );
                    CREATE TABLE app_versions (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        app_id INTEGER NOT NULL REFERENCES apps(id),
                        version_num INTEGER NOT NULL,
                        platform TEXT NOT NULL,
                        files TEXT NOT NULL,
                        created REAL NOT NULL,
                        UNIQUE (app_id, version_num, platform)
                    );
                    CREATE TABLE accounts (
                        id TEXT PRIMARY KEY NOT NULL,
                        name TEXT NOT NULL UNIQUE,
                        authenticator_hash TEXT NOT NULL UNIQUE,
                        created REAL NOT NULL
                    );
                    CREATE TABLE hosts (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        account_id TEXT,
                        client_id TEXT REFERENCES clients(id) ON DELETE SET NULL,
                        domain_name TEXT NOT NULL DEFAULT '',
                        host_cpid TEXT NOT NULL DEFAULT '',
                        processors INTEGER NOT NULL DEFAULT 1,
                        flops REAL NOT NULL DEFAULT 1e9,
                        platform TEXT NOT NULL DEFAULT '',
                        created REAL NOT NULL,
                        last_rpc REAL NOT NULL,
                        rpc_count INTEGER NOT NULL DEFAULT 0
                    );
                    CREATE TABLE jobs (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        name TEXT NOT NULL UNIQUE,
                        app_id INTEGER NOT NULL REFERENCES apps(id),
                        inputs TEXT NOT NULL,
                        outputs TEXT NOT NULL,
                        command_line TEXT NOT NULL DEFAULT '',
                        fpops_est REAL NOT NULL,
                        fpops_bound REAL NOT NULL,
                        memory_bound REAL NOT NULL,
                        disk_bound REAL NOT NULL,
                        max_output_bytes REAL NOT NULL,
                        delay_bound REAL NOT NULL,
                        max_attempts INTEGER NOT NULL,
                        state TEXT NOT NULL,
                        error TEXT,
                        canonical_result_id INTEGER,
                        created REAL NOT NULL,
                        finished REAL
                    );
                    CREATE INDEX jobs_state ON jobs(state);
                    CREATE TABLE results (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        job_id INTEGER NOT NULL REFERENCES jobs(id),
                        name TEXT NOT NULL UNIQUE,
                        attempt INTEGER NOT NULL,
                        state TEXT NOT NULL,
                        outcome TEXT,
                        host_id INTEGER REFERENCES hosts(id),
                        app_version_id INTEGER REFERENCES app_versions(id),
                        sent REAL,
                        deadline REAL,
                        received REAL,
                        exit_status INTEGER,
                        elapsed REAL,
                        stderr TEXT,
                        outputs TEXT,
                        error TEXT,
                        created REAL NOT NULL
                    );
                    CREATE INDEX results_state ON results(state, id);
                    CREATE INDEX results_host ON results(host_id, state);
                    CREATE INDEX results_job ON results(job_id);
                    """
            )
        }
    }
}
