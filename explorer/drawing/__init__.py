"""Drawing attention pictures: fonts, a Pillow canvas with matplotlib colour maps, labelled
matrices and grids, as PNG bytes."""
