"""Which torch device a command runs on: the one rule the live side and the trainer share."""

from __future__ import annotations

import torch

from arvae_live.errors import ConfigError


def resolve_device(name: str, local_rank: int | None = None) -> torch.device:
    """Turn a --device value into a torch.device.

    Args:
        name: "auto" (cuda when torch sees a GPU, else cpu), "cpu", "cuda" or "cuda:N".
        local_rank: under torchrun, the process's local rank: a bare "cuda" (or "auto" on a GPU machine) becomes
            cuda:local_rank, one GPU per process.

    Raises:
        ConfigError: an unknown or unsupported device, or cuda asked for where torch sees no GPU.
    """
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(name)
    except RuntimeError as err:
        raise ConfigError(f"unknown device {name!r}; use auto, cpu or cuda") from err
    if dev.type not in ("cpu", "cuda"):
        raise ConfigError(f"unsupported device {name!r}; use auto, cpu or cuda")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device cuda asked for, but torch sees no CUDA GPU; use --device cpu or auto")
    if dev.type == "cuda" and dev.index is None and local_rank is not None:
        dev = torch.device("cuda", local_rank)
    return dev
