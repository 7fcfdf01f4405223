"""Design-space exploration: Sections 5 and 6 of the paper as resumable, shardable sweeps."""
