"""Decision review: what was decided on each resolved exception item, and what happened after.

- `outcomes`: per item resolved in a period, its resolution (code, who, when), the action
  requests raised from it, and their outcomes read from the published data and the app
  database (stocked out anyway, re-promised date met, request confirmed on time).
- `review`: the measures over a period, overall, per site and per person, with the counts
  behind each; and the risk model's ranking of stockout items against the rule's.

Sits above exceptions, risk, kpi and actions (whose tables it reads) and below views and web.
"""
