"""The two boundary-dimension estimators on images of known dimension, and zoom sequences."""
import math

import jax
import numpy as np
import pytest
from PIL import Image, ImageDraw

from jaxopt_lab import analysis

SIZE = 1024
KOCH_LEVEL = 6  # segments of 0.8·SIZE/3⁶ ≈ 1 pixel: the curve is resolved down to the pixel
KOCH_DIMENSION = math.log(4) / math.log(3)
#: A straight or smooth edge on a pixel grid: the largest boxes (a few hundred pixels, the image
#: side) see the image's border cut the count, which tilts their local slopes; the median of the
#: ten slopes stays within this of 1.
SMOOTH_EDGE_ATOL = 0.05
#: The Koch curve's local slopes oscillate with its 3-fold self-similarity (between about 1.15
#: and 1.44 over 10–365 px at 1024²); their median lands within this of log 4 / log 3.
KOCH_ATOL = 0.05
#: Our least-squares estimator on the same Koch image: boxes from 1 px, where the rasterized
#: curve is a pixel chain, bend the fit below the ideal dimension by a few hundredths.
OURS_KOCH_ATOL = 0.06


def half_plane(slope=0.0):
    y, x = np.mgrid[:SIZE, :SIZE]
    return x + slope * y > SIZE / 3


def disk():
    y, x = np.mgrid[:SIZE, :SIZE]
    return (x - SIZE / 2) ** 2 + (y - SIZE / 2) ** 2 < (0.4 * SIZE) ** 2


def koch_snowflake(level=KOCH_LEVEL, size=SIZE):
    """The filled snowflake: its boundary is the Koch curve (dimension log 4 / log 3)."""
    rotate = np.array([[0.5, -math.sqrt(3) / 2], [math.sqrt(3) / 2, 0.5]])
    points = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, -math.sqrt(3) / 2], [0.0, 0.0]])
    for _ in range(level):
        refined = []
        for start, end in zip(points[:-1], points[1:]):
            third = (end - start) / 3
            refined += [start, start + third, start + third + rotate @ third, start + 2 * third]
        points = np.array(refined + [points[-1]])
    points = (points - points.min(0)) / np.ptp(points, axis=0).max() * 0.8 * size + 0.1 * size
    image = Image.new("1", (size, size), 0)
    ImageDraw.Draw(image).polygon([tuple(point) for point in points], fill=1)
    return np.array(image)


@pytest.mark.parametrize("make_labels, dimension, atol", [
    (half_plane, 1.0, SMOOTH_EDGE_ATOL),
    (lambda: half_plane(slope=0.37), 1.0, SMOOTH_EDGE_ATOL),
    (disk, 1.0, SMOOTH_EDGE_ATOL),
    (koch_snowflake, KOCH_DIMENSION, KOCH_ATOL),
], ids=["line", "tilted_line", "disk_boundary", "koch_curve"])
def test_sohl_dickstein_dimension_of_known_boundaries(make_labels, dimension, atol):
    measured = analysis.sohl_dickstein_dimension(make_labels())
    assert measured.dimension == pytest.approx(dimension, abs=atol)
    (picture,) = measured.pictures
    assert picture.box_sizes[0] == 10 and picture.box_sizes[-1] == SIZE - 1  # edges: side − 1


def test_our_estimator_on_the_koch_curve():
    measured = analysis.box_counting_dimension(analysis.boundary_mask(koch_snowflake()))
    assert measured.dimension == pytest.approx(KOCH_DIMENSION, abs=OURS_KOCH_ATOL)


def _published_box_counts(image, sizes):
    # The published counting loop, box by box: a box counts if it holds both phases.
    counts = []
    for size in sizes:
        count = 0
        for i in range(0, image.shape[0], size):
            for j in range(0, image.shape[1], size):
                box = image[i:i + size, j:j + size]
                count += int(np.any(box)) - int(np.all(box))
        counts.append(count)
    return np.array(counts)


@pytest.mark.parametrize("shape, density", [((37, 37), 0.1), ((50, 41), 0.5), ((64, 64), 0.97)])
def test_spanning_box_counts_match_the_published_loop(shape, density):
    image = np.random.default_rng(0).random(shape) < density
    spans = analysis.spanning_box_counts(image)
    expected_sizes = np.unique(np.logspace(1, np.log10(min(shape)), 10).astype(int))
    np.testing.assert_array_equal(spans.box_sizes, expected_sizes)
    np.testing.assert_array_equal(spans.counts, _published_box_counts(image, expected_sizes))
    np.testing.assert_allclose(spans.slopes, -np.gradient(np.log(spans.counts),
                                                          np.log(expected_sizes)))


def test_edge_windows_are_the_sign_changes_of_the_measure():
    measure = np.random.default_rng(1).standard_normal((30, 20))
    windows = np.stack([measure[1:, 1:], measure[:-1, 1:], measure[1:, :-1], measure[:-1, :-1]])
    published = np.sign(windows.max(0) * windows.min(0)) < 0
    np.testing.assert_array_equal(analysis.edge_windows(measure > 0), published)


def test_the_dimension_pools_the_slopes_of_every_image():
    images = [disk(), koch_snowflake(level=4)]
    pooled = analysis.sohl_dickstein_dimension(images)
    slopes = [analysis.sohl_dickstein_dimension(image).pictures[0].slopes for image in images]
    assert pooled.dimension == np.median(np.concatenate(slopes))


def _straight_boundary(window):
    # Label +1 above the line y = x/2 + 0.3 (log coordinates), −1 below: dimension 1 at any zoom.
    x_min, x_max, y_min, y_max = window
    x, y = np.meshgrid(np.linspace(x_min, x_max, 64), np.linspace(y_min, y_max, 64))
    return np.where(y > x / 2 + 0.3, 1.0, -1.0)


def test_zoom_sequence_nests_windows_around_the_boundary():
    window, zoom, num_frames = (-1.0, 3.0, -2.0, 2.0), 4.0, 4
    sequence = analysis.zoom_sequence(_straight_boundary, window, num_frames, zoom=zoom)
    assert len(sequence.frames) == num_frames and sequence.frames[0].window == window
    for outer, inner in zip(sequence.frames[:-1], sequence.frames[1:]):
        (ox0, ox1, oy0, oy1), (ix0, ix1, iy0, iy1) = outer.window, inner.window
        assert ox0 <= ix0 < ix1 <= ox1 and oy0 <= iy0 < iy1 <= oy1
        assert (ox1 - ox0) / (ix1 - ix0) == pytest.approx(63 / round(63 / zoom))
        assert analysis.edge_windows(inner.image > 0).any()
    assert len(sequence.dimension.pictures) == num_frames
    assert sequence.dimension.dimension == pytest.approx(1.0, abs=SMOOTH_EDGE_ATOL)


def test_dimension_and_zoom_reject_bad_input():
    with pytest.raises(ValueError, match="image must be a 2-D image with sides of at least 11"):
        analysis.spanning_box_counts(np.zeros((8, 8), dtype=bool))
    with pytest.raises(ValueError, match="image must hold both True and False pixels"):
        analysis.sohl_dickstein_dimension(np.zeros((32, 32), dtype=bool))
    with pytest.raises(ValueError, match="labels must be a 2-D image of at least 2×2"):
        analysis.edge_windows(np.zeros(5))
    with pytest.raises(ValueError, match=r"num_frames must be an integer in \[1, inf\]"):
        analysis.zoom_sequence(_straight_boundary, (0, 1, 0, 1), 0)
    with pytest.raises(ValueError, match="zoom must be > 1"):
        analysis.zoom_sequence(_straight_boundary, (0, 1, 0, 1), 2, zoom=1.0)
    with pytest.raises(ValueError, match="frame 0 .* has no boundary"):
        analysis.zoom_sequence(lambda window: np.ones((16, 16)), (0, 1, 0, 1), 2)
    jax.config.update("jax_enable_x64", False)
    try:
        with pytest.raises(ValueError, match="zoom_sequence needs float64 grids"):
            analysis.zoom_sequence(_straight_boundary, (0, 1, 0, 1), 2)
    finally:
        jax.config.update("jax_enable_x64", True)
