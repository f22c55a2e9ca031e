"""The back office's pages for people: clients, staff users and roles, a staff member's own
two-factor login, the audit log."""
