/// Lossless text for Linux file names, which are bytes, not necessarily UTF-8.
///
/// JSON strings are Unicode, so a name with bytes that are not UTF-8 cannot travel as is. Each such byte (0x80…0xFF)
/// becomes one code point of the private-use range U+10FF80…U+10FFFF (byte 0xNN ↦ U+10FFNN), in the spirit of
/// Python's `surrogateescape` (Swift strings cannot hold lone surrogates). A name that really contains one of those
/// code points has its UTF-8 bytes escaped the same way, so the mapping is one-to-one in both directions: whatever
/// `lsAsync` lists can be passed back to `rmAsync` or `mvAsync` and reaches exactly that file.
public enum FileName {
    static let escapeBase: UInt32 = 0x10_FF00
    static let escapedRange: ClosedRange<UInt32> = 0x10_FF80...0x10_FFFF

    /// The name as text: valid UTF-8 as is, every other byte escaped.
    public static func text(_ name: some Collection<UInt8>) -> String {
        // The commonest case, ASCII, is valid UTF-8 as it stands: no validation pass.
        if name.allSatisfy({ $0 < 0x80 }) { return String(decoding: name, as: UTF8.self) }
        // Then valid UTF-8 with nothing at or above U+100000 (whose sequences all start with 0xF4).
        if !name.contains(where: { $0 >= 0xF4 }), let plain = String(validating: name, as: UTF8.self) {
            return plain
        }
        let bytes = Array(name)
        var scalars = String.UnicodeScalarView()
        var index = 0
        while index < bytes.count {
            if let (scalar, length) = scalar(in: bytes, at: index) {
                scalars.append(scalar)
                index += length
            } else {
                // Escape this byte alone; the bytes after it get their own chance to start a valid sequence.
                scalars.append(Unicode.Scalar(escapeBase + UInt32(bytes[index]))!)
                index += 1
            }
        }
        return String(scalars)
    }

    /// The well-formed UTF-8 sequence at `index` (shortest form, no surrogates, not in the escaped range), if any.
    private static func scalar(in bytes: [UInt8], at index: Int) -> (Unicode.Scalar, Int)? {
        let lead = bytes[index]
        let length: Int
        let minimum: UInt32
        var value: UInt32
        switch lead {
        case 0x00..<0x80: return (Unicode.Scalar(lead), 1)
        case 0xC0..<0xE0: (length, minimum, value) = (2, 0x80, UInt32(lead & 0x1F))
        case 0xE0..<0xF0: (length, minimum, value) = (3, 0x800, UInt32(lead & 0x0F))
        case 0xF0..<0xF8: (length, minimum, value) = (4, 0x1_0000, UInt32(lead & 0x07))
        default: return nil
        }
        guard index + length <= bytes.count else { return nil }
        for offset in 1..<length {
            let continuation = bytes[index + offset]
            guard continuation & 0xC0 == 0x80 else { return nil }
            value = value << 6 | UInt32(continuation & 0x3F)
        }
        guard value >= minimum, !escapedRange.contains(value), let scalar = Unicode.Scalar(value) else { return nil }
        return (scalar, length)
    }

    /// The bytes a name or path stands for: the inverse of `text`.
    public static func bytes(_ text: some StringProtocol) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            if escapedRange.contains(scalar.value) {
                bytes.append(UInt8(scalar.value - escapeBase))
            } else {
                UTF8.encode(scalar) { bytes.append($0) }
            }
        }
        return bytes
    }
}
