# The kiln binary a bench measures (sourced, not run).
#
#   kiln_binary    sets $kiln: $KILN when it is set (a binary built elsewhere: another
#                  --scratch-path, an earlier commit), else a release build of this checkout,
#                  brought up to date first (`swift build -c release --product kiln`)

kiln_binary() {
    if [ -n "${KILN:-}" ]; then
        kiln="$KILN"
    else
        swift build -c release --product kiln >/dev/null
        kiln="$(swift build -c release --show-bin-path)/kiln"
    fi
}
