"""Generated transvaginal cervix images with exact ground truth: the project's training and test ground.

No labelled real images can be downloaded here, so every accuracy figure of the tool stands on these
phantoms. They are built as a scanner builds an image (see :mod:`._imaging`) from a sagittal
anatomy (see :mod:`._anatomy`), and carry their truth in millimetres (see :mod:`._truth`).
"""

from ._anatomy import LABEL_ANTERIOR, LABEL_BACKGROUND, LABEL_POSTERIOR, Anatomy, Blob
from ._canal import Canal
from ._export import GROUND_TRUTH_COLUMNS, montage, phantom_stem, truth_row, write_ground_truth_csv, write_phantom
from ._generate import CASES, Phantom, PhantomCase, Scene, generate, generate_cine, moved, render, sample_scene, with_calipers
from ._imaging import APPEARANCES, Appearance, Sector, beam_envelope
from ._samples import SAMPLES, SampleSpec, write_samples
from ._truth import FunnelShape, PhantomTruth

__all__ = [
    "APPEARANCES",
    "Anatomy",
    "Appearance",
    "Blob",
    "CASES",
    "Canal",
    "GROUND_TRUTH_COLUMNS",
    "SAMPLES",
    "SampleSpec",
    "FunnelShape",
    "LABEL_ANTERIOR",
    "LABEL_BACKGROUND",
    "LABEL_POSTERIOR",
    "Phantom",
    "PhantomCase",
    "PhantomTruth",
    "Scene",
    "Sector",
    "beam_envelope",
    "generate",
    "generate_cine",
    "montage",
    "moved",
    "phantom_stem",
    "render",
    "sample_scene",
    "truth_row",
    "write_ground_truth_csv",
    "write_phantom",
    "write_samples",
    "with_calipers",
]
