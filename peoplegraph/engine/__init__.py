"""Pure compute: decode, detect, align, embed, cluster. Knows nothing about storage."""
