@testable import KilnBuilder
import Testing

@Suite("key=value,… flag values")
struct KeyValueFieldsTests {
    @Test("fields split on commas and the first = only; a later key wins; empty fields are skipped")
    func parses() throws {
        var fields = try KeyValueFields(parsing: "type=oci,dest=/a=b,,type=docker")
        #expect(fields.values == ["type": "docker", "dest": "/a=b"])
        #expect(fields.take("type") == "docker")
        #expect(fields.take("type") == nil)
        #expect(fields.remainingKeys == ["dest"])
    }

    @Test("a field without = is an error naming it")
    func rejectsBareField() {
        #expect(throws: KeyValueFieldsError(field: "dest")) { try KeyValueFields(parsing: "type=oci,dest") }
        #expect(KeyValueFieldsError(field: "dest").description == "\"dest\" is not KEY=VALUE")
    }
}

@Suite("key=value,… flag values: BuildKit's CSV rules")
struct KeyValueFieldsCSVTests {
    @Test("a quoted field may hold commas and doubled quotes; keys are lowercased and trimmed")
    func quotedFields() throws {
        let fields = try KeyValueFields(parsing: #"type=oci,"dest=/tmp/a,b","name=say ""hi""", Tar =true"#)
        #expect(fields.values == ["type": "oci", "dest": "/tmp/a,b", "name": #"say "hi""#, "tar": "true"])
    }

    @Test("a misplaced quote is an error naming the field", arguments: [
        #"type=oci,dest="/a,b""#, #"type=oci,"dest=/a"x"#, #"type=oci,"dest=/a"#,
    ])
    func misplacedQuotes(text: String) {
        #expect(throws: KeyValueFieldsError.self) { try KeyValueFields(parsing: text) }
    }
}

@Suite("--output values checked against what a command accepts")
struct OutputFieldsTests {
    static let accepted: [(type: String, keys: Set<String>)] = [("oci", ["dest", "tar"]), ("docker", ["dest"])]

    @Test("an accepted value gives its type and keys")
    func accepted() throws {
        let fields = try OutputFields(parsing: "type=oci,dest=/out,tar=true", accepted: Self.accepted)
        #expect(fields.type == "oci")
        #expect(try fields.required("dest", placeholder: "PATH") == "/out")
        #expect(try fields.bool("tar", default: false))
    }

    @Test("each refusal names the flag and the value", arguments: [
        ("dest=/out", "--output dest=/out: needs type=oci or type=docker"),
        ("type=zip,dest=/out", "--output type=zip,dest=/out: type must be oci or docker"),
        ("type=docker,dest=/out,tar=true", #"--output type=docker,dest=/out,tar=true: unknown key "tar" for type=docker (it takes dest)"#),
        ("type=oci,dest=/out,colour=blue", #"--output type=oci,dest=/out,colour=blue: unknown key "colour" for type=oci (it takes dest, tar)"#),
        ("type=oci,dest", #"--output type=oci,dest: "dest" is not KEY=VALUE"#),
    ])
    func refused(text: String, message: String) {
        #expect(throws: OutputFieldsError(message)) { try OutputFields(parsing: text, accepted: Self.accepted) }
    }

    @Test("a missing destination and a bad boolean are refused when read")
    func refusedValues() throws {
        let noDest = try OutputFields(parsing: "type=oci", accepted: Self.accepted)
        #expect(throws: OutputFieldsError("--output type=oci: type=oci needs dest=PATH")) { try noDest.required("dest", placeholder: "PATH") }
        let badTar = try OutputFields(parsing: "type=oci,dest=/o,tar=yes", accepted: Self.accepted)
        #expect(throws: OutputFieldsError("--output type=oci,dest=/o,tar=yes: tar must be true or false")) { try badTar.bool("tar", default: false) }
    }

    @Test("kiln build: an unknown key, and push=false, are refused before the build")
    func buildOutputs() {
        #expect(throws: BuildError.self) { try OutputImageOptions(outputs: ["type=oci,dest=/o,colour=blue"]) }
        #expect(throws: BuildError.self) { try OutputImageOptions(outputs: ["type=image,name=r/a,push=false"]) }
        #expect(throws: Never.self) { try OutputImageOptions(outputs: ["type=image,name=r/a,push=true,compression=zstd"]) }
    }
}
