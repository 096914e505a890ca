"""Detection rules, one module per domain, each declaring its exception types with their SQL.

`base` holds the `ExceptionType` declaration; `orders`, `promises`, `inventory`,
`warehouse`, `freight`, `finance` and `data` hold the types of their domain.
`control_tower.exceptions.registry` assembles them into the one registry.
Like the registry, these modules use the standard library only.
"""
