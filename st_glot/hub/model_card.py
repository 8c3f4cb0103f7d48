"""A model card that tells the truth about a GLOT model.

sentence-transformers writes ``README.md`` on ``save`` and ``push_to_hub`` from
``model.model_card_data`` and a Jinja template. For a GLOT model its default
card is wrong in three ways: the loading line lacks ``trust_remote_code=True``
(without it the GLOT module does not load), it never says to install st-glot,
and it describes neither the pooler nor the frozen backbone. When ``fit``
trains through its stand-in model, the trainer also records the data, loss
and metrics on the stand-in's card, not the user's.

:class:`GLOTModelCardData` fixes the card; :func:`attach_glot_card` puts it on a
model, and :func:`record_training` copies what the trainer recorded onto the
user's model. Every st-glot module (:class:`st_glot.nn.serialization.SavableModule`:
``GLOTPooling``, ``AdaPool``, the training heads) calls :func:`attach_glot_card`
from sentence-transformers' ``Module.on_model_ready`` hook, so any
``SentenceTransformer`` built with one, e.g. ``SentenceTransformer(modules=[Transformer(...),
GLOTPooling(...), Normalize()])`` or loaded from a folder, gets this card on
``save`` and ``push_to_hub``. A module added after the model is built
(``model.append(...)``) does not fire that hook: call :func:`attach_glot_card`
yourself then.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from pathlib import Path
from typing import Any

from datasets import Dataset
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.model_card import (
    SentenceTransformerModelCardData,
)

from st_glot.hub.identity import (
    backbone_changes,
    backbone_id,
    backbone_trained_parameters,
    loaded_backbone,
    model_name,
)

#: Fields the trainer fills on a model's card during training (copied by :func:`record_training`).
TRAINING_FIELDS: tuple[str, ...] = (
    "train_datasets",
    "eval_datasets",
    "eval_results_dict",
    "training_logs",
    "all_hyperparameters",
    "non_default_hyperparameters",
    "citations",
    "best_model_step",
    "code_carbon_callback",
    "datasets",
    "evaluation_duration",
    "_training_start_time",
)
GLOT_TAGS: list[str] = ["st-glot", "glot", "token-graph-pooling"]
PAPER_URL = "https://arxiv.org/abs/2603.03389"
#: Where st-glot's section goes in sentence-transformers' template (appended at the end if absent).
SECTION_ANCHOR = "## Usage"
INSTALL_LINE = "pip install -U sentence-transformers"
#: A phrase of sentence-transformers' own card template (marks a card written without st-glot's).
STOCK_CARD_PHRASE = "This is a [sentence-transformers](https://www.SBERT.net) model"

GLOT_SECTION = """## Pooling with st-glot

{% if glot.is_glot %}This model pools token states with GLOT ([Mantri et al., ICLR 2026]({{ glot.paper }})): \
the tokens of a text are linked where their states' cosine similarity exceeds `tau`, a small graph neural \
network refines them along those links, and learned attention weights turn them into one vector.
{% else %}This model pools token states with `{{ glot.pooler }}` from [st-glot](https://pypi.org/project/st-glot/).
{% endif %}
{% if glot.backbone_frozen %}- **Frozen backbone:** `{{ glot.backbone }}` ({{ "{:,}".format(glot.backbone_parameters) }} \
parameters): its weights are those it was loaded with; its token states are the pooler's input.
{% else %}- **Fine-tuned backbone:** `{{ glot.backbone }}` ({{ "{:,}".format(glot.backbone_parameters) }} parameters): \
{{ "{:,}".format(glot.backbone_trained_parameters) }} of its parameters differ from the weights it was loaded \
with (training updated them), so its token states are no longer those of `{{ glot.backbone }}`.
{% endif %}- **Pooler:** `{{ glot.pooler }}` with {{ "{:,}".format(glot.pooler_parameters) }} trainable parameters \
(every module after the backbone).
- **Trainable parameters:** {{ "{:,}".format(glot.trainable_parameters) }}\
{% if glot.backbone_frozen %} (the pooler's; the backbone is frozen).{% else %} (the backbone's that changed, and the pooler's).{% endif %}
{% if glot.trained_max_seq_length %}- **Trained at** {{ glot.trained_max_seq_length }} tokens per text \
(`max_seq_length`; longer texts were truncated)\
{% if glot.trained_max_seq_length != glot.max_seq_length %}; the model now truncates at {{ glot.max_seq_length }}\
{% endif %}.
{% endif %}- **Loading** needs the `st-glot` package (`pip install st-glot`) and `trust_remote_code=True`: \
the pooler's class, `{{ glot.pooler_class }}`, comes from that package.

| pooler setting | value |
|---|---|
{% for key, value in glot.config.items() %}| `{{ key }}` | `{{ value }}` |
{% endfor %}
{% if glot.training %}
### Training (st-glot `fit`)

- **Data:** {{ glot.training.data }}
- **Loss:** `{{ glot.training.loss }}`
- **Epochs:** {{ glot.training.epochs }}, batch size {{ glot.training.batch_size }}, \
learning rate {{ glot.training.learning_rate }}
{% if glot.training.metrics %}- **Final evaluation:**

| metric | value |
|---|---|
{% for key, value in glot.training.metrics.items() %}| {{ key }} | {{ "%.4f"|format(value) }} |
{% endfor %}{% endif %}{% endif %}
<!-- st-glot-backbone: {{ glot.backbone }} -->
{% if not glot.backbone_frozen %}<!-- st-glot-backbone-trained: {{ glot.backbone_trained_parameters }} -->
{% endif %}
"""


class GLOTModelCardData(SentenceTransformerModelCardData):
    """``SentenceTransformerModelCardData`` for GLOT models.

    Differences from the default card:

    - ``model_name`` is, unless set explicitly, :func:`st_glot.hub.identity.model_name`
      of the model at the moment it is read (so MTEB never confuses two models);
    - the usage snippet loads with ``trust_remote_code=True`` and the install line
      adds ``st-glot``;
    - a "Pooling with st-glot" section describes the frozen backbone and its id,
      the pooler's settings and trainable parameter count, and, after
      :func:`st_glot.fit`, the training data, loss and final metrics
      (``glot_training``).
    """

    @property
    def model_name(self) -> str | None:
        explicit = self.__dict__.get("_explicit_model_name")
        if explicit or getattr(self, "model", None) is None:
            return explicit
        return model_name(self.model)

    @model_name.setter
    def model_name(self, value: str | None) -> None:
        self.__dict__["_explicit_model_name"] = value

    @property
    def glot_training(self) -> dict[str, Any] | None:
        """What :func:`record_training` stored: data, loss, epochs, metrics; None before training."""
        return self.__dict__.get("_glot_training")

    @glot_training.setter
    def glot_training(self, value: dict[str, Any] | None) -> None:
        self.__dict__["_glot_training"] = value

    @property
    def template_path(self) -> Path:
        return _composed_template(Path(SentenceTransformerModelCardData.template_path))

    @template_path.setter
    def template_path(self, value: Path) -> None:
        # The dataclass __init__ assigns the parent's template; the composed one is always derived from it.
        pass

    @property
    def trained_max_seq_length(self) -> int | None:
        """The backbone's ``max_seq_length`` when the model was last trained (by a trainer or ``fit``); None before."""
        return self.__dict__.get("_trained_max_seq_length")

    @trained_max_seq_length.setter
    def trained_max_seq_length(self, value: int | None) -> None:
        self.__dict__["_trained_max_seq_length"] = value

    def set_losses(self, losses: list) -> None:
        """Called by sentence-transformers' trainer as it is built: also records the length it trains at."""
        super().set_losses(losses)
        self.trained_max_seq_length = self.model.max_seq_length

    @property
    def save_dir(self) -> str | None:
        return self.__dict__.get("_save_dir")

    @save_dir.setter
    def save_dir(self, value: str | None) -> None:
        # sentence-transformers sets save_dir just before it decides whether to write the card text loaded
        # with the model again; that text no longer holds once the backbone has changed since the load.
        self.__dict__["_save_dir"] = value
        model = getattr(self, "model", None)
        if value is not None and model is not None and getattr(model, "_model_card_text", None):
            if backbone_changes(model):
                model._model_card_text = None

    def glot_summary(self) -> dict[str, Any]:
        """The facts the st-glot section shows, as a dict (also useful on its own).

        ``backbone_frozen`` is :func:`~st_glot.hub.identity.backbone_trained_parameters` is None: the
        backbone's weights are those it was built or loaded with. ``trainable_parameters`` counts the
        pooler's (every module after the backbone) and, for a fine-tuned backbone, those of its
        parameters that training changed.
        """
        modules = list(self.model)
        pooler = modules[1] if len(modules) > 1 else modules[0]
        config = pooler.get_config_dict() if hasattr(pooler, "get_config_dict") else {}
        trained = backbone_trained_parameters(self.model)
        pooler_parameters = sum(p.numel() for m in modules[1:] for p in m.parameters())
        return {
            "is_glot": type(pooler).__name__ == "GLOTPooling",
            "paper": PAPER_URL,
            "backbone": backbone_id(self.model),
            "backbone_parameters": sum(p.numel() for p in modules[0].parameters()),
            "backbone_frozen": trained is None,
            "backbone_trained_parameters": trained or 0,
            "pooler": type(pooler).__name__,
            "pooler_class": f"{type(pooler).__module__}.{type(pooler).__name__}",
            "pooler_parameters": pooler_parameters,
            "trainable_parameters": pooler_parameters + (trained or 0),
            "max_seq_length": self.model.max_seq_length,
            "trained_max_seq_length": self.trained_max_seq_length,
            "config": {k: v for k, v in config.items() if k != "format_version"},
            "training": self.glot_training,
        }

    def generate_usage_snippet(self) -> str:
        snippet = super().generate_usage_snippet()
        loaded = re.sub(r'(SentenceTransformer\("[^"]*")\)', r"\1, trust_remote_code=True)", snippet, count=1)
        if loaded == snippet:
            return (
                snippet
                + "\n\nLoad it with `SentenceTransformer(model_id, trust_remote_code=True)` after `pip install st-glot`."
            )
        return loaded.replace("```python\n", "```python\n# pip install st-glot  (provides the pooling module)\n", 1)

    def to_dict(self) -> dict[str, Any]:
        self.add_tags(GLOT_TAGS)
        data = super().to_dict()
        data["glot"] = self.glot_summary()
        return data


def _composed_template(base: Path) -> Path:
    """sentence-transformers' template with st-glot's section and install line, as a file (cached by content)."""
    text = base.read_text(encoding="utf-8").replace(INSTALL_LINE, f"{INSTALL_LINE} st-glot", 1)
    text = (
        text.replace(SECTION_ANCHOR, GLOT_SECTION + SECTION_ANCHOR, 1)
        if SECTION_ANCHOR in text
        else text + "\n" + GLOT_SECTION
    )
    path = Path(tempfile.gettempdir()) / f"st-glot-card-{hashlib.sha256(text.encode()).hexdigest()[:16]}.md"
    if not path.exists():
        path.write_text(text, encoding="utf-8")
    return path


def attach_glot_card(model: SentenceTransformer) -> SentenceTransformer:
    """Give ``model`` a :class:`GLOTModelCardData`, keeping what its current card holds. Returns ``model``.

    Idempotent. Fields set on the old card (language, license, model id,
    datasets, training records, a model name other than sentence-transformers'
    default ``"SentenceTransformer…"``) carry over. A card text loaded with the
    model that sentence-transformers wrote without st-glot (its template's
    wording and no ``trust_remote_code=True``) is dropped, so the next save
    writes the true card instead of reusing it; any other loaded card text is
    kept, as sentence-transformers keeps it. Models of other kinds
    (``CrossEncoder``, ``SparseEncoder``) are returned unchanged.
    """
    if not isinstance(model, SentenceTransformer):
        return model
    loaded = model._model_card_text
    if loaded and STOCK_CARD_PHRASE in loaded and "trust_remote_code=True" not in loaded:
        model._model_card_text = None
    loaded_backbone(model)  # the backbone's weights as built or loaded, for the card's frozen/fine-tuned line
    old = model.model_card_data
    if isinstance(old, GLOTModelCardData):
        return model
    card = GLOTModelCardData(local_files_only=old.local_files_only)
    for name, value in vars(old).items():
        if name not in ("model", "template_path", "model_name"):
            card.__dict__[name] = value
    if old.model_name and old.model_name != old.get_default_model_name():
        card.model_name = old.model_name
    model.model_card_data = card
    card.register_model(model)
    return model


def record_training(
    model: SentenceTransformer,
    trained: SentenceTransformer,
    train_dataset: Dataset,
    *,
    loss: str,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    metrics: dict[str, float],
) -> None:
    """Put what the trainer recorded on ``trained``'s card (and st-glot's summary) on ``model``'s card.

    ``trained`` is the model the trainer ran on (``fit``'s stand-in, or ``model``
    itself). The card states the training rows and columns, the loss, the
    epochs, batch size and learning rate, and the final ``metrics``.
    """
    attach_glot_card(model)
    card, source = model.model_card_data, trained.model_card_data
    if source is not card:
        for name in TRAINING_FIELDS:
            if name in vars(source):
                card.__dict__[name] = vars(source)[name]
        card.add_tags(source.tags)
    card.trained_max_seq_length = model.max_seq_length
    card.glot_training = {
        "data": f"{len(train_dataset):,} rows with columns {', '.join(train_dataset.column_names)}",
        "loss": loss,
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "metrics": {k: float(v) for k, v in metrics.items()},
    }
