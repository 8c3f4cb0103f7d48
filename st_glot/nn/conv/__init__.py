"""Message-passing layers over token graphs (step 2 of GLOT).

Each layer subclasses the torch-geometric conv of the same name, so it holds the
same parameters, and adds ``forward_dense`` (one batched pass over a
``(B, L, L)`` token graph) beside ``forward_sparse`` (PyG's own kernel).
"""

from st_glot.nn.conv.gat import TokenGATConv
from st_glot.nn.conv.gcn import TokenGCNConv
from st_glot.nn.conv.gin import TokenGINConv, TokenGINEConv

__all__ = ["TokenGATConv", "TokenGCNConv", "TokenGINConv", "TokenGINEConv"]
