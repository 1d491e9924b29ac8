#!/usr/bin/env bash
# The independent tools the full test suite calls (they fail, never skip, when missing).
#   tools/test-tools.sh check     one line naming what is missing or not running (exit 1), or nothing (exit 0)
#   tools/test-tools.sh install   apt-get install what is missing and start PostgreSQL (root, Debian/Ubuntu)
# One list, used by `npm test` (check) and by .ci/run (install).
set -euo pipefail

missing=()
need() { # need <what to look for> <Debian package>
  case "$1" in
    /*) [ -e "$1" ] || missing+=("$2") ;;
    *) command -v "$1" >/dev/null 2>&1 || missing+=("$2") ;;
  esac
}
need dciodvfy dicom3tools
need dsrdump dcmtk
need dcmdjpeg dcmtk
need gdcmconv libgdcm-tools
need opj_decompress libopenjp2-tools
need /usr/sbin/Orthanc orthanc
need /usr/share/orthanc/plugins/libOrthancDicomWeb.so orthanc-dicomweb
# The shared DICOM store of a cluster: Orthancs on one PostgreSQL database (ADR 0187).
need /usr/share/orthanc/plugins/libOrthancPostgreSQLIndex.so orthanc-postgresql
# PixelMed's DicomSRValidator checks the SR templates (TID 1500/1410); it brings its JRE.
need /usr/share/java/pixelmed.jar pixelmed-apps
need java pixelmed-apps
# The OHIF end-to-end test drives Debian's Chromium headless with playwright-core.
need chromium chromium
# better-sqlite3 is compiled from source with node-gyp (no prebuilt download is reachable).
need g++ build-essential
need make build-essential
# The scale-out tests (*.int.test.ts in src/node/postgres) need a PostgreSQL server they can
# create throw-away databases on (ADR 0181); checked below for running, not only installed.
need pg_ctlcluster postgresql
need psql postgresql
# The cluster test cuts a worker's network in a namespace of its own (ip netns, veth).
need ip iproute2
# The training recipe's smoke test runs on Debian's PyTorch (built for /usr/bin/python3).
/usr/bin/python3 -c 'import torch, PIL, numpy' >/dev/null 2>&1 || missing+=(python3-torch python3-pil python3-numpy)

packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')

# Where the tests reach PostgreSQL (test/support/postgres.ts reads the same variable).
postgres_url=${RADIOLENS_TEST_POSTGRES:-postgresql://postgres@127.0.0.1:5432/postgres}
postgres_answers() { psql "$postgres_url" -w -Atqc 'SELECT 1' >/dev/null 2>&1; }
# Starts Debian's newest cluster (pg_ctlcluster, without systemd: CI containers have none).
start_postgres() {
  local version
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)
  [ -n "$version" ] || return 0
  pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
  for _ in $(seq 1 30); do postgres_answers && return 0; sleep 1; done
}
# A cluster this script has just installed lets the postgres role in from loopback without a
# password, as the tests connect; an existing installation's pg_hba.conf is left alone.
trust_loopback_for_tests() {
  local version hba
  version=$(ls /etc/postgresql | sort -V | tail -1)
  hba=/etc/postgresql/$version/main/pg_hba.conf
  grep -q '^host all postgres 127.0.0.1/32 trust' "$hba" ||
    sed -i '1i host all postgres 127.0.0.1/32 trust' "$hba"
}
case "${1:-check}" in
  check)
    if [ ${#missing[@]} -gt 0 ]; then
      echo "npm test needs Debian packages that are missing: ${packages}— install them with 'sudo tools/test-tools.sh install' (or run 'npm run test:unit', which needs none)" >&2
      exit 1
    fi
    if ! postgres_answers; then
      echo "npm test needs a running PostgreSQL at ${postgres_url} (trust or RADIOLENS_TEST_POSTGRES with credentials) — start it with 'sudo tools/test-tools.sh install' (or run 'npm run test:unit', which needs none)" >&2
      exit 1
    fi
    ;;
  install)
    if [ ${#missing[@]} -gt 0 ]; then
      echo "installing Debian packages: ${packages}"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      # shellcheck disable=SC2086
      apt-get install -y -qq --no-install-recommends ${packages} >/dev/null
      case " ${packages}" in *" postgresql "*) trust_loopback_for_tests ;; esac
    fi
    postgres_answers || start_postgres
    if ! postgres_answers; then
      echo "PostgreSQL is installed but does not answer at ${postgres_url} — see /var/log/postgresql/ and pg_hba.conf" >&2
      exit 1
    fi
    ;;
  *)
    echo "usage: tools/test-tools.sh check|install" >&2
    exit 2
    ;;
esac
