#!/usr/bin/env bash
# Everything this project still needs from a GPU, in one call of the device tool:
#
#   run(command="bash benchmarks/gpu_session.sh", timeout_s=600)
#
# 1. benchmarks/fused_gpu.py: checks, then Adam / momentum / Rprop at P = 2^18, 2^20, 2^23
#    (its JSON is rewritten after every case, so a cut-short run keeps what it measured);
# 2. the fused backend's tests, on the GPU: compiled Triton kernels against the scan;
# 3. benchmarks/sweep_throughput.py at the same sizes: the scan engine's ratio on a GPU.
# Each step has its own time limit so that the three fit the device's 10 minutes per call.
# Logs and JSON go to $OUT (the device tool brings them back) or to benchmarks/results/.
# The device image has jax, optax, flax, chex, pytest and matplotlib; nothing is installed.
set -uo pipefail
export PYTHONPATH=".${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
out="${OUT:-benchmarks/results}"
mkdir -p "$out"
python3 -c "import jax, jaxlib, optax; print('jax', jax.__version__, 'optax', optax.__version__, jax.devices())" \
  2>&1 | tee "$out/gpu_environment.log"
timeout 270 python3 benchmarks/fused_gpu.py --out "$out/fused_gpu.json" 2>&1 | tee "$out/fused_gpu.log"
timeout 120 python3 -m pytest -q -p no:cacheprovider -o addopts="" tests/test_sweep_fused.py 2>&1 \
  | tail -40 | tee "$out/gpu_tests.log"
timeout 170 python3 benchmarks/sweep_throughput.py --points 262144 1048576 8388608 --repeats 5 \
  --output "$out/sweep_throughput_gpu.json" 2>&1 | tail -30 | tee "$out/sweep_throughput_gpu.log"
