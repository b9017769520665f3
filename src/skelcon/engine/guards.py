"""Guards the training loops plug in: stop cleanly on SIGINT/SIGTERM, refuse NaN/Inf.

:class:`StopSignals` turns SIGINT and SIGTERM into an
:class:`~skelcon.errors.Interrupted` whose message the loop supplies (what was kept,
how to go on); checkpoint writes run inside :meth:`StopSignals.deferred`, so a signal
never splits a set of checkpoints. :func:`guard_loss` and :func:`guard_weights` raise
a one-line :class:`~skelcon.errors.SkelconError` naming the step, the loss terms and
the representation as soon as something is not finite, before anything is saved.
"""

from __future__ import annotations

import math
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from types import TracebackType
from typing import Literal

import torch
from torch import nn

from ..errors import Interrupted, SkelconError

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _Stop(BaseException):
    """Raised by the signal handler; turned into :class:`Interrupted` on leaving."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


class StopSignals:
    """``with StopSignals(message) as stop:`` -- SIGINT/SIGTERM end the body at once.

    ``message(signal_name)`` is called when a signal ended the body and gives the
    one line of the :class:`Interrupted` raised (exit code 130 or 143). Inside
    ``with stop.deferred():`` a signal waits until the block is done. Handlers are
    only installed from the main thread (elsewhere the body runs unguarded), and the
    previous handlers are restored on leaving.
    """

    def __init__(self, message: Callable[[str], str]):
        self.message = message
        self.signum: int | None = None
        self._defer = 0
        self._old: dict[int, object] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for s in STOP_SIGNALS:
                self._old[s] = signal.signal(s, self._handle)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Literal[False]:
        for s, handler in self._old.items():
            signal.signal(s, handler)  # type: ignore[arg-type]
        self._old.clear()
        if isinstance(exc, _Stop):
            raise Interrupted(self.message(signal.Signals(exc.signum).name), exc.signum) from None
        return False

    def _handle(self, signum: int, frame: object) -> None:
        self.signum = signum
        if not self._defer:
            raise _Stop(signum)

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """Hold back SIGINT/SIGTERM while the block runs; act on them right after."""
        self._defer += 1
        try:
            yield
        finally:
            self._defer -= 1
        if not self._defer and self.signum is not None:
            raise _Stop(self.signum)


def _value(t: torch.Tensor | float) -> float:
    return float(t.detach()) if isinstance(t, torch.Tensor) else float(t)


def _bad(t: torch.Tensor | float) -> bool:
    return not math.isfinite(_value(t))


def nonfinite_modules(modules: Mapping[str, nn.Module]) -> list[str]:
    """Names of the ``modules`` holding a NaN or Inf parameter or buffer."""
    bad = []
    for name, m in modules.items():
        tensors = [*m.parameters(), *m.buffers()]
        if any(t.is_floating_point() and not bool(torch.isfinite(t).all()) for t in tensors):
            bad.append(name)
    return bad


def guard_loss(
    loss: torch.Tensor | float,
    stats: Mapping[str, torch.Tensor],
    *,
    where: str,
    modules: Mapping[str, nn.Module],
    advice: str,
) -> None:
    """Raise a one-line :class:`SkelconError` when ``loss`` (a tensor, or its value
    already fetched) is NaN or Inf.

    The message names ``where`` (the step), the non-finite ``loss/...`` terms of
    ``stats`` (``loss/a->b`` per contrastive pair), the representation(s) to blame
    (those with non-finite weights in ``modules`` -- keyed by representation -- else
    a non-finite ``std/r`` statistic, else those shared by every bad pair) and
    ``advice``. Call it before ``backward()``, so nothing of the step is applied.
    """
    if not _bad(loss):
        return
    terms = [k for k, v in stats.items() if k.startswith("loss/") and _bad(v)]
    parts = [", ".join(f"{k} = {_value(stats[k])}" for k in terms) or "the summed loss"]
    broken = nonfinite_modules(modules)
    if broken:
        parts.append(f"non-finite weights in {', '.join(broken)}")
    else:
        reps = [k.split("/", 1)[1] for k, v in stats.items() if k.startswith("std/") and _bad(v)]
        if not reps and terms and all("->" in t for t in terms):
            pairs = [set(t.split("/", 1)[1].split("->")) for t in terms]
            reps = sorted(set.intersection(*pairs))
        if reps:
            parts.append(f"non-finite embeddings of {', '.join(reps)}")
    raise SkelconError(f"loss became {_value(loss)} at {where}: {'; '.join(parts)}; {advice}")


def guard_weights(modules: Mapping[str, nn.Module], *, where: str, advice: str) -> None:
    """Raise a one-line :class:`SkelconError` when a module holds NaN/Inf weights
    (call it before saving a checkpoint: the last update of an epoch can break them)."""
    broken = nonfinite_modules(modules)
    if broken:
        raise SkelconError(f"weights of {', '.join(broken)} became non-finite at {where}; {advice}")
