"""Stage 5, reports: the consolidation of the ledger's counted returns, and everything written from it —
the summary workbook, the CSV exports, each agency's feedback workbook, the round's status."""
