"""A run's status: MLflow's four, the one definition (a remote MLflow store must map
1:1). A module of its own, re-exported by model.py, so that the command line can offer
them (`mlrun runs list --status`) without loading the run records."""

RUNNING = "RUNNING"
FINISHED = "FINISHED"
FAILED = "FAILED"
KILLED = "KILLED"
STATUSES = (RUNNING, FINISHED, FAILED, KILLED)
