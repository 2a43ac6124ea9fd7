"""Sub-commands of the `diemnong` CLI, one module per area."""
