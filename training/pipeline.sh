#!/usr/bin/env bash
# A trained run, end to end: ONNX export, fit, calibration, then every judged question set measured beside the
# shipped reader. Kept in git because runs/ (checkpoints, indexes) is outside it and has been lost before.
#
#   FIT_ARGS="--context --max-depth 10" CALIBRATE_ARGS="--near" training/pipeline.sh runs/reader/run9
#
# Writes RUN/onnx (calibrated reader.json), RUN/fit.json and RUN/measure/*.json; indexes of the measuring
# corpora are built once under runs/eval/. SQUAD_LIMIT questions of squad-dev-a (default all 5,397), 0 for none;
# SHIPPED=0 skips measuring the shipped reader again (its figures are in docs/benchmarks.md); CALIBRATE=0
# keeps RUN/onnx/reader.json (a calibration variant made by hand); DOCS_HELD and DOCS_INDEX name the held docs
# questions and their pages' index, DOCS_LIMIT a fixed sample of its questions. With the held docs set measured,
# docs units get their own confidence map (training/docs_confidence.py) in RUN/onnx/reader.json before it can
# ship (DOCS_MAP=0 keeps the one there). RESUME=1 leaves the sets already measured (a rerun after a stop);
# INDEXES_ONLY=1 builds the measuring corpora's indexes and stops. An index split by another segmenter version
# than qabot's is built again (the docs index from DOCS_CORPUS, default runs/docs/corpus).
set -euo pipefail
run=${1:?usage: training/pipeline.sh RUN}
python=${PYTHON:-.venv/bin/python}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
squad=../shared/data/squad-dev-a

stale() {  # stale DIR: no index there, or one split by another segmenter version than qabot's
    [ ! -f "$1/CURRENT" ] || $python - "$1" <<'PY'
import sys
from pathlib import Path
from qabot.store import current_generation, read_manifest
from qabot.text import SEGMENTER_VERSION
chunker = read_manifest(current_generation(Path(sys.argv[1]))).get("chunker", {})
sys.exit(chunker.get("segmenter") == SEGMENTER_VERSION)  # exit 0 (stale) when it differs or is unknown
PY
}
index() {  # index NAME CORPUS: the measuring corpus's index, built once (again after a segmenter change)
    local dir=runs/eval/$1/index
    if stale "$dir"; then
        $python -m qabot index --corpus "$2" --index "$dir" > /dev/null
    fi
    echo "$dir"
}
seed=$(index seed corpus)
fastapi=$(index fastapi ../shared/data/fastapi-docs)
click=$(index click eval/corpora/click/docs)
structlog=$(index structlog eval/corpora/structlog/docs)
nodejs=$(index nodejs eval/corpora/nodejs/docs)
rq=$(index rq eval/corpora/rq/docs)
readmes=$(index readmes eval/corpora/readmes/docs)
libffi=$(index libffi eval/corpora/libffi/docs)
valgrind=$(index valgrind eval/corpora/valgrind/docs)
rstdocs=$(index rstdocs eval/corpora/rstdocs/docs)
psycopg2=$(index psycopg2 eval/corpora/psycopg2/docs)
starlette=$(index starlette eval/corpora/starlette/docs)
plaintext=$(index plaintext eval/corpora/plaintext/docs)
plaintext2=$(index plaintext2 eval/corpora/plaintext2/docs)
specs=$(index specs eval/corpora/specs/docs)
specs2=$(index specs2 eval/corpora/specs2/docs)
cmake=$(index cmake eval/corpora/cmake/docs)
npm=$(index npm eval/corpora/npm/docs)
git=$(index git eval/corpora/git/docs)
statsmodels=$(index statsmodels eval/corpora/statsmodels/docs)
cryptography=$(index cryptography eval/corpora/cryptography/docs)
sdl=$(index sdl eval/corpora/sdl/docs)
squad_limit=${SQUAD_LIMIT:-all}
squad_index=
if { [ "$squad_limit" != 0 ] || [ -n "${INDEXES_ONLY:-}" ]; } && [ -d "$squad" ]; then
    squad_index=$(index squad "$squad/corpus")
fi
docs_held=${DOCS_HELD:-runs/reader/docs-held.jsonl}  # training.written --docs --held-out: pages never trained on
docs_index=${DOCS_INDEX:-runs/docs/index}  # training.docs's index of those pages
if [ -f "$docs_held" ] && [ -f "$docs_index/CURRENT" ] && stale "$docs_index"; then
    # split again as qabot now splits (the held questions are matched by their answers' words, not by units)
    $python -m qabot index --corpus "${DOCS_CORPUS:-runs/docs/corpus}" --index "$docs_index" > /dev/null
fi
[ -z "${INDEXES_ONLY:-}" ] || exit 0  # INDEXES_ONLY=1: only the measuring corpora's indexes (training/judge.sh)

if [ ! -f "$run/onnx/reader.onnx" ]; then
    $python -m training.export --weights "$run/final.pt" --out "$run/onnx"
fi
if [ ! -f "$run/fit.json" ]; then
    # shellcheck disable=SC2086
    $python -m training.fit --model "$run/onnx" --out "$run/fit.json" --questions 3000 ${FIT_ARGS:-}
fi
if [ "${CALIBRATE:-1}" != 0 ]; then  # CALIBRATE=0 measures RUN/onnx's reader.json as it is
    # shellcheck disable=SC2086
    $python -m training.calibrate --model "$run/onnx" --fit "$run/fit.json" --questions 1000 --precision 0.8 \
        ${CALIBRATE_ARGS:-} > "$run/calibrate.log"
fi

mkdir -p "$run/measure"
measure() {  # measure NAME INDEX SET [options]: the run's reader, then the shipped one, one JSON line each
    local name=$1 idx=$2 set=$3
    shift 3
    [ "${RESUME:-0}" = 0 ] || [ ! -s "$run/measure/$name.json" ] || return 0  # RESUME=1: measured sets stay
    $python -m training.measure "$idx" "$set" --reader "$run/onnx" --out "$run/measure/$name.json.part" "$@"
    mv "$run/measure/$name.json.part" "$run/measure/$name.json"
    if [ "${SHIPPED:-1}" != 0 ]; then
        $python -m training.measure "$idx" "$set" "$@"
    fi
}
for set in seed heldout paraphrase fresh blind; do
    measure "$set" "$seed" "eval/${set}_questions.jsonl"
done
measure blind2 "$seed" eval/blind2_questions.jsonl  # written blind at stop 30; not in the criteria
measure blind3 "$seed" eval/blind3_questions.jsonl  # written blind at stop 36; not in the criteria
for set in seed heldout; do
    measure "${set}_conversations" "$seed" "eval/${set}_conversations.jsonl"
done
measure fastapi "$fastapi" eval/fastapi_questions.jsonl
measure click "$click" eval/click_questions.jsonl
measure structlog "$structlog" eval/structlog_questions.jsonl  # written blind at stop 29; not in the criteria
measure nodejs "$nodejs" eval/nodejs_questions.jsonl  # written blind at stop 30; not in the criteria
measure rq "$rq" eval/rq_questions.jsonl  # written blind at stop 34; not in the criteria
measure readmes "$readmes" eval/readmes_questions.jsonl  # written blind at stop 35; not in the criteria
measure libffi "$libffi" eval/libffi_questions.jsonl  # HTML docs, written blind at stop 37; not in the criteria
measure valgrind "$valgrind" eval/valgrind_questions.jsonl  # DocBook HTML, written blind at stop 38; not in the criteria
measure rstdocs "$rstdocs" eval/rstdocs_questions.jsonl  # reST, written blind at stop 42; not in the criteria
measure psycopg2 "$psycopg2" eval/psycopg2_questions.jsonl  # reST API reference, written blind at stop 43; not in the criteria
measure starlette "$starlette" eval/starlette_questions.jsonl  # written blind at stop 46; not in the criteria
measure plaintext "$plaintext" eval/plaintext_questions.jsonl  # plain text, written blind at stop 48; not in the criteria
measure plaintext2 "$plaintext2" eval/plaintext2_questions.jsonl  # plain text, held out at stop 48; not in the criteria
measure specs "$specs" eval/specs_questions.jsonl  # specs and PDFs, written blind at stop 49; not in the criteria
measure specs2 "$specs2" eval/specs2_questions.jsonl  # specs and PDFs, held out at stop 49; not in the criteria
measure cmake "$cmake" eval/cmake_questions.jsonl  # CMake's reST command pages, held out at stop 50; not in the criteria
measure npm "$npm" eval/npm_questions.jsonl  # npm's Markdown docs, held out at stop 51; not in the criteria
measure git "$git" eval/git_questions.jsonl  # Git's AsciiDoc docs, held out at stop 52; not in the criteria
measure statsmodels "$statsmodels" eval/statsmodels_questions.jsonl  # notebooks, held out at stop 52; not in the criteria
measure cryptography "$cryptography" eval/cryptography_questions.jsonl  # a built Sphinx site, held out at stop 53; not in the criteria
measure sdl "$sdl" eval/sdl_questions.jsonl  # a built Doxygen site, held out at stop 53; not in the criteria
if [ -f "$docs_held" ] && [ -f "$docs_index/CURRENT" ]; then
    docs_limit=()
    [ -z "${DOCS_LIMIT:-}" ] || docs_limit=(--limit "$DOCS_LIMIT")  # a fixed sample, for time
    measure docs_held "$docs_index" "$docs_held" --within-project "${docs_limit[@]}"
    if [ "${DOCS_MAP:-1}" != 0 ]; then  # DOCS_MAP=0: a shipped reader keeps the map it ships with
        # docs units' own confidence map, fitted on those rows (decisions unchanged, so the rows stay valid)
        $python -m training.docs_confidence "$run/onnx" "$run/measure/docs_held.json" > "$run/docs_confidence.log"
    fi
fi
if [ -n "$squad_index" ]; then
    limit=()
    [ "$squad_limit" = all ] || limit=(--limit "$squad_limit")
    measure squad "$squad_index" "$squad/questions.jsonl" "${limit[@]}"
fi
