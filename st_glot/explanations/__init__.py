"""Which tokens made the vector: explanations from a model's own readout weights and graph, and their rendering."""
