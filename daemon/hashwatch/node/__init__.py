"""The node boundary: Bitcoin Core JSON-RPC and ZMQ clients, credentials and the error family.

Only this package imports ``bitcoinrpc`` and ``zmq``; everything it hands on is validated.
"""
