"""The agent face: the AGH Runtime task API (seed 001)."""
