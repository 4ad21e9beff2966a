"""The trio runtime (bus, virtual time, log) and the scheduler actors."""
