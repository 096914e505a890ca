"""What each role's page shows, computed: plain frozen dataclasses built from the serving
snapshot and the app database, so the numbers can be tested without a browser or Dash.

One module per view: `kpi` (tiles, trends, breakdowns and the exceptions behind a KPI),
`executive`, `kpi_detail`, `finance`, `warehouse` and `planner_item`. Pages in
`control_tower.web` lay these out; nothing here imports the web layer.
"""
