"""The task runtime: what happens inside one attempt (context, templates, execute, XCom, logs)."""
