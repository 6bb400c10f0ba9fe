"""What a journey or a message would do for a customer, computed without sending."""
