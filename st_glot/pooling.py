"""Old class path of :class:`st_glot.nn.pooling.GLOTPooling`, kept so that folders saved before 0.2 load."""

from st_glot.nn.pooling import GLOTPooling

__all__ = ["GLOTPooling"]
