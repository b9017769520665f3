"""The CPU thread policy: passive OpenMP waits, threads from the usable cores minus the
cores other processes keep busy, and the environment overrides."""

from __future__ import annotations

import pytest

from skelcon.errors import SkelconError
from skelcon.utils import threads


class FakeMachine:
    """A clock, the machine's busy CPU seconds and this process's own, moved by hand."""

    def __init__(self) -> None:
        self.t, self.busy, self.own, self.n = 0.0, 0.0, 0.0, 2

    def run(self, seconds: float, own_cores: float, other_cores: float) -> None:
        self.t += seconds
        self.own += own_cores * seconds
        self.busy += (own_cores + other_cores) * seconds

    def governor(self, cores: int = 2) -> threads.Governor:
        return threads.Governor(
            cores, lambda: self.busy, lambda: self.own, lambda: self.t, self._set, lambda: self.n
        )

    def _set(self, n: int) -> None:
        self.n = n


def test_threads_follow_the_load_of_other_processes():
    m = FakeMachine()
    g = m.governor()
    m.run(1.0, own_cores=2, other_cores=0)
    g.tick()  # before the interval: nothing decided
    assert m.n == 2
    m.run(1.5, own_cores=1, other_cores=1)  # another job took a core
    g.tick()
    assert m.n == 1
    m.run(3.0, own_cores=1, other_cores=0.9)
    g.tick()
    assert m.n == 1
    m.run(3.0, own_cores=1, other_cores=0.1)  # it ended: both cores again
    g.tick()
    assert m.n == 2
    m.run(3.0, own_cores=1, other_cores=5)  # a crowded machine: never below one thread
    g.tick()
    assert m.n == 1


def test_unreadable_load_keeps_the_thread_count():
    g = threads.Governor(
        4,
        lambda: None,
        lambda: 0.0,
        iter(range(0, 100, 5)).__next__,
        lambda n: pytest.fail("changed"),
        lambda: 4,
    )
    g.tick()
    g.tick()


@pytest.mark.parametrize(
    ("quota", "affinity", "expected"),
    [
        ("max 100000", {0, 1, 2, 3}, 4),
        ("150000 100000", {0, 1, 2, 3}, 1),
        ("400000 100000", {0, 1}, 2),
        (None, {0, 1, 2}, 3),
    ],
)
def test_usable_cores_from_affinity_and_cgroup_quota(tmp_path, quota, affinity, expected):
    if quota is not None:
        (tmp_path / "cpu.max").write_text(quota + "\n")
    assert threads.usable_cores(affinity, cgroup_root=tmp_path) == expected


def test_busy_seconds_reads_the_cores_of_this_process(tmp_path):
    stat = tmp_path / "stat"
    stat.write_text(
        "cpu  9 9 9 9 9 0 0 0 0 0\ncpu0 100 0 50 1000 20 0 0 0 0 0\n"
        "cpu1 300 0 0 1000 0 0 0 0 0 0\ncpu2 7 0 0 0 0 0 0 0 0 0\nintr 1\n"
    )
    import os

    hz = os.sysconf("SC_CLK_TCK")
    assert threads.busy_seconds({0, 1}, stat) == pytest.approx(450 / hz)
    assert threads.busy_seconds({5}, stat) is None
    assert threads.busy_seconds({0}, tmp_path / "missing") is None


@pytest.mark.parametrize(
    ("env", "expected"),
    [({}, "auto"), ({"SKELCON_THREADS": "torch"}, "torch"), ({"SKELCON_THREADS": " 3 "}, 3)],
)
def test_mode_from_env(env, expected):
    assert threads.mode_from_env(env) == expected


@pytest.mark.parametrize("bad", ["0", "-2", "many", "1.5"])
def test_bad_thread_setting_is_one_line(bad):
    with pytest.raises(SkelconError, match=r"SKELCON_THREADS=.* is not valid \(valid: auto"):
        threads.mode_from_env({"SKELCON_THREADS": bad})


def test_configure_respects_fixed_counts_and_restores():
    import torch

    before = torch.get_num_threads()
    try:
        assert "1 (fixed)" in threads.configure({"SKELCON_THREADS": "1"})
        assert torch.get_num_threads() == 1 and threads._governor is None
        assert "2 (fixed)" in threads.configure({"OMP_NUM_THREADS": "2"})
        assert torch.get_num_threads() == 2
        assert "up to" in threads.configure({})
        assert threads._governor is not None
    finally:
        threads._governor = None
        torch.set_num_threads(before)


@pytest.mark.parametrize(("value", "expected"), [("1,1", 1), (" 3 , 2 ", 3), ("2", 2), ("", None)])
def test_omp_num_threads_nested_list_uses_its_first_level(value, expected):
    import torch

    before = torch.get_num_threads()
    try:
        assert threads.omp_threads({"OMP_NUM_THREADS": value}) == expected
        line = threads.configure({"OMP_NUM_THREADS": value})
        if expected is not None:
            assert line.startswith(f"threads: {expected} (fixed)")
            assert torch.get_num_threads() == expected and threads._governor is None
        else:
            assert "up to" in line
    finally:
        threads._governor = None
        torch.set_num_threads(before)


@pytest.mark.parametrize("bad", ["abc", "0", "1,0", "-1", "1.5", "2,", ","])
def test_bad_omp_num_threads_is_one_line(bad):
    with pytest.raises(SkelconError) as e:
        threads.configure({"OMP_NUM_THREADS": bad})
    msg = str(e.value)
    assert msg.startswith(f"OMP_NUM_THREADS={bad!r} is not valid (valid: a thread count >= 1")
    assert "\n" not in msg


def test_policy_recorded_for_the_run():
    import torch

    before = torch.get_num_threads()
    try:
        line = threads.configure({"SKELCON_THREADS": "1"})
        assert threads.policy() == line == "threads: 1 (fixed), OpenMP wait default"
    finally:
        threads._governor, threads._policy = None, None
        torch.set_num_threads(before)
    assert threads.policy().startswith("threads: ")  # not configured: PyTorch's count
