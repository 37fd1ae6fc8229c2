"""tasklane: a task scheduler and work queue on AWS serverless primitives."""

__version__ = "0.1.0"
