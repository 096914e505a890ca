"""Action requests: decisions that leave the tower for the systems that execute them.

A person raises a typed request from an exception item (a stock transfer, a PO expedite, a
purchase requisition, a re-promise, a recount, an invoice hold or release); approval rules
decide whether someone must approve it first; an approved request is delivered through the
outbox (files per executing system, a signed webhook); a later extract that shows the action
confirms it and closes the item as fixed by action. Tables: `actions.store`.
"""
