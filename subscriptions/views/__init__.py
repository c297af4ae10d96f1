"""The customer's pages for lines, orders and receipts, and the payment
provider's endpoints; one module per subject."""
