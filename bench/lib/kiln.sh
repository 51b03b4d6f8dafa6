# The kiln binary a bench measures (sourced, not run).
#
#   kiln_binary    sets $kiln: $KILN when it is set (a binary built elsewhere: another
#                  --scratch-path, an earlier commit), else a release build of this checkout as
#                  Kiln's image ships it (scripts/kiln-image: the Swift runtime linked in, which
#                  also starts faster), brought up to date first
#                  (`swift build -c release --static-swift-stdlib --product kiln`)

kiln_binary() {
    if [ -n "${KILN:-}" ]; then
        kiln="$KILN"
    else
        swift build -c release --static-swift-stdlib --product kiln >/dev/null
        kiln="$(swift build -c release --static-swift-stdlib --show-bin-path)/kiln"
    fi
}
