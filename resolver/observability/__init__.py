"""Prometheus metrics: what is counted (`metrics`), how HTTP requests and back-end calls are
watched (`middleware`, `upstream`), and where the figures are served (`exposition`).

An adapter like the others: the use case only knows its `Observer` port, which `metrics`
implements; `resolver.wiring` plugs it in when a setting serves the metrics.
"""
