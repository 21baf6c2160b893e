import NIOCore

/// One message read from a control connection.
public enum ControlFrame: Sendable, Equatable {
    /// A complete line, without its `\n` (or `\r\n`).
    case line(ByteBuffer)
    /// The peer sent more than the maximum without a newline; the rest of the connection's input is discarded.
    case oversized
}

/// Splits a byte stream into newline-terminated lines, with a hard cap on the length of one line.
///
/// The cap is what keeps a client that never sends `\n` from growing the daemon's memory: past it, the decoder emits
/// `.oversized` once and discards everything after, so the server can answer with an error and close. A partial line
/// at end of stream (a client that sent half a message and hung up) is dropped.
public struct JSONLineFrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = ControlFrame

    private let maximumLineLength: Int
    /// How far the current partial line has already been searched, so each byte is scanned once.
    private var scannedLength = 0
    private var discarding = false

    public init(maximumLineLength: Int) {
        self.maximumLineLength = maximumLineLength
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if discarding {
            buffer.moveReaderIndex(to: buffer.writerIndex)
            return .needMoreData
        }
        let readable = buffer.readableBytesView
        let searchStart = readable.index(readable.startIndex, offsetBy: scannedLength)
        guard let newline = readable[searchStart...].firstIndex(of: UInt8(ascii: "\n")) else {
            scannedLength = readable.count
            if scannedLength > maximumLineLength {
                discarding = true
                buffer.moveReaderIndex(to: buffer.writerIndex)
                context.fireChannelRead(wrapInboundOut(.oversized))
            }
            return .needMoreData
        }
        let length = readable.distance(from: readable.startIndex, to: newline)
        scannedLength = 0
        if length > maximumLineLength {
            discarding = true
            buffer.moveReaderIndex(to: buffer.writerIndex)
            context.fireChannelRead(wrapInboundOut(.oversized))
            return .needMoreData
        }
        var line = buffer.readSlice(length: length)!
        buffer.moveReaderIndex(forwardBy: 1)
        if line.readableBytesView.last == UInt8(ascii: "\r") {
            line.moveWriterIndex(to: line.writerIndex - 1)
        }
        // Blank lines (a stray newline from a person typing into socat) are not messages.
        if line.readableBytes > 0 {
            context.fireChannelRead(wrapInboundOut(.line(line)))
        }
        return .continue
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext,
        buffer: inout ByteBuffer,
        seenEOF: Bool
    ) throws
        -> DecodingState
    {
        while try decode(context: context, buffer: &buffer) == .continue {}
        buffer.moveReaderIndex(to: buffer.writerIndex)
        return .needMoreData
    }
}
