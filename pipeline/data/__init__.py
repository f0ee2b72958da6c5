"""Dataset layer: canonical layout, manifest, SSI importer, synthetic stand-in, splits."""
