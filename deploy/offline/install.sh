#!/usr/bin/env bash
# Offline install, part 2: on the server WITHOUT network, install from download.sh's wheelhouse.
#
#   deploy/offline/install.sh [WHEELHOUSE]        (`make install-offline`)
#
# WHEELHOUSE defaults to the wheelhouse next to this project in the unpacked bundle
# (wegwijzer-offline-<version>/wheelhouse), else dist/offline/wegwijzer-offline-*/wheelhouse.
# The venv goes to VENV (default: .venv in this project, as `make run` does; for the systemd
# service copy the project to /opt/wegwijzer first). Nothing is fetched from any network.
#
# Then, with the settings of WEGWIJZER_ENV_FILE (default /etc/wegwijzer/wegwijzer.env, when it
# exists) and as the user wegwijzer when run as root and that user exists:
#   wegwijzer model install    (assembles and verifies the embedded model)
#   wegwijzer ingest           (builds the index from corpus/)
# SKIP_SETUP=1 stops after the pip steps.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
PYTHON=${PYTHON:-python3.11}
VENV=${VENV:-$REPO/.venv}
ENV_FILE=${WEGWIJZER_ENV_FILE:-/etc/wegwijzer/wegwijzer.env}

die() { echo "install.sh: $*" >&2; exit 1; }

WHEELHOUSE=${1:-${WHEELHOUSE:-}}
if [ -z "$WHEELHOUSE" ]; then
    if [ -d "$REPO/../wheelhouse" ]; then
        WHEELHOUSE=$REPO/../wheelhouse
    else
        WHEELHOUSE=$(find "$REPO/dist/offline" -maxdepth 2 -type d -name wheelhouse 2>/dev/null | sort | tail -n 1)
    fi
fi
if [ -z "$WHEELHOUSE" ] || [ ! -d "$WHEELHOUSE" ]; then
    die "no wheelhouse (give its path; make it with download.sh)"
fi
WHEELHOUSE=$(cd "$WHEELHOUSE" && pwd)

command -v "$PYTHON" >/dev/null || die "$PYTHON not found (Python 3.11 is required)"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || die "$PYTHON is not Python 3.11"

SUMS=$WHEELHOUSE/../SHA256SUMS
if [ -f "$SUMS" ]; then
    echo "== checking the bundle against SHA256SUMS"
    (cd "$WHEELHOUSE/.." && grep ' ./wheelhouse/' SHA256SUMS | sha256sum --check --quiet) \
        || die "wheelhouse does not match SHA256SUMS"
fi

OFFLINE=(--no-index --find-links "$WHEELHOUSE")
echo "== venv $VENV"
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP="$VENV/bin/pip"

echo "== torch (CPU build) first, then the locked tree, then the project"
"$PIP" install "${OFFLINE[@]}" torch==2.13.0
"$PIP" install "${OFFLINE[@]}" -r "$REPO/requirements.lock"
"$PIP" install "${OFFLINE[@]}" --no-deps "$REPO"

[ "${SKIP_SETUP:-0}" = "1" ] && { echo "done (SKIP_SETUP=1)"; exit 0; }

if [ -f "$ENV_FILE" ]; then
    echo "== settings from $ENV_FILE"
    set -a
    # shellcheck disable=SC1090 # the operator's settings file
    . "$ENV_FILE"
    set +a
fi
run() {
    if [ "$(id -u)" = 0 ] && id wegwijzer >/dev/null 2>&1; then
        runuser -u wegwijzer -- "$@"
    else
        "$@"
    fi
}
cd "$REPO"
echo "== wegwijzer model install"
run "$VENV/bin/wegwijzer" model install
echo "== wegwijzer ingest"
run "$VENV/bin/wegwijzer" ingest
echo "done: start it with 'systemctl enable --now wegwijzer' (deploy/systemd) or '$VENV/bin/wegwijzer serve'"
