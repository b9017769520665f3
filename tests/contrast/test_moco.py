"""SkeletonMoCo: pairing, key/queue bookkeeping and gradients, with tiny stand-in encoders."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from skelcon.contrast import SkeletonMoCo, concat_all_gather, contrast_pairs, info_nce
from skelcon.errors import SkelconError

SHAPE = (3, 3, 4, 5, 2)  # N, C, T, V, M


class Flat(nn.Module):
    """Stand-in encoder: flatten (C, T, V, M) + Linear; exposes .feature_dim."""

    def __init__(self, feature_dim: int):
        super().__init__()
        self.feature_dim = feature_dim
        self.fc = nn.Linear(3 * 4 * 5 * 2, feature_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.flatten(1))


def _model(reps, queue_size=7, momentum=0.5, seed=0, **kw) -> SkeletonMoCo:
    torch.manual_seed(seed)
    encs = {r: Flat(6 + 2 * i) for i, r in enumerate(reps)}
    return SkeletonMoCo(encs, dim=4, queue_size=queue_size, momentum=momentum, **kw)


def _views(seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*SHAPE, generator=g), torch.randn(*SHAPE, generator=g)


def _perturb_queries(model: SkeletonMoCo) -> None:
    """Move query weights away from the keys so the momentum update matters."""
    with torch.no_grad():
        for p in [*model.query_encoders.parameters(), *model.query_heads.parameters()]:
            p.add_(torch.randn_like(p))


def _q(model, r, x):
    return F.normalize(model.query_heads[r](model.query_encoders[r](x)), dim=1)


def _k(model, r, x):
    with torch.no_grad():
        return F.normalize(model.key_heads[r](model.key_encoders[r](x)), dim=1)


def test_contrast_pairs():
    assert contrast_pairs(["seq"]) == [("seq", "seq")]
    assert contrast_pairs(["seq", "img"]) == [("seq", "img"), ("img", "seq")]
    three = contrast_pairs(["seq", "img", "stg"])
    assert len(three) == 6 and len(set(three)) == 6
    assert set(three) == {
        (a, b) for a in ["seq", "img", "stg"] for b in ["seq", "img", "stg"] if a != b
    }
    with pytest.raises(SkelconError):
        contrast_pairs([])
    with pytest.raises(SkelconError):
        contrast_pairs(["seq", "seq"])


def test_gather_identity_when_not_distributed():
    t = torch.randn(3, 4)
    assert concat_all_gather(t) is t


def test_gather_concatenates_when_distributed(monkeypatch):
    import torch.distributed as dist

    def fake_all_gather(parts, t):
        for i, p in enumerate(parts):
            p.copy_(t + 10 * i)

    monkeypatch.setattr(dist, "is_available", lambda: True)
    monkeypatch.setattr(dist, "is_initialized", lambda: True)
    monkeypatch.setattr(dist, "get_world_size", lambda *a, **k: 3)
    monkeypatch.setattr(dist, "all_gather", fake_all_gather)
    t = torch.arange(4.0).reshape(2, 2)
    torch.testing.assert_close(concat_all_gather(t), torch.cat([t, t + 10, t + 20]))


def test_structure():
    from skelcon.encoders.heads import ProjectionHead

    m = _model(["a", "b"])
    assert m.representations == ["a", "b"] and m.pairs == [("a", "b"), ("b", "a")]
    for name in ["query_encoders", "query_heads", "key_encoders", "key_heads", "queues"]:
        assert isinstance(getattr(m, name), nn.ModuleDict) and list(getattr(m, name)) == ["a", "b"]
    assert isinstance(m.query_heads["a"], ProjectionHead)
    assert m.query_heads["b"](torch.zeros(2, 8)).shape == (2, 4)
    assert m.encoder("b") is m.query_encoders["b"]
    with pytest.raises(SkelconError, match="valid: a, b"):
        m.encoder("c")
    assert m.key_encoders["a"] is not m.query_encoders["a"]
    for q, k in [("query_encoders", "key_encoders"), ("query_heads", "key_heads")]:
        for p_q, p_k in zip(getattr(m, q).parameters(), getattr(m, k).parameters(), strict=True):
            torch.testing.assert_close(p_k, p_q)
            assert p_q.requires_grad and not p_k.requires_grad
    sd = m.state_dict()
    assert "queues.a.keys" in sd and "queues.b.ptr" in sd and sd["queues.a.keys"].shape == (7, 4)
    m.eval()
    assert not m.key_encoders["a"].training
    m.train()
    assert m.key_encoders["a"].training


def test_inter_skeleton_loss_uses_other_representation_key_and_queue():
    m = _model(["a", "b"])
    _perturb_queries(m)
    key_before = [p.clone() for p in m.key_encoders.parameters()]
    queues_before = {r: m.queues[r].keys.clone() for r in m.representations}
    vq, vk = _views()
    loss, stats = m(vq, vk)

    # momentum update happened once, before the keys were computed
    for p0, p_k, p_q in zip(
        key_before, m.key_encoders.parameters(), m.query_encoders.parameters(), strict=True
    ):
        torch.testing.assert_close(p_k, 0.5 * p0 + 0.5 * p_q)

    q = {r: _q(m, r, vq) for r in "ab"}
    k = {r: _k(m, r, vk) for r in "ab"}
    t = m.temperature
    l_ab = info_nce(q["a"], k["b"], queues_before["b"], t)
    l_ba = info_nce(q["b"], k["a"], queues_before["a"], t)
    torch.testing.assert_close(loss, l_ab + l_ba)
    torch.testing.assert_close(stats["loss/a->b"], l_ab)
    torch.testing.assert_close(stats["loss/b->a"], l_ba)
    # the intra-skeleton and swapped-queue alternatives give a different number
    intra = info_nce(q["a"], k["a"], queues_before["a"], t) + info_nce(
        q["b"], k["b"], queues_before["b"], t
    )
    swapped = info_nce(q["a"], k["b"], queues_before["a"], t) + info_nce(
        q["b"], k["a"], queues_before["b"], t
    )
    assert not torch.allclose(loss, intra) and not torch.allclose(loss, swapped)

    # each queue received its own representation's keys at slots 0..N-1
    n = SHAPE[0]
    for r in "ab":
        torch.testing.assert_close(m.queues[r].keys[:n], k[r])
        torch.testing.assert_close(m.queues[r].keys[n:], queues_before[r][n:])
        assert int(m.queues[r].ptr) == n

    # accuracy: % of rows whose positive logit is the largest
    _, logits = info_nce(q["a"], k["b"], queues_before["b"], t, return_logits=True)
    acc = (logits.argmax(1) == 0).float().mean() * 100
    torch.testing.assert_close(stats["acc/a->b"], acc)
    per_pair = {
        f"{s}/{p}" for s in ("loss", "acc", "align", "pos_cos", "neg_cos") for p in ("a->b", "b->a")
    }
    per_rep = {f"{s}/{r}" for s in ("std", "uniformity", "queue_age") for r in "ab"}
    assert set(stats) == per_pair | per_rep
    torch.testing.assert_close(stats["pos_cos/a->b"], (q["a"] * k["b"]).sum(1).mean())
    torch.testing.assert_close(stats["neg_cos/a->b"], (q["a"] @ queues_before["b"].T).mean())
    assert all(v.dim() == 0 and not v.requires_grad for v in stats.values())


def test_second_step_wraps_and_sees_first_keys_as_negatives():
    m = _model(["a", "b"], queue_size=5)
    vq, vk = _views(1)
    m(vq, vk)
    snapshot = {r: m.queues[r].keys.clone() for r in "ab"}
    vq2, vk2 = _views(2)
    loss, _ = m(vq2, vk2)
    q = {r: _q(m, r, vq2) for r in "ab"}
    k = {r: _k(m, r, vk2) for r in "ab"}
    expected = info_nce(q["a"], k["b"], snapshot["b"], m.temperature) + info_nce(
        q["b"], k["a"], snapshot["a"], m.temperature
    )
    torch.testing.assert_close(loss, expected)
    for r in "ab":  # 3 keys at slots 3, 4, 0
        torch.testing.assert_close(m.queues[r].keys[[3, 4, 0]], k[r])
        torch.testing.assert_close(m.queues[r].keys[1:3], snapshot[r][1:3])
        assert int(m.queues[r].ptr) == 1


def test_intra_skeleton_single_representation():
    m = _model(["a"])
    assert m.pairs == [("a", "a")]
    before = m.queues["a"].keys.clone()
    vq, vk = _views()
    loss, stats = m(vq, vk)
    expected = info_nce(_q(m, "a", vq), _k(m, "a", vk), before, m.temperature)
    torch.testing.assert_close(loss, expected)
    assert {"loss/a->a", "acc/a->a", "std/a", "queue_age/a"} <= set(stats)


def test_three_representations_sum_over_six_pairs():
    m = _model(["a", "b", "c"])
    before = {r: m.queues[r].keys.clone() for r in "abc"}
    vq, vk = _views()
    loss, stats = m(vq, vk)
    q = {r: _q(m, r, vq) for r in "abc"}
    k = {r: _k(m, r, vk) for r in "abc"}
    expected = sum(info_nce(q[a], k[b], before[b], m.temperature) for a, b in m.pairs)
    torch.testing.assert_close(loss, expected)
    assert len([s for s in stats if s.startswith("loss/")]) == 6


def test_gradients_reach_query_side_only():
    m = _model(["a", "b"])
    loss, _ = m(*_views())
    loss.backward()
    for p in [*m.query_encoders.parameters(), *m.query_heads.parameters()]:
        assert p.grad is not None and p.grad.abs().sum() > 0
    for p in [*m.key_encoders.parameters(), *m.key_heads.parameters()]:
        assert p.grad is None and not p.requires_grad
    assert all(not q.keys.requires_grad for q in m.queues.values())


def test_gather_hook_feeds_the_queue():
    calls = []

    def gather(t):
        calls.append(t.shape)
        return torch.cat([t, -t])

    m = _model(["a", "b"], queue_size=10, gather=gather)
    vq, vk = _views()
    m(vq, vk)
    assert calls == [(3, 1, 2, 4)]  # one gather: (N, directions, representations, D)
    for r in "ab":
        k = _k(m, r, vk)
        torch.testing.assert_close(m.queues[r].keys[:6], torch.cat([k, -k]))
        assert int(m.queues[r].ptr) == 6


def test_symmetric_enqueue_order_does_not_depend_on_the_processes():
    """A gather that stands for 2 processes (rank 1 holding -keys of clips 10-12): each
    direction's keys are gathered on their own, cat[gather(k2), gather(k1)], as one
    process holding the whole batch would enqueue them; not gather(cat[k2, k1])."""

    def gather(t):
        return torch.cat([t, -t if t.is_floating_point() else t + 10])

    m = _model(["a", "b"], queue_size=20, symmetric=True, gather=gather)
    ref = _model(["a", "b"], queue_size=20, symmetric=True)
    vq, vk = _views()
    m(vq, vk, ids=torch.arange(3))
    for r in "ab":
        k2, k1 = _k(m, r, vk), _k(m, r, vq)
        torch.testing.assert_close(m.queues[r].keys[:12], torch.cat([k2, -k2, k1, -k1]))
        assert m.queues[r].ids[:12].tolist() == [0, 1, 2, 10, 11, 12] * 2
    # with the identity gather (one process) the same model enqueues cat[k2, k1]
    ref(vq, vk)
    torch.testing.assert_close(
        ref.queues["a"].keys[:6], torch.cat([_k(ref, "a", vk), _k(ref, "a", vq)])
    )


def test_own_clip_keys_are_not_negatives():
    m = _model(["a", "b"], queue_size=6, intra_weight=1.0)
    _perturb_queries(m)
    vq, vk = _views()
    m(vq, vk, ids=torch.tensor([5, 6, 7]))  # the queues now hold clips 5, 6, 7 (twice: a, b)
    assert m.queues["a"].ids.tolist() == [5, 6, 7, -1, -1, -1]
    before = {r: m.queues[r].keys.clone() for r in "ab"}
    vq2, vk2 = _views(2)
    ids = torch.tensor([7, 9, 5])  # clips 7 and 5 meet their own older keys
    ref = __import__("copy").deepcopy(m)
    loss, stats = m(vq2, vk2, ids=ids)
    ref.momentum_update()
    q = {r: _q(ref, r, vq2) for r in "ab"}
    k = {r: _k(ref, r, vk2) for r in "ab"}
    t = m.temperature

    def by_hand(a, b):  # row by row: the queue without the query's own clip
        rows = []
        for i in range(3):
            keep = torch.tensor([c != int(ids[i]) for c in [5, 6, 7, -1, -1, -1]])
            rows.append(info_nce(q[a][i : i + 1], k[b][i : i + 1], before[b][keep], t))
        return torch.stack(rows).mean()

    expected = sum(by_hand(a, b) for a, b in m.weights)
    torch.testing.assert_close(loss, expected)
    # neg_cos leaves the excluded keys out: 5 negatives for the queries of clips 7, 5
    cos = q["a"] @ before["b"].T
    keep = ids[:, None] != torch.tensor([5, 6, 7, -1, -1, -1])[None]
    torch.testing.assert_close(stats["neg_cos/a->b"], cos[keep].mean())
    assert torch.isfinite(torch.stack(list(stats.values()))).all()
    # without ids nothing is excluded (the loss of the plain queue)
    plain = __import__("copy").deepcopy(ref)
    plain_loss, _ = plain(vq2, vk2)
    assert not torch.allclose(plain_loss, loss)


def test_config_errors():
    with pytest.raises(SkelconError):
        SkeletonMoCo({})
    with pytest.raises(SkelconError):
        _model(["a"], temperature=0.0)
    with pytest.raises(SkelconError):
        _model(["a"], momentum=1.5)


def test_optional_intra_terms_are_added_with_their_weight():
    m = _model(["a", "b"], intra_weight=0.5)
    _perturb_queries(m)
    queues_before = {r: m.queues[r].keys.clone() for r in m.representations}
    vq, vk = _views()
    loss, stats = m(vq, vk)
    q = {r: _q(m, r, vq) for r in "ab"}
    k = {r: _k(m, r, vk) for r in "ab"}
    t = m.temperature
    inter = info_nce(q["a"], k["b"], queues_before["b"], t) + info_nce(
        q["b"], k["a"], queues_before["a"], t
    )
    intra = info_nce(q["a"], k["a"], queues_before["a"], t) + info_nce(
        q["b"], k["b"], queues_before["b"], t
    )
    torch.testing.assert_close(loss, inter + 0.5 * intra)
    assert {"loss/a->a", "loss/b->b", "loss/a->b", "loss/b->a"} <= set(stats)
    with pytest.raises(SkelconError, match="intra_weight"):
        _model(["a", "b"], intra_weight=-1.0)


def test_projection_head_batch_norm_option():
    plain = _model(["a"])
    bn = _model(["a"], head_bn=True)
    assert not any(isinstance(x, nn.BatchNorm1d) for x in plain.query_heads.modules())
    assert sum(isinstance(x, nn.BatchNorm1d) for x in bn.query_heads.modules()) == 1
    assert sum(isinstance(x, nn.BatchNorm1d) for x in bn.key_heads.modules()) == 1


def test_symmetric_loss_adds_the_swapped_views_and_enqueues_both_keys():
    m = _model(["a", "b"], queue_size=10, symmetric=True)
    _perturb_queries(m)
    vq, vk = _views()
    before = {r: m.queues[r].keys.clone() for r in "ab"}
    m.momentum_update()  # forward updates the keys first; replay it on a copy below
    import copy

    ref = copy.deepcopy(m)
    m.load_state_dict(ref.state_dict())
    loss, stats = m(vq, vk)
    ref.momentum_update()
    t = m.temperature
    expected = sum(
        info_nce(_q(ref, a, x1), _k(ref, b, x2), before[b], t)
        for x1, x2 in ((vq, vk), (vk, vq))
        for a, b in (("a", "b"), ("b", "a"))
    )
    torch.testing.assert_close(loss, expected)
    n = SHAPE[0]
    for r in "ab":  # keys of view 2 then view 1
        torch.testing.assert_close(m.queues[r].keys[:n], _k(ref, r, vk))
        torch.testing.assert_close(m.queues[r].keys[n : 2 * n], _k(ref, r, vq))
        assert int(m.queues[r].ptr) == 2 * n


def test_shuffle_bn_keys_differ_only_through_batch_statistics():
    class BNFlat(Flat):
        def __init__(self, feature_dim):
            super().__init__(feature_dim)
            self.bn = nn.BatchNorm1d(feature_dim)

        def forward(self, x):
            return self.bn(self.fc(x.flatten(1)))

    torch.manual_seed(0)
    x = torch.randn(8, 3, 4, 5, 2)
    plain = SkeletonMoCo({"a": BNFlat(6)}, dim=4, queue_size=4, momentum=0.5)
    shuffled = SkeletonMoCo({"a": BNFlat(6)}, dim=4, queue_size=4, momentum=0.5, shuffle_bn=2)
    shuffled.load_state_dict(plain.state_dict())
    g = torch.Generator().manual_seed(3)
    k_plain = plain._keys(x, None)["a"]
    k_shuf = shuffled._keys(x, g)["a"]
    assert not torch.allclose(k_plain, k_shuf)  # group statistics, not the full batch
    # every key is its own sample's: encoding the groups by hand gives the same rows
    perm = torch.randperm(8, generator=torch.Generator().manual_seed(3))
    enc = lambda z: F.normalize(shuffled.key_heads["a"](shuffled.key_encoders["a"](z)), dim=1)  # noqa: E731
    manual = torch.empty_like(k_shuf)
    for ids in perm.chunk(2):
        manual[ids] = enc(x[ids])
    torch.testing.assert_close(k_shuf, manual)
