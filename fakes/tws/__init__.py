"""A wire-level IB Gateway paper-trading simulator (TWS API, server version 157).

ib_insync, ib_async and ibapi connect to it unchanged. The interface (CLI, ready line, admin
API, faults, contracts, state, credential) is described in README.md next to this file.
"""
