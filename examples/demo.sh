#!/usr/bin/env bash
set -euo pipefail
cd "$(dirname "$0")/.."
mvconf validate examples/receptionist
