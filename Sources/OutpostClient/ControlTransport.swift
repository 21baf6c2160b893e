/// How a `ControlClient` moves whole JSON-RPC messages: lines on the local Unix socket, or WebSocket text messages on a
/// node's remote listener. Blocking, like the client.
protocol ControlTransport: AnyObject {
    /// Where the messages go, for error messages ("/run/outpost/control.sock", "wss://node:9443").
    var endpoint: String { get }
    /// Sends one message as it is (no framing added by the caller).
    func send(message: [UInt8]) throws(ControlClientError)
    /// Sends bytes exactly as given, framing included (tests use it to send malformed input).
    func sendRaw(_ bytes: [UInt8]) throws(ControlClientError)
    /// The next whole message from the node.
    func receiveMessage() throws(ControlClientError) -> [UInt8]
}
