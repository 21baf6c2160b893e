import NIOCore
import NIOEmbedded
import Testing

@testable import OutpostNode

@Suite("control-socket line framing")
struct JSONLineFrameDecoderTests {
    func channel(maximum: Int = 16) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            ByteToMessageHandler(JSONLineFrameDecoder(maximumLineLength: maximum))
        )
        return channel
    }

    func lines(_ channel: EmbeddedChannel) throws -> [String] {
        var result: [String] = []
        while let frame = try channel.readInbound(as: ControlFrame.self) {
            switch frame {
            case .line(let buffer): result.append(String(buffer: buffer))
            case .oversized: result.append("<oversized>")
            }
        }
        return result
    }

    @Test func splitsLinesAcrossReadsAndStripsCR() throws {
        let channel = try channel()
        try channel.writeInbound(ByteBuffer(string: "ab"))
        #expect(try lines(channel).isEmpty)
        try channel.writeInbound(ByteBuffer(string: "c\r\nde\n\nf"))
        #expect(try lines(channel) == ["abc", "de"])
        try channel.writeInbound(ByteBuffer(string: "g\n"))
        #expect(try lines(channel) == ["fg"])
    }

    @Test func anOversizedLineIsReportedOnceAndTheRestDiscarded() throws {
        let channel = try channel(maximum: 8)
        try channel.writeInbound(ByteBuffer(string: "0123456789"))
        try channel.writeInbound(ByteBuffer(string: "more\nnext\n"))
        #expect(try lines(channel) == ["<oversized>"])
    }

    @Test func aLongLineWithItsNewlineInOneReadIsOversized() throws {
        let channel = try channel(maximum: 4)
        try channel.writeInbound(ByteBuffer(string: "123456\nok\n"))
        #expect(try lines(channel) == ["<oversized>"])
    }

    @Test func aPartialLineAtEndOfStreamIsDropped() throws {
        let channel = try channel()
        try channel.writeInbound(ByteBuffer(string: "whole\nhalf"))
        #expect(try lines(channel) == ["whole"])
        _ = try channel.finish()
    }
}
