#!/usr/bin/env bash
# The independent tools the full test suite calls (they fail, never skip, when missing).
#   tools/test-tools.sh check     one line naming what is missing (exit 1), or nothing (exit 0)
#   tools/test-tools.sh install   apt-get install what is missing (root, Debian/Ubuntu)
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
# PixelMed's DicomSRValidator checks the SR templates (TID 1500/1410); it brings its JRE.
need /usr/share/java/pixelmed.jar pixelmed-apps
need java pixelmed-apps
# The OHIF end-to-end test drives Debian's Chromium headless with playwright-core.
need chromium chromium
# better-sqlite3 is compiled from source with node-gyp (no prebuilt download is reachable).
need g++ build-essential
need make build-essential
# The training recipe's smoke test runs on Debian's PyTorch (built for /usr/bin/python3).
/usr/bin/python3 -c 'import torch, PIL, numpy' >/dev/null 2>&1 || missing+=(python3-torch python3-pil python3-numpy)

packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
case "${1:-check}" in
  check)
    if [ ${#missing[@]} -gt 0 ]; then
      echo "npm test needs Debian packages that are missing: ${packages}— install them with 'sudo tools/test-tools.sh install' (or run 'npm run test:unit', which needs none)" >&2
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
    fi
    ;;
  *)
    echo "usage: tools/test-tools.sh check|install" >&2
    exit 2
    ;;
esac
