"""The Metronome-compatible API: same paths, bodies, envelopes and status codes."""
