"""Wire-level fake of SendGrid v3 mail/send."""
