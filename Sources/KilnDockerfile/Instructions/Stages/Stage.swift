/// One build stage: a `FROM` and the instructions up to the next `FROM`.
public struct Stage: Sendable, Hashable, Encodable {
    /// 0-based position in the file (what `COPY --from=0` refers to).
    public var index: Int
    /// The `AS` name, lowercased; `nil` when unnamed.
    public var name: String?
    /// The stage header.
    public var from: FromInstruction
    /// The instructions after `FROM`, in order.
    public var instructions: [Instruction]
    /// What the stage starts from, resolved with the global `ARG` defaults (no build args);
    /// a build plan resolves it again with the build's arguments.
    public var base: StageSource

    /// `name` when set, else the index as text (how BuildKit names stages in messages).
    public var displayName: String { name ?? String(index) }
}

/// What a stage starts from, or where `COPY --from`/`RUN --mount from=` reads.
///
/// Encodes as `{"scratch": true}`, `{"image": "alpine:3.20"}`, `{"stage": 0}` or `{"context": "deps"}`.
public enum StageSource: Sendable, Hashable, Encodable {
    /// The empty filesystem (`FROM scratch`).
    case scratch
    /// An image reference, as written after expansion.
    case image(String)
    /// A stage of this Dockerfile, by index.
    case stage(Int)
    /// A named build context that is a local directory (``BuildOptions/directoryContexts``),
    /// by name: read like the main context (its own `.dockerignore`), never an image.
    case context(String)

    /// The stage index, when this is a stage.
    public var stageIndex: Int? {
        if case .stage(let index) = self { return index }
        return nil
    }

    private enum CodingKeys: String, CodingKey { case scratch, image, stage, context }

    /// Encodes the shape documented on the type.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .scratch: try container.encode(true, forKey: .scratch)
        case .image(let reference): try container.encode(reference, forKey: .image)
        case .stage(let index): try container.encode(index, forKey: .stage)
        case .context(let name): try container.encode(name, forKey: .context)
        }
    }
}
