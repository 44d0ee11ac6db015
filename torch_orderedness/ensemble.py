r"""Many independent complete perceptron layers stored as one batch (one per seed).

:class:`PerceptronEnsemble` holds ``S`` complete layers of the same size with
a leading member dimension: ``weight`` ``(S, O+H, O+H+I)``, ``initial_state``
``(S, 1, O+H)`` and optional ``bias`` ``(S, 1, O+H)``.  Its forward pass runs
all members at once with batched matrix products, member ``s`` computing
exactly what :class:`~torch_orderedness.complete.CompletePerceptron` computes
with member ``s``'s parameters (to float rounding).

The members share nothing: the output of member ``s`` depends only on its own
parameters, so the gradient of ``loss.sum()`` (a sum of per-member losses)
with respect to member ``s``'s parameters is the gradient of its own loss.
An elementwise optimiser (Adam, SGD, RMSprop, ...) over the stacked
parameters then performs ``S`` independent runs, which is how
:func:`torch_orderedness.training.train_seeds` trains many seeds at once.
Pruning schemes act per member with ``batch_dims=1``, and the metric accepts
the ``(S, N, N+I)`` weight as a batch
(``ordering(ens.weight, outputs=O, inputs=I)``).

Example::

    >>> layers = [CompletePerceptron(2, 5, 1, generator=torch.Generator().manual_seed(s))
    ...           for s in range(3)]
    >>> ens = PerceptronEnsemble.from_modules(layers)
    >>> x = torch.rand(4, 2)
    >>> ens(x).shape
    torch.Size([3, 4, 1])
    >>> torch.allclose(ens(x)[2], layers[2](x), atol=1e-6)
    True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from torch_orderedness import _checks
from torch_orderedness._weights import weight_in_use
from torch_orderedness.complete import CompletePerceptron

__all__ = ["PerceptronEnsemble"]


class PerceptronEnsemble(nn.Module):
    r"""``S`` complete perceptron layers of one size, run as a batch.

    Args:
        num_members: number of members ``S`` (at least 1).
        in_features, hidden_features, out_features, iterations, bias,
        activation, weight_init, state_init, device, dtype: as for
            :class:`~torch_orderedness.complete.CompletePerceptron`.
        generators: optional list of ``S`` generators; member ``s`` is
            initialised exactly as ``CompletePerceptron(..., generator=generators[s])``
            would be (drawn on the CPU, then moved to ``device``).

    Shape:
        - Input: ``(batch, I)`` (the same rows for every member) or
          ``(S, batch, I)`` (rows per member).
        - Output: ``(S, batch, O)``.

    Attributes:
        weight: ``(S, O+H, O+H+I)``, member ``s``'s weight at ``weight[s]``.
        initial_state: ``(S, 1, O+H)``.
        bias: ``(S, 1, O+H)`` or ``None``.

    The forward pass reads ``self.weight`` at call time, so torch's pruning
    reparametrisation works on the stacked weight.

    Example::

        >>> gens = [torch.Generator().manual_seed(s) for s in (7, 8)]
        >>> ens = PerceptronEnsemble(2, 2, 3, 1, generators=gens)
        >>> one = CompletePerceptron(2, 3, 1, generator=torch.Generator().manual_seed(8))
        >>> torch.equal(ens.weight[1], one.weight)
        True
    """

    def __init__(
        self,
        num_members: int,
        in_features: int,
        hidden_features: int,
        out_features: int,
        iterations: int = 3,
        *,
        bias: bool = False,
        activation: Callable[[Tensor], Tensor] = torch.sigmoid,
        weight_init: str | Callable[[Tensor], object] = "normal",
        state_init: str | Callable[[Tensor], object] = "normal",
        generators: Sequence[torch.Generator | None] | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        num_members = _checks.count("num_members", num_members, 1)
        if generators is None:
            generators = [None] * num_members
        elif len(generators) != num_members:
            raise ValueError(
                f"generators must hold num_members={num_members} generators, got {len(generators)}"
            )
        members = [
            CompletePerceptron(
                in_features,
                hidden_features,
                out_features,
                iterations,
                bias=bias,
                activation=activation,
                weight_init=weight_init,  # type: ignore[arg-type]
                state_init=state_init,  # type: ignore[arg-type]
                generator=g,
                dtype=dtype,
            )
            for g in generators
        ]
        self._adopt(members)
        if device is not None:
            self.to(device)

    @classmethod
    def from_modules(cls, layers: Sequence[CompletePerceptron]) -> PerceptronEnsemble:
        """Stack the parameters of complete layers of one size (copies, on their device).

        Raises:
            TypeError: an entry is not a ``CompletePerceptron`` or is pruned by
                torch (call ``prune.remove`` first).
            ValueError: no layers, or layers of different sizes, iterations,
                bias, activation, device or dtype.
        """
        layers = list(layers)
        if not layers:
            raise ValueError("layers must hold at least one CompletePerceptron")
        for k, layer in enumerate(layers):
            if not isinstance(layer, CompletePerceptron):
                raise TypeError(
                    f"layers[{k}] must be a CompletePerceptron, got {type(layer).__name__}"
                )
            if hasattr(layer, "weight_orig"):
                raise TypeError(
                    f"layers[{k}] is pruned by torch.nn.utils.prune; call prune.remove first"
                )
        first = layers[0]
        for k, layer in enumerate(layers[1:], start=1):
            for attr in ("in_features", "hidden_features", "out_features", "iterations"):
                if getattr(layer, attr) != getattr(first, attr):
                    raise ValueError(
                        f"layers[{k}].{attr}={getattr(layer, attr)} differs from "
                        f"layers[0].{attr}={getattr(first, attr)}"
                    )
            if (layer.bias is None) != (first.bias is None):
                raise ValueError(f"layers[{k}] and layers[0] differ in having a bias")
            if layer.activation is not first.activation:
                raise ValueError(f"layers[{k}] and layers[0] use different activations")
            w, w0 = layer.weight, first.weight
            if (w.dtype, w.device) != (w0.dtype, w0.device):
                raise ValueError(f"layers[{k}] and layers[0] differ in dtype or device")
        ens = cls.__new__(cls)
        nn.Module.__init__(ens)
        ens._adopt(layers)
        return ens

    def _adopt(self, members: Sequence[CompletePerceptron]) -> None:
        first = members[0]
        self.in_features = first.in_features
        self.hidden_features = first.hidden_features
        self.out_features = first.out_features
        self.iterations = first.iterations
        self.activation = first.activation
        self.num_members = len(members)
        with torch.no_grad():
            self.weight = nn.Parameter(torch.stack([m.weight.detach() for m in members]).clone())
            self.initial_state = nn.Parameter(
                torch.stack([m.initial_state.detach() for m in members]).clone()
            )
            if first.bias is not None:
                self.bias: nn.Parameter | None = nn.Parameter(
                    torch.stack([m.bias.detach() for m in members]).clone()  # type: ignore[union-attr]
                )
            else:
                self.register_parameter("bias", None)

    @property
    def state_features(self) -> int:
        """``O + H``: the number of neurons that carry state."""
        return self.out_features + self.hidden_features

    def forward(self, x: Tensor, iterations: int | None = None) -> Tensor:
        """Run every member: the first ``O`` entries of each final state, ``(S, batch, O)``."""
        return self.states(x, iterations)[..., : self.out_features]

    def states(self, x: Tensor, iterations: int | None = None) -> Tensor:
        """The full final states ``(S, batch, O+H)``.

        Args:
            x: ``(batch, I)`` shared by all members, or ``(S, batch, I)``.
            iterations: overrides the default number of iterations.
        """
        steps = self.iterations if iterations is None else _checks.count("iterations",
                                                                         iterations, 1)
        if not isinstance(x, Tensor):
            raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
        S, n = self.num_members, self.state_features
        if x.shape[-1:] != (self.in_features,) or not (
            x.dim() == 2 or (x.dim() == 3 and x.shape[0] == S)
        ):
            raise ValueError(
                f"x must have shape (batch, {self.in_features}) or ({S}, batch, "
                f"{self.in_features}), got {tuple(x.shape)}"
            )
        weight = self.weight
        recurrent, input_weight = weight[..., :n], weight[..., n:]
        # Eq. 2 per member: the drive U x (+ b) is computed once per call.
        drive = torch.matmul(x, input_weight.transpose(1, 2))  # (S, batch, n)
        if self.bias is not None:
            drive = drive + self.bias
        h = self.initial_state.expand(S, drive.shape[1], n)
        recurrent_t = recurrent.transpose(1, 2)
        for _ in range(steps):
            h = self.activation(torch.bmm(h, recurrent_t) + drive)
        return h

    def member(self, index: int) -> CompletePerceptron:
        """A new ``CompletePerceptron`` holding a copy of member ``index``'s current parameters.

        For a weight pruned by torch (``weight_orig``, ``weight_mask``) the copy
        holds the masked weight ``weight_orig * weight_mask``.
        """
        index = _checks.count("index", index, -(2**63))
        if not -self.num_members <= index < self.num_members:
            raise IndexError(f"index must be in [0, {self.num_members}), got {index}")
        layer = CompletePerceptron(
            self.in_features,
            self.hidden_features,
            self.out_features,
            self.iterations,
            bias=self.bias is not None or hasattr(self, "bias_orig"),
            activation=self.activation,
            weight_init="zeros",
            state_init="zeros",
            device=self.initial_state.device,
            dtype=self.initial_state.dtype,
        )
        with torch.no_grad():
            for name, param in layer.named_parameters():
                param.copy_(weight_in_use(self, name).detach()[index])
        return layer

    def members(self) -> list[CompletePerceptron]:
        """Copies of all members (see :meth:`member`)."""
        return [self.member(s) for s in range(self.num_members)]

    def extra_repr(self) -> str:
        return (
            f"num_members={self.num_members}, in_features={self.in_features}, "
            f"hidden_features={self.hidden_features}, out_features={self.out_features}, "
            f"iterations={self.iterations}, bias={self.bias is not None}"
        )
