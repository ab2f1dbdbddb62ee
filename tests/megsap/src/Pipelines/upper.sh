#!/bin/sh
# A Batchelor task processor for the tests: writes its input file ($1) upper-cased into
# <result dir ($2)>/output-upper.txt.
tr 'a-z' 'A-Z' < "$1" > "$2/output-upper.txt"
echo "upper.sh: done"
