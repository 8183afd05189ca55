#!/bin/sh
# Builds podeip and lays out the install the container image ships, in OUT (which must not exist yet):
#   OUT/dist, OUT/deploy, OUT/package.json   what `npm pack` publishes, nothing else (no sandbox, no demo)
#   OUT/node_modules                        `npm ci --omit=dev` from package-lock.json
#   OUT/bin/podeip                          the command, for PATH
# The Dockerfile's build stage runs this script and its final stage copies OUT; the test
# tests/integration/image/image-install.test.ts runs the same script and starts the programs from OUT.
# Needs the development dependencies installed in the checkout (`npm ci`); changes nothing in the checkout.
set -eu

if [ "$#" -ne 1 ]; then
  echo "usage: deploy/image/build.sh OUT" >&2
  exit 2
fi
repo=$(cd "$(dirname "$0")/../.." && pwd)
case "$1" in
  /*) out=$1 ;;
  *) out=$(pwd)/$1 ;;
esac
if [ -e "$out" ]; then
  echo "deploy/image/build.sh: $out already exists; give a folder that does not" >&2
  exit 2
fi
if [ ! -f "$repo/node_modules/typescript/bin/tsc" ]; then
  echo "deploy/image/build.sh: the development dependencies are missing; run npm ci in $repo first" >&2
  exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A package folder of its own, so the compiler's output never lands in (or races with) the checkout's dist/.
stage="$work/stage"
mkdir -p "$stage"
cp "$repo/package.json" "$repo/package-lock.json" "$repo/README.md" "$stage/"
cp -R "$repo/deploy" "$stage/deploy"
node "$repo/node_modules/typescript/bin/tsc" -p "$repo/tsconfig.build.json" --outDir "$stage/dist"

# npm pack applies package.json's "files" (which leaves out the sandbox and the demo): the image holds
# exactly what the published package holds.
tarball=$(cd "$stage" && npm pack --silent --pack-destination "$work")
mkdir -p "$work/unpacked"
tar -xzf "$work/$tarball" -C "$work/unpacked"
mv "$work/unpacked/package" "$out"

# npm never packs the lock file; installing from it pins every production dependency as the checkout does.
cp "$repo/package-lock.json" "$out/package-lock.json"
(cd "$out" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)

chmod 0755 "$out/dist/cli/main.js"
mkdir -p "$out/bin"
ln -s ../dist/cli/main.js "$out/bin/podeip"
