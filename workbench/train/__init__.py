"""Training: one trainer per family on a shared base (``base``), the offline loop (``offline``), the
DAgger wiring (``dagger``), evaluation inside a run (``evaluation``) and the entry point (``run``)."""
