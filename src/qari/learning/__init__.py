"""Learning stages (PRODUCT.md §9): labelled samples, Stage 2 weights, Stage 3 model, evaluation."""
