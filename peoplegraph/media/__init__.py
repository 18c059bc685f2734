"""The media store: the photos peoplegraph keeps (uploads), their thumbnails and face crops, optionally
encrypted at rest."""
