"""Root-cause records, fault analysis reports and the knowledge base."""
