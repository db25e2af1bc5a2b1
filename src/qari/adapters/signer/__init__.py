"""The isolated signer: the only process that holds the master key and opens sealed secrets.

Web and engine ask it, over a 0600 Unix socket and with a per-start token, to *perform* named private
calls for a stored connection (`client.SignerExchangeClient` is the engine's `ExchangeClient`), to check
and seal a newly pasted key, and to check a TOTP code; they never see the master key or a plaintext.
"""
