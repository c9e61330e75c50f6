"""Operating the hub: the outbox as operators see it (pending, sent, failed messages) and retrying one."""
