"""Planning: what a planner needs to act on stockout risk.

- `triage`: the stockout triage queue (ranked by the risk model's score, or by
  the days-of-cover rule before a model has scored), the suggested action of
  each row, the inventory projection of one item at one location, and triage
  actions on the queue's exception items, all limited to a user's scope.
"""
