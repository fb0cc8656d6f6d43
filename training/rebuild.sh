#!/usr/bin/env bash
# Rebuild what training needs in runs/ on a machine where it is gone (checkpoints and data live outside
# git). Two lanes, one a core, about an hour on two cores:
#   A: the shipped reader unpacked (--init / --keep), the SQuAD examples and index (step 1), then half of
#      the absent mining (step 1b);
#   B: the documentation index and heading groups, the written docs groups and their held set, then the
#      other half of the absent mining (from the last shard) and the people's-words groups.
# A file that exists is kept, so a rerun resumes (the mining resumes by shard).
#
#   bash training/rebuild.sh            # then the run's command from training/README.md
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
PY=${PY:-.venv/bin/python}
R=runs/reader
mkdir -p "$R" runs/logs

lane_a() {
  [ -f $R/shipped.pt ] || $PY -m training.unpack --out $R/shipped.pt
  [ -f $R/data/.prepared ] || { $PY -m training.prepare --out $R/data && touch $R/data/.prepared; }
  $PY -m training.prepare --out $R/data --absent
}

lane_b() {
  [ -f runs/docs/examples-47.jsonl.gz ] || $PY -m training.docs --out runs/docs --examples examples-47.jsonl.gz
  # docs-held-17 (the first file's held pages) is what training/judge.sh measures runs on; written-docs-21
  # (both files' training pages, stop 45's new projects included) is run 36's (run 35's written-docs-20 had
  # the second file's first 1,285 lines)
  [ -f $R/docs-held-17.jsonl ] || $PY -m training.written --docs runs/docs/index \
    --questions training/written_docs_questions.jsonl --out $R/written-docs-19.jsonl.gz \
    --held-out $R/docs-held-17.jsonl --near 4 --unanswered
  [ -f $R/written-docs-21.jsonl.gz ] || $PY -m training.written --docs runs/docs/index \
    --questions training/written_docs_questions.jsonl training/written_docs_questions_2.jsonl \
    --out $R/written-docs-21.jsonl.gz --held-out $R/docs-held-19.jsonl --near 4 --unanswered
  while [ ! -f $R/data/.prepared ]; do sleep 30; done  # the absent mining and the groups need A's index
  $PY -m training.prepare --out $R/data --absent --reverse
  [ -f $R/written-11n.jsonl.gz ] || $PY -m training.written --near 3 --unanswered --out $R/written-11n.jsonl.gz
}

nice -n 2 bash -c "set -euo pipefail; $(declare -f lane_a); R=$R PY=$PY lane_a" > runs/logs/rebuild-a.log 2>&1 &
a=$!
nice -n 2 bash -c "set -euo pipefail; $(declare -f lane_b); R=$R PY=$PY lane_b" > runs/logs/rebuild-b.log 2>&1 &
b=$!
wait $a
wait $b
echo "rebuilt: $(ls $R) / $(ls runs/docs)"
