#!/usr/bin/env bash
# Fuzzes Kiln's Dockerfile frontend with libFuzzer for SECONDS (default 600), seeded from the
# conformance corpus. Findings land in fuzz/findings/ (crash-*, timeout-*, oom-*).
# Usage: fuzz/parser.sh [SECONDS] [extra libFuzzer flags]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"; shift || true
out=.build/fuzz
mkdir -p "$out" fuzz/findings "$out/corpus"

# The frontend has no dependencies, so its sources compile straight into the fuzz binary.
mapfile -t sources < <(find Sources/KilnDockerfile -name '*.swift' | sort)
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name KilnDockerfile -package-name Kiln \
    "${sources[@]}" fuzz/ParserFuzzTarget.swift -o "$out/kiln-frontend-fuzz" 2>&1 | grep -v "ld.gold: warning" || true

seed="${KILN_CONFORMANCE_DIR:-../shared/conformance}"
# Seeds are named by content hash: many conformance files share the name "Dockerfile".
find "$seed/dockerfile-parser" "$seed/dockerfile-corpus" -type f \( -name '*Dockerfile' -o -name '*.template' \) -print0 |
    while IFS= read -r -d '' f; do cp "$f" "$out/corpus/$(sha1sum < "$f" | cut -c1-16)"; done

"$out/kiln-frontend-fuzz" "$out/corpus" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 \
    -max_len=65536 -artifact_prefix=fuzz/findings/ -print_final_stats=1 "$@"
