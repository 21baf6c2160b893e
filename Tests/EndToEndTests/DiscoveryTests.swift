import OutpostClient
import OutpostRPC
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Discovery packets between two real nodes on loopback: the receiver learns the sender's address and UDP port;
/// a packet with another id is ignored and the wait times out; a node without a remote listener says why it cannot
/// receive.
@Suite("discovery packets (real binaries, UDP on loopback)", .serialized)
struct DiscoveryTests {
    typealias Node = RemoteAccessTests.Node

    @Test("recvDiscoverPacketAsync on one node, sendDiscoverPacketAsync on another")
    func discovery() throws {
        let receiver = try Node()
        let sender = try Node()
        let waiting = try receiver.local.call("recvDiscoverPacketAsync", ["timeoutSeconds": 10])
        let discoverId = try #require(waiting["discoverId"]?.stringValue)
        #expect(discoverId.count == 32)
        let sent = try sender.local.call(
            "sendDiscoverPacketAsync",
            [
                "discoverId": .string(discoverId), "destinationAddress": "127.0.0.1",
                "destinationPort": .integer(Int64(receiver.port)),
            ]
        )
        #expect(
            try sender.local.call("getRequestResult", ["requestId": sent["requestId"]!]) == ["discoverPacketSent": true]
        )
        let found = try receiver.local.call(
            "getRequestResult",
            ["requestId": waiting["requestId"]!, "timeoutSeconds": 10]
        )
        #expect(found == ["address": "127.0.0.1", "port": .integer(Int64(sender.port))])

        // Another id never completes a wait; the wait ends with a clear error.
        let other = try receiver.local.call("recvDiscoverPacketAsync", ["timeoutSeconds": 1])
        _ = try sender.local.call(
            "sendDiscoverPacketAsync",
            [
                "discoverId": .string(String(repeating: "0", count: 32)), "destinationAddress": "127.0.0.1",
                "destinationPort": .integer(Int64(receiver.port)),
            ]
        )
        #expect {
            try receiver.local.call("getRequestResult", ["requestId": other["requestId"]!, "timeoutSeconds": 10])
        } throws: { ($0 as? ControlClientError)?.message.contains("no discovery packet") == true }
        #expect {
            try sender.local.call("sendDiscoverPacketAsync", ["discoverId": "abc", "destinationAddress": "127.0.0.1"])
        } throws: { ($0 as? ControlClientError)?.message.contains("32 hex digits") == true }
        #expect {
            try sender.local.call(
                "sendDiscoverPacketAsync",
                ["discoverId": .string(discoverId), "destinationAddress": "example.org"]
            )
        } throws: { ($0 as? ControlClientError)?.message.contains("IPv4 or IPv6 address") == true }
    }

    @Test("without a remote listener there is nothing to receive on, and the error says so")
    func noListener() throws {
        let daemon = try Daemon()
        #expect {
            try daemon.client().call("recvDiscoverPacketAsync")
        } throws: { ($0 as? ControlClientError)?.message.contains("set [remote] listen") == true }
    }
}
