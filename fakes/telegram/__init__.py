"""Wire-level fake of the Telegram Bot API (what a notifier bot uses)."""
