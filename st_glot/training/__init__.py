"""Training the pooler on a frozen backbone: token-state cache, cached input module, frozen backbone, batches, heads, ``fit``."""
