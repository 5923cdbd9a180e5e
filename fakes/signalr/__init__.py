"""A wire-level stand-in for Azure SignalR Service in serverless mode.

The real clients (@microsoft/signalr, pysignalr, signalrcore) and a backend speaking the
data-plane REST API work against it unchanged: same URLs, same tokens, same hub protocol.
Run it with `python -m fakes.signalr`; measure it with `python -m fakes.signalr.bench`.
"""
