"""The hall service: the HTTP API over the domain and the store."""
