"""The report's views: one small module per view, each a function of a Run (and, for the views
drawn on the grid, of :class:`~fireform.report.views.grid.GridData` recomputed from the run's spec)
returning an HTML fragment and writing its PNGs."""
