#!/usr/bin/env bash
# Installs ferry from this checkout into FERRY_ROOT/bin (default ~/.cargo/bin) with cargo.
# FERRY_FEATURES=lean builds without the AWS SDK (no secret://, --iam-auth, provision/up/
# teardown), which builds in a fraction of the time. Extra cargo install flags go in
# FERRY_INSTALL_FLAGS (e.g. --debug in tests). With the install root and ~/.cargo cached
# between CI runs, a warm install only checks that the binary is current.
set -euo pipefail
src="$(cd "$(dirname "$0")/../.." && pwd)"
root="${FERRY_ROOT:-$HOME/.cargo}"
flags=()
case "${FERRY_FEATURES:-aws}" in
  aws) ;;
  lean) flags+=(--no-default-features) ;;
  *) echo "FERRY_FEATURES must be aws or lean, not ${FERRY_FEATURES}" >&2; exit 2 ;;
esac
# shellcheck disable=SC2206
flags+=(${FERRY_INSTALL_FLAGS:-})
# What is built: the sources, the lock file and the flags. A cached install of the same
# is kept as it is (cargo would rebuild a --path install every time).
stamp="$(cd "$src" && { find crates -type f -not -path '*/tests/*' -print0 | sort -z | xargs -0 sha256sum; sha256sum Cargo.lock Cargo.toml; echo "${flags[*]}"; } | sha256sum | cut -d' ' -f1)"
if [ -x "$root/bin/ferry" ] && [ "$(cat "$root/ferry.stamp" 2>/dev/null)" = "$stamp" ]; then
  echo "ferry is installed and current ($root/bin/ferry)"
else
  cargo install --locked --force --path "$src/crates/ferry-cli" --root "$root" "${flags[@]}"
  echo "$stamp" >"$root/ferry.stamp"
fi
"$root/bin/ferry" --version
