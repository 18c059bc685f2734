"""peoplegraph: find, group and name the people in large photo libraries."""

__version__ = "0.1.0"
