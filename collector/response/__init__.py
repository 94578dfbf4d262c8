"""The response process: people, teams, on-call schedules, escalation policies, SLA targets."""
