"""Planning: what a planner needs to act on stockout risk, all limited to a user's scope.

- `triage`: the stockout triage queue (ranked by the risk model's score, or by
  the days-of-cover rule before a model has scored) with each row's suggestion,
  and triage actions on the queue's exception items.
- `model`: whether the risk model has scored, its card in plain words, a
  score's drivers.
- `supply`: open purchase order lines, and an item's stock and demand by site.
- `projection`: the forward projection of available stock, the stockout date
  and the suggested action (transfer, expedite, raise a PO, monitor).
- `drill`: the masters and histories of one item at one location.
"""
