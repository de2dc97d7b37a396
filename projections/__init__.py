"""Read models kept from the log: the runtime (`runtime`, `rebuild`, `registry`, `status`),
the reconciliation view (`reconciliation*`), the audit log (`audit*`) and the GL export
(`gl`, `export`). See docs/adr/0006-projection-rebuild.md."""
