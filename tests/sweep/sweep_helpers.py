"""What the sweep tests share: a small sweep file."""

SWEEP = """\
name: small
title: A small sweep
recipe: cpu_small
benchmark: default
set: [epochs=2]
axes:
  representations: [[seq], [seq, stg]]
  seed: [0, 1]
evaluations:
  - protocol: linear
    representation: each
    set: [epochs=2]
table:
  rows: [representations]
  columns: [downstream]
"""
