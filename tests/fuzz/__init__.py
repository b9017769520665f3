"""Fuzzing every skelcon reader (test code, not installed with skelcon).

Used by ``bench/fuzz.py`` (thousands of cases) and ``tests/data/test_fuzz*.py`` (a few
hundred). One *case* is ``run_case(reader, seed, corpus)``: the seed drives a
:class:`random.Random` that picks a valid input (:mod:`.corpus`: a real file from the
shared data when available, else a synthesised one), mutates it (:mod:`.mutators`:
truncate, flip bytes, delete/duplicate/swap lines, change counts, insert NaN/Inf/huge
values, wrong types, structural damage of JSON/pickle/npy inputs) and feeds it to the
reader (the ``cases_*`` modules, one function per reader; :mod:`.runner` holds the
registry). :mod:`.outcomes` classifies what happened as one of

* ``ok``: prepared correctly (finite data of the documented shape);
* ``skipped``: prepared, with some samples/lines skipped as bad input;
* ``refused``: a :class:`~skelcon.errors.SkelconError` with a one-line message;

or a bad outcome (a bug): ``TRACEBACK`` (any other exception), ``multiline`` (a
refusal whose message is not one line), ``NaN`` (non-finite prepared data or config
value), ``hang`` (over the per-case time limit), ``incomplete-output`` (an output
directory that exists but is not a complete, consistent prepared dataset, or exists
after a refusal, or a ``.partial`` left beside it) or ``silent`` (wrong data accepted
without a word: a score packed in the third channel read as z, a depth read as a
score, swapped frame/person axes, NaN joints not counted, ``--channels`` not matching
the data accepted).

Readers: ``ntu``, ``pku-skeleton``, ``pku-labels``, ``pku-splits``, ``ucla``,
``config``, ``layout``, ``kinetics`` call the parsing functions directly; the
``*-prepare`` and ``import-*`` readers run the prepare/import functions end to end on
tiny folders and check the output directory contract; ``prepared-open`` and
``checkpoint-open`` open what users hand back.

Import it as ``fuzz`` with ``tests/`` on ``sys.path`` (pytest's rootdir conftest puts
it there; ``bench/fuzz.py`` inserts it).
"""

from __future__ import annotations

from .corpus import Corpus
from .mutators import Case, pickle_bomb
from .outcomes import BAD, GOOD, OUTCOMES, CaseResult, check_output, check_sample, expect_check
from .runner import READERS, WEIGHTS, run_case, schedule

__all__ = [
    "BAD",
    "GOOD",
    "OUTCOMES",
    "READERS",
    "WEIGHTS",
    "Case",
    "CaseResult",
    "Corpus",
    "check_output",
    "check_sample",
    "expect_check",
    "pickle_bomb",
    "run_case",
    "schedule",
]
