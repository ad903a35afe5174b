"""The run description (ppr.spec.run), its sweeps (ppr.spec.sweep) and declared settings (ppr.spec.settings)."""
