"""The `jaxopt-lab` command: convergence maps, hyperparameter maps, races, timings, listings.

    $ jaxopt-lab map   --optimizer momentum --surface himmelblau -o map.png
    $ jaxopt-lab grid  --optimizer adam --surface rastrigin --param learning_rate=1e-4:1:log64 \\
                       --param b1=0:0.99:64 -o grid.png
    $ jaxopt-lab race  --optimizers sgd,momentum,adam --surface beale --start -1,1 -o race.gif
    $ jaxopt-lab plot  map.npz -o map.png
    $ jaxopt-lab bench --optimizer adam --surface rosenbrock --points 65536 --json out.json
    $ jaxopt-lab list  [--json -]

Settings left out come from the surface (`jaxopt_lab.surfaces.map_settings`). Bad arguments
exit with code 2 and one line that names the argument and what it allows; output files are
written to a temporary name and renamed, so an interrupted run leaves none half-written.
``--json PATH`` (or ``-`` for stdout, the human report then going to stderr) writes what was
done with numbers as numbers.
"""
from __future__ import annotations

import argparse
import contextlib
import ctypes
import functools
import inspect
import json
import os
import sys
from typing import Any, Callable, Iterator, Sequence

import jax
import numpy as np
import optax

import jaxopt_lab as jl
from jaxopt_lab import _interrupt, _plain_text
from jaxopt_lab._cli_args import (RANGE_HELP, Axis, Parser, UsageError, check_output_path,
                                  check_param_kinds, int_at_least, parse_axis, parse_params,
                                  parse_point)
from jaxopt_lab._liveness import alive
from jaxopt_lab.bench import BACKENDS, benchmark
from jaxopt_lab.engine import _distributed
from jaxopt_lab.engine._checkpoint import CheckpointError, finished_chunks
from jaxopt_lab.engine._result import atomic_output

__all__ = ["OPTIMIZERS", "UsageError", "build_optimizer", "main", "make_parser", "parse_params"]

#: Optimizers by CLI name, with their hyperparameters where the surface gives no rule
#: (`jaxopt_lab.surfaces.map_settings` sets the learning rate of every family it knows).
OPTIMIZERS: dict[str, tuple[Callable[..., optax.GradientTransformation], dict[str, Any]]] = {
    "sgd": (jl.sgd, {"learning_rate": 0.01}),
    "momentum": (jl.momentum, {"learning_rate": 0.005, "momentum": 0.9}),
    "nesterov": (jl.nesterov, {"learning_rate": 0.005, "momentum": 0.9}),
    "adagrad": (jl.adagrad, {"learning_rate": 0.5}),
    "adadelta": (jl.adadelta, {"learning_rate": 1.0}),
    "rmsprop": (jl.rmsprop, {"learning_rate": 0.01}),
    "adam": (jl.adam, {"learning_rate": 0.05}),
    "adamw": (jl.adamw, {"learning_rate": 0.05}),
    # min_step_size 1e-12: at Riedmiller & Braun's 1e-6 Rprop stalls ~1e-6 from a minimum,
    # short of the sweep's xtol.
    "rprop": (jl.rprop, {"learning_rate": 0.1, "min_step_size": 1e-12}),
    "quickprop": (jl.quickprop, {"learning_rate": 0.01}),
    "newton": (jl.newton, {"learning_rate": 1.0}),
    "saddle_free_newton": (jl.newton, {"learning_rate": 1.0, "saddle_free": True}),
    "levenberg_marquardt": (jl.levenberg_marquardt, {}),
    "bfgs": (jl.bfgs, {"learning_rate": 1.0}),
    "lbfgs": (jl.lbfgs, {"learning_rate": 1.0}),
}

SCHEDULES = (
    "inverse_time", "inverse_quadratic", "inverse_sqrt", "exponential", "step",
    "linear_then_constant", "reduce_on_plateau",
)

COLOURINGS = ("basin", "status", "steps")


QUANTITIES = ("converged", "steps", "loss")
ANIMATION_SUFFIXES = (".gif", ".mp4")


def build_optimizer(name: str, overrides: dict[str, Any],
                    defaults: dict[str, Any] | None = None
                    ) -> tuple[optax.GradientTransformation, dict[str, Any]]:
    """The named optimizer with ``defaults`` (its table entry unless given) updated by
    ``overrides``; every error is one line naming --param."""
    factory, table = OPTIMIZERS[name]
    hyperparams = {**(table if defaults is None else defaults), **overrides}
    _check_param_names(name, factory, overrides)
    check_param_kinds(factory, hyperparams)
    try:
        return factory(**hyperparams), hyperparams
    except (ValueError, TypeError) as error:
        raise UsageError(f"argument --param: {error}") from None


def _check_param_names(name: str, factory: Callable, params: dict[str, Any]) -> None:
    accepted = set(inspect.signature(factory).parameters)
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise UsageError(f"argument --param: {name} has no parameter {unknown[0]!r}; "
                         f"allowed: {', '.join(sorted(accepted))}")


def readable_name(name: str, hyperparams: dict[str, Any]) -> str:
    """``momentum(learning_rate=0.005, momentum=0.9)``: what ran, in a form one can retype.

    >>> readable_name("adam", {"learning_rate": 0.0123456789, "b1": 0.9})
    'adam(learning_rate=0.01235, b1=0.9)'
    """
    shown = ", ".join(f"{key}={value:.4g}" if isinstance(value, float) else f"{key}={value!r}"
                      if isinstance(value, str) else f"{key}={value}"
                      for key, value in hyperparams.items())
    return f"{name}({shown})"


def _settings(name: str, surface: jl.Surface, steps: int | None
              ) -> tuple[dict[str, Any], int, float]:
    """(hyperparameters, steps, xtol) for ``name`` on ``surface`` before the user's --param and
    --steps: `jaxopt_lab.surfaces.map_settings`."""
    suggested = jl.surfaces.map_settings(surface, name)
    defaults = {**OPTIMIZERS[name][1], **suggested.hyperparams}
    if not surface.minima and "learning_rate" in defaults:
        # No minimum to read a curvature at (a surface of one's own, a saddle): ask the surface.
        defaults["learning_rate"] = _suggested_learning_rate(name, surface, defaults)
    return defaults, suggested.num_steps if steps is None else steps, suggested.xtol


#: Starts per axis of the grid `_suggested_learning_rate` tries the candidate rates from.
SUGGESTION_GRID = 8


def _suggested_learning_rate(name: str, surface: jl.Surface, defaults: dict[str, Any]) -> float:
    """`jaxopt_lab.analysis.suggest_learning_rate` from a small grid of starts; the rule's
    value where no candidate rate lowered the loss."""
    factory = OPTIMIZERS[name][0]
    others = {key: value for key, value in defaults.items() if key != "learning_rate"}
    starts = jl.starts.grid(surface, SUGGESTION_GRID)
    try:
        return jl.analysis.suggest_learning_rate(functools.partial(factory, **others), surface,
                                                 starts).learning_rate
    except ValueError:
        return defaults["learning_rate"]


def _surface(args: argparse.Namespace, flag: str = "--surface", dims: tuple[int, ...] = (2,)
             ) -> jl.Surface:
    surface = jl.surfaces.get(args.surface)
    if surface.dim not in dims:
        raise UsageError(f"argument {flag}: {args.command} draws 2-D surfaces; {args.surface} "
                         f"has dim {surface.dim}")
    return surface


@contextlib.contextmanager
def _as_usage_errors(flag: str) -> Iterator[None]:
    """Errors that the library raises for the user's settings, as one line naming ``flag``."""
    try:
        yield
    except jl.engine.NotElementwise as error:
        raise UsageError(f"argument --backend: {error}") from None
    except CheckpointError as error:
        raise UsageError(f"argument --checkpoint: {error}") from None
    except (ValueError, TypeError) as error:
        raise UsageError(f"argument {flag}: {error}") from None


def _sweep(args: argparse.Namespace, optimizer, surface, starts, num_steps: int, what: str,
           **options) -> jl.SweepResult:
    """jl.sweep with a spinner until its progress bar (or the result) takes over."""
    spinner = (alive(f"{what}: compiling and sweeping") if _distributed.is_first_process()
               else contextlib.nullcontext())
    # --distributed: only process 0 writes, so only it receives the whole result; the others
    # hold their share and one chunk per process at a time, not the whole map.
    gather = "first" if getattr(args, "distributed", False) else "all"
    with spinner, _as_usage_errors("--param"):
        return jl.sweep(optimizer, surface, starts, num_steps, progress=args.progress,
                        engine=jl.Engine(backend=args.backend,
                                         chunk_size=getattr(args, "chunk_size", None),
                                         gather=gather),
                        **options)


def _human(args: argparse.Namespace, text: str) -> None:
    """The report for a person: stdout, or stderr when stdout carries the JSON."""
    print(text, file=sys.stderr if getattr(args, "json", None) == "-" else sys.stdout)


def _write_json(args: argparse.Namespace, payload: dict[str, Any]) -> None:
    if not getattr(args, "json", None):
        return
    text = json.dumps(payload, indent=2, default=_json_number)
    if args.json == "-":
        print(text)
        return
    _interrupt.hold()
    with atomic_output(args.json) as partial, open(partial, "w") as handle:
        handle.write(text + "\n")


def _json_number(value: Any) -> Any:
    if isinstance(value, (np.generic, np.ndarray, jax.Array)):
        return np.asarray(value).tolist()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def _check_json(args: argparse.Namespace) -> None:
    if getattr(args, "json", None):
        check_output_path("--json", args.json, (".json", "-"))


def _hint(result: jl.SweepResult, args: argparse.Namespace, learning_rate: Any,
          suggested: Any, caveat: str | None = None) -> str | None:
    """One line when a map is almost all one failure: why, where theory says no setting helps
    (``caveat``, `jaxopt_lab.surfaces.map_caveat`), else a range of learning rates to try."""
    status = np.asarray(result.status)
    for kind, advice in ((jl.Status.DIVERGED, "smaller"), (jl.Status.UNFINISHED, "larger")):
        share = float(np.mean(status == kind))
        if share < jl.surfaces.UNINFORMATIVE_SHARE:
            continue
        if caveat:
            return f"hint: {share:.0%} of starts {kind.name.lower()}: {caveat}"
        if not isinstance(learning_rate, (int, float)):
            continue
        low, high = ((learning_rate / 100, learning_rate / 3) if advice == "smaller"
                     else (learning_rate * 3, learning_rate * 100))
        more = " or more --steps" if kind == jl.Status.UNFINISHED else ""
        default = (f"; this surface's rule gives {suggested:.3g}"
                   if isinstance(suggested, float) and suggested != learning_rate else "")
        return (f"hint: {share:.0%} of starts {kind.name.lower()}: try --param learning_rate in "
                f"[{low:.3g}, {high:.3g}]{more}{default}")
    return None


def _caveat(surface: jl.Surface, optimizer: str) -> str | None:
    caveat = jl.surfaces.map_caveat(surface, optimizer)
    return f"{surface.name}: {caveat}" if caveat else None


def command_map(args: argparse.Namespace) -> int:
    surface = _surface(args)
    check_output_path("-o/--output", args.output, (".png", ".svg"))
    _check_json(args)
    defaults, num_steps, xtol = _settings(args.optimizer, surface, args.steps)
    optimizer, hyperparams = build_optimizer(args.optimizer, parse_params(args.param), defaults)
    starts = jl.starts.grid(surface, args.resolution)
    name = readable_name(args.optimizer, hyperparams)
    # "label" and "settings": the engine's own "optimizer" and "hyperparams" entries stay its.
    metadata = {"command": "map", "label": name, "optimizer_name": args.optimizer,
                "settings": hyperparams,
                "grid": {"shape": list(starts.shape), "extent": list(starts.extent)}}
    result = _sweep(args, optimizer, surface, starts, num_steps, "map", xtol=xtol,
                    metadata=metadata, checkpoint=args.checkpoint)
    if not _distributed.is_first_process():  # --distributed: only process 0 has the result
        return 0
    result_path = os.path.splitext(args.output)[0] + ".npz"
    # The picture is renamed into place only once the result is saved too: Ctrl-C leaves no
    # truncated map.png, and no picture without its result.
    with atomic_output(args.output) as partial_image:
        figure = _draw_saved(result, args.colour)
        figure.savefig(partial_image, dpi=args.dpi, format=os.path.splitext(args.output)[1][1:])
        _interrupt.hold()
        result.save(result_path)
    counts = result.summary_dict()["status"]
    _human(args, f"wrote {args.output} and {result_path}: "
           + ", ".join(f"{k} {v}" for k, v in counts.items())
           + f" ({_engine(result.metadata['backend'], result.metadata['batches'])})")
    hint = _hint(result, args, hyperparams.get("learning_rate"), defaults.get("learning_rate"),
                 _caveat(surface, args.optimizer))
    if hint:
        _human(args, hint)
    _write_json(args, {"image": args.output, "result": result_path,
                       "summary": result.summary_dict(), "metadata": result.metadata})
    return 0


def _draw_saved(result: jl.SweepResult, colour: str):
    """The figure of a result that remembers its grid: a convergence or hyperparameter map."""
    plotting = _plotting()
    metadata = result.metadata
    surface_name = metadata.get("surface", {}).get("name")
    surface = jl.surfaces.get(surface_name) if surface_name in jl.surfaces.names() else None
    counts = result.summary_dict()["status"]
    share = {name: count / max(sum(counts.values()), 1) for name, count in counts.items()}
    label = metadata.get("label", metadata.get("optimizer", "sweep"))  # older files: optimizer
    title = (f"{label}\non {surface_name}, "
             f"{metadata.get('num_steps')} steps: {share['converged']:.0%} converged, "
             f"{share['diverged']:.0%} diverged")
    if "hyperparam_axes" in metadata:
        axes = list(metadata["hyperparam_axes"])
        return plotting.hyperparameter_map(
            result, x=axes[0], y=axes[1], quantity=colour if colour in QUANTITIES else "converged",
            curvature=metadata.get("curvature"), boundary=metadata.get("boundary"), title=title)
    if "grid" not in metadata:
        raise UsageError("argument RESULT: the file holds no grid (shape, extent) to draw; "
                         "it was not written by `jaxopt-lab map` or `grid`")
    grid = metadata["grid"]
    starts = jl.starts.Grid(points=None, shape=tuple(grid["shape"]), extent=tuple(grid["extent"]),
                            axes=())
    return plotting.convergence_map(result, starts, surface, colour=colour,
                                    num_steps=metadata.get("num_steps"), title=title)


def _plotting():
    import matplotlib

    matplotlib.use("Agg")
    from jaxopt_lab import plotting

    return plotting


def command_plot(args: argparse.Namespace) -> int:
    check_output_path("-o/--output", args.output, (".png", ".svg", ".pdf"))
    _check_json(args)
    if not os.path.isfile(args.result):
        raise UsageError(f"argument RESULT: no file {args.result!r}")
    with _as_usage_errors("RESULT"):
        try:
            result = jl.SweepResult.load(args.result)
        except (OSError, EOFError) as error:
            raise ValueError(f"{args.result!r} is not a SweepResult .npz file ({error})") from None
    is_grid = "hyperparam_axes" in result.metadata
    allowed = QUANTITIES if is_grid else COLOURINGS
    colour = args.colour or allowed[0]
    if colour not in allowed:
        raise UsageError(f"argument --colour: a {'grid' if is_grid else 'map'} result is drawn "
                         f"by one of {', '.join(allowed)}, got {colour!r}")
    with atomic_output(args.output) as partial:
        _draw_saved(result, colour).savefig(partial, dpi=args.dpi,
                                            format=os.path.splitext(args.output)[1][1:])
        _interrupt.hold()
    _human(args, f"wrote {args.output} from {args.result}")
    _write_json(args, {"image": args.output, "result": args.result,
                       "summary": result.summary_dict(), "metadata": result.metadata})
    return 0


def _grid_axes(pairs: Sequence[str]) -> tuple[list[Axis], dict[str, Any]]:
    axes, fixed = [], {}
    for pair in pairs:
        axis = parse_axis(pair)
        if axis is None:
            fixed.update(parse_params([pair]))
        else:
            axes.append(axis)
    if len(axes) != 2 or axes[0].name == axes[1].name:
        raise UsageError(f"argument --param: grid needs two ranges of different settings "
                         f"({RANGE_HELP}), got {len(axes)}")
    return axes, fixed


def _boundary(name: str, axes: list[Axis]) -> str | None:
    """The closed-form stability boundary `jl.theory` has for this pair of settings, if any."""
    if name in ("momentum", "nesterov") and {a.name for a in axes} == {"learning_rate",
                                                                        "momentum"}:
        return "heavy_ball" if name == "momentum" else "nesterov"
    return None


def command_grid(args: argparse.Namespace) -> int:
    surface = _surface(args, dims=tuple(range(1, 1000)))
    check_output_path("-o/--output", args.output, (".png", ".svg"))
    _check_json(args)
    axes, fixed = _grid_axes(args.param)
    factory = OPTIMIZERS[args.optimizer][0]
    defaults, num_steps, xtol = _settings(args.optimizer, surface, args.steps)
    _check_param_names(args.optimizer, factory, {**fixed, **{a.name: 0 for a in axes}})
    fixed = {key: value for key, value in {**defaults, **fixed}.items()
             if key not in {a.name for a in axes}}
    check_param_kinds(factory, fixed)
    mesh_x, mesh_y = np.meshgrid(axes[0].values(), axes[1].values())
    hyperparams = {axes[0].name: mesh_x.ravel(), axes[1].name: mesh_y.ravel()}
    starts = jl.starts.uniform(jax.random.PRNGKey(args.seed), surface, args.starts)
    boundary = _boundary(args.optimizer, axes)
    curvature = jl.surfaces.stiffest_curvature(surface)
    name = readable_name(args.optimizer, {**{a.name: f"{a.start:g}…{a.stop:g}" for a in axes},
                                          **fixed}).replace("'", "")
    metadata = {"command": "grid", "label": name, "optimizer_name": args.optimizer,
                "fixed_hyperparams": fixed, "seed": args.seed,
                "hyperparam_axes": {axis.name: axis.as_json() for axis in axes},
                "boundary": boundary, "curvature": curvature}
    result = _sweep(args, functools.partial(factory, **fixed), surface, starts, num_steps,
                    "grid", hyperparams=hyperparams, xtol=xtol, metadata=metadata)
    result_path = os.path.splitext(args.output)[0] + ".npz"
    with atomic_output(args.output) as partial:
        _draw_saved(result, args.quantity).savefig(
            partial, dpi=args.dpi, format=os.path.splitext(args.output)[1][1:])
        _interrupt.hold()
        result.save(result_path)
    summary = result.summary_dict()
    _human(args, f"wrote {args.output} and {result_path}: {axes[0].num} x {axes[1].num} "
           f"settings x {args.starts} starts, " + ", ".join(
               f"{k} {v}" for k, v in summary["status"].items()))
    _write_json(args, {"image": args.output, "result": result_path, "summary": summary,
                       "metadata": result.metadata})
    return 0


def command_race(args: argparse.Namespace) -> int:
    surface = _surface(args)
    check_output_path("-o/--output", args.output, (".png",) + ANIMATION_SUFFIXES)
    _check_json(args)
    names = [name.strip() for name in args.optimizers.split(",") if name.strip()]
    unknown = [name for name in names if name not in OPTIMIZERS]
    if not names or unknown or len(set(names)) != len(names):
        raise UsageError(f"argument --optimizers: expected distinct names from "
                         f"{', '.join(OPTIMIZERS)}, comma-separated, got {args.optimizers!r}")
    start = parse_point("--start", args.start, surface.dim, surface.bounds)
    suffix = os.path.splitext(args.output)[1].lower()
    plotting = _plotting()
    if suffix == ".mp4" and not plotting.can_write_mp4():
        raise UsageError("argument -o/--output: .mp4 needs ffmpeg, which is not installed; "
                         "use .gif")
    paths, labels, runs = [], [], []
    for name in names:
        defaults, num_steps, xtol = _settings(name, surface, args.steps)
        optimizer, hyperparams = build_optimizer(name, {}, defaults)
        result = _sweep(args, optimizer, surface, np.asarray([start]), num_steps, name,
                        xtol=xtol, trajectories=[0])
        paths.append(np.asarray(result.trajectories)[0])
        labels.append(readable_name(name, hyperparams))
        runs.append({"optimizer": labels[-1], "num_steps": num_steps,
                     "status": jl.Status(int(np.asarray(result.status)[0])).name.lower(),
                     "steps": int(np.asarray(result.steps)[0]),
                     "final_point": np.asarray(result.params)[0].tolist(),
                     "final_loss": float(np.asarray(result.loss)[0])})
    title = f"from ({args.start}) on {surface.name}"
    still = os.path.splitext(args.output)[0] + ".png"
    written = [still] if suffix == ".png" else [args.output, still]
    with contextlib.ExitStack() as stack:
        partial_still = stack.enter_context(atomic_output(still))
        plotting.trajectories(surface, paths, labels=labels, title=title).savefig(
            partial_still, dpi=args.dpi, format="png")
        if suffix != ".png":
            with alive("race: drawing the animation"):
                partial = stack.enter_context(atomic_output(args.output, suffix=suffix))
                plotting.animate_trajectories(surface, paths, labels=labels, title=title,
                                              path=partial, dpi=args.dpi)
        _interrupt.hold()
    _human(args, f"wrote {' and '.join(written)}: " + "; ".join(
        f"{run['optimizer']} {run['status']}" for run in runs))
    _write_json(args, {"images": written, "surface": surface.name, "start": list(start),
                       "runs": runs})
    return 0


def _engine(backend: str, batches: int) -> str:
    """How a sweep ran, for a report.

    >>> _engine("scan", 8), _engine("fused", 1)
    ('scan backend, 8 blocks side by side', 'fused backend')
    """
    return f"{backend} backend" + (f", {batches} blocks side by side" if batches > 1 else "")


def command_bench(args: argparse.Namespace) -> int:
    surface = jl.surfaces.get(args.surface)
    _check_json(args)
    optimizer, hyperparams = build_optimizer(args.optimizer, parse_params(args.param))
    try:
        report = benchmark(
            optimizer, surface, num_points=args.points, num_steps=args.steps,
            repeats=args.repeats, backend=args.backend, seed=args.seed, batches=args.batches,
        )
    except jl.engine.NotElementwise as error:
        raise UsageError(f"argument --backend: {error}") from None
    except jl.engine.EngineOptionError as error:
        raise UsageError(f"argument --{error.option}: {error}") from None
    report = {"optimizer": args.optimizer, "hyperparams": hyperparams, **report}
    _human(
        args,
        f"{args.optimizer} on {surface.name}: P={args.points} T={args.steps} on {report['device']}\n"
        f"  compile {report['compile_seconds']:.2f} s; steady {report['median_seconds']:.4f} s "
        f"(spread {report['min_seconds']:.4f}-{report['max_seconds']:.4f} s over {args.repeats})\n"
        f"  jl.sweep  {report['point_steps_per_second']:.3e} point-steps/s "
        f"({_engine(report['backend_used'], report['batches'])}: {report['backend_reason']})\n"
        f"  baseline  {report['baseline_point_steps_per_second']:.3e} point-steps/s "
        f"(hand-written jit(vmap(scan)))\n"
        f"  ratio     {report['ratio']:.2f}"
    )
    _write_json(args, report)
    return 0


def _describe_surface(surface: jl.surfaces.Surface) -> str:
    """The line `list` shows: a quadratic's spectrum and critical point (their docstrings all
    read alike), any other surface's first docstring line."""
    quadratic = surface.fn
    if not isinstance(quadratic, jl.surfaces.Quadratic):
        return _plain_text.description(quadratic)
    eigenvalues = quadratic.eigenvalues
    formula = "½ wᵀAw" if not any(quadratic.b) and quadratic.c == 0 else "½ wᵀAw + bᵀw + c"
    if len(eigenvalues) <= 4:
        spectrum = "eigenvalues " + ", ".join(f"{value:.4g}" for value in eigenvalues)
    else:
        low, high = eigenvalues[0], eigenvalues[-1]
        spectrum = f"{len(eigenvalues)} eigenvalues in [{low:.3g}, {high:.3g}]"
    if eigenvalues[0] > 0:
        spectrum += f" (condition number {eigenvalues[-1] / eigenvalues[0]:.3g})"
    kind, points = ("minimum", surface.minima) if surface.minima else ("saddle", surface.saddles)
    if not points:
        return f"quadratic {formula}, {spectrum}"
    point = points[0]
    where = ("at the origin" if not any(point) else
             "at (" + ", ".join(f"{x:.4g}" for x in point) + ")")
    return f"quadratic {formula}, {spectrum}; {kind} {where}"


def _listing() -> dict[str, Any]:
    """Everything `list` shows, as data: names, whole plain-text descriptions, defaults."""
    optimizers = {name: {"description": _plain_text.description(factory),
                         "defaults": defaults}
                  for name, (factory, defaults) in OPTIMIZERS.items()}
    surfaces = {}
    for name in jl.surfaces.names():
        surface = jl.surfaces.get(name)
        surfaces[name] = {"dim": surface.dim, "description": _plain_text.plain(
            _describe_surface(surface)), "bounds": [list(b) for b in surface.bounds],
            "minima": len(surface.minima)}
    schedules = {name: {"description": _plain_text.description(getattr(jl.schedules, name))}
                 for name in SCHEDULES}
    return {"optimizers": optimizers, "surfaces": surfaces, "schedules": schedules}


def command_list(args: argparse.Namespace) -> int:
    _check_json(args)
    listing = _listing()
    if args.json != "-":
        lines = ["optimizers:"]
        for name, entry in listing["optimizers"].items():
            shown = ", ".join(f"{k}={v}" for k, v in entry["defaults"].items())
            lines.append(f"  {name:<20} {entry['description']}  [{shown}]")
        lines.append("surfaces:")
        for name, entry in listing["surfaces"].items():
            minima = f", {entry['minima']} minima" if entry["minima"] > 1 else ""
            lines.append(f"  {name:<20} {entry['dim']}-D{minima}  {entry['description']}")
        lines.append("schedules:")
        for name, entry in listing["schedules"].items():
            lines.append(f"  {name:<20} {entry['description']}")
        print("\n".join(lines))
    _write_json(args, listing)
    return 0


def command_serve(args: argparse.Namespace) -> int:
    """Serve the interactive explorer (a web page that recomputes maps live) until Ctrl-C."""
    try:
        from jaxopt_lab import explorer
    except ImportError as error:
        raise UsageError(f"jaxopt-lab serve needs the explorer extra: pip install "
                         f"'jaxopt_lab[explorer]' ({error})") from None
    if args.compilation_cache:
        explorer.use_compilation_cache()
    try:
        explorer.serve(args.host, args.port, open_browser=args.open,
                       limits=explorer.Limits(args.max_points, args.max_steps))
    except OSError as error:
        raise UsageError(f"argument --port: cannot listen on {args.host}:{args.port} ({error})")
    except KeyboardInterrupt:  # Ctrl-C is how a server is meant to stop: no error
        print("jaxopt-lab serve: stopped", file=sys.stderr)
    return 0


def _add_serve(commands) -> None:
    serve = commands.add_parser(
        "serve", help="a local web page that recomputes convergence maps as you move sliders",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  jaxopt-lab serve --port 8000 --open")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1: this machine only; the "
                            "page has no login)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any free)")
    serve.add_argument("--open", action="store_true", help="open the page in a browser")
    serve.add_argument("--max-points", type=int_at_least("--max-points", 1), default=512 * 512,
                       help="most starts (× hyperparameter settings) one request may ask for")
    serve.add_argument("--max-steps", type=int_at_least("--max-steps", 1), default=5000,
                       help="most optimizer steps per start one request may ask for")
    serve.add_argument("--no-compilation-cache", dest="compilation_cache", action="store_false",
                       help="do not keep compiled sweeps in jax's on-disk cache "
                            "(~/.cache/jaxopt_lab/jax), so each start compiles afresh")
    serve.set_defaults(run=command_serve)


def _add_optimizer_arguments(sub: argparse.ArgumentParser, param_help: str) -> None:
    sub.add_argument("--optimizer", required=True, choices=list(OPTIMIZERS), metavar="NAME",
                     help="one of " + ", ".join(OPTIMIZERS))
    sub.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help=param_help)


def _add_sweep_arguments(sub: argparse.ArgumentParser) -> None:
    """What every sweeping subcommand shares: the surface, engine, picture and liveness flags."""
    sub.add_argument("--surface", required=True, metavar="NAME",
                     help="a surface name from `jaxopt-lab list`")
    sub.add_argument("--backend", choices=BACKENDS, default="auto",
                     help="the sweep's engine: auto (fused kernel on a GPU where it compiles, "
                          "else scan), scan, or fused (interpreted, slow, off a GPU)")
    sub.add_argument("--steps", type=int_at_least("--steps", 1), default=None,
                     help="optimizer steps per start (default: the surface's rule, "
                          "see jaxopt_lab.surfaces.map_settings)")
    sub.add_argument("--dpi", type=int_at_least("--dpi", 1), default=120)
    sub.add_argument("--no-progress", dest="progress", action="store_false", default=None,
                     help="no spinner or progress bar (they are shown only on a terminal anyway)")
    sub.add_argument("--no-compile-cache", dest="compile_cache", action="store_false",
                     default=True, help=f"do not keep compiled sweeps in {_cache_directory()} "
                                        "(a second identical run then compiles again)")


def _add_json_argument(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--json", metavar="PATH|-", default=None,
                     help="also write what was done as JSON to PATH (.json), or to stdout with - "
                          "(the report for a person then goes to stderr)")


def _example(text: str) -> dict[str, Any]:
    return {"formatter_class": argparse.RawDescriptionHelpFormatter,
            "epilog": "example:\n  " + text}


def make_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="jaxopt-lab", description=__doc__,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"jaxopt-lab {jl.__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    param_help = "a hyperparameter of the optimizer (repeatable), e.g. learning_rate=0.1"

    map_parser = commands.add_parser(
        "map", help="sweep a grid of starts and draw where the optimizer converges",
        **_example("jaxopt-lab map --optimizer momentum --param learning_rate=0.01 "
                   "--surface himmelblau --resolution 256 --steps 500 -o map.png"))
    bench_parser = commands.add_parser(
        "bench", help="time jl.sweep against a hand-written jit(vmap(scan)) loop",
        **_example("jaxopt-lab bench --optimizer adam --surface rosenbrock --points 65536 "
                   "--steps 1000 --repeats 3 --json bench.json"))
    for sub in (map_parser, bench_parser):
        _add_optimizer_arguments(sub, param_help)
        _add_json_argument(sub)
    _add_sweep_arguments(map_parser)
    map_parser.add_argument("--resolution", type=int_at_least("--resolution", 2), default=256,
                            help="grid points per axis, >= 2 (default 256)")
    map_parser.add_argument("--colour", choices=COLOURINGS, default="basin",
                            help="colour cells by basin reached, status, or steps to converge")
    map_parser.add_argument("-o", "--output", required=True, metavar="PATH",
                            help="the picture (.png or .svg); the result goes beside it as .npz")
    map_parser.add_argument("--checkpoint", metavar="DIR", default=None,
                            help="save each finished chunk of the sweep in DIR; the same command "
                                 "run again (after Ctrl-C, a crash) resumes from them")
    map_parser.add_argument("--chunk-size", type=int_at_least("--chunk-size", 1), default=None,
                            help="starts per chunk (default: as many as fit the memory budget); "
                                 "smaller chunks lose less work to an interruption")
    map_parser.add_argument(
        "--distributed", action="store_true",
        help="one of several processes (jax.distributed): each sweeps its share of the starts; "
             "process 0 prints and writes the outputs. Coordinator, process count and id come "
             "from SLURM, a TPU pod or Open MPI, else from JAX_COORDINATOR_ADDRESS, "
             "JAX_NUM_PROCESSES and JAX_PROCESS_ID")
    map_parser.set_defaults(run=command_map)

    bench_parser.add_argument("--surface", required=True, metavar="NAME",
                              help="a surface name from `jaxopt-lab list`")
    bench_parser.add_argument("--backend", choices=BACKENDS, default="auto",
                              help="the sweep's engine: auto, scan or fused (see map --help)")
    bench_parser.add_argument("--points", type=int_at_least("--points", 1), default=65536)
    bench_parser.add_argument("--steps", type=int_at_least("--steps", 1), default=1000)
    bench_parser.add_argument("--repeats", type=int_at_least("--repeats", 1), default=3)
    bench_parser.add_argument("--seed", type=int, default=0)
    bench_parser.add_argument("--batches", type=int_at_least("--batches", 1), default=None,
                              help="run this many of a chunk's blocks side by side (CPU threads; "
                                   "default: one per core; changes no result)")
    bench_parser.set_defaults(run=command_bench)

    grid_parser = commands.add_parser(
        "grid", help="sweep two hyperparameters and draw where the optimizer works",
        **_example("jaxopt-lab grid --optimizer adam --surface rastrigin "
                   "--param learning_rate=1e-4:1:log64 --param b1=0:0.99:64 -o grid.png"))
    _add_optimizer_arguments(grid_parser, f"two ranges {RANGE_HELP}; other KEY=VALUE are fixed")
    _add_sweep_arguments(grid_parser)
    grid_parser.add_argument("--starts", type=int_at_least("--starts", 1), default=16,
                             help="random starting points per setting (default 16)")
    grid_parser.add_argument("--seed", type=int, default=0, help="of the random starts")
    grid_parser.add_argument("--quantity", choices=QUANTITIES, default="converged",
                             help="share of starts converged, median steps, or median final "
                                  "loss above the minimum")
    grid_parser.add_argument("-o", "--output", required=True, metavar="PATH",
                             help="the picture (.png or .svg); the result goes beside it as .npz")
    _add_json_argument(grid_parser)
    grid_parser.set_defaults(run=command_grid)

    race_parser = commands.add_parser(
        "race", help="run several optimizers from one start and animate their paths",
        **_example("jaxopt-lab race --optimizers sgd,momentum,adam --surface beale "
                   "--start -1,1 -o race.gif"))
    race_parser.add_argument("--optimizers", required=True, metavar="A,B,...",
                             help="comma-separated names from: " + ", ".join(OPTIMIZERS))
    race_parser.add_argument("--start", required=True, metavar="X,Y",
                             help="the common starting point, inside the surface's box")
    _add_sweep_arguments(race_parser)
    race_parser.add_argument("-o", "--output", required=True, metavar="PATH",
                             help="the animation (.gif, or .mp4 where ffmpeg exists; a .png "
                                  "still is written beside it) or only the still (.png)")
    _add_json_argument(race_parser)
    race_parser.set_defaults(run=command_race)

    plot_parser = commands.add_parser(
        "plot", help="redraw a result saved by map or grid",
        **_example("jaxopt-lab plot map.npz --colour steps -o map-steps.png"))
    plot_parser.add_argument("result", metavar="RESULT", help="a .npz written by map or grid")
    plot_parser.add_argument("--colour", default=None, metavar="NAME",
                             help=f"a map: {', '.join(COLOURINGS)}; a grid: "
                                  f"{', '.join(QUANTITIES)} (default the first)")
    plot_parser.add_argument("--dpi", type=int_at_least("--dpi", 1), default=120)
    plot_parser.add_argument("-o", "--output", required=True, metavar="PATH",
                             help="the picture (.png, .svg or .pdf)")
    _add_json_argument(plot_parser)
    plot_parser.set_defaults(run=command_plot)

    list_parser = commands.add_parser("list", help="the optimizers, surfaces and schedules",
                                      **_example("jaxopt-lab list --json -"))
    _add_json_argument(list_parser)
    list_parser.set_defaults(run=command_list)
    _add_serve(commands)
    return parser


def _cache_directory() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "jaxopt_lab", "jax")


def _use_compile_cache(args: argparse.Namespace) -> None:
    """JAX's persistent compilation cache: a second identical run loads instead of compiling."""
    if not getattr(args, "compile_cache", False):
        return
    jax.config.update("jax_compilation_cache_dir", _cache_directory())
    # A sweep compiles in about a second: cache every program, not only slower ones.
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)


@contextlib.contextmanager
def _native_stdout_to_stderr() -> Iterator[None]:
    """File descriptor 1 on stderr, ``sys.stdout`` still on the real stdout, for the block.

    Under ``--distributed`` gloo's C++ announces each connection on fd 1 ("[Gloo] Rank 0 is
    connected to ..."), which would break ``--json -``: what JAX's native code prints goes to
    stderr, what this command prints to stdout.
    """
    try:
        sys.stdout.flush()
        stdout, stderr = sys.stdout.fileno(), sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # captured, no file descriptor: leave it be
        stdout = stderr = None
    if stdout is None:
        yield
        return
    previous, real_stdout = sys.stdout, os.dup(stdout)
    os.dup2(stderr, stdout)
    try:
        with open(real_stdout, "w", encoding=previous.encoding, errors=previous.errors,
                  buffering=1 if previous.line_buffering else -1, closefd=False) as kept:
            sys.stdout = kept
            yield
    finally:
        sys.stdout = previous
        _flush_native_stdout()  # before fd 1 is the real stdout again
        os.dup2(real_stdout, stdout)
        os.close(real_stdout)


def _flush_native_stdout() -> None:
    """Write out what C's stdio holds for stdout (piped, it is fully buffered)."""
    try:
        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):  # no C library to ask (Windows): nothing gloo buffered
        pass


def _join_processes() -> None:
    """``--distributed``: join the other processes, or say what is missing to find them."""
    try:
        _distributed.initialize()
    except (ValueError, TypeError) as error:
        raise UsageError(
            f"argument --distributed: {error}; run under SLURM, Open MPI or on a TPU pod, or set "
            "JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES and JAX_PROCESS_ID") from None


#: Flags whose value may start with a minus sign, as a point's first coordinate does.
POINT_FLAGS = ("--start",)


def _attach_point_values(argv: Sequence[str]) -> list[str]:
    """``--start -1,1`` → ``--start=-1,1``: argparse would read ``-1,1`` as an unknown flag.

    >>> _attach_point_values(["race", "--start", "-1,1", "-o", "r.gif"])
    ['race', '--start=-1,1', '-o', 'r.gif']
    """
    words, joined = list(argv), []
    while words:
        word = words.pop(0)
        if word in POINT_FLAGS and words and words[0].startswith("-") and words[0][1:2] in \
                tuple("0123456789."):
            word = f"{word}={words.pop(0)}"
        joined.append(word)
    return joined


def _interrupted_message(args: argparse.Namespace | None) -> str:
    command = f" {args.command}" if getattr(args, "command", None) else ""
    message = f"jaxopt-lab{command}: interrupted; no partial output was kept"
    checkpoint = getattr(args, "checkpoint", None)
    if checkpoint:
        message += (f"; {finished_chunks(checkpoint)} finished chunks are kept in {checkpoint}: "
                    "run the same command with the same --checkpoint again to resume")
    return message


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    parser = make_parser()
    args = None
    previous_handler = _interrupt.install()
    try:
        _interrupt.stop_if_requested()  # pressed while the command was starting
        args = parser.parse_args(_attach_point_values(sys.argv[1:] if argv is None else argv))
        if hasattr(args, "surface") and args.surface not in jl.surfaces.names():
            raise UsageError(
                f"jaxopt-lab {args.command}: error: argument --surface: unknown surface "
                f"{args.surface!r}; known: {', '.join(jl.surfaces.names())}"
            )
        distributed = getattr(args, "distributed", False)
        with _native_stdout_to_stderr() if distributed else contextlib.nullcontext():
            if distributed:  # before any JAX work
                _join_processes()
            _use_compile_cache(args)
            code = args.run(args)
        if _interrupt.requested():  # pressed while the outputs were being put in place
            _interrupt.exit_now(f"jaxopt-lab {args.command}: interrupted once its outputs were "
                                "complete; they were kept")
        return _interrupt.finish(code)
    except SystemExit as done:  # --help and --version
        return int(done.code or 0)
    except UsageError as error:
        message = str(error)
        if not message.startswith("jaxopt-lab"):
            message = f"jaxopt-lab {getattr(args, 'command', '')}: error: {message}"
        print(message, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # Out through os._exit: a normal shutdown with XLA's threads mid-computation can crash.
        _interrupt.exit_now(_interrupted_message(args))
    except BrokenPipeError:
        # `jaxopt-lab list | head` closed the pipe: stop quietly, as other command-line tools do
        # (Python docs' recipe: point stdout at devnull so the exit-time flush cannot fail again).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception:
        if _interrupt.requested():  # Ctrl-C that surfaced inside a library as another error
            _interrupt.exit_now(_interrupted_message(args))
        raise
    finally:
        _interrupt.uninstall(previous_handler)  # main() may run inside another program's process


if __name__ == "__main__":
    sys.exit(main())
