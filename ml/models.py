"""Model loading, cached once per process (the engine is built here, so no task pays for it)."""
from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

from ml import hardware, pdq
from ml.config import ModelsConfig
from ml.effnet import build_effnet, fuse_batchnorm
from ml.engines import build_forwards, resolve_engine
from ml.image_embedder import ImageEmbedder
from ml.paths import minilm_dir
from ml.text_embedder import TextEmbedder


@dataclass
class LoadedModels:
    image: ImageEmbedder
    text: TextEmbedder
    config: ModelsConfig
    engine: str = "eager"  # the engine actually in use (an unavailable one falls back to eager)
    # Where the engine runs the networks: "cuda" or "cpu". The embedders' own models (``image.model``,
    # ``text.model``) stay fp32 on the CPU either way; ``ml.engines.eager_image(model, device)`` runs a copy there.
    device: str = "cpu"

    @property
    def version(self) -> str:
        return models_version(self.config)


def models_version(config: ModelsConfig) -> str:
    """Identifies the embedding space and hash method: banks built with another version must be rebuilt.

    Depends on the configuration only, so a process without the models (the web health check) can compute it.
    The engine is not part of it: every engine must stay within cosine 0.995 of fp32 (tests check it).
    """
    return "effl0-minilm-" + hashlib.sha1(repr((config.image, pdq.PDQ_VERSION)).encode()).hexdigest()[:8]


@functools.lru_cache(maxsize=4)
def load_models(config: ModelsConfig | None = None) -> LoadedModels:

    config = config or ModelsConfig()
    hardware.configure(config.threads, config.image_threads)
    net = build_effnet(config.effnet_weights)
    image = ImageEmbedder(fuse_batchnorm(net) if config.fuse_batchnorm else net, config.image)
    text = TextEmbedder(config.text_model_dir or minilm_dir(), config.text)
    engine, image.forward, text.forward = build_forwards(
        resolve_engine(config.engine, config.bf16), image.model, text.model, input_size=config.image.input_size,
        batch=config.image.batch_size, threads=config.threads, extra_sizes=(config.tile_pass_size,),
        bf16=config.bf16, cache_dir=config.engine_cache)
    return LoadedModels(image=image, text=text, config=config, engine=engine,
                        device="cuda" if engine == "cuda" else "cpu")
