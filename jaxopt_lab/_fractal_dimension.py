"""Sohl-Dickstein's (2024) fractal dimension of a trainability boundary, and zoom sequences.

The paper's estimator (its published code, which calls ``porespy.metrics.boxcount``): an edge
is a 2×2 window of the picture that holds both labels; N(s) counts the s×s boxes (a tiling from
the corner, partial boxes at the far sides included) holding both edge and non-edge pixels, for
about ten sizes log-spaced from 10 pixels to the shorter side; the local slopes
−d log N / d log s (``numpy.gradient``) of every picture of a zoom sequence are pooled, and the
dimension is their median. Re-implemented here from that description, without porespy.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import numpy as np

#: The paper's box sizes: ``NUM_BOX_SIZES`` log-spaced from ``SMALLEST_BOX`` pixels to the side.
SMALLEST_BOX = 10
NUM_BOX_SIZES = 10


def edge_windows(labels: jax.typing.ArrayLike) -> np.ndarray:
    """The paper's edges: ``(H − 1, W − 1)``, True where a 2×2 window holds two labels.

    For the paper's colour value (``TrainabilityResult.measure``: negative trains, positive
    diverges) pass ``measure > 0``; its rule ``sign(max · min) < 0`` is this one, as the value
    is never 0.

    Args:
      labels: a 2-D label image ``(H, W)``, at least 2×2.

    Returns:
      A boolean array ``(H − 1, W − 1)``.

    Raises:
      ValueError: if ``labels`` is not 2-D or is smaller than 2×2.
    """
    labels = np.asarray(labels)
    if labels.ndim != 2 or min(labels.shape) < 2:
        raise ValueError(f"labels must be a 2-D image of at least 2×2, got shape {labels.shape}")
    corners = (labels[1:, 1:], labels[:-1, 1:], labels[1:, :-1], labels[:-1, :-1])
    return np.logical_or.reduce([corner != corners[0] for corner in corners[1:]])


class BoxSpans(NamedTuple):
    """One picture's box counts: N(s) boxes holding both phases; ``slopes`` = −d log N/d log s."""

    box_sizes: np.ndarray
    counts: np.ndarray
    slopes: np.ndarray


def spanning_box_counts(image: jax.typing.ArrayLike) -> BoxSpans:
    """N(s): s×s boxes of a 2-D boolean ``image`` holding both True and False pixels.

    ``s`` runs over ``unique(int(logspace(1, log10(shorter side), 10)))``; boxes tile from the
    corner and the partial ones at the far sides count with the pixels they hold.

    Args:
      image: a 2-D boolean image, e.g. `edge_windows`, with sides of at least 11 pixels.

    Returns:
      `BoxSpans`: the box sizes, the counts N(s) and the local slopes.

    Raises:
      ValueError: if ``image`` is not 2-D, a side is shorter than 11 pixels, or at some size no box
        holds both True and False pixels.
    """
    image = np.asarray(image, dtype=bool)
    if image.ndim != 2 or min(image.shape) < SMALLEST_BOX + 1:
        raise ValueError(f"image must be a 2-D image with sides of at least {SMALLEST_BOX + 1} "
                         f"pixels (box sizes run from {SMALLEST_BOX}), got shape {image.shape}")
    sizes = np.unique(np.logspace(np.log10(SMALLEST_BOX), np.log10(min(image.shape)),
                                  NUM_BOX_SIZES).astype(int))
    counts = np.array([_count_spanning_boxes(image, int(size)) for size in sizes])
    if not counts.all():
        raise ValueError("image must hold both True and False pixels in its boxes at every size "
                         f"(counts {counts.tolist()} for sizes {sizes.tolist()})")
    slopes = -np.gradient(np.log(counts), np.log(sizes))
    return BoxSpans(sizes, counts, slopes)


def _count_spanning_boxes(image: np.ndarray, size: int) -> int:
    starts = [np.arange(0, side, size) for side in image.shape]
    filled = np.add.reduceat(np.add.reduceat(image.astype(np.int64), starts[0], axis=0),
                             starts[1], axis=1)
    areas = np.outer(np.diff(np.append(starts[0], image.shape[0])),
                     np.diff(np.append(starts[1], image.shape[1])))
    return int(np.sum((filled > 0) & (filled < areas)))


class SohlDicksteinDimension(NamedTuple):
    """``dimension``: the median of every picture's local slopes; ``pictures``: their counts."""

    dimension: float
    pictures: tuple[BoxSpans, ...]


def sohl_dickstein_dimension(label_images: jax.typing.ArrayLike | Sequence[jax.typing.ArrayLike]
                             ) -> SohlDicksteinDimension:
    """Sohl-Dickstein's (2024) fractal dimension of the boundary in one or more label images.

    Each image (2-D: converged / diverged, or any labels) becomes its `edge_windows`, whose
    `spanning_box_counts` give local slopes; the slopes of all images are pooled (the paper pools
    a zoom sequence) and the dimension is their median. The sizes start at 10 pixels, so an
    image needs sides of at least 12.

    Args:
      label_images (jax.typing.ArrayLike | Sequence[jax.typing.ArrayLike]): one 2-D label
        image, or a sequence of them (e.g. a zoom sequence's).

    Returns:
      `SohlDicksteinDimension`: the median slope and each image's `BoxSpans`.

    Raises:
      ValueError: if there is no image, or an image is rejected by `edge_windows` or
        `spanning_box_counts`.
    """
    images = [label_images] if np.ndim(label_images) == 2 else list(label_images)
    if not images:
        raise ValueError("label_images must hold at least one 2-D image, got none")
    pictures = tuple(spanning_box_counts(edge_windows(image)) for image in images)
    slopes = np.concatenate([picture.slopes for picture in pictures])
    return SohlDicksteinDimension(float(np.median(slopes)), pictures)


class ZoomFrame(NamedTuple):
    """``window = (x_min, x_max, y_min, y_max)``; ``image`` as ``render`` returned it."""

    window: tuple[float, float, float, float]
    image: np.ndarray


class ZoomSequence(NamedTuple):
    """Every frame, outermost first, and `sohl_dickstein_dimension` pooled over them."""

    frames: tuple[ZoomFrame, ...]
    dimension: SohlDicksteinDimension


def densest_edge_window(edges: np.ndarray, side: int) -> tuple[int, int]:
    """Top-left corner (row, column) of the ``side × side`` block of ``edges`` with most edges."""
    table = np.pad(np.cumsum(np.cumsum(edges.astype(np.int64), axis=0), axis=1), ((1, 0), (1, 0)))
    sums = (table[side:, side:] - table[:-side, side:] - table[side:, :-side]
            + table[:-side, :-side])
    row, column = np.unravel_index(np.argmax(sums), sums.shape)
    return int(row), int(column)


def _zoomed_window(window, resolution: int, row: int, column: int, side: int):
    # Edge window (i, j) lies between pixels i and i + 1; the block of `side` edge windows spans
    # pixels [i, i + side], mapped back to the frame's coordinates.
    x_min, x_max, y_min, y_max = window
    x_step, y_step = (x_max - x_min) / (resolution - 1), (y_max - y_min) / (resolution - 1)
    return (x_min + column * x_step, x_min + (column + side) * x_step,
            y_min + row * y_step, y_min + (row + side) * y_step)


def zoom_sequence(render: Callable[[tuple[float, float, float, float]], jax.typing.ArrayLike],
                  window: tuple[float, float, float, float], num_frames: int, *,
                  zoom: float = 4.0) -> ZoomSequence:
    """Zoom ``num_frames − 1`` times into the densest part of a boundary, in float64.

    ``render(window)`` returns a square picture of ``window = (x_min, x_max, y_min, y_max)``,
    rows along y, whose sign gives the label (``TrainabilityResult.measure``, or booleans), e.g.
    ``lambda w: jl.problems.trainability_map(problem, params, w, 256).measure``. Each next window
    is the block of about ``1/zoom`` of the picture's side holding the most `edge_windows`. The
    windows are Python floats and x64 must be enabled, so the grids of a deep zoom stay distinct
    down to float64's resolution. The dimension pools every frame (the paper's procedure).

    Args:
      render (Callable[[tuple], jax.typing.ArrayLike]): maps a window
        ``(x_min, x_max, y_min, y_max)`` to a square 2-D picture whose sign gives the label.
      window: the first frame's ``(x_min, x_max, y_min, y_max)``.
      num_frames: >= 1 frames, the first included.
      zoom: > 1, the factor by which each frame's side shrinks.

    Returns:
      `ZoomSequence`: the frames, outermost first, and the pooled dimension.

    Raises:
      ValueError: if x64 is not enabled, ``num_frames`` or ``zoom`` is out of range, ``render``
        returns a picture that is not square and 2-D, or a frame holds no boundary.
    """
    if not jax.config.jax_enable_x64:
        raise ValueError("zoom_sequence needs float64 grids: enable x64 first, "
                         "jax.config.update('jax_enable_x64', True)")
    if not (isinstance(num_frames, (int, np.integer)) and num_frames >= 1):
        raise ValueError(f"num_frames must be an integer in [1, inf], got {num_frames!r}")
    if not zoom > 1.0:
        raise ValueError(f"zoom must be > 1, got {zoom}")
    window = tuple(float(bound) for bound in window)
    frames = []
    for index in range(num_frames):
        image = np.asarray(render(window))
        if image.ndim != 2 or image.shape[0] != image.shape[1]:
            raise ValueError(f"render must return a square 2-D picture, got shape {image.shape}")
        edges = edge_windows(image > 0)
        if not edges.any():
            raise ValueError(f"frame {index} (window {window}) has no boundary: every point has "
                             "the same label")
        frames.append(ZoomFrame(window, image))
        side = max(2, int(round(edges.shape[0] / zoom)))
        window = _zoomed_window(window, image.shape[0], *densest_edge_window(edges, side), side)
    dimension = sohl_dickstein_dimension([frame.image > 0 for frame in frames])
    return ZoomSequence(tuple(frames), dimension)
