"""Training the segmentation network on phantoms, or on a clinic's own labelled PNGs (FUGC format).

Deterministic for a seed on one machine: data, augmentation and weight initialisation all draw from
it. Logs loss and validation Dice each epoch.
"""

from __future__ import annotations

import csv
import math
import multiprocessing
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.optim.swa_utils import AveragedModel, update_bn

from ._csv import numbered_rows
from .model import UNet, save_model
from .model_info import CLASSES, ModelInfo, TrainConfig
from .phantom import PhantomCase, generate, with_calipers
from .segment import letterbox, letterbox_labels

__all__ = ["phantom_squares", "training_squares", "labelled_pairs", "read_labelled", "pixel_size", "read_pixel_sizes", "fugc_squares", "augment", "dice_per_class", "separation_weights", "train"]

Squares = tuple[np.ndarray, np.ndarray]  # (N, S, S) uint8 grey, (N, S, S) uint8 labels


#: First seed of the extra funnelled phantoms (:attr:`TrainConfig.extra_funnels`) of seed 0; seed k
#: starts k x 10,000,000 further on, as the other training phantoms do.
EXTRA_FUNNEL_SEEDS = 30_000_000
#: First seed of the extra closed short cervices (:attr:`TrainConfig.extra_short`) of seed 0, likewise.
EXTRA_SHORT_SEEDS = 50_000_000
#: Key, beside a phantom's seed, of the draw that saves it with calipers (:attr:`TrainConfig.calipers`).
CALIPER_DRAW = 0xCA11


def _saved_with_calipers(seed: int, share: float) -> bool:
    """Whether phantom ``seed`` is one of the ``share`` of a training set saved with the examiner's
    calipers (drawn from the seed, so a training run's data stay reproducible)."""
    return share > 0.0 and np.random.default_rng([seed, CALIPER_DRAW]).random() < share


def _phantom_square(job: tuple[int, str, int, PhantomCase | None, bool]) -> Squares:
    seed, appearance, size, case, calipers = job
    phantom = generate(seed, appearance=appearance, case=case)
    if calipers:
        phantom = with_calipers(phantom)
    c0, r0, c1, r1 = phantom.truth.sector_bounds_px
    grey = cv2.cvtColor(phantom.rgb, cv2.COLOR_RGB2GRAY)
    square, box = letterbox(grey, (r0, c0, r1 + 1, c1 + 1), size)
    return square, letterbox_labels(phantom.labels, box)


def phantom_squares(
    first_seed: int, count: int, *, appearance: str, size: int, workers: int, case: PhantomCase | None = None, calipers: float = 0.0
) -> Squares:
    """Working-size grey squares and labels of ``count`` phantoms from ``first_seed`` on, of the
    default case mix or all of ``case``; a ``calipers`` share of them with the sonographer's calipers."""
    jobs = [(first_seed + k, appearance, size, case, _saved_with_calipers(first_seed + k, calipers)) for k in range(count)]
    with multiprocessing.Pool(workers) as pool:
        pairs = pool.map(_phantom_square, jobs, chunksize=8)
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


def training_squares(config: TrainConfig) -> Squares:
    """The phantoms a training run on phantoms learns from: ``config.train_count`` of the default case
    mix (seeds from ``config.seed`` x 10,000,000), then ``config.extra_funnels`` funnelled ones, then
    ``config.extra_short`` closed short cervices; a ``config.calipers`` share of each saved with the
    sonographer's calipers."""
    extras = [(EXTRA_FUNNEL_SEEDS, config.extra_funnels, "funnel"), (EXTRA_SHORT_SEEDS, config.extra_short, "short")]
    parts = [(0, config.train_count, None), *(extra for extra in extras if extra[1] > 0)]
    squares = [
        phantom_squares(first + config.seed * 10_000_000, count, appearance="train", size=config.working_size, workers=config.workers, case=case, calipers=config.calipers)
        for first, count, case in parts
    ]
    if len(squares) == 1:
        return squares[0]  # not copied by a concatenation of one
    return np.concatenate([s[0] for s in squares]), np.concatenate([s[1] for s in squares])


def labelled_pairs(folder: str | Path) -> list[tuple[Path, Path]]:
    """The (image, label) PNG paths of a labelled folder: ``images/X.png`` + ``labels/X.png`` (FUGC
    2025), or ``X.png`` + ``X_label.png`` side by side (phantom sets); ValueError when there are none."""
    folder = Path(folder)
    if (folder / "images").is_dir():
        pairs = [(p, folder / "labels" / p.name) for p in sorted((folder / "images").glob("*.png"))]
    else:
        pairs = [(p, p.with_name(f"{p.stem}_label.png")) for p in sorted(folder.glob("*.png")) if not p.stem.endswith("_label") and p.name != "montage.png"]
    if not pairs:
        raise ValueError(f"{folder}: no image/label PNG pairs found")
    return pairs


def read_labelled(image_path: Path, label_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One labelled image: (rows, cols) uint8 grey and its (rows, cols) uint8 label map (0
    background, 1 anterior lip, 2 posterior lip); ValueError naming the file when either is
    missing, unreadable, of another size or holds other labels."""
    image = cv2.imread(str(image_path), cv2.IMREAD_GRAYSCALE)
    label = cv2.imread(str(label_path), cv2.IMREAD_UNCHANGED)
    if image is None or label is None:
        raise ValueError(f"{image_path}: image or its label {label_path.name} is missing or unreadable")
    if label.shape != image.shape or label.max() > len(CLASSES) - 1:
        raise ValueError(f"{label_path}: labels must be 0/1/2 and the image's size {image.shape}")
    return image, label


def pixel_size(text: str) -> float:
    """A pixel size in mm from text: ValueError unless it is a finite number above 0."""
    try:
        size = float(text)
    except ValueError:
        size = math.nan
    if not (size > 0 and math.isfinite(size)):
        raise ValueError(f"mm_per_pixel must be a number above 0, not {text!r}")
    return size


def read_pixel_sizes(path: str | Path) -> dict[str, float]:
    """A labelled folder's pixel sizes: a CSV with columns ``image`` (file name; or ``file``, as in a
    phantom set's ground_truth.csv) and ``mm_per_pixel`` (square pixels, mm), for folders whose
    images were exported at several depths; ValueError naming the file and row for a missing column
    or a size that is not above 0."""
    path = Path(path)
    sizes = {}
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns = set(reader.fieldnames or ())
        name = next((c for c in ("image", "file") if c in columns), None)
        if name is None or "mm_per_pixel" not in columns:
            raise ValueError(f"{path}: needs the columns image (or file) and mm_per_pixel")
        for number, row in numbered_rows(reader, path):
            try:
                sizes[row[name]] = pixel_size(row["mm_per_pixel"])
            except ValueError as err:
                raise ValueError(f"{path}, row {number}: {err}") from err
    return sizes


def fugc_squares(folder: str | Path, *, size: int) -> Squares:
    """Working-size grey squares and labels of a labelled folder (:func:`labelled_pairs`)."""
    images, labels = [], []
    for image_path, label_path in labelled_pairs(folder):
        image, label = read_labelled(image_path, label_path)
        square, box = letterbox(image, None, size)
        images.append(square)
        labels.append(letterbox_labels(label, box))
    return np.stack(images), np.stack(labels)


def augment(rng: np.random.Generator, image: np.ndarray, label: np.ndarray) -> Squares:
    """A random gain/gamma, blur, noise, rotation, scale, shift and left-right flip of a square pair.

    No vertical flip: the anterior lip is the one nearer the top on every scanner.
    """
    size = image.shape[0]
    angle, zoom = rng.uniform(-12, 12), rng.uniform(0.85, 1.15)
    matrix = cv2.getRotationMatrix2D((size / 2, size / 2), angle, zoom)
    matrix[:, 2] += rng.uniform(-0.08, 0.08, size=2) * size
    image = cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderValue=0)
    label = cv2.warpAffine(label, matrix, (size, size), flags=cv2.INTER_NEAREST, borderValue=0)
    values = (image.astype(np.float32) / 255.0) ** rng.uniform(0.7, 1.4) * rng.uniform(0.7, 1.3)
    if rng.random() < 0.3:
        values = cv2.GaussianBlur(values, (0, 0), rng.uniform(0.5, 1.2))
    if rng.random() < 0.3:
        values *= rng.rayleigh(0.8, size=values.shape).astype(np.float32) ** 0.3
    image = np.clip(values * 255.0, 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        image, label = image[:, ::-1], label[:, ::-1]
    return np.ascontiguousarray(image), np.ascontiguousarray(label)


def dice_per_class(predicted: np.ndarray, target: np.ndarray, classes: int = len(CLASSES)) -> np.ndarray:
    """Mean Dice of each class over a batch of label maps; an image where a class is absent from
    both prediction and truth counts 1 for that class. Returns (classes,) float."""
    scores = np.zeros((len(predicted), classes))
    for n, (p, t) in enumerate(zip(predicted, target)):
        for k in range(classes):
            a, b = p == k, t == k
            total = a.sum() + b.sum()
            scores[n, k] = 1.0 if total == 0 else 2.0 * (a & b).sum() / total
    return scores.mean(axis=0)


def _augmented_batch(rng: np.random.Generator, data: Squares, indices: np.ndarray) -> tuple[torch.Tensor, np.ndarray]:
    """(B, 1, S, S) float 0-1 tensor of augmented squares and their (B, S, S) uint8 labels."""
    pairs = [augment(rng, data[0][i], data[1][i]) for i in indices]
    return torch.from_numpy(np.stack([p[0] for p in pairs]).astype(np.float32) / 255.0)[:, None], np.stack([p[1] for p in pairs])


def _validation_dice(model: UNet, validation: dict[str, Squares]) -> dict[str, float]:
    """Mean Dice of the two lips on each named validation set."""
    return {name: float(dice_per_class(_predict(model, v[0]), v[1])[1:].mean()) for name, v in validation.items()}


def _predict(model: UNet, images: np.ndarray, batch: int = 32) -> np.ndarray:
    model.eval()
    out = []
    with torch.inference_mode():
        for k in range(0, len(images), batch):
            x = torch.from_numpy(images[k : k + batch].astype(np.float32) / 255.0)[:, None]
            out.append(model(x).argmax(dim=1).numpy().astype(np.uint8))
    return np.concatenate(out)


#: Augmented training squares whose batch-norm statistics the averaged weights take (100 batches
#: of 16: far more than the running statistics need to settle).
BATCH_NORM_SQUARES = 1600


#: Width of the separation weight, in working pixels (about 1.4 mm at 0.45 mm a pixel): the closed
#: canal and the first millimetres of a funnel's wedge, where the two lips nearly touch.
SEPARATION_SIGMA_PX = 3.0


def separation_weights(labels: np.ndarray, weight: float) -> np.ndarray:
    """Per-pixel loss weights that stress where the two lips nearly touch (Ronneberger et al. 2015, eq. 2).

    labels : (N, S, S) uint8 label maps (0 background, 1 anterior, 2 posterior lip).
    Returns (N, S, S) float32 ``1 + weight * exp(-(d1 + d2)**2 / (2 sigma**2))``, with d1 and d2 the
    distances in pixels to the nearest anterior and posterior lip pixel (0 inside that lip) and sigma
    :data:`SEPARATION_SIGMA_PX`: high along the canal, at the internal os and in the narrow tip of a
    funnel, where a pixel decides whether the lips meet; 1 far from either lip.
    """
    out = np.ones(labels.shape, dtype=np.float32)
    for n, label in enumerate(labels):
        # Capped: a lip absent from the image gives FLT_MAX distances; beyond 10 sigma the weight is 1 anyway.
        d1, d2 = (np.minimum(cv2.distanceTransform((label != k).astype(np.uint8), cv2.DIST_L2, 5), 10 * SEPARATION_SIGMA_PX) for k in (1, 2))
        out[n] += weight * np.exp(-((d1 + d2) ** 2) / (2 * SEPARATION_SIGMA_PX**2))
    return out


def _loss(logits: torch.Tensor, target: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Cross-entropy (per-pixel ``weights`` if given) plus soft Dice of the two lips."""
    if weights is None:
        ce = torch.nn.functional.cross_entropy(logits, target)
    else:
        ce = (torch.nn.functional.cross_entropy(logits, target, reduction="none") * weights).sum() / weights.sum()
    probs = torch.softmax(logits, dim=1)[:, 1:]
    onehot = torch.nn.functional.one_hot(target, len(CLASSES)).permute(0, 3, 1, 2)[:, 1:].float()
    inter = (probs * onehot).sum(dim=(0, 2, 3))
    dice = (2 * inter + 1.0) / (probs.sum(dim=(0, 2, 3)) + onehot.sum(dim=(0, 2, 3)) + 1.0)
    return ce + (1.0 - dice.mean())


def _progress(text: str) -> None:
    if sys.stderr.isatty():
        print(f"\r{text}", end="", file=sys.stderr, flush=True)


def train(
    config: TrainConfig,
    metadata_path: str | Path,
    *,
    train_data: Squares | None = None,
    validation: dict[str, Squares] | None = None,
    init: UNet | None = None,
    log: Callable[[str], None] = print,
) -> ModelInfo:
    """Train and save the epoch with the best mean lip Dice on the first validation set or, with
    ``config.average_from``, the average of the weights from that epoch on (stochastic weight
    averaging, Izmailov et al. 2018).

    train_data : squares to train on; None generates ``config.train_count`` phantoms.
    validation : named validation squares; None generates held-out and shifted phantoms.
    init : a model to fine-tune instead of a fresh one.
    """
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    size = config.working_size
    start = time.perf_counter()
    if train_data is None:
        train_data = training_squares(config)
    if validation is None:
        validation = {
            "heldout": phantom_squares(1_000_000, config.val_count, appearance="train", size=size, workers=config.workers),
            "shifted": phantom_squares(2_000_000, config.val_count, appearance="shifted", size=size, workers=config.workers),
        }
    log(f"data: {len(train_data[0])} training squares, validation {', '.join(f'{k} {len(v[0])}' for k, v in validation.items())} ({time.perf_counter() - start:.0f} s)")
    model = init if init is not None else UNet(config.widths)
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=1e-4)
    steps_per_epoch = max(1, len(train_data[0]) // config.batch_size)
    # Averaging samples the weights along a constant learning rate; otherwise one cycle up and down.
    averaged = AveragedModel(model) if config.average_from else None
    schedule = None if averaged is not None else torch.optim.lr_scheduler.OneCycleLR(optimiser, config.learning_rate, total_steps=config.epochs * steps_per_epoch)
    best, best_state, history = -1.0, None, []
    first_val = next(iter(validation))
    for epoch in range(1, config.epochs + 1):
        model.train()
        order = rng.permutation(len(train_data[0]))
        losses = []
        for step in range(steps_per_epoch):
            x, labels = _augmented_batch(rng, train_data, order[step * config.batch_size : (step + 1) * config.batch_size])
            weights = torch.from_numpy(separation_weights(labels, config.separation_weight)) if config.separation_weight else None
            loss = _loss(model(x), torch.from_numpy(labels.astype(np.int64)), weights)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            if schedule is not None:
                schedule.step()
            losses.append(loss.item())
            _progress(f"epoch {epoch}/{config.epochs} [{'#' * (20 * (step + 1) // steps_per_epoch):<20}] loss {np.mean(losses):.4f}")
        lips = _validation_dice(model, validation)
        history.append({"epoch": epoch, "loss": float(np.mean(losses)), **{f"dice_{k}": round(v, 4) for k, v in lips.items()}})
        if sys.stderr.isatty():
            print(file=sys.stderr)
        log(f"epoch {epoch}: loss {np.mean(losses):.4f}, " + ", ".join(f"{k} lip Dice {v:.4f}" for k, v in lips.items()) + f" ({(time.perf_counter() - start) / 60:.1f} min)")
        over_time = (time.perf_counter() - start) / 60 > config.max_minutes
        if averaged is not None:
            # A run stopped by the time budget before averaging began keeps its last epoch.
            if epoch >= config.average_from or over_time:
                averaged.update_parameters(model)
        elif lips[first_val] > best:
            best, best_state = lips[first_val], {k: v.clone() for k, v in model.state_dict().items()}
        if over_time:
            log(f"stopping after epoch {epoch}: time budget of {config.max_minutes} min reached")
            break
    card: dict = {"history": history}
    if averaged is not None:
        # The averaged weights never ran forward: their batch-norm statistics are measured afresh.
        # Drawn one batch at a time as update_bn runs them (the same draws in the same order as a
        # list), not held all at once: 1,600 squares of 256 x 256 float32 are 420 MB.
        batches = (_augmented_batch(rng, train_data, rng.integers(0, len(train_data[0]), config.batch_size))[0] for _ in range(BATCH_NORM_SQUARES // config.batch_size))
        update_bn(batches, averaged)
        model = averaged.module
        lips = _validation_dice(model, validation)
        card["averaged"] = {"epochs": int(averaged.n_averaged), **{f"dice_{k}": round(v, 4) for k, v in lips.items()}}
        log(f"average of the last {int(averaged.n_averaged)} epochs: " + ", ".join(f"{k} lip Dice {v:.4f}" for k, v in lips.items()))
    else:
        model.load_state_dict(best_state)
    card["training"] = {**asdict(config), "minutes": round((time.perf_counter() - start) / 60, 1)}
    return save_model(model.eval(), metadata_path, working_size=size, card=card)
