"""The pooling math, in the order of the method: input states, token graph, GNN layers, readout, the modules.

- ``inputs``: padded token states and their validity mask from sentence-transformers features
- ``norms``: per-dimension running normalisation of token states
- ``graph``: step 1, the cosine-threshold token graph
- ``random_graph``: step 1's ``graph="random"`` ablation, the threshold graph's edge count at random
- ``row_packing``: step 1 on mixed lengths, several short sequences' graphs in one padded row
- ``conv/``: step 2, one message-passing layer per file (GAT, GCN, GIN/GINE)
- ``gnn``: the layer stack and jumping knowledge
- ``readout``: step 3, the attention readout
- ``pooling``: ``GLOTPooling``, the sentence-transformers module
- ``adapool``: ``AdaPool``, the paper's learnable baseline
- ``latent``: ``LatentAttentionPooling``, NV-Embed's latent-attention pooling, a learned baseline
- ``serialization``: config + safetensors save/load shared by the modules
"""
