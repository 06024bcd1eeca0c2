import Foundation
// Swift smoke test of the generated bindings (run by scripts/test.sh when
// swiftc is present): device evaluation and error mapping.
let schema = #"{"traits": {"city": "string"}, "events": {"purchase": {}}}"#
let rules = #"segment shanghai: city = "Shanghai""#

func check(_ ok: Bool, _ what: String) {
    if !ok {
        print("swift: FAILED \(what)")
        exit(1)
    }
}

do {
    let device = try Device(schemaJson: schema, rules: rules)
    try device.setProfile(profileJson: #"{"id": "u1", "traits": {"city": "Shanghai"}}"#)
    let results = try device.evaluate(now: "2026-03-01T00:00:00Z", defaultZone: nil)
    check(results.count == 1 && results[0].member, "evaluate")
} catch {
    check(false, "device: \(error)")
}

do {
    _ = try parseZone(name: "Mars/Olympus")
    check(false, "parseZone should throw")
} catch let SiyuError.InvalidTimeZone(code, _, _, _, _, _) {
    check(code == "INVALID_TIME_ZONE", "error code")
} catch {
    check(false, "unexpected error \(error)")
}
print("swift: bindings compiled and smoke test passed")
