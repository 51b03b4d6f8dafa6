/// Byte comparisons for the matching hot path. They are written out rather than built
/// from generic `Collection` algorithms and slices so that unoptimised (debug) builds,
/// where those stay generic and look up type metadata on every call, stay fast too.
extension UnsafeBufferPointer<UInt8> {
    /// Whether `self[offset...]` starts with `literal[range]` (`false` when it does not fit).
    @inline(__always)
    func hasBytes(_ literal: [UInt8], _ range: Range<Int>, at offset: Int) -> Bool {
        // `upperBound - lowerBound` rather than the generic `Collection.count`.
        let length = range.upperBound - range.lowerBound
        guard offset >= 0, offset + length <= count else { return false }
        var index = 0
        while index < length {
            if self[offset + index] != literal[range.lowerBound + index] { return false }
            index += 1
        }
        return true
    }

    /// Whether `self[offset...]` starts with all of `literal`.
    @inline(__always)
    func hasBytes(_ literal: [UInt8], at offset: Int) -> Bool {
        hasBytes(literal, 0..<literal.count, at: offset)
    }

    /// The first `length` bytes, without going through a generic slice.
    @inline(__always)
    func prefix(bytes length: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: baseAddress, count: length)
    }
}
