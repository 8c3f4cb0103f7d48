"""Old class path of :class:`st_glot.nn.adapool.AdaPool`, kept so that folders saved before 0.2 load."""

from st_glot.nn.adapool import AdaPool

__all__ = ["AdaPool"]
