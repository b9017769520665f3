"""The one reader of a launcher's environment (torchrun, ``torch.distributed.launch``).

``torchrun --nproc_per_node=N -m skelcon ...`` starts N processes with ``WORLD_SIZE``,
``RANK``, ``LOCAL_RANK``, ``LOCAL_WORLD_SIZE`` and the rendezvous address in their
environment. :func:`launch_info` reads them, with one rule for a missing or malformed
value: checked (the default), the launcher's whole environment must be there and valid,
else a one-line :class:`~skelcon.errors.SkelconError`; unchecked, a value that is not an
integer in its range takes its single-process default. This module imports no torch, so
the command line can check a launcher's environment before anything heavy loads.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field

from ..errors import SkelconError

START_HINT = "torchrun --nproc_per_node=N -m skelcon {command} ..."
LAUNCH_VARS = ("RANK", "MASTER_ADDR", "MASTER_PORT")
RENDEZVOUS_ENV = "SKELCON_RENDEZVOUS_TIMEOUT"  # seconds every process waits for the others
RENDEZVOUS_DEFAULT_S = 300.0
COLLECTIVE_ENV = "SKELCON_DIST_TIMEOUT_MIN"  # minutes a collective waits for a slow rank
COLLECTIVE_DEFAULT_MIN = 60.0
AGENT_STORE = "TORCHELASTIC_USE_AGENT_STORE"  # torchrun's agent already gathered the ranks


@dataclass(frozen=True)
class LaunchInfo:
    """Where a launcher put this process: ``rank`` of ``world_size`` processes,
    ``local_rank`` of the ``local_world_size`` on its node."""

    world_size: int = 1
    rank: int = 0
    local_rank: int = 0
    local_world_size: int = 1
    master: str = field(default="?:?", compare=False)  # MASTER_ADDR:MASTER_PORT
    agent_store: bool = field(default=False, compare=False)  # torchrun's agent hosts the store

    @property
    def enabled(self) -> bool:
        """Whether a launcher started more than one process."""
        return self.world_size > 1

    @property
    def nodes(self) -> int:
        """How many nodes the processes span (``world_size / local_world_size``)."""
        return max(self.world_size // max(self.local_world_size, 1), 1)


SINGLE_PROCESS = LaunchInfo()


def _env_int(
    name: str, env: Mapping[str, str], low: int, high: int | None, how: str | None
) -> int | None:
    """``env[name]`` as an int in ``low..high``. Otherwise: ``None`` when ``how`` is
    ``None`` (unchecked), else one line naming the variable and ``how`` to fix it."""
    text = env.get(name, "").strip()
    ok = text.lstrip("-").isdigit() and int(text) >= low and (high is None or int(text) <= high)
    if ok:
        return int(text)
    if how is None:
        return None
    valid = f"in {low}..{high}" if high is not None else f">= {low}"
    raise SkelconError(f"{name}={env.get(name)!r} is not an integer {valid}; {how}")


def launch_info(
    env: Mapping[str, str] | None = None, command: str = "pretrain", *, check: bool = True
) -> LaunchInfo:
    """The launcher's :class:`LaunchInfo` from ``env`` (default ``os.environ``);
    :data:`SINGLE_PROCESS` without ``WORLD_SIZE`` or with ``WORLD_SIZE=1``.

    ``check`` (default): with ``WORLD_SIZE > 1`` the rendezvous needs ``RANK``,
    ``MASTER_ADDR`` and ``MASTER_PORT`` (torchrun and ``torch.distributed.launch`` set
    them all; ``LOCAL_RANK`` defaults to 0, ``LOCAL_WORLD_SIZE`` to ``WORLD_SIZE``). A
    missing or malformed one, or a timeout setting that is not a positive number
    (:func:`dist_timeouts`), raises a one-line :class:`SkelconError` naming it and how
    to start several processes (``command``: the skelcon command in that line), before
    any work. ``check=False``: nothing is raised; a value that is missing or not an
    integer in its range takes its default (one process, rank 0).
    """
    env = os.environ if env is None else env
    if not env.get("WORLD_SIZE", "").strip():
        return SINGLE_PROCESS
    start = START_HINT.format(command=command)
    how = (
        f"start several processes with {start}, or unset WORLD_SIZE for one process"
        if check
        else None
    )
    world = _env_int("WORLD_SIZE", env, 1, None, how) or 1
    if world == 1:
        return SINGLE_PROCESS
    if check:
        how = (
            f"start the {world} processes with {start.replace('=N', f'={world}')} (it sets "
            "RANK, LOCAL_RANK, MASTER_ADDR and MASTER_PORT), or unset WORLD_SIZE for one process"
        )
        for name in LAUNCH_VARS:
            if not env.get(name, "").strip():
                raise SkelconError(f"WORLD_SIZE={world} is set but {name} is not; {how}")
    rank = _env_int("RANK", env, 0, world - 1, how) or 0
    if check:
        _env_int("MASTER_PORT", env, 1, 65535, how)
    local = _env_int("LOCAL_RANK", env, 0, world - 1, how) if env.get("LOCAL_RANK") else 0
    if check:
        dist_timeouts(env)
    local_world = _env_int("LOCAL_WORLD_SIZE", env, 1, world, None) or world
    master = f"{env.get('MASTER_ADDR', '?')}:{env.get('MASTER_PORT', '?')}"
    return LaunchInfo(world, rank, local or 0, local_world, master, env.get(AGENT_STORE) == "True")


def launch_env(
    env: Mapping[str, str] | None = None, command: str = "pretrain"
) -> tuple[int, int, int]:
    """``(world_size, rank, local_rank)`` of :func:`launch_info` (checked)."""
    info = launch_info(env, command)
    return info.world_size, info.rank, info.local_rank


def take_local_rank_arg(argv: list[str], env: MutableMapping[str, str] | None = None) -> list[str]:
    """``argv`` without the ``--local-rank=N`` / ``--local_rank N`` that the old
    launcher (``python -m torch.distributed.launch``) appends; ``N`` goes to
    ``env["LOCAL_RANK"]`` (default ``os.environ``) unless the launcher set it there
    already (they agree). A missing value or one that is not an integer: one-line error."""
    env = os.environ if env is None else env
    out: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        flag, eq, value = a.partition("=")
        if flag in ("--local-rank", "--local_rank"):
            if not eq:
                value = argv[i + 1] if i + 1 < len(argv) else ""
                if value.startswith("--"):  # the next option, not a value
                    value = ""
                else:
                    i += 1
            if not value:
                raise SkelconError(f"{flag} needs a value (e.g. {flag} 0)")
            if not value.isdigit():
                raise SkelconError(f"{flag}={value!r} is not a local rank (an integer >= 0)")
            env.setdefault("LOCAL_RANK", value)
        else:
            out.append(a)
        i += 1
    return out


def _env_positive(name: str, default: float, unit: str, env: Mapping[str, str]) -> float:
    """``env[name]`` as a positive number of ``unit`` (``default`` when unset), else one line."""
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (value > 0 and value != float("inf")):
        raise SkelconError(f"{name}={env.get(name)!r} is not valid (valid: a number of {unit} > 0)")
    return value


def dist_timeouts(env: Mapping[str, str] | None = None) -> tuple[float, float]:
    """``(rendezvous seconds, collective minutes)`` from ``SKELCON_RENDEZVOUS_TIMEOUT``
    (default 300 s: how long a process waits for the others to start) and
    ``SKELCON_DIST_TIMEOUT_MIN`` (default 60 min: how long a collective waits for a
    slow rank). A value that is not a positive number: one-line :class:`SkelconError`."""
    env = os.environ if env is None else env
    return (
        _env_positive(RENDEZVOUS_ENV, RENDEZVOUS_DEFAULT_S, "seconds", env),
        _env_positive(COLLECTIVE_ENV, COLLECTIVE_DEFAULT_MIN, "minutes", env),
    )
