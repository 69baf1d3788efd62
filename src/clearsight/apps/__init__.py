"""Products built from the core: each app composes perception, analysis and sinks.

Apps are independent of each other. Those that add camera analysers or frame
filters register them in `clearsight.stream.analysers`; `apps.compose` is the one
composition root that imports them (this package imports nothing, so loading one
app never loads another).
"""
