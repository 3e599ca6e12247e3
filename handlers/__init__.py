"""One module per inbound surface; `ROUTES` is what the app serves."""
