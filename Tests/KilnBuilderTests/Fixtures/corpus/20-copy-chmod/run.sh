#!/bin/sh
echo script ran
stat -c '%A %n' /data/x
