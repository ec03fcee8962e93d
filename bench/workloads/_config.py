"""The size tables: every workload's settings at each size of the suite.

``full`` is the suite's specification (the sizes every target is stated for); ``small`` shrinks
what is slow on a 2-core CPU; ``tiny`` only proves that every code path runs (the smoke test).
"""

from __future__ import annotations

from typing import Any

__all__ = ["SIZES", "CONFIGS"]

SIZES: tuple[str, ...] = ("tiny", "small", "full")

CONFIGS: dict[str, dict[str, dict[str, Any]]] = {
    "full": {
        "matmul": {"n": 2048},
        "diagnostics": {"enabled": True},
        "mlp": {"inputs": 784, "hidden": 512, "classes": 10, "batch": 128, "batches_per_epoch": 50, "epochs": 2},
        "xor": {"steps": 2000, "compile_repeats": 3},
        "sweep": {"members": 256, "steps": 2000, "sharded_devices": 8},
        "roofline": {"width": 2048, "batch": 2048, "steps": 2, "max_repeats": 3},
        "perceptron": {"n": 20000, "d": 10, "max_epochs": 1000, "numpy_repeats": 3},
        "dispatch": {"inputs": 16, "hidden": 32, "classes": 4, "batch": 32, "calls": 300},
        "coldstart": {"impls": ("jaxnn", "reference"), "workloads": ("mlp", "xor"), "modes": ("off", "cold", "warm")},
        "time_to_result": {"hidden": (32, 32), "epochs": 100, "batch": 32, "seeds": (0, 1, 2, 3), "lrs": (1e-3, 3e-3),
                           "impls": ("jaxnn", "sklearn", "torch", "keras"), "min_accuracy": 0.95,
                           "cli_repeats": 3, "cli_modes": ("off", "cold", "warm"), "warm_loop": True},
        "grid_search": {"hidden": (64,), "epochs": 50, "folds": 5, "repeats": 3,
                        "grid": {"learning_rate_init": [1e-3, 3e-3, 1e-2], "alpha": [1e-4, 1e-3, 1e-2]}},
        "breakdown": {"hidden": (32, 32), "epochs": 100, "batch": 32, "seeds": (0, 1, 2, 3), "lrs": (1e-3, 3e-3),
                      "repeats": 3},
        "compile_effort": {"sizes": ("wine", "mlp"), "repeats": 3},
    },
    "small": {
        "matmul": {"n": 2048},
        "diagnostics": {"enabled": True},
        "mlp": {"inputs": 784, "hidden": 512, "classes": 10, "batch": 128, "batches_per_epoch": 20, "epochs": 1},
        "xor": {"steps": 2000, "compile_repeats": 3},
        "sweep": {"members": 256, "steps": 2000, "sharded_devices": 8},
        "roofline": {"width": 1024, "batch": 1024, "steps": 2, "max_repeats": 3},
        "perceptron": {"n": 5000, "d": 10, "max_epochs": 1000, "numpy_repeats": 2},
        "dispatch": {"inputs": 16, "hidden": 32, "classes": 4, "batch": 32, "calls": 200},
        "coldstart": {"impls": ("jaxnn", "reference"), "workloads": ("mlp", "xor"), "modes": ("off", "cold", "warm")},
        "time_to_result": {"hidden": (32, 32), "epochs": 100, "batch": 32, "seeds": (0, 1, 2, 3), "lrs": (1e-3, 3e-3),
                           "impls": ("jaxnn", "sklearn", "torch", "keras"), "min_accuracy": 0.95,
                           "cli_repeats": 3, "cli_modes": ("off", "cold", "warm"), "warm_loop": True},
        "grid_search": {"hidden": (64,), "epochs": 50, "folds": 5, "repeats": 1,
                        "grid": {"learning_rate_init": [1e-3, 3e-3, 1e-2], "alpha": [1e-4, 1e-3, 1e-2]}},
        "breakdown": {"hidden": (32, 32), "epochs": 100, "batch": 32, "seeds": (0, 1, 2, 3), "lrs": (1e-3, 3e-3),
                      "repeats": 3},
        "compile_effort": {"sizes": ("wine", "mlp"), "repeats": 3},
    },
    "tiny": {
        "matmul": {"n": 256},
        # Diagnostics that cost extra compiles (fit without its NaN guard, a profiled sweep)
        # are left out of the smoke test; the dispatch profile (no compile) stays.
        "diagnostics": {"enabled": False},
        "mlp": {"inputs": 784, "hidden": 16, "classes": 10, "batch": 8, "batches_per_epoch": 4, "epochs": 2},
        "xor": {"steps": 50, "compile_repeats": 1},
        "sweep": {"members": 12, "steps": 50, "sharded_devices": 8},
        "roofline": {"width": 64, "batch": 64, "steps": 2, "max_repeats": 2},
        "perceptron": {"n": 200, "d": 10, "max_epochs": 1000, "numpy_repeats": 1},
        "dispatch": {"inputs": 16, "hidden": 32, "classes": 4, "batch": 32, "calls": 10},
        "coldstart": {"impls": ("jaxnn",), "workloads": ("xor",), "modes": ("cold", "warm")},
        # Two seeds x two learning rates keep "runs 2-N" in the smoke test, at a tenth of the epochs;
        # PyTorch and Keras (seconds of importing each) only at the larger sizes.
        "time_to_result": {"hidden": (32, 32), "epochs": 10, "batch": 32, "seeds": (0, 1), "lrs": (1e-3, 3e-3),
                           "impls": ("jaxnn", "sklearn"), "min_accuracy": 0.8,
                           "cli_repeats": 1, "cli_modes": ("cold", "warm"), "warm_loop": False},
        "grid_search": {"hidden": (8,), "epochs": 3, "folds": 2, "repeats": 1,
                        "grid": {"learning_rate_init": [1e-3, 1e-2]}},
        "breakdown": {"hidden": (32, 32), "epochs": 10, "batch": 32, "seeds": (0, 1), "lrs": (1e-3, 3e-3),
                      "repeats": 1},
        "compile_effort": {"sizes": ("wine",), "repeats": 1},
    },
}
