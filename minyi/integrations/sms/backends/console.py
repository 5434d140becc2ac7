from minyi.integrations.sms.backends import SendOutcome, SendResult


class ConsoleBackend:
    """The embedded default: a message "arrives" the moment it is sent, and is read on the
    simulated phones page (demo mode) straight from the outbox."""

    name = "console"

    def send(self, message) -> SendResult:
        return SendResult(SendOutcome.DELIVERED, "console")
