"""Scoring: the calibrated, explained scorer and everything that trains and judges it.

- :mod:`attrib.score.scorer` — :class:`OriginScorer` (estimator) and the model files;
- :mod:`attrib.score.evaluate` — ranking metrics beside the baselines;
- :mod:`attrib.score.card` — the model card;
- :mod:`attrib.score.training` — labelled origins from simulated scenarios.

The private ``_model``, ``_io``, ``_explain`` and ``_context`` modules hold the additive model,
its file format, the reasons and the cluster-context features.
"""

from attrib.score.scorer import MODEL_NAME, MODEL_VERSION, OriginScorer, load_model, model_path

__all__ = ["MODEL_NAME", "MODEL_VERSION", "OriginScorer", "load_model", "model_path"]
