"""The Scheduling face: Qlik Cloud's Scheduling Tasks API (seed 000)."""
