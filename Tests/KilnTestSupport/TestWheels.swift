import Foundation

/// Small pure-Python wheels made offline for a stand-in pip index (``TestPackageIndex``): each
/// a package with a module and a seeded block of data, its `METADATA` (with `Requires-Dist`),
/// `WHEEL` and a `RECORD` of real hashes. The same wheel comes out byte for byte on every run.
public enum TestWheels {
    /// One wheel to make.
    public struct Wheel: Sendable, Encodable {
        /// The project name, e.g. `kiln-dep-01`.
        public var name: String
        /// Its version.
        public var version: String
        /// The projects it requires.
        public var requires: [String]
        /// Bytes of seeded random data in its module (the wheel holds them hex-encoded).
        public var size: Int

        /// A wheel description.
        public init(name: String, version: String, requires: [String] = [], size: Int) {
            self.name = name
            self.version = version
            self.requires = requires
            self.size = size
        }

        /// The wheel's file name, e.g. `kiln_dep_01-1.0.1-py3-none-any.whl`.
        public var fileName: String { "\(name.replacingOccurrences(of: "-", with: "_"))-\(version)-py3-none-any.whl" }
    }

    /// `kiln-dep-01` … `kiln-dep-36`, chained in threes (01 requires 02, 02 requires 03; 04
    /// requires 05…), so installing ``topLevel`` installs all 36; and `kiln-extra`, which no
    /// other requires: the one dependency a test adds.
    public static let dependencySet: [Wheel] = (1...36).map { index in
        Wheel(name: dependency(index), version: "1.0.\(index)", requires: index % 3 == 0 ? [] : [dependency(index + 1)],
              size: 4_000 + 1_000 * index)
    } + [extra]

    /// The first of each chain of three: the requirements that pull in all 36.
    public static let topLevel: [String] = stride(from: 1, through: 36, by: 3).map(dependency)

    /// The wheel no other requires.
    public static let extra = Wheel(name: "kiln-extra", version: "2.0.0", size: 30_000)

    private static func dependency(_ index: Int) -> String { "kiln-dep-" + (index < 10 ? "0" : "") + String(index) }

    /// Writes `wheels` into `directory` (created if missing).
    public static func write(_ wheels: [Wheel] = dependencySet, to directory: URL) throws {
        let spec = String(decoding: try JSONEncoder().encode(wheels), as: UTF8.self)
        try ProcessRunner.checked(TestRegistryPythonServer.python, ["-c", script, directory.path, spec])
    }

    private static let script = #"""
import base64, hashlib, json, os, random, sys, zipfile

directory, spec = sys.argv[1], json.loads(sys.argv[2])
os.makedirs(directory, exist_ok=True)

def record_hash(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()

for package in spec:
    name, version = package["name"], package["version"]
    module = name.replace("-", "_")
    dist_info = "%s-%s.dist-info" % (module, version)
    # Seeded by name and version: the same wheel, byte for byte, on every run.
    filler = random.Random("%s-%s" % (name, version)).randbytes(package["size"]).hex()
    files = [
        ("%s/__init__.py" % module, ("NAME = %r\nVERSION = %r\n" % (name, version)).encode()),
        ("%s/data.py" % module, ("DATA = %r\n" % filler).encode()),
        ("%s/METADATA" % dist_info, ("Metadata-Version: 2.1\nName: %s\nVersion: %s\n" % (name, version)
                                     + "".join("Requires-Dist: %s\n" % r for r in package["requires"])).encode()),
        ("%s/WHEEL" % dist_info, b"Wheel-Version: 1.0\nGenerator: kiln-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
        ("%s/top_level.txt" % dist_info, (module + "\n").encode()),
    ]
    record = "".join("%s,%s,%d\n" % (path, record_hash(data), len(data)) for path, data in files)
    record += "%s/RECORD,,\n" % dist_info
    files.append(("%s/RECORD" % dist_info, record.encode()))
    target = os.path.join(directory, "%s-%s-py3-none-any.whl" % (module, version))
    with zipfile.ZipFile(target + ".tmp", "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in files:
            info = zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    os.replace(target + ".tmp", target)
"""#
}
