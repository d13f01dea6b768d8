"""Multi-step workflows: a DAG of entry points declared under `workflows:` in the
MLproject, run with a content-addressed step cache (see README, "Workflows").

model      the declaration, parsed and validated with line numbers
refs       the `${{ ... }}` reference syntax and its resolution
graph      matrix expansion, cycles, topological order, selections
cache      step keys, cache lookups in the run store, the per-key lock
scheduler  parallel execution, fail-fast / keep-going, signals
engine     one workflow run: plan, look up, run, record
view       step states as lines (live board, transitions, summary)
"""
