#!/usr/bin/env bash
# Fuzzes Kiln's layer application with libFuzzer for SECONDS (default 600), seeded from
# fuzz/corpus/layer-apply. Every input is applied in a fresh sandbox and checked for
# containment by LayerApplyContainmentCheck (the check the test suite runs over the corpus).
# Findings land in fuzz/findings/layer-apply-* (crash-*, timeout-*, oom-*); add each to the
# corpus once fixed. The log goes to .build-fuzz/layer-apply.log.
# Usage: fuzz/run-layer-apply.sh [SECONDS] [extra libFuzzer flags]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"; shift || true
out=.build-fuzz
mkdir -p "$out/corpus-layer-apply" fuzz/findings

# KilnArchive's dependencies (KilnOCI, swift-crypto) come from the ordinary debug build,
# uninstrumented; KilnArchive itself is compiled here, instrumented for coverage, together
# with the entry point.
swift build --target KilnArchive >/dev/null
bin=$(swift build --show-bin-path)
mapfile -t sources < <(find Sources/KilnArchive -name '*.swift' | sort)
mapfile -t objects < <(find "$bin/KilnOCI.build" "$bin/Crypto.build" "$bin/CCryptoBoringSSL.build" \
    "$bin/CCryptoBoringSSLShims.build" "$bin/CryptoBoringWrapper.build" "$bin"/CXKCP*.build -name '*.o' 2>/dev/null | sort)
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name KilnArchive -package-name Kiln \
    -I "$bin/Modules" -I "$bin" -I Sources/CArchive -I Sources/CZlib -I Sources/CZstd \
    "${sources[@]}" fuzz/LayerApplyFuzzTarget.swift "${objects[@]}" -larchive -lzstd -lz \
    -o "$out/kiln-layer-apply-fuzz" 2>&1 | { grep -v "ld.gold: warning" || true; }

# The working corpus grows; the checked-in seeds stay as they are.
cp fuzz/corpus/layer-apply/* "$out/corpus-layer-apply/"
# Each input's sandbox is made and removed inside this directory.
if [ -z "${KILN_FUZZ_SANDBOX:-}" ]; then
    KILN_FUZZ_SANDBOX="$(mktemp -d /tmp/kiln-layer-apply-fuzz.XXXXXX)"
    trap 'rm -rf "$KILN_FUZZ_SANDBOX"' EXIT
fi
export KILN_FUZZ_SANDBOX
"$out/kiln-layer-apply-fuzz" "$out/corpus-layer-apply" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=65536 -artifact_prefix=fuzz/findings/layer-apply- -print_final_stats=1 "$@" 2>&1 | tee "$out/layer-apply.log"
