"""The execution face (execution-strategy service, seed 004)."""
