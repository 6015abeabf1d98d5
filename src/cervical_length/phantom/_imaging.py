"""Image formation of a curved-array (sector) transvaginal probe.

Echoes are formed where a scanner forms them, on the beam grid (depth sample x scan line):
complex Gaussian scatterers weighted by the tissue's backscatter amplitude, convolved with a
Gaussian point-spread function (axial x lateral), attenuated along each beam by the cumulative
attenuation of the tissue crossed (so bone shadows and fluid enhances what lies behind), plus
reverberation near the probe and electronic noise, amplified by time-gain compensation (TGC),
envelope-detected, log-compressed, then scan-converted to the display grid. The envelope of a
homogeneous region is Rayleigh distributed (fully developed speckle, mean/std = 1.91).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np

__all__ = ["Sector", "Appearance", "APPEARANCES", "BeamSettings", "beam_envelope", "log_compress", "scan_convert", "smooth_field"]


@dataclass(frozen=True)
class Sector:
    """The fan of a sector probe on the display.

    The virtual apex sits at pixel (apex_row, apex_col); pixels are square, ``mm_per_pixel`` wide.
    The image spans radii ``probe_radius_mm`` (the probe face) to ``depth_mm`` from the apex and
    angles within +/- ``half_angle_rad`` of straight down.
    """

    rows: int
    cols: int
    apex_row: float
    apex_col: float
    mm_per_pixel: float
    depth_mm: float
    probe_radius_mm: float
    half_angle_rad: float

    def pixel_grid_mm(self) -> tuple[np.ndarray, np.ndarray]:
        """(rows, cols) float32 arrays of x and z in mm at every display pixel centre (cached)."""
        return self._grid

    @cached_property
    def _grid(self) -> tuple[np.ndarray, np.ndarray]:
        cols = (np.arange(self.cols, dtype=np.float32) - self.apex_col) * self.mm_per_pixel
        rows = (np.arange(self.rows, dtype=np.float32) - self.apex_row) * self.mm_per_pixel
        x, z = np.meshgrid(cols, rows)
        x.flags.writeable = z.flags.writeable = False
        return x, z

    @cached_property
    def polar_grid(self) -> tuple[np.ndarray, np.ndarray]:
        """(rows, cols) float32 radius (mm) and angle from straight down (rad) of every pixel."""
        x, z = self._grid
        radius, angle = cv2.cartToPolar(z, x)  # angle of (z, x) is the angle from the z axis
        angle = np.where(angle > np.pi, angle - 2 * np.pi, angle).astype(np.float32)
        return radius, angle

    @cached_property
    def fan_mask(self) -> np.ndarray:
        """(rows, cols) bool, True on display pixels inside the fan (cached, read-only)."""
        radius, angle = self.polar_grid
        mask = (radius >= self.probe_radius_mm) & (radius <= self.depth_mm) & (np.abs(angle) <= self.half_angle_rad)
        mask.flags.writeable = False
        return mask

    def to_pixel(self, points_mm: np.ndarray) -> np.ndarray:
        """(..., 2) (x, z) mm to (..., 2) (row, col) pixel coordinates."""
        points_mm = np.asarray(points_mm, dtype=np.float64)
        return np.stack(
            [points_mm[..., 1] / self.mm_per_pixel + self.apex_row, points_mm[..., 0] / self.mm_per_pixel + self.apex_col],
            axis=-1,
        )

    def inside(self, x: np.ndarray, z: np.ndarray, margin_mm: float = 0.0) -> np.ndarray:
        """True where (x, z) mm lies in the imaged fan, at least ``margin_mm`` inside its edges."""
        r = np.hypot(x, z)
        theta = np.arctan2(x, z)
        margin_rad = margin_mm / np.maximum(r, 1e-6)
        return (
            (r >= self.probe_radius_mm + margin_mm)
            & (r <= self.depth_mm - margin_mm)
            & (np.abs(theta) <= self.half_angle_rad - margin_rad)
        )

    def bounds_px(self) -> tuple[int, int, int, int]:
        """(min_col, min_row, max_col, max_row) of the fan on the display, clipped to the image."""
        theta = np.linspace(-self.half_angle_rad, self.half_angle_rad, 181)
        radii = np.array([self.probe_radius_mm, self.depth_mm])
        x = np.outer(radii, np.sin(theta)).ravel()
        z = np.outer(radii, np.cos(theta)).ravel()
        rc = self.to_pixel(np.stack([x, z], axis=-1))
        return (
            int(max(0, np.floor(rc[:, 1].min()))),
            int(max(0, np.floor(rc[:, 0].min()))),
            int(min(self.cols - 1, np.ceil(rc[:, 1].max()))),
            int(min(self.rows - 1, np.ceil(rc[:, 0].max()))),
        )


@dataclass(frozen=True)
class Appearance:
    """A scanner's look: ranges from which each image draws its settings."""

    name: str
    frequency_mhz: tuple[float, float]
    axial_psf_mm: tuple[float, float]  #: sigma of the pulse envelope
    lateral_psf_mm: tuple[float, float]  #: sigma of the beam at mid-depth
    lines: int
    dynamic_range_db: tuple[float, float]
    gain_db: tuple[float, float]
    tgc_error_db: float  #: peak deviation of the user's TGC sliders from ideal
    noise_db: float  #: electronic noise relative to stroma echoes at the probe
    reverberation: float
    tint: tuple[float, float, float]  #: RGB gains of the grey map
    chrome: str  #: vendor chrome style, see _chrome
    half_angle_deg: tuple[float, float]


APPEARANCES: dict[str, Appearance] = {
    # "Vendor A": the training look.
    "train": Appearance(
        name="train",
        frequency_mhz=(5.0, 7.5),
        axial_psf_mm=(0.12, 0.2),
        lateral_psf_mm=(0.35, 0.6),
        lines=256,
        dynamic_range_db=(55.0, 70.0),
        gain_db=(-4.0, 4.0),
        tgc_error_db=4.0,
        noise_db=-78.0,
        reverberation=0.6,
        tint=(1.0, 1.0, 1.0),
        chrome="A",
        half_angle_deg=(50.0, 65.0),
    ),
    # "Vendor B", held out: coarser lateral speckle, sharper axial, other gain curve, warm tint.
    "shifted": Appearance(
        name="shifted",
        frequency_mhz=(4.0, 6.0),
        axial_psf_mm=(0.08, 0.13),
        lateral_psf_mm=(0.6, 0.95),
        lines=192,
        dynamic_range_db=(45.0, 58.0),
        gain_db=(-2.0, 8.0),
        tgc_error_db=7.0,
        noise_db=-72.0,
        reverberation=1.0,
        tint=(1.0, 0.93, 0.8),
        chrome="B",
        half_angle_deg=(42.0, 58.0),
    ),
}


@dataclass(frozen=True)
class BeamSettings:
    """One image's acquisition settings, drawn from an :class:`Appearance`."""

    frequency_mhz: float
    axial_psf_mm: float
    lateral_psf_mm: float
    lines: int
    sample_mm: float  #: axial sample spacing of the beam grid
    dynamic_range_db: float
    gain_db: float
    tgc_error_db: np.ndarray  #: (samples,) deviation of the TGC curve, dB
    noise_db: float
    reverberation: float


def smooth_field(rng: np.random.Generator, shape: tuple[int, int], correlation_px: float, strength: float) -> np.ndarray:
    """A smooth log-normal multiplicative field (~1) of the given shape and correlation length."""
    small = (max(2, int(shape[0] / correlation_px) + 2), max(2, int(shape[1] / correlation_px) + 2))
    coarse = rng.standard_normal(small).astype(np.float32)
    field = cv2.resize(coarse, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)
    return np.exp(strength * field).astype(np.float32)


def _gaussian_kernel(sigma: float) -> np.ndarray:
    radius = max(1, int(np.ceil(3 * sigma)))
    t = np.arange(-radius, radius + 1, dtype=np.float32)
    k = np.exp(-0.5 * (t / max(sigma, 1e-3)) ** 2)
    return (k / np.sqrt((k * k).sum())).astype(np.float32)  # unit energy: speckle power kept


def beam_envelope(
    rng: np.random.Generator,
    amplitude: np.ndarray,
    attenuation_db_cm_mhz: np.ndarray,
    settings: BeamSettings,
    *,
    line_spacing_mm: float,
    probe_radius_mm: float,
) -> np.ndarray:
    """Linear echo envelope on the beam grid.

    amplitude, attenuation_db_cm_mhz : (samples, lines) float32 maps, row i at depth
        ``probe_radius_mm + i * settings.sample_mm``.
    line_spacing_mm : lateral distance between lines at mid-depth, to size the lateral PSF.
    Returns (samples, lines) float32 envelope (before log compression).
    """
    samples, lines = amplitude.shape
    scatter = rng.standard_normal((2, samples, lines), dtype=np.float32)
    scatter *= amplitude[None] * np.float32(np.sqrt(0.5))
    axial = _gaussian_kernel(settings.axial_psf_mm / settings.sample_mm)
    lateral = _gaussian_kernel(settings.lateral_psf_mm / line_spacing_mm)
    real = cv2.sepFilter2D(scatter[0], -1, lateral, axial, borderType=cv2.BORDER_REFLECT)
    imag = cv2.sepFilter2D(scatter[1], -1, lateral, axial, borderType=cv2.BORDER_REFLECT)
    depth_cm = (probe_radius_mm + np.arange(samples, dtype=np.float32) * settings.sample_mm) / 10.0
    # Round-trip loss: twice the integral of the local attenuation along the beam.
    loss_db = 2.0 * settings.frequency_mhz * np.cumsum(attenuation_db_cm_mhz, axis=0) * (settings.sample_mm / 10.0)
    ideal_tgc_db = 2.0 * settings.frequency_mhz * 0.6 * (depth_cm - depth_cm[0])
    # Reverberation (multiple reflections between the probe face and the first interfaces:
    # decaying bands near the probe) and electronic noise (entering before the TGC amplifier, so
    # deep echoes are noisier) are independent complex Gaussians: one draw with their summed power.
    period = max(2, int(round(2.5 / settings.sample_mm)))
    rows = np.arange(samples, dtype=np.float32)
    reverb = sum(
        settings.reverberation * np.exp(-0.7 * k) * np.exp(-0.5 * ((rows - k * period) / (0.25 * period)) ** 2) for k in range(1, 5)
    )
    noise_sigma = np.sqrt((10.0 ** (settings.noise_db / 20.0)) ** 2 + reverb**2).astype(np.float32) * np.float32(np.sqrt(0.5))
    noise = rng.standard_normal((2, samples, lines), dtype=np.float32) * noise_sigma[None, :, None]
    attenuated = (10.0 ** (-loss_db / 20.0)).astype(np.float32)
    tgc = (10.0 ** ((ideal_tgc_db[:, None] + settings.tgc_error_db[:, None]) / 20.0)).astype(np.float32)
    return np.hypot(real * attenuated + noise[0], imag * attenuated + noise[1]) * tgc


def log_compress(envelope: np.ndarray, *, dynamic_range_db: float, gain_db: float, reference: float) -> np.ndarray:
    """Display grey levels (float32, 0-255) of an envelope: ``reference`` x gain maps to white."""
    db = 20.0 * np.log10(np.maximum(envelope, 1e-12) / reference) + gain_db
    return np.clip((db + dynamic_range_db) * (255.0 / dynamic_range_db), 0.0, 255.0).astype(np.float32)


def scan_convert(beam: np.ndarray, sector: Sector, sample_mm: float) -> np.ndarray:
    """Display image (rows, cols) float32 of a (samples, lines) beam image; 0 outside the fan."""
    samples, lines = beam.shape
    r, theta = sector.polar_grid
    map_row = ((r - sector.probe_radius_mm) / sample_mm).astype(np.float32)
    map_col = ((theta + sector.half_angle_rad) / (2 * sector.half_angle_rad) * (lines - 1)).astype(np.float32)
    image = cv2.remap(beam, map_col, map_row, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    image[~sector.fan_mask] = 0.0
    return image
