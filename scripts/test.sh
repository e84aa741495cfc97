#!/usr/bin/env bash
# Runs every test of openmyna: unit tests, and the integration tests on SQLite and PostgreSQL.
#
# PC/SC: the card interop test drives OpenSC through pcscd and vsmartcard's vpcd. It runs when
# those are installed (Debian: pcscd vsmartcard-vpcd opensc pcsc-tools), starting and
# restarting pcscd itself (root needed). With libpcsclite-dev and pkg-config present, the
# build also includes the PC/SC transport (feature openmyna/pcsc) and tests it.
#
# Browsers: crates/openmyna/tests/browser.rs drives Debian's Chromium headless with Playwright
# (npm playwright-core in browser/, installed by `npm ci --prefix browser`) when both are
# present; screenshots of each step land in target/browser-screenshots/.
#
# PostgreSQL: the suite uses OPENMYNA_TEST_DATABASE_URL (a server where it may create and drop
# databases). If that is unset and a server on 127.0.0.1:5432 accepts the user postgres
# without a password, that one is used. Otherwise the PostgreSQL suite is skipped, and this
# script says so at the start and at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${OPENMYNA_TEST_DATABASE_URL:-}" ]; then
    candidate="postgres://postgres@127.0.0.1:5432/test"
    if command -v psql >/dev/null 2>&1 && psql "$candidate" -qAtc 'SELECT 1' >/dev/null 2>&1; then
        export OPENMYNA_TEST_DATABASE_URL="$candidate"
    fi
fi

pg_status() {
    if [ -n "${OPENMYNA_TEST_DATABASE_URL:-}" ]; then
        echo "PostgreSQL suite: RUN against ${OPENMYNA_TEST_DATABASE_URL%%\?*}" | sed -E 's#://([^:/@]+):[^@]*@#://\1:***@#'
    else
        echo "PostgreSQL suite: NOT RUN (no PostgreSQL answered on 127.0.0.1:5432 and OPENMYNA_TEST_DATABASE_URL is unset); only the SQLite suite ran"
    fi
}

features=()
if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists libpcsclite; then
    features=(--features openmyna/pcsc)
fi

pcsc_status() {
    if command -v pcscd >/dev/null 2>&1 && command -v pkcs11-tool >/dev/null 2>&1 \
        && [ -e /usr/lib/pcsc/drivers/serial/libifdvpcd.so ]; then
        echo "PC/SC interop (OpenSC via pcscd/vpcd): RUN${features:+, with the PC/SC transport}"
    else
        echo "PC/SC interop: NOT RUN (install pcscd vsmartcard-vpcd opensc to run it)"
    fi
}

browser_status() {
    if [ -x "${CHROMIUM:-/usr/bin/chromium}" ] && [ -d browser/node_modules/playwright-core ] \
        && command -v node >/dev/null 2>&1; then
        echo "Browser tests (Playwright + Chromium headless): RUN; screenshots in target/browser-screenshots/"
    else
        echo "Browser tests: NOT RUN (apt install chromium; npm ci --prefix browser)"
    fi
}

# The OpenID Connect client of the oidc test: Python with Authlib (CI's venv if there is one).
if [ -z "${OPENMYNA_TEST_PYTHON:-}" ]; then
    for py in "${TMPDIR:-/tmp}/openmyna-ci-venv/bin/python" python3; do
        if "$py" -c 'import authlib, joserfc, requests' >/dev/null 2>&1; then
            export OPENMYNA_TEST_PYTHON="$py"
            break
        fi
    done
fi

oidc_status() {
    if [ -n "${OPENMYNA_TEST_PYTHON:-}" ]; then
        echo "OpenID Connect client (Authlib): RUN with $OPENMYNA_TEST_PYTHON"
    else
        echo "OpenID Connect client: NOT RUN (pip install authlib requests)"
    fi
}

pg_status
pcsc_status
browser_status
oidc_status
cargo test --workspace --all-targets "${features[@]}" "$@"
pg_status
pcsc_status
browser_status
oidc_status
