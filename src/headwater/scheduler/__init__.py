"""The durable scheduler: turns schedules into runs and ready task instances into attempts."""
