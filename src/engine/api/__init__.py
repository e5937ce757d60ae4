"""The engine's HTTP API (DESIGN §4): aiohttp handlers over the :class:`EngineServices` protocol.

``engine.api.routes.register(app, services, tokens)`` mounts it on any aiohttp Application, such
as Faust's web server. ``engine.api.services`` holds the protocol and its plain result types and
imports no web framework, so the runtime can implement it without pulling in handlers.
"""
