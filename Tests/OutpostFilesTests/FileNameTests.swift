import Testing

@testable import OutpostFiles

@Suite("lossless file names")
struct FileNameTests {
    @Test func validUTF8IsLeftAlone() {
        for name in ["plain", "café ☕", "line\nbreak", "𝄞 music", ""] {
            #expect(FileName.text(Array(name.utf8)) == name)
            #expect(FileName.bytes(name) == Array(name.utf8))
        }
    }

    @Test func invalidBytesAreEscapedOneToOne() {
        #expect(FileName.text([0x62, 0xFF]) == "b\u{10FFFF}")
        #expect(FileName.text([0xC3, 0x28]) == "\u{10FFC3}(")
        // Overlong forms and surrogates are not UTF-8 either.
        #expect(FileName.text([0xC0, 0xAF]) == "\u{10FFC0}\u{10FFAF}")
        #expect(FileName.text([0xED, 0xA0, 0x80]) == "\u{10FFED}\u{10FFA0}\u{10FF80}")
        // A name that really holds an escape code point is escaped too, so decoding cannot confuse the two.
        #expect(FileName.text([0xF4, 0x8F, 0xBE, 0x80]) == "\u{10FFF4}\u{10FF8F}\u{10FFBE}\u{10FF80}")
    }

    @Test func randomNamesRoundTrip() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<5000 {
            let length = Int.random(in: 1...24, using: &generator)
            let pool: [UInt8] = [0x61, 0x2E, 0x0A, 0x80, 0xBF, 0xC3, 0xA9, 0xE2, 0x98, 0x95, 0xF0, 0xF4, 0x8F, 0xFF]
            let name = (0..<length).map { _ in
                Bool.random(using: &generator) ? pool.randomElement(using: &generator)! : UInt8.random(in: 1...255)
            }
            let text = FileName.text(name)
            #expect(FileName.bytes(text) == name, "\(name)")
        }
    }
}
