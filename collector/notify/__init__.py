"""Notifications: compose a message per incident event and deliver it to every channel."""
