"""The triggerer: the asyncio daemon that runs the triggers of deferred tasks."""
