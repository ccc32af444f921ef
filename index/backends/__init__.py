"""Storage backends behind the engine (base.py has the seam)."""
