"""Order promising: available-to-promise projections and promise answers.

`sql`: the ATP inputs over the landed tables; `atp`: the projection and the promising rule
(pure); `answer`: answers to promise requests, scope-checked; `text`: an answer for the terminal.
"""
