"""The execution product on the engine: strategies, instances, cycles and events.

`definition` (the strategy document), `calendar` (cycle dates, pure), `values` (instances and
events), `secrets` (the Strategy-Secret and the encrypted settings), `strategies`, `instances`
and `due` (the seam the worker calls when an event is due). Steps over HTTP and the event runner
live in `steps`, `step_http` and `event_runner`.
"""
