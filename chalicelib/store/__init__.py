"""Storage: the only code that knows table layouts, queue messages and log object keys."""
