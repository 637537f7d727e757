"""Figures are checked by their pixels: colours where the data (and the theory) put them.

Each figure is rendered with its Agg canvas (MPLBACKEND=Agg, headless) and sampled at data
coordinates through the axes' transform.
"""
from types import SimpleNamespace

import jax
import numpy as np
import pytest

import jaxopt_lab as jl
from jaxopt_lab import plotting, theory
from jaxopt_lab.theory import Regime
from jaxopt_lab import Status

#: A sampled pixel vs the colour drawn there: Agg rounds to 8 bits (≤ 1/255 per channel) and
#: may antialias a cell edge, so sample cell centres and allow 3/255.
COLOUR_ATOL = 3 / 255
#: The hand-written stability map calls |x| below this converged (x starts at 1): the status
#: only has to be clear-cut away from the boundary, which BOUNDARY_MARGIN keeps out.
CONVERGED_DISTANCE = 1e-3
#: Axis positions and plotted data: float64 rounding through matplotlib's transforms.
ROUNDING_RTOL = 1e-9
#: Cells closer than this (relative) to the theory boundary are not sampled: the boundary line
#: is drawn over them and rounding of a 1-D grid decides them.
BOUNDARY_MARGIN = 0.1


def rendered(figure):
    figure.canvas.draw()
    return np.asarray(figure.canvas.buffer_rgba())[..., :3] / 255.0


def pixel(figure, ax, x, y):
    image = rendered(figure)
    column, row = ax.transData.transform((x, y))
    return image[image.shape[0] - 1 - int(round(row)), int(round(column))]


def assert_colour(figure, ax, x, y, colour):
    np.testing.assert_allclose(pixel(figure, ax, x, y), colour, atol=COLOUR_ATOL,
                               err_msg=f"at ({x}, {y})")


def assert_not_uniform(figure):
    image = rendered(figure)
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 20


# --- convergence_map -----------------------------------------------------------------------------

RESOLUTION = 40


@pytest.fixture(scope="module")
def himmelblau_map():
    """A synthetic sweep on Himmelblau's grid: basin = nearest minimum, diverged for w₁ > 3.9,
    unfinished for w₂ > 4.4 (ended near no minimum for w₁ < -2), steps growing with the
    distance to the minimum."""
    surface = jl.surfaces.get("himmelblau")
    starts = jl.starts.grid(surface, RESOLUTION)
    points = np.asarray(starts.points)
    distances = np.linalg.norm(points[:, None, :] - surface.minima_array[None], axis=-1)
    basin = np.argmin(distances, axis=-1)
    status = np.full(points.shape[0], Status.CONVERGED, dtype=np.int8)
    status[points[:, 1] > 4.4] = Status.UNFINISHED
    status[points[:, 0] > 3.9] = Status.DIVERGED
    basin[(status == Status.UNFINISHED) & (points[:, 0] < -2.0)] = -1
    steps = np.round(40 * distances.min(axis=-1)).astype(int)
    steps[status != Status.CONVERGED] = -1
    result = SimpleNamespace(status=status, steps=steps, basin=basin)
    return surface, starts, result, points


@pytest.mark.parametrize("colour", plotting.COLOURINGS)
def test_convergence_map_puts_each_outcome_where_it_happened(himmelblau_map, colour):
    surface, starts, result, points = himmelblau_map
    figure = jl.plotting.convergence_map(result, starts, surface, colour=colour)
    ax = figure.axes[0]
    assert_not_uniform(figure)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("$w_1$", "$w_2$")
    # diverged cells: black, wherever they are
    for x, y in [(4.5, -4.0), (4.5, 0.0), (4.2, 3.0)]:
        assert_colour(figure, ax, x, y, plotting.DIVERGED_COLOUR)
    assert_colour(figure, ax, -3.0, 4.8, plotting.UNFINISHED_COLOUR)  # near no minimum
    # unfinished but ended in a basin: greyed basin colour in the basin map, grey otherwise
    near = np.argmin(np.linalg.norm(points - (1.0, 4.8), axis=-1))
    greyed = ((1 - plotting.NEAR_BASIN_GREYNESS) * np.asarray(
        plotting.BASIN_COLOURS[result.basin[near]])
        + plotting.NEAR_BASIN_GREYNESS * np.asarray(plotting.UNFINISHED_COLOUR))
    assert_colour(figure, ax, *points[near],
                  greyed if colour == "basin" else plotting.UNFINISHED_COLOUR)
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert ("unfinished, near that minimum (greyed)" in labels) == (colour == "basin")
    assert "diverged" in labels and "global minimum" in labels and "saddle" in labels
    if colour == "basin":
        for k, minimum in enumerate(surface.minima_array):
            # a cell next to the minimum took few steps: nearly the pure basin colour
            x, y = points[np.argmin(np.linalg.norm(points - minimum, axis=-1))]
            # the minimum's star marker covers its location: sample a cell 3 widths below it
            width = (starts.extent[1] - starts.extent[0]) / (RESOLUTION - 1)
            neighbour = np.argmin(np.linalg.norm(points - (x, y - 3 * width), axis=-1))
            steps = result.steps[neighbour]
            pale = plotting.SLOWEST_PALENESS * steps / result.steps.max()
            expected = np.asarray(plotting.BASIN_COLOURS[k]) * (1 - pale) + pale
            assert_colour(figure, ax, *points[neighbour], expected)


def test_convergence_map_needs_one_grid(himmelblau_map):
    surface, starts, result, _ = himmelblau_map
    stacked = SimpleNamespace(**{k: np.stack([v, v]) for k, v in vars(result).items()})
    with pytest.raises(ValueError, match="pick a hyperparameter setting with index="):
        jl.plotting.convergence_map(stacked, starts, surface)
    figure = jl.plotting.convergence_map(stacked, starts, surface, index=1, colour="status")
    assert_colour(figure, figure.axes[0], 4.5, 0.0, plotting.DIVERGED_COLOUR)
    with pytest.raises(ValueError, match="colour must be one of 'basin', 'status', 'steps'"):
        jl.plotting.convergence_map(result, starts, surface, colour="rainbow")


# --- stability_region ----------------------------------------------------------------------------

CURVATURE = 2.0
LEARNING_RATES = np.linspace(0.02, 2.4, 48)
MOMENTA = np.linspace(0.0, 0.95, 40)


def momentum_status(method, num_steps=300):
    """Run heavy ball / Nesterov (look-ahead form) on ½·λ·x² for every (α, β), vectorised in numpy."""
    alpha, beta = np.meshgrid(LEARNING_RATES, MOMENTA)
    x, velocity = np.ones_like(alpha), np.zeros_like(alpha)
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(num_steps):
            look = x + beta * velocity if method == "nesterov" else x
            velocity = beta * velocity - alpha * CURVATURE * look
            x = x + velocity
    return np.where(~np.isfinite(x) | (np.abs(x) > 1.0), Status.DIVERGED,
                    np.where(np.abs(x) < CONVERGED_DISTANCE, Status.CONVERGED, Status.UNFINISHED))


@pytest.mark.parametrize("method", ["heavy_ball", "nesterov"])
def test_stability_region_is_black_beyond_the_theory_boundary(method):
    status = momentum_status(method)
    figure = jl.plotting.stability_region(LEARNING_RATES, MOMENTA, status, curvature=CURVATURE,
                                          method=method)
    ax = figure.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("learning rate α", "momentum β")
    assert_not_uniform(figure)
    boundary = (theory.heavy_ball_max_learning_rate if method == "heavy_ball"
                else theory.nesterov_max_learning_rate)
    image = rendered(figure)
    checked = {True: 0, False: 0}
    for i in range(0, MOMENTA.size, 3):
        limit = float(boundary(MOMENTA[i], CURVATURE))
        for j in range(0, LEARNING_RATES.size, 3):
            ratio = LEARNING_RATES[j] / limit
            if abs(ratio - 1) < BOUNDARY_MARGIN or status[i, j] == Status.UNFINISHED:
                continue
            column, row = ax.transData.transform((LEARNING_RATES[j], MOMENTA[i]))
            colour = image[image.shape[0] - 1 - int(round(row)), int(round(column))]
            expected = plotting.DIVERGED_COLOUR if ratio > 1 else plotting.CONVERGED_COLOUR
            np.testing.assert_allclose(colour, expected, atol=COLOUR_ATOL)
            checked[bool(ratio > 1)] += 1
    assert checked[True] > 10 and checked[False] > 10
    dashed = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert len(dashed) == 1
    np.testing.assert_allclose(dashed[0].get_xdata(), boundary(dashed[0].get_ydata(), CURVATURE))


def test_stability_region_reduces_a_points_axis():
    status = np.full((MOMENTA.size, LEARNING_RATES.size, 3), Status.CONVERGED, dtype=np.int8)
    status[5, 7, 1] = Status.DIVERGED
    figure = jl.plotting.stability_region(LEARNING_RATES, MOMENTA, status, curvature=[0.5, 2.0])
    assert_colour(figure, figure.axes[0], LEARNING_RATES[7], MOMENTA[5], plotting.DIVERGED_COLOUR)
    assert_colour(figure, figure.axes[0], LEARNING_RATES[9], MOMENTA[5], plotting.CONVERGED_COLOUR)
    # a sweep's flat (C, P) layout, with steps: the slowest start sets a cell's paleness
    steps = np.zeros(status.shape, dtype=int)
    steps[2, 3, 0] = 100
    figure = jl.plotting.stability_region(LEARNING_RATES, MOMENTA, status.reshape(-1, 3),
                                          curvature=2.0, steps=steps.reshape(-1, 3), num_steps=100)
    pale = plotting.SLOWEST_PALENESS
    assert_colour(figure, figure.axes[0], LEARNING_RATES[3], MOMENTA[2],
                  np.asarray(plotting.CONVERGED_COLOUR) * (1 - pale) + pale)
    assert_colour(figure, figure.axes[0], LEARNING_RATES[7], MOMENTA[5], plotting.DIVERGED_COLOUR)
    with pytest.raises(ValueError, match=r"status must have shape \(40, 48\)"):
        jl.plotting.stability_region(LEARNING_RATES, MOMENTA, status[:, :3], curvature=1.0)


# --- trajectories, loss curves, regime strip -----------------------------------------------------


def gradient_descent_paths(surface, starts, learning_rate, num_steps):
    grad = jax.jit(jax.vmap(jax.grad(surface.fn)))
    points = [np.asarray(starts, dtype=float)]
    for _ in range(num_steps):
        points.append(points[-1] - learning_rate * np.asarray(grad(points[-1])))
    return np.stack(points, axis=1)


def test_trajectories_draw_the_paths_over_log_spaced_contours():
    surface = jl.surfaces.get("himmelblau")
    paths = gradient_descent_paths(surface, [[0.0, 0.0], [-1.0, 4.0], [1.0, -4.0]], 0.01, 40)
    figure = jl.plotting.trajectories(surface, paths, labels=["a", "b", "c"], resolution=80)
    ax = figure.axes[0]
    assert_not_uniform(figure)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("$w_1$", "$w_2$")
    drawn = [line for line in ax.lines if line.get_label() in ("a", "b", "c")]
    for line, path in zip(drawn, paths):
        np.testing.assert_allclose(line.get_xydata(), path)
    filled = [c for c in ax.collections if hasattr(c, "levels")][0]
    gaps = np.asarray(filled.levels)
    ratios = gaps[1:] / gaps[:-1]
    np.testing.assert_allclose(ratios, ratios[0], rtol=ROUNDING_RTOL)  # log-spaced
    assert ratios[0] > 1.0


def test_trajectories_stop_a_diverged_path_at_its_last_finite_point():
    surface = jl.surfaces.get("himmelblau")
    path = np.array([[0.0, 0.0], [1.0, 1.0], [np.inf, np.nan], [np.nan, np.nan]])
    figure = jl.plotting.trajectories(surface, path, resolution=40)
    first = figure.axes[0].lines[0]
    np.testing.assert_allclose(first.get_xydata(), path[:2])


def test_trajectories_accept_paths_of_different_lengths():
    surface = jl.surfaces.get("himmelblau")
    paths = [np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 1.5]]), np.array([[-1.0, 4.0], [-2.0, 3.5]])]
    figure = jl.plotting.trajectories(surface, paths, labels=["long", "short"], resolution=40)
    drawn = {line.get_label(): line for line in figure.axes[0].lines}
    np.testing.assert_allclose(drawn["long"].get_xydata(), paths[0])
    np.testing.assert_allclose(drawn["short"].get_xydata(), paths[1])


def test_loss_curves_on_a_log_scale():
    steps = np.arange(50)
    curves = {"R = 0.81": 3.0 + 0.81**steps, "R = 0.25": 3.0 + 0.25**steps}
    figure = jl.plotting.loss_curves(curves, f_min=3.0)
    ax = figure.axes[0]
    assert ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(curves)
    np.testing.assert_allclose(ax.lines[0].get_ydata()[:5], 0.81 ** steps[:5], rtol=ROUNDING_RTOL)
    assert ax.get_xlabel() == "step k" and ax.get_ylabel()
    assert_not_uniform(figure)
    every_fifth = jl.plotting.loss_curves(np.stack(list(curves.values()))[:, ::5], f_min=3.0,
                                          steps=steps[::5])
    np.testing.assert_array_equal(every_fifth.axes[0].lines[1].get_xdata(), steps[::5])


def test_regime_strip_colours_the_regimes():
    curvature = 2.0
    learning_rates = np.linspace(0.01, 2.5, 250) / curvature
    measured = np.asarray(theory.gd_regime(learning_rates, curvature))
    figure = jl.plotting.regime_strip(curvature, learning_rates, measured=measured)
    ax = figure.axes[0]
    assert ax.get_xlabel() == "learning rate η"
    for row in (0.5, 1.5):  # theory, measured
        for product, regime in [(0.5, Regime.MONOTONE), (1.5, Regime.OSCILLATING),
                                (2.3, Regime.DIVERGENT)]:
            assert_colour(figure, ax, product / curvature, row, plotting.REGIME_COLOURS[regime])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["theory", "measured"]


@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".svg", b"<?xml")])
def test_figures_save_png_and_svg(tmp_path, suffix, magic):
    target = tmp_path / f"strip{suffix}"
    jl.plotting.regime_strip(1.0, path=target)
    assert target.read_bytes().startswith(magic)


def test_bad_file_name():
    with pytest.raises(ValueError, match=r"path must end in .png, .svg, .pdf, got 'strip.jpeg'"):
        jl.plotting.regime_strip(1.0, path="strip.jpeg")


# ------------------------------------------------------------ hyperparameter maps, races, layout


def _grid_result(rates, momenta, status_of):
    """A (C, 4) result over rates × momenta whose status per setting is ``status_of(α, β)``."""
    rate_grid, momentum_grid = np.meshgrid(rates, momenta)
    status = np.array([[status_of(a, b)] * 4 for a, b in zip(rate_grid.ravel(),
                                                              momentum_grid.ravel())], np.int8)
    return SimpleNamespace(status=status, steps=np.where(status == Status.CONVERGED, 10, -1),
                           loss=np.zeros(status.shape),
                           hyperparams={"learning_rate": rate_grid.ravel(),
                                        "momentum": momentum_grid.ravel()})


def test_hyperparameter_map_colours_each_setting_and_draws_the_theory_boundary():
    curvature = 10.0
    rates, momenta = np.geomspace(1e-3, 1.0, 24), np.linspace(0.0, 0.9, 10)
    stable = lambda a, b: Status.CONVERGED if theory.heavy_ball_is_stable(a, b, curvature) \
        else Status.DIVERGED  # noqa: E731
    result = _grid_result(rates, momenta, stable)
    figure = plotting.hyperparameter_map(result, x="learning_rate", y="momentum",
                                         boundary="heavy_ball", curvature=curvature)
    ax = figure.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "linear"
    assert len(figure.axes) == 2  # the colorbar
    # well inside the stable region: every start converged (top of viridis); beyond it black
    assert_colour(figure, ax, 1e-2, 0.45, matplotlib_viridis(1.0))
    assert_colour(figure, ax, 0.9, 0.45, plotting.DIVERGED_COLOUR)
    boundary = [line for line in ax.get_lines() if line.get_linestyle() == "--"][0]
    beta = np.asarray(boundary.get_ydata())
    np.testing.assert_allclose(boundary.get_xdata(), 2 * (1 + beta) / curvature)
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels == ["every start diverged", "heavy ball stability limit, λ_max = 10"]


def matplotlib_viridis(value):
    import matplotlib

    return matplotlib.colormaps["viridis"](value)[:3]


def test_hyperparameter_map_refuses_settings_that_are_not_a_grid():
    result = _grid_result(np.array([0.1, 0.2]), np.array([0.0, 0.5]), lambda a, b: 1)
    result.hyperparams["momentum"] = result.hyperparams["momentum"][::-1].copy()
    result.hyperparams["momentum"][0] = 0.7
    with pytest.raises(ValueError, match="every pair of their values once"):
        plotting.hyperparameter_map(result, x="learning_rate", y="momentum")
    with pytest.raises(ValueError, match="x and y must name hyperparameters"):
        plotting.hyperparameter_map(result, x="learning_rate", y="b1")


def test_trajectories_give_each_optimizer_its_own_colour_and_a_legend():
    surface = jl.surfaces.get("himmelblau")
    paths = [np.linspace([-4.0, -4.0], [3.0, 2.0], 20), np.linspace([4.0, -4.0], [3.0, 2.0], 20),
             np.linspace([0.0, 4.0], [3.0, 2.0], 20)]
    figure = plotting.trajectories(surface, paths, labels=["sgd", "momentum", "adam"])
    ax = figure.axes[0]
    lines = [line for line in ax.get_lines() if line.get_label() in ("sgd", "momentum", "adam")]
    colours = [line.get_color() for line in lines]
    assert colours == list(plotting.TRAJECTORY_COLOURS[:3]) and len(set(colours)) == 3
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["sgd", "momentum", "adam"]


@pytest.mark.parametrize("draw", ["convergence_map", "trajectories"])
def test_legend_stays_inside_the_given_axes(himmelblau_map, draw):
    from matplotlib.figure import Figure

    surface, starts, result, _ = himmelblau_map
    figure = Figure(figsize=(10, 4), layout="constrained")
    left, right = figure.subplots(1, 2)
    if draw == "convergence_map":
        plotting.convergence_map(result, starts, surface, ax=left)
    else:
        plotting.trajectories(surface, [np.zeros((3, 2))], labels=["sgd"], ax=left, resolution=20)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure).draw()
    legend = left.get_legend().get_window_extent()
    assert legend.x1 <= left.get_window_extent().x1 + 1  # it does not spill onto the next panel
    assert legend.x1 < right.get_window_extent().x0


def test_steps_colouring_has_a_colorbar_and_basin_legend_explains_paleness(himmelblau_map):
    surface, starts, result, _ = himmelblau_map
    figure = plotting.convergence_map(result, starts, surface, colour="steps")
    assert len(figure.axes) == 2 and figure.axes[1].get_ylabel() == "steps to converge"
    figure = plotting.convergence_map(result, starts, surface, colour="basin")
    labels = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert any(label.startswith("paler: more steps") for label in labels)


def test_animation_writes_a_gif_with_one_frame_per_shown_step(tmp_path):
    from PIL import Image

    surface = jl.surfaces.get("booth")
    paths = [np.linspace([-8.0, -8.0], [1.0, 3.0], 30), np.linspace([8.0, -8.0], [1.0, 3.0], 12)]
    path = tmp_path / "race.gif"
    plotting.animate_trajectories(surface, paths, labels=["a", "b"], path=path, dpi=30,
                                  resolution=30)
    with Image.open(path) as movie:
        assert movie.n_frames == 30  # fewer steps than MAX_FRAMES: every step is a frame
