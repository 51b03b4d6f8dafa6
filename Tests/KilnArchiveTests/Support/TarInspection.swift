import Foundation

/// One member as Python's `tarfile` sees it: an independent reader of what the writer produced.
struct TarMember: Decodable, Equatable {
    var name: String
    var type: String
    var mode: Int
    var linkname: String
    var uname: String
    var gname: String
    var uid: Int
    var gid: Int
    var mtime: Int
    var size: Int
    var pax: [String: String]
    var devmajor: Int
    var devminor: Int
}

enum TarInspection {
    private static let script = """
    import json, sys, tarfile
    kinds = {tarfile.REGTYPE: "file", tarfile.AREGTYPE: "file", tarfile.DIRTYPE: "dir", tarfile.SYMTYPE: "symlink",
             tarfile.LNKTYPE: "hardlink", tarfile.FIFOTYPE: "fifo", tarfile.CHRTYPE: "char", tarfile.BLKTYPE: "block"}
    def printable(v):
        raw = v.encode("utf-8", "surrogateescape") if isinstance(v, str) else bytes(v)
        try:
            if all(b >= 0x20 for b in raw):
                return raw.decode("utf-8")
        except UnicodeDecodeError:
            pass
        return "hex:" + raw.hex()
    out = []
    with tarfile.open(sys.argv[1], "r:*") as tar:
        for m in tar:
            out.append(dict(name=m.name, type=kinds.get(m.type, repr(m.type)), mode=m.mode, linkname=m.linkname,
                            uname=m.uname, gname=m.gname, uid=m.uid, gid=m.gid, mtime=int(m.mtime), size=m.size,
                            pax={k: printable(v) for k, v in m.pax_headers.items()},
                            devmajor=m.devmajor, devminor=m.devminor))
    print(json.dumps(out))
    """

    /// The members of the (possibly compressed) tar at `file`, in archive order.
    static func members(of file: URL) throws -> [TarMember] {
        let json = try Tool.python(script, [file.path])
        return try JSONDecoder().decode([TarMember].self, from: Data(json.utf8))
    }
}
