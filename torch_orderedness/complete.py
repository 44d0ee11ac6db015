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

__all__ = ["CompletePerceptron", "INIT_SCHEMES"]

InitScheme = Literal["normal", "uniform", "zeros"]
#: Initialisation schemes of the paper (Appendix B): N(0, 1), U(0, 1) and all zeros.
INIT_SCHEMES: tuple[str, ...] = ("normal", "uniform", "zeros")


def _check_count(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value}")
    return value


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
        self.in_features = _check_count("in_features", in_features, 0)
        self.hidden_features = _check_count("hidden_features", hidden_features, 0)
        self.out_features = _check_count("out_features", out_features, 1)
        self.iterations = _check_count("iterations", iterations, 1)
        if not isinstance(bias, bool):
            raise TypeError(f"bias must be a bool, got {bias!r}")
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
        steps = self.iterations if iterations is None else _check_count("iterations", iterations, 1)
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
            layers: an ``nn.Sequential`` or a list of modules: ``nn.Linear``
                layers and parameter-free modules (activations); any other
                module with parameters is rejected.
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
                with a ``ValueError``.  ``False``: embed the weights whatever
                the MLP's own activations are (they are ignored).

        Returns:
            A ``CompletePerceptron`` with ``bias=True`` when any layer has one.

        Raises:
            TypeError: a module with parameters that is not ``nn.Linear``.
            ValueError: layers that do not chain, no ``nn.Linear``, or (with
                ``strict``) activations other than ``activation``.

        Example::

            >>> mlp = nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1), nn.Sigmoid())
            >>> layer = CompletePerceptron.from_mlp(mlp)
            >>> x = torch.rand(5, 2)
            >>> torch.allclose(layer(x), mlp(x), atol=1e-6)
            True
        """
        linears, between = _linear_layers(layers)
        sizes = [linears[0].in_features] + [lin.out_features for lin in linears]
        for a, b in zip(linears[:-1], linears[1:], strict=True):
            if b.in_features != a.out_features:
                raise ValueError(
                    f"layers do not chain: a layer with out_features={a.out_features} is "
                    f"followed by one with in_features={b.in_features}"
                )
        if strict:
            _check_activations(linears, between, activation)
        n_in, n_out = sizes[0], sizes[-1]
        hidden_sizes = sizes[1:-1]
        first = linears[0].weight
        layer = cls(
            n_in,
            sum(hidden_sizes),
            n_out,
            iterations=len(linears),
            bias=any(lin.bias is not None for lin in linears),
            activation=activation,
            weight_init="zeros",
            state_init="zeros",
            device=first.device,
            dtype=first.dtype,
        )
        # start index of each MLP layer's neurons in the [outputs | hidden | inputs] order
        starts = _mlp_neuron_starts(sizes)
        with torch.no_grad():
            layer.initial_state.fill_(initial_state)
            for depth, lin in enumerate(linears):
                rows = slice(starts[depth + 1], starts[depth + 1] + sizes[depth + 1])
                cols = slice(starts[depth], starts[depth] + sizes[depth])
                layer.weight[rows, cols] = lin.weight
                if lin.bias is not None and layer.bias is not None:
                    layer.bias[0, rows] = lin.bias
        return layer


def _linear_layers(
    layers: Sequence[nn.Module] | nn.Sequential,
) -> tuple[list[nn.Linear], list[list[nn.Module]]]:
    """The ``nn.Linear`` layers of an MLP and the parameter-free modules after each."""
    if isinstance(layers, nn.Linear):
        layers = [layers]
    if not isinstance(layers, (nn.Sequential, Sequence)):
        raise TypeError(
            f"layers must be an nn.Sequential or a list of modules, got {type(layers).__name__}"
        )
    linears: list[nn.Linear] = []
    between: list[list[nn.Module]] = []
    for module in layers:
        if isinstance(module, nn.Linear):
            linears.append(module)
            between.append([])
        elif isinstance(module, nn.Module) and next(module.parameters(), None) is None:
            if not linears:
                raise ValueError(
                    f"layers must start with an nn.Linear, got {type(module).__name__} first"
                )
            between[-1].append(module)
        else:
            raise TypeError(
                "layers may hold nn.Linear layers and parameter-free modules only, "
                f"got {type(module).__name__}"
            )
    if not linears:
        raise ValueError("layers holds no nn.Linear layer")
    return linears, between


def _check_activations(
    linears: Sequence[nn.Linear],
    between: Sequence[Sequence[nn.Module]],
    activation: Callable[[Tensor], Tensor],
) -> None:
    """Refuse an MLP whose modules after some ``nn.Linear`` do not compute ``activation``."""
    probe = torch.linspace(-6.0, 6.0, 25, dtype=torch.float64).reshape(5, 5)
    expected = activation(probe)
    name = getattr(activation, "__name__", type(activation).__name__)
    for k, (lin, mods) in enumerate(zip(linears, between, strict=True)):
        out = probe
        try:
            for m in mods:
                out = m(out)
            same = isinstance(out, Tensor) and out.shape == expected.shape and bool(
                torch.allclose(out, expected, rtol=1e-6, atol=1e-9)
            )
        except Exception:  # a module that cannot run on the probe computes something else
            same = False
        if not same:
            applied = " then ".join(type(m).__name__ for m in mods) or "nothing"
            which = "the last nn.Linear" if k == len(linears) - 1 else f"nn.Linear {k}"
            raise ValueError(
                f"from_mlp embeds an MLP that applies activation={name} after every nn.Linear, "
                "the last one included (the complete layer applies it to every neuron); after "
                f"{which} ({lin.in_features} -> {lin.out_features}) the MLP applies {applied}, "
                "which computes something else. Pass the MLP's activation as activation=..., "
                "or strict=False to embed the weights anyway."
            )


def _mlp_neuron_starts(sizes: Sequence[int]) -> list[int]:
    """Start index of each MLP layer (inputs first) in the ``[outputs|hidden|inputs]`` order.

    ``sizes`` = ``[inputs, hidden_1, ..., hidden_m, outputs]``.  The outputs
    come first, then hidden layer ``m`` down to hidden layer 1, then inputs.
    """
    starts = [0] * len(sizes)
    position = 0
    for depth in range(len(sizes) - 1, -1, -1):
        starts[depth] = position
        position += sizes[depth]
    return starts
