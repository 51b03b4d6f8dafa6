/// A piece of an instruction's text: its bytes and where it starts in the logical line.
struct Word: Sendable, Hashable {
    /// The word's bytes (possibly not valid UTF-8, exactly as the reference keeps them).
    var bytes: [UInt8]
    /// Offset of the word's first byte in the logical line.
    var offset: Int

    init<C: Sequence<UInt8>>(_ bytes: C, offset: Int) {
        self.bytes = Array(bytes)
        self.offset = offset
    }
}

/// Where BuildKit's hand-written word scanners (flags, `parseWords`) are: between words, in a
/// word, or inside quotes within a word.
enum WordScanPhase {
    case spaces, word, quote
}
