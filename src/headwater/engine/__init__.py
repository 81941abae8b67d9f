"""The one state machine over task instances, shared by ``dags test`` and the scheduler."""
