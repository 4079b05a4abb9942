"""The pure core: bytes and parsed objects in, values out.

Nothing in this package opens a socket. ``digest`` reads from a stream it is handed;
nothing here opens a path. A change in this package can change verdicts.
"""
