"""Alerts from other monitors (Alertmanager, Zabbix, Checkmk) turned into incident events."""
