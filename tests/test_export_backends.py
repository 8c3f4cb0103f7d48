"""A saved GLOT model under sentence-transformers' ONNX and OpenVINO backends (backbone exported, pooler in torch).

Each test runs where the backend's Optimum package imports (``sentence-transformers[onnx]`` or
``[openvino]``) and is skipped elsewhere; README, *Performance*, says which releases install together.
"""

from __future__ import annotations

import pytest
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules import Transformer

from st_glot import GLOTPooling
from tests.conftest import build_model

#: The Optimum module sentence-transformers imports for each backend.
OPTIMUM_MODULES = {"onnx": "optimum.onnxruntime", "openvino": "optimum.intel.openvino"}
TEXTS = ["the cat sat on the mat", "red", "a quick brown fox jumps over the lazy dog and the cat", "one sentence"]


@pytest.mark.slow
@pytest.mark.parametrize("backend", sorted(OPTIMUM_MODULES))
def test_saved_model_encodes_as_in_torch(backend, tiny_bert_dir, tmp_path):
    pytest.importorskip(OPTIMUM_MODULES[backend], exc_type=ImportError)
    torch.manual_seed(0)
    model = build_model(Transformer(tiny_bert_dir), GLOTPooling(32, hidden_dim=8).eval())
    model.save(str(tmp_path))
    expected = model.encode(TEXTS, batch_size=3, convert_to_tensor=True)  # batches with padding
    exported = SentenceTransformer(str(tmp_path), backend=backend, trust_remote_code=True, device="cpu")
    assert isinstance(exported[1], GLOTPooling)
    assert not isinstance(exported[0].model, torch.nn.Module)  # the backbone runs in the backend
    got = exported.encode(TEXTS, batch_size=3, convert_to_tensor=True)
    # Unit vectors from the same fp32 weights: only the backbone's kernels (summation order) differ.
    assert (got - expected).abs().max().item() <= 1e-4
