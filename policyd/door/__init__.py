"""The front door: which team's policy a lead goes to, by the door's send rules.

One evaluator (`route.route`) serves the CLI, replay, the review, examples and the
daemon: the door's conditions are compiled by the engine's own condition compiler.
"""
