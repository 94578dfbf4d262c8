"""The REST API: the only package (with web/) that knows about HTTP."""
