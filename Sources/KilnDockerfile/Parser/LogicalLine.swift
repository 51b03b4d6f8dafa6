/// An instruction's physical lines joined into one, with enough bookkeeping to map any byte of
/// it back to a physical line and column.
struct LogicalLine: Sendable {
    /// A run of the joined text copied from one physical line.
    struct Segment: Sendable {
        /// Where the run starts in ``LogicalLine/bytes``.
        var logicalStart: Int
        /// 0-based physical line index.
        var lineIndex: Int
        /// Where the run starts in the file's bytes.
        var sourceStart: Int
    }

    var bytes: [UInt8] = []
    var segments: [Segment] = []

    /// Appends `source[range]`, taken from physical line `lineIndex`.
    mutating func append(_ source: [UInt8], _ range: Range<Int>, lineIndex: Int) {
        segments.append(Segment(logicalStart: bytes.count, lineIndex: lineIndex, sourceStart: range.lowerBound))
        bytes.append(contentsOf: source[range])
    }
}

/// Turns offsets in a logical line into source locations, in time linear in the line length as
/// long as offsets are asked for in increasing order (the usual case); any order is correct.
struct LocationMapper {
    let line: LogicalLine
    let source: SourceText
    private var segmentIndex = 0
    private var cachedOffset = 0
    private var cachedColumn = 1

    init(line: LogicalLine, source: SourceText) {
        self.line = line
        self.source = source
        if let first = line.segments.first {
            cachedOffset = first.logicalStart
            cachedColumn = source.column(ofLine: first.lineIndex, offset: first.sourceStart)
        }
    }

    /// The location of logical byte `offset`.
    mutating func location(of offset: Int) -> SourceLocation {
        let segments = line.segments
        guard !segments.isEmpty else { return SourceLocation(line: 1, column: 1) }
        // The last segment starting at or before `offset`: positions at a join land on the next
        // line's text.
        var low = 0
        var high = segments.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if segments[middle].logicalStart <= offset { low = middle } else { high = middle - 1 }
        }
        let segment = segments[low]
        if low != segmentIndex {
            segmentIndex = low
            cachedOffset = segment.logicalStart
            cachedColumn = source.column(ofLine: segment.lineIndex, offset: segment.sourceStart)
        }
        // Walk from the cached position, forwards or backwards, counting scalar starts.
        let bytes = line.bytes
        let target = min(max(offset, segment.logicalStart), bytes.count)
        while cachedOffset < target {
            if bytes[cachedOffset] & 0xC0 != 0x80 { cachedColumn += 1 }
            cachedOffset += 1
        }
        while cachedOffset > target {
            cachedOffset -= 1
            if bytes[cachedOffset] & 0xC0 != 0x80 { cachedColumn -= 1 }
        }
        return SourceLocation(line: segment.lineIndex + 1, column: cachedColumn)
    }
}
