"""The command-line options every tool that loads the models shares: engine, bf16 policy, export cache, threads.

They are the tools' counterpart of the worker's settings (``AC_ENGINE``, ``AC_BF16``, ``AC_ENGINE_CACHE``,
``TORCH_THREADS``, ``AC_IMAGE_THREADS``): the library reads no environment, so a tool says it on its command line.
"""
from __future__ import annotations

import argparse

from ml.config import ModelsConfig
from ml.engines.policy import BF16_POLICIES, ENGINES


def add_model_options(parser: argparse.ArgumentParser, *, threads: bool = True) -> None:
    """The options on ``parser``; without ``threads`` the tool decides the intra-op threads itself."""
    defaults = ModelsConfig()
    group = parser.add_argument_group("models")
    group.add_argument("--engine", default=defaults.engine, choices=[*ENGINES, "auto"],
                       help="inference engine (default: %(default)s)")
    group.add_argument("--bf16", default=defaults.bf16, choices=BF16_POLICIES,
                       help="bf16 policy of the CPU engines (default: %(default)s)")
    group.add_argument("--engine-cache", default=defaults.engine_cache, metavar="DIR",
                       help="folder of the engines' ONNX exports (default: ~/.cache/anticounterfeit/engines)")
    if threads:
        group.add_argument("--torch-threads", type=int, default=defaults.torch_threads, metavar="N",
                           help="intra-op threads (default: 0 = every core)")
    group.add_argument("--image-threads", type=int, default=defaults.image_threads, metavar="N",
                       help="image decode threads (default: 0 = from the thread count, at most 4)")


def models_config(args: argparse.Namespace) -> ModelsConfig:
    """The ``ModelsConfig`` the options of ``add_model_options`` ask for."""
    return ModelsConfig(engine=args.engine, bf16=args.bf16, engine_cache=args.engine_cache,
                        torch_threads=getattr(args, "torch_threads", 0), image_threads=args.image_threads)
