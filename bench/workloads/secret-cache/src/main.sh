#!/bin/sh
. /app/src/lib.sh
greet "$(ls /opt/deps | wc -l) dependencies"
