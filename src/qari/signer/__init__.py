"""The signer process (`qari signer`): the socket server that holds the vault and performs private calls.

Its client, the engine's `ExchangeClient` over the socket, is the adapter `qari.adapters.signer`.
"""
