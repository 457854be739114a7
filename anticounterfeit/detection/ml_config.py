"""The ml package's configuration from the settings: ml reads no environment, so the Django side builds its
config objects here, in one place, and every process (worker, web health check) gets the same ones."""
from __future__ import annotations

from django.conf import settings

from ml.config import BankConfig, DetectorConfig, LogoVerifyConfig, ModelsConfig, OcrConfig


def models_config() -> ModelsConfig:
    """Equal values give an equal config, so ``ml.models.load_models`` loads the models once per process."""
    return ModelsConfig(engine=settings.AC_ENGINE, bf16=settings.AC_BF16, engine_cache=settings.AC_ENGINE_CACHE or None,
                        torch_threads=settings.TORCH_THREADS, image_threads=settings.AC_IMAGE_THREADS)


def detector_config() -> DetectorConfig:
    return DetectorConfig(limits=settings.IMAGE_LIMITS, ocr_max_images=settings.AC_OCR_MAX_IMAGES,
                          ocr=OcrConfig(int8_detector=settings.AC_OCR_INT8, cache_dir=settings.AC_ENGINE_CACHE or None),
                          logo=LogoVerifyConfig(enabled=settings.AC_LOGO_VERIFY))


def bank_config() -> BankConfig:
    return BankConfig(hnsw_above=settings.AC_HNSW_ABOVE, ef_search=settings.AC_HNSW_EF_SEARCH,
                      ivf_above=settings.AC_IVF_ABOVE, ivf_nprobe=settings.AC_IVF_NPROBE)
