#!/bin/sh
echo "tiny app ($APP_MODE): $(cat /app/stamp)"
