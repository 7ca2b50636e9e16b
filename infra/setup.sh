#!/usr/bin/env bash
# Brings a machine to the point where SERA Flow runs: node modules; the Temporal CLI and the
# trainer in a project-local virtualenv; the serving engine (vLLM's CPU build) in another; a Docker
# engine; the sandbox base image; the example repository and its release history (for the
# evaluation set); the prebuilt workflow bundle. Each step checks before it acts, so running it
# again is cheap.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$SERA_ROOT"

bash infra/node-modules.sh
bash infra/temporal-cli.sh
bash infra/serve-venv.sh
bash infra/docker-engine.sh
bash infra/base-image.sh
bash infra/example-repo.sh
bash infra/example-history.sh
npx --no-install tsx infra/bundle-workflows.ts
