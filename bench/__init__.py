"""``make bench``: the relay cycle over real HTTP against the physical floor of this machine."""
