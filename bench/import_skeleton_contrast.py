"""``skelcon import-weights`` against the authors' own model code: same features?

    PYTHONPATH=src python bench/import_skeleton_contrast.py --repo /tmp/skeleton-contrast

``--repo`` is a checkout of https://github.com/fmthoker/skeleton-contrast (e.g.
``git -C <bare repo> archive HEAD | tar -x -C /tmp/skeleton-contrast``; it is not part of
this repository and nothing of it is copied here). The script builds their MoCo models on
the CPU with their model arguments (``options/options_pretraining.py``: BIGRU 3 x 1024,
HCN, 2s-AGCN, ``--mlp`` heads): the inter-skeleton ``seq-based_and_graph-based`` model
(SEQ in ``encoder_q``, STG in ``encoder_r``) and ``graph-based_and_image-based`` (IMG in
``encoder_r``). Every float parameter and buffer of their modules is then redrawn at
random (BatchNorm statistics, the AGCN's ``PA`` and gcn BatchNorm scales, which their
init sets to constants), each model is saved as their ``save_checkpoint`` saves it
(``nn.DataParallel`` keys, ``epoch``, the SGD ``optimizer`` state; the legacy
non-zip format of their PyTorch 1.2), imported with ``import_weights``, and the features
are compared on the same random NTU-shaped batch (eval mode, 64 frames; the second person
zero in half of the clips): their ``encoder(x, knn_eval=True)`` (SEQ input in their
feeder's order, ``(N, T, V*C*M)`` joint-major) against skelcon's ``load_encoder(run,
rep).encoder(x)``, and their full query forward (through the ``fc`` MLP head) against
skelcon's ``ProjectionHead`` loaded from the run's ``query_heads``. Printed per
representation: max |difference| of the features and of the head outputs, the largest
|feature|, and (SEQ) the difference when the same weights run with skelcon's default
bidirectional recurrence instead of ``stepwise``. Target: within 1e-5.

Run under their code unmodified but for the CPU, as ``bench/authors_step.py`` does:
``Tensor.cuda`` returns the tensor itself (their AGCN moves its graph with
``A.cuda(x.get_device())``), ``torch.cuda.is_available`` is False, and an empty
``torchvision`` module stands in when torchvision is not installed (they import it
without using it). Their ``seq-based_and_image-based`` model cannot be built (its
builder names an undefined ``GRU_model``); SEQ and IMG are covered by the two others.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
import time
import types
from pathlib import Path

import torch
from torch import nn

PAIRS = {  # their --skeleton-representation -> (encoder_q, encoder_r) representations
    "seq-based_and_graph-based": ("seq", "stg"),
    "graph-based_and_image-based": ("stg", "img"),
}


def load_theirs(repo: str) -> types.SimpleNamespace:
    """Their ``MoCo`` (builder_inter) and model arguments, imported from ``repo``."""
    torch.Tensor.cuda = lambda self, *args, **kwargs: self  # type: ignore[method-assign]
    torch.cuda.is_available = lambda: False  # their GRU module picks its device from this
    try:
        import torchvision  # noqa: F401  (imported, not used, by their modules)
    except ImportError:
        sys.modules["torchvision"] = types.ModuleType("torchvision")
    sys.path.insert(0, repo)
    from moco.builder_inter import MoCo  # their code
    from options import options_pretraining as opts

    return types.SimpleNamespace(
        MoCo=MoCo,
        gru=opts.bi_gru_model_arguments,
        agcn=opts.agcn_model_arguments,
        hcn=opts.hcn_model_arguments,
    )


@torch.no_grad()
def randomise(module: nn.Module, gen: torch.Generator) -> None:
    """Redraw every float parameter and buffer around its value: noise of half its spread
    (0.1 where it is constant), BatchNorm running variances in [0.5, 1.5]."""
    for name, t in module.state_dict().items():
        if not t.is_floating_point():
            continue
        if name.endswith("running_var"):
            t.copy_(0.5 + torch.rand(t.shape, generator=gen))
            continue
        spread = float(t.std()) if t.numel() > 1 else 0.0
        t.add_(torch.randn(t.shape, generator=gen) * (0.5 * spread if spread > 0 else 0.1))


def build_and_save(theirs, pair: str, queue: int, path: Path, seed: int) -> nn.Module:
    """Their inter-skeleton MoCo for ``pair``, randomised, saved as their script saves it."""
    with contextlib.redirect_stdout(io.StringIO()):  # they print every module
        model = theirs.MoCo(
            pair, theirs.gru, theirs.agcn, theirs.hcn, 128, queue, 0.999, 0.07, True
        )
    gen = torch.Generator().manual_seed(seed)
    randomise(model.encoder_q, gen)
    randomise(model.encoder_r, gen)
    model.eval()
    wrapped = nn.DataParallel(model)  # on a CPU-only machine: the module, keys "module."
    opt = torch.optim.SGD(model.parameters(), 0.01, momentum=0.9, weight_decay=1e-4)
    state = {"epoch": 451, "state_dict": wrapped.state_dict(), "optimizer": opt.state_dict()}
    torch.save(state, path, _use_new_zipfile_serialization=False)
    return model


def their_input(rep: str, x: torch.Tensor) -> torch.Tensor:
    """Their feeder's input: SEQ ``(N, T, V*C*M)`` from ``(N, C, T, V, M)`` (their
    ``transpose(1, 2, 0, 3).reshape(-1, 150)`` per clip), IMG and STG ``x`` itself."""
    if rep == "seq":
        n, _, t = x.shape[:3]
        return x.permute(0, 2, 3, 1, 4).reshape(n, t, -1).contiguous()
    return x


def compare(theirs, pair: str, args, work: Path, x: torch.Tensor) -> list[str]:
    """The lines of one of their models: import it and compare every query encoder."""
    from skelcon.encoders.heads import ProjectionHead
    from skelcon.engine.checkpoint import load_checkpoint
    from skelcon.engine.imported import import_weights
    from skelcon.eval.encoder import load_encoder

    path = work / f"{pair}.pth.tar"
    t0 = time.perf_counter()
    model = build_and_save(theirs, pair, args.queue, path, args.seed)
    saved = time.perf_counter() - t0
    run = work / f"run-{pair}"
    t0 = time.perf_counter()
    res = import_weights("skeleton-contrast", path, run, dataset="ntu60", benchmark="xsub")
    took = time.perf_counter() - t0
    ckpt = load_checkpoint(run)
    lines = [
        f"{pair}: their checkpoint {path.stat().st_size / 2**20:.0f} MiB (built and saved in "
        f"{saved:.1f} s), imported in {took:.1f} s as {'+'.join(res.representations)}, "
        f"preset {res.preset}"
    ]
    for module, rep in zip(("encoder_q", "encoder_r"), PAIRS[pair], strict=True):
        enc = getattr(model, module)
        inp = their_input(rep, x)
        with torch.no_grad():
            ref = enc(inp, knn_eval=True)
            ref_head = enc(inp)
            loaded = load_encoder(run, rep)
            ours = loaded.encoder(x)
            head = ProjectionHead(ours.shape[1], res_head_dim(ckpt))
            prefix = f"query_heads.{rep}."
            head.load_state_dict(
                {k[len(prefix) :]: v for k, v in ckpt["model"].items() if k.startswith(prefix)}
            )
            ours_head = head.eval()(ours)
        diff = float((ours - ref).abs().max())
        hdiff = float((ours_head - ref_head).abs().max())
        rel = diff / max(float(ref.abs().max()), 1e-12)
        line = (
            f"  {rep.upper()} ({module}, their {type(enc).__name__}): feature {tuple(ours.shape)}, "
            f"max |Δ| {diff:.2e} (max |feature| {float(ref.abs().max()):.3g}, relative "
            f"{rel:.1e}); head max |Δ| {hdiff:.2e}"
        )
        if rep == "seq":
            from skelcon.encoders import build_encoder

            bi = build_encoder("seq", res.preset)  # the default recurrence, same weights
            bi.load_state_dict(loaded.encoder.state_dict())
            with torch.no_grad():
                other = float((bi.eval()(x) - ref).abs().max())
            line += f"; with recurrence bidirectional instead: max |Δ| {other:.3g}"
        ok = diff <= args.tolerance and hdiff <= args.tolerance
        lines.append(line + ("" if ok else f"  ABOVE {args.tolerance:g}"))
    return lines


def res_head_dim(ckpt: dict) -> int:
    return int(ckpt["config"]["moco"]["dim"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repo", required=True, help="checkout of fmthoker/skeleton-contrast")
    ap.add_argument("--batch", type=int, default=4, help="clips compared (default 4)")
    ap.add_argument("--queue", type=int, default=64, help="their queue length (default 64)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tolerance", type=float, default=1e-5)
    ap.add_argument("--work", help="folder for the checkpoints and runs (default: a temporary one)")
    args = ap.parse_args()
    if not (Path(args.repo) / "moco" / "builder_inter.py").is_file():
        print(f"{args.repo} is not a checkout of skeleton-contrast (no moco/builder_inter.py)")
        return 2
    torch.manual_seed(args.seed)
    theirs = load_theirs(args.repo)
    gen = torch.Generator().manual_seed(args.seed + 1)
    x = torch.randn(args.batch, 3, 64, 25, 2, generator=gen) * 0.5
    x[::2, ..., 1] = 0  # a single-person clip: the second person all zeros
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; batch {args.batch} x "
        f"(3, 64, 25, 2), float32, eval mode"
    )
    bad = False
    with tempfile.TemporaryDirectory(dir=args.work) as tmp:
        for pair in PAIRS:
            lines = compare(theirs, pair, args, Path(tmp), x)
            bad = bad or any("ABOVE" in line for line in lines)
            print("\n".join(lines), flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
