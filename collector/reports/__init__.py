"""Reports for customers and ops leads: the monthly SLA report (figures, HTML, CSV, PDF)."""
