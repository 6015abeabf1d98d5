"""The endocervical canal as a circular arc (straight when the curvature is 0), in probe millimetres.

Coordinates: x lateral (mm, to the image right), z depth (mm, down), probe apex at (0, 0).
Arc length ``s`` runs from the external os (s = 0) toward the internal os; ``d`` is the signed
offset along the left normal n = (-sin phi, cos phi) of the tangent t = (cos phi, sin phi).
Every quantity is exact: the ground truth lengths come from here, not from pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Canal"]

_STRAIGHT = 1e-7  # |curvature| per mm below which the arc is treated as a line


@dataclass(frozen=True)
class Canal:
    """A canal centreline starting at the external os.

    ext_os_mm : (x, z) of the external os in mm.
    direction_rad : tangent angle at the external os, from +x toward +z.
    curvature_per_mm : signed curvature (1 / radius); 0 for a straight canal.
    length_mm : anatomical length, external os to anatomical internal os (closed part + funnel).
    """

    ext_os_mm: tuple[float, float]
    direction_rad: float
    curvature_per_mm: float
    length_mm: float

    @property
    def straight(self) -> bool:
        return abs(self.curvature_per_mm) < _STRAIGHT

    def angle(self, s: np.ndarray | float) -> np.ndarray:
        """Tangent angle (rad) at arc length ``s`` mm."""
        return self.direction_rad + self.curvature_per_mm * np.asarray(s, dtype=np.float64)

    def point(self, s: np.ndarray | float) -> np.ndarray:
        """(..., 2) points (x, z) in mm at arc length ``s`` mm."""
        s = np.asarray(s, dtype=np.float64)
        x0, z0 = self.ext_os_mm
        phi0 = self.direction_rad
        if self.straight:
            return np.stack([x0 + s * np.cos(phi0), z0 + s * np.sin(phi0)], axis=-1)
        k = self.curvature_per_mm
        phi = self.angle(s)
        # p(s) = C - n(s) / k with C = E + n(0) / k
        return np.stack(
            [x0 + (np.sin(phi) - np.sin(phi0)) / k, z0 + (np.cos(phi0) - np.cos(phi)) / k], axis=-1
        )

    def normal(self, s: np.ndarray | float) -> np.ndarray:
        """(..., 2) unit left normals at arc length ``s`` mm."""
        phi = self.angle(s)
        return np.stack([-np.sin(phi), np.cos(phi)], axis=-1)

    def tangent(self, s: np.ndarray | float) -> np.ndarray:
        """(..., 2) unit tangents at arc length ``s`` mm, pointing toward the internal os."""
        phi = self.angle(s)
        return np.stack([np.cos(phi), np.sin(phi)], axis=-1)

    def curvilinear(self, x: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Arc length ``s`` and signed normal offset ``d`` (both mm) of points (x, z) in mm.

        Exact for the nearest point of the full circle (or line); ``s`` is unbounded, so callers
        limit it to the canal's extent.
        """
        x0, z0 = self.ext_os_mm
        phi0 = self.direction_rad
        if self.straight:
            dx, dz = x - x0, z - z0
            return dx * np.cos(phi0) + dz * np.sin(phi0), -dx * np.sin(phi0) + dz * np.cos(phi0)
        k = self.curvature_per_mm
        radius = 1.0 / k
        cx, cz = x0 - np.sin(phi0) * radius, z0 + np.cos(phi0) * radius
        vx, vz = x - cx, z - cz
        rho = np.hypot(vx, vz)
        sign = np.sign(radius)
        # n(s) = -sign(R) (q - C) / rho ; d = R - sign(R) rho
        nx, nz = -sign * vx / np.maximum(rho, 1e-12), -sign * vz / np.maximum(rho, 1e-12)
        phi = np.arctan2(-nx, nz)
        dphi = np.remainder(phi - phi0 + np.pi, 2 * np.pi) - np.pi
        return dphi / k, radius - sign * rho
