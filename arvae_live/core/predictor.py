"""AttributePredictor: a small MLP from a latent z to the attributes its decoded measure will have.

Why it exists: the closed loop (arvae_live/steering.py) has to find, per measure, where to put the regularised latent
dims so that the decoded measure meets its targets. The checkpoint's calibration table answers with one curve per
attribute, averaged over all measures; but where a given attribute value sits on its dim depends on the rest of z (a
measure's pitch range moves with its note count, for one). Measured on the Bach model, the calibration's first guess
misses a pitch-range target by 0.13 on average and a note-density target by 0.13. The predictor, fitted at export
time on decoded measures (training/predictor_fit.py), knows the rest of z: a few Gauss-Newton steps on it
(`solve`) miss by 0.06 and 0.04 before a single extra decode. It is cheap (two hidden layers, microseconds per row)
and optional: a checkpoint without one falls back to the calibration table.

Values are attributes normalised to 0..1 over each AttributeSpec's range; z is in latent units (the prior is N(0, 1)).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from arvae_live.errors import CheckpointError


@dataclass(frozen=True)
class PredictorConfig:
    """Shapes of an AttributePredictor. `attributes` names its outputs, in order."""

    latent_dim: int
    attributes: tuple[str, ...]
    hidden_dim: int = 128

    def __post_init__(self) -> None:
        if self.latent_dim < 1 or self.hidden_dim < 1 or not self.attributes:
            raise CheckpointError(f"bad attribute predictor config {self}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["attributes"] = list(self.attributes)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> PredictorConfig:
        return cls(latent_dim=int(d["latent_dim"]), attributes=tuple(d["attributes"]), hidden_dim=int(d["hidden_dim"]))


class AttributePredictor(nn.Module):
    """z (B, latent_dim) -> predicted normalised attributes (B, A) of decode(z). Linear-SiLU-Linear-SiLU-Linear."""

    def __init__(self, config: PredictorConfig) -> None:
        super().__init__()
        self.config = config
        H = config.hidden_dim
        self.l1 = nn.Linear(config.latent_dim, H)
        self.l2 = nn.Linear(H, H)
        self.l3 = nn.Linear(H, len(config.attributes))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.l3(nn.functional.silu(self.l2(nn.functional.silu(self.l1(z)))))

    def with_jacobian(self, z: torch.Tensor, dims: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Prediction and its Jacobian with respect to z[:, dims], in closed form (no autograd, so it runs under
        torch.inference_mode).

        Returns:
            (f (B, A), J (B, A, len(dims))) with J[b, a, s] = d f[b, a] / d z[b, dims[s]].
        """
        a1 = self.l1(z)
        s1 = torch.sigmoid(a1)
        h1 = a1 * s1
        a2 = self.l2(h1)
        s2 = torch.sigmoid(a2)
        f = self.l3(a2 * s2)
        d1 = s1 * (1 + a1 * (1 - s1))  # silu'(x) = s + x s (1 - s)
        d2 = s2 * (1 + a2 * (1 - s2))
        j1 = d1.unsqueeze(2) * self.l1.weight[:, dims].unsqueeze(0)  # (B, H, S)
        j2 = d2.unsqueeze(2) * torch.matmul(self.l2.weight, j1)  # (B, H, S)
        return f, torch.matmul(self.l3.weight, j2)  # (B, A, S)

    def solve(
        self,
        z: torch.Tensor,
        dims: list[int],
        asked: torch.Tensor,
        weight: torch.Tensor,
        iters: int = 6,
        max_step: float = 1.5,
        damping: float = 1e-2,
    ) -> torch.Tensor:
        """Move z[:, dims] so that the predicted attributes meet `asked`: damped Gauss-Newton on
        sum_a weight[b, a] * (f_a(z) - asked[b, a])^2, the other dims of z held.

        Args:
            z: float (B, latent_dim), the start (not modified).
            dims: the latent dims to move (the regularised ones), S of them.
            asked: float (B, A) normalised targets, A = len(config.attributes).
            weight: float (B, A) >= 0; 0 where an attribute does not count.
            iters: Gauss-Newton steps.
            max_step: largest move of one dim in one step, latent units (the predictor is only fitted where the
                decoder was sampled, about -4..4).
            damping: added to the normal matrix's diagonal, keeps the step finite where f is flat.

        Returns:
            float (B, latent_dim): z with dims moved.
        """
        z = z.clone()
        eye = damping * torch.eye(len(dims), dtype=z.dtype, device=z.device)
        for _ in range(iters):
            f, J = self.with_jacobian(z, dims)
            Jw = J * weight.unsqueeze(2)  # (B, A, S)
            normal = torch.matmul(J.transpose(1, 2), Jw) + eye  # (B, S, S)
            rhs = torch.matmul(Jw.transpose(1, 2), (asked - f).unsqueeze(2))  # (B, S, 1)
            step = torch.linalg.solve(normal, rhs).squeeze(2).clamp(-max_step, max_step)
            z[:, dims] = z[:, dims] + step
        return z
