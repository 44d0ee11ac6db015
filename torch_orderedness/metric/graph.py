"""From a weight, a layer or a network to the matrices the orderedness metric works on.

Every caller of the metric passes through :func:`neuron_graph`, which returns
the square part ``S = |W[:, :N]|`` (input columns dropped, absolute values)
as float64 numpy matrices, together with the number of leading neurons that
stay fixed (the outputs) and whether the caller gave one matrix or several.

Accepted inputs:

- a ``torch.Tensor`` (any real dtype, any device but ``meta``, whose tensors
  hold no values; gradients ignored) or a ``numpy`` array (a masked array's
  masked entries count as absent connections, weight 0), 2-D ``(N, N + I)``
  or a batch ``(B, N, N + I)``; ``I``
  trailing input columns are dropped;
- a complete perceptron layer (duck-typed: ``out_features``,
  ``hidden_features``, ``in_features`` and ``weight``); a layer pruned by
  :mod:`torch.nn.utils.prune` is read as ``weight_orig * weight_mask``,
  because its ``weight`` attribute is refreshed only by the next forward pass;
- an ``nn.RNN``, ``nn.GRU`` or ``nn.LSTM``: one matrix per layer (and
  direction: ``weight_hh_l{k}_reverse`` after ``weight_hh_l{k}`` when
  bidirectional) from its hidden-to-hidden weight.  ``nn.GRU`` and
  ``nn.LSTM`` stack one ``(hidden, hidden)`` block per gate (``r, z, n`` and
  ``i, f, g, o``, see :data:`GATES`); the neuron-to-neuron weight is the sum
  of the gates' magnitudes, ``sum_g |W_hh[g]|`` (unit ``j`` reaches unit
  ``i`` through any gate).  To measure one gate, pass its block, e.g.
  ``lstm.weight_hh_l0.chunk(4)[1]`` for the forget gate.  An ``nn.LSTM``
  with ``proj_size > 0`` (a non-square ``(4 H, P)`` weight) is refused;
- an MLP: an ``nn.Sequential``, a list or tuple of modules, or one
  ``nn.Linear``.  Its ``nn.Linear`` layers are assembled by :func:`mlp_weight`
  into one complete-layer weight in the layout of
  ``CompletePerceptron.from_mlp`` (outputs, last hidden layer, ..., first
  hidden layer, inputs), so a plain MLP scores exactly 1.

Pruned modules of any kind are read through ``<name>_orig * <name>_mask``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from torch_orderedness import _checks
from torch_orderedness._weights import mlp_weight as _mlp_weight
from torch_orderedness._weights import parse_mlp, weight_in_use

__all__ = ["GATES", "NeuronGraph", "neuron_graph", "mlp_weight", "current_weight"]


@dataclass(frozen=True)
class NeuronGraph:
    """The matrices one call of the metric works on.

    Attributes:
        matrices: tuple of float64 numpy arrays ``(N, N)``, each ``|W[:, :N]|``.
        outputs: number ``O`` of leading neurons that keep their place.
        batched: ``True`` when the input could hold several matrices (a 3-D
            array, an ``nn.RNN``); the metric then returns a tuple.
        names: a label per matrix (``"w[0]"``, ``"weight_hh_l1"``, ...) for messages.

    Obtained from :func:`neuron_graph`; every solver of the metric reads it.

    Example::

        >>> g = neuron_graph(-torch.ones(2, 3, 5), outputs=1)  # a batch of two (3, 3 + 2) weights
        >>> len(g.matrices), g.matrices[0].shape, g.matrices[0].dtype, g.outputs, g.batched
        (2, (3, 3), dtype('float64'), 1, True)
        >>> g.names, float(g.matrices[1].sum())  # absolute values, input columns dropped
        (('w[0]', 'w[1]'), 9.0)
    """

    matrices: tuple[np.ndarray, ...]
    outputs: int
    batched: bool
    names: tuple[str, ...]


def current_weight(module: nn.Module, name: str = "weight") -> Tensor:
    """The weight a module would use in its next forward pass.

    For a parameter reparametrised by :mod:`torch.nn.utils.prune` this is
    ``<name>_orig * <name>_mask`` (the ``<name>`` attribute itself is only
    refreshed by the forward pre-hook); otherwise ``getattr(module, name)``.

    Args:
        module: any ``nn.Module``.
        name: the tensor's name (default ``"weight"``).

    Returns:
        The tensor, not detached: ``<name>_orig * <name>_mask`` (a new tensor
        that carries gradients to ``<name>_orig``) or the parameter itself.

    Raises:
        TypeError: ``module`` has no tensor ``name``.

    Example::

        >>> from torch.nn.utils import prune
        >>> lin = nn.Linear(3, 2)
        >>> _ = prune.identity(lin, "weight")
        >>> with torch.no_grad():
        ...     _ = lin.weight_mask.zero_()
        >>> bool((current_weight(lin) == 0).all()), bool((lin.weight == 0).all())
        (True, False)
    """
    return weight_in_use(module, name)


def _to_numpy(w: Tensor | np.ndarray) -> np.ndarray:
    if isinstance(w, Tensor):
        if w.is_complex():
            raise TypeError(f"w must hold real numbers, got dtype {w.dtype}")
        if w.device.type == "meta":
            raise ValueError(
                "w is on the 'meta' device: it has a shape but no values, so its orderedness "
                "cannot be measured; measure the weight on a real device (e.g. after "
                "module.to_empty(device='cpu') and loading the values)"
            )
        return w.detach().to("cpu", torch.float64).numpy()
    if w.dtype.kind not in "biuf":
        raise TypeError(f"w must hold real numbers, got dtype {w.dtype}")
    if isinstance(w, np.ma.MaskedArray):
        # masked entries are absent connections: weight 0
        return np.ma.filled(w.astype(np.float64), 0.0)
    return np.asarray(w, dtype=np.float64)


#: Gates of the recurrent modules whose hidden-to-hidden weight stacks one
#: ``(hidden, hidden)`` block per gate (torch's order).
GATES: dict[str, tuple[str, ...]] = {
    "RNN": ("",),
    "GRU": ("r", "z", "n"),
    "LSTM": ("i", "f", "g", "o"),
}


def _recurrent_graph(w: nn.RNNBase, outputs: int | None, inputs: int | None) -> NeuronGraph:
    """``nn.RNN`` / ``nn.GRU`` / ``nn.LSTM``: one matrix per layer and direction.

    The neuron-to-neuron weight is the sum over the gates of the blocks'
    magnitudes, ``sum_g |W_hh[g]|`` (for ``nn.RNN`` just ``|W_hh|``).
    """
    kinds = [k for k, cls in (("LSTM", nn.LSTM), ("GRU", nn.GRU), ("RNN", nn.RNN))
             if isinstance(w, cls)]
    kind = kinds[0] if kinds else None
    if kind is None:
        raise TypeError(
            f"the recurrent modules measured are nn.RNN, nn.GRU and nn.LSTM, got "
            f"{type(w).__name__}"
        )
    if inputs is not None and _checks.count("inputs", inputs) != 0:
        raise ValueError(f"inputs must be 0 (or None) for {kind}, got {inputs}")
    if getattr(w, "proj_size", 0):
        raise ValueError(
            f"an nn.LSTM with proj_size={w.proj_size} has a non-square hidden-to-hidden "
            f"weight (4 * {w.hidden_size}, {w.proj_size}): its hidden units do not feed each "
            "other directly, so it has no neuron order to measure; use proj_size=0"
        )
    gates = len(GATES[kind])
    suffixes = ["", "_reverse"] if w.bidirectional else [""]
    names = [f"weight_hh_l{k}{s}" for k in range(w.num_layers) for s in suffixes]
    blocks = []
    for name in names:
        hh = _to_numpy(current_weight(w, name))
        blocks.append(np.abs(hh).reshape(gates, w.hidden_size, w.hidden_size).sum(axis=0))
    return _from_array(np.stack(blocks), outputs, 0, label="weight_hh", names=names)


def mlp_weight(layers: nn.Module | Sequence[nn.Module]) -> Tensor:
    """The complete-layer weight ``(O+H, O+H+I)`` of an MLP, in the ``from_mlp`` layout.

    Neurons are ordered outputs, last hidden layer, ..., first hidden layer,
    inputs; the weight of the layer from block ``a`` to block ``b`` sits at
    rows ``b``, columns ``a``, strictly above the diagonal. Everything else is
    zero.  Pruned ``nn.Linear`` layers are read as ``weight_orig * weight_mask``.

    Args:
        layers: ``nn.Sequential``, list or tuple of modules, or one ``nn.Linear``;
            parameter-free modules (activations) are skipped, other modules
            with parameters raise ``TypeError``.

    Returns:
        A detached tensor on the first layer's device and dtype.

    Example::

        >>> mlp = nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1))
        >>> mlp_weight(mlp).shape  # O=1, H=3, I=2
        torch.Size([4, 6])
    """
    return _mlp_weight(parse_mlp(layers))


def _check_given(name: str, given: int | None, defined: int, what: str) -> None:
    if given is not None and _checks.count(name, given) != defined:
        raise ValueError(f"{name}={given} conflicts with {what}={defined}")


def _from_array(
    w: np.ndarray,
    outputs: int | None,
    inputs: int | None,
    label: str = "w",
    names: Sequence[str] | None = None,
) -> NeuronGraph:
    if w.ndim not in (2, 3):
        raise ValueError(
            f"{label} must be 2-D (N, N + inputs) or a batch 3-D (B, N, N + inputs), "
            f"got shape {tuple(w.shape)}"
        )
    n, m = w.shape[-2], w.shape[-1]
    if inputs is None:
        if m < n:
            raise ValueError(
                f"{label} must have at least as many columns as rows ((N, N + inputs)), "
                f"got shape {tuple(w.shape)}"
            )
        n_inputs = m - n
    else:
        n_inputs = _checks.count("inputs", inputs)
        if m - n != n_inputs:
            raise ValueError(
                f"{label} of shape {tuple(w.shape)} does not fit inputs={n_inputs}: the last "
                f"dimension must be N + inputs = {n + n_inputs}"
            )
    n_outputs = 0 if outputs is None else _checks.count("outputs", outputs)
    if n_outputs > n:
        raise ValueError(
            f"outputs must be in [0, {n}] for {label} of shape {tuple(w.shape)}, got {n_outputs}"
        )
    if not np.isfinite(w).all():
        raise ValueError(f"{label} contains non-finite entries (NaN or inf)")
    batch = w[None] if w.ndim == 2 else w
    if names is None:
        names = [label] if w.ndim == 2 else [f"{label}[{k}]" for k in range(batch.shape[0])]
    matrices = []
    for k, name in enumerate(names):
        square = np.abs(batch[k, :, :n])
        if not square.any():
            raise ValueError(
                f"the square part |{name}[:, :{n}]| is all zero: orderedness is undefined (0 / 0)"
            )
        matrices.append(np.ascontiguousarray(square))
    return NeuronGraph(tuple(matrices), n_outputs, w.ndim == 3, tuple(names))


def _is_complete_layer(module: object) -> bool:
    return all(hasattr(module, a) for a in ("out_features", "hidden_features", "in_features"))


def neuron_graph(
    w: object, *, outputs: int | None = None, inputs: int | None = None
) -> NeuronGraph:
    """The square matrices ``|W[:, :N]|`` and the fixed output count of ``w``.

    Args:
        w: a tensor or array ``(N, N + I)`` / ``(B, N, N + I)``, a complete
            perceptron layer, an ``nn.RNN`` / ``nn.GRU`` / ``nn.LSTM``, or an MLP
            (see the module docstring).
        outputs: number of leading neurons (outputs) kept first and in order.
            Default: ``0`` for arrays and ``nn.RNN``, ``out_features`` of a
            complete layer or MLP (giving another value there is an error).
        inputs: number of trailing input columns to drop. Default: all columns
            beyond the square part (``shape[-1] - shape[-2]``) for arrays, the
            module's own count for layers and MLPs (another value is an
            error), ``0`` for ``nn.RNN``.

    Returns:
        A :class:`NeuronGraph`.

    Raises:
        TypeError: ``w`` is of an unsupported kind, or an MLP holds a layer
            with parameters that is not ``nn.Linear``.
        ValueError: shapes that do not fit ``outputs``/``inputs``, non-finite
            entries, an all-zero square part, or an MLP of a single
            ``nn.Linear`` (orderedness undefined in both).

    Example::

        >>> g = neuron_graph(torch.tensor([[1.0, -2.0, 5.0], [0.0, 3.0, 7.0]]), outputs=1)
        >>> g.matrices[0].tolist(), g.outputs, g.batched
        ([[1.0, 2.0], [0.0, 3.0]], 1, False)
    """
    if isinstance(w, (Tensor, np.ndarray)):
        return _from_array(_to_numpy(w), outputs, inputs)
    if isinstance(w, nn.RNNBase):
        return _recurrent_graph(w, outputs, inputs)
    if _is_complete_layer(w):
        n_out, n_hid, n_in = (int(w.out_features), int(w.hidden_features), int(w.in_features))
        _check_given("outputs", outputs, n_out, "the layer's out_features")
        _check_given("inputs", inputs, n_in, "the layer's in_features")
        if not isinstance(w, nn.Module):
            raise TypeError(f"w must be an nn.Module, got {type(w).__name__}")
        weight = _to_numpy(current_weight(w))
        if weight.shape != (n_out + n_hid, n_out + n_hid + n_in):
            raise ValueError(
                f"the layer's weight has shape {weight.shape}, expected "
                f"(out+hidden, out+hidden+in) = {(n_out + n_hid, n_out + n_hid + n_in)}"
            )
        return _from_array(weight, n_out, n_in, label="weight")
    if isinstance(w, (nn.Linear, nn.Sequential)) or (
        isinstance(w, (list, tuple)) and w and all(isinstance(m, nn.Module) for m in w)
    ):
        layout = parse_mlp(w)
        n_out, n_in = layout.sizes[-1], layout.sizes[0]
        _check_given("outputs", outputs, n_out, "the MLP's out_features")
        _check_given("inputs", inputs, n_in, "the MLP's in_features")
        if len(layout.linears) == 1:
            raise ValueError(
                "an MLP of a single nn.Linear has no hidden neurons and no connection among its "
                "neurons (only inputs to outputs), so its orderedness is undefined (0 / 0)"
            )
        return _from_array(_to_numpy(_mlp_weight(layout)), n_out, n_in, label="MLP weight")
    raise TypeError(
        "w must be a torch.Tensor or numpy array (N, N + inputs) or (B, N, N + inputs), a "
        "complete perceptron layer, an nn.RNN / nn.GRU / nn.LSTM, or an MLP "
        "(nn.Sequential / list of nn.Linear); "
        f"got {type(w).__name__}"
    )
