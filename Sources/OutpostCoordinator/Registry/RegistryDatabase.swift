import GRDB

#if canImport(Glibc)
import Glibc
#endif

/// The coordinator's registry file (`registry.sqlite` in its state directory): users, sites, enrollment tokens and
/// clients, and the BOINC project's tables (`ProjectSchema`).
///
/// WAL lets `find` read while check-ins write. `synchronous = NORMAL`: a commit survives a crash of the coordinator;
/// a power cut can lose the last check-ins (they are repeated within a minute), never the file's consistency.
enum RegistryDatabase {
    static func open(path: String) throws -> DatabasePool {
        // Made before SQLite opens it, so the file holding secret hashes is never readable by others, even briefly.
        let descriptor = Glibc.open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0o600)
        if descriptor >= 0 { close(descriptor) }
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        configuration.busyMode = .timeout(5)
        let pool = try DatabasePool(path: path, configuration: configuration)
        try migrator.migrate(pool)
        chmod(path, 0o600)
        return pool
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("registry") { db in
            try db.execute(
                sql: """
                    CREATE TABLE users (
                        id TEXT PRIMARY KEY NOT NULL,
                        name TEXT NOT NULL UNIQUE,
                        role TEXT NOT NULL
                    );
                    CREATE TABLE sites (
                        id TEXT PRIMARY KEY NOT NULL,
                        name TEXT NOT NULL UNIQUE
                    );
                    CREATE TABLE enrollment_tokens (
                        id TEXT PRIMARY KEY NOT NULL,
                        token_hash TEXT NOT NULL UNIQUE,
                        site_id TEXT NOT NULL REFERENCES sites(id),
                        user_id TEXT NOT NULL REFERENCES users(id),
                        created REAL NOT NULL,
                        expires REAL NOT NULL,
                        uses_left INTEGER
                    );
                    CREATE TABLE clients (
                        id TEXT PRIMARY KEY NOT NULL,
                        code TEXT NOT NULL,
                        user_id TEXT NOT NULL REFERENCES users(id),
                        created REAL NOT NULL,
                        type INTEGER NOT NULL,
                        site_id TEXT NOT NULL REFERENCES sites(id),
                        description TEXT NOT NULL DEFAULT '',
                        host_id TEXT NOT NULL DEFAULT '',
                        last_checkin REAL,
                        disabled INTEGER NOT NULL DEFAULT 0,
                        os TEXT,
                        username TEXT,
                        version TEXT,
                        wan_ip TEXT,
                        parent TEXT REFERENCES clients(id) ON DELETE CASCADE,
                        lane_index INTEGER,
                        benchmark REAL,
                        metrics TEXT,
                        metadata TEXT NOT NULL DEFAULT '{}',
                        modified REAL NOT NULL,
                        modifier TEXT NOT NULL,
                        secret_hash TEXT,
                        node_profile TEXT
                    );
                    CREATE INDEX clients_type ON clients(type);
                    CREATE INDEX clients_site ON clients(site_id);
                    CREATE UNIQUE INDEX clients_lane ON clients(parent, lane_index) WHERE parent IS NOT NULL;
                    """
            )
        }
        ProjectSchema.register(in: &migrator)
        return migrator
    }
}
