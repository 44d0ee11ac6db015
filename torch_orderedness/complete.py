"""The complete perceptron layer: an all-to-all, weight-tied recurrent layer.

Neurons are laid out as ``[outputs (O) | hidden (H) | inputs (I)]``.  The layer
holds a weight of shape ``(O+H, O+H+I)`` (row = receiving neuron, column =
sending neuron), a learnable initial state of shape ``(1, O+H)`` and an
optional bias of shape ``(1, O+H)``.  A forward pass clamps the inputs and
iterates (paper, Eq. 1)::

    h_0 = v,    h_{t+1} = sigma(W @ [h_t ; x] + b),    output = h_T[:O]

which is computed as the weight-tied RNN of Eq. 2: with ``W = [W_h | U]``,
``h_{t+1} = sigma(W_h h_t + U x + b)``; the input drive ``U x + b`` is computed
once per forward pass, not once per iteration.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import torch
from torch import Tensor, nn

from torch_orderedness import _checks
from torch_orderedness._weights import MLPLayout, parse_mlp

__all__ = ["CompletePerceptron", "INIT_SCHEMES"]

InitScheme = Literal["normal", "uniform", "zeros"]
#: Initialisation schemes of the paper (Appendix B): N(0, 1), U(0, 1) and all zeros.
INIT_SCHEMES: tuple[str, ...] = ("normal", "uniform", "zeros")


def _check_init(name: str, value: object) -> str | Callable[[Tensor], object]:
    if callable(value):
        return value
    if value not in INIT_SCHEMES:
        raise ValueError(f"{name} must be one of {INIT_SCHEMES} or a callable, got {value!r}")
    return value  # type: ignore[return-value]


def _init_(
    tensor: Tensor,
    scheme: str | Callable[[Tensor], object],
    generator: torch.Generator | None,
) -> None:
    with torch.no_grad():
        if callable(scheme):
            scheme(tensor)
        elif scheme == "normal":
            tensor.normal_(0.0, 1.0, generator=generator)
        elif scheme == "uniform":
            tensor.uniform_(0.0, 1.0, generator=generator)
        else:
            tensor.zero_()


class CompletePerceptron(nn.Module):
    r"""All-to-all "complete perceptron" layer run for a fixed number of iterations.

    Args:
        in_features: number of input neurons ``I`` (clamped to the input).
        hidden_features: number of hidden neurons ``H``.
        out_features: number of output neurons ``O``.
        iterations: default number of iterations ``T`` (at least 1).
        bias: if ``True``, adds a learnable bias of shape ``(1, O+H)``
            (initialised to zeros). The paper uses no bias.
        activation: the non-linearity ``sigma`` (default :func:`torch.sigmoid`).
        weight_init: ``"normal"`` (N(0,1), the paper's default), ``"uniform"``
            (U(0,1)), ``"zeros"``, or a callable that fills a tensor in place.
        state_init: the same choices for the initial state ``v``.
        generator: optional :class:`torch.Generator` for the initialisation.
        device, dtype: as for any ``nn.Module`` factory.

    Shape:
        - Input: ``(batch, I)`` or ``(I,)``.
        - Output: ``(batch, O)`` or ``(O,)``.

    Attributes:
        weight: ``(O+H, O+H+I)``; row = receiving neuron, column = sending
            neuron, neurons ordered ``[outputs | hidden | inputs]``.
        initial_state: ``(1, O+H)``, the paper's "values vector" ``v``.
        bias: ``(1, O+H)`` or ``None``.

    The forward pass reads ``self.weight`` at call time, so
    :mod:`torch.nn.utils.prune`'s reparametrisation (``weight_orig``,
    ``weight_mask`` and its forward pre-hook) works unchanged.

    **Compilation**: ``torch.jit.trace``, ``torch.export.export`` and
    ``torch.compile`` work (tested).  ``torch.jit.script`` does not: the layer
    checks its inputs in Python and takes any Python callable as
    ``activation``, which TorchScript cannot compile; trace or export instead.

    **Copies**: right after torch's pruning (``prune.*``, ``TopK.apply``, ...)
    ``copy.deepcopy(layer)`` fails with "Only Tensors created explicitly by the
    user support the deepcopy protocol", because ``layer.weight`` is then
    ``weight_orig * weight_mask``, a non-leaf tensor (pytorch issue 37322; the
    same holds for every module pruned by torch, and for the model
    ``train(..., mode="reparametrize")`` returns).  Any of these works: one
    forward pass under ``torch.no_grad()`` first (it recomputes ``weight``
    without a graph), ``prune.remove(layer, "weight")`` to make the pruning
    permanent, or a copy through ``state_dict`` into a layer pruned the same
    way (``prune.identity(new, "weight"); new.load_state_dict(layer.state_dict())``).

    Example::

        >>> layer = CompletePerceptron(2, 5, 1, iterations=3)
        >>> layer(torch.rand(4, 2)).shape
        torch.Size([4, 1])
    """

    def __init__(
        self,
        in_features: int,
        hidden_features: int,
        out_features: int,
        iterations: int = 3,
        *,
        bias: bool = False,
        activation: Callable[[Tensor], Tensor] = torch.sigmoid,
        weight_init: InitScheme | Callable[[Tensor], object] = "normal",
        state_init: InitScheme | Callable[[Tensor], object] = "normal",
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.in_features = _checks.count("in_features", in_features, 0)
        self.hidden_features = _checks.count("hidden_features", hidden_features, 0)
        self.out_features = _checks.count("out_features", out_features, 1)
        self.iterations = _checks.count("iterations", iterations, 1)
        bias = _checks.flag("bias", bias)
        if not callable(activation):
            raise TypeError(f"activation must be callable, got {activation!r}")
        self.activation = activation
        self.weight_init = _check_init("weight_init", weight_init)
        self.state_init = _check_init("state_init", state_init)
        n = self.out_features + self.hidden_features
        factory = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(torch.empty(n, n + self.in_features, **factory))
        self.initial_state = nn.Parameter(torch.empty(1, n, **factory))
        if bias:
            self.bias: nn.Parameter | None = nn.Parameter(torch.empty(1, n, **factory))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(generator=generator)

    @property
    def state_features(self) -> int:
        """``O + H``: the number of neurons that carry state (rows of ``weight``)."""
        return self.out_features + self.hidden_features

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Re-initialise ``weight``, ``initial_state`` (and ``bias`` to zeros)."""
        _init_(self.weight, self.weight_init, generator)
        _init_(self.initial_state, self.state_init, generator)
        if self.bias is not None:
            with torch.no_grad():
                self.bias.zero_()

    def forward(self, x: Tensor, iterations: int | None = None) -> Tensor:
        """Run the layer for ``iterations`` steps (default ``self.iterations``).

        Args:
            x: inputs of shape ``(batch, I)`` or ``(I,)``.
            iterations: number of iterations ``T >= 1``; overrides the default.

        Returns:
            The first ``O`` entries of the final state: ``(batch, O)`` or ``(O,)``.
        """
        return self.states(x, iterations)[..., : self.out_features]

    def states(self, x: Tensor, iterations: int | None = None) -> Tensor:
        """The full state ``h_T`` of the outputs and hidden neurons, ``(batch, O+H)``."""
        steps = self.iterations if iterations is None else _checks.count("iterations", iterations,
                                                                        1)
        if not isinstance(x, Tensor):
            raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
        unbatched = x.dim() == 1
        if x.dim() not in (1, 2) or x.shape[-1] != self.in_features:
            raise ValueError(
                f"x must have shape (batch, {self.in_features}) or ({self.in_features},), "
                f"got {tuple(x.shape)}"
            )
        weight = self.weight
        if not x.is_floating_point():
            raise TypeError(
                f"x must be a floating-point tensor, got {x.dtype}; convert it with "
                f"x.to({weight.dtype})"
            )
        if x.device != weight.device:
            raise ValueError(
                f"x is on {x.device} but the layer is on {weight.device}; move one of them"
            )
        if unbatched:
            x = x.unsqueeze(0)
        n = self.state_features
        recurrent, input_weight = weight[:, :n], weight[:, n:]
        # Eq. 2: the drive U x (+ b) does not change between iterations.
        drive = x @ input_weight.transpose(0, 1)
        if self.bias is not None:
            drive = drive + self.bias
        h = self.initial_state.expand(x.shape[0], n)
        for _ in range(steps):
            h = self.activation(h @ recurrent.transpose(0, 1) + drive)
        return h.squeeze(0) if unbatched else h

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, hidden_features={self.hidden_features}, "
            f"out_features={self.out_features}, iterations={self.iterations}, "
            f"bias={self.bias is not None}"
        )

    @classmethod
    def from_mlp(
        cls,
        layers: Sequence[nn.Module] | nn.Sequential,
        *,
        activation: Callable[[Tensor], Tensor] = torch.sigmoid,
        initial_state: float = 0.0,
        strict: bool = True,
    ) -> CompletePerceptron:
        """Embed an MLP of ``nn.Linear`` layers (``activation`` after each) as a complete layer.

        The neurons are laid out as outputs, the last hidden layer, ..., the
        first hidden layer, inputs, so every MLP weight lies in a block
        strictly above the diagonal (the paper's Figure 1(a)); all other
        weights are zero.  Run for ``iterations = len(linear layers)``
        (the returned layer's default), the layer computes exactly the MLP
        ``sigma(L_n(... sigma(L_1(x))))``: after ``t`` iterations the neurons
        of hidden layer ``t`` hold their final value, whatever the initial
        state was.

        Args:
            layers: an ``nn.Sequential``, a list or tuple of modules, or one
                ``nn.Linear``: ``nn.Linear`` layers and parameter-free modules
                (activations, and before the first layer e.g. ``nn.Flatten``);
                any other module with parameters is rejected.  This is the
                same reading of an MLP as :func:`~torch_orderedness.orderedness`'s.
            activation: the non-linearity the complete layer applies after
                every layer (the output layer included), default sigmoid.
            initial_state: constant for the initial state (irrelevant to the
                output after as many iterations as there are ``nn.Linear``
                layers, the returned layer's default).
            strict: if ``True`` (default), the parameter-free modules after
                each ``nn.Linear`` (up to the next one, or the end) must
                compute ``activation``, checked on a probe tensor, so that the
                layer computes what the MLP computes; an MLP with other
                activations, or without one after its last layer, is refused
                with a ``ValueError``; parameter-free modules before the first
                ``nn.Linear`` must leave ``(batch, in_features)`` inputs as they
                are (``nn.Flatten`` does).  ``False``: embed the weights
                whatever the MLP's own modules compute (they are ignored).

        Returns:
            A ``CompletePerceptron`` with ``bias=True`` when any layer has one.

        Raises:
            TypeError: a module with parameters that is not ``nn.Linear``.
            ValueError: layers that do not chain, no ``nn.Linear``, or (with
                ``strict``) modules that compute something other than
                ``activation`` after a layer, or other than the identity before
                the first.

        Example::

            >>> mlp = nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1), nn.Sigmoid())
            >>> layer = CompletePerceptron.from_mlp(mlp)
            >>> x = torch.rand(5, 2)
            >>> torch.allclose(layer(x), mlp(x), atol=1e-6)
            True
        """
        layout = parse_mlp(layers)
        if strict:
            _check_activations(layout, activation)
        sizes, starts = layout.sizes, layout.starts
        first = layout.linears[0].weight
        layer = cls(
            sizes[0],
            sum(sizes[1:-1]),
            sizes[-1],
            iterations=len(layout.linears),
            bias=any(lin.bias is not None for lin in layout.linears),
            activation=activation,
            weight_init="zeros",
            state_init="zeros",
            device=first.device,
            dtype=first.dtype,
        )
        with torch.no_grad():
            layer.initial_state.fill_(initial_state)
            for depth, lin in enumerate(layout.linears):
                rows = slice(starts[depth + 1], starts[depth + 1] + sizes[depth + 1])
                cols = slice(starts[depth], starts[depth] + sizes[depth])
                layer.weight[rows, cols] = lin.weight
                if lin.bias is not None and layer.bias is not None:
                    layer.bias[0, rows] = lin.bias
        return layer


def _computes(modules: Sequence[nn.Module], probe: Tensor, expected: Tensor) -> bool:
    """Whether applying ``modules`` to ``probe`` gives ``expected``."""
    out = probe
    try:
        for m in modules:
            out = m(out)
        return isinstance(out, Tensor) and out.shape == expected.shape and bool(
            torch.allclose(out, expected, rtol=1e-6, atol=1e-9)
        )
    except Exception:  # a module that cannot run on the probe computes something else
        return False


def _check_activations(layout: MLPLayout, activation: Callable[[Tensor], Tensor]) -> None:
    """Refuse an MLP the layer would not compute: leading modules must be the identity on
    ``(batch, in_features)`` inputs, and the modules after every ``nn.Linear`` ``activation``."""
    width = layout.sizes[0]
    probe = torch.linspace(-6.0, 6.0, 5 * width, dtype=torch.float64).reshape(5, width)
    if not _computes(layout.before, probe, probe):
        names = " then ".join(type(m).__name__ for m in layout.before)
        raise ValueError(
            f"from_mlp embeds an MLP whose inputs reach the first nn.Linear unchanged; this one "
            f"applies {names} to (batch, {width}) inputs first, which the complete layer cannot "
            "compute. Pass strict=False to embed the weights anyway."
        )
    probe = torch.linspace(-6.0, 6.0, 25, dtype=torch.float64).reshape(5, 5)
    expected = activation(probe)
    name = getattr(activation, "__name__", type(activation).__name__)
    for k, (lin, mods) in enumerate(zip(layout.linears, layout.after, strict=True)):
        if not _computes(mods, probe, expected):
            applied = " then ".join(type(m).__name__ for m in mods) or "nothing"
            which = "the last nn.Linear" if k == len(layout.linears) - 1 else f"nn.Linear {k}"
            raise ValueError(
                f"from_mlp embeds an MLP that applies activation={name} after every nn.Linear, "
                "the last one included (the complete layer applies it to every neuron); after "
                f"{which} ({lin.in_features} -> {lin.out_features}) the MLP applies {applied}, "
                "which computes something else. Pass the MLP's activation as activation=..., "
                "or strict=False to embed the weights anyway."
            )
