#!/usr/bin/env bash
# Judge a trained run against the shipped reader, end to end, on a machine where runs/ may be new:
#
#   bash training/judge.sh runs/reader/run34           # then, if it prints "ships": training/ship.py
#   BASELINE_ONLY=1 bash training/judge.sh             # only the shipped reader's side (steps 1 and 2)
#   RUN_ONLY=1 bash training/judge.sh runs/reader/run35  # only the run's (1 and 3), the indexes built
#
# 1. runs/reader/shipped-u: the packaged reader's calibration points on the unseen mix (training.calibrate
#    --unseen), which a run's calibration is matched to (--match: the same honesty);
# 2. runs/reader/shipped-m: the packaged reader measured on every judged set as it is served (its own
#    calibration and docs map: CALIBRATE=0, DOCS_MAP=0); move its measure/ aside when the segmenter changes
#    (pipeline.sh then splits the indexes again);
# 3. the run: its fit.json is the packaged reader's combination (as runs 24 to 33 used), its calibration is
#    matched to the shipped one's, its docs map fitted on a fixed 2,000 questions of the held docs pages;
# 4. training.criteria.
# In two lanes, one a core (stop 44): the measuring corpora's indexes, then step 2; beside it the run's
# export, step 1, then step 3. Each step is skipped when its output exists, so a rerun resumes. About three
# CPU-hours in all; steps 1 and 2 once per shipped reader.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHON=$python
R=runs/reader
docs_held=${DOCS_HELD:-$R/docs-held-17.jsonl}
people=training/calibration_questions_wide.jsonl
logs=runs/logs
mkdir -p $logs
built=$(mktemp -u)  # touched once the indexes are there
trap 'rm -f "$built"; kill $(jobs -p) 2> /dev/null || true' EXIT  # a failed lane does not leave the other waiting

packaged_fit() {  # packaged_fit FILE: the shipped reader's combination as training/fit.py writes it
    [ -f "$1" ] || $python - "$1" <<'EOF'
import json, sys
from qabot.models.reader import WEIGHTS_DIR, load_config
c = load_config(WEIGHTS_DIR)
fit = {"depth": c.depth, "context": c.context, "sections": c.sections,
       "combination": {"reader": c.reader_weight, "scorer": c.scorer_weight, "rank": c.rank_weight}}
open(sys.argv[1], "w").write(json.dumps(fit, indent=2))
EOF
}

copy_shipped() {  # copy_shipped DIR: the packaged reader's files in DIR/onnx
    mkdir -p "$1/onnx"
    for f in reader.onnx reader-tokenizer.json reader.json; do
        [ -f "$1/onnx/$f" ] || cp "qabot/models/weights/$f" "$1/onnx/$f"
    done
    packaged_fit "$1/fit.json"
}

indexes() {  # the measuring corpora's indexes, built by pipeline.sh before either lane measures
    DOCS_HELD=$docs_held INDEXES_ONLY=1 training/pipeline.sh $R/shipped-m
}

shipped_points() {  # step 1
    copy_shipped $R/shipped-u
    if [ ! -f $R/shipped-u/calibrate.log ]; then
        $python -m training.calibrate --model $R/shipped-u/onnx --fit $R/shipped-u/fit.json --questions 9485 \
            --precision 0.8 --unseen --people $people --people-share 0 > $R/shipped-u/calibrate.log.part
        mv $R/shipped-u/calibrate.log.part $R/shipped-u/calibrate.log
    fi
}

shipped_rows() {  # step 2
    copy_shipped $R/shipped-m
    if [ ! -f $R/shipped-m/measure/squad.json ]; then
        RESUME=1 CALIBRATE=0 SHIPPED=0 DOCS_MAP=0 DOCS_HELD=$docs_held DOCS_LIMIT=2000 training/pipeline.sh $R/shipped-m
    fi
}

run_rows() {  # step 3 (after step 1, and after the indexes)
    local run=$1 calibrated=1
    packaged_fit "$run/fit.json"
    if [ -f "$run/onnx/reader.json" ] && grep -q '"calibration"' "$run/onnx/reader.json"; then
        calibrated=0  # calibrated before a stop: the sets measured since then stay valid
    else
        rm -rf "$run/measure"  # measured with calibrate's provisional file (a measurement stopped midway)
    fi
    CALIBRATE=$calibrated CALIBRATE_ARGS="--questions 9485 --unseen --match $R/shipped-u/onnx --people $people \
        --people-share 0" RESUME=1 SHIPPED=0 DOCS_HELD=$docs_held DOCS_LIMIT=2000 training/pipeline.sh "$run"
}

run_side() {  # the run's export, step 1, then step 3 once the indexes are there
    local run=$1
    [ -f "$run/onnx/reader.onnx" ] || $python -m training.export --weights "$run/final.pt" --out "$run/onnx"
    shipped_points
    while [ ! -f "$built" ]; do sleep 30; done
    run_rows "$run"
}

if [ -n "${RUN_ONLY:-}" ]; then  # the run's side alone (steps 1 and 3), beside a BASELINE_ONLY judgement
    run=${1:?usage: RUN_ONLY=1 training/judge.sh RUN}  # whose indexes are built: then training.criteria
    touch "$built"
    run_side "$run"
    exit 0
fi

if [ -n "${BASELINE_ONLY:-}" ]; then
    (shipped_points) > $logs/judge-points.log 2>&1 &
    points=$!
    indexes
    shipped_rows
    wait $points
    exit 0
fi

run=${1:?usage: training/judge.sh RUN}
run_side "$run" > $logs/judge-run.log 2>&1 &
lane=$!
indexes
touch "$built"
shipped_rows
wait $lane  # set -e: a failed lane fails the judgement
$python -m training.criteria "$run" --shipped $R/shipped-m/measure
