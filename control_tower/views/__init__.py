"""What each role's page shows, computed: plain frozen dataclasses built from the serving
snapshot and the app database, so the numbers can be tested without a browser or Dash.
Pages in `control_tower.web` lay these out; nothing here imports the web layer.

- `kpi`: the catalog cache, tiles, trends, breakdowns and the exceptions behind a KPI.
- `executive`, `kpi_detail`, `finance`, `warehouse`, `planner_item`: one module per page,
  each with one function that returns everything the page shows.
- `sites` and `waves`: the warehouses a user may see, a site's waves and carrier cutoffs.
- `figures`: figures the views share (a KPI's headline and trend, overall and by a
  dimension, the reason a scope refuses a figure).
- `decisions`: the decision review page's tiles, tables and resolved items.
- `status`: the one set of status words and icons every page uses.
"""
