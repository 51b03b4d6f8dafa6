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
