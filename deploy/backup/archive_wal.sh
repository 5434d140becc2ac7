#!/bin/sh
# PostgreSQL's archive_command: copy one finished WAL segment into the archive directory.
#   archive_command = '/opt/minyi/deploy/backup/archive_wal.sh "%p" "%f" /var/backups/minyi/wal'
# A non-zero exit makes PostgreSQL keep the segment and retry, so nothing is skipped. The copy
# is written under a temporary name, flushed to disk and then renamed: a crash mid-copy never
# leaves a half segment under the real name. A segment already archived with the same content
# (a retry after a crash between copy and acknowledgement) is accepted; with other content it
# is refused: two clusters must never share one archive directory.
set -eu
src=$1
name=$2
dir=$3
if [ -f "$dir/$name" ]; then
    if cmp -s "$src" "$dir/$name"; then
        exit 0
    fi
    echo "archive_wal.sh: $dir/$name already archived with different content" >&2
    exit 1
fi
cp "$src" "$dir/$name.partial"
sync "$dir/$name.partial"
mv "$dir/$name.partial" "$dir/$name"
sync "$dir"
