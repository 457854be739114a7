"""Framework-free counterfeit-listing detection core (no Django imports)."""
