"""tasklane's Chalice app: faces, the authorizer and the three background roles. No logic here."""

from __future__ import annotations

import os

from chalice import Chalice, Rate

from chalicelib import handlers
from chalicelib.settings import runs_queue_name

app = Chalice(app_name="tasklane")
handlers.register_blueprints(app)


@app.schedule(Rate(1, unit=Rate.MINUTES), name="dispatcher")
def dispatcher(event):
    """Turn due triggers into runs (look-ahead window; runs start on their second via SQS delay)."""
    return handlers.dispatcher(event)


# The queue name is fixed at package time; template.yaml names the queue the same way.
@app.on_sqs_message(queue=runs_queue_name(os.environ.get("TASKLANE_STAGE", "dev")), batch_size=10, name="run_worker")
def run_worker(event):
    """Execute the runs named by a batch of queue messages; report the ones that failed."""
    return handlers.worker(event)


@app.schedule(Rate(5, unit=Rate.MINUTES), name="maintenance")
def maintenance(event):
    """Retention sweeps, stuck-run detection and service instance reconciliation."""
    return handlers.maintenance(event)


@app.lambda_function(name="command_runner")
def command_runner(event, context):
    """Run one tenant command (invoked by the worker); its role reaches nothing of the service's."""
    return handlers.command_runner(event)


# Under `chalice local --stage local` only (its stage sets TASKLANE_EMBEDDED=1): the local
# runtime's embedded backend and event sources, handed this app.
if os.environ.get("TASKLANE_EMBEDDED") == "1":
    from chalicelib.runtime.local import start_for_chalice_local

    start_for_chalice_local(app)
