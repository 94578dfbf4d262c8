"""E-mail intake: a support mailbox polled over IMAP, each new message a ticket or a note."""
