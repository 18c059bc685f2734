"""onnxruntime sessions configured for the machine they run on."""

from __future__ import annotations

import os
from pathlib import Path

import onnxruntime as ort

# In order of preference; the first one this onnxruntime build offers wins, CPU always last.
PREFERRED_PROVIDERS = ("CUDAExecutionProvider", "CoreMLExecutionProvider", "CPUExecutionProvider")


def available_providers() -> list[str]:
    offered = set(ort.get_available_providers())
    return [p for p in PREFERRED_PROVIDERS if p in offered] or ["CPUExecutionProvider"]


def session_options(threads: int = 0) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads or (os.cpu_count() or 1)
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # warnings about unused initializers are noise to users
    # decode threads share the cores: idle ORT workers must sleep, not spin, or they steal those cores
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def make_session(model: Path | bytes, threads: int = 0) -> ort.InferenceSession:
    source = str(model) if isinstance(model, Path) else model
    return ort.InferenceSession(source, sess_options=session_options(threads), providers=available_providers())
