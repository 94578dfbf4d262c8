"""Customer verification of a resolved incident (signed links, replies, the quiet period) and
the satisfaction rating that comes with it."""
