"""ERP change-data-capture: event models, the order-proof mirror and the batch apply path."""
