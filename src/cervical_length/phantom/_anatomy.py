"""Sagittal transvaginal anatomy of the cervix: parameters, and tissue maps on any grid of points.

One geometry serves both the image (evaluated on the scanner's beam grid, then scan-converted)
and the label mask (evaluated on the display pixels), so the two agree exactly.
Amplitudes are relative backscatter amplitudes (stroma of the cervix ~ 1); attenuation is in
dB/cm/MHz, as in tissue tables (soft tissue ~0.5-0.7, fluid ~0, bone > 10).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._canal import Canal

__all__ = ["Blob", "Anatomy", "TissueMaps", "tissue_maps", "LABEL_BACKGROUND", "LABEL_ANTERIOR", "LABEL_POSTERIOR"]

#: Label values of the FUGC 2025 convention.
LABEL_BACKGROUND, LABEL_ANTERIOR, LABEL_POSTERIOR = 0, 1, 2

ATTENUATION_DB_CM_MHZ = {"soft": 0.55, "cervix": 0.7, "fluid": 0.1, "bone": 8.0, "gas": 60.0}


@dataclass(frozen=True)
class Blob:
    """An ellipse in mm: centre (x, z), semi-axes (a, b), rotation (rad)."""

    centre_mm: tuple[float, float]
    axes_mm: tuple[float, float]
    angle_rad: float = 0.0

    def inside(self, x: np.ndarray, z: np.ndarray, grow_mm: float = 0.0) -> np.ndarray:
        u, v = self.normalised(x, z, grow_mm)
        return u * u + v * v <= 1.0

    def normalised(self, x: np.ndarray, z: np.ndarray, grow_mm: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        c, s = np.cos(self.angle_rad), np.sin(self.angle_rad)
        dx, dz = x - self.centre_mm[0], z - self.centre_mm[1]
        return (c * dx + s * dz) / (self.axes_mm[0] + grow_mm), (-s * dx + c * dz) / (self.axes_mm[1] + grow_mm)


@dataclass(frozen=True)
class Anatomy:
    """Everything that shapes one sagittal view, in mm and radians (probe apex at the origin).

    The closed canal runs from the external os (s = 0) to the functional internal os
    (s = ``closed_length_mm``); a funnel of length ``funnel_length_mm`` continues to the anatomical
    internal os at s = ``canal.length_mm``.
    """

    canal: Canal
    anterior_sign: int  #: +1 when the anterior lip lies at d > 0 (along the canal's left normal)
    closed_length_mm: float
    funnel_length_mm: float
    funnel_width_mm: float  #: at the anatomical internal os
    funnel_profile: float  #: wall exponent: 1 straight (Y, V), < 1 rounded (U)
    anterior_thickness_mm: float
    posterior_thickness_mm: float
    gland_half_width_mm: float  #: hypo-echoic glandular zone on each side of the canal
    mucosa_half_width_mm: float  #: echogenic mucosal line
    stroma_amplitude: float
    myometrium_amplitude: float
    background_amplitude: float
    capsule_amplitude: float  #: echogenic outer surface of the cervix; 0 when not seen
    wall_thickness_mm: float
    auca_deg: float  #: anterior uterocervical angle
    posterior_wall_deg: float  #: the same angle on the posterior side
    canal_visible: bool = True  #: False for an out-of-plane view that misses the canal
    bladder: Blob | None = None
    fetal_head: Blob | None = None
    cysts: tuple[Blob, ...] = ()
    vessels: tuple[Blob, ...] = ()
    sludge: tuple[Blob, ...] = ()
    shadow_casters: tuple[Blob, ...] = ()  #: bowel gas or bone between probe and cervix
    texture_seed: int = 0

    @property
    def funnel(self) -> bool:
        return self.funnel_length_mm > 0

    @property
    def anatomical_os_mm(self) -> np.ndarray:
        return self.canal.point(self.canal.length_mm)

    def funnel_half_width(self, s: np.ndarray) -> np.ndarray:
        """Half-width (mm) of the funnel at arc length ``s`` (0 in the closed canal)."""
        if not self.funnel:
            return np.zeros_like(s)
        t = np.clip((s - self.closed_length_mm) / self.funnel_length_mm, 0.0, 1.0)
        return 0.5 * self.funnel_width_mm * t**self.funnel_profile

    def lip_thickness(self, s: np.ndarray, sign: int) -> np.ndarray:
        """Thickness (mm) of the lip on side ``sign`` (+1: anterior) at arc length ``s``."""
        base = self.anterior_thickness_mm if sign > 0 else self.posterior_thickness_mm
        # Lips thicken slightly toward the internal os, as the cervix widens into the uterus.
        return base * (0.9 + 0.2 * np.clip(s / self.canal.length_mm, 0.0, 1.0))

    def wall_surfaces(self) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], ...]:
        """The inner surfaces of the anterior and posterior uterine walls: for each, (start, unit
        direction, unit normal pointing into the wall, away from the amniotic fluid), in mm. A
        wall starts at the internal os, or at the corner of a funnel's base on its side."""
        n_ant = self.anterior_sign * self.canal.normal(self.canal.length_mm)
        half = 0.5 * self.funnel_width_mm if self.funnel else 0.0
        out = []
        for direction, side in zip(self.wall_directions(), (1.0, -1.0)):
            normal = np.array([-direction[1], direction[0]])
            if normal @ (side * n_ant) < 0:
                normal = -normal
            out.append((self.anatomical_os_mm + side * half * n_ant, direction, normal))
        return tuple(out)

    def wall_directions(self) -> tuple[np.ndarray, np.ndarray]:
        """Unit directions of the anterior and posterior uterine walls from the internal os."""
        os_point = self.anatomical_os_mm
        chord = self.canal.point(0.0) - os_point  # internal os -> external os
        chord = chord / np.linalg.norm(chord)
        rotate = np.deg2rad
        # The anterior wall makes the AUCA with the chord, on the anterior side.
        n_ant = self.anterior_sign * self.canal.normal(self.canal.length_mm)
        out = []
        for angle in (rotate(self.auca_deg), rotate(self.posterior_wall_deg)):
            c, s = np.cos(angle), np.sin(angle)
            a = np.array([c * chord[0] - s * chord[1], s * chord[0] + c * chord[1]])
            b = np.array([c * chord[0] + s * chord[1], -s * chord[0] + c * chord[1]])
            out.append((a, b))
        (a1, b1), (a2, b2) = out
        anterior = a1 if a1 @ n_ant > b1 @ n_ant else b1
        posterior = a2 if a2 @ n_ant < b2 @ n_ant else b2
        return anterior, posterior


@dataclass(frozen=True)
class TissueMaps:
    """Maps on a grid of points: labels (uint8), amplitude and attenuation (float32)."""

    labels: np.ndarray
    amplitude: np.ndarray
    attenuation_db_cm_mhz: np.ndarray


def _lip_masks(anatomy: Anatomy, s: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Anterior lip, posterior lip, funnel (fluid) and outer-surface masks from canal coordinates."""
    length = anatomy.canal.length_mm
    along = (s >= 0.0) & (s <= length)
    ad = anatomy.anterior_sign * d  # > 0 on the anterior side
    half = anatomy.funnel_half_width(s)
    funnel = along & (np.abs(d) < half)
    masks = []
    surface = np.zeros(s.shape, dtype=bool)
    for sign, side in ((1, ad), (-1, -ad)):
        thick = anatomy.lip_thickness(s, sign)
        inside = along & (side > 0) & (side <= thick) & (side >= half)
        # Rounded lip tips at the external os, radius 0.6 of the thickness.
        corner = 0.6 * thick
        in_corner_zone = (s < corner) & (side > thick - corner)
        rounded = (corner - s) ** 2 + (side - (thick - corner)) ** 2 <= corner**2
        lip = inside & (~in_corner_zone | rounded)
        masks.append(lip)
        surface |= lip & (side > thick - 0.6)
    return masks[0], masks[1], funnel, surface


def _cavity_and_walls(anatomy: Anatomy, x: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Amniotic cavity beyond the internal os, and the uterine walls around it."""
    os_point = anatomy.anatomical_os_mm
    t_end = anatomy.canal.tangent(anatomy.canal.length_mm)
    walls = np.zeros(x.shape, dtype=bool)
    cavity = (x - os_point[0]) * t_end[0] + (z - os_point[1]) * t_end[1] > -0.5
    for start, direction, normal in anatomy.wall_surfaces():
        # Signed distance from the wall's inner surface, positive toward the wall (away from fluid).
        offset = (x - start[0]) * normal[0] + (z - start[1]) * normal[1]
        along = (x - start[0]) * direction[0] + (z - start[1]) * direction[1]
        cavity &= offset < 0
        walls |= (offset >= 0) & (offset <= anatomy.wall_thickness_mm) & (along >= -2.0) & (along <= 90.0)
    return cavity, walls


def tissue_maps(anatomy: Anatomy, x: np.ndarray, z: np.ndarray, texture: np.ndarray | None = None) -> TissueMaps:
    """Labels, backscatter amplitude and attenuation at points (x, z) mm (any equal shapes).

    texture : optional smooth multiplicative field (same shape, ~1) that makes soft tissue uneven.
    """
    s, d = anatomy.canal.curvilinear(x, z)
    anterior, posterior, funnel, surface = _lip_masks(anatomy, s, d)
    cavity, walls = _cavity_and_walls(anatomy, x, z)
    cervix = anterior | posterior

    amp = np.full(x.shape, anatomy.background_amplitude, dtype=np.float32)
    att = np.full(x.shape, ATTENUATION_DB_CM_MHZ["soft"], dtype=np.float32)
    if texture is not None:
        amp *= texture
    amp[walls] = anatomy.myometrium_amplitude * (texture[walls] if texture is not None else 1.0)
    fluid = (cavity & ~cervix & ~walls) | funnel
    amp[fluid] = 0.015
    att[fluid] = ATTENUATION_DB_CM_MHZ["fluid"]
    for blob in anatomy.sludge:
        inside = blob.inside(x, z) & fluid
        amp[inside] = 0.5
    amp[cervix] = anatomy.stroma_amplitude
    att[cervix] = ATTENUATION_DB_CM_MHZ["cervix"]
    if anatomy.capsule_amplitude > 0:
        amp[surface] = anatomy.capsule_amplitude
    if anatomy.canal_visible:
        near_canal = cervix & (s <= anatomy.closed_length_mm + 2.0)
        abs_d = np.abs(d)
        gland = near_canal & (abs_d < anatomy.gland_half_width_mm + anatomy.funnel_half_width(s))
        amp[gland] = anatomy.stroma_amplitude * 0.4
        mucosa = (s >= -1.0) & (s <= anatomy.closed_length_mm) & (abs_d < anatomy.mucosa_half_width_mm)
        amp[mucosa] = anatomy.stroma_amplitude * 2.6
    if anatomy.funnel:
        # The membranes lining the funnel: a thin bright interface.
        membrane = (np.abs(np.abs(d) - anatomy.funnel_half_width(s)) < 0.35) & (s >= anatomy.closed_length_mm) & (
            s <= anatomy.canal.length_mm + 0.5
        )
        amp[membrane] = 1.6
    # Nabothian cysts and vessels: fluid-filled, so anechoic and barely attenuating.
    for blobs, amplitude in ((anatomy.cysts, 0.02), (anatomy.vessels, 0.05)):
        for blob in blobs:
            inside = blob.inside(x, z)
            amp[inside] = amplitude
            att[inside] = ATTENUATION_DB_CM_MHZ["fluid"]
    if anatomy.bladder is not None:
        b = anatomy.bladder
        inner = b.inside(x, z)
        wall = b.inside(x, z, grow_mm=1.2) & ~inner & ~cervix
        amp[wall] = 1.3
        amp[inner] = 0.01
        att[inner] = ATTENUATION_DB_CM_MHZ["fluid"]
    if anatomy.fetal_head is not None:
        head = anatomy.fetal_head
        brain = head.inside(x, z)
        skull = head.inside(x, z, grow_mm=2.5) & ~brain
        amp[brain] = 0.12
        att[brain] = 0.3
        u, v = head.normalised(x, z)
        midline = brain & (np.abs(v) < 0.03)
        amp[midline] = 1.2
        amp[skull] = 4.0
        att[skull] = ATTENUATION_DB_CM_MHZ["bone"]
    for caster in anatomy.shadow_casters:
        inside = caster.inside(x, z)
        amp[inside] = 3.5
        att[inside] = ATTENUATION_DB_CM_MHZ["gas"]

    labels = np.zeros(x.shape, dtype=np.uint8)
    labels[anterior] = LABEL_ANTERIOR
    labels[posterior] = LABEL_POSTERIOR
    return TissueMaps(labels, amp, att)
