"""NIR interchange tests (need the optional nir package; framework tests need snnTorch / Norse)."""
