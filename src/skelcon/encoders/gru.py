"""A multi-layer bidirectional GRU on ``nn.GRU``'s parameters, with a hand-written backward.

Same function as ``nn.GRU(bidirectional=True, batch_first=True)`` (PyTorch's gate
equations, weights ``weight_ih_l{k}[_reverse]: (3H, F)`` in gate order r, z, n), built
for the CPU, where ``nn.GRU`` records every time step's small ops for autograd and
its backward then computes one ``(3H, H)`` weight gradient per step and sums them.
Here:

* each layer's input projection ``x W_ih^T + b_ih`` is one GEMM over all time steps
  and both directions;
* the recurrence runs both directions in one loop inside :class:`_Recurrence`, whose
  backward through time does only the per-step ``dh W_hh`` GEMM and computes ``dW_hh``
  and ``db_hh`` once at the end as one ``(3H, T*N) x (T*N, H)`` GEMM;
* the per-step GEMMs (a batch of N rows against a ``3H x H`` matrix) use weights packed
  once per pass (:class:`_StepGemm`), not re-packed at every step;
* ``top="last"``: the top layer's reverse direction is evaluated only at the last
  time step (one step from the zero state), which is all a last-step readout reads.
  Its recurrent weights still get their (zero) gradient, as with ``nn.GRU``.

Matmuls run in the autocast dtype when autocast is on (bf16/fp16), the recurrent
state and the gate arithmetic in the parameters' dtype (fp32).

The stepwise recurrence (:func:`stepwise_forward`, :func:`stepwise_fused`) is the GRU of
the paper authors' code: the same ``nn.GRU(bidirectional=True)`` parameters, fed one
frame per call with the hidden state carried over, so each layer's "reverse" direction
also reads the frames in order: two forward GRUs per layer with their own weights, both
reading the concatenated outputs of the layer below at the same step.
"""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import nn

from ..utils.cpu import cpu_caps


def _gemm_dtype(device_type: str, param_dtype: torch.dtype) -> torch.dtype:
    """The autocast dtype of ``device_type`` when autocast is enabled there, else ``param_dtype``."""
    if torch.is_autocast_enabled(device_type):
        return torch.get_autocast_dtype(device_type)
    return param_dtype


def _packed_gemm_available(dtype: torch.dtype = torch.float32) -> bool:
    """Whether oneDNN's pre-packed linear (PyTorch's CPU inference-freezing ops) runs
    ``dtype`` here: fp32 on every CPU, bf16 only where oneDNN has native bf16 GEMMs
    (AVX-512 BW/VL/DQ or AVX-NE-CONVERT on x86, bf16 on aarch64; see
    :func:`skelcon.utils.cpu.cpu_caps`): on an AVX2-only CPU its bf16 reorder raises."""
    ops = torch.ops.mkldnn
    if dtype not in (torch.float32, torch.bfloat16):
        return False
    return (
        torch.backends.mkldnn.is_available()
        and hasattr(ops, "_reorder_linear_weight")
        and hasattr(ops, "_linear_pointwise")
        and (dtype == torch.float32 or cpu_caps().bf16_gemm)
    )


class _StepGemm:
    """``h: (D, N, K)`` -> ``h W_d^T + b_d: (D, N, J)`` for weights ``w: (D, J, K)``, called
    once per time step with the same weights.

    On the CPU the weights are packed once into oneDNN's blocked layout
    (``mkldnn._reorder_linear_weight``, as PyTorch's inference freezing does), so the
    per-step GEMM of a small batch does not re-pack a ``J x K`` matrix every call (about
    twice as fast for N=16, J=3072, K=1024); elsewhere (other devices, fp64, fp16, and
    bf16 on a CPU without native bf16 GEMMs) a batched ``baddbmm``. Runs in ``dtype``;
    returns ``out_dtype``.
    """

    def __init__(
        self,
        w: torch.Tensor,
        b: torch.Tensor | None,
        batch: int,
        dtype: torch.dtype,
        out_dtype: torch.dtype,
    ):
        self.dtype, self.out_dtype = dtype, out_dtype
        w = w.detach().to(dtype)
        self.bias = None if b is None else b.detach().to(dtype)
        self.packed = None
        if w.device.type == "cpu" and _packed_gemm_available(dtype):
            pack = torch.ops.mkldnn._reorder_linear_weight
            self.packed = [pack(w[d].contiguous(), batch) for d in range(w.shape[0])]
        else:
            self.w_t = w.transpose(1, 2)

    def __call__(self, h: torch.Tensor) -> torch.Tensor:
        h = h.to(self.dtype)
        if self.packed is None:
            if self.bias is None:
                return torch.bmm(h, self.w_t).to(self.out_dtype)
            return torch.baddbmm(self.bias.unsqueeze(1), h, self.w_t).to(self.out_dtype)
        linear = torch.ops.mkldnn._linear_pointwise
        out = [
            linear(h[d], pw, None if self.bias is None else self.bias[d], "none", [], "")
            for d, pw in enumerate(self.packed)
        ]
        return torch.stack(out).to(self.out_dtype)


class _Recurrence(torch.autograd.Function):
    """GRU recurrence of D independent directions, in processing order.

    forward(gi: (T, D, N, 3H) input projections incl. ``b_ih``, in the parameters' dtype;
    w_hh: (D, 3H, H); b_hh: (D, 3H); dtype: the GEMM dtype) -> hs: (T, D, N, H) in the
    parameters' dtype, the hidden state
    after each step, from the zero initial state. Direction d's step i reads ``gi[i, d]``
    (callers flip a reverse direction's time axis before and after).
    """

    @staticmethod
    def forward(ctx, gi, w_hh, b_hh, dtype):  # type: ignore[override]
        t_len, d, n, h3 = gi.shape
        h = h3 // 3
        gemm = _StepGemm(w_hh, b_hh, n, dtype, gi.dtype)  # h W_hh^T + b_hh
        hs = gi.new_empty(t_len, d, n, h)
        rz = gi.new_empty(t_len, d, n, 2 * h)
        new = gi.new_empty(t_len, d, n, h)
        ghn = gi.new_empty(t_len, d, n, h)
        state = gi.new_zeros(d, n, h)
        for i in range(t_len):
            gh = gemm(state)  # (D, N, 3H)
            torch.sigmoid(gi[i, :, :, : 2 * h] + gh[..., : 2 * h], out=rz[i])
            ghn[i].copy_(gh[..., 2 * h :])
            torch.tanh(torch.addcmul(gi[i, :, :, 2 * h :], rz[i, ..., :h], ghn[i]), out=new[i])
            torch.lerp(new[i], state, rz[i, ..., h:], out=hs[i])  # (1 - z) n + z h
            state = hs[i]
        ctx.save_for_backward(w_hh, hs, rz, new, ghn)
        ctx.dtype = dtype
        return hs

    @staticmethod
    def backward(ctx, dhs):  # type: ignore[override]
        w_hh, hs, rz, new, ghn = ctx.saved_tensors
        dtype = ctx.dtype
        t_len, d, n, h = hs.shape
        r, z = rz[..., :h], rz[..., h:]
        prev = torch.cat([hs.new_zeros(1, d, n, h), hs[:-1]])  # state before each step
        # Step-independent factors of the gate derivatives, for all steps at once:
        # da_n = dh (1 - z)(1 - n^2); da_z = dh (h_prev - n) z (1 - z); da_r = da_n ghn r (1 - r)
        f_n = (1 - z) * (1 - new * new)
        f_z = (prev - new) * z * (1 - z)
        f_r = ghn * r * (1 - r)
        del prev
        gemm = _StepGemm(w_hh.transpose(1, 2), None, n, dtype, hs.dtype)  # dgh W_hh
        dgh = hs.new_empty(t_len, d, n, 3 * h)  # d(gh) per step: (da_r, da_z, dghn)
        dan = hs.new_empty(t_len, d, n, h)
        dhs = dhs.to(hs.dtype)
        carry = None
        for i in range(t_len - 1, -1, -1):
            dh = dhs[i] if carry is None else dhs[i] + carry
            torch.mul(dh, f_n[i], out=dan[i])
            torch.mul(dan[i], f_r[i], out=dgh[i, ..., :h])
            torch.mul(dh, f_z[i], out=dgh[i, ..., h : 2 * h])
            torch.mul(dan[i], r[i], out=dgh[i, ..., 2 * h :])
            carry = gemm(dgh[i]).addcmul_(dh, z[i])
        dgi = torch.cat([dgh[..., : 2 * h], dan], dim=-1)
        # dW_hh[d] = sum_i dgh[i, d]^T h_prev[i, d]; step 0 starts from zero, so skip it.
        a = dgh[1:].transpose(0, 1).reshape(d, (t_len - 1) * n, 3 * h)
        b = hs[:-1].transpose(0, 1).reshape(d, (t_len - 1) * n, h)
        dw = torch.bmm(a.transpose(1, 2).to(dtype), b.to(dtype)).to(w_hh.dtype)
        db = dgh.sum(dim=(0, 2)).to(w_hh.dtype)
        return dgi, dw, db, None


def _input_projection(x: torch.Tensor, gru: nn.GRU, layer: int, dirs: list[str]) -> torch.Tensor:
    """``x: (T, N, F)`` -> ``(T, D, N, 3H)``: ``x W_ih^T + b_ih`` of each direction (param dtype)."""
    w = torch.cat([getattr(gru, f"weight_ih_l{layer}{s}") for s in dirs])
    b = torch.cat([getattr(gru, f"bias_ih_l{layer}{s}") for s in dirs])
    t_len, n, _ = x.shape
    gi = F.linear(x, w, b).to(w.dtype).view(t_len, n, len(dirs), -1)
    return gi.transpose(1, 2)


def _flip_reverse(a: torch.Tensor) -> torch.Tensor:
    """``a: (T, 2, ...)``: the reverse direction (index 1) reversed in time."""
    return torch.stack([a[:, 0], a[:, 1].flip(0)], dim=1)


def _bidirectional_layer(
    x: torch.Tensor, gru: nn.GRU, layer: int, reverse: bool = True
) -> torch.Tensor:
    """One full layer of both directions: ``x: (T, N, F)`` -> ``(T, N, 2H)``.

    ``reverse=False``: the second direction reads the frames in order too (the stepwise
    recurrence)."""
    gi = _input_projection(x, gru, layer, ["", "_reverse"])
    w_hh = torch.stack([getattr(gru, f"weight_hh_l{layer}{s}") for s in ("", "_reverse")])
    b_hh = torch.stack([getattr(gru, f"bias_hh_l{layer}{s}") for s in ("", "_reverse")])
    dtype = _gemm_dtype(x.device.type, w_hh.dtype)
    if not reverse:
        hs = _Recurrence.apply(gi, w_hh, b_hh, dtype)  # (T, 2, N, H)
    else:
        hs = _flip_reverse(_Recurrence.apply(_flip_reverse(gi), w_hh, b_hh, dtype))
    return torch.cat([hs[:, 0], hs[:, 1]], dim=-1)


def _last_step_reverse(x_last: torch.Tensor, gru: nn.GRU, layer: int) -> torch.Tensor:
    """The reverse direction's output at the last step (one step from zero): ``(N, H)``."""
    w_ih = getattr(gru, f"weight_ih_l{layer}_reverse")
    w_hh = getattr(gru, f"weight_hh_l{layer}_reverse")
    gi = F.linear(x_last, w_ih, getattr(gru, f"bias_ih_l{layer}_reverse")).to(w_ih.dtype)
    zero = w_hh.new_zeros(x_last.shape[0], w_hh.shape[1])
    # zero @ W_hh^T: gives W_hh its zero gradient, as nn.GRU does
    gh = F.linear(zero, w_hh, getattr(gru, f"bias_hh_l{layer}_reverse")).to(w_hh.dtype)
    h = gh.shape[1] // 3
    r = torch.sigmoid(gi[:, :h] + gh[:, :h])
    z = torch.sigmoid(gi[:, h : 2 * h] + gh[:, h : 2 * h])
    new = torch.tanh(gi[:, 2 * h :] + r * gh[:, 2 * h :])
    return (1 - z) * new


@torch.compiler.disable  # a Python loop over time with pre-packed oneDNN weights: runs eagerly
def bigru_forward(x: torch.Tensor, gru: nn.GRU, top: str = "all") -> torch.Tensor:
    """Run ``gru`` (bidirectional, batch_first, no dropout) on ``x: (N, T, F)``.

    ``top="all"``: returns the top layer's output ``(N, T, 2H)`` (``nn.GRU``'s ``out``).
    ``top="last"``: returns ``out[:, -1]``, ``(N, 2H)``, computing the top layer's
    reverse direction at the last step only. Outputs have the parameters' dtype (fp32
    also under autocast). Inside ``torch.compile`` this function runs eagerly (a graph
    break), so compiled encoders keep it.
    """
    _check_gru(gru, "bigru_forward")
    if top not in ("all", "last"):
        raise ValueError(f"top must be 'all' or 'last', got {top!r}")
    seq = x.transpose(0, 1).contiguous()  # (T, N, F): time-major steps
    for layer in range(gru.num_layers - 1):
        seq = _bidirectional_layer(seq, gru, layer)
    top_layer = gru.num_layers - 1
    if top == "all":
        return _bidirectional_layer(seq, gru, top_layer).transpose(0, 1)
    gi = _input_projection(seq, gru, top_layer, [""])  # (T, 1, N, 3H)
    w_hh = getattr(gru, f"weight_hh_l{top_layer}").unsqueeze(0)
    dtype = _gemm_dtype(x.device.type, w_hh.dtype)
    b_hh = getattr(gru, f"bias_hh_l{top_layer}").unsqueeze(0)
    forward_last = _Recurrence.apply(gi, w_hh, b_hh, dtype)[-1, 0]  # (N, H)
    return torch.cat([forward_last, _last_step_reverse(seq[-1], gru, top_layer)], dim=1)


def _check_gru(gru: nn.GRU, what: str) -> None:
    if not (gru.bidirectional and gru.batch_first) or gru.dropout or gru.proj_size:
        raise ValueError(f"{what} needs a bidirectional batch_first GRU without dropout")


@torch.compiler.disable  # a Python loop over time with pre-packed oneDNN weights: runs eagerly
def stepwise_forward(x: torch.Tensor, gru: nn.GRU) -> torch.Tensor:
    """The stepwise recurrence of ``gru`` on ``x: (N, T, F)`` -> ``(N, T, 2H)``.

    What ``gru`` computes when it is called on one frame at a time with its hidden
    state carried over (``out_t, h = gru(x[:, t:t+1], h)``, the outputs concatenated
    over t): in every layer both directions read frames ``0..T-1`` in order from the
    zero state, each with its own weights, on the layer below's ``(N, T, 2H)`` output.
    Same backward through time as :func:`bigru_forward` (batched weight gradients);
    outputs have the parameters' dtype. Raises ValueError for a GRU that is not
    bidirectional and batch_first, or has dropout or a projection.
    """
    _check_gru(gru, "stepwise_forward")
    seq = x.transpose(0, 1).contiguous()  # (T, N, F): time-major steps
    for layer in range(gru.num_layers):
        seq = _bidirectional_layer(seq, gru, layer, reverse=False)
    return seq.transpose(0, 1)


def stepwise_fused(x: torch.Tensor, gru: nn.GRU) -> torch.Tensor:
    """:func:`stepwise_forward` through PyTorch's fused GRU kernel (cuDNN on CUDA; the
    ``aten::gru`` op that TorchScript and ONNX exporters know): per layer, each direction's
    weights run as a one-layer unidirectional GRU over the whole sequence.
    ``x: (N, T, F)`` -> ``(N, T, 2H)``."""
    _check_gru(gru, "stepwise_fused")
    out = x
    for layer in range(gru.num_layers):
        halves = []
        for s in ("", "_reverse"):
            params = [
                getattr(gru, f"{name}_l{layer}{s}")
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
            ]
            h0 = out.new_zeros(1, out.shape[0], gru.hidden_size)
            with warnings.catch_warnings():  # cuDNN: the direction's weights are not one chunk
                warnings.filterwarnings("ignore", message="RNN module weights")
                y, _ = torch.gru(out, h0, params, True, 1, 0.0, False, False, True)
            halves.append(y)
        out = torch.cat(halves, dim=-1)
    return out
