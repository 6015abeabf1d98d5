"""Drawing one phantom: sample the anatomy and the scanner settings, render, and record the truth."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from ..measure import funnel_shape
from ._anatomy import Anatomy, Blob, tissue_maps
from ._canal import Canal
from ._chrome import draw_calipers, draw_chrome
from ._imaging import APPEARANCES, Appearance, BeamSettings, Sector, beam_envelope, log_compress, scan_convert, smooth_field
from ._truth import FunnelShape, PhantomTruth

__all__ = ["PhantomCase", "CASES", "Phantom", "Scene", "sample_scene", "render", "generate", "generate_cine", "moved", "with_calipers"]

PhantomCase = Literal[
    "normal", "short", "funnel", "out_of_sector", "out_of_plane", "shadow", "probe_pressure"
]
#: Measurable cases first; the last four have ground truth "not measurable".
CASES: tuple[PhantomCase, ...] = ("normal", "short", "funnel", "out_of_sector", "out_of_plane", "shadow", "probe_pressure")
#: The mix used when no case is asked for: mostly measurable, as in a clinic's archive.
DEFAULT_MIX = {"normal": 0.34, "short": 0.2, "funnel": 0.26, "out_of_sector": 0.05, "out_of_plane": 0.05, "shadow": 0.05, "probe_pressure": 0.05}

_REASONS = {
    "out_of_sector": "canal not fully inside the ultrasound sector",
    "out_of_plane": "out-of-plane view: the endocervical canal is not visible",
    "shadow": "acoustic shadow over the canal",
    "probe_pressure": "lips very unequal in thickness (probe pressure)",
}


@dataclass(frozen=True, eq=False)
class Scene:
    """Everything needed to render a frame: anatomy, fan, settings, and the funnel shape drawn."""

    case: PhantomCase
    appearance: Appearance
    anatomy: Anatomy
    sector: Sector
    settings: BeamSettings
    funnel_shape: FunnelShape


@dataclass(frozen=True, eq=False)
class Phantom:
    """A rendered phantom frame.

    rgb : (rows, cols, 3) uint8, the screen as exported, chrome included.
    labels : (rows, cols) uint8, 0 background, 1 anterior lip, 2 posterior lip.
    """

    rgb: np.ndarray
    labels: np.ndarray
    truth: PhantomTruth
    scene: Scene


def _uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(rng.uniform(bounds[0], bounds[1]))


def _settings(rng: np.random.Generator, look: Appearance, depth_mm: float, probe_radius_mm: float) -> BeamSettings:
    axial = _uniform(rng, look.axial_psf_mm)
    sample_mm = axial  # one sample per PSF sigma resolves the speckle
    samples = int(np.ceil((depth_mm - probe_radius_mm) / sample_mm)) + 1
    # The user's TGC sliders: a smooth random deviation from the ideal curve.
    knots = rng.uniform(-look.tgc_error_db, look.tgc_error_db, size=6)
    tgc_error = np.interp(np.linspace(0, 5, samples), np.arange(6), knots).astype(np.float32)
    return BeamSettings(
        frequency_mhz=_uniform(rng, look.frequency_mhz),
        axial_psf_mm=axial,
        lateral_psf_mm=_uniform(rng, look.lateral_psf_mm),
        lines=look.lines,
        sample_mm=sample_mm,
        dynamic_range_db=_uniform(rng, look.dynamic_range_db),
        gain_db=_uniform(rng, look.gain_db),
        tgc_error_db=tgc_error,
        noise_db=look.noise_db,
        reverberation=look.reverberation * float(rng.uniform(0.5, 1.5)),
    )


def _sector(rng: np.random.Generator, look: Appearance) -> Sector:
    rows = int(rng.choice([480, 560, 600]))
    cols = rows * 4 // 3
    display_depth = float(rng.uniform(45.0, 95.0))
    mm_per_pixel = display_depth / (rows * 0.9)
    probe_radius = float(rng.uniform(8.0, 11.0))
    return Sector(
        rows=rows,
        cols=cols,
        apex_row=rows * 0.05 - probe_radius / mm_per_pixel,
        apex_col=cols / 2.0 + float(rng.uniform(-0.03, 0.03)) * cols,
        mm_per_pixel=mm_per_pixel,
        depth_mm=probe_radius + display_depth,
        probe_radius_mm=probe_radius,
        half_angle_rad=float(np.deg2rad(rng.uniform(*look.half_angle_deg))),
    )


def _lengths(rng: np.random.Generator, case: PhantomCase) -> tuple[float, float, float, float, FunnelShape]:
    """Closed length, funnel length, funnel width (mm), wall profile and shape letter."""
    if case == "short":
        return float(rng.uniform(5.0, 25.0)), 0.0, 0.0, 1.0, "T"
    if case == "funnel":
        drawn = str(rng.choice(["Y", "V", "U"]))
        closed = float(rng.uniform(8.0, 38.0))
        percent = {"Y": (10.0, 22.0), "V": (28.0, 50.0), "U": (35.0, 65.0)}[drawn]
        p = float(rng.uniform(*percent)) / 100.0
        # Funnels under 4 mm are not called reliably by people either.
        funnel = float(np.clip(closed * p / (1.0 - p), 4.0, 25.0))
        width = float(rng.uniform(max(4.0, 0.4 * funnel), min(22.0, 4.0 + 1.2 * funnel)))
        profile = 0.45 if drawn == "U" else 1.0
        # The letter follows the measurement's own rule: the wall profile gives the mid-funnel width.
        shape: FunnelShape = funnel_shape(100.0 * funnel / (funnel + closed), 0.5**profile)  # type: ignore[assignment]
        return closed, funnel, width, profile, shape
    return float(rng.uniform(26.0, 55.0)), 0.0, 0.0, 1.0, "T"


def _lips_outline(anatomy: Anatomy, n: int = 24) -> np.ndarray:
    """(M, 2) points on the lips' outer edges and ends, to test whether the cervix is in view."""
    s = np.linspace(0.0, anatomy.canal.length_mm, n)
    points = [anatomy.canal.point(s)]
    for sign in (1, -1):
        normal = anatomy.anterior_sign * sign * anatomy.canal.normal(s)
        points.append(anatomy.canal.point(s) + normal * anatomy.lip_thickness(s, sign)[:, None])
    return np.concatenate(points)


def _place(rng: np.random.Generator, sector: Sector, case: PhantomCase) -> tuple[Anatomy, FunnelShape] | None:
    closed, funnel_len, funnel_w, profile, shape = _lengths(rng, case)
    length = closed + funnel_len
    r_ext = sector.probe_radius_mm + float(rng.uniform(6.0, 22.0))
    tilt = np.deg2rad(rng.uniform(20.0, 70.0))
    mirror = rng.random() < 0.5  # both left/right display conventions
    direction = np.pi / 2 - tilt if not mirror else np.pi / 2 + tilt
    # The external os sits beside the probe and the canal crosses the image toward the other side.
    side = 1.0 if mirror else -1.0
    theta_ext = side * float(rng.uniform(0.0, 0.4)) if case != "out_of_sector" else float(rng.uniform(-0.9, 0.9))
    ext = (r_ext * np.sin(theta_ext), r_ext * np.cos(theta_ext))
    turning = 0.0 if rng.random() < 0.4 else float(rng.uniform(0.15, 0.7)) * rng.choice([-1.0, 1.0])
    canal = Canal(ext, float(direction), turning / length, length)
    normal0 = canal.normal(length / 2)
    anterior_sign = 1 if normal0[1] < 0 else -1  # the anterior lip is the upper one
    ant = float(rng.uniform(9.0, 16.0))
    post = ant * float(rng.uniform(0.8, 1.25))
    if case == "probe_pressure":
        ant, post = (ant * 0.45, post) if rng.random() < 0.5 else (ant, post * 0.45)
    stroma = float(rng.uniform(0.85, 1.3))
    anatomy = Anatomy(
        canal=canal,
        anterior_sign=anterior_sign,
        closed_length_mm=closed,
        funnel_length_mm=funnel_len,
        funnel_width_mm=funnel_w,
        funnel_profile=profile,
        anterior_thickness_mm=ant,
        posterior_thickness_mm=post,
        gland_half_width_mm=float(rng.uniform(1.2, 3.0)),
        mucosa_half_width_mm=float(rng.uniform(0.25, 0.5)),
        stroma_amplitude=stroma,
        myometrium_amplitude=stroma * float(rng.uniform(0.5, 0.75)),
        background_amplitude=stroma * float(rng.uniform(0.3, 0.55)),
        capsule_amplitude=stroma * float(rng.uniform(1.0, 1.8)) if rng.random() < 0.7 else 0.0,
        wall_thickness_mm=float(rng.uniform(7.0, 13.0)),
        auca_deg=float(rng.uniform(85.0, 150.0)),
        posterior_wall_deg=float(rng.uniform(110.0, 165.0)),
        canal_visible=case != "out_of_plane",
        texture_seed=int(rng.integers(2**31)),
    )
    outline = _lips_outline(anatomy)
    inside = sector.inside(outline[:, 0], outline[:, 1], margin_mm=2.0)
    ends = anatomy.canal.point(np.array([0.0, closed]))
    ends_inside = sector.inside(ends[:, 0], ends[:, 1], margin_mm=2.0)
    if case == "out_of_sector":
        middle = anatomy.canal.point(closed / 2)
        visible = sector.inside(np.array([middle[0]]), np.array([middle[1]]), margin_mm=3.0)[0]
        return (anatomy, shape) if visible and not ends_inside.all() else None
    return (anatomy, shape) if inside.all() else None


def _extras(rng: np.random.Generator, anatomy: Anatomy, case: PhantomCase) -> Anatomy:
    """Bladder, fetal head, Nabothian cysts, vessels, sludge and shadow casters."""
    canal = anatomy.canal
    length = canal.length_mm
    os_point = anatomy.anatomical_os_mm
    t_end = canal.tangent(length)
    n_ant = anatomy.anterior_sign * canal.normal(length)
    changes: dict = {}
    if rng.random() < 0.6:
        a, b = float(rng.uniform(14.0, 30.0)), float(rng.uniform(7.0, 14.0))
        centre = os_point + n_ant * (anatomy.anterior_thickness_mm + anatomy.wall_thickness_mm + b + 4.0) - t_end * float(rng.uniform(0, 15))
        angle = float(np.arctan2(t_end[1], t_end[0]))
        changes["bladder"] = Blob((float(centre[0]), float(centre[1])), (a, b), angle)
    if rng.random() < 0.5:
        radius = float(rng.uniform(22.0, 42.0))
        centre = os_point + t_end * (radius + float(rng.uniform(6.0, 20.0)))
        changes["fetal_head"] = Blob((float(centre[0]), float(centre[1])), (radius, radius * 0.85), float(rng.uniform(0, np.pi)))
    cysts = []
    for _ in range(int(rng.choice([0, 0, 1, 1, 2, 3]))):
        sign = int(rng.choice([-1, 1]))
        radius = float(rng.uniform(1.5, 4.5))
        thick = anatomy.anterior_thickness_mm if sign > 0 else anatomy.posterior_thickness_mm
        low, high = anatomy.gland_half_width_mm + radius + 1.0, 0.9 * thick - radius
        if high <= low:
            continue
        s = float(rng.uniform(0.2, 0.85)) * anatomy.closed_length_mm
        centre = canal.point(s) + anatomy.anterior_sign * sign * canal.normal(s) * float(rng.uniform(low, high))
        cysts.append(Blob((float(centre[0]), float(centre[1])), (radius, radius * float(rng.uniform(0.8, 1.0))), 0.0))
    changes["cysts"] = tuple(cysts)
    vessels = []
    for _ in range(int(rng.choice([0, 1, 2]))):
        sign = int(rng.choice([-1, 1]))
        thick = anatomy.anterior_thickness_mm if sign > 0 else anatomy.posterior_thickness_mm
        s = float(rng.uniform(0.3, 0.9)) * length
        centre = canal.point(s) + anatomy.anterior_sign * sign * canal.normal(s) * (thick + float(rng.uniform(1.0, 3.0)))
        angle = float(canal.angle(s))
        vessels.append(Blob((float(centre[0]), float(centre[1])), (float(rng.uniform(3.0, 7.0)), float(rng.uniform(0.8, 1.8))), angle))
    changes["vessels"] = tuple(vessels)
    if rng.random() < 0.2:
        blobs = []
        for _ in range(int(rng.integers(3, 9))):
            centre = os_point + t_end * float(rng.uniform(2.0, 14.0)) + n_ant * float(rng.uniform(-6.0, 6.0))
            r = float(rng.uniform(0.6, 2.0))
            blobs.append(Blob((float(centre[0]), float(centre[1])), (r, r), 0.0))
        changes["sludge"] = tuple(blobs)
    if case == "shadow":
        # Bowel gas or a fetal part between the probe and the middle of the canal.
        target = canal.point(anatomy.closed_length_mm * float(rng.uniform(0.3, 0.7)))
        fraction = float(rng.uniform(0.45, 0.7))
        centre = target * fraction
        r = float(rng.uniform(3.5, 6.0))
        changes["shadow_casters"] = (Blob((float(centre[0]), float(centre[1])), (r * 1.4, r), float(rng.uniform(0, np.pi))),)
    return dataclasses.replace(anatomy, **changes)


def sample_scene(seed: int, *, appearance: str = "train", case: PhantomCase | None = None) -> Scene:
    """Draw a scene from ``seed``: same seed, same scene."""
    rng = np.random.default_rng(seed)
    look = APPEARANCES[appearance]
    if case is None:
        names = list(DEFAULT_MIX)
        case = names[int(rng.choice(len(names), p=list(DEFAULT_MIX.values())))]  # type: ignore[assignment]
    for _ in range(400):
        sector = _sector(rng, look)
        placed = _place(rng, sector, case)
        if placed is not None:
            break
    else:
        raise RuntimeError(f"seed {seed}: no placement of case {case!r} fits the sector")
    anatomy, shape = placed
    anatomy = _extras(rng, anatomy, case)
    settings = _settings(rng, look, sector.depth_mm, sector.probe_radius_mm)
    return Scene(case=case, appearance=look, anatomy=anatomy, sector=sector, settings=settings, funnel_shape=shape)


def moved(anatomy: Anatomy, rotation_rad: float, shift_mm: tuple[float, float]) -> Anatomy:
    """The same anatomy seen after the probe turned by ``rotation_rad`` about its apex and slid."""
    c, s = np.cos(rotation_rad), np.sin(rotation_rad)

    def point(p: tuple[float, float]) -> tuple[float, float]:
        x, z = p
        return (float(c * x + s * z + shift_mm[0]), float(-s * x + c * z + shift_mm[1]))

    def blob(b: Blob) -> Blob:
        return Blob(point(b.centre_mm), b.axes_mm, b.angle_rad - rotation_rad)

    canal = dataclasses.replace(anatomy.canal, ext_os_mm=point(anatomy.canal.ext_os_mm), direction_rad=anatomy.canal.direction_rad - rotation_rad)
    fields = {}
    for name in ("bladder", "fetal_head"):
        value = getattr(anatomy, name)
        fields[name] = blob(value) if value is not None else None
    for name in ("cysts", "vessels", "sludge", "shadow_casters"):
        fields[name] = tuple(blob(b) for b in getattr(anatomy, name))
    return dataclasses.replace(anatomy, canal=canal, **fields)


def _label_mask(anatomy: Anatomy, sector: Sector) -> np.ndarray:
    """(rows, cols) uint8 labels on the display, computed only around the cervix (it is exact there)."""
    labels = np.zeros((sector.rows, sector.cols), dtype=np.uint8)
    corners = sector.to_pixel(_lips_outline(anatomy, n=64))
    r0, c0 = np.floor(corners.min(axis=0)).astype(int) - 4
    r1, c1 = np.ceil(corners.max(axis=0)).astype(int) + 5
    r0, c0 = max(r0, 0), max(c0, 0)
    r1, c1 = min(r1, sector.rows), min(c1, sector.cols)
    if r0 >= r1 or c0 >= c1:
        return labels
    x, z = sector.pixel_grid_mm()
    x, z = x[r0:r1, c0:c1], z[r0:r1, c0:c1]
    window = tissue_maps(anatomy, x, z).labels
    window[~sector.inside(x, z)] = 0  # what the fan does not show is not labelled
    labels[r0:r1, c0:c1] = window
    return labels


def _beam_image(scene: Scene, anatomy: Anatomy, rng: np.random.Generator) -> np.ndarray:
    """Log-compressed grey image (float32 0-255) on the display grid."""
    sector, settings = scene.sector, scene.settings
    samples = len(settings.tgc_error_db)
    radii = sector.probe_radius_mm + np.arange(samples, dtype=np.float32) * settings.sample_mm
    angles = np.linspace(-sector.half_angle_rad, sector.half_angle_rad, settings.lines, dtype=np.float32)
    x = radii[:, None] * np.sin(angles)[None, :]
    z = radii[:, None] * np.cos(angles)[None, :]
    texture = smooth_field(np.random.default_rng(anatomy.texture_seed), (samples, settings.lines), samples / 10.0, 0.25)
    maps = tissue_maps(anatomy, x, z, texture)
    line_spacing_mm = float(np.median(radii)) * float(angles[1] - angles[0])
    envelope = beam_envelope(
        rng, maps.amplitude, maps.attenuation_db_cm_mhz, settings, line_spacing_mm=line_spacing_mm, probe_radius_mm=sector.probe_radius_mm
    )
    # White sits ~20 dB above the stroma's echo level before the user's gain.
    reference = anatomy.stroma_amplitude * 10.0
    grey = log_compress(envelope, dynamic_range_db=settings.dynamic_range_db, gain_db=settings.gain_db, reference=reference)
    return scan_convert(grey, sector, settings.sample_mm)


def _screen_text(scene: Scene, seed: int) -> list[str]:
    s, look = scene.settings, scene.appearance
    probe = "IC5-9" if look.chrome == "A" else "EC9-4"
    return [
        "PHANTOM HOSPITAL",
        f"{probe}  Cervix TV",
        f"{s.frequency_mhz:.1f}MHz  G{50 + s.gain_db:.0f}  DR{s.dynamic_range_db:.0f}",
        f"D {(scene.sector.depth_mm - scene.sector.probe_radius_mm) / 10:.1f}cm",
        f"MI 0.8  TIs 0.2  #{seed % 10000:04d}",
    ]


def _reasons(scene: Scene, anatomy: Anatomy) -> tuple[str, ...]:
    reasons = [_REASONS[scene.case]] if scene.case in _REASONS else []
    outline = _lips_outline(anatomy)
    if _REASONS["out_of_sector"] not in reasons and not scene.sector.inside(outline[:, 0], outline[:, 1], margin_mm=1.0).all():
        reasons.append(_REASONS["out_of_sector"])
    if not anatomy.canal_visible and _REASONS["out_of_plane"] not in reasons:
        reasons.append(_REASONS["out_of_plane"])
    return tuple(reasons)


#: Stretch of the anterior uterine wall (mm from where it leaves the os) that must be in the sector,
#: with anechoic fluid beside it, for the frame to show the AUCA.
AUCA_WALL_MM = (2.0, 20.0)
#: Largest backscatter amplitude that counts as anechoic fluid (amniotic fluid is 0.015).
_ANECHOIC = 0.02


def _auca_visible(scene: Scene, anatomy: Anatomy) -> bool:
    """Whether the anterior wall's inner surface lies inside the sector (1 mm in from its edges)
    along :data:`AUCA_WALL_MM` with anechoic fluid 2 mm beside it all the way: no fetal head, no
    lip and no sludge against the wall there, so an image shows the wall's edge."""
    start, direction, into_wall = anatomy.wall_surfaces()[0]
    r = np.arange(AUCA_WALL_MM[0], AUCA_WALL_MM[1] + 0.25, 0.5)[:, None]
    wall, beside = start + r * direction, start + r * direction - 2.0 * into_wall
    points = np.vstack([wall, beside])
    if not scene.sector.inside(points[:, 0], points[:, 1], margin_mm=1.0).all():
        return False
    return bool((tissue_maps(anatomy, beside[:, 0], beside[:, 1]).amplitude <= _ANECHOIC).all())


def _truth(scene: Scene, anatomy: Anatomy, seed: int, frame: int) -> PhantomTruth:
    sector, canal = scene.sector, anatomy.canal
    closed = anatomy.closed_length_mm
    s = np.linspace(0.0, closed, max(2, int(np.ceil(closed / 0.25)) + 1))
    centreline = canal.point(s)
    apex, base = canal.point(closed), canal.point(canal.length_mm)
    if anatomy.funnel:
        n_ant = anatomy.anterior_sign * canal.normal(canal.length_mm)
        half = 0.5 * anatomy.funnel_width_mm
        funnel_points = sector.to_pixel(np.stack([apex, base + half * n_ant, base - half * n_ant]))
        funnel_length = float(np.linalg.norm(base - apex))
    else:
        funnel_points = np.full((3, 2), np.nan)
        funnel_length = 0.0
    reasons = _reasons(scene, anatomy)
    return PhantomTruth(
        case=scene.case,
        appearance=scene.appearance.name,
        seed=seed,
        frame=frame,
        mm_per_pixel=sector.mm_per_pixel,
        cl_mm=float(closed),
        cl_straight_mm=float(np.linalg.norm(apex - centreline[0])),
        funnel=anatomy.funnel,
        funnel_length_mm=funnel_length,
        funnel_width_mm=float(anatomy.funnel_width_mm) if anatomy.funnel else 0.0,
        funnel_percent=100.0 * funnel_length / (funnel_length + closed) if anatomy.funnel else 0.0,
        funnel_shape=scene.funnel_shape,
        auca_deg=float(anatomy.auca_deg),
        auca_visible=_auca_visible(scene, anatomy),
        measurable=not reasons,
        reasons=reasons,
        centreline_px=sector.to_pixel(centreline),
        external_os_px=sector.to_pixel(centreline[0]),
        internal_os_px=sector.to_pixel(apex),
        anatomical_internal_os_px=sector.to_pixel(base),
        funnel_points_px=funnel_points,
        sector_bounds_px=sector.bounds_px(),
    )


def render(scene: Scene, seed: int, *, anatomy: Anatomy | None = None, frame: int = 1) -> Phantom:
    """Render ``scene`` (or ``anatomy`` seen with the scene's probe) with speckle drawn from ``seed``."""
    anatomy = anatomy or scene.anatomy
    rng = np.random.default_rng([seed, frame])
    grey = _beam_image(scene, anatomy, rng)
    tint = np.asarray(scene.appearance.tint, dtype=np.float32)
    rgb = cv2.merge([np.clip(grey * gain + 0.5, 0, 255).astype(np.uint8) for gain in tint])
    draw_chrome(rgb, scene.sector, style=scene.appearance.chrome, lines=_screen_text(scene, seed), rng=rng)
    return Phantom(rgb=rgb, labels=_label_mask(anatomy, scene.sector), truth=_truth(scene, anatomy, seed, frame), scene=scene)


#: Third key of the random stream the calipers are drawn with: the frame's own stream stays as it was.
_CALIPER_STREAM = 0xCA1


def with_calipers(phantom: Phantom) -> Phantom:
    """The frame as saved after the examiner measured it: ``phantom`` with the sonographer's calipers
    burned in on the external and (functional) internal os (:func:`._chrome.draw_calipers`); its
    labels and truth are the same, and its pixels but for the calipers'."""
    truth = phantom.truth
    rgb = phantom.rgb.copy()
    rng = np.random.default_rng([truth.seed, truth.frame, _CALIPER_STREAM])
    ends = np.stack([truth.external_os_px, truth.internal_os_px])
    draw_calipers(rgb, ends, style=phantom.scene.appearance.chrome, mm_per_pixel=truth.mm_per_pixel, rng=rng)
    return dataclasses.replace(phantom, rgb=rgb)


def generate(seed: int, *, appearance: str = "train", case: PhantomCase | None = None) -> Phantom:
    """One phantom frame, reproducible from ``seed``; ``case`` None draws from the default mix."""
    return render(sample_scene(seed, appearance=appearance, case=case), seed)


def generate_cine(
    seed: int, frames: int, *, appearance: str = "train", case: PhantomCase = "normal", out_of_plane_frames: int = 2
) -> list[Phantom]:
    """A cine loop of ``frames`` frames of one cervix with probe motion (+/- 2 degrees, +/- 1.5 mm).

    ``out_of_plane_frames`` frames, where the probe swings furthest, miss the canal: a loop has
    good and bad frames, as real loops do.
    """
    scene = sample_scene(seed, appearance=appearance, case=case)
    phase = np.linspace(0.0, 2.0 * np.pi, frames, endpoint=False)
    rotation = np.deg2rad(2.0) * np.sin(phase)
    worst = set(np.argsort(-np.abs(rotation))[:out_of_plane_frames].tolist())
    loop = []
    for k in range(frames):
        anatomy = moved(scene.anatomy, float(rotation[k]), (1.5 * float(np.sin(2 * phase[k])), 0.8 * float(np.cos(phase[k]))))
        if k in worst:
            anatomy = dataclasses.replace(anatomy, canal_visible=False)
        loop.append(render(scene, seed, anatomy=anatomy, frame=k + 1))
    return loop
