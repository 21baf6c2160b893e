import OutpostCore
import OutpostService

/// Where `outpostd --user` keeps its files: a login user's own server (accsyn's type 2, a "user server"), run by their
/// systemd user manager (`systemctl --user enable --now outpostd`) or by hand. Everything lives in the user's XDG base
/// directories, so it needs no root and touches nothing of other users:
///
/// - configuration `$XDG_CONFIG_HOME/outpost/outpostd.toml` (default `~/.config`), optional;
/// - state `$XDG_STATE_HOME/outpost` (default `~/.local/state`);
/// - control socket `$XDG_RUNTIME_DIR/outpost/control.sock`, mode 0600: only the user reaches it;
/// - sandbox: the user's home as `home:`, until the configuration or `outpostctl sandbox set` says otherwise;
/// - registered with a coordinator as a user server (type 2).
public struct UserServerLayout: Sendable, Equatable {
    public var userName: String
    public var home: String
    public var configurationFile: String
    public var stateDirectory: String
    public var socket: String

    /// The layout for the user running this process, from their environment (`HOME`, `XDG_*`), as systemd's user
    /// manager and a login session set it. `XDG_RUNTIME_DIR` is required: without it there is no private place for
    /// the socket.
    public init(environment: [String: String], userName: String) throws(ConfigurationError) {
        func absolute(_ key: String) -> String? {
            guard let value = environment[key], value.hasPrefix("/") else { return nil }
            return value
        }
        guard let home = absolute("HOME") else {
            throw ConfigurationError(file: "outpostd --user", message: "HOME is not set to an absolute path")
        }
        guard let runtime = absolute("XDG_RUNTIME_DIR") else {
            throw ConfigurationError(
                file: "outpostd --user",
                message: "XDG_RUNTIME_DIR is not set: start the user server from a login session or with "
                    + "'systemctl --user', which set it (for a user without a session: loginctl enable-linger)"
            )
        }
        self.userName = userName
        self.home = home
        configurationFile = (absolute("XDG_CONFIG_HOME") ?? home + "/.config") + "/outpost/outpostd.toml"
        stateDirectory = (absolute("XDG_STATE_HOME") ?? home + "/.local/state") + "/outpost"
        socket = runtime + "/outpost/control.sock"
    }

    /// What a key the user's configuration file leaves out takes.
    public var defaults: NodeConfiguration {
        var configuration = NodeConfiguration()
        configuration.node.stateDirectory = stateDirectory
        configuration.control.socket = socket
        configuration.control.socketMode = 0o600
        configuration.coordinator.clientType = .userServer
        configuration.sandbox = [userName: ["home": home]]
        return configuration
    }
}
