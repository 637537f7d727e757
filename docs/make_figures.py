"""Draws the documentation's surface catalogue picture: ``python3 docs/make_figures.py``.

The picture is committed (docs/_static/surfaces.png), so a docs build does not evaluate every
surface; rerun this script when the catalogue changes.
"""
import pathlib

import jax
import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import jaxopt_lab as jl  # noqa: E402

OUT = pathlib.Path(__file__).resolve().parent / "_static" / "surfaces.png"
#: Grid points per axis of each panel: enough for the contours of the wiggliest surface shown.
RESOLUTION = 160
COLUMNS = 6
#: Above this many minima (Levi N.13 lists 1,179) only the global ones are stars, the others
#: dots, so the surface still shows.
MANY_MINIMA = 200


def _panel(ax, surface) -> None:
    (x0, x1), (y0, y1) = surface.bounds
    xs, ys = np.linspace(x0, x1, RESOLUTION), np.linspace(y0, y1, RESOLUTION)
    points = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    values = np.asarray(jax.vmap(surface.fn)(points)).reshape(RESOLUTION, RESOLUTION)
    # Log-spaced levels above the minimum show the valleys that linear levels flatten.
    shifted = np.log1p(values - np.nanmin(values))
    ax.contourf(xs, ys, shifted, levels=20, cmap="viridis")
    minima = surface.minima_array
    if len(minima) > MANY_MINIMA:  # local minima as dots, the global ones as stars
        ax.plot(*minima.T, "w.", markersize=0.8)
        minima = minima[surface.minima_values_array == surface.f_min]
    for minimum in minima:
        ax.plot(*minimum, "w*", markersize=6)
    for saddle in surface.saddles:
        ax.plot(*saddle, "rx", markersize=5)
    ax.set_title(surface.name, fontsize=8)
    ax.set_xticks([]), ax.set_yticks([])


def main() -> None:
    surfaces = [jl.surfaces.get(name) for name in jl.surfaces.names()]
    planar = [s for s in surfaces if s.dim == 2]
    rows = -(-len(planar) // COLUMNS)
    figure, axes = plt.subplots(rows, COLUMNS, figsize=(1.7 * COLUMNS, 1.8 * rows))
    for ax in axes.ravel()[len(planar):]:
        ax.axis("off")
    for ax, surface in zip(axes.ravel(), planar):
        _panel(ax, surface)
    figure.tight_layout()
    figure.savefig(OUT, dpi=80)
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
