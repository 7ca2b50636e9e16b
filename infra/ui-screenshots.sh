#!/usr/bin/env bash
# Screenshots of the Temporal UI for one specialization run, taken with headless Chromium, for
# docs/operations.md: infra/ui-screenshots.sh <workflow id> [<file prefix>] [running|timeline]
#   the run's stages (its workflow and its direct children) and their tree; with "running", the
#   run's workflows that are running now (samples, rollouts, evaluations) instead; with
#   "timeline", the timeline of one workflow (a rollout: its activities' summaries).
# Needs the UI at $TEMPORAL_UI_URL (default http://localhost:8233) and Debian's chromium (installed
# here when missing, which needs root and apt).
set -euo pipefail
cd "$(dirname "$0")/.."

workflow_id="${1:?usage: infra/ui-screenshots.sh <workflow id> [<file prefix>] [running|timeline]}"
prefix="${2:-ui}"
mode="${3:-finished}"
ui="${TEMPORAL_UI_URL:-http://localhost:8233}"
namespace="${TEMPORAL_NAMESPACE:-default}"
out=docs/figures

if ! command -v chromium >/dev/null; then
  echo "[screenshots] installing Debian's chromium"
  apt-get install -y --no-install-recommends chromium >/dev/null
fi

shoot() { # <url> <file> [<height>]
  # The UI loads its data after the page: give it virtual time to fetch and draw.
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size="1440,${3:-900}" \
    --virtual-time-budget=15000 --screenshot="$2" "$1" >/dev/null 2>&1
  echo "[screenshots] $2"
}
encode() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$1"; }

if [ "$mode" = running ]; then
  query="WorkflowId STARTS_WITH \"$workflow_id\" AND ExecutionStatus = \"Running\""
  shoot "$ui/namespaces/$namespace/workflows?query=$(encode "$query")" "$out/$prefix-running.png"
  exit 0
fi

if [ "$mode" = timeline ]; then
  run_id="$(.venv/bin/temporal workflow describe --namespace "$namespace" -w "$workflow_id" -o json |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["workflowExecutionInfo"]["execution"]["runId"])')"
  # A rollout's timeline is taller than a list page.
  shoot "$ui/namespaces/$namespace/workflows/$workflow_id/$run_id/timeline" "$out/$prefix-timeline.png" 1400
  exit 0
fi

# The stages: the run and its children, without the per-sample and per-instance workflows.
query="WorkflowId STARTS_WITH \"$workflow_id\" AND WorkflowType != \"rollout\" AND WorkflowType != \"svgSample\" AND WorkflowType != \"solveInstance\""
shoot "$ui/namespaces/$namespace/workflows?query=$(encode "$query")" "$out/$prefix-stages.png"
run_id="$(.venv/bin/temporal workflow describe --namespace "$namespace" -w "$workflow_id" -o json |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["workflowExecutionInfo"]["execution"]["runId"])')"
shoot "$ui/namespaces/$namespace/workflows/$workflow_id/$run_id/relationships" "$out/$prefix-relationships.png"
