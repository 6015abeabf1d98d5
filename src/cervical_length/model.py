"""The segmentation network and its weights: a small U-Net for background / anterior lip / posterior lip.

Weights are a plain ``state_dict`` read with ``torch.load(weights_only=True)`` (no code runs from the
file) after its SHA-256 is checked against the model card's metadata file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from .errors import ModelError
from .model_info import CLASSES, DEFAULT_MODEL, DEFAULT_WIDTHS, ModelInfo, read_model_info, write_metadata

__all__ = ["UNet", "load_model", "save_model"]


class _Block(nn.Sequential):
    """Two 3x3 convolutions, each followed by batch norm and ReLU."""
    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
            nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
        )


class _UpBlock(_Block):
    """A decoder block: the up-sampled features and the encoder's skip connection, concatenated
    (in that channel order), through a :class:`_Block`."""

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return super().forward(torch.cat([x, skip], dim=1))


class _SplitUpBlock(nn.Module):
    """A :class:`_UpBlock` for inference, its batch norms folded: the first convolution split in
    two, one over the up-sampled channels and one over the skip channels, summed. Convolving a
    concatenation is the sum of convolving its parts, so the outputs are the same to float
    rounding, without copying both inputs into one channels-last tensor."""

    def __init__(self, block: _UpBlock) -> None:
        super().__init__()
        conv = block[0]
        up_channels = conv.in_channels - conv.out_channels  # the skip connection has the block's own width
        self.up = nn.Conv2d(up_channels, conv.out_channels, 3, padding=1)
        self.skip = nn.Conv2d(conv.out_channels, conv.out_channels, 3, padding=1, bias=False)
        with torch.no_grad():
            self.up.weight.copy_(conv.weight[:, :up_channels])
            self.up.bias.copy_(conv.bias)
            self.skip.weight.copy_(conv.weight[:, up_channels:])
        self.rest = nn.Sequential(*list(block)[1:])

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        y = self.up(x)
        y += self.skip(skip)
        return self.rest(y)


class _MaxPool2x2(nn.Module):
    """2 x 2 max pooling, stride 2, as the largest of four strided views: the same values as
    ``nn.MaxPool2d(2)`` (odd trailing rows and columns dropped likewise) without its index
    bookkeeping, a quarter of its time at full resolution on channels-last CPU tensors. Inference only."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[..., : x.shape[-2] // 2 * 2, : x.shape[-1] // 2 * 2]
        return torch.maximum(torch.maximum(x[..., ::2, ::2], x[..., 1::2, ::2]), torch.maximum(x[..., ::2, 1::2], x[..., 1::2, 1::2]))


class UNet(nn.Module):
    """U-Net: input (N, 1, H, W) float32 grey in [0, 1], output (N, classes, H, W) logits.

    H and W must be divisible by :attr:`grid_px`.
    """

    def __init__(self, widths: tuple[int, ...] = DEFAULT_WIDTHS, classes: int = len(CLASSES)) -> None:
        super().__init__()
        self.widths = tuple(widths)
        self.down = nn.ModuleList()
        c_in = 1
        for width in widths:
            self.down.append(_Block(c_in, width))
            c_in = width
        self.up = nn.ModuleList(_UpBlock(widths[k + 1] + widths[k], widths[k]) for k in reversed(range(len(widths) - 1)))
        self.head = nn.Conv2d(widths[0], classes, 1)
        self.pool = nn.MaxPool2d(2)

    @property
    def grid_px(self) -> int:
        """Input pixels per pixel of the deepest level (the grid halves at each level below the first)."""
        return 2 ** (len(self.widths) - 1)

    def grown(self, widths: Sequence[int]) -> UNet:
        """A deeper U-Net that starts from this one: ``widths`` are this network's widths followed
        by those of the new deepest levels.

        Every layer of this network is copied into the layer of the new one that works at the same
        level (the encoder blocks and the head as they are, each decoder block by the level it
        brings features up to); the new levels' encoder blocks and the decoder blocks that bring
        their features back up start untrained, so fine-tuning adds depth to what was learnt.
        Raises ValueError when ``widths`` do not extend this network's.
        """
        widths = tuple(widths)
        added = len(widths) - len(self.widths)
        if added < 1 or widths[: len(self.widths)] != self.widths:
            raise ValueError(f"widths {widths} do not add levels below this network's {self.widths}")
        grown = UNet(widths, self.head.out_channels)
        state = grown.state_dict()
        for name, tensor in self.state_dict().items():
            if name.startswith("up."):  # decoder blocks are listed deepest first
                _, index, rest = name.split(".", 2)
                name = f"up.{int(index) + added}.{rest}"
            state[name] = tensor.clone()
        grown.load_state_dict(state)
        return grown

    def fused(self) -> UNet:
        """A copy for CPU inference, with the same outputs to float rounding. Only for eval mode: the
        copy has no batch statistics to learn.

        Each batch norm is folded into its convolution (~15 % faster); the 3x3 convolutions take
        channels-last memory and the 1x1 head contiguous (NCHW) memory, the faster layout of each on
        CPU (the head alone: 0.13 against 2.5 ms at 256 x 256, one thread); max pooling takes the
        largest of four strided views (1.0 -> 0.3 ms a frame, the same values); each decoder block
        convolves its two inputs apart and sums them instead of concatenating them
        (:class:`_SplitUpBlock`: the concatenation of channels-last tensors took 1.7-2.5 ms of a
        13.4 ms pass on a sector's window, and the pass fell to 10.2 ms)."""
        copy = UNet(self.widths, self.head.out_channels)
        copy.load_state_dict(self.state_dict())
        copy.eval()
        for block in (*copy.down, *copy.up):
            for k in (0, 3):
                block[k] = fuse_conv_bn_eval(block[k], block[k + 1])
                block[k + 1] = nn.Identity()
        copy.up = nn.ModuleList(_SplitUpBlock(block) for block in copy.up)
        copy.pool = _MaxPool2x2()
        copy.to(memory_format=torch.channels_last)
        copy.head.to(memory_format=torch.contiguous_format)
        return copy

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for k, block in enumerate(self.down):
            x = block(x if k == 0 else self.pool(x))
            skips.append(x)
        for block, skip in zip(self.up, reversed(skips[:-1])):
            x = block(nn.functional.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False), skip)
        return self.head(x.contiguous())  # a no-op unless the input was channels-last (see fused)


def save_model(model: UNet, metadata_path: str | os.PathLike[str], *, working_size: int, card: dict) -> ModelInfo:
    """Write ``model``'s weights beside ``metadata_path`` (same stem, ``.pt``) and the metadata JSON."""
    weights = Path(metadata_path).with_suffix(".pt")
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, weights)
    return write_metadata(metadata_path, weights, widths=model.widths, working_size=working_size, card=card)


def load_model(metadata_path: str | os.PathLike[str] = DEFAULT_MODEL) -> tuple[UNet, ModelInfo]:
    """The network in eval mode and its :class:`~cervical_length.model_info.ModelInfo`, after
    :func:`~cervical_length.model_info.read_model_info` has checked the weights' SHA-256.

    Raises :class:`~cervical_length.errors.ModelError` naming the file when the metadata is missing or
    unreadable, the checksum differs (damaged or tampered weights), or the tensors do not fit.
    """
    info = read_model_info(metadata_path)
    model = UNet(info.widths)
    try:
        state = torch.load(info.weights, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    except (RuntimeError, ValueError, TypeError, KeyError) as err:
        raise ModelError(f"{info.weights}: weights do not fit a UNet{info.widths} ({type(err).__name__}: {err})") from err
    return model.eval(), info
