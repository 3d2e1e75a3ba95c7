"""HTTP interfaces: thin translation from requests to the SDK."""
