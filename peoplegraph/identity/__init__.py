"""Subjective layer: projects, photos, clusters and people in a graph behind the `GraphStore` protocol."""
