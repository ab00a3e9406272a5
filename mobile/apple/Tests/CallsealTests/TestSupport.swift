// Helpers of the XCTest suite: hex and the conformance files.
import Foundation
import XCTest

extension Data {
    /// Lowercase hex of these bytes.
    var hex: String { map { String(format: "%02x", $0) }.joined() }

    /// The bytes of a hex string.
    init(hex: String) {
        var bytes = [UInt8]()
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        self.init(bytes)
    }
}

typealias Case = [String: Any]

extension Dictionary where Key == String, Value == Any {
    func str(_ key: String) -> String { self[key] as! String }
    func bytes(_ key: String) -> Data { Data(hex: str(key)) }
    func u64(_ key: String) -> UInt64 { UInt64(str(key))! }
    var suite: UInt16 { UInt16((self["suite"] as! NSNumber).intValue) }
    func bool(_ key: String) -> Bool { (self[key] as! NSNumber).boolValue }
    func obj(_ key: String) -> Case { self[key] as! Case }
    func list(_ key: String) -> [Any] { self[key] as! [Any] }
}

/// tests/conformance, found from this file's path (or CALLSEAL_CONFORMANCE).
func conformanceDir() -> URL {
    if let dir = ProcessInfo.processInfo.environment["CALLSEAL_CONFORMANCE"] {
        return URL(fileURLWithPath: dir)
    }
    return URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent() // CallsealTests
        .deletingLastPathComponent() // Tests
        .deletingLastPathComponent() // apple
        .deletingLastPathComponent() // mobile
        .deletingLastPathComponent() // repository
        .appendingPathComponent("tests/conformance")
}

/// The cases of one conformance file, after checking its version.
func loadCases(_ name: String, version: Int = 1) throws -> [Case] {
    let data = try Data(contentsOf: conformanceDir().appendingPathComponent(name))
    let file = try JSONSerialization.jsonObject(with: data) as! Case
    XCTAssertEqual((file["version"] as! NSNumber).intValue, version, name)
    let cases = file["cases"] as! [Case]
    XCTAssertFalse(cases.isEmpty, name)
    return cases
}
