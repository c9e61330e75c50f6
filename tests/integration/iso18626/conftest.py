"""Fixtures of the ISO 18626 endpoint and outbox tests (defined in tests/iso18626_peers.py)."""

from iso18626_peers import handler, http_peer, no_handlers, sample_peer, samples_dir, xsd_dir

__all__ = ["handler", "http_peer", "no_handlers", "sample_peer", "samples_dir", "xsd_dir"]
