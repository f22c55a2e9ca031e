"""Payment providers: a client pays on the provider's hosted page, the provider's signed webhook
says something happened, and propdesk asks the provider what really did before it moves money
(see `protocol`)."""
