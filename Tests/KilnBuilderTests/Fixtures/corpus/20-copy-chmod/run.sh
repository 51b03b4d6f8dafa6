#!/bin/sh
echo script ran
ls -l /data | grep x | sed 's/ .* / /; s/^\(..........\) .*x$/\1 \/data\/x/'
