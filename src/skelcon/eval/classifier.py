"""The classifier an evaluation trained, kept beside its ``metrics.json`` as ``model.pt``.

``eval linear|finetune|semi|supervised|transfer`` write ``OUT/model.pt`` (atomically):
everything needed to classify new clips without the run, the dataset or skelcon's
config, as a dict of tensors and plain values (``torch.load(weights_only=True)``):

* ``format`` (:data:`FORMAT`), ``format_version``, ``skelcon_version``, ``protocol``,
  ``representation`` (``seq``, ``seq+stg``...), ``stream``;
* ``classes``: the class names, index = logit column;
* ``contract``: what a clip must be brought to (:func:`data_contract`): the evaluation
  data's layout (name and definition), channels, ``num_joints``, ``num_persons``,
  ``max_frames`` (the padded length), ``normalization`` (the dataset's note; ``None``
  for the built-in 3D preparations, whose standard normalisation
  :func:`~skelcon.data.rawclip.contract_norm` knows), ``crop`` (the evaluation's test
  input: centre crop of 95 % of the valid frames resized to the encoder's frames, done
  by the model itself) and ``stream``;
* ``encoder``: ``representations``, ``preset``, ``spec`` (the data spec the encoders are
  built for, :class:`~skelcon.engine.build.DataSpec`), ``feature_dim``;
* ``classifier``: ``kind`` (``linear``), ``in_dim``, ``num_classes``, ``standardize``
  (linear evaluation's ``BatchNorm1d(affine=False)`` before the linear layer);
* ``models``: one entry per trained model, in the order of ``scores.npy``'s first axis:
  ``id`` (``linear``; ``FRACTION:REPEAT`` for the fine-tuning protocols, e.g. ``0.1:2``),
  ``fraction``, ``repeat``, ``top1``, ``encoder_state`` (the encoder's weights and
  buffers: frozen for ``linear``, fine-tuned for the others) and ``classifier_state``;
* ``source``: the checkpoint (and its epoch), data, benchmark and ``random_init``.

:func:`load_classifier` rebuilds one model as a :class:`SavedClassifier`. A file of
several models (``semi``'s label fractions x repeats) needs ``model=`` (an ``id`` or a
0-based index); without it the load is refused in one line listing the choices.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from ..augment import CENTER_CROP_RATIO
from ..data.channels import channels_of
from ..data.rawclip import load_contract
from ..errors import SkelconError
from .encoder import LoadedEncoder

if TYPE_CHECKING:
    from .inputs import Predictions

MODEL_FILE = "model.pt"
FORMAT = "skelcon-classifier"
FORMAT_VERSION = 1

# the entries of a prepared dataset's meta.json (or a checkpoint's data spec) a clip is
# read by (skelcon.data.rawclip.ClipReader); the rest of meta.json is not needed
_CONTRACT_KEYS = ("dataset", "layout", "layout_def", "normalization", "source_format")


def data_contract(meta: Mapping[str, Any], loaded: LoadedEncoder) -> dict[str, Any]:
    """What a clip must become for the classifier trained on data ``meta`` (a prepared
    dataset's ``meta.json``) with encoder ``loaded``: layout, channels, sizes, padded
    length and normalisation (as :func:`~skelcon.data.rawclip.load_contract` reads
    them), the test-time crop and the stream. Plain values only."""
    full = load_contract(dict(meta))
    _, c, t, v, m = (int(n) for n in full["shape"])
    out: dict[str, Any] = {k: full.get(k) for k in _CONTRACT_KEYS}
    out.update(
        channels=list(channels_of(full)),
        in_channels=c,
        num_joints=v,
        num_persons=int(full.get("num_persons", m)),
        max_frames=int(full.get("max_frames", t)),
        axes="(N, C, T, V, M): clips, channels, frames (zero-padded after num_frames), joints, persons",
        crop={
            "what": "centre crop of the valid frames resized to the encoder's frames "
            "(linear interpolation); done by the model: give whole clips",
            "ratio": CENTER_CROP_RATIO,
            "length": f"max(floor({CENTER_CROP_RATIO} * num_frames), 1)",
            "encoder_frames": loaded.num_frames,
        },
        stream=loaded.stream,
    )
    return out


def snapshot(module: nn.Module) -> dict[str, torch.Tensor]:
    """A CPU copy of ``module``'s state dict (weights and buffers)."""
    return {k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()}


def model_entry(
    encoder: nn.Module, head: nn.Module, *, model_id: str, top1: float, **ident: Any
) -> dict[str, Any]:
    """One trained model of a model file: its ``id``, what identifies it (``fraction``,
    ``repeat``), its ``top1`` and CPU copies of the encoder's and classifier's states."""
    return {
        "id": model_id,
        **ident,
        "top1": float(top1),
        "encoder_state": snapshot(encoder),
        "classifier_state": snapshot(head),
    }


def finetune_id(fraction: float, repeat: int) -> str:
    """``0.1:2``: the id of the model trained on label ``fraction``, subset ``repeat``."""
    return f"{fraction:g}:{repeat}"


def save_classifier(
    out_dir: str | os.PathLike[str],
    *,
    protocol: str,
    loaded: LoadedEncoder,
    meta: Mapping[str, Any],
    classes: Sequence[str],
    standardize: bool,
    models: Sequence[dict[str, Any]],
    source: Mapping[str, Any],
) -> Path:
    """Write ``out_dir/model.pt`` (module doc) atomically; returns its path.

    ``loaded``: the encoder the models were trained from (its representations, preset
    and data spec; the weights come from ``models``); ``meta``: the evaluation data's
    ``meta.json``; ``models``: :func:`model_entry` dicts in ``scores.npy`` order."""
    from ..engine.checkpoint import save_checkpoint
    from ..version import package_version

    if not models:
        raise ValueError("save_classifier needs at least one model")
    state = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "skelcon_version": package_version(),
        "protocol": protocol,
        "representation": "+".join(loaded.representations),
        "stream": loaded.stream,
        "classes": [str(c) for c in classes],
        "contract": data_contract(meta, loaded),
        "encoder": {
            "representations": list(loaded.representations),
            "preset": loaded.preset,
            "spec": dict(loaded.spec),
            "feature_dim": int(loaded.feature_dim),
        },
        "classifier": {
            "kind": "linear",
            "in_dim": int(loaded.feature_dim),
            "num_classes": len(classes),
            "standardize": bool(standardize),
        },
        "models": [dict(m) for m in models],
        "source": dict(source),
    }
    path = Path(out_dir) / MODEL_FILE
    save_checkpoint(path, state)
    return path


# ---------------------------------------------------------------------------- loading


class SavedClassifier(nn.Module):
    """One model of a ``model.pt``: ``model(x (N, C, T, V, M), num_frames (N,))`` ->
    logits ``(N, len(classes))`` float32, in eval mode, without gradients.

    ``x`` is a batch as a prepared dataset stores it (whole clips, zero-padded after
    ``num_frames``); the model applies the evaluation's test input itself (centre crop,
    resized to the encoder's frames: ``contract["crop"]``), so its logits are those the
    evaluation scored. Attributes: ``encoder`` (a
    :class:`~skelcon.eval.encoder.LoadedEncoder`), ``head``, ``classes``, ``contract``
    (what raw clips are brought to, see :func:`data_contract`), ``model_id`` and
    ``info`` (protocol, representation, stream, source, top1, the file's skelcon
    version). :meth:`predict_files` classifies raw clip files."""

    def __init__(
        self,
        encoder: LoadedEncoder,
        head: nn.Module,
        classes: list[str],
        contract: dict[str, Any],
        model_id: str,
        info: dict[str, Any],
    ):
        super().__init__()
        self.encoder = encoder
        self.head = head
        self.classes = list(classes)
        self.contract = dict(contract)
        self.model_id = model_id
        self.info = dict(info)

    @property
    def device(self) -> torch.device:
        """Where the weights are."""
        return self.encoder.device

    @torch.no_grad()
    def forward(self, x: Any, num_frames: Any) -> torch.Tensor:
        """Logits ``(N, classes)`` float32 on :attr:`device` (see the class doc);
        :class:`SkelconError` for a batch of another ``C``, ``V`` or ``M``."""
        logits: torch.Tensor = self.head(self.encoder(x, num_frames))
        return logits.float()

    def predict_files(
        self,
        paths: Sequence[str | os.PathLike[str]],
        *,
        batch_size: int = 64,
        channels: Sequence[str] | None = None,
        strict: bool = False,
    ) -> Predictions:
        """Classify raw clips (files, OpenPose folders, PYSKL pickles, folders of them:
        :mod:`skelcon.data.rawinputs`), read as the evaluation data were prepared; a
        :class:`~skelcon.eval.inputs.Predictions` (``.top(k)``, ``.probabilities``)."""
        from .inputs import predict_inputs

        return predict_inputs(
            self, paths, batch_size=batch_size, channels=channels, strict=strict, progress=False
        )

    def extra_repr(self) -> str:
        return (
            f"protocol={self.info.get('protocol')}, model={self.model_id}, "
            f"classes={len(self.classes)}, representation={self.info.get('representation')}"
        )


def model_path(path_or_eval_dir: str | os.PathLike[str]) -> Path:
    """``EVAL_DIR/model.pt`` for an evaluation directory, the file itself otherwise; a
    one-line :class:`SkelconError` when there is none (kNN and evaluations run before
    the model file existed keep no classifier)."""
    p = Path(os.fspath(path_or_eval_dir))
    f = p / MODEL_FILE if p.is_dir() else p
    if f.is_file():
        return f
    if p.is_dir():
        why = "rerun the evaluation with this skelcon to keep its classifier"
        metrics = p / "metrics.json"
        if metrics.is_file():
            import json

            try:
                protocol = json.loads(metrics.read_text()).get("protocol")
            except (ValueError, OSError, AttributeError):
                protocol = None
            if protocol == "knn":
                why = (
                    "kNN trains no classifier; use a linear or fine-tuning evaluation "
                    "(skelcon eval linear ...)"
                )
        elif (p / "last.pt").is_file():
            why = "it is a pre-training run: give the --out of a `skelcon eval` command"
        raise SkelconError(f"{p} holds no {MODEL_FILE}: {why}")
    raise SkelconError(
        f"model file {str(p)!r} not found (give an evaluation directory or its {MODEL_FILE})"
    )


def read_model_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The dict of a ``model.pt`` (``weights_only=True``), checked to be one; a one-line
    :class:`SkelconError` for a missing, corrupt or foreign file."""
    p = model_path(path)
    try:
        state = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any failure here is a bad user file
        text = str(e).strip()
        if not zipfile.is_zipfile(p):
            why = "truncated, corrupt or not a torch file"
        elif "weights_only" in text or "Weights only load failed" in text:
            why = "it holds objects other than tensors and plain values (refused, not run)"
        else:
            why = f"not readable ({text.splitlines()[0] if text else type(e).__name__})"
        raise SkelconError(f"cannot load model {str(p)!r}: {why}") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise SkelconError(
            f"{p} is not a skelcon classifier file (a checkpoint? give the --out of "
            "`skelcon eval linear|finetune|semi|supervised|transfer`)"
        )
    version = state.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise SkelconError(
            f"{p}: classifier format {version!r} is newer than this skelcon reads "
            f"(1..{FORMAT_VERSION}; written by skelcon {state.get('skelcon_version')})"
        )
    why = damage(state)
    if why:
        raise SkelconError(f"{p} is damaged: {why} (rerun the evaluation to write it anew)")
    return state


def damage(state: Mapping[str, Any]) -> str:
    """``""``, or what is wrong with the structure of a model file's dict (module doc):
    the entries :func:`load_classifier` reads, their types and their agreement."""
    from ..config import STREAMS

    def bad(key: str, want: str) -> str:
        return f"{key} is {state_get(key)!r}, expected {want}"

    def state_get(key: str) -> Any:
        d: Any = state
        for k in key.split("."):
            d = d.get(k) if isinstance(d, Mapping) else None
        return d

    classes, models = state_get("classes"), state_get("models")
    if not (isinstance(classes, list) and classes and all(isinstance(c, str) for c in classes)):
        return "classes is not a non-empty list of names"
    if not isinstance(state_get("protocol"), str):
        return bad("protocol", "a protocol name")
    if not isinstance(state_get("representation"), str):
        return bad("representation", "a representation name")
    if not isinstance(state_get("encoder.preset"), str):
        return bad("encoder.preset", "a preset name")
    if not isinstance(state_get("contract.layout"), str):
        return bad("contract.layout", "a layout name")
    for key in ("contract.num_persons", "contract.num_joints", "contract.in_channels"):
        if not (isinstance(state_get(key), int) and state_get(key) > 0):
            return bad(key, "a positive integer")
    channels = state_get("contract.channels")
    if not (isinstance(channels, list) and all(isinstance(c, str) for c in channels)):
        return bad("contract.channels", "a list of channel names")
    if not isinstance(state_get("encoder.spec"), Mapping):
        return "encoder.spec is missing"
    reps = state_get("encoder.representations")
    if not (isinstance(reps, list) and reps and all(isinstance(r, str) for r in reps)):
        return bad("encoder.representations", "a list of representation names")
    if state_get("classifier.kind") != "linear":
        return bad("classifier.kind", "'linear'")
    for key in ("classifier.in_dim", "classifier.num_classes"):
        if not (isinstance(state_get(key), int) and state_get(key) > 0):
            return bad(key, "a positive integer")
    if state_get("classifier.num_classes") != len(classes):
        return f"classifier.num_classes {state_get('classifier.num_classes')} != {len(classes)} classes"
    if not isinstance(state_get("classifier.standardize"), bool):
        return bad("classifier.standardize", "true or false")
    if not isinstance(state_get("contract"), Mapping):
        return "contract is missing"
    frames = state_get("contract.max_frames")
    if frames is not None and not (isinstance(frames, int) and frames > 0):
        return bad("contract.max_frames", "a positive number of frames")
    if state_get("stream") not in (None, *STREAMS):
        return bad("stream", f"one of {', '.join(STREAMS)}")
    if not (isinstance(models, list) and models):
        return "models is empty: the file keeps no model"
    for m in models:
        if not (isinstance(m, Mapping) and isinstance(m.get("id"), str)):
            return "a models entry has no id"
        for k in ("encoder_state", "classifier_state"):
            if not isinstance(m.get(k), Mapping):
                return f"model {m['id']} has no {k}"
            for name, t in m[k].items():
                if isinstance(t, torch.Tensor) and t.is_floating_point() and not t.isfinite().all():
                    return f"model {m['id']}'s {name} holds NaN or infinite weights"
    return ""


CHOOSE = "skelcon predict --which ID, load_classifier(..., model=ID)"


def model_ids(state: Mapping[str, Any]) -> list[str]:
    """The ids of the models in a model file, in order."""
    return [str(m["id"]) for m in state["models"]]


def choose_model(state: Mapping[str, Any], model: str | int | None, path: object) -> int:
    """The index of the model ``model`` names (an id like ``0.1:2``, or a 0-based
    index); ``None`` for a file of one model. One-line :class:`SkelconError` listing
    the choices otherwise."""
    ids = model_ids(state)
    choices = ", ".join(ids[:30]) + (" ..." if len(ids) > 30 else "")
    if model is None:
        if len(ids) == 1:
            return 0
        raise SkelconError(
            f"{path} holds {len(ids)} models of {state['protocol']} (label fraction:repeat); "
            f"choose one ({CHOOSE}; valid: {choices}, or an index 0..{len(ids) - 1})"
        )
    text = str(model).strip()
    if text in ids:
        return ids.index(text)
    if text.isdigit() and int(text) < len(ids):
        return int(text)
    if ":" in text:  # 0.10:2 is 0.1:2
        try:
            f, r = text.split(":", 1)
            alt = finetune_id(float(f), int(r))
        except ValueError:
            alt = None
        if alt in ids:
            return ids.index(alt)
    raise SkelconError(
        f"model {text!r} is not in {path} (valid: {choices}, or an index 0..{len(ids) - 1})"
    )


def build_head(spec: Mapping[str, Any]) -> nn.Module:
    """The classifier a model file describes (``classifier`` entry), untrained."""
    from .linear import linear_probe

    if spec.get("kind") != "linear":
        raise SkelconError(f"unknown classifier kind {spec.get('kind')!r} (valid: linear)")
    return linear_probe(int(spec["in_dim"]), int(spec["num_classes"]), bool(spec["standardize"]))


def load_classifier(
    path_or_eval_dir: str | os.PathLike[str],
    device: str | torch.device = "cpu",
    model: str | int | None = None,
) -> SavedClassifier:
    """The classifier of an evaluation (its directory or ``model.pt``) as a ready model:
    a :class:`SavedClassifier` in eval mode, frozen, on ``device`` (``cpu``, ``cuda``,
    ``cuda:N``, ``auto``). ``model``: which model of a file holding several (module
    doc); a file of one needs none. Loads with ``weights_only=True``. Raises a one-line
    :class:`SkelconError` for a missing or foreign file, a model it does not hold, or
    weights that do not fit the architecture the file describes."""

    path = model_path(path_or_eval_dir)
    state = read_model_file(path)
    i = choose_model(state, model, path)
    try:
        return _build(state, i, path, device)
    except (KeyError, TypeError, ValueError, IndexError) as e:  # what damage() does not see
        raise SkelconError(
            f"{path} is damaged: {type(e).__name__}: {e} (rerun the evaluation to write it anew)"
        ) from None


def _build(
    state: Mapping[str, Any], i: int, path: Path, device: str | torch.device
) -> SavedClassifier:
    """The :class:`SavedClassifier` of model ``i`` of the checked ``state`` (:func:`load_classifier`)."""
    from ..engine.build import build_encoders
    from ..engine.device import resolve_device
    from .encoder import ConcatEncoder

    entry = state["models"][i]
    enc_spec = state["encoder"]
    reps = list(enc_spec["representations"])
    built = build_encoders(reps, enc_spec["preset"], enc_spec["spec"])
    enc = built[reps[0]] if len(reps) == 1 else ConcatEncoder(built)
    head = build_head(state["classifier"])
    for what, module, weights in (
        ("encoder", enc, entry["encoder_state"]),
        ("classifier", head, entry["classifier_state"]),
    ):
        try:
            module.load_state_dict(weights)
        except RuntimeError as e:
            first = str(e).splitlines()[1].strip() if "\n" in str(e) else str(e)
            raise SkelconError(
                f"{path}: the {what} weights of model {entry['id']} do not fit the "
                f"architecture the file describes ({first})"
            ) from None
    source = dict(state.get("source") or {})
    loaded = LoadedEncoder(
        enc,
        enc_spec["spec"],
        reps,
        enc_spec["preset"],
        source.get("checkpoint"),
        source.get("checkpoint_epoch"),
        source.get("imported") if isinstance(source.get("imported"), dict) else None,
    )
    info = {
        "protocol": state["protocol"],
        "representation": state["representation"],
        "stream": state.get("stream", "joint"),
        "model": entry["id"],
        "top1": entry.get("top1"),
        "fraction": entry.get("fraction"),
        "repeat": entry.get("repeat"),
        "source": source,
        "skelcon_version": state.get("skelcon_version"),
        "file": str(path),
    }
    clf = SavedClassifier(loaded, head, state["classes"], state["contract"], entry["id"], info)
    clf.eval()
    for p in clf.parameters():
        p.requires_grad_(False)
    return clf.to(resolve_device(str(device)))
