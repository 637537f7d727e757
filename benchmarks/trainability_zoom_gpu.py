"""A zoom sequence into the trainability boundary at the paper's scale, for a GPU.

Sohl-Dickstein (2024) measured the boundary's dimension on zoom sequences of large pictures
(width 16, 500 or 1000 steps, up to 4096² learning-rate pairs). This script renders such a
sequence with `jl.problems.trainability_map` and `jl.analysis.zoom_sequence` (float64
throughout), and records every frame's window, its share of diverged runs, its time, the
pooled Sohl-Dickstein dimension, and a picture of the frames.

    PYTHONPATH=. python benchmarks/trainability_zoom_gpu.py        # 1024², 500 steps, 6 frames
    PYTHONPATH=. python benchmarks/trainability_zoom_gpu.py --resolution 32 --steps 20 --frames 2
"""
from __future__ import annotations

import argparse
import json
import os
import time

import jax

jax.config.update("jax_enable_x64", True)  # zoom_sequence's windows and grids are float64

import numpy as np  # noqa: E402

import jaxopt_lab as jl  # noqa: E402
from jaxopt_lab.bench import environment  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
WINDOW = (-1.0, 6.0, 0.5, 2.5)  # log10 (input lr min, max, output lr min, max)


def save_picture(frames, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(frames), figsize=(3.2 * len(frames), 3.4), squeeze=False)
    for axis, frame in zip(axes[0], frames):
        axis.imshow(frame.image > 0, origin="lower", extent=frame.window, aspect="auto",
                    cmap="RdBu_r", interpolation="nearest")
        axis.set(title=f"width {frame.window[1] - frame.window[0]:.1e} decades",
                 xticks=[], yticks=[])
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--frames", type=int, default=6)
    parser.add_argument("--zoom", type=float, default=4.0)
    parser.add_argument("--activation", default="tanh")
    parser.add_argument("--chunk-size", type=int, default=2**18,
                        help="grid points per call: bounds GPU memory (width 16: ~10 GB)")
    parser.add_argument("--out", default=None, help="JSON path; the PNG goes beside it")
    args = parser.parse_args()

    key = jax.random.PRNGKey(0)
    problem = jl.problems.trainability_network(key, args.width, activation=args.activation)
    params = problem.init(jax.random.split(key)[1])
    frame_seconds = []

    def render(window):
        start = time.perf_counter()
        picture = jl.problems.trainability_map(problem, params, window, args.resolution,
                                               num_steps=args.steps, chunk_size=args.chunk_size)
        measure = np.asarray(picture.measure)
        frame_seconds.append(time.perf_counter() - start)
        print(f"frame {len(frame_seconds)}: window {window}, {np.mean(measure > 0):.1%} diverged,"
              f" {frame_seconds[-1]:.1f} s", flush=True)
        return measure

    sequence = jl.analysis.zoom_sequence(render, WINDOW, args.frames, zoom=args.zoom)
    out = args.out or os.path.join(
        RESULTS, f"trainability_zoom_{args.resolution}_{jax.default_backend()}.json")
    frames = [{"window": frame.window, "diverged_share": float(np.mean(frame.image > 0)),
               "seconds": seconds, "slopes": picture.slopes.tolist(),
               "box_sizes": picture.box_sizes.tolist()}
              for frame, seconds, picture in zip(sequence.frames, frame_seconds,
                                                 sequence.dimension.pictures)]
    with open(out, "w") as file:
        json.dump({"environment": environment(), "arguments": vars(args),
                   "dimension": sequence.dimension.dimension, "frames": frames}, file, indent=1)
    save_picture(sequence.frames, os.path.splitext(out)[0] + ".png")
    print(f"Sohl-Dickstein dimension pooled over {args.frames} frames: "
          f"{sequence.dimension.dimension:.3f}; wrote {out}")


if __name__ == "__main__":
    main()
