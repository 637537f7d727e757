"""Matplotlib figures of sweeps, trajectories, stability regions, loss curves and regimes.

`jaxopt_lab` imports this module lazily (``jl.plotting``): matplotlib costs a second to load.
Every function returns a `matplotlib.figure.Figure` built without pyplot (no global state, no
"too many figures" warning), draws into ``ax`` instead when one is given, and saves to ``path``
(``.png``, ``.svg`` or ``.pdf``) when one is given.

One colour code throughout: diverged is black (`DIVERGED_COLOUR`), unfinished grey, and
everything that converged is coloured, paler the more steps it took.

>>> import numpy as np
>>> figure = regime_strip(2.0)
>>> [axis.get_xlabel() for axis in figure.axes]
['learning rate η']
"""
from __future__ import annotations

import os
from typing import Any, Mapping, Sequence

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib import patheffects
from matplotlib.cm import ScalarMappable
from matplotlib.colors import LogNorm, Normalize, to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from jaxopt_lab import theory
from jaxopt_lab._validation import check_choice
from jaxopt_lab.theory import Regime
from jaxopt_lab.engine import Status

DIVERGED_COLOUR = (0.0, 0.0, 0.0)
UNFINISHED_COLOUR = (0.62, 0.62, 0.62)
#: Converged, but to no minimum the surface lists (a saddle, an unlisted minimum).
ELSEWHERE_COLOUR = (0.85, 0.75, 0.95)
CONVERGED_COLOUR = to_rgb("tab:green")
#: Basin k is drawn in ``BASIN_COLOURS[k % len(BASIN_COLOURS)]``; tab10 without its grey, which
#: means unfinished.
BASIN_COLOURS = tuple(to_rgb(f"tab:{name}") for name in
                      ("blue", "orange", "green", "red", "purple", "brown", "pink", "olive",
                       "cyan"))
#: Unfinished cells whose final point lies in a minimum's basin (within the sweep's basin radius)
#: are that basin's colour blended this far towards the unfinished grey: a point still circling a
#: minimum (RMSProp at a constant learning rate) shows apart from one still far from any.
NEAR_BASIN_GREYNESS = 0.55
#: Converged cells are blended towards white by this much at the last step (slow is pale).
SLOWEST_PALENESS = 0.65
BOUNDARY_COLOUR = to_rgb("tab:red")
REGIME_COLOURS = {Regime.MONOTONE: to_rgb("tab:blue"), Regime.ONE_STEP: to_rgb("gold"),
                  Regime.OSCILLATING: to_rgb("tab:orange"), Regime.MARGINAL: to_rgb("tab:purple"),
                  Regime.DIVERGENT: DIVERGED_COLOUR}
#: A minimum whose value is within this (relative and absolute) of f_min is marked global:
#: minima found in float32 carry errors of ~1e-7 relative.
GLOBAL_VALUE_TOL = 1e-6
#: A basin map's legend names at most this many basins; colours repeat beyond
#: len(BASIN_COLOURS) anyway, and the stars mark every minimum.
MAX_BASIN_LABELS = 8
#: The colours of different optimizers' paths, a qualitative palette (Okabe & Ito 2008,
#: colour-blind safe) that stands out on the blue contours; the i-th optimizer gets the i-th.
TRAJECTORY_COLOURS = ("#E69F00", "#D55E00", "#009E73", "#CC79A7", "#F0E442", "#56B4E9",
                      "#FFFFFF", "#000000")
COLOURINGS = ("basin", "status", "steps")
HYPERPARAMETER_QUANTITIES = ("converged", "steps", "loss")
#: At most this many frames per animation, the steps subsampled evenly, so a GIF stays small.
MAX_FRAMES = 90
SAVE_SUFFIXES = (".png", ".svg", ".pdf")


def _new_axes(ax, figsize=(6.0, 5.0)):
    if ax is not None:
        return ax.figure, ax
    figure = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(figure)  # so figure.canvas.draw() and buffer_rgba() work headless
    return figure, figure.add_subplot()


def _legend(ax, handles, own_figure: bool, **options) -> None:
    """Beside the axes in a figure of our own (constrained layout makes room); inside the axes
    when the caller gave ``ax=``, where a legend outside would cover the next panel or, below,
    squeeze a fixed-height row of panels. A caller with a row of panels can gather one legend
    for the figure from ``ax.get_legend().legend_handles``."""
    if own_figure:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  fontsize="small", **options)
    else:
        ax.legend(handles=handles, loc="best", fontsize="x-small", framealpha=0.85, **options)


def _finish(figure: Figure, path: str | os.PathLike | None, dpi: int = 120) -> Figure:
    if path is not None:
        suffix = os.path.splitext(os.fspath(path))[1].lower()
        if suffix not in SAVE_SUFFIXES:
            allowed = ", ".join(SAVE_SUFFIXES)
            raise ValueError(f"path must end in {allowed}, got {os.fspath(path)!r}")
        figure.savefig(path, dpi=dpi)
    return figure


def _pick(values: Any, index) -> np.ndarray:
    array = np.asarray(values)
    return array if index is None else array[index]


def _steps_scale(steps: np.ndarray, num_steps: int | None) -> int:
    """The step count shown palest / at the top of the scale: ``num_steps`` or the slowest cell."""
    return max(int(num_steps or 0), int(np.max(steps, initial=0)), 1)


def _status_colours(status: np.ndarray, converged: np.ndarray, steps: np.ndarray | None,
                    num_steps: int | None, unfinished: np.ndarray | None = None) -> np.ndarray:
    """RGB image: converged cells in ``converged`` colours paled by steps, others by status
    (unfinished ones in ``unfinished`` colours where given, else grey)."""
    rgb = np.array(converged, dtype=float)
    if steps is not None:
        scale = _steps_scale(steps, num_steps)
        pale = SLOWEST_PALENESS * np.clip(steps, 0, None)[..., None] / scale
        rgb = rgb * (1.0 - pale) + pale
    running = status == Status.UNFINISHED
    rgb[running] = UNFINISHED_COLOUR if unfinished is None else unfinished[running]
    rgb[status == Status.DIVERGED] = DIVERGED_COLOUR
    return rgb


def _greyed(colour) -> np.ndarray:
    return (1 - NEAR_BASIN_GREYNESS) * np.asarray(colour) + NEAR_BASIN_GREYNESS * np.asarray(
        UNFINISHED_COLOUR)


#: Above this many minima the local ones are marked by dots, not stars.
CROWDED_MINIMA = 200


def _mark_points(ax, surface) -> list:
    """Stars at the minima (gold and large: global; white and small, or dots when there are
    more than `CROWDED_MINIMA`: local), crosses at saddles."""
    handles = []
    if surface is None or surface.dim != 2:
        return handles
    minima, values = surface.minima_array, surface.minima_values_array
    is_global = (np.isclose(values, surface.f_min, rtol=GLOBAL_VALUE_TOL, atol=GLOBAL_VALUE_TOL)
                 if surface.f_min is not None else np.ones(len(minima), bool))
    # Hundreds of local minima (Levi N.13 lists 1,179) as stars would hide the map: dots.
    crowded = len(minima) > CROWDED_MINIMA
    small = 40 if len(minima) > 20 else 90
    groups = ((minima[is_global], "*", 160, "gold", "global minimum"),
              (minima[~is_global], "." if crowded else "*", 6 if crowded else small, "white",
               "local minimum"),
              (surface.saddles_array, "X", 110, "white", "saddle"))
    for points, marker, size, colour, label in groups:
        if len(points):
            ax.scatter(points[:, 0], points[:, 1], marker=marker, s=size, c=colour,
                       edgecolors="black", linewidths=0.8, zorder=5)
            handles.append(Line2D([], [], marker=marker, color=colour, markeredgecolor="black",
                                  linestyle="", markersize=10, label=label))
    return handles


def convergence_map(result, starts, surface=None, *, colour: str = "basin", index=None,
                    num_steps: int | None = None, title: str | None = None, ax=None,
                    path: str | os.PathLike | None = None) -> Figure:
    """A grid of starting points coloured by outcome: basin reached, status, or steps.

    ``result`` has ``status``, ``steps``, ``basin`` of shape ``(..., P)`` (a `jl.SweepResult`);
    ``index`` picks one hyperparameter setting when there are leading axes. ``starts`` is the
    `jl.starts.grid` the sweep ran from (its ``shape`` and ``extent`` lay the image out).
    ``colour="basin"``: one colour per minimum of ``surface``; ``"status"``: converged green;
    both paled by the steps taken (relative to ``num_steps``, default the slowest cell);
    ``"steps"``: a viridis scale of steps. Diverged cells are black, unfinished grey; with
    ``colour="basin"`` an unfinished cell whose point ended in a basin is that basin's colour,
    greyed (`NEAR_BASIN_GREYNESS`). The surface's minima (stars) and saddles (crosses) are marked.

    Args:
      result: a sweep result with ``status``, ``steps`` and ``basin`` ``(..., P)``.
      starts: the 2-D `jl.starts.grid` the sweep ran from.
      surface: the surface, for its minima and saddles; None: no basin names or markers.
      colour: ``"basin"``, ``"status"`` or ``"steps"``.
      index: picks one hyperparameter setting of the leading axes; None when there are none.
      num_steps: the step count shown palest; None: the slowest cell's.
      title: the axes' title; None: the surface's name and the shares converged and diverged.
      ax: matplotlib axes to draw into; None: a new figure.
      path: where to save the figure (.png, .svg or .pdf); None: not saved.

    Returns:
      The matplotlib `Figure`.

    Raises:
      ValueError: if ``colour`` is unknown, ``result`` does not hold one grid of ``starts``, or
        ``path`` has another suffix.
    """
    check_choice("colour", colour, COLOURINGS)
    status = _pick(result.status, index)
    steps, basin = _pick(result.steps, index), _pick(result.basin, index)
    if status.size != int(np.prod(starts.shape)) or len(starts.shape) != 2:
        raise ValueError(f"result must hold one 2-D grid of {int(np.prod(starts.shape))} starts "
                         f"(pick a hyperparameter setting with index=), got status shape "
                         f"{status.shape} for a grid of shape {tuple(starts.shape)}")
    status, steps, basin = (a.reshape(starts.shape) for a in (status, steps, basin))
    own_figure = ax is None
    figure, ax = _new_axes(ax, figsize=(8.0, 5.5))
    handles = []
    scale = _steps_scale(steps, num_steps)
    if colour == "steps":
        colormap = matplotlib.colormaps["viridis"]
        converged = colormap(np.clip(steps, 0, None) / scale)[..., :3]
        rgb = _status_colours(status, converged, None, None)
        figure.colorbar(ScalarMappable(Normalize(0, scale), colormap), ax=ax, pad=0.02,
                        label="steps to converge")
    elif colour == "status":
        rgb = _status_colours(status, np.broadcast_to(CONVERGED_COLOUR, status.shape + (3,)),
                              steps, num_steps)
        handles.append(Patch(color=CONVERGED_COLOUR, label="converged (paler: slower)"))
    else:
        known = (basin >= 0)[..., None]
        palette = np.asarray(BASIN_COLOURS)[np.maximum(basin, 0) % len(BASIN_COLOURS)]
        near = np.where(known, _greyed(palette), UNFINISHED_COLOUR)
        rgb = _status_colours(status, np.where(known, palette, ELSEWHERE_COLOUR), steps, num_steps,
                              unfinished=near)
        minima = surface.minima_array if surface is not None else np.zeros((0, 2))
        reached = np.unique(basin[(status == Status.CONVERGED) & (basin >= 0)])
        for k in reached[:MAX_BASIN_LABELS]:
            where = f" ({minima[k, 0]:.2f}, {minima[k, 1]:.2f})" if k < len(minima) else ""
            handles.append(Patch(color=BASIN_COLOURS[k % len(BASIN_COLOURS)],
                                 label=f"basin {k}{where}"))
        if len(reached) > MAX_BASIN_LABELS:
            handles.append(Patch(color="white", label=f"… {len(reached) - MAX_BASIN_LABELS} more "
                                                      f"basins (colours repeat)"))
        if np.any((status == Status.CONVERGED) & (basin < 0)):
            handles.append(Patch(color=ELSEWHERE_COLOUR, label="converged elsewhere"))
        if handles:
            handles.append(Patch(color=_paled(BASIN_COLOURS[0]),
                                 label="paler: more steps to converge"))
        circling = np.unique(basin[(status == Status.UNFINISHED) & (basin >= 0)])
        if len(circling):
            handles.append(Patch(color=_greyed(BASIN_COLOURS[circling[0] % len(BASIN_COLOURS)]),
                                 label="unfinished, near that minimum (greyed)"))
    ax.imshow(rgb, origin="lower", extent=starts.extent, interpolation="nearest", aspect="auto")
    handles += [Patch(color=UNFINISHED_COLOUR, label="unfinished"),
                Patch(color=DIVERGED_COLOUR, label="diverged")]
    handles += _mark_points(ax, surface)
    ax.set_xlim(starts.extent[0], starts.extent[1])
    ax.set_ylim(starts.extent[2], starts.extent[3])
    ax.set_xlabel("$w_1$")
    ax.set_ylabel("$w_2$")
    converged = np.mean(status == Status.CONVERGED)
    diverged = int(np.sum(status == Status.DIVERGED))
    ax.set_title(title or f"{getattr(surface, 'name', 'sweep')}: {converged:.2%} converged, "
                 f"{diverged} of {status.size} diverged")
    _legend(ax, handles, own_figure)
    return _finish(figure, path)


def _paled(colour) -> np.ndarray:
    return (1.0 - SLOWEST_PALENESS) * np.asarray(colour) + SLOWEST_PALENESS


def _log_levels(values: np.ndarray, floor: float, num_levels: int) -> np.ndarray:
    finite = values[np.isfinite(values)]
    gaps = finite - floor
    top = max(float(gaps.max()), 1e-12)
    # five decades below the highest point: deep enough to show a valley's floor
    bottom = max(float(gaps.min()), top * 1e-5, 1e-12)
    return floor + np.logspace(np.log10(bottom), np.log10(top), num_levels)


def _contours(surface, ax, figure, num_levels: int, resolution: int) -> None:
    """Log-spaced filled contours of f over the surface's box, with a colorbar."""
    import jax
    import jax.numpy as jnp

    (x_low, x_high), (y_low, y_high) = surface.bounds
    xs, ys = np.linspace(x_low, x_high, resolution), np.linspace(y_low, y_high, resolution)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    values = np.asarray(jax.vmap(surface.fn)(jnp.asarray(grid))).reshape(resolution, resolution)
    floor = float(np.nanmin(values)) - 1e-12
    if surface.f_min is not None:
        floor = min(floor, surface.f_min - 1e-12)
    levels = _log_levels(values, floor, num_levels)
    filled = ax.contourf(xs, ys, values - floor, levels=levels - floor, norm=LogNorm(),
                         cmap="Blues_r", extend="both")
    ax.contour(xs, ys, values, levels=levels, colors="white", linewidths=0.4, alpha=0.6)
    colorbar = figure.colorbar(filled, ax=ax, label="f − f_low (log scale)")
    colorbar.set_ticks((levels - floor)[::4], labels=[f"{v:.2g}" for v in (levels - floor)[::4]])
    colorbar.minorticks_off()
    _mark_points(ax, surface)
    ax.set_xlim(x_low, x_high)
    ax.set_ylim(y_low, y_high)
    ax.set_xlabel("$w_1$")
    ax.set_ylabel("$w_2$")


def _as_path_list(paths) -> list[np.ndarray]:
    """One ``(T, 2)`` path, a list of them (lengths may differ), or ``(N, T, 2)``, each cut at
    its first non-finite point (a diverged run ends there)."""
    if isinstance(paths, (list, tuple)):
        paths_list = [np.asarray(p) for p in paths]
    else:
        paths_list = [np.asarray(paths)] if np.ndim(paths) == 2 else list(np.asarray(paths))
    cut = []
    for points in paths_list:
        finite = np.all(np.isfinite(points), axis=-1)
        cut.append(points[: int(np.argmin(finite)) if not finite.all() else len(points)])
    return cut


def _path_style(k: int) -> dict:
    # A thin dark outline keeps a pale path visible on the pale end of the contours.
    return {"color": TRAJECTORY_COLOURS[k % len(TRAJECTORY_COLOURS)], "lw": 2.0,
            "path_effects": [patheffects.Stroke(linewidth=3.2, foreground="black", alpha=0.6),
                             patheffects.Normal()]}


def trajectories(surface, paths, *, labels: Sequence[str] | None = None, num_levels: int = 25,
                 resolution: int = 200, title: str | None = None, ax=None,
                 path: str | os.PathLike | None = None) -> Figure:
    """Paths ``(T, 2)`` (one, a list, or an ``(N, T, 2)`` array) over log-spaced contours of f.

    Contour levels are spaced evenly in log(f − f_low), f_low the lowest value on the plotting
    grid, so the floor of a valley shows as clearly as its walls. Each path has its own colour of
    `TRAJECTORY_COLOURS` (one per optimizer, named in the legend when ``labels`` are given),
    starts at a circle and ends at a cross; non-finite points (a diverged run) end the line.

    Args:
      surface: the 2-D surface whose contours are drawn.
      paths: one ``(T, 2)`` path, a list of them, or an ``(N, T, 2)`` array.
      labels: one legend label per path; None: no legend.
      num_levels: the number of contour levels.
      resolution: grid points per axis of the contour plot.
      title: the axes' title; None: ``"trajectories on <surface name>"``.
      ax: matplotlib axes to draw into; None: a new figure.
      path: where to save the figure (.png, .svg or .pdf); None: not saved.

    Returns:
      The matplotlib `Figure`.

    Raises:
      ValueError: if ``path`` has another suffix.
    """
    own_figure = ax is None
    figure, ax = _new_axes(ax, figsize=(7.0, 5.5))
    _contours(surface, ax, figure, num_levels, resolution)
    for k, points in enumerate(_as_path_list(paths)):
        label = labels[k] if labels is not None else None
        style = _path_style(k)
        ax.plot(points[:, 0], points[:, 1], "-", label=label, **style)
        ax.plot(points[0, 0], points[0, 1], "o", color=style["color"], markeredgecolor="black")
        ax.plot(points[-1, 0], points[-1, 1], "X", color=style["color"], markersize=9,
                markeredgecolor="black")
    ax.set_title(title or f"trajectories on {surface.name}")
    if labels is not None:
        _path_legend(ax, own_figure)
    return _finish(figure, path)


def _path_legend(ax, own_figure: bool) -> None:
    """Below the axes in a figure of our own (labels such as ``momentum(learning_rate=…)`` are
    long; beside the axes they would squeeze the map), inside them when ``ax=`` was given."""
    if own_figure:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), fontsize="small",
                  ncols=1, frameon=False)
    else:
        _legend(ax, ax.get_legend_handles_labels()[0], False)


def can_write_mp4() -> bool:
    """Whether matplotlib finds ffmpeg, which MP4 animations need (GIFs need only Pillow).

    Returns:
      True if the ffmpeg writer is available.
    """
    from matplotlib import animation

    return animation.writers.is_available("ffmpeg")


def animate_trajectories(surface, paths, *, labels: Sequence[str] | None = None,
                         num_levels: int = 25, resolution: int = 200, title: str | None = None,
                         path: str | os.PathLike, fps: int = 15, dpi: int = 100) -> Figure:
    """`trajectories`, drawn step by step into an animation at ``path`` (.gif, or .mp4 with ffmpeg).

    Frames are evenly spaced steps, at most `MAX_FRAMES`; each path's head is a dot, and the
    legend's counter says the step. A path that stopped (converged, or ended by divergence)
    stays where it stopped while the others go on.

    Args:
      surface: the 2-D surface whose contours are drawn.
      paths: one ``(T, 2)`` path, a list of them, or an ``(N, T, 2)`` array.
      labels: one legend label per path; None: no legend.
      num_levels: the number of contour levels.
      resolution: grid points per axis of the contour plot.
      title: the axes' title; None: ``"trajectories on <surface name>"``.
      path: where to write the animation, ending in .gif or .mp4 (required).
      fps: frames per second.
      dpi: resolution of the frames.

    Returns:
      The matplotlib `Figure` the frames were drawn in.

    Raises:
      ValueError: if ``path`` ends in neither .gif nor .mp4.
    """
    from matplotlib import animation

    suffix = os.path.splitext(os.fspath(path))[1].lower()
    check_choice("path suffix", suffix, (".gif", ".mp4"))
    paths_list = _as_path_list(paths)
    length = max(len(points) for points in paths_list)
    frames = np.unique(np.linspace(0, length - 1, min(MAX_FRAMES, length)).round().astype(int))
    figure, ax = _new_axes(None, figsize=(7.0, 5.5))
    _contours(surface, ax, figure, num_levels, resolution)
    lines, heads = [], []
    for k, points in enumerate(paths_list):
        style = _path_style(k)
        label = labels[k] if labels is not None else None
        lines.append(ax.plot([], [], "-", label=label, **style)[0])
        heads.append(ax.plot([], [], "o", color=style["color"], markeredgecolor="black",
                             markersize=8)[0])
        ax.plot(points[0, 0], points[0, 1], "o", color=style["color"], markeredgecolor="black")
    counter = ax.text(0.02, 0.02, "", transform=ax.transAxes, color="white", fontsize="small",
                      bbox={"facecolor": "black", "alpha": 0.5, "edgecolor": "none"})
    ax.set_title(title or f"trajectories on {surface.name}")
    if labels is not None:
        _path_legend(ax, True)

    def draw(step: int):
        for points, line, head in zip(paths_list, lines, heads):
            shown = points[: min(step, len(points) - 1) + 1]
            line.set_data(shown[:, 0], shown[:, 1])
            head.set_data(shown[-1:, 0], shown[-1:, 1])
        counter.set_text(f"step {step}")
        return [*lines, *heads, counter]

    movie = animation.FuncAnimation(figure, draw, frames=frames, blit=False)
    writer = (animation.PillowWriter(fps=fps) if suffix == ".gif"
              else animation.FFMpegWriter(fps=fps))
    movie.save(os.fspath(path), writer=writer, dpi=dpi)
    return figure


def _grid_edges(centres: np.ndarray) -> np.ndarray:
    centres = np.asarray(centres, dtype=float)
    middle = 0.5 * (centres[1:] + centres[:-1])
    return np.concatenate([[2 * centres[0] - middle[0]], middle, [2 * centres[-1] - middle[-1]]])


def stability_region(learning_rates, momenta, status, *, curvature, method: str = "heavy_ball",
                     steps=None, num_steps: int | None = None, title: str | None = None, ax=None,
                     path: str | os.PathLike | None = None) -> Figure:
    """Empirical stability over learning rate × momentum, with the analytic boundary drawn.

    ``status`` is ``(len(momenta), len(learning_rates))``, or a sweep's ``(C,)`` with
    ``C = len(momenta)·len(learning_rates)`` in the order of ``np.meshgrid(learning_rates,
    momenta)`` flattened; either may have a trailing axis of starting points: a cell is diverged
    if any start diverged, converged if all converged. The boundary
    is `jaxopt_lab.theory`'s α = 2(1 + β)/λ_max (heavy ball) or 2(1 + β)/((1 + 2β)λ_max)
    (Nesterov), λ_max the largest of ``curvature`` (a number or a spectrum). ``steps`` (same
    layout as ``status``; the slowest start counts) pales converged cells by the steps taken,
    relative to ``num_steps``, which shows where the fastest parameters lie.

    Args:
      learning_rates: the α values ``(L,)``, columns of the grid.
      momenta: the β values ``(M,)``, rows of the grid.
      status: `Status` codes ``(M, L)`` or ``(M·L,)``, optionally with a trailing starts axis.
      curvature: λ, a number or a spectrum (its largest value is used).
      method: ``"heavy_ball"`` or ``"nesterov"``, the boundary drawn.
      steps: steps taken, laid out as ``status``; None: converged cells are not paled.
      num_steps: the step count shown palest; None: the slowest cell's.
      title: the axes' title; None: the method and λ_max.
      ax: matplotlib axes to draw into; None: a new figure.
      path: where to save the figure (.png, .svg or .pdf); None: not saved.

    Returns:
      The matplotlib `Figure`.

    Raises:
      ValueError: if ``method`` is unknown, ``status`` has the wrong shape, or ``path`` has another
        suffix.
    """
    check_choice("method", method, ("heavy_ball", "nesterov"))
    learning_rates, momenta = np.asarray(learning_rates, float), np.asarray(momenta, float)
    status = np.asarray(status)
    expected = (momenta.size, learning_rates.size)
    if status.ndim in (1, 2) and status.shape[0] == momenta.size * learning_rates.size:
        status = status.reshape(expected + status.shape[1:])
    if steps is not None:
        steps = np.asarray(steps).reshape(status.shape)
        steps = steps.max(axis=-1) if steps.ndim == 3 else steps
    if status.shape[:2] != expected:
        raise ValueError(f"status must have shape {expected} (momenta, learning rates)[, points], "
                         f"got {status.shape}")
    if status.ndim == 3:
        status = np.where(np.any(status == Status.DIVERGED, axis=-1), Status.DIVERGED,
                          np.where(np.all(status == Status.CONVERGED, axis=-1), Status.CONVERGED,
                                   Status.UNFINISHED))
    rgb = _status_colours(status, np.broadcast_to(CONVERGED_COLOUR, status.shape + (3,)),
                          steps, num_steps)
    own_figure = ax is None
    figure, ax = _new_axes(ax, figsize=(7.0, 5.0))
    ax.pcolormesh(_grid_edges(learning_rates), _grid_edges(momenta), rgb, shading="flat")
    lambda_max = float(np.max(curvature))
    boundary = (theory.heavy_ball_max_learning_rate if method == "heavy_ball"
                else theory.nesterov_max_learning_rate)
    fine = np.linspace(momenta.min(), momenta.max(), 400)
    ax.plot(np.asarray(boundary(fine, lambda_max)), fine, "--", color=BOUNDARY_COLOUR, lw=2.0)
    ax.set_xlim(_grid_edges(learning_rates)[[0, -1]])
    ax.set_ylim(_grid_edges(momenta)[[0, -1]])
    ax.set_xlabel("learning rate α")
    ax.set_ylabel("momentum β")
    name = "heavy ball" if method == "heavy_ball" else "Nesterov"
    ax.set_title(title or f"{name} stability, λ_max = {lambda_max:g}")
    converged_label = "converged (paler: slower)" if steps is not None else "converged"
    _legend(ax, [Patch(color=CONVERGED_COLOUR, label=converged_label),
                 Patch(color=UNFINISHED_COLOUR, label="unfinished"),
                 Patch(color=DIVERGED_COLOUR, label="diverged"),
                 Line2D([], [], ls="--", color=BOUNDARY_COLOUR, label="theory boundary")],
            own_figure)
    return _finish(figure, path)


def _is_geometric(values: np.ndarray) -> bool:
    """Whether sorted axis values are evenly spaced in log (a ``logN`` range), not linearly."""
    if len(values) < 3 or np.any(values <= 0):
        return False
    steps = np.diff(np.log(values))
    return bool(np.allclose(steps, steps[0], rtol=1e-6)
                and not np.allclose(np.diff(values), values[1] - values[0], rtol=1e-6))


def _edges(centres: np.ndarray, log: bool) -> np.ndarray:
    return np.exp(_grid_edges(np.log(centres))) if log else _grid_edges(centres)


def _per_setting(result, quantity: str, f_min: float | None) -> tuple[np.ndarray, str, Any]:
    """(value per setting, colorbar label, norm) of ``quantity`` over each setting's starts."""
    status = np.asarray(result.status)
    converged = status == Status.CONVERGED
    if quantity == "converged":
        return converged.mean(axis=-1), "share of starts converged", Normalize(0.0, 1.0)
    if quantity == "steps":
        steps = np.where(converged, np.asarray(result.steps), np.nan).astype(float)
        with np.errstate(all="ignore"):
            median = np.array([np.median(row[np.isfinite(row)]) if np.isfinite(row).any()
                               else np.nan for row in steps])
        return median, "median steps to converge (converged starts)", None
    loss = np.where(status == Status.DIVERGED, np.nan, np.asarray(result.loss, dtype=float))
    floor = np.nanmin(loss) if f_min is None else f_min
    gap = np.array([np.median(row[np.isfinite(row)]) if np.isfinite(row).any() else np.nan
                    for row in loss]) - floor
    positive = gap[np.isfinite(gap) & (gap > 0)]
    low = max(float(positive.min()) if positive.size else 1e-12, 1e-12)
    norm = LogNorm(low, max(float(positive.max()) if positive.size else 1.0, low * 10))
    return np.maximum(gap, low), "median final loss − f_min (finite runs)", norm


def hyperparameter_map(result, x: str, y: str, *, quantity: str = "converged",
                       f_min: float | None = None, curvature: float | None = None,
                       boundary: str | None = None, title: str | None = None, ax=None,
                       path: str | os.PathLike | None = None) -> Figure:
    """Where an optimizer works over a grid of two settings: one cell per setting.

    ``result`` is a sweep over ``hyperparams`` holding the product of the values of ``x`` and
    ``y`` (``np.meshgrid`` order or any other), with ``(C, P)`` outcomes. ``quantity``:
    ``"converged"``, the share of starts that converged; ``"steps"``, the median steps of those
    that did; ``"loss"``, the median final loss above ``f_min`` (default the lowest seen) of the
    runs that stayed finite. Cells where every start diverged are black whatever the quantity.
    An axis whose values are evenly spaced in log is drawn on a log scale. ``boundary``
    (``"heavy_ball"`` or ``"nesterov"``, with ``curvature`` λ_max) draws `jaxopt_lab.theory`'s
    largest stable learning rate when ``x``/``y`` are ``learning_rate`` and ``momentum``.

    Args:
      result: a sweep result whose ``hyperparams`` hold ``x`` and ``y``, outcomes ``(C, P)``.
      x: the hyperparameter on the horizontal axis.
      y: the hyperparameter on the vertical axis.
      quantity: ``"converged"``, ``"steps"`` or ``"loss"``.
      f_min: the floor of ``quantity="loss"``; None: the lowest loss seen.
      curvature: λ_max for the drawn boundary; None: no boundary.
      boundary: ``"heavy_ball"`` or ``"nesterov"``; None: no boundary.
      title: the axes' title; None: ``"<quantity> over <x> × <y>"``.
      ax: matplotlib axes to draw into; None: a new figure.
      path: where to save the figure (.png, .svg or .pdf); None: not saved.

    Returns:
      The matplotlib `Figure`.

    Raises:
      ValueError: if ``quantity`` or ``boundary`` is unknown, ``x`` or ``y`` is not a
        hyperparameter of the sweep, their values do not form a grid, or ``path`` has another
        suffix.
    """
    check_choice("quantity", quantity, HYPERPARAMETER_QUANTITIES)
    for name in (x, y):
        if name not in result.hyperparams:
            raise ValueError(f"x and y must name hyperparameters of the sweep "
                             f"{sorted(result.hyperparams)}, got {name!r}")
    column, row = (np.asarray(result.hyperparams[name], dtype=float) for name in (x, y))
    xs, ys = np.unique(column), np.unique(row)
    if xs.size * ys.size != column.size:
        raise ValueError(f"hyperparams {x!r} and {y!r} must hold every pair of their values "
                         f"once (a grid), got {column.size} settings for {xs.size} x {ys.size}")
    values, label, norm = _per_setting(result, quantity, f_min)
    image = np.full((ys.size, xs.size), np.nan)
    image[np.searchsorted(ys, row), np.searchsorted(xs, column)] = values
    diverged = np.zeros((ys.size, xs.size), bool)
    diverged[np.searchsorted(ys, row), np.searchsorted(xs, column)] = np.all(
        np.asarray(result.status) == Status.DIVERGED, axis=-1)
    figure, ax = _new_axes(ax, figsize=(7.0, 5.5))
    log_x, log_y = _is_geometric(xs), _is_geometric(ys)
    x_edges, y_edges = _edges(xs, log_x), _edges(ys, log_y)
    mesh = ax.pcolormesh(x_edges, y_edges, np.ma.masked_invalid(image), cmap="viridis",
                         norm=norm, shading="flat")
    ax.pcolormesh(x_edges, y_edges, np.ma.masked_where(~diverged, diverged.astype(float)),
                  cmap=matplotlib.colors.ListedColormap([DIVERGED_COLOUR]), shading="flat")
    figure.colorbar(mesh, ax=ax, label=label, pad=0.02)
    if log_x:
        ax.set_xscale("log")
    if log_y:
        ax.set_yscale("log")
    handles = [Patch(color=DIVERGED_COLOUR, label="every start diverged")] if diverged.any() else []
    if boundary is not None and curvature is not None and {x, y} == {"learning_rate",
                                                                     "momentum"}:
        handles.append(_draw_momentum_boundary(ax, boundary, float(curvature),
                                               ys if y == "momentum" else xs, x == "momentum"))
    ax.set_xlim(x_edges[[0, -1]])
    ax.set_ylim(y_edges[[0, -1]])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(title or f"{quantity} over {x} × {y}")
    if handles:  # inside the axes even in a figure of our own: the colorbar takes the right side
        _legend(ax, handles, False)
    return _finish(figure, path)


def _draw_momentum_boundary(ax, method: str, curvature: float, momenta: np.ndarray,
                            momentum_on_x: bool) -> Line2D:
    check_choice("boundary", method, ("heavy_ball", "nesterov"))
    rule = (theory.heavy_ball_max_learning_rate if method == "heavy_ball"
            else theory.nesterov_max_learning_rate)
    fine = np.linspace(momenta.min(), momenta.max(), 400)
    rates = np.asarray(rule(fine, curvature))
    xs, ys = (fine, rates) if momentum_on_x else (rates, fine)
    ax.plot(xs, ys, "--", color=BOUNDARY_COLOUR, lw=2.0)
    name = "heavy ball" if method == "heavy_ball" else "Nesterov"
    return Line2D([], [], ls="--", color=BOUNDARY_COLOUR,
                  label=f"{name} stability limit, λ_max = {curvature:.3g}")


def loss_curves(losses, *, f_min: float = 0.0, steps=None, labels: Sequence[str] | None = None,
                log: bool = True, title: str | None = None, ax=None,
                path: str | os.PathLike | None = None) -> Figure:
    """f(x_k) − f* against step k: one curve ``(T,)``, rows of ``(N, T)``, or a name → curve dict.

    ``steps`` are the x values (default 0, 1, ...): a sweep's ``loss_steps`` for its
    ``loss_history``. On a log scale a linear rate R is a straight line of slope log R.

    Args:
      losses: one curve ``(T,)``, rows ``(N, T)``, or a mapping from name to curve.
      f_min: the minimum f* subtracted from every curve.
      steps: the x values; None: 0, 1, ....
      labels: one legend label per curve (a mapping's keys replace them); None: no legend.
      log: whether the y axis is logarithmic.
      title: the axes' title; None: ``"loss curves"``.
      ax: matplotlib axes to draw into; None: a new figure.
      path: where to save the figure (.png, .svg or .pdf); None: not saved.

    Returns:
      The matplotlib `Figure`.

    Raises:
      ValueError: if ``path`` has another suffix.
    """
    if isinstance(losses, Mapping):
        labels, curves = list(losses), [np.asarray(v, float) for v in losses.values()]
    else:
        array = np.asarray(losses, dtype=float)
        curves = [array] if array.ndim == 1 else list(array)
    figure, ax = _new_axes(ax, figsize=(6.0, 4.0))
    for k, curve in enumerate(curves):
        gap = np.abs(curve - f_min)
        if log:
            gap = np.where(gap > 0, gap, np.nan)  # a gap of exactly 0 has no logarithm
        x = np.arange(curve.size) if steps is None else np.asarray(steps)
        ax.plot(x, gap, lw=1.5, label=labels[k] if labels else None)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("step k")
    ax.set_ylabel("|f(x_k) − f*|")
    ax.set_title(title or "loss curves")
    if labels:
        ax.legend(fontsize="small")
    return _finish(figure, path)


def regime_strip(curvature: float, learning_rates=None, *, measured=None,
                 title: str | None = None, ax=None,
                 path: str | os.PathLike | None = None) -> Figure:
    """Gradient descent regimes on ½·a·w² over a range of η: theory, and ``measured`` below it.

    ``learning_rates`` default to 600 steps up to 2.5/a; ``measured`` holds `Regime` codes per
    learning rate (e.g. from `jaxopt_lab.analysis.trajectory_regime`). Dashed lines mark
    η_opt = 1/a and 2η_opt (LeCun et al. 1998).

    Args:
      curvature: a > 0 of the quadratic.
      learning_rates: the η values; None: 600 steps up to 2.5/a.
      measured: `Regime` codes, one per learning rate; None: the theory row only.
      title: the axes' title; None: the quadratic.
      ax: matplotlib axes to draw into; None: a new figure.
      path: where to save the figure (.png, .svg or .pdf); None: not saved.

    Returns:
      The matplotlib `Figure`.

    Raises:
      ValueError: if ``curvature`` or a learning rate is not positive, or ``path`` has another
        suffix.
    """
    if learning_rates is None:
        learning_rates = np.linspace(0.0, 2.5, 601)[1:] / curvature
    learning_rates = np.asarray(learning_rates, dtype=float)
    rows = [("theory", np.asarray(theory.gd_regime(learning_rates, curvature)))]
    if measured is not None:
        rows.append(("measured", np.asarray(measured)))
    image = np.stack([np.asarray([REGIME_COLOURS[Regime(int(r))] for r in codes])
                      for _, codes in rows])
    own_figure = ax is None
    figure, ax = _new_axes(ax, figsize=(7.0, 1.2 + 0.5 * len(rows)))
    ax.pcolormesh(_grid_edges(learning_rates), np.arange(len(rows) + 1), image, shading="flat")
    for value, text in ((1.0 / curvature, "η_opt = 1/a"), (2.0 / curvature, "2η_opt")):
        if learning_rates.min() <= value <= learning_rates.max():
            ax.axvline(value, color="white", ls="--", lw=1.5)
            ax.text(value, len(rows) + 0.05, text, ha="center", va="bottom", fontsize="small")
    ax.set_yticks(np.arange(len(rows)) + 0.5, [name for name, _ in rows])
    ax.set_xlabel("learning rate η")
    ax.set_title(title or f"gradient descent on ½·{curvature:g}·w²", pad=16)
    present = sorted({int(r) for _, codes in rows for r in codes})
    _legend(ax, [Patch(color=REGIME_COLOURS[Regime(r)], label=Regime(r).name.lower())
                 for r in present], own_figure)
    return _finish(figure, path)
